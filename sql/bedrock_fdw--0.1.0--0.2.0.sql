/* sql/bedrock_fdw--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.2.0'" to load this file. \quit

-- ==== Parallel query ====
-- Credentials come from the worker's shared cache (or each process's own
-- chain), usage records go through shared memory with the leader's pid,
-- and nothing is written to a table: parallel workers may call Bedrock,
-- so that a plain SELECT bedrock_chat(...) FROM big_table can fan out.
ALTER FUNCTION bedrock_chat(text, text, text, jsonb) PARALLEL SAFE;

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

CREATE FUNCTION bedrock_rate_limits_reset()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'bedrock_rate_limits_reset'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_rate_limits_reset() IS
'Forget every model''s rate limiter state (adaptive rate, budgets, counters); returns the reset time';

REVOKE ALL ON FUNCTION bedrock_rate_limits_reset() FROM PUBLIC;
