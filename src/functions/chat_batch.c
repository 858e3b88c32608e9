/*-------------------------------------------------------------------------
 *
 * chat_batch.c
 *	  Many Converse calls in flight from one backend, one result row per
 *	  input, in input order: bedrock_chat_batch(model, prompts, system,
 *	  options) builds each request from a prompt, bedrock_converse_batch(
 *	  model, requests, options) sends the caller's own.
 *
 * A scheduler over the same call steps bedrock_chat uses
 * (bedrock_call_begin / start_attempt / finish_attempt): it keeps up to
 * `concurrency` attempts in flight on the backend's libcurl multi handle
 * (connections are shared and kept alive), starts retries when their
 * backoff has passed, starts nothing the shared rate limiter has not
 * admitted (batch calls leave bedrock.interactive_reserve to single
 * calls), and sleeps in the latch-aware wait of http.c, so a
 * cancel stops every transfer at once (the transaction abort releases
 * them) after each interrupted call's usage record has been submitted.
 * Every call under way is registered in flight (inflight_calls.c), so a
 * termination of the backend records them too.  Failures become error
 * rows unless on_error says otherwise.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/chat_batch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "bedrock_fdw.h"
#include "chat.h"
#include "chat_batch.h"
#include "converse.h"
#include "inflight_calls.h"

PG_FUNCTION_INFO_V1(bedrock_chat_batch);
PG_FUNCTION_INFO_V1(bedrock_converse_batch);

/*
 * admitted
 *		Whether the rate limiter lets the item's next attempt start now;
 *		if not, no attempt of the batch starts before it says (they all
 *		call the same model).
 */
static bool
admitted(Batch *b, BatchItem *item, TimestampTz now)
{
	long		wait_ms = bedrock_call_admit(&item->call);

	if (wait_ms == 0)
		return true;
	b->admit_at = TimestampTzPlusMilliseconds(now, wait_ms);
	return false;
}

/* Start the next attempt of an item. */
static void
start_attempt(Batch *b, BatchItem *item)
{
	item->retry_at = 0;
	(void) bedrock_call_start_attempt(&item->call, item);
	b->in_flight++;
}

/*
 * begin_item_call
 *		The clock of an item's call starts: it leaves the interactive
 *		reserve, and is in flight (recorded should the backend die).
 */
static void
begin_item_call(BatchItem *item)
{
	item->call.batch = true;
	bedrock_call_begin(&item->call);
	inflight_call_begin(&item->call, &item->usage);
	item->busy = true;
}

/*
 * start_what_may_start
 *		Fill free places, as far as the rate limiter allows: retries whose
 *		backoff has passed first, then new prompts in input order.
 */
static void
start_what_may_start(Batch *b)
{
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	if (now < b->admit_at)
		return;
	foreach(lc, b->waiting)
	{
		BatchItem  *item = lfirst(lc);

		if (b->in_flight >= b->options.concurrency)
			return;
		if (item->retry_at <= now)
		{
			if (!admitted(b, item, now))
				return;
			b->waiting = foreach_delete_current(b->waiting, lc);
			start_attempt(b, item);
		}
	}
	while (b->in_flight < b->options.concurrency && b->next_new < b->n)
	{
		BatchItem  *item = &b->items[b->next_new];

		if (item->skip)
		{
			b->next_new++;
			continue;
		}
		/* the call's clock starts when it first asks for admission */
		if (!item->busy)
			begin_item_call(item);
		if (!admitted(b, item, now))
			return;
		b->next_new++;
		start_attempt(b, item);
	}
}

/*
 * next_start_in
 *		Milliseconds until an attempt may start: with a free place, the
 *		first waiting retry or the next new prompt, but not before the rate
 *		limiter's time; -1 when there is no free place or nothing is left
 *		to start.
 */
static long
next_start_in(Batch *b)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz first = 0;
	ListCell   *lc;

	/* no free place: only a finished transfer can change that */
	if (b->in_flight >= b->options.concurrency)
		return -1;
	foreach(lc, b->waiting)
	{
		BatchItem  *item = lfirst(lc);

		if (first == 0 || item->retry_at < first)
			first = item->retry_at;
	}
	if (b->next_new < b->n && b->in_flight < b->options.concurrency)
		first = now;
	if (first == 0)
		return -1;
	first = Max(first, b->admit_at);
	return Max(TimestampDifferenceMilliseconds(now, first), 0);
}

