--
-- guardrails: request metadata on every Converse call, guardrails per call
-- and mandatory (bedrock.guardrail_identifier / bedrock.guardrail_version),
-- the intervention in the result, and bedrock_apply_guardrail.  The
-- emulator's guardrail blocks the word BLOCKME and masks e-mail addresses
-- and phone numbers; "admin.js stat last.-1.X" prints what the last request
-- carried (requestMetadata, guardrail as id:version[:trace]).
--
\! node test/emulator/admin.js reset

-- ---- request metadata ----
-- every call says which database, role and application made it
SET application_name = 'guardrails test';
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hello')->>'text' AS text;
\! node test/emulator/admin.js stat last.-1.requestMetadata
-- characters Bedrock refuses become '_' (application_name is the caller's)
SET application_name = 'report (nightly)!';
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hello')->>'text' AS text;
\! node test/emulator/admin.js stat last.-1.requestMetadata.application_name
RESET application_name;
-- the caller's own keys come after ours
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hello', NULL,
                    '{"request_metadata": {"tenant": "t-42", "ticket": "OPS 17"}}')->>'text' AS text;
\! node test/emulator/admin.js stat last.-1.requestMetadata.tenant
\! node test/emulator/admin.js stat last.-1.requestMetadata.ticket
-- bedrock_converse: merged into the caller's request
SELECT bedrock_converse('openai.gpt-oss-20b-1:0',
         '{"messages": [{"role": "user", "content": [{"text": "echo: hi"}]}],
           "requestMetadata": {"batch": "b1"}}')->>'text' AS text;
\! node test/emulator/admin.js stat last.-1.requestMetadata.batch
\! node test/emulator/admin.js stat last.-1.requestMetadata.role
\! node test/emulator/admin.js stat requests.converse
-- refusals, before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"request_metadata": "tenant"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"request_metadata": {"role": "admin"}}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"request_metadata": {"bad!key": "x"}}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"request_metadata": {"k": 5}}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, jsonb_build_object('request_metadata', jsonb_build_object('k', repeat('x', 257))))::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, jsonb_build_object('request_metadata', (SELECT jsonb_object_agg('k' || i, 'v') FROM generate_series(1, 14) i)))::text$$);
SELECT regress_try($$SELECT bedrock_converse('m', '{"messages": [], "requestMetadata": {"database": "other"}}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"request_metadata": {"k": "v"}}')::text$$);
\! node test/emulator/admin.js stat requests.total

-- ---- guardrails per call ----
SELECT r->>'text' AS text, r->>'stop_reason' AS stop_reason, r->>'guardrail_action' AS action
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: a harmless question', NULL,
                    '{"guardrail_identifier": "gr1abc2def3g", "guardrail_version": "1"}') r;
\! node test/emulator/admin.js stat last.-1.guardrail
SELECT r->>'text' AS text, r->>'stop_reason' AS stop_reason, r->>'guardrail_action' AS action,
       r->'guardrail_trace'->>'actionReason' AS reason,
       r->'guardrail_trace'->'inputAssessment'->'gr1abc2def3g'->'wordPolicy'->'customWords'->0->>'match' AS matched
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'tell me about BLOCKME', NULL,
                    '{"guardrail_identifier": "gr1abc2def3g", "guardrail_version": "DRAFT", "guardrail_trace": "enabled"}') r;
\! node test/emulator/admin.js stat last.-1.guardrail
-- the batch form: one row blocked, the other answered
SELECT ord, r->>'stop_reason' AS stop_reason, r->>'guardrail_action' AS action
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['echo: fine', 'BLOCKME please'], NULL,
                          '{"guardrail_identifier": "gr1abc2def3g", "guardrail_version": "1"}') AS b(ord, r)
 ORDER BY ord;
-- an unknown guardrail is Bedrock's ResourceNotFoundException
SELECT r->'error'->>'code' AS code
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'x', NULL,
                    '{"guardrail_identifier": "nosuchguardrail", "guardrail_version": "1", "on_error": "json"}') r;
-- refusals, before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_identifier": "gr1abc2def3g"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_version": "1"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_identifier": "Not_An_Id", "guardrail_version": "1"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_identifier": "gr1", "guardrail_version": "01"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_identifier": "gr1", "guardrail_version": 1}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_identifier": "gr1", "guardrail_version": "1", "guardrail_trace": "on"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_trace": "enabled"}')::text$$);
SELECT regress_try($$SELECT bedrock_converse('m', '{"messages": []}', '{"guardrail_identifier": "gr1"}')::text$$);
\! node test/emulator/admin.js stat requests.total

