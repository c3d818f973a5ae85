-- A month's published list with the pilot's columns.
SELECT
    p.client_id,
    p.score,
    p.rank,
    p.decile,
    p.arm,
    p.rules_rank,
    p.do_not_contact,
    p.reason_1,
    p.reason_2,
    p.reason_3,
    p.reason_text,
    p.model_version,
    p.run_id
FROM mo_staging.rko_propensity AS p
WHERE p.report_date = :report_date
ORDER BY p.rank
