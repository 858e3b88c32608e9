--
-- converse: bedrock_converse and bedrock_converse_batch send the caller's
-- own Converse request (multi-turn messages, system blocks,
-- inferenceConfig, …) through the engine of bedrock_chat and
-- bedrock_chat_batch, and return the whole response besides the usual
-- members.
--
\! node test/emulator/admin.js reset

-- a conversation: the model answers the last user message, in context
SELECT r->>'text' AS text, r->>'stop_reason' AS stop_reason, r->>'model' AS model,
       r->'response'->>'stopReason' AS raw_stop_reason,
       r->'response'->'output'->'message'->>'role' AS raw_role,
       (r->'usage'->>'input_tokens')::int = (r->'response'->'usage'->>'inputTokens')::int AS same_usage,
       (r->>'attempts')::int AS attempts
  FROM bedrock_converse('openai.gpt-oss-20b-1:0',
         '{"system": [{"text": "You answer in one word."}],
           "messages": [{"role": "user", "content": [{"text": "What colour is the sky?"}]},
                        {"role": "assistant", "content": [{"text": "Blue."}]},
                        {"role": "user", "content": [{"text": "echo: And grass?"}]}],
           "inferenceConfig": {"temperature": 0.2}}') r;
\! node test/emulator/admin.js stat requests.converse

-- inference settings travel in the request
SELECT r->>'stop_reason' AS stop_reason, (r->'usage'->>'output_tokens')::int AS output_tokens
  FROM bedrock_converse('openai.gpt-oss-20b-1:0',
         '{"messages": [{"role": "user", "content": [{"text": "Summarize: the tenant pays rent monthly in advance, the landlord repairs the roof, either party may end the lease with three months notice"}]}],
           "inferenceConfig": {"maxTokens": 3}}') r;

-- Bedrock judges what is in the request: its ValidationException comes
-- back as for bedrock_chat (raised by default, or as on_error says)
SELECT regress_try($$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}')::text$$);
SELECT r->'error'->>'code' AS code, r->'error'->>'sqlstate' AS sqlstate
  FROM bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}', '{"on_error": "json"}') r;
SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}', '{"on_error": "null"}') IS NULL AS is_null;

-- NULL model or request: NULL, without calling Bedrock
\! node test/emulator/admin.js reset
SELECT bedrock_converse(NULL, '{"messages": []}') IS NULL AS null_model,
       bedrock_converse('openai.gpt-oss-20b-1:0', NULL) IS NULL AS null_request;

-- refused before anything is sent: a request that is not an object, the
-- options that shape a request (they belong in it), unknown options, a bad
-- model id
SELECT regress_try($$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '[1, 2]')::text$$);
SELECT regress_try($$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '"hello"')::text$$);
SELECT regress_try($$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}', '{"max_tokens": 10}')::text$$);
SELECT regress_try($$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}', '{"raw": false}')::text$$);
SELECT regress_try($$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}', '{"concurrency": 2}')::text$$);
SELECT regress_try($$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}', '[]')::text$$);
SELECT regress_try($$SELECT bedrock_converse(E'bad\nmodel', '{"messages": []}')::text$$);
\! node test/emulator/admin.js stat requests.converse

-- the call's own options apply
\! node test/emulator/admin.js fault '{"type":"throttle","count":2}'
SELECT (r->>'attempts')::int AS attempts, r ? 'text' AS answered
  FROM bedrock_converse('openai.gpt-oss-20b-1:0',
         '{"messages": [{"role": "user", "content": [{"text": "echo: third time lucky"}]}]}',
         '{"max_attempts": 3, "timeout_ms": 5000}') r;

-- the batch form: one row per request in input order, NULL requests kept
-- as NULL rows, a failing request as an error row
\! node test/emulator/admin.js reset
SELECT ord, response->>'text' AS text, response->'error'->>'code' AS error,
       response->'response'->>'stopReason' AS raw_stop_reason
  FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0',
         ARRAY['{"messages": [{"role": "user", "content": [{"text": "echo: one"}]}]}',
               NULL,
               '{"messages": []}',
               '{"messages": [{"role": "user", "content": [{"text": "echo: four"}]}]}']::jsonb[],
         '{"concurrency": 2}');
\! node test/emulator/admin.js stat requests.converse

-- 100 requests with latency, 16 in flight: every one answered, in order
\! node test/emulator/admin.js fault '{"type":"latency","ms":50,"count":0}'
SELECT count(*) AS rows, count(*) FILTER (WHERE response->>'text' = 'r' || ord) AS in_order
  FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0',
         (SELECT array_agg(jsonb_build_object('messages', jsonb_build_array(
                   jsonb_build_object('role', 'user',
                                      'content', jsonb_build_array(jsonb_build_object('text', 'echo: r' || g)))))
                 ORDER BY g)
            FROM generate_series(1, 100) g),
         '{"concurrency": 16}');
\! node test/emulator/admin.js clear

-- every request is checked before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT count(*) FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0',
         ARRAY['{"messages": [{"role": "user", "content": [{"text": "fine"}]}]}', '42']::jsonb[])$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0',
         ARRAY['{"messages": []}']::jsonb[], '{"temperature": 0.5}')$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0',
         ARRAY['{"messages": []}']::jsonb[], '{"concurrency": 0}')$$);
\! node test/emulator/admin.js stat requests.converse
SELECT count(*) AS rows, count(response) AS answered
  FROM bedrock_converse_batch(NULL, ARRAY['{"messages": []}']::jsonb[]);
SELECT count(*) FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0', NULL);

-- statement_timeout stops the whole batch at once
\! node test/emulator/admin.js fault '{"type":"latency","ms":20000,"count":0}'
SET statement_timeout = '250ms';
SELECT count(*) FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0',
         (SELECT array_agg('{"messages": [{"role": "user", "content": [{"text": "slow"}]}]}'::jsonb)
            FROM generate_series(1, 20)));
RESET statement_timeout;
\! node test/emulator/admin.js clear

-- labels and grants as bedrock_chat's: volatile, parallel safe, costly,
-- and not for PUBLIC
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.procost,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
  FROM pg_proc p
 WHERE p.proname IN ('bedrock_converse', 'bedrock_converse_batch')
 ORDER BY 1;
