--
-- parallel_query: bedrock_chat is PARALLEL SAFE, so a plain
-- SELECT bedrock_chat(...) FROM a table fans out over parallel workers.
-- The calls run below the Gather, in the workers (the leader only
-- gathers), with the leader's settings, SET LOCAL and superuser-only ones
-- included, and their usage records carry the leader's pid.
--
\! node test/emulator/admin.js reset

-- 40 rows, one per page (fillfactor 10), so that both workers get some
CREATE TABLE parallel_rows (id int, pad text) WITH (fillfactor = 10, parallel_workers = 2);
INSERT INTO parallel_rows SELECT g, repeat('x', 500) FROM generate_series(1, 40) g;
ANALYZE parallel_rows;
SELECT relpages FROM pg_class WHERE oid = 'parallel_rows'::regclass;

-- parallel plans whenever possible, and every row's call in a worker
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
-- every usage record of this suite says so
SET application_name = 'regress_parallel';
SELECT pg_backend_pid() AS leader_pid, current_database() AS regress_db \gset

-- the labels that allow it (see the upgrade script for every decision)
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.procost
  FROM pg_proc p
 WHERE p.proname IN ('bedrock_chat', 'bedrock_chat_batch')
 ORDER BY 1;

-- the call is evaluated in the workers' Parallel Seq Scan, below the Gather
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: answer ' || id) AS r
  FROM parallel_rows;

-- Run a query under EXPLAIN ANALYZE and keep the lines that do not vary:
-- the plan's nodes without their timings and row counts, and how many
-- workers were planned and launched.
CREATE FUNCTION regress_explain_analyze(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query
    LOOP
        CONTINUE WHEN line ~ '^\s*Worker \d+:';
        RETURN NEXT regexp_replace(line, '\s*\(actual .*\)$', '');
    END LOOP;
END $$;

-- two workers were launched and made the 40 calls
SELECT regress_explain_analyze(
  $q$SELECT count(bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: answer ' || id))
       FROM parallel_rows$q$);

-- every answer is the right one for its row (the emulator echoes)
SELECT count(*) AS answers,
       count(*) FILTER (WHERE r->>'text' = 'answer ' || id) AS correct,
       count(DISTINCT r->>'request_id') AS distinct_requests,
       min((r->>'attempts')::int) AS min_attempts, max((r->>'attempts')::int) AS max_attempts
  FROM (SELECT id, bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: answer ' || id) AS r
          FROM parallel_rows) s;

-- SET LOCAL reaches the workers, superuser-only secrets included: with
-- the wrong secret every worker's request is refused
BEGIN;
SET LOCAL bedrock.secret_access_key = 'not-the-emulator-secret-key';
SET LOCAL application_name = 'regress_parallel_set_local';
SELECT plan_line FROM regress_explain_analyze(
  $q$SELECT count(bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: refused ' || id,
                                NULL, '{"on_error": "json"}'))
       FROM parallel_rows$q$) AS plan_line
 WHERE plan_line ~ 'Workers|Gather';
SELECT r->'error'->>'code' AS error, count(*)
  FROM (SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: refused ' || id,
                            NULL, '{"on_error": "json"}') AS r
          FROM parallel_rows) s
 GROUP BY 1;
COMMIT;
-- and it ended with the transaction: the calls work again
SELECT count(*) FILTER (WHERE r->>'text' = 'answer ' || id) AS correct
  FROM (SELECT id, bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: answer ' || id) AS r
          FROM parallel_rows) s;
\! node test/emulator/admin.js stat rejected.mismatch

-- The usage records: the writer stores them in the database named by
-- bedrock.database ("postgres" here), once the extension exists there.
-- Every record of the workers' calls carries the leader's pid.
\c postgres
CREATE EXTENSION bedrock_fdw;
DO $$
BEGIN
    FOR i IN 1..400 LOOP
        EXIT WHEN (SELECT count(*) FROM bedrock.usage_log
                    WHERE application_name LIKE 'regress_parallel%') >= 200;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT application_name, backend_pid = :leader_pid AS leader_pid,
       error_code, count(*) AS records
  FROM bedrock.usage_log
 WHERE application_name LIKE 'regress_parallel%'
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
DROP EXTENSION bedrock_fdw;
\c :regress_db

DROP TABLE parallel_rows;
DROP FUNCTION regress_explain_analyze(text);
