-- Monthly account aggregates over windows of 1, 3, 6 and 12 months ending at report_date.
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
    WHERE a.client_id = el.client_id
      AND a.month_end > :start_12m
      AND a.month_end <= :report_date
) AS x
WHERE x.account_months_12m > 0
