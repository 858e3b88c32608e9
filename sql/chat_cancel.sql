--
-- chat_cancel: statement_timeout stops a call in flight with PostgreSQL's
-- own 57014; the backend's HTTP state is clean afterwards.
--
\set VERBOSITY terse
\! node test/emulator/admin.js fault '{"type":"latency","ms":20000,"count":1}'
SET statement_timeout = '250ms';
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'this call is slow');
RESET statement_timeout;
\! node test/emulator/admin.js clear
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')->>'stop_reason' AS after_timeout;

-- a slow body (bytes trickling in) is cancelled just the same
\! node test/emulator/admin.js fault '{"type":"slow_body","ms":20000,"count":1}'
SET statement_timeout = '250ms';
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'this body is slow');
RESET statement_timeout;
\! node test/emulator/admin.js clear

-- inside a transaction with a savepoint, the transaction survives
BEGIN;
SAVEPOINT s;
\! node test/emulator/admin.js fault '{"type":"latency","ms":20000,"count":1}'
SET LOCAL statement_timeout = '250ms';
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'slow in a savepoint');
ROLLBACK TO SAVEPOINT s;
SET LOCAL statement_timeout = 0;
\! node test/emulator/admin.js clear
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi')->>'stop_reason' AS after_savepoint;
COMMIT;
