--
-- embed: bedrock_embed and bedrock_embed_batch, for every embedding family
-- (Titan v1/v2, Cohere v3/v4), their options and refusals, packing (96
-- Cohere texts a request), NULLs, on_error, and usage (operation 'invoke').
--
\! node test/emulator/admin.js reset
SELECT bedrock_stats_reset() IS NOT NULL AS stats_reset;

-- Titan v2: 1024 unit-length dimensions by default; the same text, the
-- same vector
SELECT array_length(e, 1) AS dims,
       round(sqrt((SELECT sum(x * x) FROM unnest(e) x))::numeric, 4) AS norm,
       e = bedrock_embed('amazon.titan-embed-text-v2:0', 'hello world') AS deterministic,
       pg_typeof(e) AS type
  FROM bedrock_embed('amazon.titan-embed-text-v2:0', 'hello world') e;
-- dimensions and normalize
SELECT array_length(bedrock_embed('amazon.titan-embed-text-v2:0', 'hello world', '{"dimensions": 256}'), 1) AS d256,
       array_length(bedrock_embed('amazon.titan-embed-text-v2:0', 'hello world', '{"dimensions": 512, "normalize": true}'), 1) AS d512,
       round(sqrt((SELECT sum(x * x) FROM unnest(bedrock_embed('amazon.titan-embed-text-v2:0', 'hello world', '{"normalize": false}')) x))::numeric, 2) > 1 AS unnormalized_longer;
-- Titan v1, Cohere v3 (English and multilingual) and v4
SELECT array_length(bedrock_embed('amazon.titan-embed-text-v1', 'hello'), 1) AS titan_v1,
       array_length(bedrock_embed('cohere.embed-english-v3', 'hello'), 1) AS cohere_v3,
       array_length(bedrock_embed('cohere.embed-multilingual-v3', 'hallo Welt'), 1) AS cohere_v3_multi,
       array_length(bedrock_embed('cohere.embed-v4:0', 'hello'), 1) AS cohere_v4,
       array_length(bedrock_embed('cohere.embed-v4:0', 'hello', '{"output_dimension": 256}'), 1) AS cohere_v4_256,
       array_length(bedrock_embed('arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0', 'hello', '{"dimensions": 256}'), 1) AS by_arn;
-- the vectors are those the model sent: bedrock_invoke with the same body
-- gives the same numbers
SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'same numbers', '{"dimensions": 256}')
       = ARRAY(SELECT x::real FROM jsonb_array_elements_text(
           bedrock_invoke('amazon.titan-embed-text-v2:0', '{"inputText": "same numbers", "dimensions": 256}')
             ->'response'->'embedding') x) AS same_as_invoke;

-- cosine order: texts sharing words are closer (input_type search_query
-- for the query, search_document, the default, for the stored text)
WITH v AS (
  SELECT bedrock_embed('cohere.embed-english-v3', 'tenant pays rent monthly', '{"input_type": "search_query"}') AS q,
         bedrock_embed('cohere.embed-english-v3', 'the tenant pays the rent monthly in advance') AS near,
         bedrock_embed('cohere.embed-english-v3', 'the server restarts at midnight') AS far)
SELECT (SELECT sum(a * b) FROM unnest(q, near) AS t(a, b)) >
       (SELECT sum(a * b) FROM unnest(q, far) AS t(a, b)) AS near_is_closer
  FROM v;

-- NULL model or input: NULL, without calling Bedrock
\! node test/emulator/admin.js reset
SELECT bedrock_embed(NULL, 'x') IS NULL AS null_model,
       bedrock_embed('amazon.titan-embed-text-v2:0', NULL) IS NULL AS null_input;
\! node test/emulator/admin.js stat requests.invoke

