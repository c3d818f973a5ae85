-- Record a month's marts as built, with the facts of the raw rows they were built from.
INSERT INTO mart_months (month_end, built_at, clients, account_rows, payment_rows, digital_rows, fingerprint)
VALUES (:month_end, :built_at, :clients, :account_rows, :payment_rows, :digital_rows, :fingerprint)
