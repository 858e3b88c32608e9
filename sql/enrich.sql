--
-- enrich: bedrock_enrich fills a column in committed chunks, resumes where
-- it stopped, reports progress in bedrock.jobs, and quotes identifiers.
--
\! node test/emulator/admin.js reset
CREATE TABLE "Con tracts" (id int, body text, "sum mary" text, details jsonb);
INSERT INTO "Con tracts"
SELECT g, CASE g WHEN 26 THEN '' WHEN 27 THEN NULL ELSE 'clause ' || g END, NULL, NULL
  FROM generate_series(1, 27) g;

-- chunks of 10, with progress notices; rows 26 and 27 have no prompt
CALL bedrock_enrich('"Con tracts"', 'sum mary', $$'echo: ' || body$$,
                    'openai.gpt-oss-20b-1:0', chunk_size => 10, notices => true);
SELECT count(*) FILTER (WHERE "sum mary" = 'clause ' || id) AS filled,
       count(*) FILTER (WHERE "sum mary" IS NULL) AS still_null
  FROM "Con tracts";
SELECT table_name, target_column, model, status, rows_done, rows_total, errors,
       input_tokens > 0 AS has_tokens, rows_per_second IS NOT NULL AS has_rate,
       finished_at IS NOT NULL AS finished
  FROM bedrock.jobs ORDER BY job_id;
\! node test/emulator/admin.js stat requests.converse

-- a jsonb target gets the whole result; two prompts fail on the way and
-- stay NULL; a second run fills them (and sends nothing else)
\! node test/emulator/admin.js fault '{"type":"error","code":"ModelErrorException","status":424,"count":2}'
CALL bedrock_enrich('"Con tracts"', 'details', $$'echo: ' || body$$,
                    'openai.gpt-oss-20b-1:0', options => '{"concurrency": 1}');
SELECT count(*) FILTER (WHERE details ? 'text') AS filled FROM "Con tracts";
\! node test/emulator/admin.js reset
CALL bedrock_enrich('"Con tracts"', 'details', $$'echo: ' || body$$, 'openai.gpt-oss-20b-1:0');
SELECT count(*) FILTER (WHERE details ? 'text') AS filled,
       count(*) FILTER (WHERE details->>'text' = 'clause ' || id) AS right_text
  FROM "Con tracts";
\! node test/emulator/admin.js stat requests.converse
SELECT rows_done, rows_total, errors, status FROM bedrock.jobs ORDER BY job_id;

-- names are identifiers, never SQL; bad arguments are refused
CALL bedrock_enrich('"Con tracts"', 'id', $$'x'$$, 'm');
CALL bedrock_enrich('"Con tracts"', 'sum mary"; DROP TABLE "Con tracts', $$'x'$$, 'm');
CALL bedrock_enrich('no_such_table', 'x', $$'x'$$, 'm');
CALL bedrock_enrich('"Con tracts"', 'sum mary', $$'x'$$, 'm', chunk_size => 0);
CALL bedrock_enrich('"Con tracts"', 'sum mary', NULL, 'm');
SELECT count(*) FROM "Con tracts";

-- a prompt in plain text instead of an SQL expression: a hint says so,
-- and no job is recorded
CALL bedrock_enrich('"Con tracts"', 'sum mary', 'Summarize this contract', 'm');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CALL bedrock_enrich('"Con tracts"', 'sum mary', 'Summarize', 'm');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS jobs FROM bedrock.jobs;

-- a job whose every call failed ends "failed" with the reason; rows without
-- a prompt are skipped, not errors
CREATE TABLE enrich_notes (id int, body text, answer text);
INSERT INTO enrich_notes SELECT g, CASE WHEN g > 3 THEN 'note ' || g END, NULL FROM generate_series(1, 5) g;
\! node test/emulator/admin.js fault '{"type":"error","code":"AccessDeniedException","count":0}'
CALL bedrock_enrich('enrich_notes', 'answer', 'body', 'openai.gpt-oss-20b-1:0');
\! node test/emulator/admin.js reset
SELECT status, rows_done, rows_skipped, errors, last_error_code,
       last_error_message IS NOT NULL AS has_message,
       cardinality(failed_rows) AS failed_rows, finished_at IS NOT NULL AS finished
  FROM bedrock.jobs WHERE table_name = 'enrich_notes';
