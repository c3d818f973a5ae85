-- SQLite serialises writers itself (the database is locked by the first write): nothing to do.
SELECT 1
