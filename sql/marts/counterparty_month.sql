-- The distinct counterparties of each client in the month (month_start, month_end]. The count of
-- distinct counterparties over 12 months is not a sum of monthly counts: a snapshot counts the
-- distinct values of these rows over its window instead (sql/marts/features_counterparties.sql).
INSERT INTO mart_counterparty_month (client_id, month_end, counterparty_inn)
SELECT DISTINCT
    p.client_id,
    :month_end,
    p.counterparty_inn
FROM mart_month_payments AS p
WHERE p.counterparty_inn IS NOT NULL
