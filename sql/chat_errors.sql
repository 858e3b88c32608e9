--
-- chat_errors: every class of failure maps to its SQLSTATE, with the AWS
-- code, status and request id in the detail and a hint for the usual
-- causes; on_error turns a failure into NULL or a JSON error instead.
--
\set VERBOSITY default

-- Bedrock's own validation errors
SELECT regress_try($$SELECT bedrock_chat('openai.no-such-model-v9:0', 'Hi')$$);
SELECT regress_try($$SELECT bedrock_chat('anthropic.claude-3-5-haiku-20241022-v1:0', 'Hi')$$);
SELECT regress_try($$SELECT bedrock_chat('amazon.titan-embed-text-v2:0', 'Hi')$$);

-- access not granted
SELECT regress_try($$SELECT bedrock_chat('anthropic.claude-3-opus-20240229-v1:0', 'Hi')$$);

-- errors injected by the emulator, one per class ("count":0 lasts until
-- cleared, so that every retry meets it too)
\! node test/emulator/admin.js fault '{"type":"error","code":"ModelTimeoutException","status":408}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js fault '{"type":"error","code":"ModelErrorException","status":424}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js fault '{"type":"error","code":"ServiceQuotaExceededException","status":400}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js fault '{"type":"error","code":"ResourceNotFoundException","status":404}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js fault '{"type":"error","code":"ExpiredTokenException","status":403}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js fault '{"type":"error","code":"ModelNotReadyException","status":429,"count":0}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js clear
\! node test/emulator/admin.js fault '{"type":"error","code":"InternalServerException","status":500,"count":0}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js clear
\! node test/emulator/admin.js fault '{"type":"status_only","status":502,"count":0}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js clear

-- wrong credentials: unknown key, wrong secret (the secret is never shown)
BEGIN;
SET LOCAL bedrock.access_key_id = 'AKIDNOSUCHKEY0000000';
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
ROLLBACK;
BEGIN;
SET LOCAL bedrock.secret_access_key = 'notTheRightSecret/000000000000000000000000';
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
SELECT position('notTheRightSecret' IN bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"on_error": "json"}')::text) AS secret_in_error;
ROLLBACK;

-- broken responses
\! node test/emulator/admin.js fault '{"type":"malformed"}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js fault '{"type":"truncate","count":0}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js clear
\! node test/emulator/admin.js fault '{"type":"reset","count":0}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js clear

-- a response larger than bedrock.max_response_bytes
BEGIN;
SET LOCAL bedrock.max_response_bytes = 1024;
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: ' || repeat('A long answer. ', 200))$$);
ROLLBACK;

-- nothing listens on the endpoint
BEGIN;
SET LOCAL bedrock.endpoint = 'http://127.0.0.1:1';
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"max_attempts": 1}')$$);
ROLLBACK;

-- TLS is verified and a failed handshake has its own code: the emulator
-- speaks plain HTTP, so https:// to it cannot negotiate TLS
\getenv emulator_port BEDROCK_EMULATOR_PORT
BEGIN;
SELECT set_config('bedrock.endpoint', 'https://127.0.0.1:' || :'emulator_port', true) IS NOT NULL AS set;
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"max_attempts": 1}')$$);
ROLLBACK;

-- a request signed for another region than the endpoint's: the hint
-- names bedrock.region (and its value)
BEGIN;
SET LOCAL bedrock.region = 'eu-west-3';
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"max_attempts": 1}')$$);
ROLLBACK;

-- half a key pair: the message names the setting that is set and the one
-- that is missing, never a value; nothing is sent
\! node test/emulator/admin.js reset
BEGIN;
SET LOCAL bedrock.secret_access_key = '';
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
ROLLBACK;
\! node test/emulator/admin.js stat requests.converse

-- on_error: raise (the default), null, json
SELECT bedrock_chat('openai.no-such-model-v9:0', 'Hi', NULL, '{"on_error": "null"}') IS NULL AS is_null;
SELECT jsonb_pretty(regress_stable(bedrock_chat('openai.no-such-model-v9:0', 'Hi', NULL, '{"on_error": "json"}')));
\! node test/emulator/admin.js fault '{"type":"reset","count":0}'
SELECT jsonb_pretty(regress_stable(bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"on_error": "json"}')));
\! node test/emulator/admin.js clear

-- one bad row does not abort an UPDATE over many
CREATE TABLE notes (id int, model text, summary jsonb);
INSERT INTO notes VALUES (1, 'openai.gpt-oss-20b-1:0'), (2, 'openai.no-such-model-v9:0'), (3, 'openai.gpt-oss-20b-1:0');
UPDATE notes SET summary = bedrock_chat(model, 'Summarize note ' || id, NULL, '{"on_error": "json"}');
SELECT id, summary ? 'text' AS answered, summary->'error'->>'code' AS error_code FROM notes ORDER BY id;
