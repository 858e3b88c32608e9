--
-- catalog: foreign tables over the Bedrock catalog (IMPORT FOREIGN SCHEMA
-- bedrock), filters pushed to the list operations, the join that finds
-- the models in use that are being retired, and what is refused.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\! node test/emulator/admin.js reset

CREATE SERVER regress_catalog_server FOREIGN DATA WRAPPER bedrock_fdw
  OPTIONS (region 'us-east-1');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_catalog_server;
CREATE SCHEMA regress_catalog;
IMPORT FOREIGN SCHEMA bedrock FROM SERVER regress_catalog_server INTO regress_catalog;

-- the four tables, their option and columns
SELECT c.relname, ft.ftoptions
  FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 WHERE c.relnamespace = 'regress_catalog'::regnamespace ORDER BY 1;
SELECT attrelid::regclass AS "table", attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid IN (SELECT ftrelid FROM pg_foreign_table) AND attnum > 0
   AND attrelid::regclass::text LIKE 'regress_catalog.%'
 ORDER BY attrelid::regclass::text, attnum;

-- importing sends nothing
\! node test/emulator/admin.js stat requests.control

--
-- foundation_models: ListFoundationModels
--
SELECT model_id, provider_name, input_modalities, output_modalities,
       response_streaming_supported, customizations_supported,
       inference_types_supported, lifecycle_status, end_of_life_time
  FROM regress_catalog.foundation_models ORDER BY model_id;
SELECT model_arn, model_name FROM regress_catalog.foundation_models
 WHERE model_id = 'cohere.embed-english-v3';

-- equality on provider_name becomes byProvider
EXPLAIN (COSTS OFF)
SELECT model_id FROM regress_catalog.foundation_models WHERE provider_name = 'Anthropic';
\! node test/emulator/admin.js reset
SELECT model_id FROM regress_catalog.foundation_models WHERE provider_name = 'Anthropic' ORDER BY 1;
\! node test/emulator/admin.js stat controlParams
\! node test/emulator/admin.js stat last.-1.path

