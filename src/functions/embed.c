/*-------------------------------------------------------------------------
 *
 * embed.c
 *	  Embeddings as real[]: bedrock_embed(model, input, options) for one
 *	  text, bedrock_embed_batch(model, inputs, options) for many.
 *
 * The model's family (embed_family.c) builds the InvokeModel request and
 * reads the response.  A batch packs as many texts into one request as
 * the family takes (Cohere: 96, within its size limit; Titan: one) and
 * sends the requests through the concurrent pipeline of chat_batch.c, so
 * the shared rate limiter sees one request, and its tokens, per pack.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/embed.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "bedrock_fdw.h"
#include "chat.h"
#include "chat_batch.h"
#include "embed_family.h"
#include "invoke_model.h"

PG_FUNCTION_INFO_V1(bedrock_embed);
PG_FUNCTION_INFO_V1(bedrock_embed_batch);

/*
 * build_request
 *		The family's request body for texts[0..n-1], as UTF-8; *len gets
 *		its length.
 */
static char *
build_request(const EmbedFamily *family, const char *const *texts, int n,
			  const EmbedOptions *opts, size_t *len)
{
	StringInfoData buf;
	char	   *utf8;

	initStringInfo(&buf);
	family->build_body(&buf, texts, n, opts);
	utf8 = server_to_utf8(buf.data, buf.len);
	*len = (utf8 == buf.data) ? (size_t) buf.len : strlen(utf8);
	if (utf8 != buf.data)
		pfree(buf.data);
	return utf8;
}

