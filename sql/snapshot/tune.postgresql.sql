-- A snapshot joins its eligible clients (a few hundred thousand ids) to wide rows: with the default
-- 4MB the hash spills to disk in batches and the features read takes twice as long. For this
-- read-only transaction only.
SET LOCAL work_mem = '64MB'
