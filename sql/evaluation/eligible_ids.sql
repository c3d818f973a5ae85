-- The ids in snapshot_eligible: the clients eligible at report_date as the snapshot reads them.
SELECT
    e.client_id
FROM snapshot_eligible AS e
