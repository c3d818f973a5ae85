-- The span of complete months in the warehouse: the first and the last month end with account aggregates.
SELECT
    MIN(a.month_end) AS data_start,
    MAX(a.month_end) AS data_end
FROM account_monthly AS a