/* A vector as a real[] datum in the current memory context. */
static Datum
vector_datum(const EmbedVector *v)
{
	Datum	   *elems = palloc(sizeof(Datum) * v->dims);
	ArrayType  *a;

	for (int i = 0; i < v->dims; i++)
		elems[i] = Float4GetDatum(v->values[i]);
	a = construct_array(elems, v->dims, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(elems);
	return PointerGetDatum(a);
}

/* What embed_complete reads a response with (invoke_finish's reader). */
typedef struct EmbedRead
{
	const EmbedFamily *family;
	int			n;
	EmbedVector *out;
	UsageRecord *usage;
} EmbedRead;

static const char *
embed_read(Jsonb *response, void *arg)
{
	EmbedRead  *r = arg;

	if (JB_ROOT_IS_SCALAR(response) || !JB_ROOT_IS_OBJECT(response))
		return "the response is not a JSON object";
	return r->family->parse_response(&response->root, r->n, r->out,
									 &r->usage->input_tokens);
}

/*
 * embed_complete
 *		A call for n texts is over: read its n vectors into out, submit the
 *		usage record (input tokens from the body, else the header) and
 *		return true; for a failure (of the call, or a response that is not
 *		n embeddings) submit the record and raise or return false as
 *		on_error says.  Allocates in the current memory context.
 */
static bool
embed_complete(const EmbedFamily *family, BedrockCall *call, UsageRecord *usage,
			   int n, EmbedVector *out, OnErrorMode on_error)
{
	EmbedRead	r = {family, n, out, usage};

	if (invoke_finish(call, usage, embed_read, &r) != NULL)
		return true;
	(void) chat_failure_result(call, on_error); /* raises for "raise" */
	return false;
}

/*
 * bedrock_embed
 *		SQL: bedrock_embed(model text, input text, options jsonb DEFAULT
 *		NULL) RETURNS real[].
 *
 * The embedding of input by model.  Options: the family's (dimensions,
 * normalize, input_type, truncate, output_dimension) and the call's
 * (timeout_ms, max_attempts, on_error "raise" or "null").  NULL model or
 * input: NULL, without calling Bedrock.
 */
Datum
bedrock_embed(PG_FUNCTION_ARGS)
{
	MemoryContext callcxt;
	MemoryContext outercxt;
	Jsonb	   *options_arg = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	ChatOptions options;
	EmbedOptions eopts;
	const EmbedFamily *family;
	BedrockCall call;
	UsageRecord usage;
	char	   *model;
	const char *input;
	char	   *body;
	size_t		body_len;
	EmbedVector vec;
	Datum		result = (Datum) 0;
	bool		ok;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	callcxt = AllocSetContextCreate(CurrentMemoryContext, "bedrock_fdw call",
									ALLOCSET_DEFAULT_SIZES);
	outercxt = MemoryContextSwitchTo(callcxt);
	chat_options_parse(options_arg, "bedrock_embed", CHAT_OPTIONS_EMBED, &options);
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bedrock_validate_model_id(model);
	family = embed_family_lookup(model);
	embed_options_parse(options_arg, "bedrock_embed", family, &eopts);
	input = text_to_cstring(PG_GETARG_TEXT_PP(1));
	embed_check_input(family, &eopts, input, 0, "bedrock_embed");

	body = build_request(family, &input, 1, &eopts, &body_len);
	invoke_prepare(&call, &usage, model, body, body_len, &options);
	chat_run_call(&call, &usage);
	ok = embed_complete(family, &call, &usage, 1, &vec, options.on_error);

	MemoryContextSwitchTo(outercxt);
	if (ok)
		result = vector_datum(&vec);
	MemoryContextDelete(callcxt);
	if (!ok)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/* A batch request: the inputs it embeds. */
typedef struct EmbedPack
{
	int			n;
	int		   *positions;		/* into the inputs, from 0 */
} EmbedPack;

/* The state of bedrock_embed_batch, for its complete callback. */
typedef struct EmbedBatch
{
	const EmbedFamily *family;
	Datum	   *vectors;		/* per input; 0: NULL */
	MemoryContext parsecxt;		/* one response's parsing, reset after */
} EmbedBatch;

/*
 * embed_batch_complete
 *		The batch pipeline's end of a call: its vectors into the inputs'
 *		places (in the batch's context), or NULLs for a failure under
 *		on_error "null".  The response is freed: a batch of a million texts
 *		keeps vectors, not response bodies.
 */
static void
embed_batch_complete(Batch *b, BatchItem *item)
{
	EmbedBatch *eb = b->arg;
	EmbedPack  *pack = item->arg;
	MemoryContext old = MemoryContextSwitchTo(eb->parsecxt);
	EmbedVector *vecs = palloc0(sizeof(EmbedVector) * pack->n);
	bool		ok;

	ok = embed_complete(eb->family, &item->call, &item->usage, pack->n, vecs,
						b->options.on_error);
	MemoryContextSwitchTo(old);
	for (int i = 0; ok && i < pack->n; i++)
		eb->vectors[pack->positions[i]] = vector_datum(&vecs[i]);
	MemoryContextReset(eb->parsecxt);
	if (item->call.response.body != NULL)
		pfree(item->call.response.body);
	item->call.response.body = NULL;
	pfree((char *) item->call.body);
	item->call.body = NULL;
}

/*
 * pack_inputs
 *		Group the inputs to embed (send[i]) into requests of at most the
 *		family's texts and characters, in input order; returns the packs
 *		and sets *npacks.
 */
static EmbedPack *
pack_inputs(const EmbedFamily *family, char **texts, const bool *send, int n,
			int *npacks)
{
	EmbedPack  *packs = palloc0(sizeof(EmbedPack) * Max(n, 1));
	int			np = 0;
	int64		chars = 0;

	for (int i = 0; i < n; i++)
	{
		int64		len;
		EmbedPack  *cur;

		if (!send[i])
			continue;
		len = family->max_request_chars > 0 ? pg_mbstrlen(texts[i]) : 0;
		cur = np > 0 ? &packs[np - 1] : NULL;
		if (cur == NULL || cur->n >= family->max_texts ||
			(family->max_request_chars > 0 && cur->n > 0 &&
			 chars + len > family->max_request_chars))
		{
			cur = &packs[np++];
			cur->positions = palloc(sizeof(int) * family->max_texts);
			chars = 0;
		}
		cur->positions[cur->n++] = i;
		chars += len;
	}
	*npacks = np;
	return packs;
}

/*
 * bedrock_embed_batch
 *		SQL: bedrock_embed_batch(model text, inputs text[], options jsonb
 *		DEFAULT NULL) RETURNS TABLE(ord int, embedding real[]).
 *
 * One row per element of inputs (ord counts from 1 in storage order), with
 * its embedding; NULL for a NULL input (or a NULL model) without a call,
 * and for an input whose request failed under on_error "null" (the
 * default; "raise" stops at the first failure).  Every input is checked
 * before anything is sent.  The option "concurrency" bounds the requests
 * in flight.
 */
Datum
bedrock_embed_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *options_arg = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	Batch		b = {0};
	EmbedBatch	eb = {0};
	EmbedOptions eopts;
	EmbedPack  *packs;
	char	  **texts;
	bool	   *send;
	int			ninputs;
	int			npacks = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	batch_begin(fcinfo, &b, "bedrock_embed_batch", TEXTOID, 2, CHAT_OPTIONS_EMBED);
	ninputs = b.n;
	texts = palloc0(sizeof(char *) * Max(ninputs, 1));
	send = palloc0(sizeof(bool) * Max(ninputs, 1));
	eb.vectors = palloc0(sizeof(Datum) * Max(ninputs, 1));

	if (b.model != NULL)
	{
		eb.family = embed_family_lookup(b.model);
		embed_options_parse(options_arg, "bedrock_embed_batch", eb.family, &eopts);
		/* check every input before anything is sent */
		for (int i = 0; i < ninputs; i++)
		{
			if (b.input_nulls[i])
				continue;
			texts[i] = TextDatumGetCString(b.inputs[i]);
			/* too long under on_error "null": NULL, and the others go */
			if (b.options.on_error != ON_ERROR_RAISE && texts[i][0] != '\0' &&
				embed_input_too_long(eb.family, &eopts, texts[i]))
				continue;
			embed_check_input(eb.family, &eopts, texts[i], i + 1, "bedrock_embed_batch");
			send[i] = true;
		}
		packs = pack_inputs(eb.family, texts, send, ninputs, &npacks);

		/* one item per request */
		b.items = repalloc(b.items, sizeof(BatchItem) * Max(npacks, 1));
		memset(b.items, 0, sizeof(BatchItem) * Max(npacks, 1));
		for (int p = 0; p < npacks; p++)
		{
			BatchItem  *item = &b.items[p];
			const char **ptexts = palloc(sizeof(char *) * packs[p].n);
			char	   *body;
			size_t		body_len;

			for (int k = 0; k < packs[p].n; k++)
				ptexts[k] = texts[packs[p].positions[k]];
			body = build_request(eb.family, ptexts, packs[p].n, &eopts, &body_len);
			pfree(ptexts);
			invoke_prepare(&item->call, &item->usage, b.model, body, body_len, &b.options);
			item->arg = &packs[p];
		}
		b.n = npacks;
		b.remaining = npacks;
		b.complete = embed_batch_complete;
		b.arg = &eb;
		eb.parsecxt = AllocSetContextCreate(b.batchcxt, "bedrock_fdw embedding",
											ALLOCSET_DEFAULT_SIZES);
		batch_run(&b);
	}

	MemoryContextSwitchTo(b.outercxt);
	for (int i = 0; i < ninputs; i++)
	{
		Datum		values[2];
		bool		isnull[2] = {false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = eb.vectors[i];
		isnull[1] = eb.vectors[i] == (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	MemoryContextDelete(b.batchcxt);
	PG_RETURN_NULL();
}
