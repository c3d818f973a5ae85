-- The purposes of a client's most recent payments (at most text_max_payments, dated in
-- (text_start, report_date]), newest first, as one text field, from the monthly text inputs of
-- mart_payment_text_month: the same field as sql/snapshot/payment_text.postgresql.sql.
-- PostgreSQL: per eligible client, a backward range scan of (client_id, payment_date, payment_id).
SELECT
    el.client_id,
    t.payment_text
FROM snapshot_eligible AS el
CROSS JOIN LATERAL (
    SELECT STRING_AGG(r.purpose, ' | ' ORDER BY r.payment_date DESC, r.payment_id DESC NULLS LAST) AS payment_text
    FROM (
        SELECT x.purpose, x.payment_date, x.payment_id
        FROM mart_payment_text_month AS x
        WHERE x.client_id = el.client_id
          AND x.payment_date > :text_start
          AND x.payment_date <= :report_date
        ORDER BY x.payment_date DESC, x.payment_id DESC NULLS LAST
        LIMIT :text_max_payments
    ) AS r
) AS t
WHERE t.payment_text IS NOT NULL
