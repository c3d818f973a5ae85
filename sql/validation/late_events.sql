-- Events dated after the horizon (the warehouse's latest complete month, or the report date
-- if later): no snapshot reads them, but a count above zero means a load put wrong dates in
-- the warehouse. payments(payment_date) is indexed; product_events is small.
SELECT 'payments' AS source, COUNT(*) AS events, MAX(p.payment_date) AS latest
FROM payments AS p
WHERE p.payment_date > :horizon
UNION ALL
SELECT 'product_events' AS source, COUNT(*) AS events, MAX(e.open_date) AS latest
FROM product_events AS e
WHERE e.open_date > :horizon
