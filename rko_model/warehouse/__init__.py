"""The I/O layer: the only code in rko_model that talks to databases."""
