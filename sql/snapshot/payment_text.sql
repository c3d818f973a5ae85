-- The purposes of a client's most recent payments (at most text_max_payments, dated in
-- (text_start, report_date]), newest first, as one text field: the portable form (a window
-- function and STRING_AGG ... ORDER BY). SQLite 3.40 has no ORDER BY inside an aggregate and
-- runs payment_text.sqlite.sql; PostgreSQL runs payment_text.postgresql.sql, which reads each
-- eligible client through an index. The bench's naive pipeline reads this one.
-- The eligible clients are a semi-join: a client that a broken clients view repeats is counted once.
SELECT
    r.client_id,
    STRING_AGG(r.purpose, ' | ' ORDER BY r.rn) AS payment_text
FROM (
    SELECT
        p.client_id,
        p.purpose,
        ROW_NUMBER() OVER (PARTITION BY p.client_id ORDER BY p.payment_date DESC, p.payment_id DESC NULLS LAST) AS rn
    FROM payments AS p
    WHERE p.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
      AND p.payment_date > :text_start
      AND p.payment_date <= :report_date
      AND p.purpose IS NOT NULL
) AS r
WHERE r.rn <= :text_max_payments
GROUP BY r.client_id
