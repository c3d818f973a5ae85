-- Facts of one month's raw rows (month_start, month_end]: counts and sums in kopecks or units.
-- Stored when the month's marts are built; a later difference means the month's raw rows were
-- corrected (a late load, a changed amount) and its marts must be rebuilt. One pass over each
-- table's month (the count and the sum together).
SELECT
    a.account_rows, a.account_kop, p.payment_rows, p.payment_kop, d.digital_rows, d.digital_units
FROM (
    SELECT
        COUNT(*) AS account_rows,
        COALESCE(SUM(CAST(ROUND(COALESCE(a.avg_balance, 0) * 100) AS BIGINT)
                     + CAST(ROUND(COALESCE(a.turnover_in, 0) * 100) AS BIGINT)
                     + CAST(ROUND(COALESCE(a.turnover_out, 0) * 100) AS BIGINT)), 0) AS account_kop
    FROM account_monthly AS a
    WHERE a.month_end > :month_start
      AND a.month_end <= :month_end
) AS a
CROSS JOIN (
    SELECT COUNT(*) AS payment_rows, COALESCE(SUM(CAST(ROUND(p.amount * 100) AS BIGINT)), 0) AS payment_kop
    FROM payments AS p
    WHERE p.payment_date > :month_start
      AND p.payment_date <= :month_end
) AS p
CROSS JOIN (
    SELECT
        COUNT(*) AS digital_rows,
        COALESCE(SUM(d.app_sessions + d.web_sessions + d.banner_views + d.banner_clicks), 0) AS digital_units
    FROM digital_activity AS d
    WHERE d.month_end > :month_start
      AND d.month_end <= :month_end
) AS d
