-- Rows of clients and client_attributes without a client_id: no join can place them, so no
-- snapshot would hold them; the check reports them instead of losing them silently.
SELECT 'clients' AS source, COUNT(*) AS rows_found FROM clients AS c WHERE c.client_id IS NULL
UNION ALL
SELECT 'client_attributes' AS source, COUNT(*) AS rows_found FROM client_attributes AS a WHERE a.client_id IS NULL
