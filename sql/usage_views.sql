--
-- usage_views: the SQL side of usage accounting (bedrock.usage_log, its
-- views, model_prices, row-level security, bedrock_usage_purge) on known
-- rows.  The library may write real rows into usage_log meanwhile: every
-- synthetic row has a model id starting with 'regress.', every query
-- filters on it, and the rows are deleted at the end.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

-- what the install script made
SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'bedrock_admin';
SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.reloptions,
       obj_description(c.oid, 'pg_class') IS NOT NULL AS has_comment,
       has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       has_table_privilege('public', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS public_write,
       has_table_privilege('bedrock_admin', c.oid, 'DELETE') AS admin_delete,
       has_table_privilege('bedrock_admin', c.oid, 'UPDATE') AS admin_update
  FROM pg_class c
 WHERE c.relnamespace = 'bedrock'::regnamespace
   AND c.relname IN ('usage_log', 'model_prices', 'usage_summary', 'usage_by_role',
                     'recent_errors', 'throttling', 'usage_log_called_at_idx',
                     'usage_log_role_name_called_at_idx')
 ORDER BY c.relname;
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       p.provolatile, p.prosecdef, p.proconfig,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS has_comment,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute,
       has_function_privilege('bedrock_admin', p.oid, 'EXECUTE') AS admin_may_execute
  FROM pg_proc p
 WHERE p.proname IN ('call_cost', 'bedrock_usage_purge')
 ORDER BY 1;
SELECT polname, polcmd, polroles::regrole[],
       obj_description(oid, 'pg_policy') IS NOT NULL AS has_comment
  FROM pg_policy WHERE polrelid = 'bedrock.usage_log'::regclass ORDER BY 1;
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid, 0, false) LIKE '%(called_at)' AS on_called_at,
       pg_get_indexdef(indexrelid, 0, false) LIKE '%(role_name, called_at)' AS on_role_called_at
  FROM pg_index WHERE indrelid = 'bedrock.usage_log'::regclass ORDER BY 1;
-- pg_dump keeps the usage rows and the prices
SELECT unnest(extconfig)::regclass AS dumped
  FROM pg_extension WHERE extname = 'bedrock_fdw' ORDER BY 1;

CREATE ROLE regress_usage_alice;
CREATE ROLE regress_usage_bob;
CREATE ROLE regress_usage_admin;
GRANT bedrock_admin TO regress_usage_admin;

-- model-a changes price at midnight UTC on 2 March; model-b has no price
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k, effective_from)
VALUES ('regress.model-a', 0.50, 1.50, '-infinity'),
       ('regress.model-a', 0.25, 1.00, '2025-03-02 00:00:00+00');
-- a negative price is refused
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k)
VALUES ('regress.model-x', -1, 0);

INSERT INTO bedrock.usage_log
       (called_at, database_name, session_role, role_name, application_name, backend_pid,
        operation, model, input_tokens, output_tokens, total_tokens,
        cache_read_input_tokens, cache_write_input_tokens, client_latency_ms,
        service_latency_ms, http_status, error_code, attempts, throttled_attempts,
        request_id, principal_arn, credential_source)
