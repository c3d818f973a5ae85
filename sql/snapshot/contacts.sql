-- Contact history (optional table marketing_contacts): offers the bank made to the client up to
-- report_date, over 3 and 12 months, by client managers, and the date of the latest one.
SELECT
    c.client_id,
    SUM(CASE WHEN c.contact_date > :start_3m THEN 1 ELSE 0 END) AS contacts_3m,
    COUNT(*) AS contacts_12m,
    SUM(CASE WHEN c.channel = 'manager' THEN 1 ELSE 0 END) AS manager_contacts_12m,
    MAX(c.contact_date) AS last_contact_date
FROM marketing_contacts AS c
JOIN snapshot_eligible AS el ON el.client_id = c.client_id
WHERE c.contact_date > :start_12m
  AND c.contact_date <= :report_date
GROUP BY c.client_id