/*
 * check_batch_state
 *		An ERROR, not a spin, for a state the scheduler cannot get out of:
 *		attempts counted in flight that the HTTP layer no longer has (they
 *		would never finish), or items not over with nothing in flight and
 *		nothing left to start.
 */
static void
check_batch_state(Batch *b, long next_start)
{
	int			pending = http_transfers_pending();

	if (b->in_flight > pending)
		elog(ERROR, "bedrock_fdw batch has %d attempts in flight but %d HTTP transfers",
			 b->in_flight, pending);
	if (b->in_flight == 0 && next_start < 0)
		elog(ERROR, "bedrock_fdw batch has %d calls not over but nothing in flight or to start",
			 b->remaining);
}

/*
 * run_batch
 *		Drive every item to its end.  Raises only for interrupts, for a
 *		failure under on_error "raise" and for an impossible state
 *		(check_batch_state).  Every turn of the loop waits in http.c, which
 *		checks interrupts.
 */
static void
run_batch(Batch *b)
{
	while (b->remaining > 0)
	{
		HttpTransfer *t;
		BatchItem  *item;
		long		delay;
		long		next_start;

		start_what_may_start(b);
		next_start = next_start_in(b);
		check_batch_state(b, next_start);
		if (b->in_flight == 0)
		{
			/* nothing on the wire: sleep (interruptibly) until a start */
			http_sleep_ms(next_start);
			continue;
		}
		t = http_wait_any(next_start);
		if (t == NULL)
			continue;			/* a retry or the rate limiter's time came */
		item = (BatchItem *) http_transfer_arg(t);
		b->in_flight--;
		/* a failed attempt gives its tokens back: ask the limiter again */
		b->admit_at = 0;
		delay = bedrock_call_finish_attempt(&item->call, t);
		if (delay >= 0)
		{
			item->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
			b->waiting = lappend(b->waiting, item);
			continue;
		}
		item->busy = false;
		inflight_call_end(&item->usage);
		b->remaining--;
		if (b->complete != NULL)
			b->complete(b, item);
		else
			item->result = chat_complete(&item->call, &item->usage, &b->options);
		if (item->again)
		{
			/* the callback prepared another call of the item: queue it */
			item->again = false;
			b->remaining++;
			begin_item_call(item);
			item->retry_at = 0;
			b->waiting = lappend(b->waiting, item);
		}
	}
}

/*
 * batch_begin
 *		What both batch functions start with: a private memory context (made
 *		current), the elements of the array argument 1 (of elemtype), the
 *		options of argument options_arg parsed for funcname under flags, the
 *		model of argument 0, checked, and an item per element.
 */
void
batch_begin(FunctionCallInfo fcinfo, Batch *b, const char *funcname,
			Oid elemtype, int options_arg, int flags)
{
	b->batchcxt = AllocSetContextCreate(CurrentMemoryContext, "bedrock_fdw batch",
										ALLOCSET_DEFAULT_SIZES);
	b->outercxt = MemoryContextSwitchTo(b->batchcxt);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), elemtype, -1, false, TYPALIGN_INT,
					  &b->inputs, &b->input_nulls, &b->n);
	chat_options_parse(PG_ARGISNULL(options_arg) ? NULL : PG_GETARG_JSONB_P(options_arg),
					   funcname, flags | CHAT_OPTIONS_BATCH, &b->options);
	if (!PG_ARGISNULL(0))
	{
		b->model = text_to_cstring(PG_GETARG_TEXT_PP(0));
		bedrock_validate_model_id(b->model);
	}
	b->items = palloc0(sizeof(BatchItem) * Max(b->n, 1));
}

/*
 * batch_item_begin
 *		Whether input i gets a call (it is not NULL and there is a model):
 *		if so, it counts as remaining, and the caller prepares its call.
 */
