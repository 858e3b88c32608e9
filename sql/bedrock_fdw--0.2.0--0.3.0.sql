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
