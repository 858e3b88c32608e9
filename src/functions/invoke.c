/*-------------------------------------------------------------------------
 *
 * invoke.c
 *	  InvokeModel with the model's native body, for what Converse and the
 *	  embedding functions do not cover: bedrock_invoke(model, body,
 *	  options) and bedrock_invoke_batch(model, bodies, options), with the
 *	  result facts of bedrock_chat.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/invoke.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "bedrock_fdw.h"
#include "chat.h"
#include "chat_batch.h"
#include "converse_features.h"
#include "invoke_model.h"

PG_FUNCTION_INFO_V1(bedrock_invoke);
PG_FUNCTION_INFO_V1(bedrock_invoke_batch);

#define INVOKE_FLAGS (CHAT_OPTIONS_RAW_REQUEST | CHAT_OPTIONS_NATIVE)

/*
 * native_body
 *		The caller's request body (a JSON object) as UTF-8 JSON; *len gets
 *		its length.  Raises 22023, naming funcname and the body's position
 *		(0: a single body), for anything but an object.
 */
static char *
native_body(Jsonb *body, const char *funcname, int position, size_t *len)
{
	StringInfoData buf;
	char	   *utf8;

	if (JB_ROOT_IS_SCALAR(body) || !JB_ROOT_IS_OBJECT(body))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 position > 0 ?
				 errmsg("body %d of %s must be a JSON object", position, funcname) :
				 errmsg("the body of %s must be a JSON object", funcname),
				 errhint("Pass the model's native InvokeModel request, for example '{\"inputText\": \"hello\"}' for Amazon Titan Text Embeddings.")));
	initStringInfo(&buf);
	json_append_jsonb(&buf, &body->root);
	utf8 = server_to_utf8(buf.data, buf.len);
	*len = (utf8 == buf.data) ? (size_t) buf.len : strlen(utf8);
	return utf8;
}

/*
 * invoke_complete
 *		A call is over: read the response (any JSON value), submit the usage
 *		record and return the result {"response", "model", "request_id",
 *		"attempts", "latency_ms", "usage", "service_latency_ms"}, or what
 *		on_error says for a failure (which may be to raise).
 */
static Jsonb *
invoke_complete(BedrockCall *call, UsageRecord *usage, const ChatOptions *opts)
{
	Jsonb	   *response = invoke_finish(call, usage, NULL, NULL);
	StringInfoData out;

	if (response == NULL)
		return chat_failure_result(call, opts->on_error);

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"response\": ");
	json_append_jsonb(&out, &response->root);
	chat_append_call_facts(&out, call);
	invoke_append_usage(&out, usage);
	appendStringInfoChar(&out, '}');
	return json_text_to_jsonb(out.data);
}

/*
 * bedrock_invoke
 *		SQL: bedrock_invoke(model text, body jsonb, options jsonb DEFAULT
 *		NULL) RETURNS jsonb.
 *
 * Sends body as the InvokeModel request and returns the model's response
 * as "response" with the facts of the call.  Options are those of the
 * call (timeout_ms, max_attempts, on_error).  NULL model or body: NULL,
 * without calling Bedrock.
 */
Datum
bedrock_invoke(PG_FUNCTION_ARGS)
{
	MemoryContext callcxt;
	MemoryContext outercxt;
	ChatOptions options;
	BedrockCall call;
	UsageRecord usage;
	char	   *model;
	char	   *body;
	size_t		body_len;
	Jsonb	   *result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	callcxt = AllocSetContextCreate(CurrentMemoryContext, "bedrock_fdw call",
									ALLOCSET_DEFAULT_SIZES);
	outercxt = MemoryContextSwitchTo(callcxt);
	chat_options_parse(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2),
					   "bedrock_invoke", INVOKE_FLAGS, &options);
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bedrock_validate_model_id(model);
	body = native_body(PG_GETARG_JSONB_P(1), "bedrock_invoke", 0, &body_len);

	invoke_prepare(&call, &usage, model, body, body_len, &options);
	/* the mandatory guardrail (bedrock.guardrail_identifier), as headers */
	if (options.guardrail_identifier != NULL)
		invoke_guardrail_headers(&call, options.guardrail_identifier,
								 options.guardrail_version);
	chat_run_call(&call, &usage);
	result = invoke_complete(&call, &usage, &options);

	MemoryContextSwitchTo(outercxt);
	if (result != NULL)
		result = (Jsonb *) PG_DETOAST_DATUM_COPY(JsonbPGetDatum(result));
	MemoryContextDelete(callcxt);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

/* The batch pipeline's end of a call: the result into the item. */
static void
invoke_batch_complete(Batch *b, BatchItem *item)
{
	item->result = invoke_complete(&item->call, &item->usage, &b->options);
	/* the result holds what we need of the response */
	if (item->call.response.body != NULL)
		pfree(item->call.response.body);
	item->call.response.body = NULL;
}

/*
 * bedrock_invoke_batch
 *		SQL: bedrock_invoke_batch(model text, bodies jsonb[], options jsonb
 *		DEFAULT NULL) RETURNS TABLE(ord int, response jsonb).
 *
 * bedrock_invoke for every element of bodies, concurrently as
 * bedrock_chat_batch runs its prompts: one row per element in storage
 * order, NULL for a NULL body (or a NULL model), failures as on_error says
 * ("json" unless set).  Every body is checked to be a JSON object before
 * anything is sent.
 */
Datum
bedrock_invoke_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Batch		b = {0};

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	batch_begin(fcinfo, &b, "bedrock_invoke_batch", JSONBOID, 2, INVOKE_FLAGS);

	for (int i = 0; i < b.n; i++)
	{
		char	   *body;
		size_t		body_len;

		if (!batch_item_begin(&b, i))
			continue;
		body = native_body(DatumGetJsonbP(b.inputs[i]), "bedrock_invoke_batch",
						   i + 1, &body_len);
		invoke_prepare(&b.items[i].call, &b.items[i].usage, b.model, body, body_len,
					   &b.options);
		if (b.options.guardrail_identifier != NULL)
			invoke_guardrail_headers(&b.items[i].call, b.options.guardrail_identifier,
									 b.options.guardrail_version);
	}
	b.complete = invoke_batch_complete;

	batch_run_and_return(rsinfo, &b);
	PG_RETURN_NULL();
}
