-- Clients registered and not liquidated at report_date without any client_attributes row
-- valid at it: they cannot be judged eligible, so no snapshot of report_date holds them.
SELECT
    COUNT(*) AS clients,
    MIN(c.client_id) AS example_client
FROM clients AS c
WHERE c.registration_date <= :report_date
  AND (c.liquidation_date IS NULL OR c.liquidation_date > :report_date)
  AND NOT EXISTS (
      SELECT 1
      FROM client_attributes AS a
      WHERE a.client_id = c.client_id
        AND a.valid_from <= :report_date
        AND (a.valid_to IS NULL OR a.valid_to > :report_date)
  )
