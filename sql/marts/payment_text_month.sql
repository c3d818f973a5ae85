-- Each client's newest payment purposes of the month (month_start, month_end], at most
-- text_max_payments of them: the newest text_max_payments of a 3-month window are among the
-- newest text_max_payments of each of its months, so the snapshot's text field is exact
-- (sql/marts/features_text.sql). Order: payment date, then payment id, newest first.
INSERT INTO mart_payment_text_month (client_id, month_end, payment_date, payment_id, purpose)
SELECT r.client_id, :month_end, r.payment_date, r.payment_id, r.purpose
FROM (
    SELECT
        p.client_id,
        p.payment_date,
        p.payment_id,
        p.purpose,
        ROW_NUMBER() OVER (
            PARTITION BY p.client_id ORDER BY p.payment_date DESC, p.payment_id DESC NULLS LAST
        ) AS rn
    FROM mart_month_payments AS p
    WHERE p.purpose IS NOT NULL
) AS r
WHERE r.rn <= :text_max_payments