VALUES
  -- alice, model-a, 1 March: four successes (one retried after throttling),
  -- one call that gave up throttled after 3 attempts
  ('2025-03-01 10:00:00+00', 'regress_db', 'regress_usage_alice', 'regress_usage_alice', 'app', 101,
   'converse', 'regress.model-a', 1000, 200, 1200, NULL, NULL, 100, 80, 200, NULL, 1, 0,
   'req-a1', 'arn:aws:sts::123456789012:assumed-role/regress-db/i-1', 'instance'),
  ('2025-03-01 11:00:00+00', 'regress_db', 'regress_usage_alice', 'regress_usage_alice', 'app', 101,
   'converse', 'regress.model-a', 2000, 400, 2400, NULL, NULL, 200, 90, 200, NULL, 2, 1,
   'req-a2', 'arn:aws:sts::123456789012:assumed-role/regress-db/i-1', 'instance'),
  ('2025-03-01 12:00:00+00', 'regress_db', 'regress_usage_alice', 'regress_usage_alice', 'app', 101,
   'converse', 'regress.model-a', 500, 100, 600, 300, 50, 300, 250, 200, NULL, 1, 0,
   'req-a3', 'arn:aws:sts::123456789012:assumed-role/regress-db/i-1', 'instance'),
  ('2025-03-01 13:00:00+00', 'regress_db', 'regress_usage_alice', 'regress_usage_alice', 'app', 101,
   'converse', 'regress.model-a', NULL, NULL, NULL, NULL, NULL, 900, NULL, 429, 'ThrottlingException', 3, 3,
   'req-a5', 'arn:aws:sts::123456789012:assumed-role/regress-db/i-1', 'instance'),
  -- 23:30 UTC is already 2 March in Tokyo: days are UTC days
  ('2025-03-01 23:30:00+00', 'regress_db', 'regress_usage_alice', 'regress_usage_alice', 'app', 101,
   'converse', 'regress.model-a', 400, 40, 440, NULL, NULL, 400, 300, 200, NULL, 1, 0,
   'req-a4', 'arn:aws:sts::123456789012:assumed-role/regress-db/i-1', 'instance'),
  -- bob, model-a, 2 March: the first call at the very instant the new price starts
  ('2025-03-02 00:00:00+00', 'regress_db', 'regress_usage_bob', 'regress_usage_bob', 'etl', 202,
   'converse', 'regress.model-a', 1000, 1000, 2000, NULL, NULL, 100, 70, 200, NULL, 1, 0,
   'req-a6', 'arn:aws:sts::123456789012:assumed-role/regress-etl/i-2', 'web_identity'),
  ('2025-03-02 08:00:00+00', 'regress_db', 'regress_usage_bob', 'regress_usage_bob', 'etl', 202,
   'converse', 'regress.model-a', NULL, NULL, NULL, NULL, NULL, 50, NULL, 400, 'ValidationException', 1, 0,
   'req-a7', 'arn:aws:sts::123456789012:assumed-role/regress-etl/i-2', 'web_identity'),
  -- model-b (no price): bob twice and a model timeout; alice once, with no principal known
  ('2025-03-01 09:00:00+00', 'regress_db', 'regress_usage_bob', 'regress_usage_bob', 'etl', 202,
   'converse', 'regress.model-b', 100, 10, 110, NULL, NULL, 10, 5, 200, NULL, 1, 0,
   'req-b1', 'arn:aws:sts::123456789012:assumed-role/regress-etl/i-2', 'web_identity'),
  ('2025-03-01 09:01:00+00', 'regress_db', 'regress_usage_bob', 'regress_usage_bob', 'etl', 202,
   'converse', 'regress.model-b', 100, 10, 110, NULL, NULL, 20, 15, 200, NULL, 1, 0,
   'req-b2', 'arn:aws:sts::123456789012:assumed-role/regress-etl/i-2', 'web_identity'),
  ('2025-03-01 09:02:00+00', 'regress_db', 'regress_usage_bob', 'regress_usage_bob', 'etl', 202,
   'converse', 'regress.model-b', NULL, NULL, NULL, NULL, NULL, 60000, NULL, 408, 'ModelTimeoutException', 1, 0,
   'req-b3', 'arn:aws:sts::123456789012:assumed-role/regress-etl/i-2', 'web_identity'),
  ('2025-03-01 09:03:00+00', 'regress_db', 'regress_usage_bob', 'regress_usage_alice', 'app', 303,
   'converse', 'regress.model-b', 50, 5, 55, NULL, NULL, 30, 25, 200, NULL, 1, 0,
   'req-b4', NULL, 'static'),
  -- two rows far older than anything real, for the purge
  ('2001-01-01 00:00:00+00', 'regress_db', 'regress_usage_alice', 'regress_usage_alice', 'app', 1,
   'converse', 'regress.model-old', 10, 1, 11, NULL, NULL, 10, 10, 200, NULL, 1, 0,
   'req-o1', NULL, 'static'),
  ('2001-01-02 00:00:00+00', 'regress_db', 'regress_usage_bob', 'regress_usage_bob', 'app', 2,
   'converse', 'regress.model-old', 10, 1, 11, NULL, NULL, 10, 10, 200, NULL, 1, 0,
   'req-o2', NULL, 'static');

