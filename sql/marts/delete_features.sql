-- Remove one report month of the features mart, before it is written again (in the same transaction).
DELETE FROM mart_client_features WHERE month_end = :month_end
