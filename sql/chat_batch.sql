--
-- chat_batch: bedrock_chat_batch keeps many requests in flight and
-- returns one row per prompt, in input order.
--
\! node test/emulator/admin.js reset

-- input order, NULL prompts kept as NULL rows, results as bedrock_chat's
SELECT ord, response->>'text' AS text, response->>'stop_reason' AS stop_reason
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0',
                          ARRAY['echo: first', 'echo: second', NULL, 'echo: fourth'],
                          NULL, '{"concurrency": 4}');
\! node test/emulator/admin.js stat requests.converse

-- the same text as one call at a time
SELECT b.response->>'text' = bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: net thirty days')->>'text' AS same
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['Summarize: net thirty days']) b;

-- 200 prompts with latency, 16 in flight: every one answered, in order
\! node test/emulator/admin.js fault '{"type":"latency","ms":50,"count":0}'
SELECT count(*) AS rows, count(*) FILTER (WHERE response->>'text' = 'p' || ord) AS in_order
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0',
                          (SELECT array_agg('echo: p' || g ORDER BY g) FROM generate_series(1, 200) g),
                          NULL, '{"concurrency": 16}');
\! node test/emulator/admin.js clear

-- a failing prompt gives an error row (on_error "json" is the batch default)
SELECT ord, response ? 'text' AS answered, response->'error'->>'code' AS error
  FROM bedrock_chat_batch('openai.no-such-model-v9:0', ARRAY['a', 'b'])
 ORDER BY ord;
\! node test/emulator/admin.js fault '{"type":"error","code":"ModelErrorException","status":424,"count":1}'
SELECT count(*) FILTER (WHERE response ? 'text') AS answered,
       count(*) FILTER (WHERE response->'error'->>'code' = 'ModelErrorException') AS failed
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['a', 'b', 'c', 'd'], NULL, '{"concurrency": 1}');
-- on_error "null" and "raise" as in bedrock_chat
SELECT ord, response IS NULL AS is_null
  FROM bedrock_chat_batch('openai.no-such-model-v9:0', ARRAY['a'], NULL, '{"on_error": "null"}');
SELECT regress_try($$SELECT count(*) FROM bedrock_chat_batch('openai.no-such-model-v9:0', ARRAY['a'], NULL, '{"on_error": "raise"}')$$);

-- a throttling storm: every call is throttled for a while; with enough
-- attempts every prompt ends answered
\! node test/emulator/admin.js reset
\! node test/emulator/admin.js fault '{"type":"throttle","count":20}'
SELECT count(*) AS rows, count(*) FILTER (WHERE response ? 'text') AS answered,
       sum((response->>'attempts')::int) - count(*) AS retries
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0',
                          (SELECT array_agg('storm ' || g) FROM generate_series(1, 20) g),
                          NULL, '{"concurrency": 8, "max_attempts": 10}');
\! node test/emulator/admin.js stat requests.converse

-- NULL model, NULL or empty array
SELECT count(*) AS rows, count(response) AS answered
  FROM bedrock_chat_batch(NULL, ARRAY['a', 'b']);
SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', NULL);
SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', '{}');

-- bad input is refused before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['a', ''])$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['a'], NULL, '{"concurrency": 0}')$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['a'], NULL, '{"concurrency": 10000}')$$);
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'a', NULL, '{"concurrency": 2}')$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_chat_batch(E'bad\nmodel', ARRAY['a'])$$);
\! node test/emulator/admin.js stat requests.converse

-- statement_timeout stops the whole batch at once
\! node test/emulator/admin.js fault '{"type":"latency","ms":20000,"count":0}'
SET statement_timeout = '250ms';
SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0',
                                        (SELECT array_agg('slow ' || g) FROM generate_series(1, 50) g));
RESET statement_timeout;
\! node test/emulator/admin.js clear
SELECT count(*) FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['after', 'cancel']);