-- refusals, before anything is sent
SELECT regress_try($$SELECT bedrock_embed('openai.gpt-oss-20b-1:0', 'x')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', '')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"dimensions": 300}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"dimensions": "256"}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"normalize": 1}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"input_type": "search_query"}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v1', 'x', '{"dimensions": 256}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('cohere.embed-english-v3', 'x', '{"dimensions": 256}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('cohere.embed-english-v3', 'x', '{"input_type": "query"}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('cohere.embed-english-v3', 'x', '{"truncate": "MIDDLE"}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('cohere.embed-v4:0', 'x', '{"output_dimension": 100}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('cohere.embed-english-v3', repeat('x', 2049))::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"temperature": 0.5}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"on_error": "json"}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"no_such": 1}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '[1]')::text$$);
\! node test/emulator/admin.js stat requests.invoke
-- truncation lets a long text through
SELECT array_length(bedrock_embed('cohere.embed-english-v3', repeat('x ', 2000), '{"truncate": "END"}'), 1) AS truncated_end,
       array_length(bedrock_embed('cohere.embed-v4:0', repeat('x ', 2000), '{"truncate": "START"}'), 1) AS truncated_start_v4;

-- Bedrock's failures: raised by default (with its message), NULL under
-- on_error "null"
\! node test/emulator/admin.js fault '{"type": "error", "route": "invoke", "code": "ValidationException", "message": "The provided model identifier is invalid.", "count": 2}'
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x')::text$$);
SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"on_error": "null"}') IS NULL AS is_null;
-- a response that is not an embedding is a failure of the call
\! node test/emulator/admin.js fault '{"type": "malformed", "route": "invoke", "body": "{\"embedding\": \"nope\"}"}'
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x')::text$$);

-- bedrock_embed_batch: one row per input, in order; NULL input, NULL row
-- and no call; Cohere packs 96 texts a request
\! node test/emulator/admin.js reset
SELECT ord, array_length(embedding, 1) AS dims
  FROM bedrock_embed_batch('cohere.embed-english-v3', ARRAY['one', NULL, 'three']);
\! node test/emulator/admin.js stat requests.invoke
\! node test/emulator/admin.js reset
SELECT count(*) AS rows, count(embedding) AS embedded, min(ord), max(ord)
  FROM bedrock_embed_batch('cohere.embed-english-v3',
         ARRAY(SELECT 'clause number ' || i FROM generate_series(1, 200) i));
-- ceil(200 / 96) = 3 requests
\! node test/emulator/admin.js stat requests.invoke
-- each row's vector is the one bedrock_embed gives for that text
SELECT bool_and(b.embedding = bedrock_embed('cohere.embed-english-v3', 'clause number ' || b.ord)) AS same_vectors
  FROM bedrock_embed_batch('cohere.embed-english-v3',
         ARRAY(SELECT 'clause number ' || i FROM generate_series(1, 100) i)) b
 WHERE b.ord IN (1, 96, 97, 100);
-- Cohere v4 packs by size too: 3 texts of 200,000 characters (about
-- 50,000 tokens each) need 2 requests, not 1
\! node test/emulator/admin.js reset
SELECT count(embedding) AS embedded
  FROM bedrock_embed_batch('cohere.embed-v4:0', ARRAY[repeat('a ', 100000), repeat('b ', 100000), repeat('c ', 100000)]);
\! node test/emulator/admin.js stat requests.invoke
-- Titan: one text a request, concurrently
\! node test/emulator/admin.js reset
SELECT count(embedding) AS embedded
  FROM bedrock_embed_batch('amazon.titan-embed-text-v2:0',
         ARRAY(SELECT 'text ' || i FROM generate_series(1, 10) i), '{"concurrency": 4, "dimensions": 256}');
\! node test/emulator/admin.js stat requests.invoke

-- a too long input is refused before anything is sent under on_error
-- "raise"; under "null" (the default) it is NULL and the others go
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT count(*) FROM bedrock_embed_batch('cohere.embed-english-v3', ARRAY['a', repeat('x', 3000)], '{"on_error": "raise"}')$$);
\! node test/emulator/admin.js stat requests.invoke
SELECT ord, embedding IS NULL AS is_null
  FROM bedrock_embed_batch('cohere.embed-english-v3', ARRAY['a', repeat('x', 3000), 'c']);
\! node test/emulator/admin.js stat requests.invoke
SELECT regress_try($$SELECT count(*) FROM bedrock_embed_batch('cohere.embed-english-v3', ARRAY['a', ''])$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_embed_batch('openai.gpt-oss-20b-1:0', ARRAY['a'])$$);
SELECT regress_try($$SELECT count(*) FROM bedrock_embed_batch('cohere.embed-english-v3', ARRAY['a'], '{"on_error": "json"}')$$);

-- a failed request: NULLs for its inputs (on_error "null"), or an ERROR
\! node test/emulator/admin.js fault '{"type": "error", "route": "invoke", "code": "ValidationException", "message": "Malformed input request: bad, please reformat your input and try again."}'
SELECT ord, embedding IS NULL AS is_null
  FROM bedrock_embed_batch('amazon.titan-embed-text-v2:0', ARRAY['a', 'b'], '{"concurrency": 1}');
\! node test/emulator/admin.js fault '{"type": "error", "route": "invoke", "code": "ValidationException", "message": "Malformed input request: bad, please reformat your input and try again."}'
SELECT regress_try($$SELECT count(*) FROM bedrock_embed_batch('amazon.titan-embed-text-v2:0', ARRAY['a', 'b'], '{"on_error": "raise", "concurrency": 1}')$$);

-- NULL array or model: no rows / NULL rows, no call
SELECT count(*) AS no_rows FROM bedrock_embed_batch('cohere.embed-english-v3', NULL);
SELECT ord, embedding IS NULL AS is_null FROM bedrock_embed_batch(NULL, ARRAY['a', 'b']);
SELECT count(*) AS empty FROM bedrock_embed_batch('cohere.embed-english-v3', '{}'::text[]);

-- usage: one record per request, operation "invoke", tokens from the
-- header (Cohere) or the body (Titan)
SELECT model, calls > 0 AS called, input_tokens > 0 AS input_tokens, output_tokens
  FROM bedrock_stats()
 WHERE model IN ('amazon.titan-embed-text-v2:0', 'cohere.embed-english-v3', 'cohere.embed-v4:0', 'amazon.titan-embed-text-v1')
 ORDER BY model;


-- bedrock_enrich fills a real[] column with embeddings: chunked, resumable,
-- progress in bedrock.jobs; Cohere packs the rows of a chunk 96 a request
\! node test/emulator/admin.js reset
CREATE TABLE regress_embed_docs (id int PRIMARY KEY, body text, embedding real[]);
INSERT INTO regress_embed_docs
SELECT i, CASE WHEN i % 50 = 0 THEN NULL ELSE 'contract clause ' || i END, NULL
  FROM generate_series(1, 250) i;
CALL bedrock_enrich('regress_embed_docs', 'embedding', 'body', 'cohere.embed-english-v3', chunk_size => 100);
-- 3 chunks of 100, 100 and 50 rows (5 without text): 2 + 2 + 1 requests
\! node test/emulator/admin.js stat requests.invoke
SELECT count(embedding) AS filled, count(*) FILTER (WHERE embedding IS NULL) AS left_null,
       min(array_length(embedding, 1)) AS dims
  FROM regress_embed_docs;
SELECT bool_and(embedding = bedrock_embed('cohere.embed-english-v3', body)) AS same_as_bedrock_embed
  FROM regress_embed_docs WHERE id IN (1, 99, 250);
SELECT status, rows_total, rows_done, rows_skipped, errors
  FROM bedrock.jobs WHERE table_name = 'regress_embed_docs' ORDER BY job_id DESC LIMIT 1;
-- a failed request leaves its rows NULL, counted as errors; a second run
-- fills them
\! node test/emulator/admin.js reset
UPDATE regress_embed_docs SET embedding = NULL WHERE id <= 10;
\! node test/emulator/admin.js fault '{"type": "error", "route": "invoke", "code": "ThrottlingException", "count": 0}'
-- (its WARNING names the job, whose number depends on the suites run before)
SET client_min_messages = error;
CALL bedrock_enrich('regress_embed_docs', 'embedding', 'body', 'cohere.embed-english-v3', options => '{"max_attempts": 1}');
RESET client_min_messages;
SELECT status, rows_done, errors, last_error_code
  FROM bedrock.jobs WHERE table_name = 'regress_embed_docs' ORDER BY job_id DESC LIMIT 1;
\! node test/emulator/admin.js clear
CALL bedrock_enrich('regress_embed_docs', 'embedding', 'body', 'cohere.embed-english-v3',
                    options => '{"input_type": "clustering"}');
SELECT status, rows_done, errors
  FROM bedrock.jobs WHERE table_name = 'regress_embed_docs' ORDER BY job_id DESC LIMIT 1;
SELECT count(*) FILTER (WHERE embedding IS NULL AND body IS NOT NULL) AS still_null FROM regress_embed_docs;
-- options.embed: a text column gets the chat path unless told; refusals
CREATE TABLE regress_embed_misc (id int, body text, n int, t text);
INSERT INTO regress_embed_misc VALUES (1, 'x', NULL, NULL);
SELECT regress_try($$CALL bedrock_enrich('regress_embed_misc', 'n', 'body', 'cohere.embed-english-v3')$$);
SELECT regress_try($$CALL bedrock_enrich('regress_embed_misc', 'n', 'body', 'cohere.embed-english-v3', options => '{"embed": true}')$$);
SELECT regress_try($$CALL bedrock_enrich('regress_embed_misc', 't', 'body', 'cohere.embed-english-v3', options => '{"embed": "yes"}')$$);
SELECT regress_try($$CALL bedrock_enrich('regress_embed_docs', 'embedding', 'body', 'cohere.embed-english-v3', system => 'be brief')$$);
DROP TABLE regress_embed_docs, regress_embed_misc;
-- leave bedrock.jobs as it was for the suites that count jobs
DELETE FROM bedrock.enrich_jobs WHERE table_name = 'regress_embed_docs';
