-- The build's distinct counterparties (features_counterparties.sql): dropped with it.
DROP TABLE mart_build_counterparties
