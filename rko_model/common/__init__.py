"""Shared vocabulary of the stages and runs: dates, exclusions, run ids, partitions, log masking."""
