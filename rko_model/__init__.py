"""rko_model: propensity of SMB clients to open a settlement account (RKO).

A plain library: it never imports Airflow. DAGs, plugins and the ``rko`` CLI are thin
adapters over the functions exported by its modules.
"""

__version__ = "0.1.0"
