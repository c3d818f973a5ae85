-- Monthly account aggregates over windows of 1, 3, 6 and 12 months ending at report_date.
-- A window of w months holds the month ends in (start_{w}m, report_date].
-- The eligible clients are a semi-join: a client that a broken clients view repeats is counted once.
SELECT
    a.client_id,
    AVG(CASE WHEN a.month_end > :start_1m THEN a.avg_balance END) AS balance_avg_1m,
    AVG(CASE WHEN a.month_end > :start_3m THEN a.avg_balance END) AS balance_avg_3m,
    AVG(CASE WHEN a.month_end > :start_6m THEN a.avg_balance END) AS balance_avg_6m,
    AVG(a.avg_balance) AS balance_avg_12m,
    SUM(CASE WHEN a.month_end > :start_1m THEN a.turnover_in END) AS turnover_in_1m,
    SUM(CASE WHEN a.month_end > :start_3m THEN a.turnover_in END) AS turnover_in_3m,
    SUM(CASE WHEN a.month_end > :start_6m THEN a.turnover_in END) AS turnover_in_6m,
    SUM(a.turnover_in) AS turnover_in_12m,
    SUM(CASE WHEN a.month_end > :start_1m THEN a.turnover_out END) AS turnover_out_1m,
    SUM(CASE WHEN a.month_end > :start_3m THEN a.turnover_out END) AS turnover_out_3m,
    SUM(CASE WHEN a.month_end > :start_6m THEN a.turnover_out END) AS turnover_out_6m,
    SUM(a.turnover_out) AS turnover_out_12m,
    COUNT(*) AS account_months_12m
FROM account_monthly AS a
WHERE a.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
  AND a.month_end > :start_12m
  AND a.month_end <= :report_date
GROUP BY a.client_id
