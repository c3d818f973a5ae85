-- The account, payment, digital and text features of report_date for the eligible clients, read
-- from the features mart (mart_client_features, built when the month closed: features_insert.sql):
-- the same figures as sql/snapshot/account.sql, payments.sql, payment_text.sql and digital.sql.
-- Money was summed in kopecks; a balance average divides the sum by the count of balances.
-- In client-id order, as the eligible clients are read: the snapshot then takes the columns as
-- they are instead of aligning them (rko_model/stages/snapshot.py: assemble_snapshot).
-- Written by scripts/features_sql.py.
SELECT
    f.client_id,
    f.balance_kop_1m * 1.0 / (100 * NULLIF(f.balance_n_1m, 0)) AS balance_avg_1m,
    f.balance_kop_3m * 1.0 / (100 * NULLIF(f.balance_n_3m, 0)) AS balance_avg_3m,
    f.balance_kop_6m * 1.0 / (100 * NULLIF(f.balance_n_6m, 0)) AS balance_avg_6m,
    f.balance_kop_12m * 1.0 / (100 * NULLIF(f.balance_n_12m, 0)) AS balance_avg_12m,
    f.turnover_in_kop_1m / 100.0 AS turnover_in_1m,
    f.turnover_in_kop_3m / 100.0 AS turnover_in_3m,
    f.turnover_in_kop_6m / 100.0 AS turnover_in_6m,
    f.turnover_in_kop_12m / 100.0 AS turnover_in_12m,
    f.turnover_out_kop_1m / 100.0 AS turnover_out_1m,
    f.turnover_out_kop_3m / 100.0 AS turnover_out_3m,
    f.turnover_out_kop_6m / 100.0 AS turnover_out_6m,
    f.turnover_out_kop_12m / 100.0 AS turnover_out_12m,
    f.account_rows_12m AS account_months_12m,
    f.pay_in_cnt_1m AS pay_in_cnt_1m,
    f.pay_in_cnt_3m AS pay_in_cnt_3m,
    f.pay_in_cnt_6m AS pay_in_cnt_6m,
    f.pay_in_cnt_12m AS pay_in_cnt_12m,
    f.pay_in_kop_1m / 100.0 AS pay_in_sum_1m,
    f.pay_in_kop_3m / 100.0 AS pay_in_sum_3m,
    f.pay_in_kop_6m / 100.0 AS pay_in_sum_6m,
    f.pay_in_kop_12m / 100.0 AS pay_in_sum_12m,
    f.pay_out_cnt_1m AS pay_out_cnt_1m,
    f.pay_out_cnt_3m AS pay_out_cnt_3m,
    f.pay_out_cnt_6m AS pay_out_cnt_6m,
    f.pay_out_cnt_12m AS pay_out_cnt_12m,
    f.pay_out_kop_1m / 100.0 AS pay_out_sum_1m,
    f.pay_out_kop_3m / 100.0 AS pay_out_sum_3m,
    f.pay_out_kop_6m / 100.0 AS pay_out_sum_6m,
    f.pay_out_kop_12m / 100.0 AS pay_out_sum_12m,
    f.pay_max_amount_12m AS pay_max_amount_12m,
    f.counterparties_12m,
    f.app_sessions_1m AS app_sessions_1m,
    f.app_sessions_3m AS app_sessions_3m,
    f.app_sessions_6m AS app_sessions_6m,
    f.app_sessions_12m AS app_sessions_12m,
    f.web_sessions_1m AS web_sessions_1m,
    f.web_sessions_3m AS web_sessions_3m,
    f.web_sessions_6m AS web_sessions_6m,
    f.web_sessions_12m AS web_sessions_12m,
    f.banner_views_1m AS banner_views_1m,
    f.banner_views_3m AS banner_views_3m,
    f.banner_views_6m AS banner_views_6m,
    f.banner_views_12m AS banner_views_12m,
    f.banner_clicks_1m AS banner_clicks_1m,
    f.banner_clicks_3m AS banner_clicks_3m,
    f.banner_clicks_6m AS banner_clicks_6m,
    f.banner_clicks_12m AS banner_clicks_12m,
    f.payment_text
FROM mart_client_features AS f
WHERE f.month_end = :report_date
  AND f.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
ORDER BY f.client_id
