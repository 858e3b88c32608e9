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
