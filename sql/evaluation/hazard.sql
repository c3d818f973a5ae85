-- The hazards the synthetic bank actually drew from at the given month ends, for the oracle ceiling only.
-- Evaluation code reads this file; no feature or label query may read synthetic_hazard.
SELECT
    h.client_id,
    h.month_end,
    h.hazard
FROM synthetic_hazard AS h
WHERE h.month_end IN :months
