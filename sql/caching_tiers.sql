--
-- caching_tiers: option "cache" puts a cachePoint after the system prompt
-- (the emulator writes a prefix of 1,024 tokens or more on the first call
-- and reads it on later ones), options and settings service_tier and
-- latency go out as serviceTier and performanceConfig, and the usage views
-- and bedrock.call_cost price cached tokens and the tier that served.
--
\! node test/emulator/admin.js reset
-- a long shared instruction: about 1,500 tokens
SELECT 'You extract the governing law of a contract. ' || repeat('Answer with the country only. ', 200) AS sys \gset

-- ---- prompt caching ----
SELECT r->'usage' AS usage
  FROM bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: contract one', :'sys', '{"cache": true}') r;
\! node test/emulator/admin.js stat last.-1.cachePoint
SELECT r->'usage' AS usage
  FROM bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: contract two', :'sys', '{"cache": true}') r;
-- a batch shares the prefix: every call reads it
SELECT ord, (r->'usage'->>'cache_read_input_tokens')::int AS cache_read,
       (r->'usage'->>'cache_write_input_tokens')::int AS cache_write
  FROM bedrock_chat_batch('anthropic.claude-3-haiku-20240307-v1:0',
         ARRAY['echo: a', 'echo: b', 'echo: c'], :'sys', '{"cache": true, "concurrency": 1}') AS b(ord, r)
 ORDER BY ord;
-- an extraction caches its tool (the schema) after the system prompt too
SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0', 'governing law: Norway',
         '{"type": "object", "properties": {"governing_law": {"type": "string"}}, "required": ["governing_law"]}',
         :'sys', '{"method": "tool", "cache": true}') AS fields;
\! node test/emulator/admin.js stat last.-1.cachePoint
\! node test/emulator/admin.js stat last.-1.toolsCachePoint
-- a TTL of one hour is another cache entry: written again
SELECT (r->'usage'->>'cache_write_input_tokens')::int AS cache_write
  FROM bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: x', :'sys', '{"cache": "1h"}') r;
\! node test/emulator/admin.js stat last.-1.cachePoint
-- no cache option, or false, or no system prompt: no cache point
SELECT r->'usage' AS usage
  FROM bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: x', :'sys', '{"cache": false}') r;
\! node test/emulator/admin.js stat last.-1.cachePoint
SELECT r->'usage' AS usage
  FROM bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: x', NULL, '{"cache": "5m"}') r;
-- refusals, before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_chat('m', 'p', 's', '{"cache": "2h"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', 's', '{"cache": 300}')::text$$);
SELECT regress_try($$SELECT bedrock_converse('m', '{"messages": []}', '{"cache": true}')::text$$);
\! node test/emulator/admin.js stat requests.total

-- ---- service tiers and latency ----
SELECT r->>'service_tier' AS served, r->>'text' AS text
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hi', NULL, '{"service_tier": "flex", "latency": "optimized"}') r;
\! node test/emulator/admin.js stat last.-1.serviceTier
\! node test/emulator/admin.js stat last.-1.latency
-- the settings are the defaults; an option overrides them
SET bedrock.service_tier = 'priority';
SET bedrock.latency = 'standard';
SELECT r->>'service_tier' AS served FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hi') r;
\! node test/emulator/admin.js stat last.-1.latency
SELECT r->>'service_tier' AS served FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hi', NULL, '{"service_tier": "default"}') r;
RESET bedrock.service_tier;
RESET bedrock.latency;
-- none asked: none sent, none reported
SELECT r ? 'service_tier' AS has_tier FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hi') r;
\! node test/emulator/admin.js stat last.-1.serviceTier
-- refusals
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"service_tier": "cheap"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"latency": "fast"}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"service_tier": true}')::text$$);
\! node test/emulator/admin.js stat requests.total
SET bedrock.service_tier = 'cheap';
SET bedrock.latency = 'fast';

