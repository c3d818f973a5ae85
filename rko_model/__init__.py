"""rko_model: propensity of SMB clients to open a settlement account (RKO).

A plain library: it never imports Airflow. DAGs, plugins and the ``rko`` CLI are thin
adapters over the functions exported by its modules.

Layout by role: ``settings``, ``errors`` and ``columns`` at the top (one settings object, one
error hierarchy, one place for column names); ``common`` (shared vocabulary), ``storage``
(artefact store), ``stages`` (one module per pipeline stage), ``runs`` (orchestration of the
stages), ``ui`` (the monitoring page and templates), ``model``, ``pilot``, ``synth`` and
``warehouse`` (the I/O layer, one backend per engine).
"""

__version__ = "0.1.0"
