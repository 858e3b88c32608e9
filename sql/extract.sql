--
-- extract: bedrock_extract returns the object a model extracts, checked
-- against a JSON Schema; bedrock_extract_batch, bedrock_classify,
-- bedrock_is_true and bedrock_enrich's options.schema build on it.  The
-- emulator derives values from the input ("key: value"), marks the method
-- it answered in its stats (structured.output_format, structured.tool),
-- and misbehaves on markers: #no-native, #bad-first, #bad-always.
--
\! node test/emulator/admin.js reset
CREATE TABLE contract_schema AS SELECT '{
  "type": "object",
  "properties": {
    "governing_law": {"type": "string", "description": "the law the contract is under"},
    "amount": {"type": "number"},
    "term_months": {"type": "integer"},
    "auto_renew": {"type": "boolean"},
    "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
    "parties": {"type": "array",
                "items": {"type": "object",
                          "properties": {"name": {"type": "string"}},
                          "required": ["name"]}},
    "notes": {"type": ["string", "null"]}
  },
  "required": ["governing_law", "amount", "term_months", "parties"],
  "additionalProperties": false
}'::jsonb AS s;

-- auto: gpt-oss takes structured output (outputConfig), Claude 3 the
-- forced tool call; the same object either way
SELECT jsonb_pretty(bedrock_extract('openai.gpt-oss-20b-1:0',
         'Supply agreement. governing law: Delaware; amount: 12,500.50; term months: 24; parties: Acme Corp, Globex; fees in USD. It does not renew.',
         (SELECT s FROM contract_schema)));
\! node test/emulator/admin.js stat structured
SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0',
         'Supply agreement. governing law: Delaware; amount: 12,500.50; term months: 24; parties: Acme Corp, Globex; fees in USD. It does not renew.',
         (SELECT s FROM contract_schema)) AS tool_answer;
\! node test/emulator/admin.js stat structured
-- the operator people reach for
SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0', 'governing law: England; amount: 100; term months: 12; parties: Ann',
                       (SELECT s FROM contract_schema))->>'governing_law' AS governing_law;

-- method forced: output_format, tool
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'governing law: Texas; amount: 5; term months: 1; parties: Bob',
                       (SELECT s FROM contract_schema), NULL, '{"method": "tool"}')->'parties' AS parties_by_tool;
\! node test/emulator/admin.js stat structured
-- a model that refuses output_format, asked for it: the error, as on_error says
SELECT regress_try($$SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0', 'governing law: Texas',
                       (SELECT s FROM contract_schema), NULL, '{"method": "output_format"}')::text$$);
SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0', 'governing law: Texas',
                       (SELECT s FROM contract_schema), NULL,
                       '{"method": "output_format", "on_error": "json"}')->'error'->>'code' AS code;
-- structured output wants closed objects: an object left open on purpose
-- is Bedrock's to refuse (not a refusal of the method: no fallback)
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'mood: calm',
                       '{"type": "object", "properties": {"mood": {"type": "string"}}, "additionalProperties": true}',
                       NULL, '{"on_error": "json"}')->'error'->>'message' AS open_object;
-- a model without tool use: Bedrock's refusal
SELECT regress_try($$SELECT bedrock_extract('amazon.titan-text-express-v1', 'governing law: Texas',
                       (SELECT s FROM contract_schema))::text$$);
-- instructions become the system prompt
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'The customer is unhappy. mood: angry',
                       '{"type": "object", "properties": {"mood": {"type": "string"}}, "required": ["mood"]}',
                       'You read customer e-mails and note the mood.') AS with_instructions;

-- auto falls back to the tool when the model refuses output_format, and
-- remembers it: the next call goes straight to the tool.  Every call is a
-- usage record (bedrock_stats counts them): the refused one as an error
\! node test/emulator/admin.js reset
SELECT bedrock_stats_reset() IS NOT NULL AS stats_reset;
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', '#no-native governing law: Ohio; amount: 1; term months: 2; parties: Cy',
                       (SELECT s FROM contract_schema))->>'governing_law' AS after_fallback;
\! node test/emulator/admin.js stat requests.converse
\! node test/emulator/admin.js stat structured
SELECT model, calls, errors FROM bedrock_stats() WHERE model = 'openai.gpt-oss-20b-1:0';
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'governing law: Utah; amount: 1; term months: 2; parties: Di',
                       (SELECT s FROM contract_schema))->>'governing_law' AS remembered;
\! node test/emulator/admin.js stat requests.converse
\! node test/emulator/admin.js stat structured
-- the memory is shared: another session goes straight to the tool too,
-- until bedrock_admin forgets it
\c -
SELECT server, model, remembered_at <= now() AS remembered FROM bedrock_extract_refusals();
\! node test/emulator/admin.js reset
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'governing law: Utah; amount: 1; term months: 2; parties: Di',
                       (SELECT s FROM contract_schema))->>'governing_law' AS other_session;
