-- Rows of payments dated in the report month (previous_end, report_date] and in the month before
-- (earlier_end, previous_end]: the readiness rule compares the two (rko_model/stages/readiness.py).
SELECT
    SUM(CASE WHEN s.payment_date > :previous_end THEN 1 ELSE 0 END) AS rows_month,
    SUM(CASE WHEN s.payment_date <= :previous_end THEN 1 ELSE 0 END) AS rows_previous
FROM payments AS s
WHERE s.payment_date > :earlier_end
  AND s.payment_date <= :report_date
