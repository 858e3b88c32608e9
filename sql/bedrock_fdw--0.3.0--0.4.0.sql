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

-- (end of Embeddings and InvokeModel)



-- ==== Foreign data wrapper: servers, user mappings, identities ====

-- (end of Foreign data wrapper)



-- ==== Catalog foreign tables: IMPORT FOREIGN SCHEMA ====
CREATE FOREIGN DATA WRAPPER bedrock_fdw; -- TEMPORARY: the fdw lane creates it

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

-- (end of Batch inference jobs)
