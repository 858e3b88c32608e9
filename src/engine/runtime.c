/*-------------------------------------------------------------------------
 *
 * runtime.c
 *	  Send one Bedrock Runtime operation (POST /model/{modelId}/{op}):
 *	  build the URL, sign every attempt with SigV4, retry per the AWS
 *	  standard mode, and correct for clock skew as the SDKs do.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/runtime.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "credentials.h"
#include "rate_limiter.h"
#include "retry.h"
#include "aws_request.h"
#include "runtime.h"
#include "secret_wipe.h"
#include "sigv4.h"

#define MAX_MODEL_ID_LEN 2048

/*
 * bedrock_validate_model_id
 *		Reject a model id that cannot be a Bedrock model id or ARN before it
 *		goes anywhere near a URL: empty, too long, or holding control
 *		characters (CR/LF would split headers in a careless client).
 */
void
bedrock_validate_model_id(const char *model)
{
	const char *p;

	if (model[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model id must not be empty"),
				 errhint("Pass a Bedrock model id such as \"openai.gpt-oss-20b-1:0\", an inference profile id or an ARN.")));
	if (strlen(model) > MAX_MODEL_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model id is too long"),
				 errdetail("Bedrock model ids and ARNs have at most %d characters.", MAX_MODEL_ID_LEN)));
	for (p = model; *p; p++)
	{
		if ((unsigned char) *p < ' ' || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model id contains a control character"),
					 errdetail("Control characters such as carriage return and line feed are never part of a model id.")));
	}
}

/*
 * sign_attempt
 *		Resolve credentials, sign the request for this attempt and return
 *		the curl header lines.  The credentials are wiped before returning.
 */
static List *
sign_attempt(BedrockCall *call, const EndpointUrl *ep, const char *path,
			 const char *invocation, int attempt, int max_attempts)
{
	AwsCredentials creds;
	SigV4Request req = {0};
	SigV4Params params = {0};
	SigV4Result sig;
	List	   *lines = NIL;
	ListCell   *lc;

	bedrock_target_credentials(call->target, &creds);

	req.method = "POST";
	req.path = path;
	req.query = NULL;
	req.headers = list_make3(sigv4_header("host", ep->host_header),
							 sigv4_header("content-type", "application/json"),
							 sigv4_header("accept", "application/json"));
	req.payload = call->body;
	req.payload_len = call->body_len;
	foreach(lc, call->extra_headers)
	{
		const char *line = (const char *) lfirst(lc);
		const char *colon = strchr(line, ':');
		char	   *name = pnstrdup(line, colon - line);

		for (char *c = name; *c; c++)
			*c = pg_ascii_tolower((unsigned char) *c);
		req.headers = lappend(req.headers, sigv4_header(name, colon + 2));
	}

	params.region = call->target->region;
	params.service = "bedrock";
	params.access_key_id = creds.access_key_id;
	params.secret_access_key = creds.secret_access_key;
	params.session_token = creds.session_token;
	call->signed_clock_offset_s = aws_clock_offset_s;
	params.signing_time = aws_signing_time(call->signed_clock_offset_s);
	params.normalize_path = true;
	params.double_encode_path = true;

	sigv4_sign(&req, &params, &sig);

	strlcpy(call->credential_source, creds.source, sizeof(call->credential_source));
	strlcpy(call->access_key_id, creds.access_key_id, sizeof(call->access_key_id));
	call->credential_generation = creds.generation;
	strlcpy(call->principal_arn, creds.principal_arn, sizeof(call->principal_arn));

	lines = lappend(lines, psprintf("Host: %s", ep->host_header));
	lines = lappend(lines, pstrdup("Content-Type: application/json"));
	lines = lappend(lines, pstrdup("Accept: application/json"));
	lines = lappend(lines, psprintf("X-Amz-Date: %s", sig.amz_date));
	if (creds.session_token[0] != '\0')
		lines = lappend(lines, psprintf("X-Amz-Security-Token: %s", creds.session_token));
	lines = lappend(lines, psprintf("Authorization: %s", sig.authorization));
	foreach(lc, call->extra_headers)
		lines = lappend(lines, pstrdup((const char *) lfirst(lc)));
	lines = lappend(lines, psprintf("amz-sdk-invocation-id: %s", invocation));
	lines = lappend(lines, psprintf("amz-sdk-request: attempt=%d; max=%d", attempt, max_attempts));

	credentials_wipe(&creds);
	sigv4_result_wipe(&sig);
	return lines;
}

