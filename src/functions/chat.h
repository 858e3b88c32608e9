/*-------------------------------------------------------------------------
 *
 * chat.h
 *	  The steps of a Converse call shared by bedrock_chat and
 *	  bedrock_chat_batch.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/chat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CHAT_H
#define BEDROCK_CHAT_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "chat_options.h"
#include "runtime.h"
#include "usage.h"

#include "fmgr.h"

/* One call of a single-call function, as chat_single_begin sets it up. */
typedef struct SingleCall
{
	MemoryContext callcxt;		/* everything of the call but its result */
	MemoryContext outercxt;		/* the caller's */
	char	   *model;
	ChatOptions options;
	BedrockCall call;
	UsageRecord usage;
} SingleCall;

/* in chat.c */
extern void chat_single_begin(FunctionCallInfo fcinfo, SingleCall *sc,
							  const char *funcname, int options_arg, int flags);
extern Datum chat_single_return(FunctionCallInfo fcinfo, SingleCall *sc,
								Jsonb *result);
extern Jsonb *chat_finish_call(BedrockCall *call, UsageRecord *usage,
							   const ChatOptions *opts);
extern void chat_check_prompt(const char *prompt);
extern void chat_prepare_body(BedrockCall *call, UsageRecord *usage,
							  const char *model, char *body, size_t body_len,
							  const ChatOptions *opts);
extern void chat_prepare(BedrockCall *call, UsageRecord *usage, const char *model,
						 const char *prompt, const char *system,
						 const ChatOptions *opts);
extern void chat_append_call_facts(StringInfo out, const BedrockCall *call);
extern Jsonb *chat_failure_result(const BedrockCall *call, OnErrorMode on_error);
extern void chat_run_call(BedrockCall *call, UsageRecord *usage);
extern void chat_interrupted(BedrockCall *call, UsageRecord *usage);
extern Jsonb *chat_complete(BedrockCall *call, UsageRecord *usage,
							const ChatOptions *opts);

#endif							/* BEDROCK_CHAT_H */
