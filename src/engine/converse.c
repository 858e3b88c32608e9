/*-------------------------------------------------------------------------
 *
 * converse.c
 *	  Compose a Converse request from a prompt, an optional system prompt
 *	  and the chat options (or take the caller's own), and read the answer
 *	  out of a Converse response.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/converse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "bedrock_fdw.h"
#include "converse.h"
#include "converse_features.h"

/*
 * append_inference_config
 *		The inferenceConfig member, when any of its options is set.
 */
static void
append_inference_config(StringInfo buf, const ChatOptions *opts)
{
	const char *sep = "";
	ListCell   *lc;

	if (opts->max_tokens == 0 && !opts->has_temperature && !opts->has_top_p &&
		opts->stop_sequences == NIL)
		return;

	appendStringInfoString(buf, ",\"inferenceConfig\":{");
	if (opts->max_tokens > 0)
	{
		appendStringInfo(buf, "\"maxTokens\":%d", opts->max_tokens);
		sep = ",";
	}
	if (opts->has_temperature)
	{
		appendStringInfo(buf, "%s\"temperature\":%.17g", sep, opts->temperature);
		sep = ",";
	}
	if (opts->has_top_p)
	{
		appendStringInfo(buf, "%s\"topP\":%.17g", sep, opts->top_p);
		sep = ",";
	}
	if (opts->stop_sequences != NIL)
	{
		appendStringInfo(buf, "%s\"stopSequences\":[", sep);
		foreach(lc, opts->stop_sequences)
		{
			if (foreach_current_index(lc) > 0)
				appendStringInfoChar(buf, ',');
			json_append_string(buf, (const char *) lfirst(lc));
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoChar(buf, '}');
}

/* A request body built in the server encoding, as UTF-8; *len its length. */
static char *
body_in_utf8(StringInfo buf, size_t *len)
{
	char	   *utf8 = server_to_utf8(buf->data, buf->len);

	*len = (utf8 == buf->data) ? (size_t) buf->len : strlen(utf8);
	return utf8;
}

/*
 * converse_build_body
 *		The Converse request body as UTF-8 JSON; *len gets its length.
 *		prompt is the one user message; system may be NULL.
 */
char *
converse_build_body(const char *prompt, const char *system,
					const ChatOptions *opts, size_t *len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"messages\":[{\"role\":\"user\",\"content\":[");
	/* documents and images first, then the prompt about them */
	converse_append_content_blocks(&buf, opts);
	appendStringInfoString(&buf, "{\"text\":");
	json_append_string(&buf, prompt);
	appendStringInfoString(&buf, "}]}]");
	if (system != NULL)
	{
		appendStringInfoString(&buf, ",\"system\":[{\"text\":");
		json_append_string(&buf, system);
		appendStringInfoChar(&buf, '}');
		/* the system prompt is the prefix shared by a batch: cache it */
		if (opts->cache_ttl != NULL)
		{
			appendStringInfoChar(&buf, ',');
			converse_append_cache_point(&buf, opts->cache_ttl);
		}
		appendStringInfoChar(&buf, ']');
	}
	append_inference_config(&buf, opts);
	converse_append_features(&buf, opts);
	if (opts->additional_model_request_fields != NULL)
	{
		appendStringInfoString(&buf, ",\"additionalModelRequestFields\":");
		json_append_jsonb(&buf, opts->additional_model_request_fields);
	}
	if (opts->request_members != NULL)	/* an extraction's toolConfig or outputConfig */
		appendStringInfoString(&buf, opts->request_members);
	appendStringInfoChar(&buf, '}');
	return body_in_utf8(&buf, len);
}

/*
 * converse_raw_body
 *		The Converse request body given by the caller of bedrock_converse
 *		(a JSON object: messages, system, inferenceConfig, toolConfig, …),
 *		as UTF-8 JSON; *len gets its length.  Raises 22023, naming funcname
 *		and the request's position (0: a single request), for anything but
 *		an object.  What is in the object is Bedrock's to judge, but for
 *		requestMetadata and guardrailConfig: our metadata keys are merged
 *		in and the mandatory guardrail is put in (converse_raw_with_policy).
 */
char *
converse_raw_body(Jsonb *request, const char *funcname, int position,
				  size_t *len)
{
	StringInfoData buf;

	if (JB_ROOT_IS_SCALAR(request) || !JB_ROOT_IS_OBJECT(request))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 position > 0 ?
				 errmsg("request %d of %s must be a JSON object", position, funcname) :
				 errmsg("the request of %s must be a JSON object", funcname),
				 errhint("Pass the body of a Converse request, for example '{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"Hello\"}]}]}'.")));
	initStringInfo(&buf);
	appendStringInfoString(&buf, converse_raw_with_policy(request, funcname, position));
	return body_in_utf8(&buf, len);
}

/*
 * collect_content
 *		Append to text the "text" blocks of the message content, and to
 *		reasoning the reasoningContent text; returns false when the content
 *		is not an array.
 */
