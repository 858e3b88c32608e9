--
-- fdw: the bedrock_fdw foreign data wrapper: the validator, choosing a
-- server (options.server, bedrock.server), USAGE and user mapping errors,
-- per-identity credentials, server_name in the usage log and the views.
--

-- the wrapper the extension created
SELECT fdwname, fdwhandler::regproc AS handler, fdwvalidator::regproc
  FROM pg_foreign_data_wrapper WHERE fdwname = 'bedrock_fdw';

-- a server naming every server option
CREATE SERVER regress_bedrock_all FOREIGN DATA WRAPPER bedrock_fdw
  OPTIONS (region 'eu-west-1', endpoint 'http://127.0.0.1:1/', control_endpoint 'http://127.0.0.1:1',
           s3_endpoint 'http://127.0.0.1:1', sts_endpoint 'https://sts.eu-west-1.amazonaws.com',
           credential_source 'instance', role_arn 'arn:aws:iam::111122223333:role/db-bedrock',
           external_id 'ext-1234', role_session_name 'db-bedrock', role_duration_seconds '900',
           guardrail_identifier 'gr-abc123', guardrail_version '2', service_tier 'priority');
DROP SERVER regress_bedrock_all;

-- unknown options: refused, with the closest valid one
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (role_ar 'x');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (regoin 'eu-west-1');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (inference_profile 'x');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (zzzzzzzz 'x');
ALTER FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (region 'eu-west-1');

-- malformed values, naming the option
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (region 'EU-West-1');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (region '');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (endpoint 'ftp://x');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (endpoint 'https://user:pw@host');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (sts_endpoint 'http://h/?q=1');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (credential_source 'magic');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (role_arn 'arn:aws:iam::1111:role/x');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (role_arn 'arn:aws:iam::111122223333:user/x');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (role_arn 'arn:aws:iam::111122223333:role/x', role_duration_seconds '600');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (role_arn 'arn:aws:iam::111122223333:role/x', role_duration_seconds '1h');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (role_arn 'arn:aws:iam::111122223333:role/x', role_session_name 'has space');
-- a secret option's value is never quoted
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (role_arn 'arn:aws:iam::111122223333:role/x', external_id 'secret value!');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (external_id 'abc-123');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (guardrail_version '1');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (guardrail_identifier 'g', guardrail_version 'latest');
CREATE SERVER regress_bedrock_bad FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (service_tier 'gold');

-- user mappings
CREATE SERVER regress_bedrock FOREIGN DATA WRAPPER bedrock_fdw;
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (role_ar 'x');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (region 'eu-west-1');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (access_key_id 'AKIAREGRESS0000000001');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (secret_access_key 'not-shown-1');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (access_key_id 'short', secret_access_key 'not-shown-2');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (access_key_id 'AKIAREGRESS0000000001', secret_access_key E'not\nshown');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (access_key_id 'AKIAREGRESS0000000001', secret_access_key 'not-shown-3', role_arn 'arn:aws:iam::111122223333:role/x');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (session_token 'not-shown-4');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock OPTIONS (inference_profile 'arn:aws:bedrock:us-east-1:111122223333:foundation-model/x');
CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock
  OPTIONS (inference_profile 'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6');
DROP USER MAPPING FOR PUBLIC SERVER regress_bedrock;

-- foreign tables: the option "resource", no column options
CREATE FOREIGN TABLE regress_ft (id text) SERVER regress_bedrock OPTIONS (resource 'models');
CREATE FOREIGN TABLE regress_ft (id text OPTIONS (name 'x')) SERVER regress_bedrock OPTIONS (resource 'foundation_models');
CREATE FOREIGN TABLE regress_ft (id text) SERVER regress_bedrock OPTIONS (resource 'guardrails');
DROP FOREIGN TABLE regress_ft;

-- Choosing a server.  A server with no options uses the settings' endpoint
-- and identity; the call is logged under its name.
CREATE ROLE regress_fdw_alice LOGIN;
CREATE ROLE regress_fdw_bob LOGIN;
GRANT bedrock_user TO regress_fdw_alice, regress_fdw_bob;

\! node test/emulator/admin.js reset

