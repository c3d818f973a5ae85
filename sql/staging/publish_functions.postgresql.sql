-- Functions that publish a month of mo_staging.rko_propensity by swapping its list partition.
-- A partition bound cannot be a bound parameter of DDL, so the date arrives as a function
-- argument and is quoted by format's literal and identifier conversions on the server.
-- Run inside the publishing transaction, under its advisory lock; nothing here commits.
-- SECURITY DEFINER with a fixed search_path: the functions run as their owner (the staging
-- tables' owner, see sql/roles/roles.postgresql.sql), so a scoring role that may only EXECUTE
-- them can publish a month without the right to drop or alter any table itself. Nobody else
-- may execute them (REVOKE ... FROM PUBLIC below); their owner and superusers always can.

-- The load table's constant columns (one month, one model, one run) are column defaults, so
-- COPY sends only client_id, score, rank and decile.
CREATE OR REPLACE FUNCTION mo_staging.rko_propensity_prepare_load(
    p_report_date date, p_model_version text, p_run_id text, p_loaded_at timestamp
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF (SELECT c.relkind FROM pg_class AS c WHERE c.oid = 'mo_staging.rko_propensity'::regclass) <> 'p' THEN
        RAISE EXCEPTION 'mo_staging.rko_propensity is not partitioned by report_date (made by an earlier version of rko-scoring): rename or drop it, then publish again';
    END IF;
    DROP TABLE IF EXISTS mo_staging.rko_propensity_load;
    CREATE TABLE mo_staging.rko_propensity_load (LIKE mo_staging.rko_propensity INCLUDING CONSTRAINTS);
    EXECUTE format(
        'ALTER TABLE mo_staging.rko_propensity_load ALTER COLUMN report_date SET DEFAULT %L, '
        'ALTER COLUMN model_version SET DEFAULT %L, ALTER COLUMN run_id SET DEFAULT %L, '
        'ALTER COLUMN loaded_at SET DEFAULT %L',
        p_report_date, p_model_version, p_run_id, p_loaded_at
    );
END
$fn$;

CREATE OR REPLACE FUNCTION mo_staging.rko_propensity_swap(p_report_date date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text := 'rko_propensity_' || to_char(p_report_date, 'YYYYMMDD');
    removed bigint := 0;
BEGIN
    IF to_regclass(format('mo_staging.%I', part)) IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM mo_staging.%I', part) INTO removed;
        EXECUTE format('DROP TABLE mo_staging.%I', part);
    END IF;
    ALTER TABLE mo_staging.rko_propensity_load
        ALTER COLUMN report_date DROP DEFAULT, ALTER COLUMN model_version DROP DEFAULT,
        ALTER COLUMN run_id DROP DEFAULT, ALTER COLUMN loaded_at DROP DEFAULT;
    EXECUTE format('ALTER TABLE mo_staging.rko_propensity_load RENAME TO %I', part);
    EXECUTE format(
        'ALTER TABLE mo_staging.rko_propensity ATTACH PARTITION mo_staging.%I FOR VALUES IN (%L)', part, p_report_date
    );
    RETURN removed;
END
$fn$;

REVOKE EXECUTE ON FUNCTION mo_staging.rko_propensity_prepare_load(date, text, text, timestamp) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION mo_staging.rko_propensity_swap(date) FROM PUBLIC;
