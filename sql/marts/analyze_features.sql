-- Nothing to analyse on SQLite: its planner reads the features of 3 and 6 months before through
-- their (month_end, client_id) index whatever their size.
SELECT 1
