--
-- cost_estimate: know the cost first.  bedrock_count_tokens counts the
-- input tokens of the request bedrock_chat would send (CountTokens),
-- bedrock_enrich_estimate and bedrock_enrich(dry_run => true) tell what an
-- enrichment would do and cost without calling the model.
--
\! node test/emulator/admin.js reset

-- the count is what the same bedrock_chat call is billed as input
SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0',
                            'Summarize the renewal terms of this contract.') AS counted,
       (bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0',
                     'Summarize the renewal terms of this contract.')->'usage'->>'input_tokens')::int AS billed;
SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'What is the governing law?',
                            'You are a careful paralegal who answers in one word.') AS counted,
       (bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'What is the governing law?',
                     'You are a careful paralegal who answers in one word.')->'usage'->>'input_tokens')::int AS billed;
-- bedrock_chat's options are taken, so one options object serves both; an
-- empty system prompt is no system prompt, as for bedrock_chat
SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'hello', '',
         '{"max_tokens": 5, "temperature": 0.1, "timeout_ms": 5000,
           "additional_model_request_fields": {"top_k": 5}}') AS with_options;
-- counting invokes nothing: a model without on-demand throughput counts;
-- the call leaves one usage row (operation count_tokens, no token counts)
SELECT pushed AS pushed_before FROM bedrock_usage_queue() \gset
SELECT bedrock_count_tokens('anthropic.claude-3-5-haiku-20241022-v1:0', 'hello') AS not_on_demand;
SELECT pushed - :pushed_before AS usage_rows FROM bedrock_usage_queue();
-- NULL model or prompt: NULL, nothing sent
SELECT bedrock_count_tokens(NULL, 'x') IS NULL AS null_model,
       bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', NULL) IS NULL AS null_prompt;
\! node test/emulator/admin.js stat requests.count_tokens
\! node test/emulator/admin.js stat requests.converse

-- a provider without CountTokens: Bedrock's ValidationException, as
-- feature_not_supported with the way out; on_error "null" gives NULL
SELECT regress_try($$SELECT bedrock_count_tokens('openai.gpt-oss-20b-1:0', 'hello')$$);
SELECT bedrock_count_tokens('openai.gpt-oss-20b-1:0', 'hello', NULL, '{"on_error": "null"}') IS NULL AS is_null;
-- other failures are Bedrock's errors as for every call
SELECT regress_try($$SELECT bedrock_count_tokens('anthropic.claude-3-opus-20240229-v1:0', 'hello')$$);
-- retried like every call
\! node test/emulator/admin.js fault '{"type": "throttle", "route": "count_tokens", "count": 1}'
SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'hello') AS after_a_throttle;
\! node test/emulator/admin.js stat requests.count_tokens

-- refused before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_count_tokens('us.anthropic.claude-3-5-haiku-20241022-v1:0', 'hello')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0', 'hello')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/1arbu5hu2sjr', 'hello')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('', 'hello')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', '')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'x', NULL, '{"on_error": "json"}')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'x', NULL, '{"max_token": 5}')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'x', NULL, '{"concurrency": 5}')$$);
SELECT regress_try($$SELECT bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'x', NULL, '[1]')$$);
\! node test/emulator/admin.js stat requests.count_tokens
SELECT pushed - :pushed_before AS usage_rows_since FROM bedrock_usage_queue();

-- which model CountTokens counts for a model id (no call)
SELECT m AS model, bedrock.count_tokens_model(m) AS counts_with
  FROM unnest(ARRAY['anthropic.claude-3-haiku-20240307-v1:0',
                    'us.anthropic.claude-3-5-haiku-20241022-v1:0',
                    'global.anthropic.claude-3-5-haiku-20241022-v1:0',
                    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
                    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-3-5-haiku-20241022-v1:0',
                    'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/1arbu5hu2sjr',
                    'openai.gpt-oss-20b-1:0',
                    'us.amazon.nova-lite-v1:0']) m;

-- bedrock_enrich_estimate: 8 rows, 2 already done: 6 rows to do; the
-- prompt of one is NULL (no body), which a run skips: 5 to call
\! node test/emulator/admin.js reset
CREATE TABLE cost_contracts (id int, body text, summary text, facts jsonb, embedding real[]);
INSERT INTO cost_contracts (id, body)
SELECT g, CASE g WHEN 7 THEN NULL WHEN 8 THEN '' ELSE 'Clause ' || g || ': ' || repeat('term ', 10 * g) END
  FROM generate_series(1, 8) g;
UPDATE cost_contracts SET summary = 'done' WHERE id IN (1, 2);

-- an Anthropic model: CountTokens on every row (the sample covers them
-- all), so the estimate is the exact sum of the counts
SELECT rows_to_do, rows_to_call, sample_rows, est_input_tokens, est_output_tokens,
       est_cost, currency, input_basis, output_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$,
                               'anthropic.claude-3-haiku-20240307-v1:0', 'Be brief.');
SELECT sum(bedrock_count_tokens('anthropic.claude-3-haiku-20240307-v1:0', 'Summarize: ' || body, 'Be brief.')) AS exact_sum
  FROM cost_contracts WHERE summary IS NULL AND body IS NOT NULL;
\! node test/emulator/admin.js stat requests.count_tokens
\! node test/emulator/admin.js stat requests.converse
-- an inference profile is counted with its foundation model
SELECT est_input_tokens, input_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$,
                               'us.anthropic.claude-3-5-haiku-20241022-v1:0', 'Be brief.');
-- a model without CountTokens: 1 token per 4 characters of prompt and
-- system, which for the emulator is what its Converse bills
SELECT est_input_tokens, input_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$,
                               'openai.gpt-oss-20b-1:0', 'Be brief.');
