--
-- upgrade: an installation of 0.1.0, in use, updated with ALTER EXTENSION
-- ... UPDATE: it gains what 0.2.0, 0.3.0 and 0.4.0 add, keeps its data, and works.  (A
-- fresh CREATE EXTENSION runs the same scripts: 0.1.0, then the update.)
--
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_bedrock_upgrade;
\c regress_bedrock_upgrade

SELECT source, target, path FROM pg_extension_update_paths('bedrock_fdw')
 WHERE path IS NOT NULL ORDER BY source, target;

CREATE EXTENSION bedrock_fdw VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'bedrock_fdw';
SELECT proparallel FROM pg_proc WHERE oid = 'bedrock_chat(text,text,text,jsonb)'::regprocedure;
SELECT to_regclass('bedrock.rate_limits') AS rate_limits_view;
-- the 0.1.0 installation in use: the library serves it, the DBA's prices
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: before')->>'text' AS text;
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k)
VALUES ('openai.gpt-oss-20b-1:0', 0.00007, 0.0003);

-- a role the DBA let run bedrock_enrich (whose signature 0.4.0 changes)
CREATE ROLE regress_upgrade_app;
GRANT EXECUTE ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean)
    TO regress_upgrade_app;

ALTER EXTENSION bedrock_fdw UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'bedrock_fdw';
-- bedrock_enrich gained dry_run, and kept its grant
SELECT p.oid::regprocedure AS enrich,
       has_function_privilege('regress_upgrade_app', p.oid, 'EXECUTE') AS app_may_run,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_run
  FROM pg_proc p WHERE p.proname = 'bedrock_enrich';
SELECT proparallel FROM pg_proc WHERE oid = 'bedrock_chat(text,text,text,jsonb)'::regprocedure;
SELECT to_regclass('bedrock.rate_limits') AS rate_limits_view,
       has_table_privilege('public', 'bedrock.rate_limits', 'SELECT') AS public_select,
       has_function_privilege('public', 'bedrock_rate_limits_reset()', 'EXECUTE') AS public_reset;
SELECT model, input_per_1k, output_per_1k FROM bedrock.model_prices;
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: after')->>'text' AS text;
SELECT count(*) >= 1 AS models FROM bedrock.rate_limits;
-- already up to date
ALTER EXTENSION bedrock_fdw UPDATE;

\c :regress_db
DROP DATABASE regress_bedrock_upgrade;
DROP ROLE regress_upgrade_app;
