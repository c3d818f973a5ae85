-- Fresh statistics of the features mart before a build joins the features of 3 and 6 months
-- before to its candidates: those may have been written minutes ago in the same run, and with
-- the statistics of before them the planner expects one row and loops over the candidates per row.
ANALYZE mart_client_features
