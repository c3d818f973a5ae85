-- The synthetic bank's true propensity at the given month ends, for the ceiling Gini only.
-- Evaluation code reads this file; no feature or label query may read synthetic_truth.
SELECT
    t.client_id,
    t.month_end AS report_date,
    t.propensity
FROM synthetic_truth AS t
WHERE t.month_end IN :months
