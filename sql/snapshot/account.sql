-- Monthly account aggregates over windows of 1, 3, 6 and 12 months ending at report_date.
-- Money is summed in whole kopecks (as the monthly marts are, sql/marts/): whole numbers, which
-- a double adds exactly in any order and grouping, so that the marts give the same figure.
-- A window of w months holds the month ends in (start_{w}m, report_date].
-- The eligible clients are a semi-join: a client that a broken clients view repeats is counted once.
SELECT
    a.client_id,
    SUM(CASE WHEN a.month_end > :start_1m THEN ROUND(a.avg_balance * 100) END) * 1.0
        / (100 * NULLIF(COUNT(CASE WHEN a.month_end > :start_1m THEN a.avg_balance END), 0)) AS balance_avg_1m,
    SUM(CASE WHEN a.month_end > :start_3m THEN ROUND(a.avg_balance * 100) END) * 1.0
        / (100 * NULLIF(COUNT(CASE WHEN a.month_end > :start_3m THEN a.avg_balance END), 0)) AS balance_avg_3m,
    SUM(CASE WHEN a.month_end > :start_6m THEN ROUND(a.avg_balance * 100) END) * 1.0
        / (100 * NULLIF(COUNT(CASE WHEN a.month_end > :start_6m THEN a.avg_balance END), 0)) AS balance_avg_6m,
    SUM(ROUND(a.avg_balance * 100)) * 1.0 / (100 * NULLIF(COUNT(a.avg_balance), 0)) AS balance_avg_12m,
    SUM(CASE WHEN a.month_end > :start_1m THEN ROUND(a.turnover_in * 100) END) / 100.0 AS turnover_in_1m,
    SUM(CASE WHEN a.month_end > :start_3m THEN ROUND(a.turnover_in * 100) END) / 100.0 AS turnover_in_3m,
    SUM(CASE WHEN a.month_end > :start_6m THEN ROUND(a.turnover_in * 100) END) / 100.0 AS turnover_in_6m,
    SUM(ROUND(a.turnover_in * 100)) / 100.0 AS turnover_in_12m,
    SUM(CASE WHEN a.month_end > :start_1m THEN ROUND(a.turnover_out * 100) END) / 100.0 AS turnover_out_1m,
    SUM(CASE WHEN a.month_end > :start_3m THEN ROUND(a.turnover_out * 100) END) / 100.0 AS turnover_out_3m,
    SUM(CASE WHEN a.month_end > :start_6m THEN ROUND(a.turnover_out * 100) END) / 100.0 AS turnover_out_6m,
    SUM(ROUND(a.turnover_out * 100)) / 100.0 AS turnover_out_12m,
    COUNT(*) AS account_months_12m
FROM account_monthly AS a
WHERE a.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
  AND a.month_end > :start_12m
  AND a.month_end <= :report_date
GROUP BY a.client_id