static bool
collect_content(JsonbContainer *content, StringInfo text, StringInfo reasoning)
{
	int			n;
	int			i;

	if (content == NULL)
		return false;
	n = JsonContainerSize(content);
	for (i = 0; i < n; i++)
	{
		JsonbValue *block = getIthJsonbValueFromContainer(content, i);
		JsonbContainer *bc;
		char	   *s;
		JsonbContainer *rc;

		if (block == NULL || block->type != jbvBinary)
			continue;
		bc = block->val.binary.data;
		if ((s = json_get_string(bc, "text")) != NULL)
			appendStringInfoString(text, s);
		else if ((rc = json_get_object(json_get_object(bc, "reasoningContent"),
									   "reasoningText")) != NULL &&
				 (s = json_get_string(rc, "text")) != NULL)
			appendStringInfoString(reasoning, s);
	}
	return true;
}

static void
append_count(StringInfo out, JsonbContainer *usage, const char *aws_key,
			 const char *our_key, bool always)
{
	int64		n;

	if (json_get_int64(usage, aws_key, &n))
		appendStringInfo(out, ", \"%s\": " INT64_FORMAT, our_key, n);
	else if (always)
		appendStringInfo(out, ", \"%s\": null", our_key);
}

/*
 * converse_append_result
 *		Append the members "text", "stop_reason", "usage",
 *		"service_latency_ms" and, when present, "reasoning" (each preceded
 *		by a comma) read from a Converse response.  Returns false, having
 *		appended nothing, when the response lacks output.message.content.
 */
bool
converse_append_result(StringInfo out, Jsonb *response)
{
	JsonbContainer *root = &response->root;
	JsonbContainer *message = json_get_object(json_get_object(root, "output"), "message");
	JsonbContainer *usage = json_get_object(root, "usage");
	StringInfoData text;
	StringInfoData reasoning;
	char	   *stop_reason;
	int64		latency;
	char	   *tier;

	initStringInfo(&text);
	initStringInfo(&reasoning);
	if (!collect_content(json_get_array(message, "content"), &text, &reasoning))
		return false;

	appendStringInfoString(out, ", \"text\": ");
	json_append_string(out, text.data);
	if (reasoning.len > 0)
	{
		appendStringInfoString(out, ", \"reasoning\": ");
		json_append_string(out, reasoning.data);
	}
	stop_reason = json_get_string(root, "stopReason");
	appendStringInfoString(out, ", \"stop_reason\": ");
	if (stop_reason)
		json_append_string(out, stop_reason);
	else
		appendStringInfoString(out, "null");

	appendStringInfoString(out, ", \"usage\": {");
	/* skip the leading ", " of the first member */
	{
		StringInfoData members;

		initStringInfo(&members);
		append_count(&members, usage, "inputTokens", "input_tokens", true);
		append_count(&members, usage, "outputTokens", "output_tokens", true);
		append_count(&members, usage, "totalTokens", "total_tokens", true);
		append_count(&members, usage, "cacheReadInputTokens", "cache_read_input_tokens", false);
		append_count(&members, usage, "cacheWriteInputTokens", "cache_write_input_tokens", false);
		appendStringInfoString(out, members.data + 2);
	}
	appendStringInfoChar(out, '}');

	if (json_get_int64(json_get_object(root, "metrics"), "latencyMs", &latency))
		appendStringInfo(out, ", \"service_latency_ms\": " INT64_FORMAT, latency);
	/* the tier that served the call, when Bedrock says */
	if ((tier = json_get_string(json_get_object(root, "serviceTier"), "type")) != NULL)
	{
		appendStringInfoString(out, ", \"service_tier\": ");
		json_append_string(out, tier);
	}
	converse_append_guardrail_result(out, response);
	return true;
}

/*
 * converse_has_output
 *		Whether a response is a Converse response: it has
 *		output.message.content.
 */
bool
converse_has_output(Jsonb *response)
{
	return json_get_array(json_get_object(json_get_object(&response->root, "output"),
										  "message"), "content") != NULL;
}

/*
 * converse_fill_usage
 *		Token counts, service latency, guardrail intervention and service
 *		tier of a Converse response, into a usage record (unknown values
 *		stay -1, or empty).
 */
void
converse_fill_usage(Jsonb *response, UsageRecord *rec)
{
	JsonbContainer *root = &response->root;
	JsonbContainer *usage = json_get_object(root, "usage");
	char	   *stop_reason = json_get_string(root, "stopReason");
	char	   *tier;
	int64		n;

	if (json_get_int64(usage, "inputTokens", &n))
		rec->input_tokens = n;
	if (json_get_int64(usage, "outputTokens", &n))
		rec->output_tokens = n;
	if (json_get_int64(usage, "totalTokens", &n))
		rec->total_tokens = n;
	if (json_get_int64(usage, "cacheReadInputTokens", &n))
		rec->cache_read_input_tokens = n;
	if (json_get_int64(usage, "cacheWriteInputTokens", &n))
		rec->cache_write_input_tokens = n;
	if (json_get_int64(json_get_object(root, "metrics"), "latencyMs", &n))
		rec->service_latency_ms = n;
	if (stop_reason != NULL && strcmp(stop_reason, "guardrail_intervened") == 0)
		strlcpy(rec->guardrail_action, "INTERVENED", sizeof(rec->guardrail_action));
	/* the tier that served the call, which the usage views price */
	if ((tier = json_get_string(json_get_object(root, "serviceTier"), "type")) != NULL)
		text_copy_clipped(rec->service_tier, sizeof(rec->service_tier), tier);
}