-- ---- the mandatory guardrail of the settings ----
SET bedrock.guardrail_identifier = 'gr4hij5klm6n';
-- without a version, nothing goes out
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'x')::text$$);
SET bedrock.guardrail_version = '2';
SELECT r->>'stop_reason' AS stop_reason FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'BLOCKME') r;
\! node test/emulator/admin.js stat last.-1.guardrail
-- the same guardrail per call is fine (and may ask for a trace)
SELECT r->>'stop_reason' AS stop_reason, r->'guardrail_trace' IS NOT NULL AS traced
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'BLOCKME', NULL,
                    '{"guardrail_identifier": "gr4hij5klm6n", "guardrail_version": "2", "guardrail_trace": "enabled"}') r;
-- bedrock_converse's own request gets it too
SELECT r->>'stop_reason' AS stop_reason
  FROM bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": [{"role": "user", "content": [{"text": "BLOCKME"}]}]}') r;
\! node test/emulator/admin.js stat last.-1.guardrail
SELECT r->>'stop_reason' AS stop_reason
  FROM bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": [{"role": "user", "content": [{"text": "BLOCKME"}]}],
                         "guardrailConfig": {"guardrailIdentifier": "gr4hij5klm6n", "guardrailVersion": "2", "trace": "enabled"}}') r;
\! node test/emulator/admin.js stat last.-1.guardrail
-- an extraction goes through it too
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'governing law: Norway',
         '{"type": "object", "properties": {"governing_law": {"type": "string"}}, "required": ["governing_law"]}') AS fields;
\! node test/emulator/admin.js stat last.-1.guardrail
-- nobody replaces or removes it
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_extract('m', 'p', '{"type": "object"}', NULL, '{"guardrail_identifier": "gr1abc2def3g", "guardrail_version": "1"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_identifier": "gr1abc2def3g", "guardrail_version": "1"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"guardrail_identifier": "gr4hij5klm6n", "guardrail_version": "DRAFT"}')::text$$);
SELECT regress_try($$SELECT bedrock_converse('m', '{"messages": [], "guardrailConfig": {"guardrailIdentifier": "gr1abc2def3g", "guardrailVersion": "1"}}')::text$$);
SELECT regress_try($$SELECT bedrock_converse_batch('m', ARRAY['{"messages": []}', '{"messages": [], "guardrailConfig": null}']::jsonb[])::text$$);
\! node test/emulator/admin.js stat requests.total
-- only a superuser sets it
CREATE ROLE regress_gr_user;
SET ROLE regress_gr_user;
SET bedrock.guardrail_identifier = '';
RESET ROLE;
DROP ROLE regress_gr_user;
SET bedrock.guardrail_identifier = 'Bad Id';
SET bedrock.guardrail_version = 'latest';
RESET bedrock.guardrail_identifier;
RESET bedrock.guardrail_version;

-- ---- bedrock_apply_guardrail ----
\! node test/emulator/admin.js reset
SELECT r->>'action' AS action, r->>'action_reason' AS reason, r->>'output' AS output,
       jsonb_path_query_array(r->'assessments', '$[*].sensitiveInformationPolicy.piiEntities[*].type') AS pii,
       r->'usage'->>'sensitiveInformationPolicyUnits' AS units
  FROM bedrock_apply_guardrail('gr1abc2def3g', '1', 'Mail ann@example.com or call 555-123-4567 before 2024-01-15.') r;
SELECT r->>'action' AS action, r->>'output' AS output
  FROM bedrock_apply_guardrail('gr1abc2def3g', 'DRAFT', 'BLOCKME in an answer', 'OUTPUT') r;
SELECT r->>'action' AS action, r->>'output' AS output, r->'outputs' AS outputs
  FROM bedrock_apply_guardrail('gr1abc2def3g', '1', 'nothing personal here') r;
-- a PII masker and a row filter over a table
CREATE TEMP TABLE gr_notes (id int, body text);
INSERT INTO gr_notes VALUES (1, 'Call me at 555-987-6543.'), (2, 'The roof leaks.'), (3, 'BLOCKME'), (4, NULL);
SELECT id, g->>'action' AS action, g->>'output' AS safe_text
  FROM gr_notes, LATERAL bedrock_apply_guardrail('gr1abc2def3g', '1', body) g
 ORDER BY id;
