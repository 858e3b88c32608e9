/*-------------------------------------------------------------------------
 *
 * aws_request.h
 *	  One signed, retried request to an AWS service: the Bedrock control
 *	  plane, S3; and the endpoint, clock and invocation-id helpers that the
 *	  model calls share with it.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/aws_request.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_AWS_REQUEST_H
#define BEDROCK_AWS_REQUEST_H

#include "pgtime.h"
#include "nodes/pg_list.h"

#include "aws_error.h"
#include "credentials.h"
#include "http.h"

/* Where a request goes: the pieces of the endpoint URL. */
typedef struct EndpointUrl
{
	char	   *scheme_authority;	/* "https://host[:port]" */
	char	   *host_header;	/* lower-case host, ":port" unless default */
	char	   *base_path;		/* "" or "/prefix" without trailing '/' */
} EndpointUrl;

/* A request to send (aws_request_execute). */
typedef struct AwsRequest
{
	const char *operation;		/* for messages: "ListFoundationModels" */
	const char *service;		/* signing name: "bedrock", "s3" */
	const char *method;			/* "GET", "POST", "PUT", "DELETE" */
	const char *base_url;		/* "http(s)://host[:port][/prefix]", no
								 * trailing '/' */
	const char *path;			/* wire path, percent-encoded once, starts
								 * with '/' */
	const char *query;			/* wire query without '?' (encoded), or NULL */
	const char *content_type;	/* NULL: no Content-Type header */
	const char *body;			/* NULL or body bytes; must live until the
								 * call returns */
	size_t		body_len;
	List	   *headers;		/* extra palloc'd "Name: value" strings,
								 * signed too */
	bool		s3;				/* S3 rules: path neither normalised nor
								 * encoded twice; x-amz-content-sha256
								 * carries the payload hash */
	bool		unsigned_payload;	/* with s3: UNSIGNED-PAYLOAD */
	const char *region;			/* NULL: bedrock.region */
	const AwsCredentials *credentials;	/* NULL: the configured chain */
	long		timeout_ms;		/* per attempt; 0: bedrock.timeout_ms */
	int			max_attempts;	/* 0: bedrock.max_attempts */
	size_t		max_response_bytes; /* 0: bedrock.max_response_bytes */
} AwsRequest;

/* What happened to it. */
typedef struct AwsResult
{
	bool		ok;				/* a 2xx response is in response */
	HttpResponse response;		/* the last attempt's response */
	AwsError	error;			/* when !ok */
	int			attempts;
	double		latency_ms;
} AwsResult;

/* Server time minus our clock, learnt from responses' Date headers. */
extern int64 aws_clock_offset_s;

/* in aws_request.c */
extern void endpoint_url_parse(const char *base_url, EndpointUrl *ep);
extern bool aws_note_server_date(const HttpResponse *resp);
extern pg_time_t aws_signing_time(int64 clock_offset_s);
extern char *aws_invocation_id(void);
extern bool aws_credentials_rejected(const char *error_code,
									 const char *credential_source);
extern void aws_request_execute(const AwsRequest *req, AwsResult *result);
extern void aws_request_raise(const AwsRequest *req, const AwsResult *result);

#endif							/* BEDROCK_AWS_REQUEST_H */
