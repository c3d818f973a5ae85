"""The synthetic bank: a seeded generator of the data-contract tables plus the true propensity."""
