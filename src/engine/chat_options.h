/*-------------------------------------------------------------------------
 *
 * chat_options.h
 *	  The options jsonb of bedrock_chat, parsed and checked.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/chat_options.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CHAT_OPTIONS_H
#define BEDROCK_CHAT_OPTIONS_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

typedef enum OnErrorMode
{
	ON_ERROR_RAISE,				/* raise an ERROR (the default) */
	ON_ERROR_NULL,				/* return NULL */
	ON_ERROR_JSON				/* return {"error": {...}} */
} OnErrorMode;

typedef struct ChatOptions
{
	int			max_tokens;		/* 0: model default */
	bool		has_temperature;
	double		temperature;
	bool		has_top_p;
	double		top_p;
	List	   *stop_sequences; /* of char *, server encoding */
	long		timeout_ms;		/* per attempt */
	int			max_attempts;
	OnErrorMode on_error;
	bool		raw;			/* add the whole response as "response" */
	JsonbContainer *additional_model_request_fields;	/* object, or NULL */
	int			concurrency;	/* batches: requests in flight */
	char	   *server;			/* foreign server to go through; NULL:
								 * bedrock.server */
	/* extractions (bedrock_extract and kin, CHAT_OPTIONS_EXTRACT) */
	int			extract_method; /* EXTRACT_METHOD_*: option "method" */
	const char *request_members;	/* JSON members (",\"k\":v...") that
									 * converse_build_body appends; NULL:
									 * none */

	/*
	 * Converse features: request metadata, guardrails, documents and images,
	 * prompt caching, service tiers (src/engine/converse_features.c)
	 */
	JsonbContainer *request_metadata;	/* the caller's keys, checked; or NULL */
	char	   *guardrail_identifier;	/* the call's guardrail (the mandatory
										 * one when set); NULL: none */
	char	   *guardrail_version;
	char	   *guardrail_trace;	/* enabled, disabled, enabled_full; NULL */
	List	   *content_blocks; /* JSON text of document and image blocks */
	int			document_count;
	int			image_count;
	char	   *cache_ttl;		/* NULL: no cache point; "": Bedrock's TTL */
	char	   *service_tier;	/* NULL: not sent */
	char	   *latency;		/* NULL: not sent */
} ChatOptions;

/* the values of an extraction's option "method" */
#define EXTRACT_METHOD_AUTO			0
#define EXTRACT_METHOD_OUTPUT_FORMAT 1
#define EXTRACT_METHOD_TOOL			2

/* in chat_options.c */
/* what the function taking the options is (chat_options_parse's flags) */
#define CHAT_OPTIONS_BATCH		0x01	/* many calls: "concurrency", on_error "json" */
#define CHAT_OPTIONS_RAW_REQUEST 0x02	/* the caller passes the Converse request */
#define CHAT_OPTIONS_NATIVE		0x04	/* ... or InvokeModel's native body */
#define CHAT_OPTIONS_EMBED		0x08	/* an embedding: real[] results, and the
										 * keys of EMBED_OPTION_KEYS are the
										 * caller's (embed_options_parse) */
#define CHAT_OPTIONS_EXTRACT	0x10	/* an extraction ("method";
										 * no "raw") */
#define CHAT_OPTIONS_GUARDRAIL	0x20	/* bedrock_apply_guardrail
										 * (the call's options only) */
#define EMBED_OPTION_KEYS "dimensions", "normalize", "input_type", "truncate", "output_dimension"

/* the Converse feature options (chat_options.c) */
#define CONVERSE_FEATURE_KEYS "request_metadata", "guardrail_identifier", \
	"guardrail_version", "guardrail_trace", "documents", "images", "cache", \
	"service_tier", "latency"

extern void chat_options_parse(Jsonb *options, const char *funcname,
							   int flags, ChatOptions *opts);

#endif							/* BEDROCK_CHAT_OPTIONS_H */
