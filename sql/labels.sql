-- Clients who opened RKO in the label window (report_date, horizon_end].
SELECT DISTINCT e.client_id
FROM product_events AS e
WHERE e.product = :rko_product
  AND e.open_date > :report_date
  AND e.open_date <= :horizon_end
