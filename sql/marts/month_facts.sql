-- Facts of one month's raw rows (month_start, month_end]: counts and sums in kopecks or units.
-- Stored when the month's marts are built; a later difference means the month's raw rows were
-- corrected (a late load, a changed amount) and its marts must be rebuilt.
SELECT
    (SELECT COUNT(*) FROM account_monthly AS a
        WHERE a.month_end > :month_start AND a.month_end <= :month_end) AS account_rows,
    (SELECT COALESCE(SUM(CAST(ROUND(COALESCE(a.avg_balance, 0) * 100) AS BIGINT)
                       + CAST(ROUND(COALESCE(a.turnover_in, 0) * 100) AS BIGINT)
                       + CAST(ROUND(COALESCE(a.turnover_out, 0) * 100) AS BIGINT)), 0)
        FROM account_monthly AS a
        WHERE a.month_end > :month_start AND a.month_end <= :month_end) AS account_kop,
    (SELECT COUNT(*) FROM payments AS p
        WHERE p.payment_date > :month_start AND p.payment_date <= :month_end) AS payment_rows,
    (SELECT COALESCE(SUM(CAST(ROUND(p.amount * 100) AS BIGINT)), 0) FROM payments AS p
        WHERE p.payment_date > :month_start AND p.payment_date <= :month_end) AS payment_kop,
    (SELECT COUNT(*) FROM digital_activity AS d
        WHERE d.month_end > :month_start AND d.month_end <= :month_end) AS digital_rows,
    (SELECT COALESCE(SUM(d.app_sessions + d.web_sessions + d.banner_views + d.banner_clicks), 0)
        FROM digital_activity AS d
        WHERE d.month_end > :month_start AND d.month_end <= :month_end) AS digital_units