SET ROLE regress_fdw_alice;
-- no USAGE: 42501, no request sent
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hi', NULL, '{"server": "regress_bedrock"}')::text$$);
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER regress_bedrock TO regress_fdw_alice;
SET ROLE regress_fdw_alice;
-- no user mapping: 28000
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hi', NULL, '{"server": "regress_bedrock"}')::text$$);
-- no such server: 42704
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hi', NULL, '{"server": "regress_nowhere"}')::text$$);
-- options.server must be a name
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hi', NULL, '{"server": 1}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hi', NULL, '{"server": ""}')::text$$);
-- the batch forms check before anything is sent, too
SELECT regress_try($$SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['a','b'], NULL, '{"server": "regress_bedrock"}')$$);
RESET ROLE;
\! node test/emulator/admin.js stat requests.converse

CREATE USER MAPPING FOR PUBLIC SERVER regress_bedrock;
SET ROLE regress_fdw_alice;
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hello through a server', NULL,
                    '{"server": "regress_bedrock"}')->>'stop_reason' AS through_server;
-- bedrock.server supplies the default, for the batch forms as well
SET bedrock.server = 'regress_bedrock';
SELECT count(*) FILTER (WHERE response ? 'text') AS answered
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['one', 'two']);
SELECT bedrock_converse('openai.gpt-oss-20b-1:0',
                        '{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}')->>'stop_reason' AS converse;
-- bedrock_whoami answers for the selected server
SELECT bedrock_whoami()->>'server' AS whoami_server;
RESET bedrock.server;
SELECT bedrock_whoami() ? 'server' AS whoami_without_server;
-- a role that lost USAGE is refused at once
RESET ROLE;
REVOKE USAGE ON FOREIGN SERVER regress_bedrock FROM regress_fdw_alice;
SET ROLE regress_fdw_alice;
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hi', NULL, '{"server": "regress_bedrock"}')::text$$);
RESET ROLE;

-- bedrock.server per role
ALTER ROLE regress_fdw_bob SET bedrock.server = 'regress_bedrock';
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'regress_fdw_bob'::regrole;
ALTER ROLE regress_fdw_bob RESET bedrock.server;
SET bedrock.server = 'a_name_that_is_far_too_long_to_be_a_server_name_in_postgresql_0123456789';

-- bedrock.usage_by_principal: per day, principal and server, with the
-- row-level security of usage_log (the usage writer's own rows go to the
-- database bedrock.database names: TAP 017 checks server_name there)
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k, effective_from)
VALUES ('regress.fdw-model', 1.00, 2.00, '-infinity');
INSERT INTO bedrock.usage_log
       (called_at, role_name, operation, model, input_tokens, output_tokens, total_tokens,
        http_status, error_code, attempts, throttled_attempts, principal_arn, server_name)
VALUES
  ('2025-04-01 10:00:00+00', 'regress_fdw_alice', 'converse', 'regress.fdw-model', 1000, 500, 1500,
   200, NULL, 1, 0, 'arn:aws:sts::111122223333:assumed-role/analysts/pg-regress_fdw_alice', 'regress_prod'),
  ('2025-04-01 11:00:00+00', 'regress_fdw_alice', 'converse', 'regress.fdw-model', 2000, 0, 2000,
   429, 'ThrottlingException', 3, 3, 'arn:aws:sts::111122223333:assumed-role/analysts/pg-regress_fdw_alice', 'regress_prod'),
  ('2025-04-01 12:00:00+00', 'regress_fdw_bob', 'converse', 'regress.fdw-model', 100, 100, 200,
   200, NULL, 1, 0, 'arn:aws:sts::111122223333:assumed-role/analysts/pg-regress_fdw_bob', 'regress_prod'),
  ('2025-04-02 09:00:00+00', 'regress_fdw_bob', 'converse', 'regress.fdw-model', 10, 10, 20,
   200, NULL, 1, 0, 'arn:aws:iam::123456789012:user/emulator-user', NULL);
