-- The eligible clients and their profile: the frame the source aggregates are joined onto.
SELECT
    e.client_id,
    e.legal_form,
    e.okved_code,
    e.okved_class,
    e.region_code,
    e.registration_date,
    e.headcount,
    e.declared_revenue
FROM snapshot_eligible AS e
ORDER BY e.client_id
