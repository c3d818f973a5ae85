-- Products other than RKO held at report_date, and the date of the latest opening on or before it.
SELECT
    e.client_id,
    COUNT(DISTINCT CASE WHEN e.close_date IS NULL OR e.close_date > :report_date THEN e.product END)
        AS active_products,
    MAX(CASE WHEN e.product = 'DEPOSIT' AND (e.close_date IS NULL OR e.close_date > :report_date)
        THEN 1 ELSE 0 END) AS has_deposit,
    MAX(CASE WHEN e.product = 'CREDIT' AND (e.close_date IS NULL OR e.close_date > :report_date)
        THEN 1 ELSE 0 END) AS has_credit,
    MAX(CASE WHEN e.product = 'CORP_CARD' AND (e.close_date IS NULL OR e.close_date > :report_date)
        THEN 1 ELSE 0 END) AS has_corp_card,
    MAX(CASE WHEN e.product = 'ACQUIRING' AND (e.close_date IS NULL OR e.close_date > :report_date)
        THEN 1 ELSE 0 END) AS has_acquiring,
    MAX(CASE WHEN e.product = 'SALARY_PROJECT' AND (e.close_date IS NULL OR e.close_date > :report_date)
        THEN 1 ELSE 0 END) AS has_salary_project,
    MAX(e.open_date) AS last_product_open_date
FROM product_events AS e
JOIN snapshot_eligible AS el ON el.client_id = e.client_id
WHERE e.open_date <= :report_date
  AND e.product <> :rko_product
GROUP BY e.client_id
