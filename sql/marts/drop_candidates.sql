-- The build's candidates (snapshot_eligible, made by sql/snapshot/eligible.sql without the OKVED
-- exclusions), dropped before the build commits: a pooled connection must not keep them.
DROP TABLE snapshot_eligible
