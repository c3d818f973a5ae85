-- The months whose marts are built, oldest first.
SELECT m.month_end, m.built_at, m.clients, m.account_rows, m.payment_rows, m.digital_rows, m.fingerprint
FROM mart_months AS m
ORDER BY m.month_end
