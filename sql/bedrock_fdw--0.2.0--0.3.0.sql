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

-- The same for the two views that price calls: bigint * numeric, resolved
-- when CREATE EXTENSION parsed them, could have been bound to an operator
-- planted in the extension's schema, which would then run as every
-- reader of the view (security_invoker).  Same columns, pg_catalog's
-- operators by name.
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
       percentile_cont(0.5) WITHIN GROUP (ORDER BY u.client_latency_ms)
           FILTER (WHERE u.error_code IS NULL) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY u.client_latency_ms)
           FILTER (WHERE u.error_code IS NULL) AS p95_latency_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY u.client_latency_ms)
           FILTER (WHERE u.error_code IS NULL) AS p99_latency_ms,
       sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.input_per_1k)
            OPERATOR(pg_catalog.+)
            (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.output_per_1k))
           OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric) AS estimated_cost
  FROM bedrock.usage_log u
  LEFT JOIN (SELECT p.model, p.input_per_1k, p.output_per_1k, p.effective_from,
                    lead(p.effective_from, 1, 'infinity')
                        OVER (PARTITION BY p.model ORDER BY p.effective_from) AS effective_until
               FROM bedrock.model_prices p) p
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
       sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.input_per_1k)
            OPERATOR(pg_catalog.+)
            (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.output_per_1k))
           OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric) AS estimated_cost,
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

-- (end of secrets)

-- ==== Reliability: malformed responses, bounds ====

-- (end of reliability)

-- ==== Fair sharing: rate limits, retry quota, usage queue ====

-- (end of fair sharing)

-- ==== First hour: group role, enrich jobs, views, notices ====

-- (end of first hour)
