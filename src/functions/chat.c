/*-------------------------------------------------------------------------
 *
 * chat.c
 *	  One Converse call, returned as jsonb: bedrock_chat(model, prompt,
 *	  system, options) builds the request from a prompt,
 *	  bedrock_converse(model, request, options) sends the caller's own.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/chat.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "chat.h"
#include "chat_options.h"
#include "converse.h"
#include "converse_features.h"
#include "inflight_calls.h"
#include "invoke_model.h"
#include "runtime.h"
#include "usage.h"

PG_FUNCTION_INFO_V1(bedrock_chat);
PG_FUNCTION_INFO_V1(bedrock_converse);

/*
 * append_attempts_and_latency
 *		attempts, client latency and, when the shared rate limiter held the
 *		call back, the time it waited (part of the latency).
 */
static void
append_attempts_and_latency(StringInfo out, const BedrockCall *call)
{
	appendStringInfo(out, ", \"attempts\": %d, \"latency_ms\": %.0f",
					 call->attempts, call->latency_ms);
	if (call->rate_limited_ms > 0)
		appendStringInfo(out, ", \"rate_limited_ms\": %.0f",
						 call->rate_limited_ms);
}

/*
 * chat_append_call_facts
 *		The members every successful result carries: model, request id,
 *		attempts, client latency.
 */
void
chat_append_call_facts(StringInfo out, const BedrockCall *call)
{
	const char *rid = http_response_header(&call->response, "x-amzn-RequestId");

	appendStringInfoString(out, ", \"model\": ");
	json_append_string(out, call->model);
	appendStringInfoString(out, ", \"request_id\": ");
	if (rid)
		json_append_string(out, rid);
	else
		appendStringInfoString(out, "null");
	append_attempts_and_latency(out, call);
}

/*
 * chat_failure_result
 *		What a failed call returns under on_error: raises for "raise",
 *		NULL for "null", the error object for "json".
 */
Jsonb *
chat_failure_result(const BedrockCall *call, OnErrorMode on_error)
{
	StringInfoData out;

	if (on_error == ON_ERROR_RAISE)
		aws_error_raise(&call->error, call->operation, call->model, call->attempts);
	if (on_error == ON_ERROR_NULL)
		return NULL;

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"error\": ");
	aws_error_append_json(&out, &call->error);
	appendStringInfoString(&out, ", \"model\": ");
	json_append_string(&out, call->model);
	append_attempts_and_latency(&out, call);
	appendStringInfoChar(&out, '}');
	return json_text_to_jsonb(out.data);
}

/*
 * chat_result
 *		Turn a successful Converse response into our result object, or into
 *		a failure when the body is not a Converse response.
 */
static Jsonb *
chat_result(BedrockCall *call, const ChatOptions *opts, Jsonb *response)
{
	StringInfoData members;

	/* every member is appended as ", \"key\": value" */
	initStringInfo(&members);
	if (!converse_append_result(&members, response))
		elog(ERROR, "Converse response without output");	/* checked before */
	chat_append_call_facts(&members, call);
	if (opts->raw)
	{
		appendStringInfoString(&members, ", \"response\": ");
		json_append_jsonb(&members, &response->root);
	}
	return json_text_to_jsonb(psprintf("{%s}", members.data + 2));
}

/*
 * chat_prepare_body
 *		Set up a Converse call to model with the given request body (UTF-8
 *		JSON, kept by reference), and start its usage record.
 */
void
chat_prepare_body(BedrockCall *call, UsageRecord *usage, const char *model,
				  char *body, size_t body_len, const ChatOptions *opts)
{
	runtime_call_prepare(call, usage, "Converse", "converse", "converse", model,
						 body, body_len, opts);
}

/*
 * chat_prepare
 *		Set up a Converse call of prompt (non-empty; system may be NULL) to
 *		model, and start its usage record.
 */
void
chat_prepare(BedrockCall *call, UsageRecord *usage, const char *model,
			 const char *prompt, const char *system, const ChatOptions *opts)
{
	size_t		len;
	char	   *body = converse_build_body(prompt, system, opts, &len);

	chat_prepare_body(call, usage, model, body, len, opts);
}

/*
 * chat_interrupted
 *		Submit the usage record of a call that an ERROR (a cancel, say)
 *		interrupted: the tokens may be billed all the same.  An ERROR while
 *		credentials were resolved for an attempt (none found, half a key
 *		pair) means that attempt was never sent: CredentialsUnavailable,
 *		with the attempts actually sent.  The call is no longer in flight.
 *		For PG_CATCH blocks; it does not raise.
 */
void
chat_interrupted(BedrockCall *call, UsageRecord *usage)
{
	const char *code = "Interrupted";

	if (geterrcode() == ERRCODE_QUERY_CANCELED)
		code = "Cancelled";
	else if (call->signing)
		code = "CredentialsUnavailable";
	inflight_call_end(usage);
	usage_record_finish(usage, call, code);
	usage_record_submit(usage);
}

/*
 * chat_run_call
 *		Make a prepared call, registered in flight while it is under way (so
 *		that even a FATAL leaves its usage record); an ERROR meanwhile (a
 *		cancel) submits the usage record before it goes on.
 */
