-- The month's features: the window sums of every candidate (mart_build_sums: features_sums.sql or
-- features_sums_direct.sql), its distinct counterparties of 12 months (the scratch table
-- mart_build_counterparties: features_counterparties.sql; 0 without any) and its payment text (the
-- temporary table mart_build_text: features_text.sql; NULL without any).
-- Written by scripts/features_sql.py.
INSERT INTO mart_client_features (
    month_end, client_id,
    months_1m, months_3m, months_6m, months_12m,
    account_rows_1m, account_rows_3m, account_rows_6m, account_rows_12m,
    balance_kop_1m, balance_kop_3m, balance_kop_6m, balance_kop_12m,
    balance_n_1m, balance_n_3m, balance_n_6m, balance_n_12m,
    turnover_in_kop_1m, turnover_in_kop_3m, turnover_in_kop_6m, turnover_in_kop_12m,
    turnover_out_kop_1m, turnover_out_kop_3m, turnover_out_kop_6m, turnover_out_kop_12m,
    pay_in_cnt_1m, pay_in_cnt_3m, pay_in_cnt_6m, pay_in_cnt_12m,
    pay_in_kop_1m, pay_in_kop_3m, pay_in_kop_6m, pay_in_kop_12m,
    pay_out_cnt_1m, pay_out_cnt_3m, pay_out_cnt_6m, pay_out_cnt_12m,
    pay_out_kop_1m, pay_out_kop_3m, pay_out_kop_6m, pay_out_kop_12m,
    pay_max_amount_1m, pay_max_amount_3m, pay_max_amount_6m, pay_max_amount_12m,
    app_sessions_1m, app_sessions_3m, app_sessions_6m, app_sessions_12m,
    web_sessions_1m, web_sessions_3m, web_sessions_6m, web_sessions_12m,
    banner_views_1m, banner_views_3m, banner_views_6m, banner_views_12m,
    banner_clicks_1m, banner_clicks_3m, banner_clicks_6m, banner_clicks_12m,
    counterparties_12m, payment_text
)
SELECT
    :month_end,
    s.client_id,
    s.months_1m, s.months_3m, s.months_6m, s.months_12m,
    s.account_rows_1m, s.account_rows_3m, s.account_rows_6m, s.account_rows_12m,
    s.balance_kop_1m, s.balance_kop_3m, s.balance_kop_6m, s.balance_kop_12m,
    s.balance_n_1m, s.balance_n_3m, s.balance_n_6m, s.balance_n_12m,
    s.turnover_in_kop_1m, s.turnover_in_kop_3m, s.turnover_in_kop_6m, s.turnover_in_kop_12m,
    s.turnover_out_kop_1m, s.turnover_out_kop_3m, s.turnover_out_kop_6m, s.turnover_out_kop_12m,
    s.pay_in_cnt_1m, s.pay_in_cnt_3m, s.pay_in_cnt_6m, s.pay_in_cnt_12m,
    s.pay_in_kop_1m, s.pay_in_kop_3m, s.pay_in_kop_6m, s.pay_in_kop_12m,
    s.pay_out_cnt_1m, s.pay_out_cnt_3m, s.pay_out_cnt_6m, s.pay_out_cnt_12m,
    s.pay_out_kop_1m, s.pay_out_kop_3m, s.pay_out_kop_6m, s.pay_out_kop_12m,
    s.pay_max_amount_1m, s.pay_max_amount_3m, s.pay_max_amount_6m, s.pay_max_amount_12m,
    s.app_sessions_1m, s.app_sessions_3m, s.app_sessions_6m, s.app_sessions_12m,
    s.web_sessions_1m, s.web_sessions_3m, s.web_sessions_6m, s.web_sessions_12m,
    s.banner_views_1m, s.banner_views_3m, s.banner_views_6m, s.banner_views_12m,
    s.banner_clicks_1m, s.banner_clicks_3m, s.banner_clicks_6m, s.banner_clicks_12m,
    COALESCE(c.counterparties_12m, 0),
    t.payment_text
FROM mart_build_sums AS s
LEFT JOIN mart_build_counterparties AS c
    ON c.month_end = :month_end
   AND c.client_id = s.client_id
LEFT JOIN mart_build_text AS t
    ON t.client_id = s.client_id
