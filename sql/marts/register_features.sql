-- Record a report month's features mart as built.
INSERT INTO mart_feature_months (month_end, built_at, clients)
VALUES (:month_end, :built_at, :clients)
