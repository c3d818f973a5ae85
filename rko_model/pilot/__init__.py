"""The pilot: arms in the published list, contacts written back, realised incremental conversion, reasons.

- :mod:`rko_model.pilot.config`: the one pilot configuration (shares, salt, volumes, costs);
- :mod:`rko_model.pilot.arms`: each client's arm from a stable hash, the rules rank;
- :mod:`rko_model.pilot.reasons`: the top reasons behind a client's score, as phrases;
- :mod:`rko_model.pilot.measure`: realised incremental conversion per arm, with intervals;
- :mod:`rko_model.pilot.store`: the measurement's table in ``rko_monitoring`` and the contacts' reads;
- :mod:`rko_model.pilot.simulate`: the optimizer played against the synthetic bank.
"""
