-- The distinct counterparties of each eligible client over the 12 months ending at report_date,
-- counted from the per-month distinct rows of mart_counterparty_month: the same figure as
-- counterparties_12m of sql/snapshot/payments.sql (a count of distinct values, not a sum).
-- The eligible clients are a semi-join: a client that a broken clients view repeats is counted once.
SELECT
    c.client_id,
    COUNT(DISTINCT c.counterparty_inn) AS counterparties_12m
FROM mart_counterparty_month AS c
WHERE c.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
  AND c.month_end > :start_12m
  AND c.month_end <= :report_date
GROUP BY c.client_id
