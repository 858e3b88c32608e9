/*-------------------------------------------------------------------------
 *
 * count_tokens.c
 *	  Know the cost first: bedrock_count_tokens(model, prompt, system,
 *	  options) asks Bedrock's CountTokens (POST /model/{modelId}/count-tokens)
 *	  how many input tokens the Converse request bedrock_chat would send
 *	  holds, and bedrock.count_tokens_model(model) says which foundation
 *	  model CountTokens counts for a model id (NULL: none).
 *
 * CountTokens is free: a call leaves a usage row of operation
 * "count_tokens" (who asked, attempts, errors, request id) whose token
 * columns are NULL, so that no usage view prices or sums it, and gives the
 * rate limiter's token reservation back.  It goes through the engine like
 * every other call: signing, retries, the shared limiter's request budget,
 * options.server, cancel.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/count_tokens.c
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
#include "converse.h"
#include "invoke_model.h"
#include "rate_limiter.h"
#include "runtime.h"

PG_FUNCTION_INFO_V1(bedrock_count_tokens);
PG_FUNCTION_INFO_V1(bedrock_count_tokens_model);

#define FUNCNAME "bedrock_count_tokens"

/* The members of a Converse request that CountTokens' converse input takes. */
static const char *const counted_members[] = {
	"messages", "system", "toolConfig", "additionalModelRequestFields",
};

/* The one provider whose models CountTokens counts (aws-protocol.md 1.9). */
#define COUNT_TOKENS_PROVIDER "anthropic."

/*
 * foundation_model_of
 *		The foundation model id CountTokens would take for model: model
 *		itself for a foundation model id or ARN, the model of a cross-region
 *		inference profile (id or ARN), or NULL when model names no
 *		foundation model (application inference profile, provisioned or
 *		custom model).  *is_profile tells whether model was a profile.
 */
static const char *
foundation_model_of(const char *model, bool *is_profile)
{
	const char *base = rate_limit_base_model(model);

	*is_profile = false;
	if (strncmp(model, "arn:", 4) == 0)
	{
		if (base == model)
			return NULL;		/* not a foundation model or a profile */
		*is_profile = (strstr(model, ":foundation-model/") == NULL);
		return base;
	}
	*is_profile = (base != model);
	return base;
}

/*
 * check_countable_model
 *		CountTokens takes foundation model ids only: an inference profile,
 *		or an ARN that names no foundation model, is refused before anything
 *		is sent, naming the id to count with where there is one.
 */
static void
check_countable_model(const char *model)
{
	bool		is_profile;
	const char *base = foundation_model_of(model, &is_profile);

	if (base == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s takes a foundation model id, not \"%s\"", FUNCNAME, model),
				 errdetail("CountTokens counts for foundation models only, not for application inference profiles or provisioned, custom or imported models."),
				 errhint("Count with the id of the foundation model behind it, such as \"anthropic.claude-3-haiku-20240307-v1:0\".")));
	if (is_profile)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s takes a foundation model id, not the inference profile \"%s\"",
						FUNCNAME, model),
				 errdetail("CountTokens counts for foundation models only."),
				 errhint("Count with the model id \"%s\": the profile only routes requests to it.", base)));
}

/*
 * count_tokens_body
 *		The CountTokens request, {"input": {"converse": {...}}}, as UTF-8
 *		JSON (*len its length): the members of the Converse request that
 *		bedrock_chat would send for prompt, system and opts (converse.c
 *		builds it) which CountTokens' converse input takes.  Inference
 *		settings and the like change nothing in the count and are left out.
 */
static char *
count_tokens_body(const char *prompt, const char *system,
				  const ChatOptions *opts, size_t *len)
{
	size_t		converse_len;
	char	   *converse = converse_build_body(prompt, system, opts, &converse_len);
	const char *why = NULL;
	Jsonb	   *request = json_parse_untrusted(converse, converse_len, &why);
	StringInfoData buf;
	const char *sep = "";
	char	   *utf8;

	/* what converse.c composed, read back: only options nested too deep fail */
	if (request == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the request of %s cannot be composed", FUNCNAME),
				 errdetail("Reading it back failed: %s.", why)));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"input\":{\"converse\":{");
	for (int i = 0; i < lengthof(counted_members); i++)
	{
		JsonbValue	value;
		JsonbValue *v = json_get_key(&request->root, counted_members[i], &value);

		if (v == NULL)
			continue;
		appendStringInfo(&buf, "%s\"%s\":", sep, counted_members[i]);
		if (v->type == jbvBinary)
			json_append_jsonb(&buf, v->val.binary.data);
		else
			elog(ERROR, "Converse request member \"%s\" is not a container",
				 counted_members[i]);
		sep = ",";
	}
	appendStringInfoString(&buf, "}}}");
	utf8 = server_to_utf8(buf.data, buf.len);
	*len = (utf8 == buf.data) ? (size_t) buf.len : strlen(utf8);
	return utf8;
}

