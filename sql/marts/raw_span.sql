-- The earliest and latest dates of the raw rows the marts are built from: the months to build.
SELECT
    (SELECT MIN(a.month_end) FROM account_monthly AS a) AS account_start,
    (SELECT MAX(a.month_end) FROM account_monthly AS a) AS account_end,
    (SELECT MIN(p.payment_date) FROM payments AS p) AS payments_start,
    (SELECT MIN(d.month_end) FROM digital_activity AS d) AS digital_start
