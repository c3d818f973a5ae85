"""Orchestration of the stages: the monthly run, training runs, performance and monitoring, faults."""
