-- Rows of product_events dated in the report month (previous_end, report_date] and in the month before
-- (earlier_end, previous_end]: the readiness rule compares the two (rko_model/stages/readiness.py).
SELECT
    SUM(CASE WHEN s.open_date > :previous_end THEN 1 ELSE 0 END) AS rows_month,
    SUM(CASE WHEN s.open_date <= :previous_end THEN 1 ELSE 0 END) AS rows_previous
FROM product_events AS s
WHERE s.open_date > :earlier_end
  AND s.open_date <= :report_date
