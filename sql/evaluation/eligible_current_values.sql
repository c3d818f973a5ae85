-- The clients a current-values-only reading would call eligible at report_date: segment and
-- OKVED from clients (today's values) instead of the client_attributes row valid at report_date.
-- Not used for scoring: it measures the leak that reading would cause (rko_model/stages/eligibility_leak.py).
SELECT
    c.client_id
FROM clients AS c
WHERE c.segment = :segment
  AND c.registration_date <= :report_date
  AND (c.liquidation_date IS NULL OR c.liquidation_date > :report_date)
  AND COALESCE(c.okved_code, '') NOT IN :excluded_codes
  AND COALESCE(SUBSTR(c.okved_code, 1, 2), '') NOT IN :excluded_classes
  AND NOT EXISTS (
      SELECT 1
      FROM product_events AS p
      WHERE p.client_id = c.client_id
        AND p.product = :rko_product
        AND p.open_date <= :report_date
        AND (p.close_date IS NULL OR p.close_date > :report_date)
  )