-- the writer supplies no id: it is generated, and cannot be forced
INSERT INTO bedrock.usage_log (id, called_at, role_name, operation, model, attempts)
VALUES (1, now(), 'regress_usage_alice', 'converse', 'regress.model-x', 1);

-- the price in effect at called_at
SELECT t.label, bedrock.call_cost(t.model, t.at, t.input_tokens, t.output_tokens) AS cost
  FROM (VALUES ('long before the change', 'regress.model-a', '1900-01-01 00:00:00+00'::timestamptz, 1000::bigint, 1000::bigint),
               ('just before the change', 'regress.model-a', '2025-03-01 23:59:59.999999+00', 1000, 1000),
               ('at the change', 'regress.model-a', '2025-03-02 00:00:00+00', 1000, 1000),
               ('after the change', 'regress.model-a', '2030-01-01 00:00:00+00', 2000, 0),
               ('unknown tokens', 'regress.model-a', '2025-03-01 12:00:00+00', NULL, NULL),
               ('no price', 'regress.model-b', '2025-03-01 12:00:00+00', 1000, 1000)) AS t(label, model, at, input_tokens, output_tokens)
 ORDER BY t.at, t.label;

-- per model and UTC day
SELECT model, day, calls, errors, throttled_calls, throttled_attempts, retries,
       input_tokens, output_tokens, total_tokens, cache_read_input_tokens, cache_write_input_tokens,
       round(p50_latency_ms::numeric, 3) AS p50, round(p95_latency_ms::numeric, 3) AS p95,
       round(p99_latency_ms::numeric, 3) AS p99, round(estimated_cost, 6) AS estimated_cost
  FROM bedrock.usage_summary
 WHERE model IN ('regress.model-a', 'regress.model-b')
 ORDER BY model, day;

-- the same days in another time zone
SET timezone = 'Asia/Tokyo';
SELECT model, day, calls FROM bedrock.usage_summary
 WHERE model IN ('regress.model-a', 'regress.model-b') ORDER BY model, day;
SET timezone = 'UTC';

-- the views' cost is bedrock.call_cost's, call by call (cached tokens and tier included)
SELECT s.model, s.day, s.estimated_cost IS NOT DISTINCT FROM c.cost AS same_cost
  FROM bedrock.usage_summary s
  JOIN (SELECT model, (called_at AT TIME ZONE 'UTC')::date AS day,
               sum(bedrock.call_cost(model, called_at, input_tokens, output_tokens,
                                     cache_read_input_tokens, cache_write_input_tokens, service_tier)) AS cost
          FROM bedrock.usage_log GROUP BY 1, 2) c USING (model, day)
 WHERE s.model IN ('regress.model-a', 'regress.model-b')
 ORDER BY 1, 2;

-- per role and IAM principal
SELECT role_name, principal_arn, calls, errors, input_tokens, output_tokens, total_tokens,
       round(estimated_cost, 6) AS estimated_cost, first_call, last_call
  FROM bedrock.usage_by_role
 WHERE role_name IN ('regress_usage_alice', 'regress_usage_bob')
 ORDER BY role_name, principal_arn NULLS LAST;

-- Recent errors and throttling are relative to now(): one transaction, so
-- that now() is the same for the rows and for the views.
BEGIN;
INSERT INTO bedrock.usage_log
       (called_at, role_name, operation, model, input_tokens, output_tokens, total_tokens,
        client_latency_ms, http_status, error_code, attempts, throttled_attempts, request_id)