SELECT day, principal_arn, server_name, calls, errors, throttled_calls, throttled_attempts,
       input_tokens, output_tokens, total_tokens, estimated_cost, roles
  FROM bedrock.usage_by_principal
 WHERE day BETWEEN '2025-04-01' AND '2025-04-02' ORDER BY 1, 2;
-- every role sees its own calls only
SET ROLE regress_fdw_bob;
SELECT day, principal_arn, calls FROM bedrock.usage_by_principal
 WHERE day BETWEEN '2025-04-01' AND '2025-04-02' ORDER BY 1, 2;
RESET ROLE;
DELETE FROM bedrock.usage_log WHERE model = 'regress.fdw-model';
DELETE FROM bedrock.model_prices WHERE model = 'regress.fdw-model';

-- bedrock.credentials: the settings' identity first; the superuser's and
-- bedrock_admin's only
SELECT cache, server_name, role_name FROM bedrock.credentials LIMIT 1;
SET ROLE regress_fdw_alice;
SELECT count(*) FROM bedrock.credentials;
RESET ROLE;

-- Roles assumed on top of the server's identity (here the settings' static
-- key of the emulator), with session tags; the credentials worker fetches
-- them into the shared cache.
CREATE SERVER regress_roles FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (region 'us-east-1');
GRANT USAGE ON FOREIGN SERVER regress_roles TO regress_fdw_alice, regress_fdw_bob;
CREATE USER MAPPING FOR regress_fdw_alice SERVER regress_roles
  OPTIONS (role_arn 'arn:aws:iam::123456789012:role/bedrock-caller');
CREATE USER MAPPING FOR regress_fdw_bob SERVER regress_roles
  OPTIONS (role_arn 'arn:aws:iam::123456789012:role/bedrock-partner', external_id 'wrong-external-id');
SET ROLE regress_fdw_alice;
SET bedrock.server = 'regress_roles';
SELECT bedrock_whoami()->>'arn' AS alice_is;
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hello as alice')->>'stop_reason' AS alice_call;
RESET ROLE;
-- the partner role demands its external id: STS refuses bob's
SET ROLE regress_fdw_bob;
SET bedrock.server = 'regress_roles';
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'hello as bob')::text$$);
RESET ROLE;
-- ALTER USER MAPPING takes effect on the next call
ALTER USER MAPPING FOR regress_fdw_bob SERVER regress_roles
  OPTIONS (SET external_id 'partner-external-id');
SET ROLE regress_fdw_bob;
SELECT bedrock_whoami()->>'arn' AS bob_is;
RESET ROLE;
RESET bedrock.server;
SELECT server_name, role_name, principal_arn, source, access_key_id ~ '^ASIA\*{4}' AS masked_key,
       expiration > now() AS valid, refresh_count >= 1 AS fetched
  FROM bedrock.credentials WHERE server_name IS NOT NULL ORDER BY role_name;
DROP USER MAPPING FOR regress_fdw_alice SERVER regress_roles;
DROP USER MAPPING FOR regress_fdw_bob SERVER regress_roles;
DROP SERVER regress_roles;

-- pg_user_mappings shows static keys to the mapped role and to the
-- server's owner only, as for any wrapper
CREATE USER MAPPING FOR regress_fdw_bob SERVER regress_bedrock
  OPTIONS (access_key_id 'AKIAREGRESS0000000001', secret_access_key 'regress-secret-not-for-alice');
SET ROLE regress_fdw_alice;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'regress_bedrock' ORDER BY 1;
RESET ROLE;

-- a mapping's inference_profile is sent in place of on-demand model ids
ALTER USER MAPPING FOR PUBLIC SERVER regress_bedrock
  OPTIONS (ADD inference_profile 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6');
SELECT bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'through a profile', NULL,
                    '{"server": "regress_bedrock"}')->>'stop_reason' AS through_profile;
\! node test/emulator/admin.js stat last.-1.model

DROP USER MAPPING FOR regress_fdw_bob SERVER regress_bedrock;
DROP USER MAPPING FOR PUBLIC SERVER regress_bedrock;
DROP SERVER regress_bedrock;
REVOKE bedrock_user FROM regress_fdw_alice, regress_fdw_bob;
DROP ROLE regress_fdw_alice, regress_fdw_bob;
