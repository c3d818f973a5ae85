-- The latest date of each event source: both maxima are read from an index (payments) or a
-- small table, so the usual month, with nothing after its report date, costs next to nothing.
SELECT
    (SELECT MAX(p.payment_date) FROM payments AS p) AS payments,
    (SELECT MAX(e.open_date) FROM product_events AS e) AS product_events
