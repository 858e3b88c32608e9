/*-------------------------------------------------------------------------
 *
 * http.h
 *	  HTTP transfers over libcurl's multi interface, driven by a
 *	  latch-aware wait so that query cancel and statement_timeout stop a
 *	  request at once.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/http.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_HTTP_H
#define BEDROCK_HTTP_H

#include "nodes/pg_list.h"

/* What happened to a transfer, from the transport's point of view. */
typedef enum HttpOutcome
{
	HTTP_RESPONSE_RECEIVED,		/* a complete response (any status) */
	HTTP_FAILED_DNS,			/* host name could not be resolved */
	HTTP_FAILED_CONNECT,		/* refused, unreachable */
	HTTP_FAILED_TLS,			/* handshake or certificate verification */
	HTTP_FAILED_TIMEOUT,		/* connect or total time limit reached */
	HTTP_FAILED_CONNECTION_LOST,	/* reset, truncated, nothing received */
	HTTP_FAILED_TOO_LARGE,		/* body exceeded max_response_bytes */
	HTTP_FAILED_OTHER			/* anything else curl reports */
} HttpOutcome;

typedef struct HttpRequest
{
	const char *method;			/* "POST", "GET", ... */
	const char *url;
	List	   *headers;		/* of palloc'd "Name: value" strings */
	const char *body;			/* must stay valid until the transfer ends */
	size_t		body_len;
	long		timeout_ms;
	long		connect_timeout_ms;
	size_t		max_response_bytes;
} HttpRequest;

typedef struct HttpHeaderField
{
	char	   *name;
	char	   *value;
} HttpHeaderField;

typedef struct HttpResponse
{
	HttpOutcome outcome;
	long		status;			/* HTTP status, 0 if none was received */
	char	   *body;			/* palloc'd, NUL-terminated */
	size_t		body_len;
	List	   *headers;		/* of HttpHeaderField *, palloc'd */
	char	   *transport_error;	/* curl's description, or NULL */
	double		elapsed_ms;
	bool		new_connection; /* false when a kept-alive one was reused */
} HttpResponse;

typedef struct HttpTransfer HttpTransfer;

/* in http.c */
extern void http_init(void);
extern void http_execute(const HttpRequest *req, HttpResponse *resp);
extern HttpTransfer *http_transfer_start(const HttpRequest *req, void *arg);
extern HttpTransfer *http_wait_any(long timeout_ms);
extern void http_wait_for(HttpTransfer *mine);
extern int	http_transfers_pending(void);
extern void *http_transfer_arg(HttpTransfer *transfer);
extern void http_transfer_finish(HttpTransfer *transfer, HttpResponse *resp);
extern const char *http_response_header(const HttpResponse *resp,
										const char *name);
extern void http_sleep_ms(long ms);
extern void http_abort_all(void);

#endif							/* BEDROCK_HTTP_H */
