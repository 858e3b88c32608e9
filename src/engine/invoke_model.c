/*-------------------------------------------------------------------------
 *
 * invoke_model.c
 *	  The InvokeModel operation, as bedrock_invoke and the embedding
 *	  functions send it: a model-native body, and usage read from the
 *	  X-Amzn-Bedrock-Input-Token-Count, -Output-Token-Count and
 *	  -Invocation-Latency response headers (usage rows of operation
 *	  "invoke").
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/invoke_model.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "invoke_model.h"

/*
 * runtime_call_prepare
 *		Set up a call of operation (for messages; path_suffix on the wire)
 *		to model with body (UTF-8 JSON, kept by reference) under the
 *		options of the call, and start its usage record (usage_operation).
 */
void
runtime_call_prepare(BedrockCall *call, UsageRecord *usage, const char *operation,
					 const char *path_suffix, const char *usage_operation,
					 const char *model, char *body, size_t body_len,
					 const ChatOptions *opts)
{
	memset(call, 0, sizeof(*call));
	call->operation = operation;
	call->path_suffix = path_suffix;
	call->model = model;
	call->body = body;
	call->body_len = body_len;
	call->timeout_ms = opts->timeout_ms;
	call->max_attempts = opts->max_attempts;
	/* the server and identity, checked before anything is under way */
	call->target = bedrock_target_lookup(opts->server, GetUserId());
	usage_record_init(usage, usage_operation, model);
}

/*
 * invoke_prepare
 *		Set up an InvokeModel call to model with body (UTF-8 JSON, kept by
 *		reference), and start its usage record (operation "invoke").
 */
void
invoke_prepare(BedrockCall *call, UsageRecord *usage, const char *model,
			   char *body, size_t body_len, const ChatOptions *opts)
{
	runtime_call_prepare(call, usage, "InvokeModel", "invoke", "invoke", model,
						 body, body_len, opts);
}

/*
 * header_count
 *		A response header holding a count: -1 unless it is all digits (at
 *		most 15 of them).
 */
static int64
header_count(const HttpResponse *resp, const char *name)
{
	const char *v = http_response_header(resp, name);
	size_t		len;

	if (v == NULL)
		return -1;
	len = strlen(v);
	if (len == 0 || len > 15 || strspn(v, "0123456789") != len)
		return -1;
	return (int64) strtoll(v, NULL, 10);
}

/*
 * invoke_fill_usage
 *		Token counts and service latency from the headers of a successful
 *		InvokeModel response, where the usage record does not know them yet
 *		(a count the body stated stays).
 */
void
invoke_fill_usage(const HttpResponse *resp, UsageRecord *usage)
{
	int64		n;

	if (usage->input_tokens < 0)
		usage->input_tokens = header_count(resp, "X-Amzn-Bedrock-Input-Token-Count");
	if (usage->output_tokens < 0)
		usage->output_tokens = header_count(resp, "X-Amzn-Bedrock-Output-Token-Count");
	if ((n = header_count(resp, "X-Amzn-Bedrock-Invocation-Latency")) >= 0)
		usage->service_latency_ms = n;
	if (usage->input_tokens >= 0)
		usage->total_tokens = usage->input_tokens + Max(usage->output_tokens, 0);
}

/*
 * invoke_append_usage
 *		The members ", \"usage\": {...}" and, when known,
 *		", \"service_latency_ms\": n" of a result, from its usage record
 *		(unknown counts are null).
 */
void
invoke_append_usage(StringInfo out, const UsageRecord *usage)
{
	const int64 counts[] = {usage->input_tokens, usage->output_tokens, usage->total_tokens};
	const char *const names[] = {"input_tokens", "output_tokens", "total_tokens"};

	appendStringInfoString(out, ", \"usage\": {");
	for (int i = 0; i < lengthof(counts); i++)
	{
		appendStringInfo(out, "%s\"%s\": ", i > 0 ? ", " : "", names[i]);
		if (counts[i] >= 0)
			appendStringInfo(out, INT64_FORMAT, counts[i]);
		else
			appendStringInfoString(out, "null");
	}
	appendStringInfoChar(out, '}');
	if (usage->service_latency_ms >= 0)
		appendStringInfo(out, ", \"service_latency_ms\": " INT64_FORMAT,
						 usage->service_latency_ms);
}

/*
 * invoke_finish
 *		An InvokeModel call is over.  When it succeeded, its body (untrusted)
 *		is parsed and, when read is not NULL, handed to read(response, arg),
 *		which returns NULL or why the body is not the response expected; a
 *		body that fails either way makes the call a failure (a malformed
 *		response).  Usage from the headers, the rate limiter's estimate
 *		settled, the usage record finished and submitted.  Returns the parsed
 *		response, or NULL for a failed call (call->error says why).
 */
Jsonb *
invoke_finish(BedrockCall *call, UsageRecord *usage,
			  const char *(*read) (Jsonb *response, void *arg), void *arg)
{
	Jsonb	   *response = NULL;

	if (call->ok)
	{
		const char *why = NULL;

		response = json_parse_untrusted(call->response.body,
										call->response.body_len, &why);
		if (response != NULL && read != NULL)
			why = read(response, arg);
		if (why != NULL)
		{
			call->ok = false;
			response = NULL;
			aws_error_malformed(&call->response, why, &call->error);
		}
		else
			invoke_fill_usage(&call->response, usage);
		bedrock_call_settle_tokens(call, usage->total_tokens);
	}
	usage_record_finish(usage, call, call->ok ? NULL : call->error.code);
	usage_record_submit(usage);
	return call->ok ? response : NULL;
}
