-- The purposes of a client's most recent payments (at most text_max_payments, dated in
-- (text_start, report_date]), newest first, as one text field. SQLite 3.40 has no
-- ORDER BY inside GROUP_CONCAT: it concatenates in the order of the ordered subquery.
-- The eligible clients are a semi-join: a client that a broken clients view repeats is counted once.
SELECT
    o.client_id,
    GROUP_CONCAT(o.purpose, ' | ') AS payment_text
FROM (
    SELECT r.client_id, r.purpose
    FROM (
        SELECT
            p.client_id,
            p.purpose,
            ROW_NUMBER() OVER (PARTITION BY p.client_id ORDER BY p.payment_date DESC, p.payment_id DESC) AS rn
        FROM payments AS p
        WHERE p.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
          AND p.payment_date > :text_start
          AND p.payment_date <= :report_date
          AND p.purpose IS NOT NULL
    ) AS r
    WHERE r.rn <= :text_max_payments
    ORDER BY r.client_id, r.rn
) AS o
GROUP BY o.client_id
