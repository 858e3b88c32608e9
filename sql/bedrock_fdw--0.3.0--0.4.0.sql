/* sql/bedrock_fdw--0.3.0--0.4.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.4.0'" to load this file. \quit

-- 0.4.0: typed extraction, documents, guardrails, embeddings, per-role AWS
-- identities through the foreign data wrapper, and Bedrock batch inference
-- jobs.  Each section below belongs to one concern; keep additions inside it.

-- ==== Extraction: bedrock_extract, classify, is_true ====

-- (end of Extraction)



-- ==== Converse features: documents, guardrails, caching, tiers, tokens ====

-- (end of Converse features)



-- ==== Embeddings and InvokeModel ====

-- bedrock_embed: the embedding of one text as real[] (castable to
-- pgvector's vector), over InvokeModel with the model family's own request
-- (Titan Text Embeddings v1/v2, Cohere Embed v3/v4); usage rows of
-- operation 'invoke'.
CREATE FUNCTION bedrock_embed(model text, input text, options jsonb DEFAULT NULL)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bedrock_embed'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_embed(text, text, jsonb) IS
'The embedding of input by an embedding model (Titan Text Embeddings v1/v2, Cohere Embed v3/v4) as real[]; options: dimensions, normalize, input_type, truncate, output_dimension, timeout_ms, max_attempts, on_error';

REVOKE ALL ON FUNCTION bedrock_embed(text, text, jsonb) FROM PUBLIC;

-- bedrock_embed_batch: many texts, packed (Cohere: 96 a request) and sent
-- concurrently (Titan: one a request) by the batch engine.
CREATE FUNCTION bedrock_embed_batch(model text, inputs text[], options jsonb DEFAULT NULL)
RETURNS TABLE (ord int, embedding real[])
AS 'MODULE_PATHNAME', 'bedrock_embed_batch'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_embed_batch(text, text[], jsonb) IS
'bedrock_embed for every element of inputs: as many texts a request as the model takes (Cohere Embed: 96), requests concurrently; one row per input in input order, NULL for a NULL input or a failed request (on_error "null", the default)';

REVOKE ALL ON FUNCTION bedrock_embed_batch(text, text[], jsonb) FROM PUBLIC;

-- bedrock_invoke: InvokeModel with the model's native body, for what
-- Converse and the embedding families do not cover.
CREATE FUNCTION bedrock_invoke(model text, body jsonb, options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_invoke'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_invoke(text, jsonb, jsonb) IS
'Send body, a model''s native InvokeModel request, to a model; returns the model''s response as "response" with request_id, attempts, latency_ms and usage from the token-count headers';

REVOKE ALL ON FUNCTION bedrock_invoke(text, jsonb, jsonb) FROM PUBLIC;

CREATE FUNCTION bedrock_invoke_batch(model text, bodies jsonb[], options jsonb DEFAULT NULL)
RETURNS TABLE (ord int, response jsonb)
AS 'MODULE_PATHNAME', 'bedrock_invoke_batch'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_invoke_batch(text, jsonb[], jsonb) IS
'bedrock_invoke for every element of bodies, with up to bedrock.max_concurrency (or the concurrency option) requests in flight; one row per body in input order, failures as JSON error rows unless on_error says otherwise';

REVOKE ALL ON FUNCTION bedrock_invoke_batch(text, jsonb[], jsonb) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION bedrock_embed(text, text, jsonb),
                          bedrock_embed_batch(text, text[], jsonb),
                          bedrock_invoke(text, jsonb, jsonb),
                          bedrock_invoke_batch(text, jsonb[], jsonb)
    TO bedrock_user;

-- bedrock_enrich: as in 0.3.0, plus embeddings: a real[], vector or
-- halfvec target column (or the option "embed": true) is filled with the
-- embedding of the prompt expression through bedrock_embed_batch (Cohere
-- packs 96 rows a request), in the same committed, resumable chunks, with
-- progress in bedrock.jobs.  A failed request leaves its rows NULL and
-- counts as errors (EmbeddingFailed; bedrock.usage_log has the cause).
CREATE OR REPLACE PROCEDURE bedrock_enrich(target_table regclass, target_column name,
                                           prompt text, model text,
                                           system text DEFAULT NULL, options jsonb DEFAULT NULL,
                                           chunk_size int DEFAULT 512, notices boolean DEFAULT false)
LANGUAGE plpgsql AS $body$
DECLARE
    target_type regtype;
    job bigint;
    todo bigint;
    after_row tid := '(0,0)';
    claim text;
    store text;
    stop_status text;       -- set when a chunk raised: 'interrupted' or 'failed'
    stop_code text;
    stop_message text;
    stop_detail text;
    final_status text;
    embed boolean;          -- fill the column with embeddings
    call_options jsonb;     -- options without "embed"
BEGIN
    IF target_table IS NULL OR target_column IS NULL OR prompt IS NULL OR model IS NULL THEN
        RAISE EXCEPTION 'bedrock_enrich needs a table, a target column, a prompt and a model'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF chunk_size IS NULL OR chunk_size < 1 OR chunk_size > 100000 THEN
        RAISE EXCEPTION 'chunk_size must be between 1 and 100000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT a.atttypid::pg_catalog.regtype INTO target_type
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) target_table
       AND a.attname OPERATOR(pg_catalog.=) target_column
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    IF target_type IS NULL THEN
        RAISE EXCEPTION 'column % of % does not exist', pg_catalog.quote_ident(target_column), target_table
            USING ERRCODE = 'undefined_column';
    END IF;
    -- embeddings for a real[] or pgvector column, or when options.embed says
    IF pg_catalog.jsonb_typeof(options) OPERATOR(pg_catalog.=) 'object'
       AND options OPERATOR(pg_catalog.?) 'embed' THEN
        IF pg_catalog.jsonb_typeof(options OPERATOR(pg_catalog.->) 'embed') OPERATOR(pg_catalog.<>) 'boolean' THEN
            RAISE EXCEPTION 'option "embed" of bedrock_enrich must be a boolean'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        embed := (options OPERATOR(pg_catalog.->>) 'embed')::boolean;
        call_options := options OPERATOR(pg_catalog.-) 'embed'::text;
    ELSE
        embed := target_type OPERATOR(pg_catalog.=) 'real[]'::pg_catalog.regtype
                 OR EXISTS (SELECT FROM pg_catalog.pg_type t
                             WHERE t.oid OPERATOR(pg_catalog.=) target_type
                               AND t.typname IN ('vector', 'halfvec'));
        call_options := options;
    END IF;
    IF embed THEN
        IF target_type OPERATOR(pg_catalog.<>) 'real[]'::pg_catalog.regtype
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_cast c
                            WHERE c.castsource OPERATOR(pg_catalog.=) 'real[]'::pg_catalog.regtype
                              AND c.casttarget OPERATOR(pg_catalog.=) target_type) THEN
            RAISE EXCEPTION 'target column % of % is of type %, which cannot hold an embedding',
                            pg_catalog.quote_ident(target_column), target_table, target_type
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'Embeddings go into real[] columns, or pgvector''s vector and halfvec.';
        END IF;
        IF system IS NOT NULL THEN
            RAISE EXCEPTION 'bedrock_enrich takes no system prompt for embeddings'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass NULL as system; embedding options such as input_type go in options.';
        END IF;
    ELSIF target_type NOT IN ('text'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype) THEN
        RAISE EXCEPTION 'target column % of % is of type %, not text or jsonb',
                        pg_catalog.quote_ident(target_column), target_table, target_type
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Embeddings go into real[] columns, or pgvector''s vector and halfvec, or set the option "embed".';
    END IF;

    -- the prompt is an SQL expression over the row: say so when it is not
    BEGIN
        EXECUTE pg_catalog.format('SELECT (%s)::text FROM %s LIMIT 0', prompt, target_table);
    EXCEPTION WHEN syntax_error OR undefined_column THEN
        GET STACKED DIAGNOSTICS stop_code = RETURNED_SQLSTATE, stop_message = MESSAGE_TEXT;
        RAISE EXCEPTION 'prompt is not an SQL expression over the rows of %', target_table
            USING ERRCODE = stop_code,
                  DETAIL = pg_catalog.format('Evaluating it failed: %s.', stop_message),
                  HINT = 'The prompt is SQL evaluated for each row, such as $$''Summarize: '' || body$$; '
                         'to send the same text for every row, write it as a string literal, such as $$''Summarize this''$$.';
    END;

    -- a run whose backend is gone was interrupted
    UPDATE bedrock.enrich_jobs j SET status = 'interrupted', finished_at = j.updated_at
     WHERE j.status OPERATOR(pg_catalog.=) 'running'
       AND j.role_name OPERATOR(pg_catalog.=) current_user
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity s
                        WHERE s.pid OPERATOR(pg_catalog.=) j.pid);

    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL',
                              target_table, target_column)
       INTO todo;
    INSERT INTO bedrock.enrich_jobs (table_name, target_column, model, rows_total)
    VALUES (target_table::text, target_column, model, todo)
    RETURNING job_id INTO job;
    COMMIT;

    claim := pg_catalog.format(
        'SELECT pg_catalog.array_agg(ctid ORDER BY ctid),
                pg_catalog.array_agg(NULLIF((%s)::text, '''') ORDER BY ctid)
           FROM (SELECT ctid, * FROM %s
                  WHERE %I IS NULL AND ctid OPERATOR(pg_catalog.>) $1
                  ORDER BY ctid LIMIT $2 FOR UPDATE SKIP LOCKED) claimed',
        prompt, target_table, target_column);
    store := pg_catalog.format(
        'UPDATE %s t SET %I = CASE WHEN $3 THEN r.response::text::%s ELSE (r.response OPERATOR(pg_catalog.->>) ''text'')::%s END
           FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS r(row_id, response)
          WHERE t.ctid OPERATOR(pg_catalog.=) r.row_id AND r.response OPERATOR(pg_catalog.?) ''text''',
        target_table, target_column, target_type, target_type);
    IF embed THEN
        -- {"text": "{0.1,...}"} as real[], then the column's type
        store := pg_catalog.format(
            'UPDATE %s t SET %I = ((r.response OPERATOR(pg_catalog.->>) ''text'')::pg_catalog.float4[])::%s
               FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS r(row_id, response)
              WHERE t.ctid OPERATOR(pg_catalog.=) r.row_id AND r.response OPERATOR(pg_catalog.?) ''text''',
            target_table, target_column, target_type);
    END IF;

    LOOP
        DECLARE
            ids tid[];
            prompts text[];
            results jsonb[];
            n_rows int;
            n_ok int;
        BEGIN
            EXECUTE claim INTO ids, prompts USING after_row, chunk_size;
            EXIT WHEN ids IS NULL;
            -- claimed in ctid order: rows that stay NULL (failed, skipped)
            -- lie behind the watermark and are left to a later run
            after_row := ids[pg_catalog.array_upper(ids, 1)];
            IF embed THEN
                -- an embedding as {"text": "{...}"}; a failed request as an
                -- error (its cause is in bedrock.usage_log)
                SELECT pg_catalog.array_agg(CASE
                         WHEN b.embedding IS NOT NULL THEN
                           pg_catalog.jsonb_build_object('text', b.embedding::text)
                         WHEN prompts[b.ord] IS NOT NULL THEN
                           '{"error": {"code": "EmbeddingFailed", "message": "the embedding request failed or refused the input; bedrock.usage_log has its error"}}'::jsonb
                         END ORDER BY b.ord) INTO results
                  FROM @extschema@.bedrock_embed_batch(model, prompts, call_options) b;
            ELSE
                SELECT pg_catalog.array_agg(b.response ORDER BY b.ord) INTO results
                  FROM @extschema@.bedrock_chat_batch(model, prompts, system,
                           coalesce(call_options, '{}') OPERATOR(pg_catalog.||) '{"on_error": "json"}') b;
            END IF;
            EXECUTE store USING ids, results, target_type OPERATOR(pg_catalog.=) 'jsonb'::pg_catalog.regtype;
            GET DIAGNOSTICS n_ok = ROW_COUNT;
            n_rows := pg_catalog.array_length(ids, 1);
            WITH outcome AS (
                SELECT i, ids[i] AS row_id, prompts[i] IS NULL AS skipped,
                       results[i] OPERATOR(pg_catalog.->) 'error' AS error
                  FROM pg_catalog.generate_subscripts(ids, 1) i
            ), chunk AS (
                SELECT pg_catalog.count(*) FILTER (WHERE skipped) AS skipped,
                       pg_catalog.count(*) FILTER (WHERE NOT skipped) AS called,
                       (pg_catalog.array_agg(error ORDER BY i DESC) FILTER (WHERE error IS NOT NULL))[1] AS last_error,
                       pg_catalog.array_agg(row_id ORDER BY i) FILTER (WHERE NOT skipped AND error IS NOT NULL) AS failed,
                       pg_catalog.sum((results[i] OPERATOR(pg_catalog.->) 'usage' OPERATOR(pg_catalog.->>) 'input_tokens')::bigint) AS tokens_in,
                       pg_catalog.sum((results[i] OPERATOR(pg_catalog.->) 'usage' OPERATOR(pg_catalog.->>) 'output_tokens')::bigint) AS tokens_out
                  FROM outcome
            )
            UPDATE bedrock.enrich_jobs j
               SET rows_done = j.rows_done OPERATOR(pg_catalog.+) n_ok,
                   rows_skipped = j.rows_skipped OPERATOR(pg_catalog.+) c.skipped,
                   errors = j.errors OPERATOR(pg_catalog.+) (c.called OPERATOR(pg_catalog.-) n_ok),
                   input_tokens = j.input_tokens OPERATOR(pg_catalog.+) coalesce(c.tokens_in, 0),
                   output_tokens = j.output_tokens OPERATOR(pg_catalog.+) coalesce(c.tokens_out, 0),
                   last_error_code = coalesce(c.last_error OPERATOR(pg_catalog.->>) 'code', j.last_error_code),
                   last_error_message = coalesce(c.last_error OPERATOR(pg_catalog.->>) 'message', j.last_error_message),
                   failed_rows = (j.failed_rows OPERATOR(pg_catalog.||) coalesce(c.failed, '{}'))[1:100],
                   updated_at = pg_catalog.clock_timestamp()
              FROM chunk c
             WHERE j.job_id OPERATOR(pg_catalog.=) job;
        EXCEPTION
            WHEN query_canceled THEN
                stop_status := 'interrupted';
                GET STACKED DIAGNOSTICS stop_code = RETURNED_SQLSTATE,
                    stop_message = MESSAGE_TEXT, stop_detail = PG_EXCEPTION_DETAIL;
            WHEN OTHERS THEN
                stop_status := 'failed';
                GET STACKED DIAGNOSTICS stop_code = RETURNED_SQLSTATE,
                    stop_message = MESSAGE_TEXT, stop_detail = PG_EXCEPTION_DETAIL;
        END;
        EXIT WHEN stop_status IS NOT NULL;
        COMMIT;
        PERFORM bedrock.enrich_restart_statement_timeout();
        IF notices THEN
            RAISE NOTICE 'bedrock_enrich job %: % of % rows done, % skipped, % errors', job,
                (SELECT j.rows_done FROM bedrock.enrich_jobs j WHERE j.job_id OPERATOR(pg_catalog.=) job), todo,
                (SELECT j.rows_skipped FROM bedrock.enrich_jobs j WHERE j.job_id OPERATOR(pg_catalog.=) job),
                (SELECT j.errors FROM bedrock.enrich_jobs j WHERE j.job_id OPERATOR(pg_catalog.=) job);
        END IF;
    END LOOP;

    IF stop_status IS NOT NULL THEN
        -- the chunk in flight was rolled back; record why, keep the record,
        -- and let the error go on
        UPDATE bedrock.enrich_jobs j
           SET status = stop_status, last_error_code = stop_code,
               last_error_message = stop_message,
               updated_at = pg_catalog.clock_timestamp(), finished_at = pg_catalog.clock_timestamp()
         WHERE j.job_id OPERATOR(pg_catalog.=) job;
        COMMIT;
        final_status := pg_catalog.format('bedrock_enrich job %s is marked %s; call bedrock_enrich again to resume where it stopped.',
                                          job, stop_status);
        IF coalesce(stop_detail, '') OPERATOR(pg_catalog.=) '' THEN
            RAISE EXCEPTION USING ERRCODE = stop_code, MESSAGE = stop_message, HINT = final_status;
        END IF;
        RAISE EXCEPTION USING ERRCODE = stop_code, MESSAGE = stop_message, DETAIL = stop_detail,
            HINT = final_status;
    END IF;

    UPDATE bedrock.enrich_jobs j
       SET status = CASE WHEN j.rows_done OPERATOR(pg_catalog.=) 0 AND j.errors OPERATOR(pg_catalog.>) 0
                         THEN 'failed' ELSE 'done' END,
           finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp()
     WHERE j.job_id OPERATOR(pg_catalog.=) job
    RETURNING j.status, j.last_error_code, j.last_error_message, j.errors
      INTO final_status, stop_code, stop_message, todo;
    COMMIT;
    IF final_status OPERATOR(pg_catalog.=) 'failed' THEN
        RAISE WARNING 'bedrock_enrich job %: every call failed (% errors)', job, todo
            USING DETAIL = pg_catalog.format('The last error was %s: %s', stop_code, stop_message),
                  HINT = 'bedrock.jobs keeps the last error of each job; fix the cause and call bedrock_enrich again.';
    END IF;
END
$body$;

COMMENT ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean) IS
'Fill target_column of target_table, where it is NULL, from the SQL expression prompt over each row, in committed chunks sent with bedrock_chat_batch (text, jsonb) or bedrock_embed_batch (real[], vector, halfvec, or options.embed); progress and the last error in bedrock.jobs; statement_timeout applies per chunk; call again to resume';

-- (end of Embeddings and InvokeModel)



-- ==== Foreign data wrapper: servers, user mappings, identities ====

-- (end of Foreign data wrapper)



-- ==== Catalog foreign tables: IMPORT FOREIGN SCHEMA ====

-- (end of Catalog foreign tables)



-- ==== Batch inference jobs ====

-- (end of Batch inference jobs)
