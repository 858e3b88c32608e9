/* sql/bedrock_fdw--0.3.0--0.4.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.4.0'" to load this file. \quit

-- 0.4.0: typed extraction, documents, guardrails, embeddings, per-role AWS
-- identities through the foreign data wrapper, and Bedrock batch inference
-- jobs.  Each section below belongs to one concern; keep additions inside it.

-- ==== Extraction: bedrock_extract, classify, is_true ====

-- bedrock_extract: the object extracted from input, conforming to schema
-- (a JSON Schema subset, checked before anything is sent), through
-- Converse structured output (outputConfig) or a forced tool call; a
-- non-conforming answer is asked for once more (docs/extraction.md).
CREATE FUNCTION bedrock_extract(model text, input text, schema jsonb,
                                instructions text DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_extract'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_extract(text, text, jsonb, text, jsonb) IS
'The object that model extracts from input, checked against schema (type, properties, required, enum, items); options.method auto, output_format or tool; a non-conforming answer is retried once, then handled by on_error (raise: SQLSTATE 22P02 naming the failing path)';

CREATE FUNCTION bedrock_extract_batch(model text, inputs text[], schema jsonb,
                                      instructions text DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS TABLE (ord int, result jsonb)
AS 'MODULE_PATHNAME', 'bedrock_extract_batch'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_extract_batch(text, text[], jsonb, text, jsonb) IS
'bedrock_extract for every element of inputs, with up to bedrock.max_concurrency (or the concurrency option) requests in flight, follow-up calls included; one row per input in input order, failures as JSON error rows unless on_error says otherwise';

CREATE FUNCTION bedrock_classify(model text, input text, labels text[],
                                 instructions text DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'bedrock_classify'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_classify(text, text, text[], text, jsonb) IS
'The one of labels that model chooses for input (an extraction of an enum); an error or NULL on failure, as on_error says';

CREATE FUNCTION bedrock_is_true(model text, input text, question text, options jsonb DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'bedrock_is_true'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_is_true(text, text, text, jsonb) IS
'Whether model answers question, asked about input, with true (an extraction of a boolean); an error or NULL on failure, as on_error says';

REVOKE ALL ON FUNCTION bedrock_extract(text, text, jsonb, text, jsonb),
                       bedrock_extract_batch(text, text[], jsonb, text, jsonb),
                       bedrock_classify(text, text, text[], text, jsonb),
                       bedrock_is_true(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock_extract(text, text, jsonb, text, jsonb),
                          bedrock_extract_batch(text, text[], jsonb, text, jsonb),
                          bedrock_classify(text, text, text[], text, jsonb),
                          bedrock_is_true(text, text, text, jsonb)
    TO bedrock_user;

-- The models that refused structured output, per server, remembered in
-- shared memory by method "auto" (this database's entries); the reset is
-- for bedrock_admin (after a model gained structured output, say).
CREATE FUNCTION bedrock_extract_refusals()
RETURNS TABLE (server text, model text, remembered_at timestamptz)
AS 'MODULE_PATHNAME', 'bedrock_extract_refusals'
LANGUAGE C VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_extract_refusals() IS
'The models that refused structured output (outputConfig) through a server (NULL: the settings) in this database, which bedrock_extract''s method auto sends a forced tool call from then on';

CREATE FUNCTION bedrock_extract_refusals_reset()
RETURNS bigint
AS 'MODULE_PATHNAME', 'bedrock_extract_refusals_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_extract_refusals_reset() IS
'Forget the structured output refusals of this database (bedrock_extract_refusals); returns how many there were';

REVOKE ALL ON FUNCTION bedrock_extract_refusals(), bedrock_extract_refusals_reset() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock_extract_refusals() TO bedrock_user, bedrock_admin;
GRANT EXECUTE ON FUNCTION bedrock_extract_refusals_reset() TO bedrock_admin;

-- (end of Extraction)



-- ==== Converse features: documents, guardrails, caching, tiers, tokens ====

-- Every Converse request now carries requestMetadata (database, role,
-- application_name, and the caller's keys of options.request_metadata),
-- the mandatory guardrail of bedrock.guardrail_identifier/_version, and
-- the options guardrail_*, documents, images, cache, service_tier and
-- latency; all of it is in the C code (src/engine/converse_features.c).

-- bedrock_apply_guardrail: ApplyGuardrail, a text through a guardrail
-- without a model call; a usage row of operation 'guardrail'.
CREATE FUNCTION bedrock_apply_guardrail(guardrail_identifier text, guardrail_version text,
                                        content text, source text DEFAULT 'INPUT',
                                        options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_apply_guardrail'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_apply_guardrail(text, text, text, text, jsonb) IS
'Apply a Bedrock guardrail to content (source INPUT or OUTPUT) without calling a model: action (NONE or GUARDRAIL_INTERVENED), output (the masked or blocked text when the guardrail intervened, else content), outputs, assessments, usage; options: timeout_ms, max_attempts, on_error, server';

REVOKE ALL ON FUNCTION bedrock_apply_guardrail(text, text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock_apply_guardrail(text, text, text, text, jsonb) TO bedrock_user;

-- bedrock_document, bedrock_image: an element of options.documents or
-- options.images made from a bytea (base64 inside), checked against
-- Bedrock's limits.  No network: everyone may call them.
CREATE FUNCTION bedrock_document(name text, format text, content bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_document'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_document(text, text, bytea) IS
'An element of options.documents ({"name", "format", "bytes"}) from a file in a bytea; format pdf, csv, doc, docx, xls, xlsx, html, txt or md, at most 4.5 MB';

CREATE FUNCTION bedrock_image(format text, content bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_image'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_image(text, bytea) IS
'An element of options.images ({"format", "bytes"}) from an image in a bytea; format png, jpeg, gif or webp, at most 3.75 MB and 8000 pixels a side';

-- usage_log: the service tier that served each call (Converse's
-- serviceTier.type); the usage views price it (section "Prices of cached
-- tokens and service tiers" at the end of this file).
ALTER TABLE bedrock.usage_log ADD COLUMN service_tier text;

COMMENT ON COLUMN bedrock.usage_log.service_tier IS
'service tier that served the call as Bedrock reported it (default, flex, priority, reserved); NULL when Bedrock did not say';

-- ---- Cost before you spend: count_tokens, estimates ----

-- bedrock_count_tokens: CountTokens on the Converse request bedrock_chat
-- would send (free: a usage row of operation 'count_tokens' with no token
-- counts, so that no view prices it).
CREATE FUNCTION bedrock_count_tokens(model text, prompt text, system text DEFAULT NULL,
                                     options jsonb DEFAULT NULL)
RETURNS int
AS 'MODULE_PATHNAME', 'bedrock_count_tokens'
LANGUAGE C VOLATILE PARALLEL SAFE COST 1000
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_count_tokens(text, text, text, jsonb) IS
'Input tokens of the Converse request bedrock_chat(model, prompt, system, options) would send, counted by Bedrock''s CountTokens (Anthropic models, foundation model ids only); nothing is generated or billed';

REVOKE ALL ON FUNCTION bedrock_count_tokens(text, text, text, jsonb) FROM PUBLIC;

-- bedrock.count_tokens_model: which foundation model CountTokens counts for
-- a model id (a cross-region profile's model), NULL when none.
CREATE FUNCTION bedrock.count_tokens_model(model text)
RETURNS text
AS 'MODULE_PATHNAME', 'bedrock_count_tokens_model'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock.count_tokens_model(text) IS
'The foundation model id whose tokens CountTokens counts for a call on model (an inference profile''s model), or NULL when the model has no CountTokens (only Anthropic models have it); makes no call';

-- bedrock_enrich_estimate: what bedrock_enrich would do and cost, without
-- calling the model: the rows it would fill (where target_column is NULL),
-- input tokens measured on a random sample of their prompts (CountTokens
-- when the model has it, else one token per 4 characters) and
-- extrapolated, output tokens from the model's history in
-- bedrock.usage_log (else options.max_tokens, else 256 a row), priced by
-- bedrock.call_cost.  Nothing is written; the CountTokens calls leave
-- their (free) usage rows.  SECURITY INVOKER without a pinned search_path,
-- as bedrock_enrich: the prompt is the caller's SQL over the caller's rows.
CREATE FUNCTION bedrock_enrich_estimate(target_table regclass, target_column name,
                                        prompt text, model text,
                                        system text DEFAULT NULL, options jsonb DEFAULT NULL,
                                        sample_size int DEFAULT 20)
RETURNS TABLE (rows_to_do bigint, rows_to_call bigint, sample_rows int,
               est_input_tokens bigint, est_output_tokens bigint,
               est_cost numeric, currency text,
               input_basis text, output_basis text)
LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
    target_type regtype;
    embed boolean;
    count_options jsonb;    -- bedrock_chat's options: no batch or enrich keys
    count_model text;       -- CountTokens counts with it; NULL: estimate
    sample_tokens bigint := 0;
    row_prompt text;
    output_per_row numeric;
    history_calls bigint;
BEGIN
    IF target_table IS NULL OR target_column IS NULL OR prompt IS NULL OR model IS NULL THEN
        RAISE EXCEPTION 'bedrock_enrich_estimate needs a table, a target column, a prompt and a model'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF sample_size IS NULL OR sample_size OPERATOR(pg_catalog.<) 1
       OR sample_size OPERATOR(pg_catalog.>) 1000 THEN
        RAISE EXCEPTION 'sample_size must be between 1 and 1000'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('It is %s.', coalesce(sample_size::text, 'NULL'));
    END IF;
    IF options IS NOT NULL AND pg_catalog.jsonb_typeof(options) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION 'options of bedrock_enrich_estimate must be a JSON object'
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
    IF options OPERATOR(pg_catalog.?) 'embed'
       AND pg_catalog.jsonb_typeof(options OPERATOR(pg_catalog.->) 'embed') OPERATOR(pg_catalog.<>) 'boolean' THEN
        RAISE EXCEPTION 'option "embed" of bedrock_enrich_estimate must be a boolean'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- an embedding run (bedrock_enrich decides the same way) has no output
    embed := coalesce((options OPERATOR(pg_catalog.->>) 'embed')::boolean,
                      target_type OPERATOR(pg_catalog.=) 'real[]'::pg_catalog.regtype
                      OR EXISTS (SELECT FROM pg_catalog.pg_type t
                                  WHERE t.oid OPERATOR(pg_catalog.=) target_type
                                    AND t.typname IN ('vector', 'halfvec')));
    count_options := options OPERATOR(pg_catalog.-)
                     '{embed,concurrency,on_error,schema}'::text[];

    -- the rows a run would claim, and those it would call the model for
    -- (it skips a NULL or empty prompt)
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NULLIF((%s)::text, '''') IS NOT NULL)
           FROM %s WHERE %I IS NULL', prompt, target_table, target_column)
       INTO rows_to_do, rows_to_call;

    -- input: measured on a random sample of the prompts, extrapolated
    count_model := CASE WHEN NOT embed THEN bedrock.count_tokens_model(model) END;
    sample_rows := 0;
    FOR row_prompt IN EXECUTE pg_catalog.format(
        'SELECT p FROM (SELECT NULLIF((%s)::text, '''') AS p FROM %s WHERE %I IS NULL) s
          WHERE p IS NOT NULL ORDER BY pg_catalog.random() LIMIT $1',
        prompt, target_table, target_column) USING sample_size
    LOOP
        sample_rows := sample_rows OPERATOR(pg_catalog.+) 1;
        IF count_model IS NOT NULL THEN
            sample_tokens := sample_tokens OPERATOR(pg_catalog.+)
                @extschema@.bedrock_count_tokens(count_model, row_prompt, system, count_options);
        ELSE
            -- no CountTokens: 1 token per 4 characters of prompt and system
            sample_tokens := sample_tokens OPERATOR(pg_catalog.+)
                greatest(1, pg_catalog.ceil((pg_catalog.char_length(row_prompt)
                    OPERATOR(pg_catalog.+) coalesce(pg_catalog.char_length(system), 0))
                    OPERATOR(pg_catalog./) 4.0)::bigint);
        END IF;
    END LOOP;
    est_input_tokens := CASE WHEN sample_rows OPERATOR(pg_catalog.>) 0 THEN
        pg_catalog.round(sample_tokens::pg_catalog.numeric OPERATOR(pg_catalog./) sample_rows
                         OPERATOR(pg_catalog.*) rows_to_call)::bigint ELSE 0 END;
    input_basis := CASE
        WHEN sample_rows OPERATOR(pg_catalog.=) 0 THEN 'no rows to call'
        WHEN count_model IS NOT NULL THEN
            pg_catalog.format('CountTokens (%s) on %s sampled rows', count_model, sample_rows)
        ELSE pg_catalog.format('1 token per 4 characters on %s sampled rows (%s has no CountTokens)',
                               sample_rows, model) END;

    -- output: what the model's successful calls produced, else the cap
    IF embed THEN
        output_per_row := 0;
        output_basis := 'embeddings have no output tokens';
    ELSE
        SELECT pg_catalog.avg(h.output_tokens), pg_catalog.count(*)
          INTO output_per_row, history_calls
          FROM (SELECT u.output_tokens FROM bedrock.usage_log u
                 WHERE u.model OPERATOR(pg_catalog.=) bedrock_enrich_estimate.model
                   AND u.operation OPERATOR(pg_catalog.=) 'converse'
                   AND u.error_code IS NULL AND u.output_tokens IS NOT NULL
                 ORDER BY u.called_at DESC LIMIT 1000) h;
        IF history_calls OPERATOR(pg_catalog.>) 0 THEN
            output_basis := pg_catalog.format('average of the last %s successful calls of %s in bedrock.usage_log',
                                              history_calls, model);
        ELSIF pg_catalog.jsonb_typeof(options OPERATOR(pg_catalog.->) 'max_tokens') OPERATOR(pg_catalog.=) 'number' THEN
            output_per_row := (options OPERATOR(pg_catalog.->>) 'max_tokens')::pg_catalog.numeric;
            output_basis := pg_catalog.format('options.max_tokens (%s a row, an upper bound): no usage history', output_per_row);
        ELSE
            output_per_row := 256;
            output_basis := 'default of 256 tokens a row: no usage history and no max_tokens';
        END IF;
    END IF;
    est_output_tokens := pg_catalog.round(output_per_row OPERATOR(pg_catalog.*) rows_to_call)::bigint;

    -- cost: today's price of the model, NULL when bedrock.model_prices has none
    est_cost := pg_catalog.trim_scale(bedrock.call_cost(model, pg_catalog.now(),
                                                        est_input_tokens, est_output_tokens));
    SELECT p.currency INTO currency FROM bedrock.price_periods p
     WHERE p.model OPERATOR(pg_catalog.=) bedrock_enrich_estimate.model
       AND p.effective_from OPERATOR(pg_catalog.<=) pg_catalog.now()
       AND p.effective_until OPERATOR(pg_catalog.>) pg_catalog.now();
    RETURN NEXT;
END
$body$;

COMMENT ON FUNCTION bedrock_enrich_estimate(regclass, name, text, text, text, jsonb, int) IS
'What bedrock_enrich with the same arguments would do, without calling the model: rows to do and to call, input tokens measured on a sample (CountTokens or 1 token per 4 characters) and extrapolated, output tokens from bedrock.usage_log history (else max_tokens, else 256 a row), the cost from bedrock.model_prices, and the basis of each estimate';

REVOKE ALL ON FUNCTION bedrock_enrich_estimate(regclass, name, text, text, text, jsonb, int) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION bedrock_count_tokens(text, text, text, jsonb),
                          bedrock_enrich_estimate(regclass, name, text, text, text, jsonb, int)
    TO bedrock_user;

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
-- dry_run => true reports bedrock_enrich_estimate's figures as INFO and
-- stops: no model call, no job row, nothing written.  (A new parameter:
-- the procedure is dropped and created again, with its grant.)
-- The grants a DBA gave (EXECUTE to an application role, say) survive
-- the new signature: noted here, given again after the CREATE.
SELECT pg_catalog.set_config('bedrock_fdw_upgrade.enrich_grants',
           coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        'role', r.rolname, 'grantable', a.is_grantable))::text, '[]'), true)
  FROM pg_catalog.pg_proc p
 CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
 WHERE p.oid OPERATOR(pg_catalog.=)
       'bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean)'::pg_catalog.regprocedure
   AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
   AND a.grantee OPERATOR(pg_catalog.<>) p.proowner;
DROP PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean);
CREATE PROCEDURE bedrock_enrich(target_table regclass, target_column name,
                                prompt text, model text,
                                system text DEFAULT NULL, options jsonb DEFAULT NULL,
                                chunk_size int DEFAULT 512, notices boolean DEFAULT false,
                                dry_run boolean DEFAULT false)
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
    call_options jsonb;     -- options without "embed" (and "schema")
    converse_options jsonb; -- call_options for bedrock_chat_batch and bedrock_extract_batch
    extract_schema jsonb;   -- options.schema: extracted objects
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
    -- options.schema fills a jsonb column with extracted objects
    IF pg_catalog.jsonb_typeof(options) OPERATOR(pg_catalog.=) 'object'
       AND options OPERATOR(pg_catalog.?) 'schema' THEN
        extract_schema := options OPERATOR(pg_catalog.->) 'schema';
        call_options := call_options OPERATOR(pg_catalog.-) 'schema'::text;
        IF embed OR target_type OPERATOR(pg_catalog.<>) 'jsonb'::pg_catalog.regtype THEN
            RAISE EXCEPTION 'option "schema" of bedrock_enrich needs a jsonb target column, not %', target_type
                USING ERRCODE = 'wrong_object_type';
        END IF;
        -- the schema and options are checked before a job starts (no input: no call)
        PERFORM FROM @extschema@.bedrock_extract_batch(model, '{}'::text[], extract_schema, system, call_options);
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

    -- a dry run: what the run would do and cost, then stop (nothing written)
    IF dry_run THEN
        DECLARE
            est record;
        BEGIN
            SELECT * INTO est FROM @extschema@.bedrock_enrich_estimate(target_table, target_column,
                                                                       prompt, model, system, options);
            RAISE INFO 'bedrock_enrich dry run: % rows to do, % to call; about % input and % output tokens, cost %',
                est.rows_to_do, est.rows_to_call, est.est_input_tokens, est.est_output_tokens,
                coalesce(est.est_cost::text OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) est.currency,
                         'unknown (no price of the model in bedrock.model_prices)')
                USING DETAIL = pg_catalog.format('Input tokens: %s. Output tokens: %s.',
                                                 est.input_basis, est.output_basis),
                      HINT = 'Nothing was sent to the model or written. bedrock_enrich_estimate returns the same figures as a row.';
        END;
        RETURN;
    END IF;

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
    ELSIF extract_schema IS NOT NULL THEN
        -- {"text": "<the object>"}, then jsonb
        store := pg_catalog.format(
            'UPDATE %s t SET %I = (r.response OPERATOR(pg_catalog.->>) ''text'')::pg_catalog.jsonb
               FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS r(row_id, response)
              WHERE t.ctid OPERATOR(pg_catalog.=) r.row_id AND r.response OPERATOR(pg_catalog.?) ''text''',
            target_table, target_column);
    END IF;

    -- the options of the Converse calls (chat and extraction): failures as
    -- data, and the job id in Bedrock's invocation logs (requestMetadata)
    converse_options := coalesce(call_options, '{}')
        OPERATOR(pg_catalog.||) '{"on_error": "json"}'
        OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('request_metadata',
            coalesce(call_options OPERATOR(pg_catalog.->) 'request_metadata', '{}')
            OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('enrich_job_id', job::text));

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
            ELSIF extract_schema IS NOT NULL THEN
                -- an object as {"text": "{...}"}; a failure is {"error": ...}
                -- (unless the schema has a member "error" of its own)
                SELECT pg_catalog.array_agg(CASE
                         WHEN b.result OPERATOR(pg_catalog.?) 'error'
                              AND NOT coalesce(extract_schema OPERATOR(pg_catalog.->) 'properties' OPERATOR(pg_catalog.?) 'error', false)
                           THEN b.result
                         WHEN b.result IS NOT NULL THEN pg_catalog.jsonb_build_object('text', b.result::text)
                         END ORDER BY b.ord) INTO results
                  FROM @extschema@.bedrock_extract_batch(model, prompts, extract_schema, system,
                                                         converse_options) b;
            ELSE
                SELECT pg_catalog.array_agg(b.response ORDER BY b.ord) INTO results
                  FROM @extschema@.bedrock_chat_batch(model, prompts, system, converse_options) b;
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

COMMENT ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean, boolean) IS
'Fill target_column of target_table, where it is NULL, from the SQL expression prompt over each row, in committed chunks sent with bedrock_chat_batch (text, jsonb), bedrock_extract_batch (jsonb, with options.schema) or bedrock_embed_batch (real[], vector, halfvec, or options.embed); progress and the last error in bedrock.jobs; statement_timeout applies per chunk; call again to resume; dry_run reports the estimate (bedrock_enrich_estimate) and calls nothing';

REVOKE ALL ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean, boolean)
    TO bedrock_user;
DO $$
DECLARE
    g jsonb;
BEGIN
    FOR g IN SELECT e.value FROM pg_catalog.jsonb_array_elements(
                 pg_catalog.current_setting('bedrock_fdw_upgrade.enrich_grants')::jsonb) e
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON PROCEDURE bedrock_enrich(regclass, name, text, text, text, jsonb, int, boolean, boolean) TO %I%s',
                                  g OPERATOR(pg_catalog.->>) 'role',
                                  CASE WHEN (g OPERATOR(pg_catalog.->>) 'grantable')::boolean
                                       THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END $$;

-- (end of Embeddings and InvokeModel)



-- ==== Foreign data wrapper: servers, user mappings, identities ====

-- The wrapper: servers say where Bedrock is and which AWS identity the
-- server has, user mappings which identity each role has on top of it
-- (docs/fdw.md).  The validator checks the options of every server, user
-- mapping and foreign table; the catalog foreign tables add a handler
-- below.
CREATE FUNCTION bedrock_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'bedrock_fdw_validator'
LANGUAGE C STRICT;

COMMENT ON FUNCTION bedrock_fdw_validator(text[], oid) IS
'Validator of the bedrock_fdw foreign data wrapper: the options of its servers, user mappings and foreign tables';

CREATE FOREIGN DATA WRAPPER bedrock_fdw VALIDATOR bedrock_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER bedrock_fdw IS
'Amazon Bedrock: servers hold the region, endpoints and the server''s AWS identity, user mappings the identity of each role';

-- usage_log: the foreign server each call went through (NULL: none, the
-- settings' identity); principal_arn stays the IAM principal that signed.
ALTER TABLE bedrock.usage_log ADD COLUMN server_name name;

COMMENT ON COLUMN bedrock.usage_log.server_name IS
'foreign server of bedrock_fdw the call went through (options.server or bedrock.server); NULL when none was chosen';

-- Cost per IAM principal and server, day by day: what the AWS bill is
-- split by.  Row-level security of usage_log applies (security_invoker).
CREATE VIEW bedrock.usage_by_principal WITH (security_invoker = true) AS
SELECT (u.called_at AT TIME ZONE 'UTC')::date AS day,
       u.principal_arn,
       u.server_name,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       count(*) FILTER (WHERE u.error_code IN ('ThrottlingException', 'TooManyRequestsException')
                           OR (u.error_code IS NOT NULL AND u.http_status = 429)) AS throttled_calls,
       sum(u.throttled_attempts)::bigint AS throttled_attempts,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       trim_scale(sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.input_per_1k)
                       OPERATOR(pg_catalog.+)
                       (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) p.output_per_1k))
                      OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric)) AS estimated_cost,
       count(DISTINCT u.role_name) AS roles
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY (u.called_at AT TIME ZONE 'UTC')::date, u.principal_arn, u.server_name;

COMMENT ON VIEW bedrock.usage_by_principal IS
'Per UTC day, IAM principal and foreign server: calls, errors, throttled calls and attempts, tokens, estimated cost and the number of database roles';

GRANT SELECT ON bedrock.usage_by_principal TO PUBLIC;

-- bedrock.credentials: one row for the settings' identity, then one per
-- (server, user mapping, role) identity of the shared cache, with the
-- server, the role and the IAM principal.  Never a secret; the superuser's
-- and bedrock_admin's.
DROP VIEW bedrock.credentials;
DROP FUNCTION bedrock_credentials();

CREATE FUNCTION bedrock_credentials(
    OUT cache text, OUT source text, OUT access_key_id text,
    OUT expiration timestamptz, OUT last_refresh timestamptz,
    OUT last_attempt timestamptz, OUT last_error text,
    OUT refresh_count bigint, OUT failure_count bigint, OUT worker_pid int,
    OUT server_name name, OUT role_name name, OUT principal_arn text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bedrock_credentials'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION bedrock_credentials() IS
'State of the AWS credential caches: the settings'' identity, then one row per foreign server identity (server, role, principal); source, masked access key id, expiration, last refresh and error, counts, worker pid';

CREATE VIEW bedrock.credentials AS SELECT * FROM bedrock_credentials();

COMMENT ON VIEW bedrock.credentials IS
'State of the AWS credential caches, one row per identity; never shows a secret';

REVOKE ALL ON FUNCTION bedrock_credentials() FROM PUBLIC;
REVOKE ALL ON bedrock.credentials FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock_credentials() TO bedrock_admin;
GRANT SELECT ON bedrock.credentials TO bedrock_admin;

-- (end of Foreign data wrapper)



-- ==== Catalog foreign tables: IMPORT FOREIGN SCHEMA ====

-- The wrapper's handler: read-only foreign tables over the Bedrock catalog
-- (ListFoundationModels, ListInferenceProfiles, ListGuardrails,
-- ListModelInvocationJobs), made by IMPORT FOREIGN SCHEMA bedrock.  Only the
-- executor calls it; it returns the routine table and sends nothing.
CREATE FUNCTION bedrock_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'bedrock_fdw_handler'
LANGUAGE C STRICT;

COMMENT ON FUNCTION bedrock_fdw_handler() IS
'Handler of the bedrock_fdw foreign data wrapper: read-only foreign tables over the Bedrock catalog (foundation_models, inference_profiles, guardrails, model_invocation_jobs)';

REVOKE ALL ON FUNCTION bedrock_fdw_handler() FROM PUBLIC;

-- No foreign table of the wrapper exists yet: the warning that a new
-- handler changes the behaviour of existing ones does not apply.
SET LOCAL client_min_messages = error;
ALTER FOREIGN DATA WRAPPER bedrock_fdw HANDLER bedrock_fdw_handler;
SET LOCAL client_min_messages = warning;

-- (end of Catalog foreign tables)



-- ==== Batch inference jobs ====

-- Bedrock batch inference from SQL (docs/batch-jobs.md).  A submission
-- (bedrock.batches, one row per bedrock_batch_submit) writes the rows of a
-- table as JSONL records to S3, in files and jobs within Bedrock's quotas,
-- and creates one Bedrock model invocation job per part
-- (bedrock.batch_jobs); bedrock.batch_records maps each record id to its
-- row key and says what became of it.  bedrock_batch_collect follows the
-- jobs and writes each record's result into the target column, one output
-- file per transaction, so that an interrupted collection resumes where it
-- stopped and a second one changes nothing.
--
-- Everything runs with the caller's rights (SECURITY INVOKER): the
-- caller's prompt expression, table and column; row-level security keeps
-- each role to its own submissions.  The C helpers below send the signed
-- requests (S3 and the control plane) with the server's AWS identity, so
-- only bedrock_user may run them.

CREATE TABLE bedrock.batches (
    batch_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL,
    model         text NOT NULL,
    table_name    text NOT NULL,
    key_column    name NOT NULL,
    key_type      text NOT NULL,
    target_column name NOT NULL,
    prompt        text NOT NULL,
    options       jsonb NOT NULL DEFAULT '{}',
    s3_uri        text NOT NULL,
    s3_prefix     text NOT NULL,
    role_arn      text NOT NULL,
    role_name     name NOT NULL DEFAULT current_user,
    token         uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    retry_of      bigint REFERENCES bedrock.batches ON DELETE SET NULL,
    status        text NOT NULL DEFAULT 'submitting'
                  CHECK (status IN ('submitting', 'running', 'completed', 'partially_completed',
                                    'failed', 'stopped')),
    rows_total    bigint NOT NULL DEFAULT 0,
    rows_done     bigint NOT NULL DEFAULT 0,
    rows_failed   bigint NOT NULL DEFAULT 0,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    submitted_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at   timestamptz,
    last_error    text
);

COMMENT ON TABLE bedrock.batches IS
'One row per bedrock_batch_submit (or bedrock_batch_retry): what was submitted, where its files are, how far collection got';
COMMENT ON COLUMN bedrock.batches.s3_prefix IS 'S3 folder of this submission: in/job-N/part-M.jsonl, out/job-N/{job id}/';
COMMENT ON COLUMN bedrock.batches.token IS 'client request token stem: a retried CreateModelInvocationJob is not created twice';
COMMENT ON COLUMN bedrock.batches.rows_failed IS 'records that failed in Bedrock or got no result (stopped, expired, failed jobs); bedrock_batch_retry resubmits them';

CREATE TABLE bedrock.batch_jobs (
    batch_id      bigint NOT NULL REFERENCES bedrock.batches ON DELETE CASCADE,
    job_no        int NOT NULL,
    job_name      text NOT NULL,
    job_arn       text,
    job_id        text,
    status        text NOT NULL DEFAULT 'Pending',
    input_uri     text NOT NULL,
    output_uri    text NOT NULL,
    records       bigint NOT NULL,
    files         int NOT NULL,
    message       text,
    submitted_at  timestamptz,
    polled_at     timestamptz,
    ended_at      timestamptz,
    collected_files text[] NOT NULL DEFAULT '{}',
    collected_at  timestamptz,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, job_no)
);

COMMENT ON TABLE bedrock.batch_jobs IS
'One row per Bedrock model invocation job of a submission: its ARN, Bedrock status (Pending until Bedrock accepts it), S3 locations, collection progress and tokens';

CREATE TABLE bedrock.batch_records (
    batch_id      bigint NOT NULL,
    record_no     bigint NOT NULL,
    job_no        int NOT NULL,
    row_key       text NOT NULL,
    state         text NOT NULL DEFAULT 'submitted'
                  CHECK (state IN ('submitted', 'done', 'failed', 'missing')),
    error_code    text,
    error_message text,
    PRIMARY KEY (batch_id, record_no)
);

COMMENT ON TABLE bedrock.batch_records IS
'One row per JSONL record: recordId R + record_no (10 digits), the row''s key as text, and what became of it';

ALTER TABLE bedrock.batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE bedrock.batch_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE bedrock.batch_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY batches_own ON bedrock.batches
    USING (role_name OPERATOR(pg_catalog.=) current_user
           OR pg_catalog.pg_has_role(current_user, 'bedrock_admin', 'MEMBER'))
    WITH CHECK (role_name OPERATOR(pg_catalog.=) current_user);
-- the parts of a submission follow it: the subquery sees the batches the
-- policy above lets the caller see (and is evaluated once per statement)
CREATE POLICY batch_jobs_own ON bedrock.batch_jobs
    USING (batch_id IN (SELECT b.batch_id FROM bedrock.batches b))
    WITH CHECK (batch_id IN (SELECT b.batch_id FROM bedrock.batches b
                              WHERE b.role_name OPERATOR(pg_catalog.=) current_user));
CREATE POLICY batch_records_own ON bedrock.batch_records
    USING (batch_id IN (SELECT b.batch_id FROM bedrock.batches b))
    WITH CHECK (batch_id IN (SELECT b.batch_id FROM bedrock.batches b
                              WHERE b.role_name OPERATOR(pg_catalog.=) current_user));
GRANT SELECT, INSERT, UPDATE, DELETE ON bedrock.batches, bedrock.batch_jobs, bedrock.batch_records TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('bedrock.batches', '');
SELECT pg_catalog.pg_extension_config_dump('bedrock.batch_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('bedrock.batch_records', '');

-- Batch prices: NULL means half the on-demand price (Bedrock's batch
-- discount).  The usage views price rows of operation 'batch' with them.
ALTER TABLE bedrock.model_prices
    ADD COLUMN batch_input_per_1k numeric CHECK (batch_input_per_1k OPERATOR(pg_catalog.>=) 0),
    ADD COLUMN batch_output_per_1k numeric CHECK (batch_output_per_1k OPERATOR(pg_catalog.>=) 0);
COMMENT ON COLUMN bedrock.model_prices.batch_input_per_1k IS 'price of 1,000 input tokens in batch inference jobs; NULL: half of input_per_1k';
COMMENT ON COLUMN bedrock.model_prices.batch_output_per_1k IS 'price of 1,000 output tokens in batch inference jobs; NULL: half of output_per_1k';

CREATE OR REPLACE VIEW bedrock.price_periods WITH (security_invoker = true) AS
SELECT p.model, p.input_per_1k, p.output_per_1k, p.currency, p.effective_from,
       lead(p.effective_from, 1, 'infinity')
           OVER (PARTITION BY p.model ORDER BY p.effective_from) AS effective_until,
       coalesce(p.batch_input_per_1k, p.input_per_1k OPERATOR(pg_catalog.*) 0.5) AS batch_input_per_1k,
       coalesce(p.batch_output_per_1k, p.output_per_1k OPERATOR(pg_catalog.*) 0.5) AS batch_output_per_1k
  FROM bedrock.model_prices p;

-- usage_summary and usage_by_role as in 0.3.0, a batch row priced at the
-- batch price
CREATE OR REPLACE VIEW bedrock.usage_summary WITH (security_invoker = true) AS
SELECT u.model,
       (u.called_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       count(*) FILTER (WHERE u.error_code IN ('ThrottlingException', 'TooManyRequestsException')
                           OR (u.error_code IS NOT NULL AND u.http_status = 429)) AS throttled_calls,
       sum(u.throttled_attempts)::bigint AS throttled_attempts,
       sum(greatest(u.attempts - 1, 0))::bigint AS retries,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       coalesce(sum(u.cache_read_input_tokens), 0)::bigint AS cache_read_input_tokens,
       coalesce(sum(u.cache_write_input_tokens), 0)::bigint AS cache_write_input_tokens,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p50_latency_ms,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p95_latency_ms,
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p99_latency_ms,
       trim_scale(sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*)
                        CASE WHEN u.operation OPERATOR(pg_catalog.=) 'batch' THEN p.batch_input_per_1k ELSE p.input_per_1k END)
                       OPERATOR(pg_catalog.+)
                       (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*)
                        CASE WHEN u.operation OPERATOR(pg_catalog.=) 'batch' THEN p.batch_output_per_1k ELSE p.output_per_1k END))
                      OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric)) AS estimated_cost
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.model, (u.called_at AT TIME ZONE 'UTC')::date;

CREATE OR REPLACE VIEW bedrock.usage_by_role WITH (security_invoker = true) AS
SELECT u.role_name,
       u.principal_arn,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       trim_scale(sum(((coalesce(u.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*)
                        CASE WHEN u.operation OPERATOR(pg_catalog.=) 'batch' THEN p.batch_input_per_1k ELSE p.input_per_1k END)
                       OPERATOR(pg_catalog.+)
                       (coalesce(u.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*)
                        CASE WHEN u.operation OPERATOR(pg_catalog.=) 'batch' THEN p.batch_output_per_1k ELSE p.output_per_1k END))
                      OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric)) AS estimated_cost,
       min(u.called_at) AS first_call,
       max(u.called_at) AS last_call
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.role_name, u.principal_arn;

-- Online (bedrock_enrich) and batch jobs side by side.
CREATE VIEW bedrock.all_jobs WITH (security_invoker = true) AS
SELECT 'enrich'::text AS kind, e.job_id, e.table_name, e.target_column, e.model, e.role_name,
       e.status, e.rows_total, e.rows_done, e.errors AS rows_failed,
       e.input_tokens, e.output_tokens, e.started_at, e.updated_at, e.finished_at,
       e.last_error_message AS last_error
  FROM bedrock.enrich_jobs e
UNION ALL
SELECT 'batch'::text, b.batch_id, b.table_name, b.target_column, b.model, b.role_name,
       b.status, b.rows_total, b.rows_done, b.rows_failed,
       b.input_tokens, b.output_tokens, b.submitted_at, b.updated_at, b.finished_at,
       b.last_error
  FROM bedrock.batches b;

COMMENT ON VIEW bedrock.all_jobs IS
'bedrock_enrich runs (kind enrich) and batch inference submissions (kind batch) side by side: rows, failures, tokens, times, last error';
GRANT SELECT ON bedrock.all_jobs TO PUBLIC;

-- The C helpers: S3 objects and the control plane, with the server's AWS
-- identity (bedrock_user only).
CREATE FUNCTION bedrock.batch_s3_put(uri text, body text)
RETURNS text
AS 'MODULE_PATHNAME', 'bedrock_batch_s3_put'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bedrock.batch_s3_get(uri text, max_bytes bigint DEFAULT 1073741822)
RETURNS text
AS 'MODULE_PATHNAME', 'bedrock_batch_s3_get'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bedrock.batch_s3_list(uri text, OUT key text, OUT size bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bedrock_batch_s3_list'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bedrock.batch_job_create(request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_batch_job_create'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bedrock.batch_job_get(job_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'bedrock_batch_job_get'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bedrock.batch_job_stop(job_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'bedrock_batch_job_stop'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bedrock.batch_record_usage(model text, job_id text,
                                           input_tokens bigint, output_tokens bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'bedrock_batch_record_usage'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION bedrock.batch_s3_put(text, text) IS 'S3 PutObject of UTF-8 text (batch jobs)';
COMMENT ON FUNCTION bedrock.batch_s3_get(text, bigint) IS 'S3 GetObject as text, NULL for a missing key (batch jobs)';
COMMENT ON FUNCTION bedrock.batch_s3_list(text) IS 'S3 ListObjectsV2 of every key under a prefix (batch jobs)';
COMMENT ON FUNCTION bedrock.batch_job_create(jsonb) IS 'CreateModelInvocationJob; a quota refusal comes back as {"error": ...}';
COMMENT ON FUNCTION bedrock.batch_job_get(text) IS 'GetModelInvocationJob by job id';
COMMENT ON FUNCTION bedrock.batch_job_stop(text) IS 'StopModelInvocationJob by job id; false when the job had already ended';
COMMENT ON FUNCTION bedrock.batch_record_usage(text, text, bigint, bigint) IS 'Queue the usage row (operation batch) of a collected job';

-- bedrock.batch_create_job: ask Bedrock to create job job_no of batch b
-- (its files are in S3); the job stays Pending when the model's quota of
-- jobs in flight is reached, to be created by a later collection.
CREATE FUNCTION bedrock.batch_create_job(b bigint, job int)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    bt bedrock.batches;
    j bedrock.batch_jobs;
    request jsonb;
    answer jsonb;
BEGIN
    SELECT * INTO bt FROM bedrock.batches WHERE batch_id = b;
    SELECT * INTO j FROM bedrock.batch_jobs WHERE batch_id = b AND job_no = job;
    request := jsonb_build_object(
        'jobName', j.job_name,
        'roleArn', bt.role_arn,
        'modelId', bt.model,
        'clientRequestToken', format('%s-%s', bt.token, job),
        'modelInvocationType', CASE WHEN (bt.options ->> 'embed')::boolean THEN 'InvokeModel' ELSE 'Converse' END,
        'inputDataConfig', jsonb_build_object('s3InputDataConfig',
            jsonb_build_object('s3Uri', j.input_uri, 's3InputFormat', 'JSONL')),
        'outputDataConfig', jsonb_build_object('s3OutputDataConfig',
            jsonb_build_object('s3Uri', j.output_uri)),
        'timeoutDurationInHours', coalesce((bt.options ->> 'timeout_hours')::int, 24));
    answer := bedrock.batch_job_create(request);
    IF answer ? 'error' THEN
        UPDATE bedrock.batch_jobs SET message = answer -> 'error' ->> 'message', polled_at = clock_timestamp()
         WHERE batch_id = b AND job_no = job;
        RETURN 'Pending';
    END IF;
    UPDATE bedrock.batch_jobs
       SET job_arn = answer ->> 'jobArn',
           job_id = substring(answer ->> 'jobArn' FROM '([a-z0-9]{12})$'),
           status = 'Submitted', message = NULL,
           submitted_at = clock_timestamp(), polled_at = clock_timestamp()
     WHERE batch_id = b AND job_no = job;
    RETURN 'Submitted';
END
$body$;

-- bedrock.batch_submit_rows: the work of bedrock_batch_submit and
-- bedrock_batch_retry (retry_of: only the rows whose records failed or
-- got no result in that submission).
CREATE FUNCTION bedrock.batch_submit_rows(name text, model text, source regclass, key_column name,
                                          prompt text, s3_uri text, role_arn text, options jsonb,
                                          retry_of bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    opts jsonb := coalesce(options, '{}');
    unknown text;
    target name;
    target_type regtype;
    key_type regtype;
    embed boolean;
    base jsonb;
    uri text;
    b bigint;
    prefix text;
    total bigint;
    distinct_keys bigint;
    max_line bigint;
    per_file bigint;
    per_job bigint;
    min_records bigint;
    n_jobs int;
    n_files int;
    lo bigint;
    hi bigint;
    body text;
    why text;
    sqlstate_ text;
BEGIN
    IF name IS NULL OR model IS NULL OR source IS NULL OR key_column IS NULL OR prompt IS NULL
       OR s3_uri IS NULL OR role_arn IS NULL THEN
        RAISE EXCEPTION 'bedrock_batch_submit needs a name, a model, a table, a key column, a prompt, an S3 URI and a role ARN'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(opts) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
      FROM jsonb_object_keys(opts) k
     WHERE k NOT IN ('target_column', 'system', 'max_tokens', 'temperature', 'top_p', 'stop_sequences',
                     'embed', 'dimensions', 'records_per_file', 'records_per_job', 'max_file_bytes',
                     'max_job_bytes', 'min_records', 'timeout_hours');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown batch option: %', unknown
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The options are target_column, system, max_tokens, temperature, top_p, stop_sequences, embed, dimensions, records_per_file, records_per_job, max_file_bytes, max_job_bytes, min_records and timeout_hours.';
    END IF;
    IF name !~ '^[a-zA-Z0-9](-*[a-zA-Z0-9])*$' OR length(name) > 40 THEN
        RAISE EXCEPTION 'batch name "%" is not valid', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A name has at most 40 letters, digits and hyphens, starting and ending with a letter or digit (Bedrock job names allow no underscore).';
    END IF;
    uri := rtrim(s3_uri, '/');
    IF uri !~ '^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](/[-!_*''().a-zA-Z0-9]+)*$' THEN
        RAISE EXCEPTION '"%" is not an S3 URI Bedrock accepts', s3_uri
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write s3://bucket/prefix with a lower-case bucket name; keys may hold letters, digits and - ! _ * '' ( ) . only.';
    END IF;
    IF role_arn !~ '^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$' THEN
        RAISE EXCEPTION '"%" is not an IAM role ARN', role_arn
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Bedrock runs the job as this service role: arn:aws:iam::123456789012:role/Name (docs/batch-jobs.md shows its policies).';
    END IF;
    embed := coalesce((opts ->> 'embed')::boolean, false);
    target := opts ->> 'target_column';
    IF target IS NULL THEN
        RAISE EXCEPTION 'options must name a target_column'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Collection writes each result into this column of the row, where it is NULL.';
    END IF;
    SELECT a.atttypid::regtype INTO target_type FROM pg_attribute a
     WHERE a.attrelid = source AND a.attname = target AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT a.atttypid::regtype INTO key_type FROM pg_attribute a
     WHERE a.attrelid = source AND a.attname = key_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF target_type IS NULL OR key_type IS NULL THEN
        RAISE EXCEPTION 'column % of % does not exist',
                        quote_ident(CASE WHEN target_type IS NULL THEN target ELSE key_column END), source
            USING ERRCODE = 'undefined_column';
    END IF;
    IF (NOT embed AND target_type NOT IN ('text'::regtype, 'jsonb'::regtype))
       OR (embed AND target_type NOT IN ('jsonb'::regtype, 'real[]'::regtype, 'double precision[]'::regtype)
           AND format_type(target_type, NULL) !~ '^vector') THEN
        RAISE EXCEPTION 'target column % of % is of type %', quote_ident(target), source, target_type
            USING ERRCODE = 'wrong_object_type',
                  HINT = CASE WHEN embed THEN 'Embeddings go into a jsonb, real[], double precision[] or vector column.'
                              ELSE 'Answers go into a text or jsonb column.' END;
    END IF;

    -- the prompt is an SQL expression over the row
    BEGIN
        EXECUTE format('SELECT (%s)::text FROM %s LIMIT 0', prompt, source);
    EXCEPTION WHEN syntax_error OR undefined_column OR undefined_function THEN
        GET STACKED DIAGNOSTICS sqlstate_ = RETURNED_SQLSTATE, why = MESSAGE_TEXT;
        RAISE EXCEPTION 'prompt is not an SQL expression over the rows of %', source
            USING ERRCODE = sqlstate_, DETAIL = format('Evaluating it failed: %s.', why),
                  HINT = 'The prompt is SQL evaluated for each row, such as $$''Summarize: '' || body$$; it runs with search_path pg_catalog, pg_temp, so qualify your own functions with their schema.';
    END;

    -- the model input every record shares
    IF embed THEN
        base := jsonb_strip_nulls(jsonb_build_object('dimensions', (opts ->> 'dimensions')::int));
    ELSE
        base := jsonb_strip_nulls(jsonb_build_object(
            'system', CASE WHEN opts ? 'system' THEN jsonb_build_array(jsonb_build_object('text', opts ->> 'system')) END,
            'inferenceConfig', nullif(jsonb_strip_nulls(jsonb_build_object(
                'maxTokens', (opts ->> 'max_tokens')::int,
                'temperature', (opts ->> 'temperature')::float8,
                'topP', (opts ->> 'top_p')::float8,
                'stopSequences', opts -> 'stop_sequences')), '{}'::jsonb)));
    END IF;

    INSERT INTO bedrock.batches (name, model, table_name, key_column, key_type, target_column, prompt,
                                 options, s3_uri, s3_prefix, role_arn, retry_of)
    VALUES (name, model, source::text, key_column, format_type(key_type, NULL), target, prompt,
            opts, uri, '', role_arn, retry_of)
    RETURNING batch_id INTO b;
    prefix := format('%s/%s-%s', uri, name, b);
    UPDATE bedrock.batches SET s3_prefix = prefix WHERE batch_id = b;

    -- the records: one JSONL line per row whose target is NULL and whose
    -- prompt is not empty, numbered in key order
    IF to_regclass('pg_temp.bedrock_batch_stage') IS NOT NULL THEN
        DROP TABLE pg_temp.bedrock_batch_stage;
    END IF;
    EXECUTE format(
        $q$CREATE TEMP TABLE bedrock_batch_stage ON COMMIT DROP AS
           SELECT n AS record_no, k AS row_key,
                  jsonb_build_object('recordId', 'R' || lpad(n::text, 10, '0'),
                                     'modelInput', $1 || %s)::text AS line
             FROM (SELECT row_number() OVER (ORDER BY s.k) AS n, s.k::text AS k, s.p
                     FROM (SELECT %I AS k, (%s)::text AS p FROM %s WHERE %I IS NULL %s) s
                    WHERE s.p IS NOT NULL AND s.p <> '') numbered$q$,
        CASE WHEN embed THEN $e$jsonb_build_object('inputText', p)$e$
             ELSE $c$jsonb_build_object('messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', jsonb_build_array(jsonb_build_object('text', p)))))$c$ END,
        key_column, prompt, source, target,
        CASE WHEN retry_of IS NOT NULL THEN
            format('AND (%I)::text IN (SELECT r.row_key FROM bedrock.batch_records r WHERE r.batch_id = %s AND r.state IN (''failed'', ''missing''))',
                   key_column, retry_of)
        ELSE '' END)
    USING base;
    SELECT count(*), count(DISTINCT row_key), max(octet_length(line)) INTO total, distinct_keys, max_line
      FROM pg_temp.bedrock_batch_stage;
    IF distinct_keys <> total OR EXISTS (SELECT FROM pg_temp.bedrock_batch_stage WHERE row_key IS NULL) THEN
        RAISE EXCEPTION 'key column % of % is not unique and not null over the rows to submit', quote_ident(key_column), source
            USING ERRCODE = 'unique_violation',
                  HINT = 'Each record''s result goes back to its row by this key: use the primary key.';
    END IF;
    min_records := coalesce((opts ->> 'min_records')::bigint, 100);
    IF total < greatest(min_records, 1) THEN
        RAISE EXCEPTION '% rows to submit, fewer than the % records a batch inference job needs at least', total, min_records
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Bedrock refuses smaller jobs; fill these rows online with bedrock_enrich.';
    END IF;

    -- files and jobs within the quotas: records and bytes per file, per job
    per_file := least(coalesce((opts ->> 'records_per_file')::bigint, 50000),
                      coalesce((opts ->> 'max_file_bytes')::bigint, 104857600) / (max_line + 1));
    per_job := least(coalesce((opts ->> 'records_per_job')::bigint, 50000),
                     coalesce((opts ->> 'max_job_bytes')::bigint, 5368709120) / (max_line + 1));
    IF per_file < 1 OR per_job < 1 THEN
        RAISE EXCEPTION 'a record of % bytes does not fit the file or job size limit', max_line
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    -- as many jobs as the limit needs, balanced so that none falls short
    -- of the minimum
    n_jobs := ceil(total::numeric / per_job)::int;
    per_job := ceil(total::numeric / n_jobs)::bigint;
    IF per_job < min_records THEN
        RAISE EXCEPTION 'records_per_job % is too small for % rows with at least % records per job', per_job, total, min_records
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    CREATE INDEX ON pg_temp.bedrock_batch_stage (record_no);
    INSERT INTO bedrock.batch_records (batch_id, record_no, job_no, row_key)
    SELECT b, s.record_no, ((s.record_no - 1) / per_job)::int + 1, s.row_key FROM pg_temp.bedrock_batch_stage s;

    FOR job IN 1 .. n_jobs LOOP
        lo := (job - 1) * per_job + 1;
        hi := least(job * per_job, total);
        n_files := ceil((hi - lo + 1)::numeric / per_file)::int;
        INSERT INTO bedrock.batch_jobs (batch_id, job_no, job_name, input_uri, output_uri, records, files)
        VALUES (b, job, format('%s-%s-%s', name, b, job), format('%s/in/job-%s/', prefix, job),
                format('%s/out/job-%s/', prefix, job), hi - lo + 1, n_files);
        FOR f IN 1 .. n_files LOOP

            SELECT string_agg(s.line, E'\n' ORDER BY s.record_no) || E'\n' INTO body
              FROM pg_temp.bedrock_batch_stage s
             WHERE s.record_no BETWEEN lo + (f - 1) * per_file AND least(lo + f * per_file - 1, hi);
            PERFORM bedrock.batch_s3_put(format('%s/in/job-%s/part-%s.jsonl', prefix, job, lpad(f::text, 5, '0')), body);
            body := NULL;
        END LOOP;
    END LOOP;
    DROP TABLE pg_temp.bedrock_batch_stage;

    FOR job IN 1 .. n_jobs LOOP
        PERFORM bedrock.batch_create_job(b, job);
    END LOOP;
    UPDATE bedrock.batches SET status = 'running', rows_total = total, updated_at = clock_timestamp()
     WHERE batch_id = b;
    RETURN b;
END
$body$;

COMMENT ON FUNCTION bedrock.batch_submit_rows(text, text, regclass, name, text, text, text, jsonb, bigint) IS
'Used by bedrock_batch_submit and bedrock_batch_retry: write the records to S3 and create the jobs';

CREATE FUNCTION bedrock_batch_submit(name text, model text, source regclass, key_column name,
                                     prompt text, s3_uri text, role_arn text, options jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT bedrock.batch_submit_rows(name, model, source, key_column, prompt, s3_uri, role_arn, options, NULL);
END;

COMMENT ON FUNCTION bedrock_batch_submit(text, text, regclass, name, text, text, text, jsonb) IS
'Submit the rows of source whose target column (options.target_column) is NULL as Bedrock batch inference jobs: JSONL records in S3 under s3_uri, run by the service role role_arn; returns the batch id (bedrock.batches)';

-- bedrock.batch_collect_job: one step of collecting job j of batch b:
-- one output file, or, when all are in, the manifest, the usage row and
-- the records that got no result.  Returns false when the job is done.
CREATE FUNCTION bedrock.batch_collect_job(b bigint, job int)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    bt bedrock.batches;
    j bedrock.batch_jobs;
    bucket text;
    file text;
    body text;
    manifest jsonb;
    n_done bigint;
    n_failed bigint;
    tok_in bigint;
    tok_out bigint;
    extract text;
    ttype regtype;
    ttype_name text;
    embed boolean;
BEGIN
    SELECT * INTO bt FROM bedrock.batches WHERE batch_id = b;
    embed := coalesce((bt.options ->> 'embed')::boolean, false);
    SELECT * INTO j FROM bedrock.batch_jobs WHERE batch_id = b AND job_no = job FOR UPDATE;
    IF j.collected_at IS NOT NULL THEN
        RETURN false;
    END IF;
    bucket := substring(j.output_uri FROM '^(s3://[^/]+)/');
    IF j.job_id IS NOT NULL AND j.status IN ('Completed', 'PartiallyCompleted', 'Stopped') THEN
        SELECT l.key INTO file
          FROM bedrock.batch_s3_list(j.output_uri || j.job_id || '/') l
         WHERE l.key LIKE '%.out' AND l.key NOT LIKE '%/manifest.json.out'
           AND l.key <> ALL (j.collected_files)
         ORDER BY l.key LIMIT 1;
    END IF;
    IF file IS NOT NULL THEN
        body := bedrock.batch_s3_get(bucket || '/' || file);
        -- how a record's modelOutput becomes the target's value
        SELECT a.atttypid::regtype, format_type(a.atttypid, a.atttypmod) INTO ttype, ttype_name
          FROM pg_attribute a
         WHERE a.attrelid = bt.table_name::regclass AND a.attname = bt.target_column
           AND a.attnum > 0 AND NOT a.attisdropped;
        extract := CASE
            WHEN NOT embed AND ttype = 'text'::regtype
                THEN $x$jsonb_path_query_first(m.out, '$.output.message.content[*].text') #>> '{}'$x$
            WHEN NOT embed THEN 'm.out'
            WHEN ttype = 'jsonb'::regtype THEN $x$m.out -> 'embedding'$x$
            WHEN ttype IN ('real[]'::regtype, 'double precision[]'::regtype)
                THEN format($x$ARRAY(SELECT jsonb_array_elements_text(m.out -> 'embedding'))::%s$x$, ttype_name)
            ELSE format($x$(m.out -> 'embedding')::text::%s$x$, ttype_name)
        END;
        EXECUTE format(
            $q$WITH parsed AS (
                   SELECT substr(l.j ->> 'recordId', 2)::bigint AS record_no,
                          l.j -> 'modelOutput' AS out, l.j -> 'error' AS err
                     FROM (SELECT t::jsonb AS j FROM string_to_table($1, E'\n') t WHERE t <> '') l
                    WHERE l.j ->> 'recordId' ~ '^R[0-9]{10}$'
               ), marked AS (
                   UPDATE bedrock.batch_records r
                      SET state = CASE WHEN p.err IS NULL AND p.out IS NOT NULL THEN 'done' ELSE 'failed' END,
                          error_code = CASE WHEN p.err IS NULL AND p.out IS NOT NULL THEN NULL
                                            ELSE coalesce(p.err ->> 'errorCode', 'NoOutput') END,
                          error_message = left(p.err ->> 'errorMessage', 1000)
                     FROM parsed p
                    WHERE r.batch_id = $2 AND r.job_no = $3 AND r.record_no = p.record_no
                      AND r.state = 'submitted'
                   RETURNING r.row_key, r.state, p.out
               ), stored AS (
                   UPDATE %s t SET %I = %s
                     FROM marked m
                    WHERE m.state = 'done' AND t.%I = m.row_key::%s AND t.%I IS NULL
                   RETURNING 1
               )
               SELECT count(*) FILTER (WHERE m.state = 'done'), count(*) FILTER (WHERE m.state = 'failed'),
                      coalesce(sum(coalesce((m.out -> 'usage' ->> 'inputTokens')::bigint,
                                            (m.out ->> 'inputTextTokenCount')::bigint)), 0),
                      coalesce(sum((m.out -> 'usage' ->> 'outputTokens')::bigint), 0),
                      (SELECT count(*) FROM stored)
                 FROM marked m$q$,
            bt.table_name, bt.target_column, extract, bt.key_column, bt.key_type, bt.target_column)
        INTO n_done, n_failed, tok_in, tok_out
        USING body, b, job;
        UPDATE bedrock.batch_jobs
           SET collected_files = collected_files || file,
               input_tokens = input_tokens + tok_in, output_tokens = output_tokens + tok_out
         WHERE batch_id = b AND job_no = job;
        UPDATE bedrock.batches
           SET rows_done = rows_done + n_done, rows_failed = rows_failed + n_failed,
               updated_at = clock_timestamp()
         WHERE batch_id = b;
        RETURN true;
    END IF;

    -- every output file is in: the manifest's token counts (the records'
    -- sums when there is none), the usage row, the records without result
    IF j.job_id IS NOT NULL THEN
        manifest := bedrock.batch_s3_get(j.output_uri || j.job_id || '/manifest.json.out', 1048576)::jsonb;
        tok_in := coalesce((manifest ->> 'inputTokenCount')::bigint, j.input_tokens);
        tok_out := coalesce((manifest ->> 'outputTokenCount')::bigint, j.output_tokens);
        IF j.status IN ('Completed', 'PartiallyCompleted', 'Stopped') THEN
            PERFORM bedrock.batch_record_usage(bt.model, j.job_id, tok_in, tok_out);
        END IF;
    END IF;
    UPDATE bedrock.batch_records r
       SET state = 'missing', error_code = j.status,
           error_message = left(coalesce(j.message, format('job %s ended %s without a result for this record', j.job_name, j.status)), 1000)
     WHERE r.batch_id = b AND r.job_no = job AND r.state = 'submitted';
    GET DIAGNOSTICS n_failed = ROW_COUNT;
    UPDATE bedrock.batch_jobs
       SET collected_at = clock_timestamp(), input_tokens = coalesce(tok_in, 0), output_tokens = coalesce(tok_out, 0)
     WHERE batch_id = b AND job_no = job;
    UPDATE bedrock.batches
       SET rows_failed = rows_failed + n_failed,
           input_tokens = input_tokens + coalesce(tok_in, 0), output_tokens = output_tokens + coalesce(tok_out, 0),
           last_error = CASE WHEN j.status IN ('Failed', 'Expired', 'Stopped')
                             THEN format('job %s %s: %s', j.job_name, j.status, coalesce(j.message, 'no message'))
                             ELSE last_error END,
           updated_at = clock_timestamp()
     WHERE batch_id = b;
    RETURN true;
END
$body$;

-- bedrock.batch_collect_step: one unit of work on the caller's batches
-- (all of them, or only b), each in its own transaction (the procedure
-- commits between steps): create a Pending job, poll a running one (once
-- per round), collect a file of an ended one, or settle a batch whose jobs
-- are all collected.  Returns false when nothing is left for this round.
CREATE FUNCTION bedrock.batch_collect_step(b bigint, round_started timestamptz)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    j record;
    d jsonb;
    settled bedrock.batches;
BEGIN
    -- a job still to create (the model's quota of jobs in flight was full)
    SELECT jb.batch_id, jb.job_no INTO j
      FROM bedrock.batch_jobs jb JOIN bedrock.batches bt USING (batch_id)
     WHERE bt.role_name = current_user AND (b IS NULL OR bt.batch_id = b)
       AND jb.status = 'Pending' AND (jb.polled_at IS NULL OR jb.polled_at < round_started)
     ORDER BY jb.batch_id, jb.job_no LIMIT 1;
    IF FOUND THEN
        PERFORM bedrock.batch_create_job(j.batch_id, j.job_no);
        RETURN true;
    END IF;

    -- a job in flight, not yet polled in this round
    SELECT jb.batch_id, jb.job_no, jb.job_id INTO j
      FROM bedrock.batch_jobs jb JOIN bedrock.batches bt USING (batch_id)
     WHERE bt.role_name = current_user AND (b IS NULL OR bt.batch_id = b)
       AND jb.job_id IS NOT NULL
       AND jb.status IN ('Submitted', 'Validating', 'Scheduled', 'InProgress', 'Stopping')
       AND (jb.polled_at IS NULL OR jb.polled_at < round_started)
     ORDER BY jb.batch_id, jb.job_no LIMIT 1;
    IF FOUND THEN
        d := bedrock.batch_job_get(j.job_id);
        UPDATE bedrock.batch_jobs
           SET status = coalesce(d ->> 'status', status),
               message = left(d ->> 'message', 2048),
               polled_at = clock_timestamp(),
               ended_at = CASE WHEN d ->> 'status' IN ('Completed', 'PartiallyCompleted', 'Failed', 'Stopped', 'Expired')
                               THEN clock_timestamp() END
         WHERE batch_id = j.batch_id AND job_no = j.job_no;
        RETURN true;
    END IF;

    -- an ended job not yet collected
    SELECT jb.batch_id, jb.job_no INTO j
      FROM bedrock.batch_jobs jb JOIN bedrock.batches bt USING (batch_id)
     WHERE bt.role_name = current_user AND (b IS NULL OR bt.batch_id = b)
       AND jb.collected_at IS NULL
       AND jb.status IN ('Completed', 'PartiallyCompleted', 'Failed', 'Stopped', 'Expired')
     ORDER BY jb.batch_id, jb.job_no LIMIT 1;
    IF FOUND THEN
        PERFORM bedrock.batch_collect_job(j.batch_id, j.job_no);
        RETURN true;
    END IF;

    -- a running batch whose jobs are all collected
    UPDATE bedrock.batches bt
       SET status = CASE WHEN bt.rows_done = bt.rows_total THEN 'completed'
                         WHEN NOT EXISTS (SELECT FROM bedrock.batch_jobs jb
                                           WHERE jb.batch_id = bt.batch_id AND jb.status <> 'Stopped') THEN 'stopped'
                         WHEN bt.rows_done = 0 THEN 'failed'
                         ELSE 'partially_completed' END,
           finished_at = clock_timestamp(), updated_at = clock_timestamp()
     WHERE bt.role_name = current_user AND (b IS NULL OR bt.batch_id = b)
       AND bt.status = 'running'
       AND NOT EXISTS (SELECT FROM bedrock.batch_jobs jb
                        WHERE jb.batch_id = bt.batch_id AND jb.collected_at IS NULL)
    RETURNING * INTO settled;
    RETURN FOUND;
END
$body$;

-- bedrock.batch_pending: whether any of the caller's batches (or b) still
-- has a job to create, follow or collect.
CREATE FUNCTION bedrock.batch_pending(b bigint)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT EXISTS (SELECT FROM bedrock.batches bt
                    WHERE bt.role_name OPERATOR(pg_catalog.=) current_user
                      AND (b IS NULL OR bt.batch_id OPERATOR(pg_catalog.=) b)
                      AND bt.status OPERATOR(pg_catalog.=) 'running');
END;

-- bedrock_batch_collect follows the caller's batches (or one): creates the
-- jobs a quota held back, polls the running ones, and writes the results of
-- the ended ones into their target columns, committing after each step (an
-- output file at most): interrupted, it resumes where it stopped, and
-- collecting twice changes nothing.  With wait, it goes on until every
-- batch has ended (or max_wait), polling with backoff from poll_interval
-- to ten times that.  A procedure (it commits), to CALL or to schedule
-- with pg_cron.
CREATE PROCEDURE bedrock_batch_collect(batch_id bigint DEFAULT NULL, wait boolean DEFAULT false,
                                       poll_interval interval DEFAULT '30 seconds',
                                       max_wait interval DEFAULT '1 day')
LANGUAGE plpgsql AS $body$
DECLARE
    started timestamptz := pg_catalog.clock_timestamp();
    pause double precision := pg_catalog.date_part('epoch', poll_interval);
    max_pause double precision := pause OPERATOR(pg_catalog.*) 10;
    round timestamptz;
BEGIN
    IF pause OPERATOR(pg_catalog.<=) 0 OR pause OPERATOR(pg_catalog.>) 3600 THEN
        RAISE EXCEPTION 'poll_interval must be between 1 millisecond and 1 hour'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOOP
        round := pg_catalog.clock_timestamp();
        WHILE bedrock.batch_collect_step(batch_id, round) LOOP
            COMMIT;
        END LOOP;
        COMMIT;
        EXIT WHEN NOT wait OR NOT bedrock.batch_pending(batch_id)
             OR pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) (started OPERATOR(pg_catalog.+) max_wait);
        PERFORM pg_catalog.pg_sleep(pause);
        pause := CASE WHEN pause OPERATOR(pg_catalog.*) 2 OPERATOR(pg_catalog.<) max_pause
                      THEN pause OPERATOR(pg_catalog.*) 2 ELSE max_pause END;
    END LOOP;
END
$body$;

COMMENT ON PROCEDURE bedrock_batch_collect(bigint, boolean, interval, interval) IS
'Follow the caller''s batch inference jobs (or one batch) and write their results into the target columns, one committed step at a time; wait => true polls with backoff until every batch has ended';

-- bedrock_batch_stop asks Bedrock to stop every job of the batch still in
-- flight (a job not yet created is dropped); returns how many it stopped.
-- What the stopped jobs processed is collected as usual.
CREATE FUNCTION bedrock_batch_stop(batch_id bigint)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    j record;
    n int := 0;
BEGIN
    IF NOT EXISTS (SELECT FROM bedrock.batches bt WHERE bt.batch_id = bedrock_batch_stop.batch_id
                     AND bt.role_name = current_user) THEN
        RAISE EXCEPTION 'batch % does not exist or is not yours', batch_id
            USING ERRCODE = 'no_data_found';
    END IF;
    FOR j IN SELECT jb.job_no, jb.job_id, jb.status FROM bedrock.batch_jobs jb
              WHERE jb.batch_id = bedrock_batch_stop.batch_id
                AND jb.status IN ('Pending', 'Submitted', 'Validating', 'Scheduled', 'InProgress')
              ORDER BY jb.job_no LOOP
        IF j.status = 'Pending' THEN
            UPDATE bedrock.batch_jobs jb SET status = 'Stopped', ended_at = clock_timestamp(),
                   message = 'stopped before Bedrock accepted it'
             WHERE jb.batch_id = bedrock_batch_stop.batch_id AND jb.job_no = j.job_no;
            n := n + 1;
        ELSIF bedrock.batch_job_stop(j.job_id) THEN
            UPDATE bedrock.batch_jobs jb SET status = 'Stopping', polled_at = NULL
             WHERE jb.batch_id = bedrock_batch_stop.batch_id AND jb.job_no = j.job_no;
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$body$;

COMMENT ON FUNCTION bedrock_batch_stop(bigint) IS
'Stop the jobs of a batch still in flight; bedrock_batch_collect then collects what they processed';

-- bedrock_batch_retry submits, as a new batch, the rows of an ended batch
-- whose records failed or got no result (and whose target is still NULL).
CREATE FUNCTION bedrock_batch_retry(batch_id bigint, options jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    bt bedrock.batches;
BEGIN
    SELECT * INTO bt FROM bedrock.batches b
     WHERE b.batch_id = bedrock_batch_retry.batch_id AND b.role_name = current_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist or is not yours', batch_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF bt.status IN ('submitting', 'running') THEN
        RAISE EXCEPTION 'batch % has not ended', batch_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Collect it first: CALL bedrock_batch_collect(batch_id => ..., wait => true).';
    END IF;
    RETURN bedrock.batch_submit_rows(bt.name, bt.model, bt.table_name::regclass, bt.key_column, bt.prompt,
                                     bt.s3_uri, bt.role_arn, bt.options || coalesce(options, '{}'),
                                     bt.batch_id);
END
$body$;

COMMENT ON FUNCTION bedrock_batch_retry(bigint, jsonb) IS
'Submit again, as a new batch, the rows whose records failed or got no result in an ended batch; options override the batch''s';

REVOKE ALL ON FUNCTION bedrock.batch_s3_put(text, text), bedrock.batch_s3_get(text, bigint),
                       bedrock.batch_s3_list(text), bedrock.batch_job_create(jsonb),
                       bedrock.batch_job_get(text), bedrock.batch_job_stop(text),
                       bedrock.batch_record_usage(text, text, bigint, bigint),
                       bedrock.batch_create_job(bigint, int),
                       bedrock.batch_submit_rows(text, text, regclass, name, text, text, text, jsonb, bigint),
                       bedrock.batch_collect_job(bigint, int), bedrock.batch_collect_step(bigint, timestamptz),
                       bedrock_batch_submit(text, text, regclass, name, text, text, text, jsonb),
                       bedrock_batch_stop(bigint), bedrock_batch_retry(bigint, jsonb)
    FROM PUBLIC;
REVOKE ALL ON PROCEDURE bedrock_batch_collect(bigint, boolean, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bedrock.batch_s3_put(text, text), bedrock.batch_s3_get(text, bigint),
                          bedrock.batch_s3_list(text), bedrock.batch_job_create(jsonb),
                          bedrock.batch_job_get(text), bedrock.batch_job_stop(text),
                          bedrock.batch_record_usage(text, text, bigint, bigint),
                          bedrock.batch_create_job(bigint, int),
                          bedrock.batch_submit_rows(text, text, regclass, name, text, text, text, jsonb, bigint),
                          bedrock.batch_collect_job(bigint, int), bedrock.batch_collect_step(bigint, timestamptz),
                          bedrock_batch_submit(text, text, regclass, name, text, text, text, jsonb),
                          bedrock_batch_stop(bigint), bedrock_batch_retry(bigint, jsonb)
    TO bedrock_user;
GRANT EXECUTE ON PROCEDURE bedrock_batch_collect(bigint, boolean, interval, interval) TO bedrock_user;

-- (end of Batch inference jobs)



-- ==== Prices of cached tokens and service tiers ====

-- Cached input tokens are priced apart: a cache read costs a tenth of an
-- input token and a cache write a quarter more than one (Anthropic Claude
-- on Bedrock), unless model_prices says otherwise.  The service tier that
-- served a call multiplies its price: flex 0.5, priority 1.75 (Bedrock's
-- discount and premium), any other tier 1.  Batch rows keep the batch
-- prices.
ALTER TABLE bedrock.model_prices
    ADD COLUMN cache_read_per_1k numeric CHECK (cache_read_per_1k OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric),
    ADD COLUMN cache_write_per_1k numeric CHECK (cache_write_per_1k OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric);
COMMENT ON COLUMN bedrock.model_prices.cache_read_per_1k IS 'price of 1,000 input tokens read from the prompt cache; NULL: a tenth of input_per_1k';
COMMENT ON COLUMN bedrock.model_prices.cache_write_per_1k IS 'price of 1,000 input tokens written to the prompt cache; NULL: 1.25 times input_per_1k';

CREATE OR REPLACE VIEW bedrock.price_periods WITH (security_invoker = true) AS
SELECT p.model, p.input_per_1k, p.output_per_1k, p.currency, p.effective_from,
       lead(p.effective_from, 1, 'infinity')
           OVER (PARTITION BY p.model ORDER BY p.effective_from) AS effective_until,
       coalesce(p.batch_input_per_1k, p.input_per_1k OPERATOR(pg_catalog.*) 0.5) AS batch_input_per_1k,
       coalesce(p.batch_output_per_1k, p.output_per_1k OPERATOR(pg_catalog.*) 0.5) AS batch_output_per_1k,
       coalesce(p.cache_read_per_1k, p.input_per_1k OPERATOR(pg_catalog.*) 0.1) AS cache_read_per_1k,
       coalesce(p.cache_write_per_1k, p.input_per_1k OPERATOR(pg_catalog.*) 1.25) AS cache_write_per_1k
  FROM bedrock.model_prices p;

-- The price factor of a service tier.
CREATE FUNCTION bedrock.service_tier_factor(service_tier text)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE service_tier_factor.service_tier
           WHEN 'flex' THEN 0.5::pg_catalog.numeric
           WHEN 'priority' THEN 1.75::pg_catalog.numeric
           ELSE 1::pg_catalog.numeric END;
END;

COMMENT ON FUNCTION bedrock.service_tier_factor(text) IS
'Price factor of the service tier that served a call: flex 0.5, priority 1.75, any other (default, reserved, NULL) 1';

-- The cost of one call at the prices p of its model and time: the one
-- pricing rule of the usage views and call_cost (NULL without a price).
CREATE FUNCTION bedrock.tokens_cost(p bedrock.price_periods, operation text,
                                    input_tokens bigint, output_tokens bigint,
                                    cache_read_input_tokens bigint, cache_write_input_tokens bigint,
                                    service_tier text)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN tokens_cost.operation OPERATOR(pg_catalog.=) 'batch' THEN
                ((coalesce(tokens_cost.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) (tokens_cost.p).batch_input_per_1k)
                 OPERATOR(pg_catalog.+)
                 (coalesce(tokens_cost.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) (tokens_cost.p).batch_output_per_1k))
                OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric
           ELSE
                ((coalesce(tokens_cost.input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) (tokens_cost.p).input_per_1k)
                 OPERATOR(pg_catalog.+)
                 (coalesce(tokens_cost.output_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) (tokens_cost.p).output_per_1k)
                 OPERATOR(pg_catalog.+)
                 (coalesce(tokens_cost.cache_read_input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) (tokens_cost.p).cache_read_per_1k)
                 OPERATOR(pg_catalog.+)
                 (coalesce(tokens_cost.cache_write_input_tokens, 0)::pg_catalog.numeric OPERATOR(pg_catalog.*) (tokens_cost.p).cache_write_per_1k))
                OPERATOR(pg_catalog.*) bedrock.service_tier_factor(tokens_cost.service_tier)
                OPERATOR(pg_catalog.*) 0.001::pg_catalog.numeric
           END;
END;

COMMENT ON FUNCTION bedrock.tokens_cost(bedrock.price_periods, text, bigint, bigint, bigint, bigint, text) IS
'Cost of one call at the prices p: batch rows at the batch prices, others with cached tokens at the cache prices and times the service tier''s factor';

-- call_cost with cached tokens and the service tier (the four-argument
-- form stays: input and output tokens at the on-demand prices)
CREATE FUNCTION bedrock.call_cost(model text, called_at timestamptz,
                                  input_tokens bigint, output_tokens bigint,
                                  cache_read_input_tokens bigint, cache_write_input_tokens bigint,
                                  service_tier text DEFAULT NULL)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT bedrock.tokens_cost(p, NULL, call_cost.input_tokens, call_cost.output_tokens,
                               call_cost.cache_read_input_tokens, call_cost.cache_write_input_tokens,
                               call_cost.service_tier)
      FROM bedrock.price_periods p
     WHERE p.model OPERATOR(pg_catalog.=) call_cost.model
       AND p.effective_from OPERATOR(pg_catalog.<=) call_cost.called_at
       AND p.effective_until OPERATOR(pg_catalog.>) call_cost.called_at;
END;

COMMENT ON FUNCTION bedrock.call_cost(text, timestamptz, bigint, bigint, bigint, bigint, text) IS
'Cost of a call by model_prices: input and output tokens, cached tokens at the cache prices, times the factor of the service tier (flex 0.5, priority 1.75); NULL when the model has no price';

-- The views that price calls, as before but by bedrock.tokens_cost
CREATE OR REPLACE VIEW bedrock.usage_summary WITH (security_invoker = true) AS
SELECT u.model,
       (u.called_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       count(*) FILTER (WHERE u.error_code IN ('ThrottlingException', 'TooManyRequestsException')
                           OR (u.error_code IS NOT NULL AND u.http_status = 429)) AS throttled_calls,
       sum(u.throttled_attempts)::bigint AS throttled_attempts,
       sum(greatest(u.attempts - 1, 0))::bigint AS retries,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       coalesce(sum(u.cache_read_input_tokens), 0)::bigint AS cache_read_input_tokens,
       coalesce(sum(u.cache_write_input_tokens), 0)::bigint AS cache_write_input_tokens,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p50_latency_ms,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p95_latency_ms,
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY u.client_latency_ms)
                 FILTER (WHERE u.error_code IS NULL))::numeric, 3)::double precision AS p99_latency_ms,
       trim_scale(sum(bedrock.tokens_cost(p, u.operation, u.input_tokens, u.output_tokens,
                                          u.cache_read_input_tokens, u.cache_write_input_tokens,
                                          u.service_tier))) AS estimated_cost
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.model, (u.called_at AT TIME ZONE 'UTC')::date;

CREATE OR REPLACE VIEW bedrock.usage_by_role WITH (security_invoker = true) AS
SELECT u.role_name,
       u.principal_arn,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       trim_scale(sum(bedrock.tokens_cost(p, u.operation, u.input_tokens, u.output_tokens,
                                          u.cache_read_input_tokens, u.cache_write_input_tokens,
                                          u.service_tier))) AS estimated_cost,
       min(u.called_at) AS first_call,
       max(u.called_at) AS last_call
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY u.role_name, u.principal_arn;

CREATE OR REPLACE VIEW bedrock.usage_by_principal WITH (security_invoker = true) AS
SELECT (u.called_at AT TIME ZONE 'UTC')::date AS day,
       u.principal_arn,
       u.server_name,
       count(*) AS calls,
       count(*) FILTER (WHERE u.error_code IS NOT NULL) AS errors,
       count(*) FILTER (WHERE u.error_code IN ('ThrottlingException', 'TooManyRequestsException')
                           OR (u.error_code IS NOT NULL AND u.http_status = 429)) AS throttled_calls,
       sum(u.throttled_attempts)::bigint AS throttled_attempts,
       coalesce(sum(u.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(u.total_tokens), 0)::bigint AS total_tokens,
       trim_scale(sum(bedrock.tokens_cost(p, u.operation, u.input_tokens, u.output_tokens,
                                          u.cache_read_input_tokens, u.cache_write_input_tokens,
                                          u.service_tier))) AS estimated_cost,
       count(DISTINCT u.role_name) AS roles
  FROM bedrock.usage_log u
  LEFT JOIN bedrock.price_periods p
         ON p.model = u.model
        AND u.called_at >= p.effective_from AND u.called_at < p.effective_until
 GROUP BY (u.called_at AT TIME ZONE 'UTC')::date, u.principal_arn, u.server_name;

-- (end of Prices of cached tokens and service tiers)
