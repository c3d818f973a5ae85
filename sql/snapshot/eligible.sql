-- Clients eligible for scoring at report_date, with their profile as recorded at report_date,
-- as the temporary table snapshot_eligible that the source queries join (it lives until the
-- snapshot's transaction rolls back).
-- Eligible: registered on or before the report date and not liquidated at it (clients); SMB
-- segment and an OKVED neither an excluded code nor in an excluded class, in the attributes
-- valid at the report date (client_attributes: valid_from <= R < valid_to, or valid_to NULL);
-- no RKO held at the report date. A client without an attribute row at R is not eligible
-- (the contract check counts them).
-- Only the clients of one partition (client id modulo the partition count; 1 = all clients), and
-- of those only ids in [id_from, id_to) where bounds are given (a parallel read's part: parts of
-- consecutive ids concatenate in id order); a null id, which breaks the contract, stays in every
-- partition and part so that validation reports it.
CREATE TEMPORARY TABLE snapshot_eligible AS
SELECT
    c.client_id,
    c.legal_form,
    a.okved_code,
    SUBSTR(a.okved_code, 1, 2) AS okved_class,
    a.region_code,
    c.registration_date,
    a.headcount,
    a.declared_revenue
FROM clients AS c
JOIN client_attributes AS a
    ON a.client_id = c.client_id
   AND a.valid_from <= :report_date
   AND (a.valid_to IS NULL OR a.valid_to > :report_date)
WHERE ((c.client_id % :partitions + :partitions) % :partitions = :partition OR c.client_id IS NULL)
  AND (c.client_id IS NULL OR :id_from IS NULL OR c.client_id >= :id_from)
  AND (c.client_id IS NULL OR :id_to IS NULL OR c.client_id < :id_to)
  AND a.segment = :segment
  AND c.registration_date <= :report_date
  AND (c.liquidation_date IS NULL OR c.liquidation_date > :report_date)
  AND COALESCE(a.okved_code, '') NOT IN :excluded_codes
  AND COALESCE(SUBSTR(a.okved_code, 1, 2), '') NOT IN :excluded_classes
  AND NOT EXISTS (
      SELECT 1
      FROM product_events AS p
      WHERE p.client_id = c.client_id
        AND p.product = :rko_product
        AND p.open_date <= :report_date
        AND (p.close_date IS NULL OR p.close_date > :report_date)
  )
