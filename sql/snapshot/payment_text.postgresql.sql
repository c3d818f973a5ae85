-- The purposes of a client's most recent payments (at most text_max_payments, dated in
-- (text_start, report_date]), newest first, as one text field. PostgreSQL: string_agg.
SELECT
    r.client_id,
    STRING_AGG(r.purpose, ' | ' ORDER BY r.rn) AS payment_text
FROM (
    SELECT
        p.client_id,
        p.purpose,
        ROW_NUMBER() OVER (PARTITION BY p.client_id ORDER BY p.payment_date DESC, p.payment_id DESC) AS rn
    FROM payments AS p
    JOIN snapshot_eligible AS el ON el.client_id = p.client_id
    WHERE p.payment_date > :text_start
      AND p.payment_date <= :report_date
      AND p.purpose IS NOT NULL
) AS r
WHERE r.rn <= :text_max_payments
GROUP BY r.client_id
