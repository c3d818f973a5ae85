-- A build sorts and hashes a whole month (the newest purposes per client, the distinct
-- counterparties): enough memory for that, for this transaction only, instead of spilling to disk.
SET LOCAL work_mem = '256MB'
