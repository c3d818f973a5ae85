-- The report months whose features mart is built, oldest first.
SELECT f.month_end, f.built_at, f.clients
FROM mart_feature_months AS f
ORDER BY f.month_end
