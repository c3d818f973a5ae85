-- The build's window sums (features_sums.sql): dropped once the insert has read them.
DROP TABLE mart_build_sums
