-- Remove one month of mart_counterparty_month, before it is written again (in the same transaction).
DELETE FROM mart_counterparty_month WHERE month_end = :month_end