VALUES (now() - interval '10 minutes', 'regress_usage_alice', 'converse', 'regress.model-c',
        10, 1, 11, 15, 200, NULL, 1, 0, 'req-c1'),
       (now() - interval '1 hour', 'regress_usage_alice', 'converse', 'regress.model-c',
        NULL, NULL, NULL, 2500, 429, 'ThrottlingException', 3, 3, 'req-c2'),
       (now() - interval '2 hours', 'regress_usage_bob', 'converse', 'regress.model-c',
        NULL, NULL, NULL, 40, 403, 'AccessDeniedException', 1, 0, 'req-c3'),
       (now() - interval '30 hours', 'regress_usage_bob', 'converse', 'regress.model-c',
        NULL, NULL, NULL, 40, 500, 'InternalServerException', 3, 0, 'req-c4');
-- the last 24 hours only, newest first
SELECT now() - called_at AS age, model, error_code, http_status, attempts, throttled_attempts,
       role_name, request_id
  FROM bedrock.recent_errors WHERE model LIKE 'regress.%';

-- Calls in two whole minutes of the last hour, and one 70 minutes ago.
-- (The call of exactly an hour ago is outside "the last hour".)
INSERT INTO bedrock.usage_log
       (called_at, role_name, operation, model, input_tokens, output_tokens, total_tokens,
        client_latency_ms, http_status, error_code, attempts, throttled_attempts, request_id)
SELECT date_trunc('minute', now()) + t.offs, t.role_name, 'converse', t.model,
       t.tokens, t.tokens, 2 * t.tokens, 100, t.status, t.code, t.attempts, t.throttled, t.req
  FROM (VALUES (interval '-5 minutes 10 seconds', 'regress_usage_alice', 'regress.model-c', 10, 200, NULL, 1, 0, 'req-d1'),
               (interval '-5 minutes 20 seconds', 'regress_usage_alice', 'regress.model-c', 10, 200, NULL, 3, 2, 'req-d2'),
               (interval '-5 minutes 30 seconds', 'regress_usage_bob', 'regress.model-c', NULL, 429, 'ThrottlingException', 3, 3, 'req-d3'),
               (interval '-10 minutes 5 seconds', 'regress_usage_bob', 'regress.model-a', 10, 200, NULL, 2, 1, 'req-d4'),
               (interval '-70 minutes', 'regress_usage_bob', 'regress.model-c', 10, 200, NULL, 3, 2, 'req-d5'))
       AS t(offs, role_name, model, tokens, status, code, attempts, throttled, req);
SELECT date_trunc('minute', now()) - minute AS minutes_ago, model, calls,
       throttled_calls, throttled_attempts
  FROM bedrock.throttling WHERE model LIKE 'regress.%'
 ORDER BY minute DESC, model;
COMMIT;

-- Row-level security: a role sees its own calls, in the table and in
-- every view; it cannot write, delete or purge.
SET ROLE regress_usage_alice;
SELECT role_name, model, count(*) AS calls
  FROM bedrock.usage_log WHERE model LIKE 'regress.%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT role_name, principal_arn, calls, round(estimated_cost, 6) AS estimated_cost
  FROM bedrock.usage_by_role WHERE role_name LIKE 'regress\_usage\_%'
 ORDER BY role_name, principal_arn NULLS LAST;
SELECT model, day, calls FROM bedrock.usage_summary
 WHERE model LIKE 'regress.%' AND day < '2025-12-31' ORDER BY model, day;
SELECT role_name, error_code FROM bedrock.recent_errors
 WHERE model LIKE 'regress.%' ORDER BY called_at DESC;
SELECT model, sum(calls) AS calls FROM bedrock.throttling
 WHERE model LIKE 'regress.%' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS prices_visible FROM bedrock.model_prices WHERE model LIKE 'regress.%';
