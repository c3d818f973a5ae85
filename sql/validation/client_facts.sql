-- Facts at report_date about the clients in validation_ids (the snapshot's clients, loaded
-- by the validation into a temporary table), read apart from the snapshot SQL, so that the
-- validation re-checks eligibility independently: segment and OKVED as recorded at the report
-- date (the client_attributes row valid at it; none gives a NULL segment), liquidation, RKO held.
SELECT
    c.client_id,
    a.segment,
    a.okved_code,
    CASE WHEN c.liquidation_date IS NOT NULL AND c.liquidation_date <= :report_date THEN 1 ELSE 0 END
        AS liquidated,
    CASE WHEN EXISTS (
        SELECT 1
        FROM product_events AS p
        WHERE p.client_id = c.client_id
          AND p.product = :rko_product
          AND p.open_date <= :report_date
          AND (p.close_date IS NULL OR p.close_date > :report_date)
    ) THEN 1 ELSE 0 END AS holds_rko
FROM validation_ids AS v
JOIN clients AS c ON c.client_id = v.client_id
LEFT JOIN client_attributes AS a
    ON a.client_id = c.client_id
   AND a.valid_from <= :report_date
   AND (a.valid_to IS NULL OR a.valid_to > :report_date)
