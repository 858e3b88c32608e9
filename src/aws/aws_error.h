/*-------------------------------------------------------------------------
 *
 * aws_error.h
 *	  A failed Bedrock call, whether AWS answered with an error or the
 *	  transport failed, and how it becomes a PostgreSQL error.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/aws_error.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_AWS_ERROR_H
#define BEDROCK_AWS_ERROR_H

#include "lib/stringinfo.h"

#include "http.h"

typedef struct AwsError
{
	char	   *code;			/* AWS error code, or our own for transport
								 * and protocol failures */
	char	   *message;		/* AWS's message (or curl's), never NULL */
	long		http_status;	/* 0 when no response was received */
	char	   *request_id;		/* x-amzn-RequestId, or NULL */
	HttpOutcome transport;		/* HTTP_RESPONSE_RECEIVED for AWS errors */
	int			sqlstate;
	const char *hint;			/* static text, or NULL */
	bool		retry_quota_exhausted;	/* retryable, but the quota said no */
} AwsError;

/* Our codes for failures that are not AWS error responses. */
#define AWS_CODE_MALFORMED_RESPONSE "MalformedResponse"

/* in aws_error.c */
extern void aws_error_from_response(const HttpResponse *resp, AwsError *err);
extern void aws_error_from_transport(const HttpResponse *resp,
									 long timeout_ms, AwsError *err);
extern void aws_error_malformed(const HttpResponse *resp, const char *what,
								AwsError *err);
extern void aws_error_append_json(StringInfo buf, const AwsError *err);
extern void aws_error_raise(const AwsError *err, const char *operation,
							const char *model, int attempts);

#endif							/* BEDROCK_AWS_ERROR_H */
