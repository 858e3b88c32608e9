--
-- secrets: the credential settings are readable and settable by
-- superusers only; nobody else learns them from SHOW, current_setting(),
-- pg_settings or an error.
--
CREATE ROLE regress_bedrock_user;
CREATE ROLE regress_bedrock_reader IN ROLE pg_read_all_settings;

-- a superuser sees the values, in SHOW and in pg_settings
SHOW bedrock.access_key_id;
SELECT name, setting, context FROM pg_settings
 WHERE name IN ('bedrock.access_key_id', 'bedrock.session_token') ORDER BY name;
SELECT current_setting('bedrock.secret_access_key') <> '' AS superuser_sees_secret;

-- an ordinary role: not shown, not listed, not settable
SET ROLE regress_bedrock_user;
-- (the wording of this error changed in PostgreSQL 16: show its code only)
\set VERBOSITY sqlstate
SHOW bedrock.secret_access_key;
SELECT current_setting('bedrock.session_token');
\set VERBOSITY default
SELECT count(*) AS listed FROM pg_settings WHERE name LIKE 'bedrock.%key%' OR name = 'bedrock.session_token';
SET bedrock.secret_access_key = 'x';
SET bedrock.endpoint = 'http://127.0.0.1:9';
SET bedrock.region = 'eu-west-1';
-- per-call knobs are the user's to choose
SET bedrock.timeout_ms = 5000;
SHOW bedrock.timeout_ms;
-- and bedrock_chat is not executable without a grant
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi');
RESET ROLE;

-- pg_read_all_settings members see that the settings exist, masked
SET ROLE regress_bedrock_reader;
SHOW bedrock.access_key_id;
SHOW bedrock.secret_access_key;
SELECT name, setting FROM pg_settings
 WHERE name IN ('bedrock.access_key_id', 'bedrock.secret_access_key', 'bedrock.session_token')
 ORDER BY name;
RESET ROLE;

-- granted, an ordinary role calls Bedrock with the server's identity
GRANT EXECUTE ON FUNCTION bedrock_chat(text, text, text, jsonb) TO regress_bedrock_user;
SET ROLE regress_bedrock_user;
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')->>'stop_reason' AS stop_reason;
RESET ROLE;

-- a credential with a control character is refused, and not echoed
SET bedrock.session_token = E'abc\r\nX-Injected: 1';
-- the endpoint must be an http(s) base URL
SET bedrock.endpoint = 'ftp://127.0.0.1:21';
SET bedrock.endpoint = 'http://user:pw@127.0.0.1:21';
SET bedrock.endpoint = E'http://127.0.0.1:21/\r\n';
-- the region becomes part of a host name
SET bedrock.region = 'us-east-1.evil.example/';

-- credential settings cannot be stored where every role reads them
-- (pg_db_role_setting, pg_proc)
ALTER ROLE regress_bedrock_user SET bedrock.secret_access_key = 'roleSecretValue';
ALTER ROLE regress_bedrock_user SET bedrock.access_key_id = 'AKIDROLE';
CREATE FUNCTION regress_secret_f() RETURNS int LANGUAGE sql
  SET bedrock.session_token = 'functionTokenValue' AS 'SELECT 1';
-- an empty value stores nothing and is allowed
ALTER ROLE regress_bedrock_user SET bedrock.session_token = '';
ALTER ROLE regress_bedrock_user RESET ALL;

-- bedrock_sign_request is for members of bedrock_admin, not PUBLIC
SET ROLE regress_bedrock_user;
SELECT bedrock_sign_request('GET', 'https://example.com/', NULL, NULL,
  'us-east-1', 'bedrock', 'AKIDEXAMPLE', 'signRequestSecretValue');
RESET ROLE;

REVOKE EXECUTE ON FUNCTION bedrock_chat(text, text, text, jsonb) FROM regress_bedrock_user;
DROP ROLE regress_bedrock_user;
DROP ROLE regress_bedrock_reader;
