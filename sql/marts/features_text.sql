-- Every candidate client's payment text of month_end (the build's snapshot_eligible): the
-- purposes of the newest text_max_payments payments dated in (text_start, month_end], newest
-- first (payment date, then payment id), from the monthly newest purposes of
-- mart_payment_text_month; as the temporary table mart_build_text that features_insert.sql
-- joins to the month's features. The same field as
-- sql/snapshot/payment_text.sql.
CREATE TEMPORARY TABLE mart_build_text AS
SELECT
    r.client_id,
    STRING_AGG(r.purpose, ' | ' ORDER BY r.payment_date DESC, r.payment_id DESC NULLS LAST) AS payment_text
FROM (
    SELECT
        t.client_id,
        t.purpose,
        t.payment_date,
        t.payment_id,
        ROW_NUMBER() OVER (
            PARTITION BY t.client_id ORDER BY t.payment_date DESC, t.payment_id DESC NULLS LAST
        ) AS rn
    FROM mart_payment_text_month AS t
    WHERE t.month_end > :text_start
      AND t.month_end <= :month_end
      AND t.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
) AS r
WHERE r.rn <= :text_max_payments
GROUP BY r.client_id