/*
 * read_count
 *		invoke_finish's reader of a CountTokens response: the inputTokens
 *		count into *(int32 *) arg; why the body is not a CountTokens
 *		response otherwise.
 */
static const char *
read_count(Jsonb *response, void *arg)
{
	int64		n;

	if (JB_ROOT_IS_SCALAR(response) || !JB_ROOT_IS_OBJECT(response) ||
		!json_get_int64(&response->root, "inputTokens", &n))
		return "the response has no inputTokens count";
	if (n < 0 || n > PG_INT32_MAX)
		return "the inputTokens count is out of range";
	*(int32 *) arg = (int32) n;
	return NULL;
}

/*
 * raise_count_failure
 *		Raise a failed CountTokens call.  A ValidationException for a model
 *		of a provider without CountTokens is reported as what it is: the
 *		model cannot count tokens (0A000), with where to go instead.
 */
static void
raise_count_failure(const BedrockCall *call)
{
	AwsError	err = call->error;
	bool		is_profile;
	const char *base = foundation_model_of(call->model, &is_profile);

	if (err.code != NULL && strcmp(err.code, "ValidationException") == 0 &&
		base != NULL &&
		strncmp(base, COUNT_TOKENS_PROVIDER, strlen(COUNT_TOKENS_PROVIDER)) != 0)
	{
		err.sqlstate = ERRCODE_FEATURE_NOT_SUPPORTED;
		err.hint = "CountTokens counts for Anthropic Claude models; bedrock_enrich_estimate estimates the input tokens of other models from the length of the text.";
	}
	aws_error_raise(&err, call->operation, call->model, call->attempts);
}

/*
 * bedrock_count_tokens
 *		SQL: bedrock_count_tokens(model text, prompt text, system text
 *		DEFAULT NULL, options jsonb DEFAULT NULL) RETURNS int.
 *
 * The input tokens of the Converse request bedrock_chat(model, prompt,
 * system, options) would send, as CountTokens counts them; nothing is
 * generated and nothing is billed.  options are bedrock_chat's (those that
 * shape the request count, the call's own apply), so the same options
 * object serves both; on_error "null" returns NULL for a failed call,
 * "json" is refused (an int cannot hold an error object).  NULL model or
 * prompt: NULL, without calling Bedrock.
 */
Datum
bedrock_count_tokens(PG_FUNCTION_ARGS)
{
	MemoryContext callcxt;
	MemoryContext outercxt;
	ChatOptions options;
	BedrockCall call;
	UsageRecord usage;
	char	   *model;
	char	   *prompt;
	char	   *system = NULL;
	char	   *body;
	size_t		body_len;
	int32		count = 0;
	bool		ok;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	callcxt = AllocSetContextCreate(CurrentMemoryContext, "bedrock_fdw call",
									ALLOCSET_DEFAULT_SIZES);
	outercxt = MemoryContextSwitchTo(callcxt);
	chat_options_parse(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3),
					   FUNCNAME, 0, &options);
	if (options.on_error == ON_ERROR_JSON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"on_error\" of %s cannot be \"json\"", FUNCNAME),
				 errdetail("A token count is an integer, which cannot hold an error object."),
				 errhint("Use \"null\", and find the failures in bedrock.usage_log.")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bedrock_validate_model_id(model);
	check_countable_model(model);
	prompt = text_to_cstring(PG_GETARG_TEXT_PP(1));
	chat_check_prompt(prompt);
	if (!PG_ARGISNULL(2))
		system = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (system != NULL && system[0] == '\0')
		system = NULL;			/* as bedrock_chat sends it */

	body = count_tokens_body(prompt, system, &options, &body_len);
	runtime_call_prepare(&call, &usage, "CountTokens", "count-tokens",
						 "count_tokens", model, body, body_len, &options);
	chat_run_call(&call, &usage);
	/* counting uses no model tokens: give the limiter's reservation back */
	if (call.ok)
		bedrock_call_settle_tokens(&call, 0);
	ok = invoke_finish(&call, &usage, read_count, &count) != NULL;
	if (!ok && options.on_error == ON_ERROR_RAISE)
		raise_count_failure(&call);

	MemoryContextSwitchTo(outercxt);
	MemoryContextDelete(callcxt);
	if (!ok)
		PG_RETURN_NULL();
	PG_RETURN_INT32(count);
}

/*
 * bedrock_count_tokens_model
 *		SQL: bedrock.count_tokens_model(model text) RETURNS text.
 *
 * The foundation model id whose tokens CountTokens counts for a call on
 * model: model itself, or the model a cross-region inference profile (id
 * or ARN) routes to; NULL when that model's provider offers no CountTokens
 * (only Anthropic's models do) or model names no foundation model.  Makes
 * no call.  bedrock_enrich_estimate counts with it.
 */
Datum
bedrock_count_tokens_model(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		is_profile;
	const char *base = foundation_model_of(model, &is_profile);

	if (base == NULL ||
		strncmp(base, COUNT_TOKENS_PROVIDER, strlen(COUNT_TOKENS_PROVIDER)) != 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(base));
}
