-- The synthetic bank's true 3-month propensity without and with the contact, of the contacts
-- made from the list of the report date (synthetic banks only).
SELECT
    t.client_id,
    t.propensity_without,
    t.propensity_with
FROM synthetic_contact_truth AS t
WHERE t.month_end = :report_date
ORDER BY t.client_id
