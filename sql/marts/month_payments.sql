-- The month's payments (month_start, month_end], read once into a temporary table that the three
-- mart statements of the month then read (instead of three passes over the payments table). It
-- is dropped at the end of the build's transaction (sql/marts/drop_month_payments.sql).
CREATE TEMPORARY TABLE mart_month_payments AS
SELECT p.client_id, p.payment_date, p.payment_id, p.amount, p.direction, p.counterparty_inn, p.purpose
FROM payments AS p
WHERE p.payment_date > :month_start
  AND p.payment_date <= :month_end