INSERT INTO bedrock.usage_log (called_at, role_name, operation, model, attempts)
VALUES (now(), 'regress_usage_alice', 'converse', 'regress.model-x', 1);
UPDATE bedrock.usage_log SET input_tokens = 0 WHERE model LIKE 'regress.%';
DELETE FROM bedrock.usage_log WHERE model LIKE 'regress.%';
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k)
VALUES ('regress.model-x', 0, 0);
SELECT regress_try($$SELECT bedrock_usage_purge('1 day')$$) AS purge;
RESET ROLE;

SET ROLE regress_usage_bob;
SELECT role_name, model, count(*) AS calls
  FROM bedrock.usage_log WHERE model LIKE 'regress.%' GROUP BY 1, 2 ORDER BY 1, 2;
RESET ROLE;

-- A member of bedrock_admin sees every role's calls, may delete them and
-- maintain prices, but not rewrite history.
SET ROLE regress_usage_admin;
SELECT role_name, model, count(*) AS calls
  FROM bedrock.usage_log WHERE model LIKE 'regress.%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT role_name, principal_arn, calls
  FROM bedrock.usage_by_role WHERE role_name LIKE 'regress\_usage\_%'
 ORDER BY role_name, principal_arn NULLS LAST;
UPDATE bedrock.usage_log SET input_tokens = 0 WHERE model LIKE 'regress.%';
BEGIN;
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k)
VALUES ('regress.model-b', 0.1, 0.2);
SELECT model, day, round(estimated_cost, 6) AS estimated_cost FROM bedrock.usage_summary
 WHERE model = 'regress.model-b' ORDER BY day;
WITH deleted AS (DELETE FROM bedrock.usage_log WHERE model = 'regress.model-b' RETURNING role_name)
SELECT role_name, count(*) AS deleted FROM deleted GROUP BY 1 ORDER BY 1;
ROLLBACK;

-- Retention: a non-positive age is refused; with no age given, an empty
-- bedrock.usage_retention (the default) keeps everything.
SELECT regress_try($$SELECT bedrock_usage_purge('-1 day')$$) AS purge;
SELECT regress_try($$SELECT bedrock_usage_purge('0')$$) AS purge;
SELECT regress_try($$SELECT bedrock_usage_purge('1 day -25 hours')$$) AS purge;
SELECT coalesce(current_setting('bedrock.usage_retention', true), '') AS usage_retention;
SELECT bedrock_usage_purge() AS deleted;
-- rows older than 20 years: only the two from 2001
SELECT bedrock_usage_purge('20 years') AS deleted;
RESET ROLE;

SELECT model, count(*) AS calls, min(called_at) > now() - interval '20 years' AS all_younger
  FROM bedrock.usage_log WHERE model LIKE 'regress.%' GROUP BY 1 ORDER BY 1;

-- the views round what floating point leaves: latencies to 3 decimals of
-- a millisecond, costs without trailing zeros
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k)
VALUES ('regress.model-r', 0.0030, 0.0150);
INSERT INTO bedrock.usage_log
       (called_at, role_name, operation, model, input_tokens, output_tokens,
        client_latency_ms, error_code, attempts)
VALUES (now(), current_user, 'converse', 'regress.model-r', 1001, 67, 4.7008705, NULL, 1),
       (now(), current_user, 'converse', 'regress.model-r', 999, 33, 995.3000000000001, NULL, 1),
       (now(), current_user, 'converse', 'regress.model-r', 10, 0, 1000.0000000000001, 'ThrottlingException', 3);
SELECT calls, p50_latency_ms, p95_latency_ms, p99_latency_ms, estimated_cost
  FROM bedrock.usage_summary WHERE model = 'regress.model-r';
SELECT error_code, client_latency_ms FROM bedrock.recent_errors WHERE model = 'regress.model-r';

-- clean up
DELETE FROM bedrock.usage_log WHERE model LIKE 'regress.%';
DELETE FROM bedrock.model_prices WHERE model LIKE 'regress.%';
DROP ROLE regress_usage_admin;
DROP ROLE regress_usage_alice;
DROP ROLE regress_usage_bob;
