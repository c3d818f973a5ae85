-- Every candidate client's payment text of month_end (see features_text.sql). SQLite 3.40 has no
-- ORDER BY inside GROUP_CONCAT: it concatenates in the order of the ordered subquery.
CREATE TEMPORARY TABLE mart_build_text AS
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
        WHERE t.month_end > :text_start
          AND t.month_end <= :month_end
          AND t.client_id IN (SELECT el.client_id FROM snapshot_eligible AS el)
    ) AS r
    WHERE r.rn <= :text_max_payments
    ORDER BY r.client_id, r.rn
) AS o
GROUP BY o.client_id
