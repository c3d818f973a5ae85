-- Forget that a month's marts are built (in the transaction that rebuilds it).
DELETE FROM mart_months WHERE month_end = :month_end
