-- Functions through which a month of mo_staging.rko_propensity is claimed and published, and
-- through which run metrics and realised performance are recorded.
-- A partition bound cannot be a bound parameter of DDL, so the date arrives as a function
-- argument and is quoted by format's literal and identifier conversions on the server.
-- Run inside the caller's transaction; nothing here commits.
-- SECURITY DEFINER with a fixed search_path: the functions run as their owner (the staging
-- tables' owner, see sql/roles/roles.postgresql.sql), so a scoring role that may only EXECUTE
-- them can publish a month and record its run without any right to write, drop or alter a
-- table itself. Nobody else may execute them (REVOKE ... FROM PUBLIC below); their owner and
-- superusers always can.
--
-- Fencing: mo_staging.rko_publication holds per month a generation. A run claims the month
-- (rko_month_claim: generation + 1, the run's fencing token) after taking the month's lock;
-- rko_propensity_swap publishes only when the generation still equals the run's token, and
-- advances it. A run that lost its lock while another claimed the month fails with SQLSTATE
-- RKF01 and publishes nothing.

DROP FUNCTION IF EXISTS mo_staging.rko_propensity_swap(date);

DROP FUNCTION IF EXISTS mo_staging.rko_month_claim(date, text);
DROP FUNCTION IF EXISTS mo_staging.rko_propensity_swap(date, text, bigint);

CREATE OR REPLACE FUNCTION mo_staging.rko_month_claim(p_report_date date, p_run_id text, p_claimed_at timestamp)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    token bigint;
BEGIN
    INSERT INTO mo_staging.rko_publication (report_date, generation) VALUES (p_report_date, 0)
    ON CONFLICT (report_date) DO NOTHING;
    UPDATE mo_staging.rko_publication
    SET generation = generation + 1, claimed_by = p_run_id, claimed_at = p_claimed_at
    WHERE report_date = p_report_date
    RETURNING generation INTO token;
    RETURN token;
END
$fn$;

-- The load table's constant columns (one month, one model, one run) are column defaults, so
-- COPY sends only the per-client columns. The calling login may insert into the load table
-- until rko_propensity_swap takes that right back, in the same transaction: no other session
-- ever sees the grant.
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
    REVOKE ALL ON mo_staging.rko_propensity_load FROM PUBLIC;
    EXECUTE format(
        'ALTER TABLE mo_staging.rko_propensity_load ALTER COLUMN report_date SET DEFAULT %L, '
        'ALTER COLUMN model_version SET DEFAULT %L, ALTER COLUMN run_id SET DEFAULT %L, '
        'ALTER COLUMN loaded_at SET DEFAULT %L',
        p_report_date, p_model_version, p_run_id, p_loaded_at
    );
    IF session_user <> current_user AND NOT (SELECT r.rolsuper FROM pg_roles AS r WHERE r.rolname = session_user) THEN
        EXECUTE format('GRANT INSERT ON mo_staging.rko_propensity_load TO %I', session_user);
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION mo_staging.rko_propensity_swap(
    p_report_date date, p_run_id text, p_token bigint, p_published_at timestamp
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    part text := 'rko_propensity_' || to_char(p_report_date, 'YYYYMMDD');
    removed bigint := 0;
    current_generation bigint;
    holder text;
BEGIN
    SELECT p.generation, p.claimed_by INTO current_generation, holder
    FROM mo_staging.rko_publication AS p WHERE p.report_date = p_report_date FOR UPDATE;
    IF p_token IS NULL OR current_generation IS DISTINCT FROM p_token THEN
        RAISE EXCEPTION USING ERRCODE = 'RKF01', MESSAGE =
            'run ' || p_run_id || ' lost its hold on ' || p_report_date || ': run ' || COALESCE(holder, '?')
            || ' claimed the month since (fencing token ' || COALESCE(p_token::text, 'none') || ', the month is at '
            || COALESCE(current_generation::text, 'none') || '); nothing was published';
    END IF;
    UPDATE mo_staging.rko_publication
    SET generation = generation + 1, published_run_id = p_run_id, published_at = p_published_at
    WHERE report_date = p_report_date;
    IF to_regclass(format('mo_staging.%I', part)) IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM mo_staging.%I', part) INTO removed;
        EXECUTE format('DROP TABLE mo_staging.%I', part);
    END IF;
    IF session_user <> current_user AND NOT (SELECT r.rolsuper FROM pg_roles AS r WHERE r.rolname = session_user) THEN
        EXECUTE format('REVOKE ALL ON mo_staging.rko_propensity_load FROM %I', session_user);
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

-- One run's metrics, replacing the row of the same run id (a retried record step). A run id
-- names one month: reusing it for another month is refused (SQLSTATE RKR01), so a rerun can
-- never delete another month's row.
CREATE OR REPLACE FUNCTION rko_monitoring.rko_record_run(p_row jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r rko_monitoring.rko_run_metrics;
    other date;
BEGIN
    r := jsonb_populate_record(NULL::rko_monitoring.rko_run_metrics, p_row);
    SELECT m.report_date INTO other FROM rko_monitoring.rko_run_metrics AS m
    WHERE m.run_id = r.run_id AND m.report_date <> r.report_date;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'RKR01', MESSAGE =
            'run id ' || r.run_id || ' already names the run of ' || other || '; a run id names one month: use a new one';
    END IF;
    DELETE FROM rko_monitoring.rko_run_metrics AS m WHERE m.run_id = r.run_id;
    INSERT INTO rko_monitoring.rko_run_metrics SELECT r.*;
END
$fn$;

-- One month's realised performance, replacing an earlier evaluation of the month.
CREATE OR REPLACE FUNCTION rko_monitoring.rko_record_performance(p_row jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r rko_monitoring.rko_realised_performance;
BEGIN
    r := jsonb_populate_record(NULL::rko_monitoring.rko_realised_performance, p_row);
    DELETE FROM rko_monitoring.rko_realised_performance AS m WHERE m.report_date = r.report_date;
    INSERT INTO rko_monitoring.rko_realised_performance SELECT r.*;
END
$fn$;

-- One month's pilot measurement (one row per line: an arm or a comparison), replacing an earlier
-- measurement of the month; every row is stored under p_report_date whatever it says.
CREATE OR REPLACE FUNCTION rko_monitoring.rko_record_pilot_month(p_report_date date, p_rows jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    DELETE FROM rko_monitoring.rko_pilot_results AS m WHERE m.report_date = p_report_date;
    INSERT INTO rko_monitoring.rko_pilot_results
    SELECT (jsonb_populate_record(NULL::rko_monitoring.rko_pilot_results, r || jsonb_build_object('report_date', p_report_date))).*
    FROM jsonb_array_elements(p_rows) AS e(r);
END
$fn$;

REVOKE EXECUTE ON FUNCTION mo_staging.rko_month_claim(date, text, timestamp) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION mo_staging.rko_propensity_prepare_load(date, text, text, timestamp) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION mo_staging.rko_propensity_swap(date, text, bigint, timestamp) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION rko_monitoring.rko_record_run(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION rko_monitoring.rko_record_performance(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION rko_monitoring.rko_record_pilot_month(date, jsonb) FROM PUBLIC;

-- The version of these functions (a hash of this file, bound by the caller as rko.functions_version):
-- a caller re-creates them only when theirs differs.
DO $version$
BEGIN
    EXECUTE format(
        'COMMENT ON FUNCTION mo_staging.rko_month_claim(date, text, timestamp) IS %L',
        current_setting('rko.functions_version', true)
    );
END
$version$;
