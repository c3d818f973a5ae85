-- The facts of the month's raw rows (see month_facts.sql), taken from what the build just wrote
-- and read: the same numbers month_facts.sql computes from the raw tables, without reading them again.
SELECT
    COALESCE((SELECT SUM(m.account_rows) FROM mart_client_month AS m WHERE m.month_end = :month_end), 0)
        AS account_rows,
    COALESCE((SELECT SUM(COALESCE(m.balance_kop, 0) + COALESCE(m.turnover_in_kop, 0) + COALESCE(m.turnover_out_kop, 0))
        FROM mart_client_month AS m WHERE m.month_end = :month_end), 0) AS account_kop,
    (SELECT COUNT(*) FROM mart_month_payments AS p) AS payment_rows,
    COALESCE((SELECT SUM(CAST(ROUND(p.amount * 100) AS BIGINT)) FROM mart_month_payments AS p), 0) AS payment_kop,
    COALESCE((SELECT SUM(m.digital_rows) FROM mart_client_month AS m WHERE m.month_end = :month_end), 0)
        AS digital_rows,
    COALESCE((SELECT SUM(m.app_sessions + m.web_sessions + m.banner_views + m.banner_clicks)
        FROM mart_client_month AS m WHERE m.month_end = :month_end), 0) AS digital_units
