/*-------------------------------------------------------------------------
 *
 * runtime.h
 *	  One Bedrock Runtime operation: signed, sent, retried.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/runtime.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_RUNTIME_H
#define BEDROCK_RUNTIME_H

#include "aws_error.h"
#include "credentials.h"
#include "http.h"

typedef struct BedrockCall
{
	/* what to call */
	const char *operation;		/* "Converse", "InvokeModel": for messages */
	const char *path_suffix;	/* "converse", "invoke" */
	const char *model;			/* model id or ARN, server encoding */
	const char *body;			/* request body, UTF-8 */
	size_t		body_len;
	long		timeout_ms;		/* per attempt */
	int			max_attempts;

	/* what happened */
	bool		ok;				/* a 2xx response is in response */
	HttpResponse response;		/* the last attempt's response */
	AwsError	error;			/* when !ok */
	int			attempts;
	int			throttled_attempts;
	double		latency_ms;		/* wall time, all attempts and backoff */
	bool		credentials_refreshed;	/* retried once with new credentials */

	/* who signed the last attempt (no secrets) */
	char		credential_source[AWS_CREDENTIAL_SOURCE_MAXLEN];
	char		access_key_id[AWS_ACCESS_KEY_ID_MAXLEN + 1];
	uint64		credential_generation;
	char		principal_arn[AWS_PRINCIPAL_ARN_MAXLEN];
} BedrockCall;

/* in runtime.c */
extern void bedrock_validate_model_id(const char *model);
extern void bedrock_runtime_call(BedrockCall *call);

#endif							/* BEDROCK_RUNTIME_H */
