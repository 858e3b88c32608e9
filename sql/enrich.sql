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

-- it spends the server's AWS identity: not for PUBLIC
CREATE ROLE regress_enrich_user;
SET ROLE regress_enrich_user;
CALL bedrock_enrich('"Con tracts"', 'sum mary', $$'x'$$, 'm');
RESET ROLE;
DROP ROLE regress_enrich_user;
DROP TABLE "Con tracts";
