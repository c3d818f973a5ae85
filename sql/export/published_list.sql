-- A month's published list for the optimizer's batch import, best rank first: every column the list has
-- (the pilot arm and reasons where the table holds them), so the export follows the table without edits.
SELECT *
FROM mo_staging.rko_propensity
WHERE report_date = :report_date
ORDER BY rank
