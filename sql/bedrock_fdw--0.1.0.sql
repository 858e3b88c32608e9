/* sql/bedrock_fdw--0.1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION bedrock_fdw" to load this file. \quit

-- Data objects (views, later tables) live in schema bedrock; functions
-- in the extension's schema so that bedrock_chat(...) needs no prefix.
CREATE SCHEMA bedrock;
COMMENT ON SCHEMA bedrock IS 'bedrock_fdw views and tables';
-- everyone may look up names in it; each object carries its own grants
GRANT USAGE ON SCHEMA bedrock TO PUBLIC;

-- Functions that call Bedrock spend the server's AWS identity: they are
-- VOLATILE (every call is a new, billed model invocation), PARALLEL
-- RESTRICTED (they run in the leader only), and not executable by PUBLIC.
-- A DBA grants them to the roles that may use Bedrock.

CREATE FUNCTION bedrock_chat(model text, prompt text, system text DEFAULT NULL,
                             options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_chat'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_chat(text, text, text, jsonb) IS
'Send prompt (and an optional system prompt) to a Bedrock model through the Converse API; returns text, stop_reason, usage, latency_ms, model, request_id and attempts as jsonb';

REVOKE ALL ON FUNCTION bedrock_chat(text, text, text, jsonb) FROM PUBLIC;

CREATE FUNCTION bedrock_chat_batch(model text, prompts text[], system text DEFAULT NULL,
                                   options jsonb DEFAULT NULL)
RETURNS TABLE (ord int, response jsonb)
AS 'MODULE_PATHNAME', 'bedrock_chat_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_chat_batch(text, text[], text, jsonb) IS
'bedrock_chat for every element of prompts, with up to bedrock.max_concurrency (or the concurrency option) requests in flight; one row per prompt in input order, failures as JSON error rows unless on_error says otherwise';

REVOKE ALL ON FUNCTION bedrock_chat_batch(text, text[], text, jsonb) FROM PUBLIC;

-- Signing with credentials the caller supplies spends nobody else's
-- identity, so everyone may use it.  STABLE: a NULL signing_time means
-- now(), the transaction's start time.
CREATE FUNCTION bedrock_sign_request(method text, url text, headers jsonb, body bytea,
                                     region text, service text,
                                     access_key_id text, secret_access_key text,
                                     session_token text DEFAULT NULL,
                                     signing_time timestamptz DEFAULT now(),
                                     normalize_path boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_sign_request'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_sign_request(text, text, jsonb, bytea, text, text, text, text, text, timestamptz, boolean) IS
'AWS Signature Version 4 for any AWS request with explicit credentials: the headers to add, plus the canonical request and string to sign';

-- The AWS identity in use.  STS GetCallerIdentity costs nothing but tells
-- the account and role, so it is the DBA's to grant.
CREATE FUNCTION bedrock_whoami()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_whoami'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_whoami() IS
'What sts:GetCallerIdentity says of the credentials bedrock_chat uses (account, arn, user_id), with their source, masked access key id and expiration';

REVOKE ALL ON FUNCTION bedrock_whoami() FROM PUBLIC;

-- The state of the credential cache (shared with the worker when
-- preloaded, else this backend's own).  Never a secret.
CREATE FUNCTION bedrock_credentials(
    OUT cache text, OUT source text, OUT access_key_id text,
    OUT expiration timestamptz, OUT last_refresh timestamptz,
    OUT last_attempt timestamptz, OUT last_error text,
    OUT refresh_count bigint, OUT failure_count bigint, OUT worker_pid int)
RETURNS record
AS 'MODULE_PATHNAME', 'bedrock_credentials'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_credentials() IS
'State of the AWS credential cache: source, masked access key id, expiration, last refresh and error, counts, worker pid';

CREATE VIEW bedrock.credentials AS SELECT * FROM bedrock_credentials();

COMMENT ON VIEW bedrock.credentials IS
'State of the AWS credential cache; never shows a secret';

REVOKE ALL ON FUNCTION bedrock_credentials() FROM PUBLIC;
REVOKE ALL ON bedrock.credentials FROM PUBLIC;

-- ====================================================================
-- Usage accounting
--
-- One row per Bedrock call in bedrock.usage_log, written by the usage
-- writer background worker (as the bootstrap superuser, outside the
-- caller's transaction) in the database named by bedrock.database.
-- Views over it give back the provider's dashboards; model_prices,
-- filled in by the DBA, turns tokens into an estimated cost at read time.
--
-- Who sees what: row-level security shows every role the rows of calls
-- it made (role_name = current_user); members of bedrock_admin see, and
-- may delete, every row.  Nobody but the superuser writes rows.
-- ====================================================================

-- Roles are cluster-wide and the extension may be created in several
-- databases: create bedrock_admin only once, and leave it in place on
-- DROP EXTENSION.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'bedrock_admin') THEN
        CREATE ROLE bedrock_admin NOLOGIN;
        COMMENT ON ROLE bedrock_admin IS
        'bedrock_fdw administrators: see every row of bedrock.usage_log, purge it, and maintain bedrock.model_prices';
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL;   -- created concurrently by CREATE EXTENSION in another database
END $$;

CREATE TABLE bedrock.usage_log (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    called_at                timestamptz NOT NULL,
    database_name            name,
    session_role             name,
    role_name                name NOT NULL,
    application_name         text,
    backend_pid              int,
    query_id                 bigint,
    operation                text NOT NULL,
    model                    text NOT NULL,
    input_tokens             bigint,
    output_tokens            bigint,
    total_tokens             bigint,
    cache_read_input_tokens  bigint,
    cache_write_input_tokens bigint,
    client_latency_ms        double precision,
    service_latency_ms       bigint,
    http_status              int,
    error_code               text,
    attempts                 int NOT NULL,
    throttled_attempts       int NOT NULL DEFAULT 0,
    request_id               text,
    principal_arn            text,
    credential_source        text,
    guardrail_action         text
);

CREATE INDEX usage_log_called_at_idx ON bedrock.usage_log (called_at);
CREATE INDEX usage_log_role_name_called_at_idx ON bedrock.usage_log (role_name, called_at);
COMMENT ON INDEX bedrock.usage_log_called_at_idx IS
'Time ranges: the views'' windows and purging';
COMMENT ON INDEX bedrock.usage_log_role_name_called_at_idx IS
'One role''s calls over time, as row-level security shows them to that role';

COMMENT ON TABLE bedrock.usage_log IS
'One row per Bedrock call, failures included, written by the bedrock_fdw usage writer whether the calling transaction commits or not; never a prompt or a response';
COMMENT ON COLUMN bedrock.usage_log.called_at IS 'when the call started';
COMMENT ON COLUMN bedrock.usage_log.database_name IS 'database the call was made from (rows of every database land in the one named by bedrock.database)';
COMMENT ON COLUMN bedrock.usage_log.session_role IS 'session_user of the calling backend';
COMMENT ON COLUMN bedrock.usage_log.role_name IS 'current_user at call time (differs from session_role under SET ROLE or in a SECURITY DEFINER function); row-level security matches it';
COMMENT ON COLUMN bedrock.usage_log.backend_pid IS 'pid of the calling backend; of the leader when a parallel worker made the call';
COMMENT ON COLUMN bedrock.usage_log.query_id IS 'query identifier of the calling statement (compute_query_id), NULL when unknown';
COMMENT ON COLUMN bedrock.usage_log.operation IS 'Bedrock Runtime operation: converse, invoke, ...';
COMMENT ON COLUMN bedrock.usage_log.model IS 'model id, inference profile or ARN as passed by the caller';
COMMENT ON COLUMN bedrock.usage_log.input_tokens IS 'input tokens Bedrock reported, NULL when it reported none (failed calls)';
COMMENT ON COLUMN bedrock.usage_log.cache_read_input_tokens IS 'prompt-cache tokens read, when Bedrock reports them';
COMMENT ON COLUMN bedrock.usage_log.cache_write_input_tokens IS 'prompt-cache tokens written, when Bedrock reports them';
COMMENT ON COLUMN bedrock.usage_log.client_latency_ms IS 'wall-clock duration of the call as the backend saw it: every attempt and backoff';
COMMENT ON COLUMN bedrock.usage_log.service_latency_ms IS 'Bedrock''s own processing time (Converse metrics.latencyMs or InvokeModel''s latency header), NULL when not reported';
COMMENT ON COLUMN bedrock.usage_log.http_status IS 'HTTP status of the last attempt, NULL when no response arrived';
COMMENT ON COLUMN bedrock.usage_log.error_code IS 'AWS error code (or transport failure) of a failed call; NULL on success';
COMMENT ON COLUMN bedrock.usage_log.attempts IS 'HTTP attempts made, the first included';
COMMENT ON COLUMN bedrock.usage_log.throttled_attempts IS 'attempts Bedrock refused with throttling (HTTP 429), retried or not';
COMMENT ON COLUMN bedrock.usage_log.request_id IS 'AWS x-amzn-RequestId of the last attempt: find it in CloudTrail, quote it to AWS support';
COMMENT ON COLUMN bedrock.usage_log.principal_arn IS 'IAM principal that signed the request (sts:GetCallerIdentity ARN), for joining with AWS cost allocation';
COMMENT ON COLUMN bedrock.usage_log.credential_source IS 'credential provider used: static, environment, web_identity, container, instance';
COMMENT ON COLUMN bedrock.usage_log.guardrail_action IS 'guardrail action Bedrock reported (such as INTERVENED), when any';

ALTER TABLE bedrock.usage_log ENABLE ROW LEVEL SECURITY;

-- The membership test is a scalar subquery so that it runs once per
-- query, not once per row.
CREATE POLICY usage_log_select ON bedrock.usage_log
    FOR SELECT TO PUBLIC
    USING (role_name = current_user
           OR (SELECT pg_catalog.pg_has_role(current_user, 'bedrock_admin', 'MEMBER')));
COMMENT ON POLICY usage_log_select ON bedrock.usage_log IS
'Every role sees the rows of its own calls; members of bedrock_admin see all';

CREATE POLICY usage_log_admin_delete ON bedrock.usage_log
    FOR DELETE TO bedrock_admin
    USING (true);
COMMENT ON POLICY usage_log_admin_delete ON bedrock.usage_log IS
'Members of bedrock_admin may delete any row (purging)';

REVOKE ALL ON bedrock.usage_log FROM PUBLIC;
GRANT SELECT ON bedrock.usage_log TO PUBLIC;
GRANT SELECT, DELETE ON bedrock.usage_log TO bedrock_admin;

CREATE TABLE bedrock.model_prices (
    model          text NOT NULL,
    input_per_1k   numeric NOT NULL CHECK (input_per_1k >= 0),
    output_per_1k  numeric NOT NULL CHECK (output_per_1k >= 0),
    effective_from timestamptz NOT NULL DEFAULT '-infinity',
    currency       text NOT NULL DEFAULT 'USD',
    PRIMARY KEY (model, effective_from)
);

COMMENT ON TABLE bedrock.model_prices IS
'Prices per 1,000 tokens, filled in by a bedrock_admin member; a call is priced by the row of its model with the latest effective_from not after called_at';
COMMENT ON COLUMN bedrock.model_prices.model IS 'model id exactly as it appears in bedrock.usage_log.model';
COMMENT ON COLUMN bedrock.model_prices.input_per_1k IS 'price of 1,000 input tokens';
COMMENT ON COLUMN bedrock.model_prices.output_per_1k IS 'price of 1,000 output tokens';
COMMENT ON COLUMN bedrock.model_prices.effective_from IS 'start of the price''s validity; -infinity (the default) for always';
COMMENT ON COLUMN bedrock.model_prices.currency IS 'currency of the prices; the cost columns assume one currency throughout';

REVOKE ALL ON bedrock.model_prices FROM PUBLIC;
GRANT SELECT ON bedrock.model_prices TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON bedrock.model_prices TO bedrock_admin;

-- Both tables hold the user's data, not the extension's: pg_dump dumps it.
SELECT pg_catalog.pg_extension_config_dump('bedrock.usage_log', '');
SELECT pg_catalog.pg_extension_config_dump('bedrock.usage_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('bedrock.model_prices', '');

-- A SQL-standard body is bound at creation, so search_path cannot change
-- what it refers to, and no SET clause slows each call.
CREATE FUNCTION bedrock.call_cost(model text, called_at timestamptz,
                                  input_tokens bigint, output_tokens bigint)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (coalesce(call_cost.input_tokens, 0) * p.input_per_1k
            + coalesce(call_cost.output_tokens, 0) * p.output_per_1k) * 0.001
      FROM bedrock.model_prices p
     WHERE p.model = call_cost.model
       AND p.effective_from <= call_cost.called_at
     ORDER BY p.effective_from DESC
     LIMIT 1;
END;

COMMENT ON FUNCTION bedrock.call_cost(text, timestamptz, bigint, bigint) IS
'Estimated cost of a call from bedrock.model_prices: the model''s price in effect at called_at; NULL when the model has none; unknown token counts count as 0';

-- The views run with the caller's privileges (security_invoker), so the
-- row-level security of usage_log applies to whoever queries them.
--
-- The cost columns price each call as bedrock.call_cost does, but join
-- the price periods (from effective_from to the model's next
-- effective_from) instead of calling the function per row: a hash join
-- on model, three times faster over many rows.  The primary key of
-- model_prices makes the periods of a model disjoint, so a call matches
-- at most one.

CREATE VIEW bedrock.usage_summary WITH (security_invoker = true) AS
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
       percentile_cont(0.5) WITHIN GROUP (ORDER BY u.client_latency_ms)
           FILTER (WHERE u.error_code IS NULL) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY u.client_latency_ms)
           FILTER (WHERE u.error_code IS NULL) AS p95_latency_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY u.client_latency_ms)
           FILTER (WHERE u.error_code IS NULL) AS p99_latency_ms,
       sum((coalesce(u.input_tokens, 0) * p.input_per_1k
            + coalesce(u.output_tokens, 0) * p.output_per_1k) * 0.001) AS estimated_cost
  FROM bedrock.usage_log u
  LEFT JOIN (SELECT p.model, p.input_per_1k, p.output_per_1k, p.effective_from,
                    lead(p.effective_from, 1, 'infinity')
                        OVER (PARTITION BY p.model ORDER BY p.effective_from) AS effective_until
               FROM bedrock.model_prices p) p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.model, (u.called_at AT TIME ZONE 'UTC')::date;

COMMENT ON VIEW bedrock.usage_summary IS
'Per model and UTC day: calls, errors, throttled attempts and calls, retries, tokens, client latency percentiles of successful calls (ms) and estimated cost';

CREATE VIEW bedrock.usage_by_role WITH (security_invoker = true) AS
SELECT u.role_name,
       u.principal_arn,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       sum((coalesce(u.input_tokens, 0) * p.input_per_1k
            + coalesce(u.output_tokens, 0) * p.output_per_1k) * 0.001) AS estimated_cost,
       min(u.called_at) AS first_call,
       max(u.called_at) AS last_call
  FROM bedrock.usage_log u
  LEFT JOIN (SELECT p.model, p.input_per_1k, p.output_per_1k, p.effective_from,
                    lead(p.effective_from, 1, 'infinity')
                        OVER (PARTITION BY p.model ORDER BY p.effective_from) AS effective_until
               FROM bedrock.model_prices p) p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.role_name, u.principal_arn;

COMMENT ON VIEW bedrock.usage_by_role IS
'Per database role and IAM principal, over all rows kept: calls, errors, tokens, estimated cost, first and last call';

CREATE VIEW bedrock.recent_errors WITH (security_invoker = true) AS
SELECT u.called_at, u.model, u.operation, u.error_code, u.http_status,
       u.attempts, u.throttled_attempts, u.client_latency_ms,
       u.role_name, u.session_role, u.database_name, u.application_name,
       u.backend_pid, u.query_id, u.request_id, u.principal_arn,
       u.credential_source, u.id
  FROM bedrock.usage_log u
 WHERE u.error_code IS NOT NULL
   AND u.called_at > now() - interval '24 hours'
 ORDER BY u.called_at DESC, u.id DESC;

COMMENT ON VIEW bedrock.recent_errors IS
'Failed calls of the last 24 hours, newest first';

CREATE VIEW bedrock.throttling WITH (security_invoker = true) AS
SELECT date_trunc('minute', u.called_at) AS minute,
       u.model,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IN ('ThrottlingException', 'TooManyRequestsException')
                           OR (u.error_code IS NOT NULL AND u.http_status = 429)) AS throttled_calls,
       sum(u.throttled_attempts)::bigint AS throttled_attempts
  FROM bedrock.usage_log u
 WHERE u.called_at > now() - interval '1 hour'
 GROUP BY date_trunc('minute', u.called_at), u.model
 ORDER BY minute DESC, u.model;

COMMENT ON VIEW bedrock.throttling IS
'Per minute and model over the last hour: calls, throttled attempts (retried or not), and throttled calls (those that failed throttled after their retries)';

REVOKE ALL ON bedrock.usage_summary, bedrock.usage_by_role,
              bedrock.recent_errors, bedrock.throttling FROM PUBLIC;
GRANT SELECT ON bedrock.usage_summary, bedrock.usage_by_role,
                bedrock.recent_errors, bedrock.throttling TO PUBLIC;

-- Retention.  SECURITY DEFINER so that it deletes whatever row-level
-- security would let its caller see; only bedrock_admin may run it.
CREATE FUNCTION bedrock_usage_purge(older_than interval DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keep    interval := older_than;
    setting text;
    deleted bigint;
BEGIN
    IF keep IS NULL THEN
        setting := pg_catalog.current_setting('bedrock.usage_retention', true);
        IF setting IS NULL OR pg_catalog.btrim(setting) = '' THEN
            RETURN 0;               -- no retention configured: keep everything
        END IF;
        BEGIN
            keep := setting::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow
                    OR interval_field_overflow THEN
            RAISE EXCEPTION 'invalid value for bedrock.usage_retention: "%"', setting
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Set it to an interval such as ''90 days'', or to an empty string to keep every row.';
        END;
        IF keep <= interval '0' THEN
            RAISE EXCEPTION 'bedrock.usage_retention must be a positive interval, not "%"', setting
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Set it to an interval such as ''90 days'', or to an empty string to keep every row.';
        END IF;
    ELSIF keep <= interval '0' THEN
        RAISE EXCEPTION 'older_than must be a positive interval, not "%"', keep
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the age of the oldest rows to keep, such as ''90 days''.';
    END IF;

    DELETE FROM bedrock.usage_log WHERE called_at < now() - keep;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

COMMENT ON FUNCTION bedrock_usage_purge(interval) IS
'Delete bedrock.usage_log rows older than older_than (default: the bedrock.usage_retention setting; empty keeps everything); returns the number of rows deleted';

REVOKE ALL ON FUNCTION bedrock_usage_purge(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock_usage_purge(interval) TO bedrock_admin;
-- ==================== end of usage accounting =====================

-- ==== Per-model counters (bedrock_stats) ====

-- Cumulative per-model counters in shared memory since the last reset
-- (needs the library in shared_preload_libraries).  Model names and
-- counts, no role or principal: readable by everyone, as
-- pg_stat_statements is; resetting them is the DBA's.
CREATE FUNCTION bedrock_stats(
    OUT model text, OUT calls bigint, OUT errors bigint,
    OUT throttled_calls bigint, OUT throttled_attempts bigint,
    OUT retries bigint, OUT input_tokens bigint, OUT output_tokens bigint,
    OUT total_tokens bigint, OUT cache_read_input_tokens bigint,
    OUT cache_write_input_tokens bigint, OUT total_latency_ms double precision,
    OUT mean_latency_ms double precision, OUT min_latency_ms double precision,
    OUT max_latency_ms double precision, OUT latency_histogram jsonb,
    OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bedrock_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_stats() IS
'Cumulative Bedrock call counters per model since stats_reset: calls, errors, throttling, retries, tokens, client latency and its histogram (jsonb array of {le, count}, per bucket, le in ms, null = no bound)';

CREATE FUNCTION bedrock_stats_reset()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'bedrock_stats_reset'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_stats_reset() IS
'Forget every model counted by bedrock_stats(); returns the new stats_reset time';

REVOKE ALL ON FUNCTION bedrock_stats_reset() FROM PUBLIC;

-- ==== The usage queue between backends and the writer ====
-- Its state: capacity, queued records, totals pushed and stored, records
-- dropped because the queue was full, the writer's pid, last flush and
-- why records wait (if they do).  No role or model: readable by everyone.
CREATE FUNCTION bedrock_usage_queue(
    OUT capacity int, OUT queued bigint, OUT pushed bigint, OUT stored bigint,
    OUT dropped bigint, OUT writer_pid int, OUT last_flush timestamptz,
    OUT last_error text)
RETURNS record
AS 'MODULE_PATHNAME', 'bedrock_usage_queue'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_usage_queue() IS
'State of the shared-memory queue of usage records: capacity, queued, pushed, stored, dropped, writer pid, last flush, last error';

CREATE VIEW bedrock.usage_queue AS SELECT * FROM bedrock_usage_queue();

COMMENT ON VIEW bedrock.usage_queue IS
'State of the shared-memory queue of usage records (dropped counts records lost to a full queue)';

GRANT SELECT ON bedrock.usage_queue TO PUBLIC;

-- ==== Restartable enrichment jobs (bedrock_enrich) ====

CREATE TABLE bedrock.enrich_jobs (
    job_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name    text NOT NULL,
    target_column name NOT NULL,
    model         text NOT NULL,
    role_name     name NOT NULL DEFAULT current_user,
    pid           int NOT NULL DEFAULT pg_backend_pid(),
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'done', 'interrupted')),
    rows_total    bigint NOT NULL,
    rows_done     bigint NOT NULL DEFAULT 0,
    errors        bigint NOT NULL DEFAULT 0,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz
);

COMMENT ON TABLE bedrock.enrich_jobs IS
'One row per bedrock_enrich run, updated (and committed) after every chunk';

ALTER TABLE bedrock.enrich_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY enrich_jobs_own ON bedrock.enrich_jobs
    USING (role_name = current_user
           OR pg_catalog.pg_has_role(current_user, 'bedrock_admin', 'MEMBER'))
    WITH CHECK (role_name = current_user);
GRANT SELECT, INSERT, UPDATE ON bedrock.enrich_jobs TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('bedrock.enrich_jobs', '');

CREATE VIEW bedrock.jobs WITH (security_invoker = true) AS
SELECT job_id, table_name, target_column, model, role_name, pid, status,
       rows_done, rows_total, errors, input_tokens, output_tokens,
       started_at, updated_at, finished_at,
       round(rows_done / nullif(extract(epoch FROM coalesce(finished_at, updated_at) - started_at), 0), 1)
           AS rows_per_second,
       CASE WHEN status = 'running' AND rows_done > 0 THEN
           (coalesce(finished_at, updated_at) - started_at) / rows_done
               * greatest(rows_total - rows_done - errors, 0)
       END AS eta
  FROM bedrock.enrich_jobs;

COMMENT ON VIEW bedrock.jobs IS
'Progress of bedrock_enrich runs: rows done and total, errors, tokens, rows per second, estimated time left';

GRANT SELECT ON bedrock.jobs TO PUBLIC;

-- bedrock_enrich fills target_column of target_table from the SQL
-- expression prompt, evaluated over each row whose target is NULL, in
-- chunks of chunk_size rows, each chunk sent with bedrock_chat_batch and
-- committed: an interruption loses at most the chunk in flight, and
-- calling it again resumes.  A text target gets the answer's text, a
-- jsonb target the whole result.  Rows are claimed with FOR UPDATE SKIP
-- LOCKED, so several sessions may enrich one table at once.  The prompt
-- expression is SQL the caller writes, run with the caller's rights; the
-- table and column names are quoted as identifiers.
CREATE PROCEDURE bedrock_enrich(target_table regclass, target_column name,
                                prompt text, model text,
                                system text DEFAULT NULL, options jsonb DEFAULT NULL,
                                chunk_size int DEFAULT 512, notices boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    target_type regtype;
    job bigint;
    failed tid[] := '{}';
    todo bigint;
    n_rows int;
    n_ok int;
    chunk_in bigint;
    chunk_out bigint;
    claim text;
    store text;
BEGIN
    IF target_table IS NULL OR target_column IS NULL OR prompt IS NULL OR model IS NULL THEN
        RAISE EXCEPTION 'bedrock_enrich needs a table, a target column, a prompt and a model'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF chunk_size IS NULL OR chunk_size < 1 OR chunk_size > 100000 THEN
        RAISE EXCEPTION 'chunk_size must be between 1 and 100000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT a.atttypid::regtype INTO target_type
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = target_table AND a.attname = target_column
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF target_type IS NULL THEN
        RAISE EXCEPTION 'column % of % does not exist', pg_catalog.quote_ident(target_column), target_table
            USING ERRCODE = 'undefined_column';
    END IF;
    IF target_type NOT IN ('text'::regtype, 'jsonb'::regtype) THEN
        RAISE EXCEPTION 'target column % of % is of type %, not text or jsonb',
                        pg_catalog.quote_ident(target_column), target_table, target_type
            USING ERRCODE = 'wrong_object_type';
    END IF;

    -- a run whose backend is gone was interrupted
    UPDATE bedrock.enrich_jobs j SET status = 'interrupted', finished_at = updated_at
     WHERE j.status = 'running' AND j.role_name = current_user
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity s WHERE s.pid = j.pid);

    EXECUTE pg_catalog.format('SELECT count(*) FROM %s WHERE %I IS NULL', target_table, target_column)
       INTO todo;
    INSERT INTO bedrock.enrich_jobs (table_name, target_column, model, rows_total)
    VALUES (target_table::text, target_column, model, todo)
    RETURNING job_id INTO job;
    COMMIT;

    claim := pg_catalog.format(
        'SELECT array_agg(ctid ORDER BY ctid), array_agg(nullif((%s)::text, '''') ORDER BY ctid)
           FROM (SELECT ctid, * FROM %s WHERE %I IS NULL AND ctid <> ALL ($1)
                  ORDER BY ctid LIMIT $2 FOR UPDATE SKIP LOCKED) claimed',
        prompt, target_table, target_column);
    store := pg_catalog.format(
        'UPDATE %s t SET %I = CASE WHEN $3 THEN r.response::text::%s ELSE (r.response->>''text'')::%s END
           FROM unnest($1, $2) AS r(row_id, response)
          WHERE t.ctid = r.row_id AND r.response ? ''text''',
        target_table, target_column, target_type, target_type);

    LOOP
        DECLARE
            ids tid[];
            prompts text[];
            results jsonb[];
        BEGIN
            EXECUTE claim INTO ids, prompts USING failed, chunk_size;
            EXIT WHEN ids IS NULL;
            SELECT array_agg(b.response ORDER BY b.ord) INTO results
              FROM @extschema@.bedrock_chat_batch(model, prompts, system,
                       coalesce(options, '{}') || '{"on_error": "json"}') b;
            EXECUTE store USING ids, results, target_type = 'jsonb'::regtype;
            GET DIAGNOSTICS n_ok = ROW_COUNT;
            n_rows := pg_catalog.array_length(ids, 1);
            -- rows whose call failed, or whose prompt is NULL or empty, stay
            -- NULL: skip them
            -- for the rest of this run, a later run retries them
            SELECT failed || coalesce(array_agg(ids[i]), '{}')
              INTO failed
              FROM pg_catalog.generate_subscripts(ids, 1) i
             WHERE results[i] IS NULL OR NOT results[i] ? 'text';
            SELECT coalesce(sum((r->'usage'->>'input_tokens')::bigint), 0),
                   coalesce(sum((r->'usage'->>'output_tokens')::bigint), 0)
              INTO chunk_in, chunk_out
              FROM unnest(results) r;
            UPDATE bedrock.enrich_jobs
               SET rows_done = rows_done + n_ok, errors = errors + (n_rows - n_ok),
                   input_tokens = input_tokens + chunk_in,
                   output_tokens = output_tokens + chunk_out,
                   updated_at = clock_timestamp()
             WHERE job_id = job;
        END;
        COMMIT;
        IF notices THEN
            RAISE NOTICE 'bedrock_enrich job %: % of % rows done, % errors', job,
                (SELECT rows_done FROM bedrock.enrich_jobs WHERE job_id = job), todo,
                (SELECT errors FROM bedrock.enrich_jobs WHERE job_id = job);
        END IF;
    END LOOP;

    UPDATE bedrock.enrich_jobs SET status = 'done', finished_at = clock_timestamp(),
           updated_at = clock_timestamp()
     WHERE job_id = job;
    COMMIT;
END
$$;

COMMENT ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean) IS
'Fill target_column of target_table, where it is NULL, from the SQL expression prompt over each row, in committed chunks sent with bedrock_chat_batch; progress in bedrock.jobs; call again to resume';

REVOKE ALL ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean) FROM PUBLIC;
