-- The purposes of a client's most recent payments (at most text_max_payments, dated in
-- (text_start, report_date]), newest first, as one text field, from the monthly text inputs of
-- mart_payment_text_month: the same field as sql/snapshot/payment_text.sqlite.sql. SQLite 3.40
-- has no ORDER BY inside GROUP_CONCAT: it concatenates in the order of the ordered subquery.
SELECT
    o.client_id,
    GROUP_CONCAT(o.purpose, ' | ') AS payment_text
FROM (
    SELECT r.client_id, r.purpose
    FROM (
        SELECT
            t.client_id,
            t.purpose,
            ROW_NUMBER() OVER (PARTITION BY t.client_id ORDER BY t.payment_date DESC, t.payment_id DESC) AS rn
        FROM mart_payment_text_month AS t
        WHERE t.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
          AND t.month_end > :text_start
          AND t.month_end <= :report_date
    ) AS r
    WHERE r.rn <= :text_max_payments
    ORDER BY r.client_id, r.rn
) AS o
GROUP BY o.client_id
