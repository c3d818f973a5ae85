-- The client id at a share of the clients (part / parts, in id order): where a parallel read of
-- the snapshot splits its parts, so that each part holds consecutive ids (the parts then join in
-- id order without a sort) and about as many clients. Null ids are not counted.
SELECT c.client_id
FROM clients AS c
WHERE c.client_id IS NOT NULL
ORDER BY c.client_id
LIMIT 1 OFFSET (SELECT COUNT(k.client_id) * :part / :parts FROM clients AS k)
