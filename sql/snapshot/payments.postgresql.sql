-- Payment counts and sums by direction over windows of 1, 3, 6 and 12 months ending at report_date.
-- Amounts are summed in whole kopecks (as the monthly marts are, sql/marts/): whole numbers, which
-- a double adds exactly in any order and grouping, so that the marts give the same figure.
-- PostgreSQL: one index-only range scan of (client_id, payment_date) per eligible client (the
-- index covers direction, amount and counterparty), instead of a pass over every client's
-- payments; the same result as payments.sql, which the other engines run.
SELECT
    el.client_id,
    x.pay_in_cnt_1m, x.pay_in_cnt_3m, x.pay_in_cnt_6m, x.pay_in_cnt_12m,
    x.pay_in_sum_1m, x.pay_in_sum_3m, x.pay_in_sum_6m, x.pay_in_sum_12m,
    x.pay_out_cnt_1m, x.pay_out_cnt_3m, x.pay_out_cnt_6m, x.pay_out_cnt_12m,
    x.pay_out_sum_1m, x.pay_out_sum_3m, x.pay_out_sum_6m, x.pay_out_sum_12m,
    x.pay_max_amount_12m,
    x.counterparties_12m
FROM snapshot_eligible AS el
CROSS JOIN LATERAL (
    SELECT
        COUNT(*) AS payments,
        SUM(CASE WHEN p.direction = 'in' AND p.payment_date > :start_1m THEN 1 ELSE 0 END) AS pay_in_cnt_1m,
        SUM(CASE WHEN p.direction = 'in' AND p.payment_date > :start_3m THEN 1 ELSE 0 END) AS pay_in_cnt_3m,
        SUM(CASE WHEN p.direction = 'in' AND p.payment_date > :start_6m THEN 1 ELSE 0 END) AS pay_in_cnt_6m,
        SUM(CASE WHEN p.direction = 'in' THEN 1 ELSE 0 END) AS pay_in_cnt_12m,
        SUM(CASE WHEN p.direction = 'in' AND p.payment_date > :start_1m THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_in_sum_1m,
        SUM(CASE WHEN p.direction = 'in' AND p.payment_date > :start_3m THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_in_sum_3m,
        SUM(CASE WHEN p.direction = 'in' AND p.payment_date > :start_6m THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_in_sum_6m,
        SUM(CASE WHEN p.direction = 'in' THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_in_sum_12m,
        SUM(CASE WHEN p.direction = 'out' AND p.payment_date > :start_1m THEN 1 ELSE 0 END) AS pay_out_cnt_1m,
        SUM(CASE WHEN p.direction = 'out' AND p.payment_date > :start_3m THEN 1 ELSE 0 END) AS pay_out_cnt_3m,
        SUM(CASE WHEN p.direction = 'out' AND p.payment_date > :start_6m THEN 1 ELSE 0 END) AS pay_out_cnt_6m,
        SUM(CASE WHEN p.direction = 'out' THEN 1 ELSE 0 END) AS pay_out_cnt_12m,
        SUM(CASE WHEN p.direction = 'out' AND p.payment_date > :start_1m THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_out_sum_1m,
        SUM(CASE WHEN p.direction = 'out' AND p.payment_date > :start_3m THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_out_sum_3m,
        SUM(CASE WHEN p.direction = 'out' AND p.payment_date > :start_6m THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_out_sum_6m,
        SUM(CASE WHEN p.direction = 'out' THEN ROUND(p.amount * 100) ELSE 0 END) / 100.0 AS pay_out_sum_12m,
        MAX(p.amount) AS pay_max_amount_12m,
        COUNT(DISTINCT p.counterparty_inn) AS counterparties_12m
    FROM payments AS p
    WHERE p.client_id = el.client_id
      AND p.payment_date > :start_12m
      AND p.payment_date <= :report_date
) AS x
WHERE x.payments > 0
