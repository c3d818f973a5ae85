-- Digital activity (app and web sessions, banner views and clicks) over windows of 1, 3, 6 and 12 months.
-- PostgreSQL: one index-only range scan of (client_id, month_end) per eligible client (the
-- index covers the counts); the same result as digital.sql, which the other engines run.
SELECT
    el.client_id,
    x.app_sessions_1m, x.app_sessions_3m, x.app_sessions_6m, x.app_sessions_12m,
    x.web_sessions_1m, x.web_sessions_3m, x.web_sessions_6m, x.web_sessions_12m,
    x.banner_views_1m, x.banner_views_3m, x.banner_views_6m, x.banner_views_12m,
    x.banner_clicks_1m, x.banner_clicks_3m, x.banner_clicks_6m, x.banner_clicks_12m
FROM snapshot_eligible AS el
CROSS JOIN LATERAL (
    SELECT
        COUNT(*) AS months,
        SUM(CASE WHEN d.month_end > :start_1m THEN d.app_sessions ELSE 0 END) AS app_sessions_1m,
        SUM(CASE WHEN d.month_end > :start_3m THEN d.app_sessions ELSE 0 END) AS app_sessions_3m,
        SUM(CASE WHEN d.month_end > :start_6m THEN d.app_sessions ELSE 0 END) AS app_sessions_6m,
        SUM(d.app_sessions) AS app_sessions_12m,
        SUM(CASE WHEN d.month_end > :start_1m THEN d.web_sessions ELSE 0 END) AS web_sessions_1m,
        SUM(CASE WHEN d.month_end > :start_3m THEN d.web_sessions ELSE 0 END) AS web_sessions_3m,
        SUM(CASE WHEN d.month_end > :start_6m THEN d.web_sessions ELSE 0 END) AS web_sessions_6m,
        SUM(d.web_sessions) AS web_sessions_12m,
        SUM(CASE WHEN d.month_end > :start_1m THEN d.banner_views ELSE 0 END) AS banner_views_1m,
        SUM(CASE WHEN d.month_end > :start_3m THEN d.banner_views ELSE 0 END) AS banner_views_3m,
        SUM(CASE WHEN d.month_end > :start_6m THEN d.banner_views ELSE 0 END) AS banner_views_6m,
        SUM(d.banner_views) AS banner_views_12m,
        SUM(CASE WHEN d.month_end > :start_1m THEN d.banner_clicks ELSE 0 END) AS banner_clicks_1m,
        SUM(CASE WHEN d.month_end > :start_3m THEN d.banner_clicks ELSE 0 END) AS banner_clicks_3m,
        SUM(CASE WHEN d.month_end > :start_6m THEN d.banner_clicks ELSE 0 END) AS banner_clicks_6m,
        SUM(d.banner_clicks) AS banner_clicks_12m
    FROM digital_activity AS d
    WHERE d.client_id = el.client_id
      AND d.month_end > :start_12m
      AND d.month_end <= :report_date
) AS x
WHERE x.months > 0
