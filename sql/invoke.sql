--
-- invoke: bedrock_invoke and bedrock_invoke_batch send a model's native
-- InvokeModel body and return its response with the facts of the call
-- (request id, attempts, latency, usage from the token-count headers).
--
\! node test/emulator/admin.js reset

-- Anthropic's Messages body
SELECT r->'response'->>'type' AS type,
       r->'response'->'content'->0->>'type' AS content_type,
       r->>'model' AS model,
       (r->'usage'->>'input_tokens')::int = (r->'response'->'usage'->>'input_tokens')::int AS input_tokens_match,
       (r->'usage'->>'output_tokens')::int = (r->'response'->'usage'->>'output_tokens')::int AS output_tokens_match,
       (r->'usage'->>'total_tokens')::int = (r->'usage'->>'input_tokens')::int + (r->'usage'->>'output_tokens')::int AS total_is_sum,
       (r->>'request_id') ~ '^[0-9a-f-]{36}$' AS has_request_id,
       (r->>'attempts')::int AS attempts,
       jsonb_typeof(r->'latency_ms') AS latency,
       jsonb_typeof(r->'service_latency_ms') AS service_latency
  FROM bedrock_invoke('anthropic.claude-3-haiku-20240307-v1:0',
         '{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
           "messages": [{"role": "user", "content": "echo: hello"}]}') r;
-- an embedding model: no output-token header, output_tokens null
SELECT jsonb_array_length(r->'response'->'embedding') AS dims,
       r->'usage' AS usage
  FROM bedrock_invoke('amazon.titan-embed-text-v2:0', '{"inputText": "hello world", "dimensions": 256}') r;
\! node test/emulator/admin.js stat requests.invoke

-- Bedrock judges the body: its ValidationException, raised or as on_error says
SELECT regress_try($$SELECT bedrock_invoke('amazon.titan-embed-text-v2:0', '{"text": "x"}')::text$$);
SELECT r->'error'->>'code' AS code, r->'error'->>'sqlstate' AS sqlstate
  FROM bedrock_invoke('amazon.titan-embed-text-v2:0', '{"text": "x"}', '{"on_error": "json"}') r;
SELECT bedrock_invoke('amazon.titan-embed-text-v2:0', '{"text": "x"}', '{"on_error": "null"}') IS NULL AS is_null;

-- refusals before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_invoke('amazon.titan-embed-text-v2:0', '[1, 2]')::text$$);
SELECT regress_try($$SELECT bedrock_invoke('amazon.titan-embed-text-v2:0', '{"inputText": "x"}', '{"max_tokens": 10}')::text$$);
SELECT regress_try($$SELECT bedrock_invoke('amazon.titan-embed-text-v2:0', '{"inputText": "x"}', '{"dimensions": 256}')::text$$);
SELECT regress_try($$SELECT bedrock_invoke('', '{"inputText": "x"}')::text$$);
SELECT bedrock_invoke(NULL, '{}') IS NULL AS null_model,
       bedrock_invoke('amazon.titan-embed-text-v2:0', NULL) IS NULL AS null_body;
\! node test/emulator/admin.js stat requests.invoke

-- a response body that is not JSON is a failure of the call
\! node test/emulator/admin.js fault '{"type": "malformed", "route": "invoke", "body": "not json"}'
SELECT r->'error'->>'code' AS code
  FROM bedrock_invoke('amazon.titan-embed-text-v2:0', '{"inputText": "x"}', '{"on_error": "json"}') r;

-- bedrock_invoke_batch: one row per body in order, NULL for NULL,
-- failures as JSON rows by default
\! node test/emulator/admin.js reset
SELECT ord, jsonb_array_length(response->'response'->'embedding') AS dims,
       response->'error'->>'code' AS error
  FROM bedrock_invoke_batch('amazon.titan-embed-text-v2:0',
         ARRAY['{"inputText": "a", "dimensions": 256}', NULL,
               '{"inputText": ""}', '{"inputText": "d", "dimensions": 512}']::jsonb[],
         '{"concurrency": 2}');
\! node test/emulator/admin.js stat requests.invoke
SELECT regress_try($$SELECT count(*) FROM bedrock_invoke_batch('amazon.titan-embed-text-v2:0', ARRAY['{"inputText": "a"}', '"x"']::jsonb[])$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_invoke_batch('amazon.titan-embed-text-v2:0', ARRAY['{"inputText": ""}']::jsonb[], '{"on_error": "raise"}')$$);
SELECT count(*) AS no_rows FROM bedrock_invoke_batch('amazon.titan-embed-text-v2:0', NULL);

-- usage rows of operation "invoke" carry the header counts
SELECT model, calls > 0 AS called, input_tokens > 0 AS input_tokens
  FROM bedrock_stats()
 WHERE model = 'anthropic.claude-3-haiku-20240307-v1:0';
