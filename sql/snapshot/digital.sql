-- Digital activity (app and web sessions, banner views and clicks) over windows of 1, 3, 6 and 12 months.
-- The eligible clients are a semi-join: a client that a broken clients view repeats is counted once.
SELECT
    d.client_id,
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
WHERE d.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
  AND d.month_end > :start_12m
  AND d.month_end <= :report_date
GROUP BY d.client_id