/*
 * bedrock_call_begin
 *		Prepare a call: its URL, signing path and invocation id, and the
 *		outcome fields.  Nothing is sent.
 */
void
bedrock_call_begin(BedrockCall *call)
{
	char	   *model_utf8;
	const char *path_model;

	/* no target chosen by the caller: bedrock.server, else the settings */
	if (call->target == NULL)
		call->target = bedrock_target_lookup(NULL, GetUserId());

	call->ep = palloc(sizeof(EndpointUrl));
	endpoint_url_parse(call->target->runtime_url, call->ep);
	if (call->resource_path != NULL)
		call->path = psprintf("%s%s", call->ep->base_path, call->resource_path);
	else
	{
		path_model = bedrock_target_model_path_id(call->target, call->model);
		model_utf8 = server_to_utf8(path_model, strlen(path_model));
		call->path = psprintf("%s/model/%s/%s", call->ep->base_path,
							  sigv4_uri_encode(model_utf8, strlen(model_utf8), false),
							  call->path_suffix);
	}
	call->url = psprintf("%s%s", call->ep->scheme_authority, call->path);
	call->invocation = aws_invocation_id();

	call->ok = false;
	call->attempts = 0;
	call->throttled_attempts = 0;
	call->credentials_refreshed = false;
	call->retried = false;
	call->skew_retried = false;
	call->last_cost = 0;
	call->tokens_reserved = 0;
	call->admission_asked = 0;
	call->rate_limited_ms = 0;
	INSTR_TIME_SET_CURRENT(call->started);
}

/*
 * bedrock_call_admit
 *		Ask the rate limiter whether the next attempt may start: 0 when it
 *		may (its request and token estimate are taken from the model's
 *		budget), else the milliseconds to wait before asking again.  The
 *		estimate is a quarter of the request body's bytes, about its input
 *		tokens.  The time from the first refusal to the admission adds to
 *		call->rate_limited_ms.  Call after bedrock_call_begin.
 */
long
bedrock_call_admit(BedrockCall *call)
{
	int64		estimate = Max((int64) (call->body_len / 4), 1);
	long		wait_ms = rate_limiter_admit(call->model, estimate, call->batch,
											 call->admission_asked);
	TimestampTz now = GetCurrentTimestamp();

	if (wait_ms > 0)
	{
		if (call->admission_asked == 0)
			call->admission_asked = now;
		return wait_ms;
	}
	call->tokens_reserved = estimate;
	if (call->admission_asked != 0)
	{
		call->rate_limited_ms += (double) (now - call->admission_asked) / 1000.0;
		call->admission_asked = 0;
	}
	return 0;
}

/*
 * bedrock_call_settle_tokens
 *		Settle the token estimate of a successful call against the tokens
 *		Bedrock reported (input + output; -1 when it did not say).
 */
void
bedrock_call_settle_tokens(BedrockCall *call, int64 total_tokens)
{
	rate_limiter_settle_tokens(call->model, call->tokens_reserved, total_tokens);
	call->tokens_reserved = 0;
}

/*
 * bedrock_call_start_attempt
 *		Sign and start the next attempt, which bedrock_call_admit has let
 *		through; it progresses in http_wait_any().  arg tags the transfer
 *		(http_transfer_arg).
 */
HttpTransfer *
bedrock_call_start_attempt(BedrockCall *call, void *arg)
{
	HttpRequest req = {0};
	HttpTransfer *t;

	/* an attempt counts once signed: no credentials means nothing was sent */
	call->signing = true;
	req.headers = sign_attempt(call, call->ep, call->path, call->invocation,
							   call->attempts + 1, call->max_attempts);
	call->signing = false;
	call->attempts++;
	call->attempt_sent_at = GetCurrentTimestamp();
	req.method = "POST";
	req.url = call->url;
	req.body = call->body;
	req.body_len = call->body_len;
	req.timeout_ms = call->timeout_ms;
	req.connect_timeout_ms = bedrock_connect_timeout_ms;
	req.max_response_bytes = (size_t) bedrock_max_response_bytes;
	t = http_transfer_start(&req, arg);
	/* curl copied the header lines (the session token among them) */
	wipe_free_lines(req.headers);
	return t;
}

