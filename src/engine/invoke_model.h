/*-------------------------------------------------------------------------
 *
 * invoke_model.h
 *	  One InvokeModel call (POST /model/{modelId}/invoke): its setup and
 *	  the usage Bedrock reports in the response headers.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/invoke_model.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_INVOKE_MODEL_H
#define BEDROCK_INVOKE_MODEL_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "chat_options.h"
#include "runtime.h"
#include "usage.h"

/* in invoke_model.c */
extern void runtime_call_prepare(BedrockCall *call, UsageRecord *usage,
								 const char *operation, const char *path_suffix,
								 const char *usage_operation, const char *model,
								 char *body, size_t body_len,
								 const ChatOptions *opts);
extern void invoke_prepare(BedrockCall *call, UsageRecord *usage, const char *model,
						   char *body, size_t body_len, const ChatOptions *opts);
extern void invoke_fill_usage(const HttpResponse *resp, UsageRecord *usage);
extern void invoke_append_usage(StringInfo out, const UsageRecord *usage);
extern Jsonb *invoke_finish(BedrockCall *call, UsageRecord *usage,
							const char *(*read) (Jsonb *response, void *arg),
							void *arg);

#endif							/* BEDROCK_INVOKE_MODEL_H */
