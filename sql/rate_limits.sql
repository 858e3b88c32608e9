--
-- rate_limits: the shared rate limiter.  bedrock.rate_limits gives models
-- request and token budgets per minute; throttling makes the limiter
-- adaptive (it slows down instead of storming); bedrock.rate_limits (the
-- view) shows its state.  Rules are set with ALTER SYSTEM, as a DBA would;
-- a backend takes a reloaded setting before its next statement, which the
-- pg_sleep gives it time for (SHOW confirms).
--
\! node test/emulator/admin.js reset
SELECT bedrock_rate_limits_reset() IS NOT NULL AS reset;
SELECT count(*) AS models FROM bedrock.rate_limits;

-- the setting is checked when it is set: errors name the rule at fault
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-120b-1:0 rpm=abc';
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-120b-1:0 rpm=0';
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-120b-1:0 rpm=10 rpm=20';
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-120b-1:0';
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-120b-1:0 rps=5';
ALTER SYSTEM SET bedrock.rate_limits = 'a rpm=1, a rpm=2';
ALTER SYSTEM SET bedrock.rate_limits = 'open*ai rpm=1';
ALTER SYSTEM SET bedrock.rate_limits = 'a rpm=1,,b rpm=2';
ALTER SYSTEM SET bedrock.rate_limits = 'a rpm=1000000000001';
-- it is the DBA's, for the whole server
SET bedrock.rate_limits = '* rpm=1';

-- an rpm limit: 8 prompts at 120 per minute take about 3 s (a second's
-- worth may go at once), whatever the batch's concurrency
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-120b-1:0 rpm=120, openai.* tpm=100000';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;
SELECT clock_timestamp() AS start \gset
SELECT count(*) AS rows, count(*) FILTER (WHERE response->>'text' = 'p' || ord) AS in_order,
       count(*) FILTER (WHERE (response->>'rate_limited_ms')::float > 0) >= 5 AS most_waited
  FROM bedrock_chat_batch('openai.gpt-oss-120b-1:0',
                          (SELECT array_agg('echo: p' || g ORDER BY g) FROM generate_series(1, 8) g),
                          NULL, '{"concurrency": 8}');
SELECT clock_timestamp() - :'start'::timestamptz >= interval '2.4 s' AS held_back;
-- the exact pattern wins over the prefix; the budget is per model
SELECT model, rpm_limit, tpm_limit, adaptive, allowed_rpm, admitted, delayed >= 5 AS delayed,
       delay_ms > 1000 AS waited, throttled, last_throttle
  FROM bedrock.rate_limits ORDER BY model;

-- a tpm limit: calls reserve an estimate of their input tokens and settle
-- it against the tokens Bedrock reports
ALTER SYSTEM SET bedrock.rate_limits = 'anthropic.* tpm=600';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;
SELECT count(*) AS rows, count(*) FILTER (WHERE response ? 'text') AS answered
  FROM bedrock_chat_batch('anthropic.claude-3-haiku-20240307-v1:0',
                          (SELECT array_agg('echo: t' || g) FROM generate_series(1, 6) g));
SELECT model, rpm_limit, tpm_limit, allowed_rpm IS NULL AS no_request_limit,
       tokens_available IS NOT NULL AS tokens_counted, admitted, delayed > 0 AS delayed
  FROM bedrock.rate_limits WHERE model LIKE 'anthropic.%';

-- a single call is held back too, and says how long
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-120b-1:0 rpm=60';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;
SELECT bedrock_rate_limits_reset() IS NOT NULL AS reset;
SELECT r->>'text' AS text, r ? 'rate_limited_ms' AS waited
  FROM bedrock_chat('openai.gpt-oss-120b-1:0', 'echo: first') r;
SELECT r->>'text' AS text, (r->>'rate_limited_ms')::float > 500 AS waited
  FROM bedrock_chat('openai.gpt-oss-120b-1:0', 'echo: second') r;

-- a throttling storm: the emulator throttles every other call for 3 s.
-- Every prompt ends answered, and the limiter has backed off: it is
-- adaptive now, with an allowed rate of its own although no rule is set.
ALTER SYSTEM RESET bedrock.rate_limits;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;
SELECT bedrock_rate_limits_reset() IS NOT NULL AS reset;
\! node test/emulator/admin.js fault '{"type":"throttle","every":2,"count":0,"for_ms":3000,"model":"openai.gpt-oss-120b-1:0"}'
SELECT count(*) AS rows, count(*) FILTER (WHERE response ? 'text') AS answered,
       count(*) FILTER (WHERE (response->>'attempts')::int > 1) > 0 AS retried
  FROM bedrock_chat_batch('openai.gpt-oss-120b-1:0',
                          (SELECT array_agg('storm ' || g) FROM generate_series(1, 120) g),
                          NULL, '{"concurrency": 16, "max_attempts": 10}');
