-- The build's payment texts (features_text.sql): dropped with it.
DROP TABLE mart_build_text
