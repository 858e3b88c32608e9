--
-- roles: bedrock_user is the one role a DBA grants to let a role call
-- Bedrock; without it (or a grant of its own) every calling function and
-- procedure is refused with 42501.
--
\! node test/emulator/admin.js reset
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'bedrock_user';

-- what it holds: every calling function and procedure, and bedrock_whoami
SELECT p.oid::regprocedure AS routine
  FROM pg_proc p
 WHERE has_function_privilege('bedrock_user', p.oid, 'EXECUTE')
   AND p.oid IN (SELECT objid FROM pg_depend
                  WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'bedrock_fdw')
                    AND classid = 'pg_proc'::regclass)
   AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;

CREATE TABLE regress_roles_notes (id int, body text, answer text);
INSERT INTO regress_roles_notes VALUES (1, 'a note', NULL);
CREATE ROLE regress_roles_member;
CREATE ROLE regress_roles_outsider;
GRANT bedrock_user TO regress_roles_member;
GRANT SELECT, UPDATE ON regress_roles_notes TO regress_roles_member, regress_roles_outsider;

-- a member calls each of them
SET ROLE regress_roles_member;
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hi')->>'text' AS chat;
SELECT count(*) AS batch_rows
  FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['echo: a', 'echo: b']) b
 WHERE b.response ? 'text';
SELECT bedrock_converse('openai.gpt-oss-20b-1:0',
         '{"messages": [{"role": "user", "content": [{"text": "echo: hi"}]}]}')->>'text' AS converse;
SELECT count(*) AS converse_batch_rows
  FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0',
         ARRAY['{"messages": [{"role": "user", "content": [{"text": "echo: a"}]}]}'::jsonb]) b
 WHERE b.response ? 'text';
SELECT bedrock_whoami()->>'account' AS account;
CALL bedrock_enrich('regress_roles_notes', 'answer', $$'echo: ' || body$$, 'openai.gpt-oss-20b-1:0');
SELECT answer FROM regress_roles_notes;
SELECT status, rows_done FROM bedrock.jobs;
RESET ROLE;

-- an outsider is refused every one of them, with 42501
SET ROLE regress_roles_outsider;
DO $do$
DECLARE
    stmt text;
BEGIN
    FOREACH stmt IN ARRAY ARRAY[
        $q$SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'echo: hi')$q$,
        $q$SELECT * FROM bedrock_chat_batch('openai.gpt-oss-20b-1:0', ARRAY['echo: a'])$q$,
        $q$SELECT bedrock_converse('openai.gpt-oss-20b-1:0', '{"messages": []}')$q$,
        $q$SELECT * FROM bedrock_converse_batch('openai.gpt-oss-20b-1:0', ARRAY['{}'::jsonb])$q$,
        $q$SELECT bedrock_whoami()$q$,
        $q$CALL bedrock_enrich('regress_roles_notes', 'answer', $$'x'$$, 'openai.gpt-oss-20b-1:0')$q$]
    LOOP
        BEGIN
            EXECUTE stmt;
            RAISE NOTICE 'allowed: %', stmt;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '%: %', SQLSTATE, SQLERRM;
        END;
    END LOOP;
END $do$;
RESET ROLE;
\! node test/emulator/admin.js stat requests.converse

DROP TABLE regress_roles_notes;
DROP ROLE regress_roles_member, regress_roles_outsider;
