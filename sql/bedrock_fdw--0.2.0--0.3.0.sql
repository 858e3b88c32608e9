/* sql/bedrock_fdw--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.3.0'" to load this file. \quit

-- 0.3.0: security and reliability hardening, and a first hour that works.
-- Each section below belongs to one concern; keep additions inside it.

-- ==== Privileges: SECURITY DEFINER functions, grants, owned objects ====

-- bedrock_usage_purge ran as its owner, the superuser who created the
-- extension.  It needs no more than its caller's rights: bedrock_admin,
-- the only role it is granted to, may delete every row of usage_log (its
-- grant and policy).  So it is SECURITY INVOKER now; its search_path stays
-- pinned and every name, cast and operator in it carries its schema, so
-- that neither the caller's search_path nor the database's can put a
-- function or operator of someone else's in its way.
CREATE OR REPLACE FUNCTION @extschema@.bedrock_usage_purge(older_than interval DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keep    pg_catalog.interval := older_than;
    setting pg_catalog.text;
    deleted pg_catalog.int8;
BEGIN
    IF keep IS NULL THEN
        setting := pg_catalog.current_setting('bedrock.usage_retention', true);
        IF setting IS NULL OR pg_catalog.btrim(setting) OPERATOR(pg_catalog.=) '' THEN
            RETURN 0;               -- no retention configured: keep everything
        END IF;
        BEGIN
            keep := setting::pg_catalog.interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow
                    OR interval_field_overflow THEN
            RAISE EXCEPTION 'invalid value for bedrock.usage_retention: "%"', setting
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Set it to an interval such as ''90 days'', or to an empty string to keep every row.';
        END;
        IF keep OPERATOR(pg_catalog.<=) '0'::pg_catalog.interval THEN
            RAISE EXCEPTION 'bedrock.usage_retention must be a positive interval, not "%"', setting
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Set it to an interval such as ''90 days'', or to an empty string to keep every row.';
        END IF;
    ELSIF keep OPERATOR(pg_catalog.<=) '0'::pg_catalog.interval THEN
        RAISE EXCEPTION 'older_than must be a positive interval, not "%"', keep
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the age of the oldest rows to keep, such as ''90 days''.';
    END IF;

    DELETE FROM bedrock.usage_log
     WHERE called_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) keep);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

-- bedrock.call_cost's SQL-standard body was bound when the extension was
-- created, with the search_path of CREATE EXTENSION: an operator made
-- beforehand in the extension's schema by someone with CREATE there
-- (bigint * numeric matches no pg_catalog operator exactly) could have
-- been bound into it, and would run as whoever queries the cost.  Bind it
-- again, to pg_catalog's operators by name.
CREATE OR REPLACE FUNCTION bedrock.call_cost(model text, called_at timestamptz,
                                             input_tokens bigint, output_tokens bigint)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT ((coalesce(call_cost.input_tokens, 0)::pg_catalog.numeric
                 OPERATOR(pg_catalog.*) p.input_per_1k)
            OPERATOR(pg_catalog.+)
            (coalesce(call_cost.output_tokens, 0)::pg_catalog.numeric
                 OPERATOR(pg_catalog.*) p.output_per_1k))
           OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric
      FROM bedrock.model_prices p
     WHERE p.model OPERATOR(pg_catalog.=) call_cost.model
       AND p.effective_from OPERATOR(pg_catalog.<=) call_cost.called_at
     ORDER BY p.effective_from DESC
     LIMIT 1;
END;

-- The views that price calls (usage_summary, usage_by_role) and
-- bedrock.jobs multiply and divide across types (bigint * numeric,
-- interval / bigint) the same way: their final definitions, in the first
-- hour's section below, name pg_catalog's operators.
-- And model_prices' checks (numeric >= integer: no exact pg_catalog
-- operator either), which run on every insert and update of a price.
ALTER TABLE bedrock.model_prices
    DROP CONSTRAINT model_prices_input_per_1k_check,
    DROP CONSTRAINT model_prices_output_per_1k_check,
    ADD CONSTRAINT model_prices_input_per_1k_check
        CHECK (input_per_1k OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric),
    ADD CONSTRAINT model_prices_output_per_1k_check
        CHECK (output_per_1k OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric);

-- bedrock_stats() and bedrock_rate_limits() list every model any role
-- called: which models a role uses is that role's business.  They are for
-- the DBA and monitoring now: bedrock_admin and pg_monitor (the superuser
-- grants them further).  A plain view checks EXECUTE of the functions it
-- calls as its reader, so bedrock.rate_limits follows.
REVOKE ALL ON FUNCTION @extschema@.bedrock_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.bedrock_stats() TO bedrock_admin, pg_monitor;
REVOKE ALL ON FUNCTION @extschema@.bedrock_rate_limits() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.bedrock_rate_limits() TO bedrock_admin, pg_monitor;
REVOKE ALL ON bedrock.rate_limits FROM PUBLIC;
GRANT SELECT ON bedrock.rate_limits TO bedrock_admin, pg_monitor;

-- (end of privileges)

-- ==== Secrets: credential settings and functions that see them ====

-- bedrock_sign_request takes a secret access key as an argument and
-- returns what it signed: it is a tool for administrators, not for every
-- role (its statement, secret included, would reach the server log through
-- log_statement or an error of any caller).
REVOKE ALL ON FUNCTION bedrock_sign_request(text, text, jsonb, bytea, text, text, text, text, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock_sign_request(text, text, jsonb, bytea, text, text, text, text, text, timestamptz, boolean) TO bedrock_admin;

-- (end of secrets)

-- ==== Reliability: malformed responses, bounds ====

-- (end of reliability)

-- ==== Fair sharing: rate limits, retry quota, usage queue ====

-- bedrock_rate_limits() and its view gain the slowdown's columns, after
-- the 14 of 0.2.0: adaptive_rpm (the adaptive rate alone), slowed_down
-- (it is below the configured rate, or any applies while none is
-- configured), slowed_down_since and slowdown_throttles (when the slowdown
-- began, and the throttled responses since), last_delay_reason (what the
-- last delayed attempt waited for: rpm_limit, adaptive_slowdown or
-- tpm_limit).  OUT columns cannot be added in place: the function and the
-- view are dropped and created again, with the privileges they had when
-- this section runs (whatever the sections above granted or revoked).
DO $fair$
DECLARE
    fn_acl pg_catalog.aclitem[];
    fn_owner pg_catalog.oid;
    view_acl pg_catalog.aclitem[];
    view_owner pg_catalog.oid;
    g record;
BEGIN
    SELECT p.proacl, p.proowner INTO fn_acl, fn_owner
      FROM pg_catalog.pg_proc p
     WHERE p.oid = '@extschema@.bedrock_rate_limits()'::pg_catalog.regprocedure;
    SELECT c.relacl, c.relowner INTO view_acl, view_owner
      FROM pg_catalog.pg_class c
     WHERE c.oid = 'bedrock.rate_limits'::pg_catalog.regclass;

    DROP VIEW bedrock.rate_limits;
    DROP FUNCTION @extschema@.bedrock_rate_limits();

    CREATE FUNCTION @extschema@.bedrock_rate_limits(
        OUT model text, OUT rpm_limit bigint, OUT tpm_limit bigint,
        OUT adaptive boolean, OUT allowed_rpm double precision,
        OUT measured_rpm double precision, OUT requests_available double precision,
        OUT tokens_available double precision, OUT admitted bigint,
        OUT delayed bigint, OUT delay_ms double precision, OUT throttled bigint,
        OUT last_throttle timestamptz, OUT since timestamptz,
        OUT adaptive_rpm double precision, OUT slowed_down boolean,
        OUT slowed_down_since timestamptz, OUT slowdown_throttles bigint,
        OUT last_delay_reason text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'bedrock_rate_limits'
    LANGUAGE C STRICT VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;

    COMMENT ON FUNCTION @extschema@.bedrock_rate_limits() IS
    'The shared rate limiter per base model: configured rpm/tpm limits, whether throttling made it adaptive, the request rate allowed now and the rate measured, the budgets available, admitted and delayed attempts, throttled responses, and the adaptive slowdown (its rate, since when, after how many throttled responses, what the last delayed attempt waited for)';

    CREATE VIEW bedrock.rate_limits AS
        SELECT * FROM @extschema@.bedrock_rate_limits();

    COMMENT ON VIEW bedrock.rate_limits IS
    'The shared rate limiter per base model (see bedrock_rate_limits())';

    -- the privileges they had, the owners' own aside (a function's
    -- default ACL, NULL, is PUBLIC's EXECUTE: nothing to give back then)
    IF fn_acl IS NOT NULL THEN
        REVOKE ALL ON FUNCTION @extschema@.bedrock_rate_limits() FROM PUBLIC;
    END IF;
    FOR g IN SELECT 'FUNCTION @extschema@.bedrock_rate_limits()' AS object, a.*
               FROM pg_catalog.aclexplode(fn_acl) a
              WHERE a.grantee OPERATOR(pg_catalog.<>) fn_owner
             UNION ALL
             SELECT 'TABLE bedrock.rate_limits', a.*
               FROM pg_catalog.aclexplode(view_acl) a
              WHERE a.grantee OPERATOR(pg_catalog.<>) view_owner
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s',
            g.privilege_type, g.object,
            CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END,
            CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$fair$;

-- The usage queue per role: records each role holds in it and the ones
-- it lost (dropped for want of room, or displaced by a role holding
-- fewer).  The function shows a caller the roles whose privileges it has
-- (members of pg_read_all_stats: every role, and the count shared by
-- roles beyond the 64 counted one by one, with a NULL role): everyone may
-- call it.
CREATE FUNCTION bedrock_usage_queue_roles(
    OUT role_id oid, OUT role_name text, OUT queued bigint, OUT dropped bigint,
    OUT last_dropped timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bedrock_usage_queue_roles'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_usage_queue_roles() IS
'The usage queue per role (the session user): records queued, records lost (dropped or displaced) and when the last was; a caller sees the roles whose privileges it has, members of pg_read_all_stats every role';

CREATE VIEW bedrock.usage_queue_roles AS
    SELECT * FROM @extschema@.bedrock_usage_queue_roles();

COMMENT ON VIEW bedrock.usage_queue_roles IS
'The usage queue per role: records queued and lost (see bedrock_usage_queue_roles())';

GRANT SELECT ON bedrock.usage_queue_roles TO PUBLIC;

-- (end of fair sharing)

-- ==== First hour: group role, enrich jobs, views, notices ====

-- bedrock_user: the one role a DBA grants to let a role call Bedrock.  It
-- holds EXECUTE on every function and procedure that sends a model call
-- (they spend the server's AWS identity, so PUBLIC has none of them) and
-- on bedrock_whoami, which says which identity that is.  Administrative
-- functions (purges, resets, request signing with a caller's secret) stay
-- out of it.  Roles are cluster-wide and the extension may live in several
-- databases: create it once, tolerate a concurrent creation, and leave it
-- in place on DROP EXTENSION, as bedrock_admin.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'bedrock_user') THEN
        CREATE ROLE bedrock_user NOLOGIN;
        COMMENT ON ROLE bedrock_user IS
        'bedrock_fdw users: may call Bedrock through bedrock_chat, bedrock_chat_batch, bedrock_converse, bedrock_converse_batch and bedrock_enrich, and run bedrock_whoami';
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL;   -- created concurrently by CREATE EXTENSION in another database
END $$;

GRANT EXECUTE ON FUNCTION bedrock_chat(text, text, text, jsonb),
                          bedrock_chat_batch(text, text[], text, jsonb),
                          bedrock_converse(text, jsonb, jsonb),
                          bedrock_converse_batch(text, jsonb[], jsonb),
                          bedrock_whoami()
    TO bedrock_user;
GRANT EXECUTE ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean)
    TO bedrock_user;

-- bedrock.enrich_jobs: why a job failed, rows skipped for want of a
-- prompt, a bounded sample of the rows that failed, and a status "failed"
-- for a job that filled nothing.
ALTER TABLE bedrock.enrich_jobs
    DROP CONSTRAINT enrich_jobs_status_check,
    ADD CONSTRAINT enrich_jobs_status_check
        CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    ADD COLUMN rows_skipped bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_error_code text,
    ADD COLUMN last_error_message text,
    ADD COLUMN failed_rows tid[] NOT NULL DEFAULT '{}'
        CONSTRAINT enrich_jobs_failed_rows_bound
        CHECK (pg_catalog.cardinality(failed_rows) <= 100);

COMMENT ON COLUMN bedrock.enrich_jobs.failed_rows IS
'ctid of the first 100 rows whose call failed in this run (errors counts them all)';

-- Who may write what: a role starts jobs of its own (role, backend pid
-- and status come from the defaults, never from the caller), and updates
-- only its own jobs run by its own backend, or those whose backend is gone
-- (to mark them interrupted).  No role touches another role's jobs.
REVOKE INSERT, UPDATE ON bedrock.enrich_jobs FROM PUBLIC;
GRANT INSERT (table_name, target_column, model, rows_total) ON bedrock.enrich_jobs TO PUBLIC;
GRANT UPDATE (status, rows_done, rows_skipped, errors, input_tokens, output_tokens,
              last_error_code, last_error_message, failed_rows, updated_at, finished_at)
    ON bedrock.enrich_jobs TO PUBLIC;

DROP POLICY enrich_jobs_own ON bedrock.enrich_jobs;
CREATE POLICY enrich_jobs_read ON bedrock.enrich_jobs FOR SELECT
    USING (role_name OPERATOR(pg_catalog.=) current_user
           OR pg_catalog.pg_has_role(current_user, 'bedrock_admin', 'MEMBER'));
CREATE POLICY enrich_jobs_start ON bedrock.enrich_jobs FOR INSERT
    WITH CHECK (role_name OPERATOR(pg_catalog.=) current_user
                AND pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid());
CREATE POLICY enrich_jobs_progress ON bedrock.enrich_jobs FOR UPDATE
    USING (role_name OPERATOR(pg_catalog.=) current_user
           AND (pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
                OR NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity s
                                WHERE s.pid OPERATOR(pg_catalog.=) enrich_jobs.pid)))
    WITH CHECK (role_name OPERATOR(pg_catalog.=) current_user);

DROP VIEW bedrock.jobs;
CREATE VIEW bedrock.jobs WITH (security_invoker = true) AS
SELECT job_id, table_name, target_column, model, role_name, pid, status,
       rows_done, rows_total, errors, input_tokens, output_tokens,
       started_at, updated_at, finished_at,
       round(rows_done::pg_catalog.numeric
                 OPERATOR(pg_catalog./) nullif(extract(epoch FROM coalesce(finished_at, updated_at) - started_at), 0), 1)
           AS rows_per_second,
       CASE WHEN status = 'running' AND rows_done > 0 THEN
           date_trunc('second',
                      ((coalesce(finished_at, updated_at) - started_at)
                           OPERATOR(pg_catalog./) rows_done::pg_catalog.float8)
                      OPERATOR(pg_catalog.*)
                      greatest(rows_total - rows_done - errors - rows_skipped, 0)::pg_catalog.float8)
       END AS eta,
       rows_skipped, last_error_code, last_error_message, failed_rows
  FROM bedrock.enrich_jobs;

COMMENT ON VIEW bedrock.jobs IS
'Progress of bedrock_enrich runs: rows done, skipped (no prompt) and total, errors and the last one, tokens, rows per second, estimated time left';

GRANT SELECT ON bedrock.jobs TO PUBLIC;

-- Restart the caller's statement_timeout: bedrock_enrich calls it after
-- every committed chunk, so that the timeout bounds a chunk, not the whole
-- CALL.  It only re-arms a timer that is running, at the caller's own
-- setting, which the caller could change anyway: harmless for PUBLIC.
CREATE FUNCTION bedrock.enrich_restart_statement_timeout()
RETURNS void
AS 'MODULE_PATHNAME', 'bedrock_enrich_restart_statement_timeout'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock.enrich_restart_statement_timeout() IS
'Used by bedrock_enrich: restart the running statement_timeout timer (after each committed chunk)';

-- bedrock_enrich: as in 0.1.0, plus
--  * rows whose prompt is NULL or empty are skipped (rows_skipped), not errors;
--  * the last error (code, message) is kept; a job that filled nothing but
--    had errors ends "failed";
--  * a cancel or timeout marks the job "interrupted" at once: the chunk runs
--    in a subtransaction, whose failure is caught, recorded, committed and
--    raised again (pg_terminate_backend cannot be caught: the next run
--    marks such a job);
--  * statement_timeout applies to each chunk: the timer restarts after every
--    committed chunk;
--  * rows are claimed past a ctid watermark instead of excluding a list of
--    failed rows that grew with every failure: constant memory and work per
--    chunk; the first 100 failed rows are kept in failed_rows;
--  * a prompt that is not an SQL expression over the row (plain text, say)
--    is refused up front with a hint, before any job is recorded.
-- The prompt is SQL the caller writes, run with the caller's rights (the
-- procedure is SECURITY INVOKER); table, column and type names are quoted
-- (regclass and regtype output, %I); values travel as parameters.
CREATE OR REPLACE PROCEDURE bedrock_enrich(target_table regclass, target_column name,
                                           prompt text, model text,
                                           system text DEFAULT NULL, options jsonb DEFAULT NULL,
                                           chunk_size int DEFAULT 512, notices boolean DEFAULT false)
LANGUAGE plpgsql AS $body$
DECLARE
    target_type regtype;
    job bigint;
    todo bigint;
    after_row tid := '(0,0)';
    claim text;
    store text;
    stop_status text;       -- set when a chunk raised: 'interrupted' or 'failed'
    stop_code text;
    stop_message text;
    stop_detail text;
    final_status text;
BEGIN
    IF target_table IS NULL OR target_column IS NULL OR prompt IS NULL OR model IS NULL THEN
        RAISE EXCEPTION 'bedrock_enrich needs a table, a target column, a prompt and a model'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF chunk_size IS NULL OR chunk_size < 1 OR chunk_size > 100000 THEN
        RAISE EXCEPTION 'chunk_size must be between 1 and 100000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT a.atttypid::pg_catalog.regtype INTO target_type
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) target_table
       AND a.attname OPERATOR(pg_catalog.=) target_column
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    IF target_type IS NULL THEN
        RAISE EXCEPTION 'column % of % does not exist', pg_catalog.quote_ident(target_column), target_table
            USING ERRCODE = 'undefined_column';
    END IF;
    IF target_type NOT IN ('text'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype) THEN
        RAISE EXCEPTION 'target column % of % is of type %, not text or jsonb',
                        pg_catalog.quote_ident(target_column), target_table, target_type
            USING ERRCODE = 'wrong_object_type';
    END IF;

    -- the prompt is an SQL expression over the row: say so when it is not
    BEGIN
        EXECUTE pg_catalog.format('SELECT (%s)::text FROM %s LIMIT 0', prompt, target_table);
    EXCEPTION WHEN syntax_error OR undefined_column THEN
        GET STACKED DIAGNOSTICS stop_code = RETURNED_SQLSTATE, stop_message = MESSAGE_TEXT;
        RAISE EXCEPTION 'prompt is not an SQL expression over the rows of %', target_table
            USING ERRCODE = stop_code,
                  DETAIL = pg_catalog.format('Evaluating it failed: %s.', stop_message),
                  HINT = 'The prompt is SQL evaluated for each row, such as $$''Summarize: '' || body$$; '
                         'to send the same text for every row, write it as a string literal, such as $$''Summarize this''$$.';
    END;

    -- a run whose backend is gone was interrupted
    UPDATE bedrock.enrich_jobs j SET status = 'interrupted', finished_at = j.updated_at
     WHERE j.status OPERATOR(pg_catalog.=) 'running'
       AND j.role_name OPERATOR(pg_catalog.=) current_user
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity s
                        WHERE s.pid OPERATOR(pg_catalog.=) j.pid);

    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL',
                              target_table, target_column)
       INTO todo;
    INSERT INTO bedrock.enrich_jobs (table_name, target_column, model, rows_total)
    VALUES (target_table::text, target_column, model, todo)
    RETURNING job_id INTO job;
    COMMIT;

    claim := pg_catalog.format(
        'SELECT pg_catalog.array_agg(ctid ORDER BY ctid),
                pg_catalog.array_agg(NULLIF((%s)::text, '''') ORDER BY ctid)
           FROM (SELECT ctid, * FROM %s
                  WHERE %I IS NULL AND ctid OPERATOR(pg_catalog.>) $1
                  ORDER BY ctid LIMIT $2 FOR UPDATE SKIP LOCKED) claimed',
        prompt, target_table, target_column);
    store := pg_catalog.format(
        'UPDATE %s t SET %I = CASE WHEN $3 THEN r.response::text::%s ELSE (r.response OPERATOR(pg_catalog.->>) ''text'')::%s END
           FROM unnest($1, $2) AS r(row_id, response)
          WHERE t.ctid OPERATOR(pg_catalog.=) r.row_id AND r.response OPERATOR(pg_catalog.?) ''text''',
        target_table, target_column, target_type, target_type);

    LOOP
        DECLARE
            ids tid[];
            prompts text[];
            results jsonb[];
            n_rows int;
            n_ok int;
        BEGIN
            EXECUTE claim INTO ids, prompts USING after_row, chunk_size;
            EXIT WHEN ids IS NULL;
            -- claimed in ctid order: rows that stay NULL (failed, skipped)
            -- lie behind the watermark and are left to a later run
            after_row := ids[pg_catalog.array_upper(ids, 1)];
            SELECT pg_catalog.array_agg(b.response ORDER BY b.ord) INTO results
              FROM @extschema@.bedrock_chat_batch(model, prompts, system,
                       coalesce(options, '{}') OPERATOR(pg_catalog.||) '{"on_error": "json"}') b;
            EXECUTE store USING ids, results, target_type OPERATOR(pg_catalog.=) 'jsonb'::pg_catalog.regtype;
            GET DIAGNOSTICS n_ok = ROW_COUNT;
            n_rows := pg_catalog.array_length(ids, 1);
            WITH outcome AS (
                SELECT i, ids[i] AS row_id, prompts[i] IS NULL AS skipped,
                       results[i] OPERATOR(pg_catalog.->) 'error' AS error
                  FROM pg_catalog.generate_subscripts(ids, 1) i
            ), chunk AS (
                SELECT pg_catalog.count(*) FILTER (WHERE skipped) AS skipped,
                       pg_catalog.count(*) FILTER (WHERE NOT skipped) AS called,
                       (pg_catalog.array_agg(error ORDER BY i DESC) FILTER (WHERE error IS NOT NULL))[1] AS last_error,
                       pg_catalog.array_agg(row_id ORDER BY i) FILTER (WHERE NOT skipped AND error IS NOT NULL) AS failed,
                       pg_catalog.sum((results[i] OPERATOR(pg_catalog.->) 'usage' OPERATOR(pg_catalog.->>) 'input_tokens')::bigint) AS tokens_in,
                       pg_catalog.sum((results[i] OPERATOR(pg_catalog.->) 'usage' OPERATOR(pg_catalog.->>) 'output_tokens')::bigint) AS tokens_out
                  FROM outcome
            )
            UPDATE bedrock.enrich_jobs j
               SET rows_done = j.rows_done OPERATOR(pg_catalog.+) n_ok,
                   rows_skipped = j.rows_skipped OPERATOR(pg_catalog.+) c.skipped,
                   errors = j.errors OPERATOR(pg_catalog.+) (c.called OPERATOR(pg_catalog.-) n_ok),
                   input_tokens = j.input_tokens OPERATOR(pg_catalog.+) coalesce(c.tokens_in, 0),
                   output_tokens = j.output_tokens OPERATOR(pg_catalog.+) coalesce(c.tokens_out, 0),
                   last_error_code = coalesce(c.last_error OPERATOR(pg_catalog.->>) 'code', j.last_error_code),
                   last_error_message = coalesce(c.last_error OPERATOR(pg_catalog.->>) 'message', j.last_error_message),
                   failed_rows = (j.failed_rows OPERATOR(pg_catalog.||) coalesce(c.failed, '{}'))[1:100],
                   updated_at = pg_catalog.clock_timestamp()
              FROM chunk c
             WHERE j.job_id OPERATOR(pg_catalog.=) job;
        EXCEPTION
            WHEN query_canceled THEN
                stop_status := 'interrupted';
                GET STACKED DIAGNOSTICS stop_code = RETURNED_SQLSTATE,
                    stop_message = MESSAGE_TEXT, stop_detail = PG_EXCEPTION_DETAIL;
            WHEN OTHERS THEN
                stop_status := 'failed';
                GET STACKED DIAGNOSTICS stop_code = RETURNED_SQLSTATE,
                    stop_message = MESSAGE_TEXT, stop_detail = PG_EXCEPTION_DETAIL;
        END;
        EXIT WHEN stop_status IS NOT NULL;
        COMMIT;
        PERFORM bedrock.enrich_restart_statement_timeout();
        IF notices THEN
            RAISE NOTICE 'bedrock_enrich job %: % of % rows done, % skipped, % errors', job,
                (SELECT j.rows_done FROM bedrock.enrich_jobs j WHERE j.job_id OPERATOR(pg_catalog.=) job), todo,
                (SELECT j.rows_skipped FROM bedrock.enrich_jobs j WHERE j.job_id OPERATOR(pg_catalog.=) job),
                (SELECT j.errors FROM bedrock.enrich_jobs j WHERE j.job_id OPERATOR(pg_catalog.=) job);
        END IF;
    END LOOP;

    IF stop_status IS NOT NULL THEN
        -- the chunk in flight was rolled back; record why, keep the record,
        -- and let the error go on
        UPDATE bedrock.enrich_jobs j
           SET status = stop_status, last_error_code = stop_code,
               last_error_message = stop_message,
               updated_at = pg_catalog.clock_timestamp(), finished_at = pg_catalog.clock_timestamp()
         WHERE j.job_id OPERATOR(pg_catalog.=) job;
        COMMIT;
        final_status := pg_catalog.format('bedrock_enrich job %s is marked %s; call bedrock_enrich again to resume where it stopped.',
                                          job, stop_status);
        IF coalesce(stop_detail, '') OPERATOR(pg_catalog.=) '' THEN
            RAISE EXCEPTION USING ERRCODE = stop_code, MESSAGE = stop_message, HINT = final_status;
        END IF;
        RAISE EXCEPTION USING ERRCODE = stop_code, MESSAGE = stop_message, DETAIL = stop_detail,
            HINT = final_status;
    END IF;

    UPDATE bedrock.enrich_jobs j
       SET status = CASE WHEN j.rows_done OPERATOR(pg_catalog.=) 0 AND j.errors OPERATOR(pg_catalog.>) 0
                         THEN 'failed' ELSE 'done' END,
           finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp()
     WHERE j.job_id OPERATOR(pg_catalog.=) job
    RETURNING j.status, j.last_error_code, j.last_error_message, j.errors
      INTO final_status, stop_code, stop_message, todo;
    COMMIT;
    IF final_status OPERATOR(pg_catalog.=) 'failed' THEN
        RAISE WARNING 'bedrock_enrich job %: every call failed (% errors)', job, todo
            USING DETAIL = pg_catalog.format('The last error was %s: %s', stop_code, stop_message),
                  HINT = 'bedrock.jobs keeps the last error of each job; fix the cause and call bedrock_enrich again.';
    END IF;
END
$body$;

COMMENT ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean) IS
'Fill target_column of target_table, where it is NULL, from the SQL expression prompt over each row, in committed chunks sent with bedrock_chat_batch; progress and the last error in bedrock.jobs; statement_timeout applies per chunk; call again to resume';


-- Each price of bedrock.model_prices with the end of its validity (the
-- model's next effective_from): what the cost columns of the usage views
-- join, stated once.
CREATE VIEW bedrock.price_periods WITH (security_invoker = true) AS
SELECT p.model, p.input_per_1k, p.output_per_1k, p.currency, p.effective_from,
       lead(p.effective_from, 1, 'infinity')
           OVER (PARTITION BY p.model ORDER BY p.effective_from) AS effective_until
  FROM bedrock.model_prices p;

COMMENT ON VIEW bedrock.price_periods IS
'Each price of bedrock.model_prices with its validity: from effective_from until the model''s next effective_from (infinity for the latest)';

GRANT SELECT ON bedrock.price_periods TO PUBLIC;

-- The usage views, with latencies rounded to the microsecond (3 decimals
-- of ms) and costs without trailing zeros: no more 4.700870500000001.
-- Same columns and types as in 0.1.0.
CREATE OR REPLACE VIEW bedrock.usage_summary WITH (security_invoker = true) AS
SELECT u.model,
       (u.called_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       count(*) FILTER (WHERE u.error_code IN ('ThrottlingException', 'TooManyRequestsException')
                           OR (u.error_code IS NOT NULL AND u.http_status = 429)) AS throttled_calls,
       sum(u.throttled_attempts)::bigint AS throttled_attempts,
       sum(greatest(u.attempts - 1, 0))::bigint AS retries,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       coalesce(sum(u.cache_read_input_tokens), 0)::bigint AS cache_read_input_tokens,
       coalesce(sum(u.cache_write_input_tokens), 0)::bigint AS cache_write_input_tokens,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p50_latency_ms,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p95_latency_ms,
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p99_latency_ms,
       trim_scale(sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.input_per_1k)
                       OPERATOR(pg_catalog.+)
                       (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.output_per_1k))
                      OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric)) AS estimated_cost
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.model, (u.called_at AT TIME ZONE 'UTC')::date;

CREATE OR REPLACE VIEW bedrock.usage_by_role WITH (security_invoker = true) AS
SELECT u.role_name,
       u.principal_arn,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       trim_scale(sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.input_per_1k)
                       OPERATOR(pg_catalog.+)
                       (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.output_per_1k))
                      OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric)) AS estimated_cost,
       min(u.called_at) AS first_call,
       max(u.called_at) AS last_call
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.role_name, u.principal_arn;

CREATE OR REPLACE VIEW bedrock.recent_errors WITH (security_invoker = true) AS
SELECT u.called_at, u.model, u.operation, u.error_code, u.http_status,
       u.attempts, u.throttled_attempts,
       round(u.client_latency_ms::numeric, 3)::double precision AS client_latency_ms,
       u.role_name, u.session_role, u.database_name, u.application_name,
       u.backend_pid, u.query_id, u.request_id, u.principal_arn,
       u.credential_source, u.id
  FROM bedrock.usage_log u
 WHERE u.error_code IS NOT NULL
   AND u.called_at > now() - interval '24 hours'
 ORDER BY u.called_at DESC, u.id DESC;

-- (end of first hour)
