-- Clients eligible for scoring at report_date, with their static profile, as the temporary
-- table snapshot_eligible that the source queries join (it lives until the snapshot's
-- transaction rolls back).
-- Eligible: SMB segment; registered on or before the report date; not liquidated at it;
-- OKVED neither an excluded code nor in an excluded class; no RKO held at the report date.
-- Only the clients of one partition (client id modulo the partition count; 1 = all clients);
-- a null id, which breaks the contract, stays in every partition so that validation reports it.
CREATE TEMPORARY TABLE snapshot_eligible AS
SELECT
    c.client_id,
    c.legal_form,
    c.okved_code,
    SUBSTR(c.okved_code, 1, 2) AS okved_class,
    c.region_code,
    c.registration_date,
    c.headcount,
    c.declared_revenue
FROM clients AS c
WHERE ((c.client_id % :partitions + :partitions) % :partitions = :partition OR c.client_id IS NULL)
  AND c.segment = :segment
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
