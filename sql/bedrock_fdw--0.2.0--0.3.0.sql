/* sql/bedrock_fdw--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.3.0'" to load this file. \quit

-- 0.3.0: security and reliability hardening, and a first hour that works.
-- Each section below belongs to one concern; keep additions inside it.

-- ==== Privileges: SECURITY DEFINER functions, grants, owned objects ====

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

-- (end of fair sharing)

-- ==== First hour: group role, enrich jobs, views, notices ====

-- (end of first hour)
