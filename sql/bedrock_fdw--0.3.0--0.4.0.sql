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

-- (end of Catalog foreign tables)



-- ==== Batch inference jobs ====

-- (end of Batch inference jobs)
