--
-- batch_jobs: bedrock_batch_submit writes JSONL records to S3 and creates
-- Bedrock batch inference jobs; bedrock_batch_collect follows them and
-- writes each result into the target column by key; refusals; the views.
--
\! node test/emulator/admin.js reset
\! node test/emulator/admin.js batch-reset
\! node test/emulator/admin.js batch '{"stepMs": 5, "minRecords": 10}'
SELECT bedrock_stats_reset() IS NOT NULL AS stats_reset;
CREATE TABLE regress_docs (id int PRIMARY KEY, body text, summary text, details jsonb);
INSERT INTO regress_docs
SELECT g, CASE g WHEN 7 THEN NULL ELSE 'document ' || g END, NULL, NULL
  FROM generate_series(1, 250) g;

-- 249 rows with a prompt, in files of 40 records and jobs of at most 100
SELECT bedrock_batch_submit('docs', 'anthropic.claude-3-haiku-20240307-v1:0', 'regress_docs', 'id',
                            $$'echo: ' || body$$, 's3://regress-bucket/batch/',
                            'arn:aws:iam::123456789012:role/BedrockBatchRole',
                            '{"target_column": "summary", "records_per_file": 40, "records_per_job": 100,
                              "min_records": 10, "max_tokens": 64}') AS batch_id \gset
SELECT name, model, table_name, key_column, target_column, status, rows_total, s3_prefix = 's3://regress-bucket/batch/docs-' || :batch_id AS prefix_ok
  FROM bedrock.batches WHERE batch_id = :batch_id;
SELECT job_no, job_name = 'docs-' || :batch_id || '-' || job_no AS name_ok, job_id ~ '^[a-z0-9]{12}$' AS has_id,
       status, records, files
  FROM bedrock.batch_jobs WHERE batch_id = :batch_id ORDER BY job_no;
SELECT key, size > 0 AS has_bytes FROM bedrock.batch_s3_list('s3://regress-bucket/batch/docs-' || :batch_id || '/in/')
 ORDER BY key;
-- a record: R + 10 digits, the Converse body of the row's prompt
SELECT split_part(bedrock.batch_s3_get('s3://regress-bucket/batch/docs-' || :batch_id || '/in/job-1/part-00001.jsonl'), E'\n', 1)::jsonb AS first_record;

CALL bedrock_batch_collect(:batch_id, wait => true, poll_interval => '20 ms', max_wait => '60 s');
SELECT status, rows_total, rows_done, rows_failed, input_tokens > 0 AS has_tokens, finished_at IS NOT NULL AS finished
  FROM bedrock.batches WHERE batch_id = :batch_id;
SELECT count(*) FILTER (WHERE summary = 'document ' || id) AS filled,
       count(*) FILTER (WHERE summary IS NULL) AS still_null
  FROM regress_docs;
SELECT job_no, status, cardinality(collected_files) AS files_collected, collected_at IS NOT NULL AS collected
  FROM bedrock.batch_jobs WHERE batch_id = :batch_id ORDER BY job_no;
SELECT state, count(*) FROM bedrock.batch_records WHERE batch_id = :batch_id GROUP BY state;

-- collecting again changes nothing
UPDATE regress_docs SET summary = 'kept' WHERE id = 1;
CALL bedrock_batch_collect(:batch_id);
SELECT summary FROM regress_docs WHERE id = 1;
SELECT rows_done, rows_failed FROM bedrock.batches WHERE batch_id = :batch_id;

-- one usage record per job (bedrock.usage_log is in database postgres
-- here: the counters of bedrock_stats show them; TAP 020 reads the log)
SELECT model, calls, errors, input_tokens > 0 AS has_input, output_tokens > 0 AS has_output
  FROM bedrock_stats() WHERE model = 'anthropic.claude-3-haiku-20240307-v1:0';

-- online and batch jobs side by side; batch rows priced at half the
-- on-demand price unless a batch price is set
SELECT kind, status, rows_total, rows_done FROM bedrock.all_jobs WHERE kind = 'batch';
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k)
VALUES ('anthropic.claude-3-haiku-20240307-v1:0', 1, 2);
SELECT u.operation, p.batch_input_per_1k, p.batch_output_per_1k
  FROM bedrock.price_periods p, (VALUES ('batch')) u(operation)
 WHERE p.model = 'anthropic.claude-3-haiku-20240307-v1:0';
DELETE FROM bedrock.model_prices;

-- embeddings: the model-native body, the vector into a real[] column
CREATE TABLE regress_vecs (id bigint PRIMARY KEY, body text, embedding real[]);
INSERT INTO regress_vecs SELECT g, 'text ' || g, NULL FROM generate_series(1, 12) g;
SELECT bedrock_batch_submit('vecs', 'amazon.titan-embed-text-v2:0', 'regress_vecs', 'id', 'body',
                            's3://regress-bucket/emb', 'arn:aws:iam::123456789012:role/BedrockBatchRole',
                            '{"target_column": "embedding", "embed": true, "dimensions": 256, "min_records": 10}') AS vec_batch \gset
SELECT split_part(bedrock.batch_s3_get('s3://regress-bucket/emb/vecs-' || :vec_batch || '/in/job-1/part-00001.jsonl'), E'\n', 1)::jsonb AS first_record;
CALL bedrock_batch_collect(:vec_batch, wait => true, poll_interval => '20 ms', max_wait => '60 s');
SELECT count(*) FILTER (WHERE cardinality(embedding) = 256) AS embedded FROM regress_vecs;

-- refusals, before anything is sent
\set SHOW_CONTEXT never
SELECT bedrock_batch_submit('bad_name', 'm', 'regress_docs', 'id', 'body', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "summary"}');
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'body', 's3://Regress/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "summary"}');
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'body', 's3://regress-bucket/x',
                            'not-an-arn', '{"target_column": "summary"}');
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'body', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{}');
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'body', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "summary", "colour": 1}');
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'body', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "nope"}');
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'body', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "id"}');
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'Summarize this', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "details"}');
-- fewer rows than a job's minimum (the default, 100)
SELECT bedrock_batch_submit('ok', 'anthropic.claude-3-haiku-20240307-v1:0', 'regress_docs', 'id',
                            'CASE WHEN id <= 5 THEN body END', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "details"}');
-- a key that is not unique
CREATE TABLE regress_dupes (k int, body text, answer text);
INSERT INTO regress_dupes SELECT g % 5, 'x', NULL FROM generate_series(1, 20) g;
SELECT bedrock_batch_submit('ok', 'm', 'regress_dupes', 'k', 'body', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "answer", "min_records": 1}');
SELECT bedrock_batch_stop(424242);
SELECT bedrock_batch_retry(424242);
SELECT count(*) AS batches FROM bedrock.batches;

-- who may: bedrock_user; nobody else
CREATE ROLE regress_batch_outsider;
SET ROLE regress_batch_outsider;
SELECT bedrock_batch_submit('ok', 'm', 'regress_docs', 'id', 'body', 's3://regress-bucket/x',
                            'arn:aws:iam::123456789012:role/R', '{"target_column": "summary"}');
SELECT bedrock.batch_s3_get('s3://regress-bucket/batch/x');
CALL bedrock_batch_collect();
SELECT count(*) AS visible_batches FROM bedrock.batches;
RESET ROLE;
DROP ROLE regress_batch_outsider;
DROP TABLE regress_docs, regress_vecs, regress_dupes;
\! node test/emulator/admin.js batch-reset
