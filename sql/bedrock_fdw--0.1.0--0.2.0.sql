/* sql/bedrock_fdw--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.2.0'" to load this file. \quit

-- ==== Parallel query: honest volatility and parallel-safety labels ====
-- 0.1.0 kept every function that calls Bedrock in the leader.  A parallel
-- worker can call Bedrock as well as its leader: credentials come from the
-- credential worker's shared cache, from the bedrock.* settings (PostgreSQL
-- copies the leader's settings, SET LOCAL and the superuser-only ones
-- included, into every worker) or from the process's own chain; usage
-- records and counters go through shared memory, with the leader's pid;
-- the rate limiter and the retry quota are shared; a cancel of the leader
-- terminates the workers, whose waits wake for it.  Nothing is written to
-- a table.  Every label below says why.

-- SAFE: see above, so that a plain SELECT bedrock_chat(...) FROM big_table
-- fans out.  VOLATILE stays: every call is a new, billed invocation.
-- COST 1000: high enough that the planner evaluates cheaper conditions
-- first and finds spreading the calls of a table of a thousand rows or
-- more over workers worth it, evaluating them below the Gather.  Not
-- higher: the plan's cost also decides JIT compilation, and at COST 10000
-- forty calls passed jit_above_cost, which made queries that wait on the
-- network compile code and load LLVM (60 MB of RSS in make bench's B3).
ALTER FUNCTION bedrock_chat(text, text, text, jsonb) PARALLEL SAFE COST 1000;

-- SAFE for the same reasons: a worker drives its batch on its own curl
-- handles (each process has its own), e.g. in a LATERAL join over a
-- parallel scan of chunks.  Same COST per call as bedrock_chat.
ALTER FUNCTION bedrock_chat_batch(text, text[], text, jsonb) PARALLEL SAFE COST 1000;

-- SAFE: reads the usage queue's state in shared memory only, the same
-- from any process of the server.
ALTER FUNCTION bedrock_usage_queue() PARALLEL SAFE;

-- SAFE: a reset writes shared memory only (no table), with the same effect
-- from any process, as pg_stat_statements_reset() is.
ALTER FUNCTION bedrock_stats_reset() PARALLEL SAFE;

-- Unchanged, and why:
--  * bedrock_credentials() stays RESTRICTED: without the credential worker
--    it shows this backend's private cache, which a worker does not share
--    (a worker would show its own, empty one).
--  * bedrock_whoami() stays RESTRICTED: without the credential worker a
--    worker would fetch credentials (IMDS, STS) into a private cache that
--    dies with it, instead of warming the leader's for its next calls; it
--    is one call per query, so nothing is lost by keeping it in the leader.
--  * bedrock_usage_purge() stays UNSAFE: it deletes rows.
--  * bedrock_stats(), bedrock_rate_limits() (SAFE), bedrock_sign_request()
--    and bedrock.call_cost() (STABLE SAFE: pure computation, a table read)
--    were honest already.

-- ==== Raw Converse requests ====
-- bedrock_chat and bedrock_chat_batch build the request from a prompt;
-- these send the caller's own Converse request body (multi-turn messages,
-- system blocks, inferenceConfig, toolConfig, guardrailConfig, …) through
-- the same engine: same signing, retries, rate limiter, usage records, and
-- the same labels and grants.
CREATE FUNCTION bedrock_converse(model text, request jsonb, options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_converse'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_converse(text, jsonb, jsonb) IS
'Send request, the body of a Bedrock Converse request, to a model as it is; returns bedrock_chat''s result with the whole Converse response as "response"';

REVOKE ALL ON FUNCTION bedrock_converse(text, jsonb, jsonb) FROM PUBLIC;

CREATE FUNCTION bedrock_converse_batch(model text, requests jsonb[], options jsonb DEFAULT NULL)
RETURNS TABLE (ord int, response jsonb)
AS 'MODULE_PATHNAME', 'bedrock_converse_batch'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_converse_batch(text, jsonb[], jsonb) IS
'bedrock_converse for every element of requests, with up to bedrock.max_concurrency (or the concurrency option) requests in flight; one row per request in input order, failures as JSON error rows unless on_error says otherwise';

REVOKE ALL ON FUNCTION bedrock_converse_batch(text, jsonb[], jsonb) FROM PUBLIC;

-- ==== The shared rate limiter ====
-- Per model: the DBA's limits (bedrock.rate_limits), the adaptive state
-- (Bedrock throttled it: the allowed rate follows the SDKs' CUBIC curve),
-- the buckets as of now and the counters since the last reset.  Model
-- names and counts only, as bedrock_stats(): readable by everyone;
-- resetting is the DBA's.
CREATE FUNCTION bedrock_rate_limits(
    OUT model text, OUT rpm_limit bigint, OUT tpm_limit bigint,
    OUT adaptive boolean, OUT allowed_rpm double precision,
    OUT measured_rpm double precision, OUT requests_available double precision,
    OUT tokens_available double precision, OUT admitted bigint,
    OUT delayed bigint, OUT delay_ms double precision, OUT throttled bigint,
    OUT last_throttle timestamptz, OUT since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bedrock_rate_limits'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_rate_limits() IS
'The shared rate limiter per model: configured rpm/tpm limits, whether throttling made it adaptive, the request rate allowed now and the rate measured, the budgets available, admitted and delayed attempts, throttled responses';

CREATE VIEW bedrock.rate_limits AS SELECT * FROM bedrock_rate_limits();

COMMENT ON VIEW bedrock.rate_limits IS
'The shared rate limiter per model (see bedrock_rate_limits())';

GRANT SELECT ON bedrock.rate_limits TO PUBLIC;

-- PARALLEL SAFE: it writes shared memory only, as bedrock_stats_reset().
CREATE FUNCTION bedrock_rate_limits_reset()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'bedrock_rate_limits_reset'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_rate_limits_reset() IS
'Forget every model''s rate limiter state (adaptive rate, budgets, counters); returns the reset time';

REVOKE ALL ON FUNCTION bedrock_rate_limits_reset() FROM PUBLIC;
