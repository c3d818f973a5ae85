-- Forget that report months from month_end to last_dependent have their features mart built: their
-- 12-month windows hold month_end, whose monthly marts are being rebuilt (in the same transaction).
-- Snapshots of those months read the raw tables until their features are built again.
DELETE FROM mart_feature_months WHERE month_end >= :month_end AND month_end <= :last_dependent
