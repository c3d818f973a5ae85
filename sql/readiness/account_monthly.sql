-- Rows of account_monthly dated in the report month (previous_end, report_date] and in the month before
-- (earlier_end, previous_end]: the readiness rule compares the two (rko_model/stages/readiness.py).
SELECT
    SUM(CASE WHEN s.month_end > :previous_end THEN 1 ELSE 0 END) AS rows_month,
    SUM(CASE WHEN s.month_end <= :previous_end THEN 1 ELSE 0 END) AS rows_previous
FROM account_monthly AS s
WHERE s.month_end > :earlier_end
  AND s.month_end <= :report_date
