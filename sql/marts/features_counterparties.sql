-- The distinct counterparties of every client over the 12 months ending at month_end, as the
-- temporary table mart_build_counterparties that features_activity.sql folds into the month's
-- features: a distinct count is not a sum of monthly counts, so it is counted over the window's
-- monthly rows of mart_counterparty_month (dropped with the build's transaction).
CREATE TEMPORARY TABLE mart_build_counterparties AS
SELECT d.client_id, COUNT(*) AS counterparties_12m
FROM (
    SELECT DISTINCT c.client_id, c.counterparty_inn
    FROM mart_counterparty_month AS c
    WHERE c.month_end > :start_12m
      AND c.month_end <= :month_end
) AS d
GROUP BY d.client_id
