-- Clients of one partition in the latest list published before report_date: the yardstick of
-- this month's row count. The month is found in the (small) run-metrics table, so that only
-- that month's rows of the staging table are read.
SELECT COUNT(*) AS previous_rows
FROM mo_staging.rko_propensity AS p
WHERE p.report_date = (
    SELECT MAX(r.report_date)
    FROM rko_monitoring.rko_run_metrics AS r
    WHERE r.status = :published
      AND r.report_date < :report_date
)
  AND (p.client_id % :partitions + :partitions) % :partitions = :partition