-- the service matches providers ignoring case, and the clause is checked
-- here too: 'anthropic' brings three entries over the network, no rows
-- (row counts as PostgreSQL 15 to 17 print them: PostgreSQL 18 adds ".00")
CREATE FUNCTION pg_temp.regress_explain_analyze(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query
    LOOP
        RETURN NEXT regexp_replace(line, 'rows=(\d+)\.00 ', 'rows=\1 ');
    END LOOP;
END $$;
SELECT pg_temp.regress_explain_analyze(
  $q$SELECT model_id FROM regress_catalog.foundation_models WHERE provider_name = 'anthropic'$q$);

-- membership of an array column: byOutputModality, byInferenceType,
-- byCustomizationType; several filters in one request
EXPLAIN (COSTS OFF)
SELECT model_id FROM regress_catalog.foundation_models
 WHERE 'EMBEDDING' = ANY (output_modalities) AND provider_name = 'Cohere';
SELECT model_id FROM regress_catalog.foundation_models
 WHERE 'EMBEDDING' = ANY (output_modalities) AND provider_name = 'Cohere' ORDER BY 1;
EXPLAIN (COSTS OFF)
SELECT model_id FROM regress_catalog.foundation_models
 WHERE customizations_supported @> ARRAY['FINE_TUNING'] AND 'PROVISIONED' = ANY (inference_types_supported);
SELECT model_id FROM regress_catalog.foundation_models
 WHERE customizations_supported @> ARRAY['FINE_TUNING'] AND 'PROVISIONED' = ANY (inference_types_supported);

-- a value the service would refuse is not sent: INFERENCE_PROFILE is not
-- in byInferenceType's enum, yet entries carry it
EXPLAIN (COSTS OFF)
SELECT model_id FROM regress_catalog.foundation_models
 WHERE 'INFERENCE_PROFILE' = ANY (inference_types_supported);
SELECT model_id FROM regress_catalog.foundation_models
 WHERE 'INFERENCE_PROFILE' = ANY (inference_types_supported);
SELECT count(*) FROM regress_catalog.foundation_models WHERE provider_name = 'Open AI!';

-- clauses the operation cannot take are checked here only
EXPLAIN (COSTS OFF)
SELECT model_id FROM regress_catalog.foundation_models
 WHERE provider_name <> 'Amazon' OR model_name LIKE 'Titan%';

-- a parameter is sent when its value is one the service accepts
PREPARE regress_by_provider(text) AS
  SELECT model_id FROM regress_catalog.foundation_models WHERE provider_name = $1 ORDER BY 1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE regress_by_provider('Cohere');
\! node test/emulator/admin.js reset
EXECUTE regress_by_provider('Cohere');
EXECUTE regress_by_provider('not a provider?');
EXECUTE regress_by_provider(NULL);
\! node test/emulator/admin.js stat controlParams
RESET plan_cache_mode;
DEALLOCATE regress_by_provider;

-- a rescan per outer row, each with its own filter
SELECT p.provider, (SELECT count(*) FROM regress_catalog.foundation_models m
                     WHERE m.provider_name = p.provider) AS models
  FROM (VALUES ('Amazon'), ('Cohere'), ('Mistral')) AS p(provider) ORDER BY 1;

--
-- inference_profiles: ListInferenceProfiles, type filter, models as ARNs
--
SELECT id, name, type, status, models, created_at
  FROM regress_catalog.inference_profiles ORDER BY id;
EXPLAIN (COSTS OFF)
SELECT id FROM regress_catalog.inference_profiles WHERE type = 'APPLICATION';
SELECT id, arn FROM regress_catalog.inference_profiles WHERE type = 'APPLICATION';

--
-- guardrails: ListGuardrails
--
SELECT id, name, description, status, version, created_at, updated_at
  FROM regress_catalog.guardrails ORDER BY name;
EXPLAIN (COSTS OFF)
SELECT name FROM regress_catalog.guardrails WHERE id = 'gr4hij5klm6n';
SELECT name FROM regress_catalog.guardrails WHERE id = 'gr4hij5klm6n';
SELECT name FROM regress_catalog.guardrails
 WHERE arn = 'arn:aws:bedrock:us-east-1:123456789012:guardrail/gr7opq8rst9u';

--
-- model_invocation_jobs: ListModelInvocationJobs (the emulator's jobs)
--
SELECT count(*) FROM regress_catalog.model_invocation_jobs;
\! node test/emulator/admin.js catalog '{"jobs":[{"jobName":"nightly-1","status":"Completed","submitTime":"2026-01-01T00:00:00Z","endTime":"2026-01-01T02:00:00.123456789Z","totalRecordCount":100,"successRecordCount":99,"errorRecordCount":1,"processedRecordCount":100},{"jobName":"nightly-2","status":"InProgress","submitTime":"2026-01-02T00:00:00Z"},{"jobName":"adhoc-test","status":"Failed","message":"could not validate GetObject permissions","submitTime":"2026-01-03T00:00:00Z"}]}'
SELECT job_name, status, message, submit_time, end_time, input_s3_uri, output_s3_uri,
       timeout_duration_hours, total_record_count, error_record_count, job_arn ~ '/[a-z0-9]{12}$' AS arn_ok
  FROM regress_catalog.model_invocation_jobs ORDER BY submit_time;
EXPLAIN (COSTS OFF)
SELECT job_name FROM regress_catalog.model_invocation_jobs WHERE status = 'Completed';
SELECT job_name FROM regress_catalog.model_invocation_jobs WHERE status = 'Completed';
-- a name substring: nameContains, from = or LIKE '%literal%'
EXPLAIN (COSTS OFF)
SELECT job_name FROM regress_catalog.model_invocation_jobs WHERE job_name LIKE '%nightly%';
SELECT job_name FROM regress_catalog.model_invocation_jobs WHERE job_name LIKE '%nightly%' ORDER BY 1;
EXPLAIN (COSTS OFF)
SELECT job_name FROM regress_catalog.model_invocation_jobs WHERE job_name LIKE 'nightly%';

--
-- "Which models do we use that are being retired?"
--
INSERT INTO bedrock.usage_log (called_at, role_name, application_name, operation, model, attempts)
VALUES (now(), 'regress_catalog_app', 'regress_catalog', 'converse', 'amazon.titan-text-express-v1', 1),
       (now(), 'regress_catalog_app', 'regress_catalog', 'converse', 'amazon.titan-text-express-v1', 1),
       (now(), 'regress_catalog_app', 'regress_catalog', 'converse', 'anthropic.claude-3-haiku-20240307-v1:0', 1);
SELECT m.model_id, m.lifecycle_status, m.end_of_life_time, count(*) AS calls
  FROM regress_catalog.foundation_models m
  JOIN bedrock.usage_log u ON u.model = m.model_id
 WHERE m.lifecycle_status = 'LEGACY' AND u.application_name = 'regress_catalog'
 GROUP BY 1, 2, 3 ORDER BY 1;
DELETE FROM bedrock.usage_log WHERE application_name = 'regress_catalog';

--
-- a table may declare any subset of the columns, in any order and of any
-- type their values convert to
--
CREATE FOREIGN TABLE regress_catalog.models_short (
    lifecycle_status varchar(10), model_id text, response_streaming_supported text
) SERVER regress_catalog_server OPTIONS (resource 'foundation_models');
SELECT * FROM regress_catalog.models_short WHERE model_id LIKE 'amazon.%' ORDER BY model_id;
ALTER FOREIGN TABLE regress_catalog.models_short DROP COLUMN response_streaming_supported;
SELECT * FROM regress_catalog.models_short WHERE model_id = 'cohere.embed-english-v3';

--
-- refusals
--
-- a column the resource does not have: at plan time, named
CREATE FOREIGN TABLE regress_catalog.models_bad (model_id text, price numeric)
  SERVER regress_catalog_server OPTIONS (resource 'foundation_models');
SELECT * FROM regress_catalog.models_bad;
-- a value its column's type cannot take, with the column named
CREATE FOREIGN TABLE regress_catalog.models_int (model_id integer)
  SERVER regress_catalog_server OPTIONS (resource 'foundation_models');
SELECT * FROM regress_catalog.models_int;
-- a resource that does not exist: the wrapper's validator refuses it when
-- the table is made; a table without one is refused when scanned
CREATE FOREIGN TABLE regress_catalog.bad_resource (id text)
  SERVER regress_catalog_server OPTIONS (resource 'models');
CREATE FOREIGN TABLE regress_catalog.no_resource (id text) SERVER regress_catalog_server;
SELECT * FROM regress_catalog.no_resource;
-- read-only
INSERT INTO regress_catalog.guardrails (id, name) VALUES ('x', 'y');
UPDATE regress_catalog.guardrails SET name = 'renamed';
DELETE FROM regress_catalog.model_invocation_jobs;
-- another remote schema, an option
CREATE SCHEMA regress_catalog_2;
IMPORT FOREIGN SCHEMA public FROM SERVER regress_catalog_server INTO regress_catalog_2;
IMPORT FOREIGN SCHEMA bedrock FROM SERVER regress_catalog_server INTO regress_catalog_2
  OPTIONS (import_default 'true');
-- LIMIT TO and EXCEPT
IMPORT FOREIGN SCHEMA bedrock LIMIT TO (guardrails, no_such_table)
  FROM SERVER regress_catalog_server INTO regress_catalog_2;
IMPORT FOREIGN SCHEMA bedrock EXCEPT (guardrails, model_invocation_jobs)
  FROM SERVER regress_catalog_server INTO regress_catalog_2;
SELECT relname FROM pg_class WHERE relnamespace = 'regress_catalog_2'::regnamespace ORDER BY 1;
-- AWS's errors come through as errors
\! node test/emulator/admin.js fault '{"type":"error","code":"AccessDeniedException","status":403,"message":"User is not authorized to perform: bedrock:ListGuardrails","route":"control"}'
SELECT regress_try('SELECT count(*) FROM regress_catalog.guardrails');
-- a page that is not the operation's shape
\! node test/emulator/admin.js fault '{"type":"malformed","body":"{\"guardrails\":{\"id\":1}}","route":"control"}'
SELECT regress_try('SELECT count(*) FROM regress_catalog.guardrails');
\! node test/emulator/admin.js fault '{"type":"malformed","body":"[1,2","route":"control"}'
SELECT regress_try('SELECT count(*) FROM regress_catalog.foundation_models');
\! node test/emulator/admin.js fault '{"type":"malformed","body":"{\"modelSummaries\":[{\"modelId\":{\"x\":1}}]}","route":"control"}'
SELECT regress_try('SELECT model_id FROM regress_catalog.foundation_models');

\! node test/emulator/admin.js reset
SET client_min_messages = warning;
DROP SCHEMA regress_catalog, regress_catalog_2 CASCADE;
DROP USER MAPPING FOR CURRENT_USER SERVER regress_catalog_server;
DROP SERVER regress_catalog_server;
