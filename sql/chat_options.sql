--
-- chat_options: every option of bedrock_chat, and bad options.
--
-- max_tokens caps the answer
SELECT r->>'stop_reason' AS stop_reason, (r->'usage'->>'output_tokens')::int <= 3 AS capped
  FROM bedrock_chat('openai.gpt-oss-20b-1:0',
                    'Summarize: the tenant shall keep the premises in good repair at all times.',
                    NULL, '{"max_tokens": 3}') r;

-- temperature and top_p are accepted in range
SELECT bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'Hello',
                    NULL, '{"temperature": 0, "top_p": 1}')->>'stop_reason' AS stop_reason;
SELECT bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'Hello',
                    NULL, '{"temperature": 0.7, "top_p": 0.25}')->>'stop_reason' AS stop_reason;

-- stop_sequences cut the answer where the model would print them
WITH full_answer AS (
  SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: payment terms are net thirty days.')->>'text' AS t
)
SELECT r->>'stop_reason' AS stop_reason,
       length(r->>'text') < length(t) AS shorter
  FROM full_answer,
       LATERAL bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: payment terms are net thirty days.',
                            NULL, jsonb_build_object('stop_sequences',
                                                     jsonb_build_array(split_part(t, ' ', 3)))) r;

-- raw adds the whole Converse response
SELECT r->'response' ? 'output' AS has_output, r->'response' ? 'metrics' AS has_metrics,
       r->'response'->'usage' = jsonb_build_object('inputTokens', r->'usage'->'input_tokens',
                                                   'outputTokens', r->'usage'->'output_tokens',
                                                   'totalTokens', r->'usage'->'total_tokens') AS usage_matches
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hello', NULL, '{"raw": true}') r;
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hello', NULL, '{"raw": false}') ? 'response' AS has_response;

-- timeout_ms bounds each attempt
\! node test/emulator/admin.js fault '{"type":"latency","ms":3000,"count":3}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'slow', NULL,
                          '{"timeout_ms": 200, "max_attempts": 1}')$$);
\! node test/emulator/admin.js clear

-- additional_model_request_fields pass through to the model
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hello', NULL,
                    '{"additional_model_request_fields": {"reasoning_effort": "low"}}')->>'stop_reason' AS stop_reason;

-- explicit nulls mean "the default"
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hello', NULL,
                    '{"max_tokens": null, "on_error": null}')->>'stop_reason' AS stop_reason;

-- bad options: named, typed, in range
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"max_token": 5}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"max_tokens": "5"}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"max_tokens": 2.5}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"max_tokens": 0}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"temperature": "hot"}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"temperature": 1.5}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"top_p": -0.1}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"stop_sequences": "END"}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"stop_sequences": ["END", 7]}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"stop_sequences": [""]}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"timeout_ms": -1}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"max_attempts": 11}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"on_error": "ignore"}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"on_error": true}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"raw": "yes"}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"additional_model_request_fields": [1]}')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '[1, 2]')$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '"raw"')$$);
