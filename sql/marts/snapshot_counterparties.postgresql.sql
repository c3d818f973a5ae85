-- The distinct counterparties of each eligible client over the 12 months ending at report_date,
-- from mart_counterparty_month: the same figure as snapshot_counterparties.sql, which the other
-- engines run. PostgreSQL: one index-only range scan of (client_id, month_end, counterparty_inn)
-- per eligible client.
SELECT
    el.client_id,
    x.counterparties_12m
FROM snapshot_eligible AS el
CROSS JOIN LATERAL (
    SELECT COUNT(DISTINCT c.counterparty_inn) AS counterparties_12m
    FROM mart_counterparty_month AS c
    WHERE c.client_id = el.client_id
      AND c.month_end > :start_12m
      AND c.month_end <= :report_date
) AS x
WHERE x.counterparties_12m > 0
