/* sql/bedrock_fdw--0.3.0--0.4.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.4.0'" to load this file. \quit

-- 0.4.0: typed extraction, documents, guardrails, embeddings, per-role AWS
-- identities through the foreign data wrapper, and Bedrock batch inference
-- jobs.  Each section below belongs to one concern; keep additions inside it.

-- ==== Extraction: bedrock_extract, classify, is_true ====

-- (end of Extraction)



-- ==== Converse features: documents, guardrails, caching, tiers, tokens ====

-- (end of Converse features)



-- ==== Embeddings and InvokeModel ====

-- (end of Embeddings and InvokeModel)



-- ==== Foreign data wrapper: servers, user mappings, identities ====

-- The wrapper: servers say where Bedrock is and which AWS identity the
-- server has, user mappings which identity each role has on top of it
-- (docs/fdw.md).  The validator checks the options of every server, user
-- mapping and foreign table; the catalog foreign tables add a handler
-- below.
CREATE FUNCTION bedrock_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'bedrock_fdw_validator'
LANGUAGE C STRICT;

COMMENT ON FUNCTION bedrock_fdw_validator(text[], oid) IS
'Validator of the bedrock_fdw foreign data wrapper: the options of its servers, user mappings and foreign tables';

CREATE FOREIGN DATA WRAPPER bedrock_fdw VALIDATOR bedrock_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER bedrock_fdw IS
'Amazon Bedrock: servers hold the region, endpoints and the server''s AWS identity, user mappings the identity of each role';

-- usage_log: the foreign server each call went through (NULL: none, the
-- settings' identity); principal_arn stays the IAM principal that signed.
ALTER TABLE bedrock.usage_log ADD COLUMN server_name name;

COMMENT ON COLUMN bedrock.usage_log.server_name IS
'foreign server of bedrock_fdw the call went through (options.server or bedrock.server); NULL when none was chosen';

-- Cost per IAM principal and server, day by day: what the AWS bill is
-- split by.  Row-level security of usage_log applies (security_invoker).
CREATE VIEW bedrock.usage_by_principal WITH (security_invoker = true) AS
SELECT (u.called_at AT TIME ZONE 'UTC')::date AS day,
       u.principal_arn,
       u.server_name,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       count(*) FILTER (WHERE u.error_code IN ('ThrottlingException', 'TooManyRequestsException')
                           OR (u.error_code IS NOT NULL AND u.http_status = 429)) AS throttled_calls,
       sum(u.throttled_attempts)::bigint AS throttled_attempts,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       trim_scale(sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.input_per_1k)
                       OPERATOR(pg_catalog.+)
                       (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.output_per_1k))
                      OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric)) AS estimated_cost,
       count(DISTINCT u.role_name) AS roles
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY (u.called_at AT TIME ZONE 'UTC')::date, u.principal_arn, u.server_name;

COMMENT ON VIEW bedrock.usage_by_principal IS
'Per UTC day, IAM principal and foreign server: calls, errors, throttled calls and attempts, tokens, estimated cost and the number of database roles';

GRANT SELECT ON bedrock.usage_by_principal TO PUBLIC;

-- bedrock.credentials: one row for the settings' identity, then one per
-- (server, user mapping, role) identity of the shared cache, with the
-- server, the role and the IAM principal.  Never a secret; the superuser's
-- and bedrock_admin's.
DROP VIEW bedrock.credentials;
DROP FUNCTION bedrock_credentials();

CREATE FUNCTION bedrock_credentials(
    OUT cache text, OUT source text, OUT access_key_id text,
    OUT expiration timestamptz, OUT last_refresh timestamptz,
    OUT last_attempt timestamptz, OUT last_error text,
    OUT refresh_count bigint, OUT failure_count bigint, OUT worker_pid int,
    OUT server_name name, OUT role_name name, OUT principal_arn text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bedrock_credentials'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_credentials() IS
'State of the AWS credential caches: the settings'' identity, then one row per foreign server identity (server, role, principal); source, masked access key id, expiration, last refresh and error, counts, worker pid';

CREATE VIEW bedrock.credentials AS SELECT * FROM bedrock_credentials();

COMMENT ON VIEW bedrock.credentials IS
'State of the AWS credential caches, one row per identity; never shows a secret';

REVOKE ALL ON FUNCTION bedrock_credentials() FROM PUBLIC;
REVOKE ALL ON bedrock.credentials FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock_credentials() TO bedrock_admin;
GRANT SELECT ON bedrock.credentials TO bedrock_admin;

-- (end of Foreign data wrapper)



-- ==== Catalog foreign tables: IMPORT FOREIGN SCHEMA ====

-- (end of Catalog foreign tables)



-- ==== Batch inference jobs ====

-- (end of Batch inference jobs)
