/*-------------------------------------------------------------------------
 *
 * chat_batch.h
 *	  The concurrent pipeline of chat_batch.c, for every function that
 *	  sends many Bedrock Runtime calls at once (bedrock_chat_batch,
 *	  bedrock_converse_batch, bedrock_embed_batch, bedrock_invoke_batch).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/chat_batch.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CHAT_BATCH_H
#define BEDROCK_CHAT_BATCH_H

#include "fmgr.h"
#include "nodes/execnodes.h"
#include "utils/jsonb.h"

#include "chat_options.h"
#include "runtime.h"
#include "usage.h"

typedef struct BatchItem
{
	BedrockCall call;
	UsageRecord usage;
	bool		skip;			/* NULL input: no call, NULL result */
	bool		busy;			/* started and not over: in flight */
	TimestampTz retry_at;		/* when waiting for a retry; else 0 */
	Jsonb	   *result;
	void	   *arg;			/* the caller's, for its complete callback */
	bool		again;			/* set by the complete callback, which has
								 * prepared another call of the item (a
								 * follow-up): the pipeline runs it too */
} BatchItem;

struct Batch;
typedef void (*BatchCompleteFn) (struct Batch *b, BatchItem *item);

typedef struct Batch
{
	MemoryContext batchcxt;		/* everything of the batch but its rows */
	MemoryContext outercxt;		/* the caller's */
	char	   *model;			/* NULL: every row NULL, no call */
	Datum	   *inputs;			/* the array's elements (prompts, requests) */
	bool	   *input_nulls;
	ChatOptions options;
	BatchItem  *items;
	int			n;				/* items: one per input element after
								 * batch_begin; a caller may regroup them */
	int			next_new;		/* first item not started yet */
	int			in_flight;		/* attempts on the wire */
	int			remaining;		/* items not over */
	List	   *waiting;		/* items waiting for a retry */
	TimestampTz admit_at;		/* no start before: the rate limiter said */
	BatchCompleteFn complete;	/* a call is over; NULL: chat_complete */
	void	   *arg;			/* the caller's */
} Batch;

/* in chat_batch.c */
extern void batch_begin(FunctionCallInfo fcinfo, Batch *b, const char *funcname,
						Oid elemtype, int options_arg, int flags);
extern bool batch_item_begin(Batch *b, int i);
extern void batch_run(Batch *b);
extern void batch_run_and_return(ReturnSetInfo *rsinfo, Batch *b);

#endif							/* BEDROCK_CHAT_BATCH_H */
