-- Labels of the clients in snapshot_eligible: 1 when the client opened RKO in the label
-- window (report_date, horizon_end], else 0.
SELECT
    e.client_id,
    CASE WHEN EXISTS (
        SELECT 1
        FROM product_events AS p
        WHERE p.client_id = e.client_id
          AND p.product = :rko_product
          AND p.open_date > :report_date
          AND p.open_date <= :horizon_end
    ) THEN 1 ELSE 0 END AS target
FROM snapshot_eligible AS e
ORDER BY e.client_id
