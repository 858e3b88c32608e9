/*-------------------------------------------------------------------------
 *
 * apply_guardrail.c
 *	  bedrock_apply_guardrail(guardrail_identifier, guardrail_version,
 *	  content, source, options): a text through a Bedrock guardrail with
 *	  the ApplyGuardrail operation (POST /guardrail/{id}/version/{v}/apply),
 *	  without calling a model.  A row filter (action) and a PII masker
 *	  (output) over a table.
 *
 * The call goes through the engine as every other: signed, retried,
 * within the shared rate limiter (keyed by the guardrail), cancellable,
 * with a usage row of operation 'guardrail' whose guardrail_action says
 * INTERVENED or NONE.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/apply_guardrail.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "bedrock_fdw.h"
#include "chat.h"
#include "chat_options.h"
#include "converse_features.h"
#include "invoke_model.h"
#include "runtime.h"
#include "sigv4.h"
#include "usage.h"

PG_FUNCTION_INFO_V1(bedrock_apply_guardrail);

/*
 * guardrail_result
 *		Our result of an ApplyGuardrail response: action, action_reason,
 *		output (the guardrail's text when it intervened, else the content
 *		as given: always the text that may be used), outputs, assessments,
 *		usage, and the call's facts.  NULL when the response is not an
 *		ApplyGuardrail response.
 */
static Jsonb *
guardrail_result(BedrockCall *call, Jsonb *response, const char *content,
				 UsageRecord *usage)
{
	JsonbContainer *root = &response->root;
	char	   *action = json_get_string(root, "action");
	char	   *reason = json_get_string(root, "actionReason");
	JsonbContainer *outputs = json_get_array(root, "outputs");
	JsonbContainer *assessments = json_get_array(root, "assessments");
	JsonbContainer *units = json_get_object(root, "usage");
	StringInfoData out;
	StringInfoData text;
	bool		intervened;

	if (action == NULL || outputs == NULL)
		return NULL;
	intervened = strcmp(action, "GUARDRAIL_INTERVENED") == 0;
	strlcpy(usage->guardrail_action, intervened ? "INTERVENED" : "NONE",
			sizeof(usage->guardrail_action));

	initStringInfo(&text);
	for (int i = 0; i < (int) JsonContainerSize(outputs); i++)
	{
		JsonbValue *o = getIthJsonbValueFromContainer(outputs, i);
		char	   *s;

		if (o != NULL && o->type == jbvBinary &&
			(s = json_get_string(o->val.binary.data, "text")) != NULL)
			appendStringInfoString(&text, s);
	}

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"action\": ");
	json_append_string(&out, action);
	appendStringInfoString(&out, ", \"action_reason\": ");
	if (reason)
		json_append_string(&out, reason);
	else
		appendStringInfoString(&out, "null");
	appendStringInfoString(&out, ", \"output\": ");
	json_append_string(&out, intervened ? text.data : content);
	appendStringInfoString(&out, ", \"outputs\": ");
	json_append_jsonb(&out, outputs);
	appendStringInfoString(&out, ", \"assessments\": ");
	if (assessments)
		json_append_jsonb(&out, assessments);
	else
		appendStringInfoString(&out, "[]");
	appendStringInfoString(&out, ", \"usage\": ");
	if (units)
		json_append_jsonb(&out, units);
	else
		appendStringInfoString(&out, "null");
	chat_append_call_facts(&out, call);
	appendStringInfoChar(&out, '}');
	return json_text_to_jsonb(out.data);
}

/*
 * bedrock_apply_guardrail
 *		SQL: bedrock_apply_guardrail(guardrail_identifier text,
 *		guardrail_version text, content text, source text DEFAULT 'INPUT',
 *		options jsonb DEFAULT NULL) RETURNS jsonb.
 *
 * NULL content: NULL, without calling Bedrock.  Options: timeout_ms,
 * max_attempts, on_error, server.
 */
Datum
bedrock_apply_guardrail(PG_FUNCTION_ARGS)
{
	MemoryContext callcxt;
	MemoryContext outercxt;
	ChatOptions opts;
	BedrockCall call;
	UsageRecord usage;
	char	   *id;
	char	   *version;
	char	   *content;
	char	   *source;
	char	   *id_utf8;
	StringInfoData body;
	char	   *body_utf8;
	Jsonb	   *result = NULL;

	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("guardrail_identifier and guardrail_version of bedrock_apply_guardrail must not be null")));

	callcxt = AllocSetContextCreate(CurrentMemoryContext, "bedrock_fdw guardrail call",
									ALLOCSET_DEFAULT_SIZES);
	outercxt = MemoryContextSwitchTo(callcxt);
	chat_options_parse(PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4),
					   "bedrock_apply_guardrail",
					   CHAT_OPTIONS_RAW_REQUEST | CHAT_OPTIONS_GUARDRAIL, &opts);

	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = text_to_cstring(PG_GETARG_TEXT_PP(1));
	content = text_to_cstring(PG_GETARG_TEXT_PP(2));
	source = PG_ARGISNULL(3) ? "INPUT" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!guardrail_identifier_valid(id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid guardrail_identifier of bedrock_apply_guardrail"),
				 errdetail("A guardrail identifier is an id of lower-case letters and digits, or a guardrail ARN, of at most 2048 characters.")));
	if (!guardrail_version_valid(version))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid guardrail_version of bedrock_apply_guardrail: \"%.32s\"", version),
				 errhint("A guardrail version is a number from 1 to 99999999, or \"DRAFT\".")));
	if (strcmp(source, "INPUT") != 0 && strcmp(source, "OUTPUT") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid source of bedrock_apply_guardrail: \"%.32s\"", source),
				 errhint("The source is \"INPUT\" (a prompt) or \"OUTPUT\" (a model's answer).")));
	if (content[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("content of bedrock_apply_guardrail must not be empty"),
				 errhint("Pass NULL to skip a row without calling Bedrock.")));

	initStringInfo(&body);
	appendStringInfo(&body, "{\"source\":\"%s\",\"content\":[{\"text\":{\"text\":", source);
	json_append_string(&body, content);
	appendStringInfoString(&body, "}}]}");
	body_utf8 = server_to_utf8(body.data, body.len);

	runtime_call_prepare(&call, &usage, "ApplyGuardrail", "apply", "guardrail", id,
						 body_utf8, strlen(body_utf8), &opts);
	id_utf8 = server_to_utf8(id, strlen(id));
	call.resource_path = psprintf("/guardrail/%s/version/%s/apply",
								  sigv4_uri_encode(id_utf8, strlen(id_utf8), false),
								  version);

	chat_run_call(&call, &usage);
	if (call.ok)
	{
		const char *why = NULL;
		Jsonb	   *response = json_parse_untrusted(call.response.body,
													call.response.body_len, &why);

		/* whatever the body holds, a failure of this call only */
		if (response != NULL)
			result = guardrail_result(&call, response, content, &usage);
		if (result == NULL)
		{
			call.ok = false;
			aws_error_malformed(&call.response,
								response == NULL ? why
								: "the response has no action and outputs",
								&call.error);
		}
		bedrock_call_settle_tokens(&call, -1);
	}
	usage_record_finish(&usage, &call, call.ok ? NULL : call.error.code);
	usage_record_submit(&usage);
	if (!call.ok)
		result = chat_failure_result(&call, opts.on_error);

	MemoryContextSwitchTo(outercxt);
	if (result != NULL)
		result = (Jsonb *) PG_DETOAST_DATUM_COPY(JsonbPGetDatum(result));
	MemoryContextDelete(callcxt);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}