\! node test/emulator/admin.js stat structured
SELECT bedrock_extract_refusals_reset() AS forgotten;
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'governing law: Utah; amount: 1; term months: 2; parties: Di',
                       (SELECT s FROM contract_schema))->>'governing_law' AS after_reset;
\! node test/emulator/admin.js stat structured

-- a non-conforming answer is asked for once more, telling the model why:
-- the second answer conforms (two calls, two usage records, no error)
\! node test/emulator/admin.js reset
SELECT bedrock_stats_reset() IS NOT NULL AS stats_reset;
SELECT bedrock_extract('openai.gpt-oss-20b-1:0', '#bad-first governing law: Iowa; amount: 3; term months: 4; parties: Ed',
                       (SELECT s FROM contract_schema))->>'governing_law' AS second_answer;
\! node test/emulator/admin.js stat requests.converse
SELECT model, calls, errors FROM bedrock_stats() WHERE model = 'openai.gpt-oss-20b-1:0';
-- twice wrong: 22P02 naming the path, or NULL, or the error object
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', '#bad-always amount: 3; term months: 4; parties: Ed',
                       (SELECT s FROM contract_schema))::text$$);
\! node test/emulator/admin.js stat requests.converse
SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0', '#bad-always amount: 3; term months: 4',
                       '{"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]}',
                       NULL, '{"on_error": "json"}') AS error_object;
-- a member name that is not a plain name is quoted in the path
SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0', '#bad-always governing law: Ohio',
                       '{"type": "object", "properties": {"governing law": {"type": "string"}}, "required": ["governing law"]}',
                       NULL, '{"on_error": "json"}')->'error'->>'message' AS quoted_path;
SELECT bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0', '#bad-always amount: 3',
                       '{"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]}',
                       NULL, '{"on_error": "null"}') IS NULL AS is_null;
\! node test/emulator/admin.js stat requests.converse

-- NULL model or input: NULL, nothing sent
SELECT bedrock_extract(NULL, 'x', '{"type": "object"}') IS NULL AS null_model,
       bedrock_extract('openai.gpt-oss-20b-1:0', NULL, '{"type": "object"}') IS NULL AS null_input;

-- refusals, before anything is sent
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x', NULL)::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', '', '{"type": "object"}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x', '[1]')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x', '{"type": "string"}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x', '{"properties": {}}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "properties": {"parties": {"type": "array", "items": {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}}}}}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "properties": {"a": {"$ref": "#/defs/a"}}}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "properties": {"a": {"type": "date"}}}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "properties": {"a": {"type": ["string", "integer"]}}}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "properties": {"a": {"type": "string", "enum": ["x", 1]}}}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "properties": {"a": {"type": "string", "items": {"type": "string"}}}}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x',
  '{"type": "object", "additionalProperties": {"type": "string"}}')::text$$);
SELECT regress_try(format($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x', %L)::text$$,
  (SELECT '{"type": "object", "properties": {"a": ' || repeat('{"type": "array", "items": ', 20) || '{"type": "string"}' || repeat('}', 20) || '}}')));
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x', '{"type": "object"}', NULL, '{"method": "json"}')::text$$);
SELECT regress_try($$SELECT bedrock_extract('openai.gpt-oss-20b-1:0', 'x', '{"type": "object"}', NULL, '{"raw": true}')::text$$);
\! node test/emulator/admin.js stat requests.converse

-- bedrock_extract_batch: one row per input in order, NULL for NULL, the
-- retry of a non-conforming answer inside the pipeline, error rows
\! node test/emulator/admin.js reset
SELECT ord, result->>'governing_law' AS law, result->'amount' AS amount,
       result->'error'->>'code' AS error, result->'error'->>'message' AS message
  FROM bedrock_extract_batch('openai.gpt-oss-20b-1:0',
         ARRAY['governing law: Maine; amount: 1; term months: 1; parties: A',
               NULL,
               '#bad-first governing law: Idaho; amount: 2; term months: 1; parties: B',
               '#bad-always governing law: Ohio; amount: 3; term months: 1; parties: C',
               'governing law: Kansas; amount: 4; term months: 1; parties: D'],
         (SELECT s FROM contract_schema), NULL, '{"concurrency": 3}');
\! node test/emulator/admin.js stat requests.converse
-- the fallback in a batch: the refused call goes again as a tool call, and
-- the calls not yet started go straight to the tool
\! node test/emulator/admin.js reset
SELECT ord, result->>'governing_law' AS law
  FROM bedrock_extract_batch('openai.gpt-oss-20b-1:0',
         ARRAY['#no-native governing law: Maine; amount: 1; term months: 1; parties: A',
               'governing law: Idaho; amount: 2; term months: 1; parties: B',
               'governing law: Ohio; amount: 3; term months: 1; parties: C'],
         (SELECT s FROM contract_schema), NULL, '{"concurrency": 1}');
\! node test/emulator/admin.js stat structured
SELECT bedrock_extract_refusals_reset() AS forgotten;
SELECT regress_try($$SELECT count(*) FROM bedrock_extract_batch('openai.gpt-oss-20b-1:0', ARRAY['a', ''], '{"type": "object"}')$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_extract_batch('openai.gpt-oss-20b-1:0', ARRAY['a'], '{"type": "object", "x": 1}')$$);

