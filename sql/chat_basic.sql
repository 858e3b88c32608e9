--
-- chat_basic: bedrock_chat end to end against the emulator.
--

-- the happy path, with everything a result carries
SELECT jsonb_pretty(regress_stable(
         bedrock_chat('openai.gpt-oss-20b-1:0',
                      'Summarize: the lessee pays the rent monthly in advance.')));

-- the same request gives the same text (the emulator is deterministic)
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: rent is due monthly.')->>'text'
     = bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: rent is due monthly.')->>'text'
       AS deterministic;

-- a system prompt counts towards the input tokens
SELECT (bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'Hello there', 'You are a terse contract analyst.')->'usage'->>'input_tokens')::int
     > (bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'Hello there')->'usage'->>'input_tokens')::int
       AS system_prompt_counted;

-- README.md's example over a contracts table
CREATE TABLE contracts (id int PRIMARY KEY, body text);
INSERT INTO contracts VALUES
  (1, 'The supplier shall deliver 500 units of steel pipe by March 1.'),
  (2, 'Either party may terminate this agreement with 30 days written notice.'),
  (3, NULL);
SELECT id, bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: ' || body)->>'text' AS summary
  FROM contracts ORDER BY id;

-- NULL model or prompt returns NULL without calling Bedrock
\! node test/emulator/admin.js reset
SELECT bedrock_chat(NULL, 'x') IS NULL AS null_model,
       bedrock_chat('openai.gpt-oss-20b-1:0', NULL) IS NULL AS null_prompt,
       bedrock_chat('openai.gpt-oss-20b-1:0', 'x', NULL, NULL) IS NOT NULL AS null_system_and_options;
\! node test/emulator/admin.js stat requests.converse

-- model ids with ':' and '/' travel percent-encoded (the id is one path
-- segment) and are signed double-encoded: inference profiles, ARNs
SELECT m AS model, bedrock_chat(m, 'Hi')->>'stop_reason' AS stop_reason
  FROM unnest(ARRAY[
    'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6']) m;
\! node test/emulator/admin.js stat last.-1.path

-- gpt-oss returns its reasoning apart from the answer
SELECT bedrock_chat('openai.gpt-oss-120b-1:0', 'What is 2+2?') ? 'reasoning' AS has_reasoning;

-- connections are kept alive: a fresh backend makes 5 calls over 1 connection
\c -
\! node test/emulator/admin.js reset
SELECT count(r) FROM generate_series(1, 5) g,
       LATERAL bedrock_chat('openai.gpt-oss-20b-1:0', 'ping ' || g) r;
\! node test/emulator/admin.js stat connections