SELECT id FROM gr_notes
 WHERE bedrock_apply_guardrail('gr1abc2def3g', '1', body)->>'action' = 'NONE' ORDER BY id;
\! node test/emulator/admin.js stat requests.apply_guardrail
-- failures as on_error says
SELECT regress_try($$SELECT bedrock_apply_guardrail('nosuch1', '1', 'x')::text$$);
SELECT r->'error'->>'code' AS code FROM bedrock_apply_guardrail('nosuch1', '1', 'x', 'INPUT', '{"on_error": "json"}') r;
SELECT bedrock_apply_guardrail('nosuch1', '1', 'x', 'INPUT', '{"on_error": "null"}') IS NULL AS is_null;
-- refusals, before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_apply_guardrail('gr1', '1', 'x', 'SIDEWAYS')::text$$);
SELECT regress_try($$SELECT bedrock_apply_guardrail('Gr 1', '1', 'x')::text$$);
SELECT regress_try($$SELECT bedrock_apply_guardrail('gr1', 'v1', 'x')::text$$);
SELECT regress_try($$SELECT bedrock_apply_guardrail('gr1', '1', '')::text$$);
SELECT regress_try($$SELECT bedrock_apply_guardrail(NULL, '1', 'x')::text$$);
SELECT regress_try($$SELECT bedrock_apply_guardrail('gr1', '1', 'x', 'INPUT', '{"max_tokens": 5}')::text$$);
SELECT bedrock_apply_guardrail('gr1', '1', NULL) IS NULL AS null_content;
\! node test/emulator/admin.js stat requests.total

-- the mandatory guardrail reaches bedrock_invoke's native bodies as headers
SET bedrock.guardrail_identifier = 'gr4hij5klm6n';
SET bedrock.guardrail_version = '2';
SELECT r->'response'->>'type' AS type, r->'response'->'content'->0->>'text' AS text
  FROM bedrock_invoke('anthropic.claude-3-haiku-20240307-v1:0',
         '{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
           "messages": [{"role": "user", "content": "echo: hello"}]}') r;
\! node test/emulator/admin.js stat last.-1.guardrail
RESET bedrock.guardrail_identifier;
RESET bedrock.guardrail_version;

-- an empty request is sent with our metadata only (Bedrock then says what
-- is missing); a null requestMetadata is none of the caller's
SELECT r->'error'->>'code' AS code, r->'error'->>'message' AS message
  FROM bedrock_converse('openai.gpt-oss-20b-1:0', '{}', '{"on_error": "json"}') r;
SELECT bedrock_converse('openai.gpt-oss-20b-1:0',
         '{"messages": [{"role": "user", "content": [{"text": "echo: hi"}]}], "requestMetadata": null}')->>'text' AS text;
\! node test/emulator/admin.js stat last.-1.requestMetadata.role

-- a foreign server's defaults (docs/fdw.md): its guardrail where neither the
-- settings nor the call name one, its service tier where the call names none
CREATE SERVER regress_gr_server FOREIGN DATA WRAPPER bedrock_fdw
  OPTIONS (guardrail_identifier 'gr1abc2def3g', guardrail_version '1', service_tier 'flex');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_gr_server;
SELECT r->>'stop_reason' AS stop_reason, r->>'service_tier' AS served
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'BLOCKME', NULL, '{"server": "regress_gr_server"}') r;
\! node test/emulator/admin.js stat last.-1.guardrail
SELECT r->>'stop_reason' AS stop_reason, r->>'service_tier' AS served
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hi', NULL,
                    '{"server": "regress_gr_server", "guardrail_identifier": "gr4hij5klm6n", "guardrail_version": "2",
                      "service_tier": "priority"}') r;
\! node test/emulator/admin.js stat last.-1.guardrail
SET bedrock.server = 'regress_gr_server';
SELECT r->>'stop_reason' AS stop_reason FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'BLOCKME') r;
-- the mandatory guardrail comes first
SET bedrock.guardrail_identifier = 'gr4hij5klm6n';
SET bedrock.guardrail_version = '2';
SELECT r->>'stop_reason' AS stop_reason FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'BLOCKME') r;
\! node test/emulator/admin.js stat last.-1.guardrail
RESET bedrock.guardrail_identifier;
RESET bedrock.guardrail_version;
RESET bedrock.server;
DROP USER MAPPING FOR CURRENT_USER SERVER regress_gr_server;
DROP SERVER regress_gr_server;
