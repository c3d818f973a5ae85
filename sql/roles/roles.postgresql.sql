-- Least-privilege roles of rko-scoring on PostgreSQL. Idempotent: run it again after an
-- upgrade or when the warehouse's tables are replaced. Run it as a superuser (or a role that
-- may create roles and owns the schemas), after the staging tables and the publishing
-- functions exist: `rko roles` creates them, then runs this file.
--
-- Three NOLOGIN roles (names from the settings below, with these defaults):
--   rko_owner             owns the schemas mo_staging and rko_monitoring, their tables and the
--                         publishing functions (SECURITY DEFINER); nobody logs in as it.
--   rko_scoring           the monthly job: reads the contract tables of the warehouse
--                         schema and the output tables; claims and publishes a month and
--                         records its runs only through the owner's SECURITY DEFINER functions;
--                         it owns nothing and writes no table directly.
--   rko_optimizer_reader  the marketing optimizer: reads the published lists, nothing else.
-- Who may do what is one table, rko_model/warehouse/privileges.py: `rko roles` binds its
-- grantable allowed cells as the JSON setting rko.grants; this script revokes every right of
-- the two roles on the output schemas first, so that it grants exactly those cells.
-- Logins are members of these roles, e.g. (as a superuser):
--   CREATE ROLE scoring_job LOGIN PASSWORD 'from-your-vault' IN ROLE rko_scoring;
--   CREATE ROLE optimizer LOGIN PASSWORD 'from-your-vault' IN ROLE rko_optimizer_reader;
--
-- Settings read here (SET them in the session first, or let `rko roles` bind them):
--   rko.owner_role, rko.scoring_role, rko.reader_role, rko.warehouse_schema (default public),
--   rko.grants (JSON rows: role key, kind, verb, schema, name).
-- Every name reaches the DDL through format() with identifier quoting, never as raw text.
DO $roles$
DECLARE
    owner_role text := COALESCE(NULLIF(current_setting('rko.owner_role', true), ''), 'rko_owner');
    scoring_role text := COALESCE(NULLIF(current_setting('rko.scoring_role', true), ''), 'rko_scoring');
    reader_role text := COALESCE(NULLIF(current_setting('rko.reader_role', true), ''), 'rko_optimizer_reader');
    grants jsonb := COALESCE(NULLIF(current_setting('rko.grants', true), ''), '[]')::jsonb;
    output_schemas text[] := ARRAY['mo_staging', 'rko_monitoring'];
    grantee text;
    entry text;
    item record;
    fn record;
BEGIN
    IF jsonb_array_length(grants) = 0 THEN
        RAISE EXCEPTION 'rko.grants is empty: run this file through `rko roles`, which binds the privilege table';
    END IF;
    FOREACH entry IN ARRAY ARRAY[owner_role, scoring_role, reader_role] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.rolname = entry) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', entry);
        END IF;
    END LOOP;

    -- The output schemas and everything in them belong to the owner; the two roles start from
    -- nothing there (also no default privileges an earlier version gave them).
    FOREACH entry IN ARRAY output_schemas LOOP
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', entry);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', entry, owner_role);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC, %I, %I', entry, scoring_role, reader_role);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC, %I, %I', entry, scoring_role, reader_role);
        EXECUTE format(
            'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM PUBLIC, %I, %I', entry, scoring_role, reader_role
        );
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I REVOKE ALL ON TABLES FROM %I, %I',
            owner_role, entry, scoring_role, reader_role
        );
    END LOOP;
    FOR item IN
        SELECT n.nspname, c.relname
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (output_schemas) AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', item.nspname, item.relname, owner_role);
    END LOOP;
    FOR item IN
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args
        FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY (output_schemas)
    LOOP
        EXECUTE format('ALTER FUNCTION %I.%I(%s) OWNER TO %I', item.nspname, item.proname, item.args, owner_role);
    END LOOP;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I, %I', current_database(), scoring_role, reader_role);

    -- Exactly the allowed cells of the privilege table.
    FOR item IN
        SELECT * FROM jsonb_to_recordset(grants) AS g(role text, kind text, verb text, schema text, name text)
    LOOP
        grantee := CASE item.role WHEN 'scoring' THEN scoring_role WHEN 'reader' THEN reader_role END;
        IF grantee IS NULL THEN
            RAISE EXCEPTION 'privilege table: unknown role %', item.role;
        END IF;
        IF item.kind = 'table' THEN
            IF to_regclass(format('%I.%I', item.schema, item.name)) IS NULL THEN
                RAISE WARNING 'no table or view %.%: grant % on it once it exists (run this file again)',
                    item.schema, item.name, item.verb;
                CONTINUE;
            END IF;
            CASE item.verb
                WHEN 'SELECT' THEN EXECUTE format('GRANT SELECT ON TABLE %I.%I TO %I', item.schema, item.name, grantee);
                WHEN 'INSERT' THEN EXECUTE format('GRANT INSERT ON TABLE %I.%I TO %I', item.schema, item.name, grantee);
                WHEN 'UPDATE' THEN EXECUTE format('GRANT UPDATE ON TABLE %I.%I TO %I', item.schema, item.name, grantee);
                WHEN 'DELETE' THEN EXECUTE format('GRANT DELETE ON TABLE %I.%I TO %I', item.schema, item.name, grantee);
                WHEN 'TRUNCATE' THEN
                    EXECUTE format('GRANT TRUNCATE ON TABLE %I.%I TO %I', item.schema, item.name, grantee);
                ELSE RAISE EXCEPTION 'privilege table: % is not a table verb', item.verb;
            END CASE;
        ELSIF item.kind = 'function' AND item.verb = 'EXECUTE' THEN
            FOR fn IN
                SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args
                FROM pg_proc AS p
                JOIN pg_namespace AS n ON n.oid = p.pronamespace
                WHERE n.nspname = item.schema AND p.proname = item.name
            LOOP
                EXECUTE format('GRANT EXECUTE ON FUNCTION %I.%I(%s) TO %I', fn.nspname, fn.proname, fn.args, grantee);
            END LOOP;
            IF NOT FOUND THEN
                RAISE WARNING 'no function %.%: grant EXECUTE on it once it exists (run this file again)',
                    item.schema, item.name;
            END IF;
        ELSIF item.kind = 'schema' AND item.verb = 'USAGE' THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', item.schema, grantee);
        ELSIF item.kind = 'schema' AND item.verb = 'CREATE' THEN
            EXECUTE format('GRANT CREATE ON SCHEMA %I TO %I', item.schema, grantee);
        ELSIF item.kind = 'database' AND item.verb = 'TEMPORARY' THEN
            EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), grantee);
        ELSE
            RAISE EXCEPTION 'privilege table: % on a % is not a grant this script knows', item.verb, item.kind;
        END IF;
    END LOOP;
END
$roles$;
