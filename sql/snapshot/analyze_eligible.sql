-- Fresh statistics on the temporary table, so that the planner sizes the joins right.
ANALYZE snapshot_eligible
