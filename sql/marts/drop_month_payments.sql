-- The month's payments were read into this temporary table for the build: dropped with it.
DROP TABLE mart_month_payments
