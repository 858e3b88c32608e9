--
-- bad_input: NULLs, empty strings, control characters, huge prompts,
-- model ids with ':' and '/'.  Bad input is refused before anything is
-- sent, with a clear error.
--
\! node test/emulator/admin.js reset
SELECT regress_try($$SELECT bedrock_chat('', 'Hi')$$);
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', '')$$);
SELECT regress_try($$SELECT bedrock_chat(E'openai.gpt-oss-20b-1:0\r\nX-Injected: 1', 'Hi')$$);
SELECT regress_try($$SELECT bedrock_chat(E'openai.gpt-oss\n20b', 'Hi')$$);
SELECT regress_try($$SELECT bedrock_chat(repeat('m', 2049), 'Hi')$$);
-- none of these reached the emulator
\! node test/emulator/admin.js stat requests.converse

-- an empty system prompt is no system prompt
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'Hi', '')->>'stop_reason' AS stop_reason;

-- prompts with quotes, backslashes, control characters and non-ASCII text
-- travel as JSON intact
SELECT bedrock_chat('openai.gpt-oss-20b-1:0',
                    E'Summarize: "quoted" \\ back\tslash \u00e9t\u00e9 \u2013 \u6f22\u5b57 \U0001F600')->>'stop_reason' AS stop_reason;

-- a prompt of several MB is sent whole; this one exceeds the model's
-- context window, which Bedrock reports as a validation error
SELECT regress_try($$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', repeat('All work and no play. ', 250000))$$);
-- a large prompt within the window is answered
SELECT (bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', repeat('clause ', 100000))->'usage'->>'input_tokens')::int > 100000 AS large_prompt_answered;

-- ids that look wrong but are just unknown go to Bedrock, which refuses them
SELECT regress_try($$SELECT bedrock_chat('../../etc/passwd', 'Hi')$$);
SELECT regress_try($$SELECT bedrock_chat('model with spaces?x=1#frag', 'Hi')$$);
\! node test/emulator/admin.js stat last.-1.path
