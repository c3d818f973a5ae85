-- The month's infinite or out-of-bound values (see sql/validation/source_values.sql), counted by the
-- marts build from the raw rows it reads: a snapshot read from the features mart sums 12 months of
-- these instead of rescanning the raw tables (sql/marts/source_values.sql). The month's payments
-- come from the build's temporary table mart_month_payments.
INSERT INTO mart_source_values (
    month_end,
    account_monthly__avg_balance__bad_rows,
    account_monthly__avg_balance__example_client,
    account_monthly__turnover_in__bad_rows,
    account_monthly__turnover_in__example_client,
    account_monthly__turnover_out__bad_rows,
    account_monthly__turnover_out__example_client,
    payments__amount__bad_rows,
    payments__amount__example_client,
    digital_activity__app_sessions__bad_rows,
    digital_activity__app_sessions__example_client,
    digital_activity__web_sessions__bad_rows,
    digital_activity__web_sessions__example_client,
    digital_activity__banner_views__bad_rows,
    digital_activity__banner_views__example_client,
    digital_activity__banner_clicks__bad_rows,
    digital_activity__banner_clicks__example_client
)
SELECT
    :month_end,
    account_monthly__avg_balance__bad_rows,
    account_monthly__avg_balance__example_client,
    account_monthly__turnover_in__bad_rows,
    account_monthly__turnover_in__example_client,
    account_monthly__turnover_out__bad_rows,
    account_monthly__turnover_out__example_client,
    payments__amount__bad_rows,
    payments__amount__example_client,
    digital_activity__app_sessions__bad_rows,
    digital_activity__app_sessions__example_client,
    digital_activity__web_sessions__bad_rows,
    digital_activity__web_sessions__example_client,
    digital_activity__banner_views__bad_rows,
    digital_activity__banner_views__example_client,
    digital_activity__banner_clicks__bad_rows,
    digital_activity__banner_clicks__example_client
FROM (
    SELECT
        COALESCE(SUM(CASE WHEN ABS(s.avg_balance) > :bound_account_monthly_avg_balance THEN 1 ELSE 0 END), 0) AS account_monthly__avg_balance__bad_rows,
        MIN(CASE WHEN ABS(s.avg_balance) > :bound_account_monthly_avg_balance THEN s.client_id END) AS account_monthly__avg_balance__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.turnover_in) > :bound_account_monthly_turnover_in THEN 1 ELSE 0 END), 0) AS account_monthly__turnover_in__bad_rows,
        MIN(CASE WHEN ABS(s.turnover_in) > :bound_account_monthly_turnover_in THEN s.client_id END) AS account_monthly__turnover_in__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.turnover_out) > :bound_account_monthly_turnover_out THEN 1 ELSE 0 END), 0) AS account_monthly__turnover_out__bad_rows,
        MIN(CASE WHEN ABS(s.turnover_out) > :bound_account_monthly_turnover_out THEN s.client_id END) AS account_monthly__turnover_out__example_client
    FROM account_monthly AS s
    WHERE s.month_end > :month_start AND s.month_end <= :month_end
) AS account_monthly_values
CROSS JOIN (
    SELECT
        COALESCE(SUM(CASE WHEN ABS(s.amount) > :bound_payments_amount THEN 1 ELSE 0 END), 0) AS payments__amount__bad_rows,
        MIN(CASE WHEN ABS(s.amount) > :bound_payments_amount THEN s.client_id END) AS payments__amount__example_client
    FROM mart_month_payments AS s
) AS payments_values
CROSS JOIN (
    SELECT
        COALESCE(SUM(CASE WHEN ABS(s.app_sessions) > :bound_digital_activity_app_sessions THEN 1 ELSE 0 END), 0) AS digital_activity__app_sessions__bad_rows,
        MIN(CASE WHEN ABS(s.app_sessions) > :bound_digital_activity_app_sessions THEN s.client_id END) AS digital_activity__app_sessions__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.web_sessions) > :bound_digital_activity_web_sessions THEN 1 ELSE 0 END), 0) AS digital_activity__web_sessions__bad_rows,
        MIN(CASE WHEN ABS(s.web_sessions) > :bound_digital_activity_web_sessions THEN s.client_id END) AS digital_activity__web_sessions__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.banner_views) > :bound_digital_activity_banner_views THEN 1 ELSE 0 END), 0) AS digital_activity__banner_views__bad_rows,
        MIN(CASE WHEN ABS(s.banner_views) > :bound_digital_activity_banner_views THEN s.client_id END) AS digital_activity__banner_views__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.banner_clicks) > :bound_digital_activity_banner_clicks THEN 1 ELSE 0 END), 0) AS digital_activity__banner_clicks__bad_rows,
        MIN(CASE WHEN ABS(s.banner_clicks) > :bound_digital_activity_banner_clicks THEN s.client_id END) AS digital_activity__banner_clicks__example_client
    FROM digital_activity AS s
    WHERE s.month_end > :month_start AND s.month_end <= :month_end
) AS digital_activity_values
