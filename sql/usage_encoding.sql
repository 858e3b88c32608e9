--
-- usage_encoding: what bedrock.usage_log stores is valid in the server
-- encoding.  A 300-byte model id of two-byte characters is cut on a
-- character boundary (254 bytes, not 255), and the row survives a COPY
-- out of the usage table and back into a UTF8 database.
--
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_usage_utf8 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'
    TEMPLATE template0;
\c regress_usage_utf8
SET client_encoding = 'UTF8';
SET application_name = 'regress_usage_encoding';
CREATE EXTENSION bedrock_fdw;
-- 150 times U+00E9 (C3 A9): an id no model has, refused by Bedrock
SELECT octet_length(repeat(U&'\00E9', 150)) AS model_bytes;
SELECT bedrock_chat(repeat(U&'\00E9', 150), 'hello', NULL,
                    '{"on_error": "null", "max_attempts": 1}') IS NULL AS failed;
\c postgres
CREATE EXTENSION bedrock_fdw;
-- wait (20 s at most) for the usage writer
DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '20 seconds';
BEGIN
    WHILE NOT EXISTS (SELECT FROM bedrock.usage_log
                       WHERE application_name = 'regress_usage_encoding')
          AND clock_timestamp() < deadline
    LOOP
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
-- the bytes as stored, whatever this database's encoding
SELECT octet_length(textsend(model)) AS stored_bytes,
       encode(substring(textsend(model) FROM 249), 'hex') AS last_bytes,
       error_code
  FROM bedrock.usage_log WHERE application_name = 'regress_usage_encoding';
-- (a file in the throw-away instance's data directory)
SELECT current_setting('data_directory') || '/usage_encoding.copy' AS copyfile \gset
COPY (SELECT model, error_code FROM bedrock.usage_log
       WHERE application_name = 'regress_usage_encoding') TO :'copyfile';
DROP EXTENSION bedrock_fdw;
\c regress_usage_utf8
SET client_encoding = 'UTF8';
CREATE TEMP TABLE usage_copy (model text, error_code text);
COPY usage_copy FROM :'copyfile';
SELECT model = repeat(U&'\00E9', 127) AS model_cut_on_a_character, error_code
  FROM usage_copy;
\c :regress_db
DROP DATABASE regress_usage_utf8;
