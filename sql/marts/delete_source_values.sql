-- Remove one month's source-value counts, before they are counted again (in the same transaction).
DELETE FROM mart_source_values WHERE month_end = :month_end