void
chat_run_call(BedrockCall *call, UsageRecord *usage)
{
	PG_TRY();
	{
		inflight_call_begin(call, usage);
		bedrock_runtime_call(call);
		inflight_call_end(usage);
	}
	PG_CATCH();
	{
		chat_interrupted(call, usage);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * chat_finish_call
 *		A call is over: check the response, settle its tokens and submit
 *		the usage record.  Returns the parsed Converse response, or NULL
 *		with call->ok false and call->error set for a failure (a body that
 *		is not a Converse response is a failure of this call only).  opts
 *		says whether the call asked for a guardrail (the usage record's
 *		guardrail_action is then NONE when it let the call through).
 */
Jsonb *
chat_finish_call(BedrockCall *call, UsageRecord *usage, const ChatOptions *opts)
{
	Jsonb	   *response = NULL;

	if (call->ok)
	{
		const char *why = NULL;

		/* whatever the body holds, a failure of this call only */
		response = json_parse_untrusted(call->response.body,
										call->response.body_len, &why);
		if (response == NULL || !converse_has_output(response))
		{
			call->ok = false;
			aws_error_malformed(&call->response,
								response == NULL ? why
								: "the response has no output message",
								&call->error);
			response = NULL;
		}
		else
		{
			const char *action;

			converse_fill_usage(response, usage);
			action = converse_guardrail_action(response,
											   opts->guardrail_identifier != NULL);
			if (action != NULL)
				strlcpy(usage->guardrail_action, action,
						sizeof(usage->guardrail_action));
		}
		bedrock_call_settle_tokens(call, usage->total_tokens);
	}
	usage_record_finish(usage, call, call->ok ? NULL : call->error.code);
	usage_record_submit(usage);
	return response;
}

/*
 * chat_complete
 *		A call is over: check the response, submit the usage record, and
 *		return the result, or what on_error says for a failure (which may be
 *		to raise).
 */
Jsonb *
chat_complete(BedrockCall *call, UsageRecord *usage, const ChatOptions *opts)
{
	Jsonb	   *response = chat_finish_call(call, usage, opts);

	if (response != NULL)
		return chat_result(call, opts, response);
	return chat_failure_result(call, opts->on_error);
}

/*
 * chat_check_prompt
 *		An empty prompt is a caller's mistake, refused before any call.
 */
void
chat_check_prompt(const char *prompt)
{
	if (prompt[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("prompt must not be empty"),
				 errhint("Pass NULL to skip a row without calling Bedrock.")));
}

/*
 * chat_single_begin
 *		What the single-call functions start with: a private memory context
 *		(made current), so that a call over millions of rows keeps no
 *		response bodies around, the options of argument options_arg parsed
 *		for funcname under flags, and the model of argument 0, checked.
 */
void
chat_single_begin(FunctionCallInfo fcinfo, SingleCall *sc, const char *funcname,
		   int options_arg, int flags)
{
	sc->callcxt = AllocSetContextCreate(CurrentMemoryContext, "bedrock_fdw call",
										ALLOCSET_DEFAULT_SIZES);
	sc->outercxt = MemoryContextSwitchTo(sc->callcxt);
	chat_options_parse(PG_ARGISNULL(options_arg) ? NULL : PG_GETARG_JSONB_P(options_arg),
					   funcname, flags, &sc->options);
	sc->model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bedrock_validate_model_id(sc->model);
}

/*
 * chat_single_return
 *		Return result (NULL: SQL NULL) as the function's result, copied out
 *		of the call's memory context, which is deleted.
 */
Datum
chat_single_return(FunctionCallInfo fcinfo, SingleCall *sc, Jsonb *result)
{
	MemoryContextSwitchTo(sc->outercxt);
	if (result != NULL)
		result = (Jsonb *) PG_DETOAST_DATUM_COPY(JsonbPGetDatum(result));
	MemoryContextDelete(sc->callcxt);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

/*
 * run_single_call
 *		Make the prepared call, registered in flight while it is under way
 *		(so that even a FATAL leaves its usage record), and return its
 *		result as the function's result.  Raises as on_error says.
 */
static Datum
run_single_call(FunctionCallInfo fcinfo, SingleCall *sc)
{
	chat_run_call(&sc->call, &sc->usage);
	return chat_single_return(fcinfo, sc,
							  chat_complete(&sc->call, &sc->usage, &sc->options));
}

/*
 * bedrock_chat
 *		SQL: bedrock_chat(model text, prompt text, system text DEFAULT NULL,
 *		options jsonb DEFAULT NULL) RETURNS jsonb.
 *
 * NULL model or prompt: NULL, without calling Bedrock.
 */
Datum
bedrock_chat(PG_FUNCTION_ARGS)
{
	SingleCall	sc;
	char	   *prompt;
	char	   *system = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	chat_single_begin(fcinfo, &sc, "bedrock_chat", 3, 0);
	prompt = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		system = text_to_cstring(PG_GETARG_TEXT_PP(2));
	chat_check_prompt(prompt);
	if (system != NULL && system[0] == '\0')
		system = NULL;

	chat_prepare(&sc.call, &sc.usage, sc.model, prompt, system, &sc.options);
	return run_single_call(fcinfo, &sc);
}

/*
 * bedrock_converse
 *		SQL: bedrock_converse(model text, request jsonb, options jsonb
 *		DEFAULT NULL) RETURNS jsonb.
 *
 * Sends request, the body of a Converse request (messages, system,
 * inferenceConfig, toolConfig, …), as it is, and returns bedrock_chat's
 * result with the whole response as "response".  Options are those of
 * the call only (timeout_ms, max_attempts, on_error).  NULL model or
 * request: NULL, without calling Bedrock.
 */
Datum
bedrock_converse(PG_FUNCTION_ARGS)
{
	SingleCall	sc;
	char	   *body;
	size_t		body_len;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	chat_single_begin(fcinfo, &sc, "bedrock_converse", 2, CHAT_OPTIONS_RAW_REQUEST);
	body = converse_raw_body(PG_GETARG_JSONB_P(1), "bedrock_converse", 0, &body_len);

	chat_prepare_body(&sc.call, &sc.usage, sc.model, body, body_len, &sc.options);
	return run_single_call(fcinfo, &sc);
}
