/*-------------------------------------------------------------------------
 *
 * json_schema.h
 *	  The subset of JSON Schema that bedrock_extract takes: checking a
 *	  schema before anything is sent, and an answer against it.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/json_schema.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_JSON_SCHEMA_H
#define BEDROCK_JSON_SCHEMA_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* bounds of a schema (docs/extraction.md) */
#define JSON_SCHEMA_MAX_DEPTH	16		/* nested objects and arrays */
#define JSON_SCHEMA_MAX_NODES	500		/* subschemas in all */
#define JSON_SCHEMA_MAX_ENUM	500		/* values of one enum */

#define JSON_SCHEMA_KEYWORDS "type, properties, required, enum, items, description, title, additionalProperties (a boolean), and \"$schema\" at the top"

/* in json_schema.c */
extern void json_schema_check(Jsonb *schema, const char *funcname);
extern bool json_schema_validate(Jsonb *schema, JsonbValue *value,
								 StringInfo why);
extern char *json_schema_closed_text(Jsonb *schema);

#endif							/* BEDROCK_JSON_SCHEMA_H */