-- ---- bedrock_enrich: the same options, and its job id as request metadata ----
\! node test/emulator/admin.js reset
CREATE TABLE ct_notes (id int PRIMARY KEY, body text, answer jsonb);
INSERT INTO ct_notes SELECT i, 'note ' || i FROM generate_series(1, 3) i;
CALL bedrock_enrich('ct_notes', 'answer', $$'echo: ' || body$$, 'anthropic.claude-3-haiku-20240307-v1:0',
                    :'sys', '{"cache": true, "service_tier": "flex", "concurrency": 1,
                              "request_metadata": {"team": "legal"}}');
SELECT id, answer->>'text' AS text, answer->>'service_tier' AS served,
       (answer->'usage'->>'cache_read_input_tokens')::int > 1024 AS cache_read
  FROM ct_notes ORDER BY id;
\set sent_job `node test/emulator/admin.js stat last.-1.requestMetadata.enrich_job_id`
SELECT :'sent_job' = (SELECT max(job_id)::text FROM bedrock.enrich_jobs) AS job_id_sent;
\! node test/emulator/admin.js stat last.-1.requestMetadata.team
\! node test/emulator/admin.js stat last.-1.cachePoint
DROP TABLE ct_notes;

-- ---- prices of cached tokens and tiers ----
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k, effective_from)
VALUES ('regress.cache-model', 1.00, 4.00, '-infinity');
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k, cache_read_per_1k, cache_write_per_1k, effective_from)
VALUES ('regress.cache-model-own', 1.00, 4.00, 0.05, 2.00, '-infinity');
SELECT model, cache_read_per_1k, cache_write_per_1k FROM bedrock.price_periods
 WHERE model LIKE 'regress.cache-model%' ORDER BY 1;
-- 1,000 input, 1,000 output, 10,000 cache read, 2,000 cache write tokens
SELECT m AS model, t AS tier,
       bedrock.call_cost(m, now(), 1000, 1000, 10000, 2000, t) AS cost
  FROM unnest(ARRAY['regress.cache-model', 'regress.cache-model-own']) m,
       unnest(ARRAY[NULL, 'default', 'flex', 'priority']) t
 ORDER BY 1, 2 NULLS FIRST;
SELECT bedrock.call_cost('regress.cache-model', now(), 1000, 1000) AS four_arguments,
       bedrock.call_cost('regress.no-price', now(), 1000, 1000, 0, 0) AS no_price;
-- the usage views price each row by its cached tokens and tier
INSERT INTO bedrock.usage_log
       (called_at, role_name, operation, model, input_tokens, output_tokens, total_tokens,
        cache_read_input_tokens, cache_write_input_tokens, service_tier, http_status, attempts, throttled_attempts)
VALUES
  ('2025-05-01 10:00:00+00', 'regress_cache', 'converse', 'regress.cache-model', 1000, 1000, 4000, 0, 2000, 'default', 200, 1, 0),
  ('2025-05-01 10:01:00+00', 'regress_cache', 'converse', 'regress.cache-model', 1000, 1000, 12000, 10000, 0, 'flex', 200, 1, 0),
  ('2025-05-01 10:02:00+00', 'regress_cache', 'converse', 'regress.cache-model', 1000, 1000, 2000, NULL, NULL, 'priority', 200, 1, 0),
  ('2025-05-01 10:03:00+00', 'regress_cache', 'batch', 'regress.cache-model', 1000, 1000, 2000, NULL, NULL, NULL, 200, 1, 0);
SELECT model, calls, input_tokens, cache_read_input_tokens, cache_write_input_tokens, estimated_cost
  FROM bedrock.usage_summary WHERE model = 'regress.cache-model';
SELECT role_name, calls, estimated_cost FROM bedrock.usage_by_role WHERE role_name = 'regress_cache';
SELECT day, calls, estimated_cost FROM bedrock.usage_by_principal WHERE day = '2025-05-01';
DELETE FROM bedrock.usage_log WHERE model = 'regress.cache-model';
DELETE FROM bedrock.model_prices WHERE model LIKE 'regress.cache-model%';
