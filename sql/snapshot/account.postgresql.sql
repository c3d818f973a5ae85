-- Monthly account aggregates over windows of 1, 3, 6 and 12 months ending at report_date.
-- Money is summed in whole kopecks (as the monthly marts are, sql/marts/): whole numbers, which
-- a double adds exactly in any order and grouping, so that the marts give the same figure.
-- A window of w months holds the month ends in (start_{w}m, report_date].
-- PostgreSQL: one index-only range scan of (client_id, month_end) per eligible client (the
-- index covers the figures), instead of a pass over every client's months; the same result
-- as account.sql, which the other engines run.
SELECT
    el.client_id,
    x.balance_avg_1m, x.balance_avg_3m, x.balance_avg_6m, x.balance_avg_12m,
    x.turnover_in_1m, x.turnover_in_3m, x.turnover_in_6m, x.turnover_in_12m,
    x.turnover_out_1m, x.turnover_out_3m, x.turnover_out_6m, x.turnover_out_12m,
    x.account_months_12m
FROM snapshot_eligible AS el
CROSS JOIN LATERAL (
    SELECT
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
    WHERE a.client_id = el.client_id
      AND a.month_end > :start_12m
      AND a.month_end <= :report_date
) AS x
WHERE x.account_months_12m > 0
