-- Contacts the optimizer made from the list of the report date: those dated in the month after it.
SELECT
    c.client_id,
    c.channel,
    c.arm,
    c.campaign_id
FROM marketing_contacts AS c
WHERE c.contact_date > :report_date
  AND c.contact_date <= :contact_until
ORDER BY c.client_id, c.contact_date
