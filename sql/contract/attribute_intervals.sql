-- Problems of the client_attributes intervals, counted by kind, with the smallest client id of
-- each as an example. Each row is compared with the client's previous row (by valid_from):
--   overlap: it starts before the previous row ends (an open-ended previous row overlaps every
--            later one, and two rows starting on the same day overlap);
--   gap:     it starts after the previous row ends (days with no attributes);
--   empty:   valid_to on or before valid_from (an interval holding no day).
SELECT
    h.problem,
    COUNT(*) AS rows_found,
    COUNT(DISTINCT h.client_id) AS clients,
    MIN(h.client_id) AS example_client
FROM (
    SELECT
        w.client_id,
        CASE
            WHEN w.valid_to IS NOT NULL AND w.valid_to <= w.valid_from THEN 'empty'
            WHEN w.row_rank > 1 AND (w.previous_to IS NULL OR w.valid_from < w.previous_to) THEN 'overlap'
            WHEN w.row_rank > 1 AND w.valid_from > w.previous_to THEN 'gap'
        END AS problem
    FROM (
        SELECT
            a.client_id,
            a.valid_from,
            a.valid_to,
            LAG(a.valid_to) OVER (PARTITION BY a.client_id ORDER BY a.valid_from) AS previous_to,
            ROW_NUMBER() OVER (PARTITION BY a.client_id ORDER BY a.valid_from) AS row_rank
        FROM client_attributes AS a
    ) AS w
) AS h
WHERE h.problem IS NOT NULL
GROUP BY h.problem
