-- The infinite or out-of-bound values of the monthly source tables over the 12 months a snapshot of
-- report_date reads, from the counts the marts build stored per month (month_source_values.sql): the
-- same figures as the monthly parts of sql/validation/source_values.sql. ``months`` says how many
-- months of the window hold counts.
SELECT
    COUNT(*) AS months,
    COALESCE(SUM(v.account_monthly__avg_balance__bad_rows), 0) AS account_monthly__avg_balance__bad_rows,
    MIN(v.account_monthly__avg_balance__example_client) AS account_monthly__avg_balance__example_client,
    COALESCE(SUM(v.account_monthly__turnover_in__bad_rows), 0) AS account_monthly__turnover_in__bad_rows,
    MIN(v.account_monthly__turnover_in__example_client) AS account_monthly__turnover_in__example_client,
    COALESCE(SUM(v.account_monthly__turnover_out__bad_rows), 0) AS account_monthly__turnover_out__bad_rows,
    MIN(v.account_monthly__turnover_out__example_client) AS account_monthly__turnover_out__example_client,
    COALESCE(SUM(v.payments__amount__bad_rows), 0) AS payments__amount__bad_rows,
    MIN(v.payments__amount__example_client) AS payments__amount__example_client,
    COALESCE(SUM(v.digital_activity__app_sessions__bad_rows), 0) AS digital_activity__app_sessions__bad_rows,
    MIN(v.digital_activity__app_sessions__example_client) AS digital_activity__app_sessions__example_client,
    COALESCE(SUM(v.digital_activity__web_sessions__bad_rows), 0) AS digital_activity__web_sessions__bad_rows,
    MIN(v.digital_activity__web_sessions__example_client) AS digital_activity__web_sessions__example_client,
    COALESCE(SUM(v.digital_activity__banner_views__bad_rows), 0) AS digital_activity__banner_views__bad_rows,
    MIN(v.digital_activity__banner_views__example_client) AS digital_activity__banner_views__example_client,
    COALESCE(SUM(v.digital_activity__banner_clicks__bad_rows), 0) AS digital_activity__banner_clicks__bad_rows,
    MIN(v.digital_activity__banner_clicks__example_client) AS digital_activity__banner_clicks__example_client
FROM mart_source_values AS v
WHERE v.month_end > :window_start
  AND v.month_end <= :report_date
