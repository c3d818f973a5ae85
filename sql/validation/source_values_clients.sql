-- The clients part of source_values.sql (the clients table is not monthly): what is checked live
-- when the snapshot is read from the features mart, beside the monthly tables' counts that the
-- marts build stored (sql/marts/source_values.sql).
SELECT
    COALESCE(SUM(CASE WHEN ABS(s.headcount) > :bound_clients_headcount THEN 1 ELSE 0 END), 0) AS clients__headcount__bad_rows,
    MIN(CASE WHEN ABS(s.headcount) > :bound_clients_headcount THEN s.client_id END) AS clients__headcount__example_client,
    COALESCE(SUM(CASE WHEN ABS(s.declared_revenue) > :bound_clients_declared_revenue THEN 1 ELSE 0 END), 0) AS clients__declared_revenue__bad_rows,
    MIN(CASE WHEN ABS(s.declared_revenue) > :bound_clients_declared_revenue THEN s.client_id END) AS clients__declared_revenue__example_client
FROM clients AS s
