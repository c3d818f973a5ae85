-- Remove a report month's rows of the scratch table mart_build_counterparties: before they are
-- counted, and once the month's features have folded them in.
DELETE FROM mart_build_counterparties WHERE month_end = :month_end
