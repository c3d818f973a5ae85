-- The month's row of mart_client_month for every client with an account, payment or digital row
-- dated in (month_start, month_end]: what every windowed account, payment and digital feature of
-- the features mart is composed from (sql/marts/features_sums.sql). The month's payments come from
-- the temporary table mart_month_payments (sql/marts/month_payments.sql). Money is summed in whole kopecks
-- (whole numbers in doubles: exact in any order and grouping, and fast to add).
INSERT INTO mart_client_month (
    client_id, month_end,
    account_rows, balance_kop, balance_n, turnover_in_kop, turnover_out_kop,
    pay_in_cnt, pay_in_kop, pay_out_cnt, pay_out_kop, pay_max_amount,
    digital_rows, app_sessions, web_sessions, banner_views, banner_clicks
)
SELECT
    u.client_id,
    :month_end,
    SUM(u.account_rows),
    SUM(u.balance_kop),
    SUM(u.balance_n),
    SUM(u.turnover_in_kop),
    SUM(u.turnover_out_kop),
    SUM(u.pay_in_cnt),
    SUM(u.pay_in_kop),
    SUM(u.pay_out_cnt),
    SUM(u.pay_out_kop),
    MAX(u.pay_max_amount),
    SUM(u.digital_rows),
    SUM(u.app_sessions),
    SUM(u.web_sessions),
    SUM(u.banner_views),
    SUM(u.banner_clicks)
FROM (
    SELECT
        a.client_id,
        COUNT(*) AS account_rows,
        SUM(ROUND(a.avg_balance * 100)) AS balance_kop,
        COUNT(a.avg_balance) AS balance_n,
        SUM(ROUND(a.turnover_in * 100)) AS turnover_in_kop,
        SUM(ROUND(a.turnover_out * 100)) AS turnover_out_kop,
        0 AS pay_in_cnt, 0 AS pay_in_kop, 0 AS pay_out_cnt, 0 AS pay_out_kop, NULL AS pay_max_amount,
        0 AS digital_rows, 0 AS app_sessions, 0 AS web_sessions, 0 AS banner_views, 0 AS banner_clicks
    FROM account_monthly AS a
    WHERE a.month_end > :month_start
      AND a.month_end <= :month_end
    GROUP BY a.client_id
    UNION ALL
    SELECT
        p.client_id,
        0, NULL, 0, NULL, NULL,
        SUM(CASE WHEN p.direction = 'in' THEN 1 ELSE 0 END),
        SUM(CASE WHEN p.direction = 'in' THEN ROUND(p.amount * 100) ELSE 0 END),
        SUM(CASE WHEN p.direction = 'out' THEN 1 ELSE 0 END),
        SUM(CASE WHEN p.direction = 'out' THEN ROUND(p.amount * 100) ELSE 0 END),
        MAX(p.amount),
        0, 0, 0, 0, 0
    FROM mart_month_payments AS p
    GROUP BY p.client_id
    UNION ALL
    SELECT
        d.client_id,
        0, NULL, 0, NULL, NULL,
        0, 0, 0, 0, NULL,
        COUNT(*),
        SUM(d.app_sessions),
        SUM(d.web_sessions),
        SUM(d.banner_views),
        SUM(d.banner_clicks)
    FROM digital_activity AS d
    WHERE d.month_end > :month_start
      AND d.month_end <= :month_end
    GROUP BY d.client_id
) AS u
GROUP BY u.client_id
