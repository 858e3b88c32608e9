/*-------------------------------------------------------------------------
 *
 * runtime.h
 *	  One Bedrock Runtime operation: signed, sent, retried.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/runtime.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_RUNTIME_H
#define BEDROCK_RUNTIME_H

#include "portability/instr_time.h"

#include "aws_error.h"
#include "aws_request.h"
#include "credentials.h"
#include "http.h"

typedef struct BedrockCall
{
	/* what to call */
	const char *operation;		/* "Converse", "InvokeModel": for messages */
	const char *path_suffix;	/* "converse", "invoke" */
	const char *resource_path;	/* URI-encoded path other than
								 * /model/{modelId}/{suffix}, such as
								 * ApplyGuardrail's; NULL: the model's */
	const char *model;			/* model id or ARN, server encoding */
	const char *body;			/* request body, UTF-8 */
	size_t		body_len;
	long		timeout_ms;		/* per attempt */
	int			max_attempts;
	bool		batch;			/* leaves the interactive reserve alone */
	List	   *extra_headers;	/* "Name: value" lines signed and sent with
								 * every attempt (InvokeModel's guardrail) */
	/* where and as whom (src/fdw): NULL until bedrock_call_begin looks up
	 * bedrock.server; a target without a server is the settings' */
	const struct BedrockTarget *target;

	/* what happened */
	bool		ok;				/* a 2xx response is in response */
	HttpResponse response;		/* the last attempt's response */
	AwsError	error;			/* when !ok */
	int			attempts;
	int			throttled_attempts;
	double		latency_ms;		/* wall time, all attempts and backoff */
	bool		credentials_refreshed;	/* retried once with new credentials */
	bool		signing;		/* resolving credentials for the next
								 * attempt, which is not sent yet */

	/* who signed the last attempt (no secrets) */
	char		credential_source[AWS_CREDENTIAL_SOURCE_MAXLEN];
	char		access_key_id[AWS_ACCESS_KEY_ID_MAXLEN + 1];
	uint64		credential_generation;
	char		principal_arn[AWS_PRINCIPAL_ARN_MAXLEN];

	/* state between attempts (bedrock_call_begin sets it up) */
	EndpointUrl *ep;
	char	   *path;			/* wire path */
	char	   *url;
	char	   *invocation;		/* amz-sdk-invocation-id */
	instr_time	started;
	TimestampTz attempt_sent_at;	/* when the current attempt started */
	bool		retried;
	bool		skew_retried;
	int64		signed_clock_offset_s;	/* the clock offset the attempt used */
	int			last_cost;		/* retry quota taken by the last retry */
	int64		tokens_reserved;	/* the rate limiter's estimate, taken */
	TimestampTz admission_asked;	/* refused admission since; 0: not waiting */
	double		rate_limited_ms;	/* waited for the rate limiter, in all */
} BedrockCall;

/* in runtime.c */
extern void bedrock_validate_model_id(const char *model);
extern void bedrock_runtime_call(BedrockCall *call);
extern void bedrock_call_begin(BedrockCall *call);
extern long bedrock_call_admit(BedrockCall *call);
extern HttpTransfer *bedrock_call_start_attempt(BedrockCall *call, void *arg);
extern long bedrock_call_finish_attempt(BedrockCall *call, HttpTransfer *transfer);
extern void bedrock_call_settle_tokens(BedrockCall *call, int64 total_tokens);

#endif							/* BEDROCK_RUNTIME_H */