/*
 * bedrock_call_finish_attempt
 *		Collect a finished attempt and decide: returns -1 when the call is
 *		over (call->ok or call->error tell how), else the delay in ms before
 *		the next attempt (0: at once).
 */
long
bedrock_call_finish_attempt(BedrockCall *call, HttpTransfer *transfer)
{
	RetryClass	rc;
	bool		offset_changed;
	long		next = -1;

	http_transfer_finish(transfer, &call->response);
	offset_changed = call->response.outcome == HTTP_RESPONSE_RECEIVED &&
		aws_note_server_date(&call->response);
	rc = RETRY_NEVER;

	if (call->response.outcome == HTTP_RESPONSE_RECEIVED &&
		call->response.status >= 200 && call->response.status < 300)
	{
		call->ok = true;
		retry_quota_release(call->retried, call->last_cost);
	}
	else
	{
		if (call->response.outcome == HTTP_RESPONSE_RECEIVED)
			aws_error_from_response(&call->response, &call->error);
		else
			aws_error_from_transport(&call->response, call->timeout_ms, &call->error);

		rc = retry_classify(&call->error);

		/* a failed attempt used no tokens: give the estimate back */
		rate_limiter_settle_tokens(call->model, call->tokens_reserved, 0);
		call->tokens_reserved = 0;

		if (!call->credentials_refreshed && aws_credentials_rejected(call->error.code,
																 call->credential_source))
		{
			AwsCredentials used = {0};

			/* fetch new credentials (bounded wait) and try once more */
			used.generation = call->credential_generation;
			strlcpy(used.access_key_id, call->access_key_id, sizeof(used.access_key_id));
			bedrock_target_report_rejected(call->target, &used);
			call->credentials_refreshed = true;
			next = 0;
		}
		else if (rc == RETRY_CLOCK_SKEW)
		{
			/*
			 * Re-sign once with the corrected clock; not a quota matter.  In
			 * a batch, the first rejection teaches the offset: the attempts
			 * signed before it, rejected in their turn, are retried too.
			 */
			if ((offset_changed || call->signed_clock_offset_s != aws_clock_offset_s) &&
				!call->skew_retried && call->attempts < call->max_attempts)
			{
				call->skew_retried = true;
				next = 0;
			}
		}
		else
		{
			if (rc == RETRY_THROTTLING)
				call->throttled_attempts++;
			if (rc != RETRY_NEVER && call->attempts < call->max_attempts)
			{
				if (retry_quota_acquire(&call->error, &call->last_cost))
				{
					call->retried = true;
					next = retry_backoff_ms(rc, call->attempts, &call->response);
				}
				else
					call->error.retry_quota_exhausted = true;
			}
		}
	}

	rate_limiter_observe(call->model, rc == RETRY_THROTTLING, call->attempt_sent_at);

	if (next < 0)
	{
		instr_time	elapsed;

		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, call->started);
		call->latency_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	}
	return next;
}

/*
 * bedrock_runtime_call
 *		Perform call->operation on call->model, within the rate limiter's
 *		budget, retrying per the standard mode, and fill the outcome fields.  Failures of the call (AWS errors,
 *		transport failures) are reported in call->error, not raised;
 *		configuration problems (no credentials) and interrupts raise.
 */
void
bedrock_runtime_call(BedrockCall *call)
{
	long		delay;

	bedrock_call_begin(call);
	do
	{
		HttpTransfer *mine;
		long		wait_ms;

		while ((wait_ms = bedrock_call_admit(call)) > 0)
			http_sleep_ms(wait_ms);
		mine = bedrock_call_start_attempt(call, NULL);

		http_wait_for(mine);
		delay = bedrock_call_finish_attempt(call, mine);
		if (delay > 0)
			http_sleep_ms(delay);
	} while (delay >= 0);
}
