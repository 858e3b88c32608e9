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

-- (end of Embeddings and InvokeModel)



-- ==== Foreign data wrapper: servers, user mappings, identities ====

-- (end of Foreign data wrapper)



-- ==== Catalog foreign tables: IMPORT FOREIGN SCHEMA ====

-- (end of Catalog foreign tables)



-- ==== Batch inference jobs ====

-- (end of Batch inference jobs)
