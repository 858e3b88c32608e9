--
-- chat_retry: throttling and transient errors are retried (AWS standard
-- mode: 3 attempts by default, capped exponential backoff with full
-- jitter); client errors and model failures are not.
--
\! node test/emulator/admin.js reset

-- throttled twice, then served: 3 attempts
\! node test/emulator/admin.js fault '{"type":"throttle","count":2}'
SELECT r->>'stop_reason' AS stop_reason, r->'attempts' AS attempts
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi') r;

-- throttled for longer than the attempts last: 53000 after 3 attempts
\! node test/emulator/admin.js fault '{"type":"throttle","count":5}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')$$);
\! node test/emulator/admin.js clear

-- bedrock.max_attempts and the max_attempts option bound the attempts
\! node test/emulator/admin.js fault '{"type":"throttle","count":4}'
SET bedrock.max_attempts = 5;
SELECT r->'attempts' AS attempts FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi') r;
RESET bedrock.max_attempts;
\! node test/emulator/admin.js fault '{"type":"throttle","count":1}'
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"max_attempts": 1}')$$);
\! node test/emulator/admin.js clear

-- 503 once, then served
\! node test/emulator/admin.js fault '{"type":"error","code":"ServiceUnavailableException","status":503}'
SELECT r->'attempts' AS attempts FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi') r;

-- a connection reset once, then served (in a fresh backend: on a reused
-- connection libcurl itself re-sends once when the peer closed it before
-- answering, as HTTP clients do, and we would not see the reset)
\c -
\! node test/emulator/admin.js fault '{"type":"reset"}'
SELECT r->'attempts' AS attempts FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi') r;

-- ModelTimeoutException and ModelErrorException are not retried
\! node test/emulator/admin.js fault '{"type":"error","code":"ModelTimeoutException","status":408,"count":3}'
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"on_error": "json"}')->'attempts' AS attempts;
\! node test/emulator/admin.js clear
\! node test/emulator/admin.js fault '{"type":"error","code":"ModelErrorException","status":424,"count":3}'
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', NULL, '{"on_error": "json"}')->'attempts' AS attempts;
\! node test/emulator/admin.js clear

-- nor are validation errors
SELECT bedrock_chat('openai.no-such-model-v9:0', 'Hi', NULL, '{"on_error": "json"}')->'attempts' AS attempts;

-- the emulator's clock runs 15 minutes ahead: the first attempt is refused
-- as "Signature expired", the response's Date teaches us the offset, and
-- the call is signed again with the server's time
\! node test/emulator/admin.js clock 900
SELECT r->>'stop_reason' AS stop_reason, r->'attempts' AS attempts
  FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi') r;
-- later calls are signed with the learnt offset from the start
SELECT r->'attempts' AS attempts FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi') r;
\! node test/emulator/admin.js clock 0
SELECT r->'attempts' AS attempts FROM bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi') r;

-- every attempt was counted by the emulator (the sum of the above)
\! node test/emulator/admin.js stat requests.converse
