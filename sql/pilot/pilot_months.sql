-- Report dates whose list carries arms.
SELECT DISTINCT p.report_date
FROM mo_staging.rko_propensity AS p
WHERE p.arm IS NOT NULL
ORDER BY p.report_date
