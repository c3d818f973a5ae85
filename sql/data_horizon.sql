-- The latest complete month of the warehouse: the last month end with account aggregates.
SELECT MAX(a.month_end) AS data_end
FROM account_monthly AS a
