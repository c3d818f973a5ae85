-- The account, payment and digital features over windows of 1, 3, 6 and 12 months ending at
-- report_date, summed from the monthly marts: the same figures as snapshot_activity.sql, which the
-- other engines run. PostgreSQL: one index-only range scan of (client_id, month_end) per eligible
-- client (the index covers every column of the mart).
SELECT
    el.client_id,
    x.*
FROM snapshot_eligible AS el
CROSS JOIN LATERAL (
    SELECT
        COUNT(*) AS mart_months,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.balance_kop END) * 1.0
            / (100 * NULLIF(SUM(CASE WHEN m.month_end > :start_1m THEN m.balance_n ELSE 0 END), 0)) AS balance_avg_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.balance_kop END) * 1.0
            / (100 * NULLIF(SUM(CASE WHEN m.month_end > :start_3m THEN m.balance_n ELSE 0 END), 0)) AS balance_avg_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.balance_kop END) * 1.0
            / (100 * NULLIF(SUM(CASE WHEN m.month_end > :start_6m THEN m.balance_n ELSE 0 END), 0)) AS balance_avg_6m,
        SUM(m.balance_kop) * 1.0 / (100 * NULLIF(SUM(m.balance_n), 0)) AS balance_avg_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.turnover_in_kop END) / 100.0 AS turnover_in_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.turnover_in_kop END) / 100.0 AS turnover_in_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.turnover_in_kop END) / 100.0 AS turnover_in_6m,
        SUM(m.turnover_in_kop) / 100.0 AS turnover_in_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.turnover_out_kop END) / 100.0 AS turnover_out_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.turnover_out_kop END) / 100.0 AS turnover_out_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.turnover_out_kop END) / 100.0 AS turnover_out_6m,
        SUM(m.turnover_out_kop) / 100.0 AS turnover_out_12m,
        SUM(m.account_rows) AS account_months_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.pay_in_cnt ELSE 0 END) AS pay_in_cnt_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.pay_in_cnt ELSE 0 END) AS pay_in_cnt_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.pay_in_cnt ELSE 0 END) AS pay_in_cnt_6m,
        SUM(m.pay_in_cnt) AS pay_in_cnt_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.pay_in_kop ELSE 0 END) / 100.0 AS pay_in_sum_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.pay_in_kop ELSE 0 END) / 100.0 AS pay_in_sum_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.pay_in_kop ELSE 0 END) / 100.0 AS pay_in_sum_6m,
        SUM(m.pay_in_kop) / 100.0 AS pay_in_sum_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.pay_out_cnt ELSE 0 END) AS pay_out_cnt_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.pay_out_cnt ELSE 0 END) AS pay_out_cnt_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.pay_out_cnt ELSE 0 END) AS pay_out_cnt_6m,
        SUM(m.pay_out_cnt) AS pay_out_cnt_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.pay_out_kop ELSE 0 END) / 100.0 AS pay_out_sum_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.pay_out_kop ELSE 0 END) / 100.0 AS pay_out_sum_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.pay_out_kop ELSE 0 END) / 100.0 AS pay_out_sum_6m,
        SUM(m.pay_out_kop) / 100.0 AS pay_out_sum_12m,
        MAX(m.pay_max_amount) AS pay_max_amount_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.app_sessions ELSE 0 END) AS app_sessions_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.app_sessions ELSE 0 END) AS app_sessions_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.app_sessions ELSE 0 END) AS app_sessions_6m,
        SUM(m.app_sessions) AS app_sessions_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.web_sessions ELSE 0 END) AS web_sessions_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.web_sessions ELSE 0 END) AS web_sessions_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.web_sessions ELSE 0 END) AS web_sessions_6m,
        SUM(m.web_sessions) AS web_sessions_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.banner_views ELSE 0 END) AS banner_views_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.banner_views ELSE 0 END) AS banner_views_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.banner_views ELSE 0 END) AS banner_views_6m,
        SUM(m.banner_views) AS banner_views_12m,
        SUM(CASE WHEN m.month_end > :start_1m THEN m.banner_clicks ELSE 0 END) AS banner_clicks_1m,
        SUM(CASE WHEN m.month_end > :start_3m THEN m.banner_clicks ELSE 0 END) AS banner_clicks_3m,
        SUM(CASE WHEN m.month_end > :start_6m THEN m.banner_clicks ELSE 0 END) AS banner_clicks_6m,
        SUM(m.banner_clicks) AS banner_clicks_12m
    FROM mart_client_month AS m
    WHERE m.client_id = el.client_id
      AND m.month_end > :start_12m
      AND m.month_end <= :report_date
) AS x
WHERE x.mart_months > 0