bool
batch_item_begin(Batch *b, int i)
{
	b->items[i].skip = b->input_nulls[i] || b->model == NULL;
	if (!b->items[i].skip)
		b->remaining++;
	return !b->items[i].skip;
}

/*
 * batch_run
 *		Run the prepared batch (items not skipped, b->remaining of them):
 *		every call ends through b->complete, or chat_complete into
 *		item->result when it is NULL.  Should the batch be interrupted,
 *		every call under way is recorded before the error goes on.
 */
void
batch_run(Batch *b)
{
	int			i;

	PG_TRY();
	{
		run_batch(b);
	}
	PG_CATCH();
	{
		/* every call under way may be billed: record it */
		for (i = 0; i < b->n; i++)
		{
			if (b->items[i].busy)
				chat_interrupted(&b->items[i].call, &b->items[i].usage);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * batch_run_and_return
 *		Run the prepared batch and put one row per item, (ord, result), into
 *		the set-returning function's tuplestore; the batch's memory context
 *		is deleted.
 */
void
batch_run_and_return(ReturnSetInfo *rsinfo, Batch *b)
{
	int			i;

	batch_run(b);

	MemoryContextSwitchTo(b->outercxt);
	for (i = 0; i < b->n; i++)
	{
		Datum		values[2];
		bool		isnull[2] = {false, false};

		values[0] = Int32GetDatum(i + 1);
		isnull[1] = b->items[i].result == NULL;
		values[1] = isnull[1] ? (Datum) 0 : JsonbPGetDatum(b->items[i].result);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	MemoryContextDelete(b->batchcxt);
}

/*
 * bedrock_chat_batch
 *		SQL: bedrock_chat_batch(model text, prompts text[], system text
 *		DEFAULT NULL, options jsonb DEFAULT NULL)
 *		RETURNS TABLE(ord int, response jsonb).
 *
 * One row per array element (ord counts from 1 in storage order), with
 * bedrock_chat's result, NULL for a NULL prompt (or a NULL model), or the
 * failure as on_error says ("json" unless set).  The option "concurrency"
 * (at most bedrock.max_concurrency, its default) bounds the requests in
 * flight.
 */
Datum
bedrock_chat_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Batch		b = {0};
	char	   *system = NULL;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	batch_begin(fcinfo, &b, "bedrock_chat_batch", TEXTOID, 3, 0);
	if (!PG_ARGISNULL(2))
		system = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (system != NULL && system[0] == '\0')
		system = NULL;

	/* check every prompt before anything is sent */
	for (i = 0; i < b.n; i++)
	{
		if (!batch_item_begin(&b, i))
			continue;
		chat_check_prompt(TextDatumGetCString(b.inputs[i]));
		chat_prepare(&b.items[i].call, &b.items[i].usage, b.model,
					 TextDatumGetCString(b.inputs[i]), system, &b.options);
	}

	batch_run_and_return(rsinfo, &b);
	PG_RETURN_NULL();
}

/*
 * bedrock_converse_batch
 *		SQL: bedrock_converse_batch(model text, requests jsonb[], options
 *		jsonb DEFAULT NULL) RETURNS TABLE(ord int, response jsonb).
 *
 * bedrock_converse for every element of requests (each the body of a
 * Converse request), as bedrock_chat_batch runs its prompts: one row per
 * element in storage order, NULL for a NULL request (or a NULL model),
 * failures as on_error says ("json" unless set).  Every request is checked
 * to be a JSON object before anything is sent.
 */
Datum
bedrock_converse_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Batch		b = {0};
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	batch_begin(fcinfo, &b, "bedrock_converse_batch", JSONBOID, 2,
				CHAT_OPTIONS_RAW_REQUEST);

	/* check every request before anything is sent */
	for (i = 0; i < b.n; i++)
	{
		char	   *body;
		size_t		body_len;

		if (!batch_item_begin(&b, i))
			continue;
		body = converse_raw_body(DatumGetJsonbP(b.inputs[i]), "bedrock_converse_batch",
								 i + 1, &body_len);
		chat_prepare_body(&b.items[i].call, &b.items[i].usage, b.model, body, body_len,
						  &b.options);
	}

	batch_run_and_return(rsinfo, &b);
	PG_RETURN_NULL();
}
