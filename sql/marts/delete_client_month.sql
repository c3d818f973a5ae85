-- Remove one month of mart_client_month, before it is written again (in the same transaction).
DELETE FROM mart_client_month WHERE month_end = :month_end
