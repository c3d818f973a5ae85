"""Airflow adapters of rko-scoring: a hook over the project's Connections and task helpers.

Everything that does work lives in ``rko_model``; this package only turns Airflow's
Connections and context into rko_model's settings and arguments.
"""
