-- Per numeric source column (<table>__<column>__...): rows holding an infinite or out-of-bound
-- value (ABS beyond the column's documented bound, rko_model/stages/source_values.py) and one client
-- holding such a row, over the rows the snapshot of report_date reads (the clients; the 12
-- months of accounts, payments and digital activity): one scan per table, one result row.
-- ABS(+-inf) is inf on both engines; a PostgreSQL NaN sorts above every bound and is counted too.
SELECT *
FROM (
    SELECT
        COALESCE(SUM(CASE WHEN ABS(s.headcount) > :bound_clients_headcount THEN 1 ELSE 0 END), 0) AS clients__headcount__bad_rows,
        MIN(CASE WHEN ABS(s.headcount) > :bound_clients_headcount THEN s.client_id END) AS clients__headcount__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.declared_revenue) > :bound_clients_declared_revenue THEN 1 ELSE 0 END), 0) AS clients__declared_revenue__bad_rows,
        MIN(CASE WHEN ABS(s.declared_revenue) > :bound_clients_declared_revenue THEN s.client_id END) AS clients__declared_revenue__example_client
    FROM clients AS s
) AS clients_values
CROSS JOIN (
    SELECT
        COALESCE(SUM(CASE WHEN ABS(s.avg_balance) > :bound_account_monthly_avg_balance THEN 1 ELSE 0 END), 0) AS account_monthly__avg_balance__bad_rows,
        MIN(CASE WHEN ABS(s.avg_balance) > :bound_account_monthly_avg_balance THEN s.client_id END) AS account_monthly__avg_balance__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.turnover_in) > :bound_account_monthly_turnover_in THEN 1 ELSE 0 END), 0) AS account_monthly__turnover_in__bad_rows,
        MIN(CASE WHEN ABS(s.turnover_in) > :bound_account_monthly_turnover_in THEN s.client_id END) AS account_monthly__turnover_in__example_client,
        COALESCE(SUM(CASE WHEN ABS(s.turnover_out) > :bound_account_monthly_turnover_out THEN 1 ELSE 0 END), 0) AS account_monthly__turnover_out__bad_rows,
        MIN(CASE WHEN ABS(s.turnover_out) > :bound_account_monthly_turnover_out THEN s.client_id END) AS account_monthly__turnover_out__example_client
    FROM account_monthly AS s
    WHERE s.month_end > :window_start AND s.month_end <= :report_date
) AS account_monthly_values
CROSS JOIN (
    SELECT
        COALESCE(SUM(CASE WHEN ABS(s.amount) > :bound_payments_amount THEN 1 ELSE 0 END), 0) AS payments__amount__bad_rows,
        MIN(CASE WHEN ABS(s.amount) > :bound_payments_amount THEN s.client_id END) AS payments__amount__example_client
    FROM payments AS s
    WHERE s.payment_date > :window_start AND s.payment_date <= :report_date
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
    WHERE s.month_end > :window_start AND s.month_end <= :report_date
) AS digital_activity_values
