-- The months whose source-value counts are stored, oldest first.
SELECT v.month_end
FROM mart_source_values AS v
ORDER BY v.month_end
