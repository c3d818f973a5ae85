-- Least-privilege roles of rko-scoring on PostgreSQL. Idempotent: run it again after an
-- upgrade or when the warehouse's tables are replaced. Run it as a superuser (or a role that
-- may create roles and owns the schemas), after the staging tables and the publishing
-- functions exist: `rko roles` creates them, then runs this file.
--
-- Three NOLOGIN roles (names from the settings below, with these defaults):
--   rko_owner             owns the schemas mo_staging and rko_monitoring, their tables and the
--                         publishing functions (SECURITY DEFINER); nobody logs in as it.
--   rko_scoring           the monthly job: reads the six contract tables of the warehouse
--                         schema, writes rows of mo_staging and rko_monitoring, publishes a
--                         month only through the owner's functions; it owns nothing, so it
--                         cannot drop, alter or truncate any table.
--   rko_optimizer_reader  the marketing optimizer: reads mo_staging, nothing else.
-- Logins are members of these roles, e.g. (as a superuser):
--   CREATE ROLE scoring_job LOGIN PASSWORD 'from-your-vault' IN ROLE rko_scoring;
--   CREATE ROLE optimizer LOGIN PASSWORD 'from-your-vault' IN ROLE rko_optimizer_reader;
--
-- Settings read here (SET them in the session first, or let `rko roles` bind them):
--   rko.owner_role, rko.scoring_role, rko.reader_role, rko.warehouse_schema (default public).
-- Every name reaches the DDL through format() with identifier quoting, never as raw text.
DO $roles$
DECLARE
    owner_role text := COALESCE(NULLIF(current_setting('rko.owner_role', true), ''), 'rko_owner');
    scoring_role text := COALESCE(NULLIF(current_setting('rko.scoring_role', true), ''), 'rko_scoring');
    reader_role text := COALESCE(NULLIF(current_setting('rko.reader_role', true), ''), 'rko_optimizer_reader');
    warehouse_schema text := COALESCE(NULLIF(current_setting('rko.warehouse_schema', true), ''), 'public');
    contract_tables text[] := ARRAY['clients', 'client_attributes', 'account_monthly', 'payments', 'product_events', 'digital_activity'];
    output_schemas text[] := ARRAY['mo_staging', 'rko_monitoring'];
    entry text;
    item record;
BEGIN
    FOREACH entry IN ARRAY ARRAY[owner_role, scoring_role, reader_role] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.rolname = entry) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', entry);
        END IF;
    END LOOP;

    -- The output schemas and everything in them belong to the owner.
    FOREACH entry IN ARRAY output_schemas LOOP
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', entry);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', entry, owner_role);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', entry);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC', entry);
    END LOOP;
    FOR item IN
        SELECT n.nspname, c.relname
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (output_schemas) AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', item.nspname, item.relname, owner_role);
    END LOOP;

    -- Publishing: the owner's SECURITY DEFINER functions, executable by the scoring role only.
    FOR item IN
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args
        FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'mo_staging'
    LOOP
        EXECUTE format('ALTER FUNCTION %I.%I(%s) OWNER TO %I', item.nspname, item.proname, item.args, owner_role);
        EXECUTE format('REVOKE ALL ON FUNCTION %I.%I(%s) FROM PUBLIC', item.nspname, item.proname, item.args);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %I.%I(%s) TO %I', item.nspname, item.proname, item.args, scoring_role);
    END LOOP;

    -- The optimizer reads the ranked lists, today's tables and the partitions made later.
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I, %I', current_database(), scoring_role, reader_role);
    EXECUTE format('GRANT USAGE ON SCHEMA mo_staging TO %I, %I', scoring_role, reader_role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA mo_staging TO %I', reader_role);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA mo_staging GRANT SELECT ON TABLES TO %I', owner_role, reader_role
    );
    EXECUTE format('REVOKE ALL ON SCHEMA rko_monitoring FROM %I', reader_role);

    -- The scoring job adds rows (COPY into the owner's load table, run metrics), never DDL.
    EXECUTE format('GRANT USAGE ON SCHEMA rko_monitoring TO %I', scoring_role);
    EXECUTE format('GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA mo_staging TO %I', scoring_role);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA mo_staging GRANT SELECT, INSERT ON TABLES TO %I',
        owner_role, scoring_role
    );
    -- A retried run replaces its own row of run metrics: DELETE, no TRUNCATE.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA rko_monitoring TO %I', scoring_role);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA rko_monitoring GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
        owner_role, scoring_role
    );

    -- The warehouse: the contract tables or views, read only; snapshots use temporary tables.
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), scoring_role);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', warehouse_schema, scoring_role);
    FOREACH entry IN ARRAY contract_tables LOOP
        IF to_regclass(format('%I.%I', warehouse_schema, entry)) IS NULL THEN
            RAISE WARNING 'no table or view %.%: grant SELECT on it once it exists (run this file again)',
                warehouse_schema, entry;
        ELSE
            EXECUTE format('GRANT SELECT ON %I.%I TO %I', warehouse_schema, entry, scoring_role);
        END IF;
    END LOOP;
END
$roles$;
