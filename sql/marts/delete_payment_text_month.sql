-- Remove one month of mart_payment_text_month, before it is written again (in the same transaction).
DELETE FROM mart_payment_text_month WHERE month_end = :month_end