-- the failed-row sample is bounded (at most 100 kept, all counted)
\! node test/emulator/admin.js fault '{"type":"error","code":"AccessDeniedException","count":0}'
INSERT INTO enrich_notes SELECT g, 'note ' || g, NULL FROM generate_series(6, 130) g;
CALL bedrock_enrich('enrich_notes', 'answer', 'body', 'openai.gpt-oss-20b-1:0', chunk_size => 50);
\! node test/emulator/admin.js reset
SELECT status, rows_skipped, errors, cardinality(failed_rows) AS failed_rows
  FROM bedrock.jobs WHERE table_name = 'enrich_notes' ORDER BY job_id DESC LIMIT 1;
DELETE FROM enrich_notes WHERE id > 5;

-- a statement_timeout that cancels a chunk marks the job interrupted at
-- once (not on the next run), with the reason
\! node test/emulator/admin.js fault '{"type":"latency","ms":5000,"count":1}'
SET statement_timeout = '1s';
CALL bedrock_enrich('enrich_notes', 'answer', 'body', 'openai.gpt-oss-20b-1:0');
RESET statement_timeout;
\! node test/emulator/admin.js reset
SELECT status, rows_done, last_error_code, finished_at IS NOT NULL AS finished
  FROM bedrock.jobs WHERE table_name = 'enrich_notes' ORDER BY job_id DESC LIMIT 1;

-- statement_timeout bounds each chunk, not the whole CALL: six chunks of
-- 0.5 s each finish under a 2 s timeout
INSERT INTO enrich_notes SELECT g, 'note ' || g, NULL FROM generate_series(6, 9) g;
\! node test/emulator/admin.js fault '{"type":"latency","ms":500,"count":0}'
SET statement_timeout = '2s';
CALL bedrock_enrich('enrich_notes', 'answer', 'body', 'openai.gpt-oss-20b-1:0', chunk_size => 1);
RESET statement_timeout;
\! node test/emulator/admin.js reset
SELECT status, rows_done, rows_skipped, errors
  FROM bedrock.jobs WHERE table_name = 'enrich_notes' ORDER BY job_id DESC LIMIT 1;
SELECT count(answer) AS filled, count(*) FILTER (WHERE body IS NOT NULL) AS with_prompt FROM enrich_notes;

-- it spends the server's AWS identity: not for PUBLIC
CREATE ROLE regress_enrich_user;
SET ROLE regress_enrich_user;
CALL bedrock_enrich('"Con tracts"', 'sum mary', $$'x'$$, 'm');

-- nobody forges or touches another role's jobs: the role, backend and
-- status of a job come from the procedure, and only its own jobs may be
-- updated
INSERT INTO bedrock.enrich_jobs (table_name, target_column, model, rows_total, pid)
VALUES ('t', 'c', 'm', 1, 1);
INSERT INTO bedrock.enrich_jobs (table_name, target_column, model, rows_total, status, rows_done)
VALUES ('t', 'c', 'm', 1, 'done', 1000000);
INSERT INTO bedrock.enrich_jobs (table_name, target_column, model, rows_total, role_name)
VALUES ('t', 'c', 'm', 1, 'postgres');
UPDATE bedrock.enrich_jobs SET rows_done = 0, status = 'failed';
UPDATE bedrock.enrich_jobs SET role_name = current_user;
DELETE FROM bedrock.enrich_jobs;
SELECT count(*) AS visible FROM bedrock.jobs;
RESET ROLE;
SELECT count(*) FILTER (WHERE status = 'failed') AS failed_jobs FROM bedrock.jobs;
DROP ROLE regress_enrich_user;
DROP TABLE "Con tracts", enrich_notes;