-- bedrock_classify: always one of the labels
\c -
\! node test/emulator/admin.js reset
SELECT t AS input, bedrock_classify('anthropic.claude-3-haiku-20240307-v1:0', t,
                                    ARRAY['positive', 'negative', 'neutral']) AS label
  FROM (VALUES ('A positive experience, thank you'), ('Negative: it broke on day one'), ('It is a chair')) v(t);
SELECT bedrock_classify('openai.gpt-oss-20b-1:0', 'The invoice is overdue', ARRAY['invoice', 'contract'],
                        'Classify documents by kind.') AS with_instructions;
SELECT regress_try($$SELECT bedrock_classify('openai.gpt-oss-20b-1:0', 'x', ARRAY[]::text[])$$);
SELECT regress_try($$SELECT bedrock_classify('openai.gpt-oss-20b-1:0', 'x', ARRAY['a', NULL])$$);
SELECT regress_try($$SELECT bedrock_classify('openai.gpt-oss-20b-1:0', 'x', ARRAY['a', 'b', 'a'])$$);
SELECT regress_try($$SELECT bedrock_classify('openai.gpt-oss-20b-1:0', 'x', ARRAY['a', ''])$$);
SELECT regress_try($$SELECT bedrock_classify('openai.gpt-oss-20b-1:0', 'x', NULL)$$);
SELECT regress_try(format('SELECT bedrock_classify(%L, %L, %L::text[])', 'openai.gpt-oss-20b-1:0', 'x',
                          (SELECT array_agg('l' || g) FROM generate_series(1, 101) g)));
SELECT regress_try($$SELECT bedrock_classify('openai.gpt-oss-20b-1:0', 'x', ARRAY['a'], NULL, '{"on_error": "json"}')$$);
SELECT bedrock_classify(NULL, 'x', ARRAY['a']) IS NULL AS null_model;
\! node test/emulator/admin.js stat requests.converse

-- bedrock_is_true: a boolean, for WHERE clauses
SELECT t AS input, bedrock_is_true('anthropic.claude-3-haiku-20240307-v1:0', t, 'Does the contract renew automatically?') AS renews
  FROM (VALUES ('The contract renews automatically each year.'), ('The contract does not renew.')) v(t);
SELECT regress_try($$SELECT bedrock_is_true('openai.gpt-oss-20b-1:0', 'x', '')$$);
SELECT bedrock_is_true('openai.gpt-oss-20b-1:0', 'x', NULL) IS NULL AS null_question;

-- bedrock_enrich with options.schema fills a jsonb column with objects
\! node test/emulator/admin.js reset
CREATE TABLE extract_contracts (id int, body text, fields jsonb, summary text);
INSERT INTO extract_contracts
SELECT g, CASE WHEN g = 5 THEN NULL
               WHEN g = 4 THEN '#bad-always governing law: Erie'
               ELSE format('governing law: State%s; amount: %s; term months: %s; parties: P%s', g, g * 100, g, g) END,
       NULL, NULL
  FROM generate_series(1, 6) g;
SELECT jsonb_build_object('schema', s) AS enrich_options FROM contract_schema \gset
CALL bedrock_enrich('extract_contracts', 'fields', 'body', 'openai.gpt-oss-20b-1:0',
                    options => :'enrich_options', chunk_size => 4);
SELECT id, fields->>'governing_law' AS law, fields->'amount' AS amount FROM extract_contracts ORDER BY id;
SELECT status, rows_done, rows_skipped, errors, last_error_code, rows_total FROM bedrock.jobs ORDER BY job_id DESC LIMIT 1;
\! node test/emulator/admin.js stat requests.converse
-- a second run sends only the row that failed (twice more: a call and its retry)
\! node test/emulator/admin.js reset
SET client_min_messages = error;	-- its WARNING names the job id
CALL bedrock_enrich('extract_contracts', 'fields', 'body', 'openai.gpt-oss-20b-1:0', options => :'enrich_options');
RESET client_min_messages;
\! node test/emulator/admin.js stat requests.converse
SELECT status, rows_done, errors, last_error_code, last_error_message FROM bedrock.jobs ORDER BY job_id DESC LIMIT 1;
-- refused before a job starts: a target that is not jsonb, a bad schema
CALL bedrock_enrich('extract_contracts', 'summary', 'body', 'openai.gpt-oss-20b-1:0', options => :'enrich_options');
CALL bedrock_enrich('extract_contracts', 'fields', 'body', 'openai.gpt-oss-20b-1:0',
                    options => '{"schema": {"type": "object", "minProperties": 1}}');
CALL bedrock_enrich('extract_contracts', 'fields', 'body', 'openai.gpt-oss-20b-1:0',
                    options => '{"schema": {"type": "object"}, "method": "fast"}');
SELECT count(*) AS jobs FROM bedrock.jobs WHERE table_name = 'extract_contracts';
DROP TABLE extract_contracts, contract_schema;
