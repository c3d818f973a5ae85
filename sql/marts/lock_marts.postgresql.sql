-- Serialise builds of the marts (one writer at a time; the lock goes with the transaction).
SELECT pg_advisory_xact_lock(:lock_key)
