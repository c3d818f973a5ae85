-- The distinct counterparties of every candidate client (the build's snapshot_eligible) over the
-- 12 months ending at month_end, into the scratch table mart_build_counterparties that
-- features_insert.sql joins to the month's features: a distinct count is not a sum of monthly
-- counts, so it is counted over the window's monthly rows of mart_counterparty_month. On
-- PostgreSQL this runs on a second connection while the build computes the text and the sums
-- (rko_model/stages/marts.py: build_features).
INSERT INTO mart_build_counterparties (month_end, client_id, counterparties_12m)
SELECT :month_end, d.client_id, COUNT(*)
FROM (
    SELECT DISTINCT c.client_id, c.counterparty_inn
    FROM mart_counterparty_month AS c
    WHERE c.month_end > :start_12m
      AND c.month_end <= :month_end
      AND c.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
) AS d
GROUP BY d.client_id
