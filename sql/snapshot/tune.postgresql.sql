-- A snapshot joins its eligible clients (a few hundred thousand ids) to wide rows: with the default
-- 4MB the hash spills to disk in batches and the features read takes twice as long. JIT off: its
-- compilation (about 0.2 s a query at 1M clients) costs more than it saves on these reads. No
-- parallel workers: a snapshot is read in parts on separate sessions at once, which use the cores
-- already (rko_model/stages/snapshot.py: READERS). For this read-only transaction only.
SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)
