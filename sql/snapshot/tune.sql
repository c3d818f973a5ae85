-- Nothing to tune on SQLite.
SELECT 1