SELECT model, rpm_limit, adaptive, allowed_rpm > 0 AS allowed_rate, admitted >= 120 AS admitted,
       delayed > 0 AS held_back, throttled > 0 AS throttled, last_throttle IS NOT NULL AS last_throttle
  FROM bedrock.rate_limits;
\! node test/emulator/admin.js clear

-- bedrock.adaptive_rate_limiting = off keeps what was learnt but stops
-- applying it
ALTER SYSTEM SET bedrock.adaptive_rate_limiting = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.adaptive_rate_limiting;
SELECT model, adaptive, allowed_rpm, throttled > 0 AS throttled, slowed_down FROM bedrock.rate_limits;
ALTER SYSTEM RESET bedrock.adaptive_rate_limiting;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.adaptive_rate_limiting;

-- bedrock.rate_limits shows why calls wait after a throttling storm: the
-- adaptive rate is below the configured one (any applies when none is
-- configured), since the throttle that began the slowdown
SELECT model, slowed_down, slowed_down_since IS NOT NULL AS since,
       slowed_down_since <= last_throttle AS began_first, slowdown_throttles > 0 AS throttles,
       adaptive_rpm = allowed_rpm AS adaptive_applies, last_delay_reason
  FROM bedrock.rate_limits;

-- budgets belong to base models: rules are reduced to the model they name
-- (a pattern that names none is refused), and a call through a
-- foundation-model ARN or a cross-region inference profile draws on the
-- model's own budget under the model's rule
ALTER SYSTEM SET bedrock.rate_limits = 'us.* rpm=1';
ALTER SYSTEM SET bedrock.rate_limits = 'us.anthropic.* rpm=1, anthropic.* rpm=2';
ALTER SYSTEM SET bedrock.rate_limits = 'arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-20b-1:0 rpm=1, us.anthropic.* rpm=1';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;
SELECT bedrock_rate_limits_reset() IS NOT NULL AS reset;
SELECT r->>'text' AS text FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: base') r;
SELECT r->>'text' AS text FROM bedrock_chat('us.anthropic.claude-3-haiku-20240307-v1:0', 'echo: profile') r;
-- each budget is spent (one request a minute): the aliases wait for it,
-- here until the statement times out
SET statement_timeout = '1s';
SELECT bedrock_chat('arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-20b-1:0', 'echo: arn');
SELECT bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: base of the profile');
SELECT bedrock_chat('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0', 'echo: profile arn');
RESET statement_timeout;
SELECT model, rpm_limit, admitted, delayed, last_delay_reason FROM bedrock.rate_limits ORDER BY model;

-- a changed rule keeps what the budget holds, clipped to its new size: a
-- reload does not hand out a fresh second's worth.  Rates are shown
-- rounded (1000, not 1000.0000000000001).
ALTER SYSTEM SET bedrock.rate_limits = 'openai.gpt-oss-20b-1:0 rpm=2, anthropic.* rpm=1000';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;
SELECT model, rpm_limit, allowed_rpm, requests_available < 0.5 AS still_spent
  FROM bedrock.rate_limits ORDER BY model;
SET statement_timeout = '1s';
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: after the change');
RESET statement_timeout;
SELECT bedrock_rate_limits_reset() IS NOT NULL AS reset;
ALTER SYSTEM RESET bedrock.rate_limits;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;

-- model ids are every role's business: bedrock_admin and pg_monitor look,
-- a role granted neither does not; only the superuser (or whom they grant)
-- may reset
CREATE ROLE regress_rate_reader;
SET ROLE regress_rate_reader;
SELECT regress_try($$SELECT count(*) FROM bedrock.rate_limits$$);
SELECT regress_try($$SELECT bedrock_rate_limits_reset()$$);
RESET ROLE;
GRANT pg_monitor TO regress_rate_reader;
SET ROLE regress_rate_reader;
SELECT count(*) > 0 AS visible FROM bedrock.rate_limits;
SELECT regress_try($$SELECT bedrock_rate_limits_reset()$$);
RESET ROLE;
DROP ROLE regress_rate_reader;

-- the reset forgets every model
SELECT bedrock_rate_limits_reset() IS NOT NULL AS reset;
SELECT count(*) AS models FROM bedrock.rate_limits;
ALTER SYSTEM RESET bedrock.rate_limits;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW bedrock.rate_limits;
