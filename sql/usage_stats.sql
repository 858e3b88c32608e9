--
-- usage_stats: bedrock_stats() keeps cumulative counters per model in
-- shared memory (the regress instance preloads the library); every call
-- counts, failures included, and bedrock_stats_reset() starts over.
-- Latencies vary from run to run: only their consistency is shown.
--
\! node test/emulator/admin.js reset

-- a reset forgets every model and stamps the new reset time
SELECT bedrock_stats_reset() AS reset_at \gset
SELECT count(*) AS models FROM bedrock_stats();

-- three calls that succeed, one that fails (returned as NULL)
CREATE TEMP TABLE stats_calls AS
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Count this call: ' || g) AS r
  FROM generate_series(1, 3) g;
SELECT bedrock_chat('openai.no-such-model-v9:0', 'x', NULL, '{"on_error": "null"}') AS failed;

SELECT model, calls, errors, throttled_calls, throttled_attempts, retries,
       input_tokens > 0 AS input_tokens, output_tokens > 0 AS output_tokens,
       total_tokens = input_tokens + output_tokens AS total_is_sum,
       cache_read_input_tokens, cache_write_input_tokens,
       stats_reset = :'reset_at' AS since_reset
  FROM bedrock_stats()
 WHERE model IN ('openai.gpt-oss-20b-1:0', 'openai.no-such-model-v9:0')
 ORDER BY model;

-- the tokens are those the calls returned
SELECT s.input_tokens = sum((c.r->'usage'->>'input_tokens')::bigint) AS input_matches,
       s.output_tokens = sum((c.r->'usage'->>'output_tokens')::bigint) AS output_matches
  FROM bedrock_stats() s, stats_calls c
 WHERE s.model = 'openai.gpt-oss-20b-1:0'
 GROUP BY s.input_tokens, s.output_tokens;

-- latency: min <= mean <= max, mean = total / calls, and the histogram
-- (13 buckets in order, le in ms, null = no upper bound) holds every call
SELECT model,
       min_latency_ms > 0 AND min_latency_ms <= mean_latency_ms
         AND mean_latency_ms <= max_latency_ms AS min_mean_max,
       abs(mean_latency_ms * calls - total_latency_ms) < 1e-6 AS mean_is_total_over_calls,
       (SELECT sum((b->>'count')::bigint) FROM jsonb_array_elements(latency_histogram) b)
         = calls AS histogram_holds_calls
  FROM bedrock_stats()
 WHERE model IN ('openai.gpt-oss-20b-1:0', 'openai.no-such-model-v9:0')
 ORDER BY model;
SELECT h.n, h.le, h.count >= 0 AS has_count
  FROM bedrock_stats() s,
       ROWS FROM (jsonb_to_recordset(s.latency_histogram) AS (le float8, count bigint))
         WITH ORDINALITY AS h(le, count, n)
 WHERE s.model = 'openai.gpt-oss-20b-1:0'
 ORDER BY h.n;

-- throttling: served at the second attempt, then throttled past the
-- attempts (ThrottlingException, NULL)
\! node test/emulator/admin.js fault '{"type":"throttle","count":1}'
SELECT r->'attempts' AS attempts FROM bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'Hi') r;
\! node test/emulator/admin.js fault '{"type":"throttle","count":2}'
SELECT bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'Hi', NULL,
                    '{"max_attempts": 2, "on_error": "null"}') AS throttled;
\! node test/emulator/admin.js clear
SELECT model, calls, errors, throttled_calls, throttled_attempts, retries
  FROM bedrock_stats()
 WHERE model = 'anthropic.claude-3-haiku-20240307-v1:0';

-- who may read and reset
SELECT has_function_privilege('public', 'bedrock_stats()', 'EXECUTE') AS public_reads,
       has_function_privilege('public', 'bedrock_stats_reset()', 'EXECUTE') AS public_resets;

-- a reset zeroes everything: no model is left, and the next call counts
-- from one
SELECT bedrock_stats_reset() > :'reset_at' AS reset_later;
SELECT count(*) AS models FROM bedrock_stats();
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Count this call: 1') IS NOT NULL AS called;
SELECT model, calls, errors, retries,
       (SELECT sum((b->>'count')::bigint) FROM jsonb_array_elements(latency_histogram) b) AS histogram_total
  FROM bedrock_stats();

DROP TABLE stats_calls;