SELECT sum(ceil((char_length('Summarize: ' || body) + char_length('Be brief.')) / 4.0))::bigint AS by_hand,
       sum((bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: ' || body, 'Be brief.')->'usage'->>'input_tokens')::int) AS billed
  FROM cost_contracts WHERE summary IS NULL AND body IS NOT NULL;

-- output tokens and cost for a model with a price and no history: the
-- default, then max_tokens; then with history (the model's successful
-- Converse calls in bedrock.usage_log; failures and other operations do
-- not count)
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k, currency)
VALUES ('regress.cost-model', 0.25, 1.25, 'USD');
SELECT est_input_tokens, est_output_tokens, est_cost, currency, output_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$, 'regress.cost-model');
SELECT est_output_tokens, est_cost, output_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$, 'regress.cost-model',
                               options => '{"max_tokens": 50, "concurrency": 4}');
INSERT INTO bedrock.usage_log (called_at, role_name, operation, model, input_tokens, output_tokens,
                               total_tokens, error_code, attempts)
VALUES (now() - interval '3 minutes', current_user, 'converse', 'regress.cost-model', 100, 30, 130, NULL, 1),
       (now() - interval '2 minutes', current_user, 'converse', 'regress.cost-model', 100, 50, 150, NULL, 1),
       (now() - interval '1 minute', current_user, 'converse', 'regress.cost-model', 100, 900, 1000, 'ModelErrorException', 1),
       (now() - interval '1 minute', current_user, 'count_tokens', 'regress.cost-model', NULL, NULL, NULL, NULL, 1);
SELECT est_input_tokens, est_output_tokens, est_cost, bedrock.call_cost('regress.cost-model', now(), est_input_tokens, est_output_tokens) AS call_cost,
       output_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$, 'regress.cost-model',
                               options => '{"max_tokens": 50}');
-- no price: the cost is unknown, the tokens are still estimated
SELECT est_input_tokens > 0 AS has_input, est_cost, currency
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$, 'regress.unpriced-model');

-- a sample: 3 of the 5 prompts (all of one length, so the extrapolation is exact)
UPDATE cost_contracts SET body = 'Clause: ' || repeat('term ', 20) WHERE body IS NOT NULL;
SELECT rows_to_call, sample_rows, est_input_tokens, input_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'summary', $$'Summarize: ' || body$$, 'regress.cost-model',
                               sample_size => 3);
-- an embedding column: input tokens only
SELECT rows_to_do, rows_to_call, est_input_tokens, est_output_tokens, input_basis, output_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'embedding', 'body', 'amazon.titan-embed-text-v2:0');
-- nothing to do
UPDATE cost_contracts SET facts = '{}';
SELECT rows_to_do, rows_to_call, sample_rows, est_input_tokens, est_output_tokens, input_basis
  FROM bedrock_enrich_estimate('cost_contracts', 'facts', $$'Summarize: ' || body$$, 'regress.cost-model');
UPDATE cost_contracts SET facts = NULL;

-- bad arguments
SELECT regress_try($$SELECT rows_to_do FROM bedrock_enrich_estimate('cost_contracts', 'summary', NULL, 'm')$$);
SELECT regress_try($$SELECT rows_to_do FROM bedrock_enrich_estimate('cost_contracts', 'summary', 'body', 'm', sample_size => 0)$$);
SELECT regress_try($$SELECT rows_to_do FROM bedrock_enrich_estimate('cost_contracts', 'summary', 'body', 'm', sample_size => 1001)$$);
SELECT regress_try($$SELECT rows_to_do FROM bedrock_enrich_estimate('cost_contracts', 'no_such_column', 'body', 'm')$$);
SELECT regress_try($$SELECT rows_to_do FROM bedrock_enrich_estimate('cost_contracts', 'summary', 'body', 'm', options => '[1]')$$);
SELECT regress_try($$SELECT rows_to_do FROM bedrock_enrich_estimate('cost_contracts', 'summary', 'body', 'm', options => '{"embed": "yes"}')$$);
SELECT regress_try($$SELECT rows_to_do FROM bedrock_enrich_estimate('cost_contracts', 'summary', 'body', 'anthropic.claude-3-haiku-20240307-v1:0', options => '{"max_token": 5}')$$);

-- bedrock_enrich(dry_run => true): the same figures as INFO, and nothing
-- else: no model call, no job row, no row written
\! node test/emulator/admin.js reset
SELECT count(*) AS jobs_before FROM bedrock.enrich_jobs \gset
CALL bedrock_enrich('cost_contracts', 'summary', $$'Summarize: ' || body$$, 'regress.cost-model',
                    options => '{"max_tokens": 50}', dry_run => true);
CALL bedrock_enrich('cost_contracts', 'summary', $$'Summarize: ' || body$$,
                    'anthropic.claude-3-haiku-20240307-v1:0', 'Be brief.', dry_run => true);
CALL bedrock_enrich('cost_contracts', 'summary', $$'Summarize: ' || body$$, 'regress.unpriced-model',
                    dry_run => true);
SELECT count(*) - :jobs_before AS new_jobs FROM bedrock.enrich_jobs;
SELECT count(*) FILTER (WHERE summary IS NULL) AS still_null FROM cost_contracts;
\! node test/emulator/admin.js stat requests.converse
\! node test/emulator/admin.js stat requests.count_tokens
-- a dry run checks its arguments as a run does
CALL bedrock_enrich('cost_contracts', 'id', $$'x'$$, 'regress.cost-model', dry_run => true);
CALL bedrock_enrich('cost_contracts', 'summary', 'no_such_column', 'regress.cost-model', dry_run => true);

DELETE FROM bedrock.usage_log WHERE model LIKE 'regress.%';
DELETE FROM bedrock.model_prices WHERE model LIKE 'regress.%';
DROP TABLE cost_contracts;
