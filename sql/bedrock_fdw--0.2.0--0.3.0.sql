/* sql/bedrock_fdw--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.3.0'" to load this file. \quit

-- 0.3.0: security and reliability hardening, and a first hour that works.
-- Each section below belongs to one concern; keep additions inside it.

-- ==== Privileges: SECURITY DEFINER functions, grants, owned objects ====

-- (end of privileges)

-- ==== Secrets: credential settings and functions that see them ====

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

-- (end of first hour)
