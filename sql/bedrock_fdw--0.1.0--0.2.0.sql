/* sql/bedrock_fdw--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bedrock_fdw UPDATE TO '0.2.0'" to load this file. \quit

-- ==== Parallel query ====
-- Credentials come from the worker's shared cache (or each process's own
-- chain), usage records go through shared memory with the leader's pid,
-- and nothing is written to a table: parallel workers may call Bedrock,
-- so that a plain SELECT bedrock_chat(...) FROM big_table can fan out.
ALTER FUNCTION bedrock_chat(text, text, text, jsonb) PARALLEL SAFE;
