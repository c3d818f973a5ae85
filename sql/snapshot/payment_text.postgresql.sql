-- The purposes of a client's most recent payments (at most text_max_payments, dated in
-- (text_start, report_date]), newest first, as one text field. PostgreSQL: per eligible
-- client, the newest payments come from a backward range scan of (client_id, payment_date),
-- so only the kept purposes are read, and string_agg orders them.
SELECT
    el.client_id,
    t.payment_text
FROM snapshot_eligible AS el
CROSS JOIN LATERAL (
    SELECT STRING_AGG(r.purpose, ' | ' ORDER BY r.payment_date DESC, r.payment_id DESC NULLS LAST) AS payment_text
    FROM (
        SELECT p.purpose, p.payment_date, p.payment_id
        FROM payments AS p
        WHERE p.client_id = el.client_id
          AND p.payment_date > :text_start
          AND p.payment_date <= :report_date
          AND p.purpose IS NOT NULL
        ORDER BY p.payment_date DESC, p.payment_id DESC NULLS LAST
        LIMIT :text_max_payments
    ) AS r
) AS t
WHERE t.payment_text IS NOT NULL
