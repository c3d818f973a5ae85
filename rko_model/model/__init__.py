"""The propensity model: feature spec, training, baselines, metrics, retro tests, packages and registry."""
