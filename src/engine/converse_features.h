/*-------------------------------------------------------------------------
 *
 * converse_features.h
 *	  What every Converse request carries besides the conversation:
 *	  request metadata, the guardrail, the service tier and latency, cache
 *	  points, and document and image content blocks.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/converse_features.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CONVERSE_FEATURES_H
#define BEDROCK_CONVERSE_FEATURES_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "chat_options.h"

/* Bedrock's limits of requestMetadata (aws-protocol.md 1.5.1) */
#define REQUEST_METADATA_MAX_ENTRIES	16
#define REQUEST_METADATA_MAX_KEY		256
#define REQUEST_METADATA_MAX_VALUE		256

/* in converse_features.c */
extern char *bedrock_guardrail_identifier;
extern char *bedrock_guardrail_version;
extern char *bedrock_service_tier;
extern char *bedrock_latency;

extern void converse_features_define_gucs(void);
extern bool guardrail_identifier_valid(const char *s);
extern bool guardrail_version_valid(const char *s);
extern bool request_metadata_text_valid(const char *s, int len);
extern bool request_metadata_builtin_key(const char *key, int len);
extern void request_metadata_check(const JsonbValue *v, const char *what);
extern void converse_mandatory_guardrail(const char **identifier,
										 const char **version);
extern void converse_append_request_metadata(StringInfo buf,
											 JsonbContainer *extra);
extern void converse_append_features(StringInfo buf, const ChatOptions *opts);
extern void converse_append_cache_point(StringInfo buf, const char *ttl);
extern void converse_append_content_blocks(StringInfo buf,
										   const ChatOptions *opts);
extern char *converse_raw_with_policy(Jsonb *request, const char *funcname,
									  int position);
extern void converse_append_guardrail_result(StringInfo out, Jsonb *response);
extern const char *converse_guardrail_action(Jsonb *response, bool guarded);
struct BedrockCall;
extern void invoke_guardrail_headers(struct BedrockCall *call,
									 const char *identifier, const char *version);

/* in converse_content.c: options.documents and options.images */
extern void content_blocks_option(const char *funcname, const char *key,
								  const JsonbValue *v, ChatOptions *opts);
extern void content_check(const char *what, bool is_image, const char *name,
						  const char *format, const unsigned char *data,
						  size_t size);

#endif							/* BEDROCK_CONVERSE_FEATURES_H */
