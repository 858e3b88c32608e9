/*-------------------------------------------------------------------------
 *
 * aws_request.c
 *	  Send one request to an AWS service other than a model call (the
 *	  Bedrock control plane, S3): sign every attempt with SigV4, retry
 *	  throttling, 5xx and transport failures with the engine's backoff and
 *	  retry quota, re-sign once after clock skew or rejected temporary
 *	  credentials.  Also the endpoint, clock-offset and invocation-id
 *	  helpers that the model calls (runtime.c) use in the same way.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/aws_request.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "miscadmin.h"
#include "portability/instr_time.h"

#include "bedrock_fdw.h"
#include "aws_request.h"
#include "credentials.h"
#include "retry.h"
#include "secret_wipe.h"
#include "sigv4.h"

#define CLOCK_SKEW_LIMIT_S 300

int64		aws_clock_offset_s = 0;

/*
 * endpoint_url_parse
 *		Split a base URL that the endpoint settings' check hook accepted
 *		(http or https, a host, an optional port and path).
 */
void
endpoint_url_parse(const char *base_url, EndpointUrl *ep)
{
	const char *authority = strstr(base_url, "://") + 3;
	const char *path = strchr(authority, '/');
	size_t		alen = path ? (size_t) (path - authority) : strlen(authority);
	char	   *host = pnstrdup(authority, alen);
	bool		https = strncmp(base_url, "https", 5) == 0;
	size_t		hlen;

	for (char *p = host; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	hlen = strlen(host);
	if (https && hlen > 4 && strcmp(host + hlen - 4, ":443") == 0)
		host[hlen - 4] = '\0';
	else if (!https && hlen > 3 && strcmp(host + hlen - 3, ":80") == 0)
		host[hlen - 3] = '\0';

	ep->scheme_authority = pnstrdup(base_url, authority - base_url + alen);
	ep->host_header = host;
	ep->base_path = pstrdup(path ? path : "");
}

/*
 * aws_note_server_date
 *		Learn the clock offset from a response's Date header when our clock
 *		is 5 minutes or more away from the server's.  Returns true when the
 *		offset changed.
 */
bool
aws_note_server_date(const HttpResponse *resp)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	const char *date = http_response_header(resp, "Date");
	char		mon[4];
	struct tm	tm;
	int			i;
	int64		server_time;
	int64		local_time;
	int64		new_offset;

	if (date == NULL)
		return false;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(date, "%*3s, %d %3s %d %d:%d:%d GMT", &tm.tm_mday, mon,
			   &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return false;
	for (i = 0; i < 12; i++)
	{
		if (strcmp(mon, months[i]) == 0)
			break;
	}
	if (i == 12)
		return false;
	tm.tm_mon = i;
	tm.tm_year -= 1900;
	server_time = (int64) timegm(&tm);
	local_time = (int64) time(NULL);

	new_offset = server_time - local_time;
	if (Abs(new_offset - aws_clock_offset_s) < CLOCK_SKEW_LIMIT_S)
		return false;
	aws_clock_offset_s = (Abs(new_offset) < CLOCK_SKEW_LIMIT_S) ? 0 : new_offset;
	return true;
}

/*
 * aws_invocation_id
 *		A random UUID that names every attempt of one call
 *		(amz-sdk-invocation-id, as the SDKs send).
 */
char *
aws_invocation_id(void)
{
	uint8		b[16];

	if (!pg_strong_random(b, sizeof(b)))
		memset(b, 0, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	return psprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
					b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
					b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * aws_signing_time
 *		The time to sign with: our clock corrected by clock_offset_s (the
 *		value of aws_clock_offset_s the caller saw, so that it can tell later
 *		whether a rejection taught a new offset).
 */
pg_time_t
aws_signing_time(int64 clock_offset_s)
{
	return (pg_time_t) (time(NULL) + clock_offset_s);
}

/*
 * aws_credentials_rejected
 *		True when AWS refused temporary credentials that the chain fetched
 *		(not the static settings or the environment, which fetching again
 *		cannot change) as expired or unknown.
 */
bool
aws_credentials_rejected(const char *error_code, const char *credential_source)
{
	if (strcmp(credential_source, "static") == 0 ||
		strcmp(credential_source, "environment") == 0 ||
		strcmp(credential_source, "user_mapping") == 0)
		return false;
	return strcmp(error_code, "ExpiredTokenException") == 0 ||
		strcmp(error_code, "ExpiredToken") == 0 ||
		strcmp(error_code, "UnrecognizedClientException") == 0 ||
		strcmp(error_code, "InvalidClientTokenId") == 0 ||
		strcmp(error_code, "InvalidAccessKeyId") == 0;
}

/* What one attempt was signed with (no secrets). */
typedef struct SignedBy
{
	char		source[AWS_CREDENTIAL_SOURCE_MAXLEN];
	char		access_key_id[AWS_ACCESS_KEY_ID_MAXLEN + 1];
	uint64		generation;
	int64		clock_offset_s;
} SignedBy;

/*
 * sign_request_attempt
 *		The curl header lines of one attempt of req, signed.  The
 *		credentials (the caller's, or the configured chain's) are wiped
 *		from this function's memory before it returns; the caller wipes the
 *		lines once curl has copied them.
 */
static List *
sign_request_attempt(const AwsRequest *req, const EndpointUrl *ep,
					 const char *path, const char *invocation, int attempt,
					 int max_attempts, SignedBy *signed_by)
{
	AwsCredentials creds;
	SigV4Request sreq = {0};
	SigV4Params params = {0};
	SigV4Result sig;
	List	   *lines = NIL;
	char	   *payload_hash = NULL;
	ListCell   *lc;

	if (req->credentials != NULL)
		memcpy(&creds, req->credentials, sizeof(creds));
	else
		credentials_resolve(&creds);

	sreq.method = req->method;
	sreq.path = path;
	sreq.query = req->query;
	sreq.payload = req->body;
	sreq.payload_len = req->body_len;
	sreq.headers = list_make1(sigv4_header("host", ep->host_header));
	if (req->content_type != NULL)
		sreq.headers = lappend(sreq.headers,
							   sigv4_header("content-type", req->content_type));
	if (req->s3)
	{
		if (req->unsigned_payload)
			payload_hash = pstrdup("UNSIGNED-PAYLOAD");
		else
		{
			payload_hash = palloc(SIGV4_HEX_LEN + 1);
			sigv4_sha256_hex(req->body, req->body ? req->body_len : 0, payload_hash);
		}
		sreq.headers = lappend(sreq.headers,
							   sigv4_header("x-amz-content-sha256", payload_hash));
	}
	foreach(lc, req->headers)
	{
		const char *line = lfirst(lc);
		const char *colon = strchr(line, ':');
		const char *value;

		if (colon == NULL)
			elog(ERROR, "header line without a colon: \"%s\"", line);
		value = colon + 1;
		while (*value == ' ')
			value++;
		sreq.headers = lappend(sreq.headers,
							   sigv4_header(pnstrdup(line, colon - line), value));
	}

	params.region = req->region ? req->region : bedrock_region;
	params.service = req->service;
	params.access_key_id = creds.access_key_id;
	params.secret_access_key = creds.secret_access_key;
	params.session_token = creds.session_token;
	signed_by->clock_offset_s = aws_clock_offset_s;
	params.signing_time = aws_signing_time(signed_by->clock_offset_s);
	params.normalize_path = !req->s3;
	params.double_encode_path = !req->s3;

	sigv4_sign(&sreq, &params, &sig);

	strlcpy(signed_by->source, creds.source, sizeof(signed_by->source));
	strlcpy(signed_by->access_key_id, creds.access_key_id,
			sizeof(signed_by->access_key_id));
	signed_by->generation = creds.generation;

	lines = lappend(lines, psprintf("Host: %s", ep->host_header));
	if (req->content_type != NULL)
		lines = lappend(lines, psprintf("Content-Type: %s", req->content_type));
	if (payload_hash != NULL)
		lines = lappend(lines, psprintf("x-amz-content-sha256: %s", payload_hash));
	foreach(lc, req->headers)
		lines = lappend(lines, pstrdup(lfirst(lc)));
	lines = lappend(lines, psprintf("X-Amz-Date: %s", sig.amz_date));
	if (creds.session_token[0] != '\0')
		lines = lappend(lines, psprintf("X-Amz-Security-Token: %s", creds.session_token));
	lines = lappend(lines, psprintf("Authorization: %s", sig.authorization));
	lines = lappend(lines, psprintf("amz-sdk-invocation-id: %s", invocation));
	lines = lappend(lines, psprintf("amz-sdk-request: attempt=%d; max=%d",
									attempt, max_attempts));
	/* curl would add "Expect: 100-continue" to a large PUT: one round trip less */
	if (req->body_len > 0)
		lines = lappend(lines, pstrdup("Expect:"));

	credentials_wipe(&creds);
	sigv4_result_wipe(&sig);
	return lines;
}

/*
 * aws_request_execute
 *		Send req, retrying per the AWS standard mode, and describe the
 *		outcome in *result: result->ok with the 2xx response, or
 *		result->error (an AWS error in JSON or S3's XML, or a transport
 *		failure).  AWS errors are not raised; configuration problems (no
 *		credentials) and interrupts are.  Waits check for interrupts.
 */
void
aws_request_execute(const AwsRequest *req, AwsResult *result)
{
	EndpointUrl ep;
	char	   *path;
	char	   *url;
	char	   *invocation = aws_invocation_id();
	long		timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : bedrock_timeout_ms;
	int			max_attempts = req->max_attempts > 0 ? req->max_attempts : bedrock_max_attempts;
	bool		retried = false;
	bool		skew_retried = false;
	bool		credentials_refreshed = false;
	int			last_cost = 0;
	instr_time	started;
	instr_time	elapsed;

	Assert(req->path != NULL && req->path[0] == '/');
	memset(result, 0, sizeof(*result));
	endpoint_url_parse(req->base_url, &ep);
	path = psprintf("%s%s", ep.base_path, req->path);
	url = psprintf("%s%s%s%s", ep.scheme_authority, path,
				   req->query ? "?" : "", req->query ? req->query : "");
	INSTR_TIME_SET_CURRENT(started);

	for (;;)
	{
		HttpRequest hreq = {0};
		SignedBy	signed_by;
		RetryClass	rc;
		bool		offset_changed;
		long		delay = -1;

		CHECK_FOR_INTERRUPTS();
		hreq.headers = sign_request_attempt(req, &ep, path, invocation,
											result->attempts + 1, max_attempts,
											&signed_by);
		result->attempts++;
		hreq.method = req->method;
		hreq.url = url;
		hreq.body = req->body;
		hreq.body_len = req->body_len;
		hreq.timeout_ms = timeout_ms;
		hreq.connect_timeout_ms = bedrock_connect_timeout_ms;
		hreq.max_response_bytes = req->max_response_bytes > 0 ?
			req->max_response_bytes : (size_t) bedrock_max_response_bytes;
		PG_TRY();
		{
			http_execute(&hreq, &result->response);
		}
		PG_FINALLY();
		{
			/* the lines hold the session token: wipe them on ERROR too */
			wipe_free_lines(hreq.headers);
		}
		PG_END_TRY();

		offset_changed = result->response.outcome == HTTP_RESPONSE_RECEIVED &&
			aws_note_server_date(&result->response);
		if (result->response.outcome == HTTP_RESPONSE_RECEIVED &&
			result->response.status >= 200 && result->response.status < 300)
		{
			result->ok = true;
			retry_quota_release(retried, last_cost);
			break;
		}
		if (result->response.outcome == HTTP_RESPONSE_RECEIVED)
			aws_error_from_response(&result->response, &result->error);
		else
			aws_error_from_transport(&result->response, timeout_ms, &result->error);

		rc = retry_classify(&result->error);
		if (req->credentials == NULL && !credentials_refreshed &&
			aws_credentials_rejected(result->error.code, signed_by.source))
		{
			AwsCredentials used = {0};

			used.generation = signed_by.generation;
			strlcpy(used.access_key_id, signed_by.access_key_id,
					sizeof(used.access_key_id));
			credentials_report_rejected(&used);
			credentials_refreshed = true;
			delay = 0;
		}
		else if (rc == RETRY_CLOCK_SKEW)
		{
			if ((offset_changed || signed_by.clock_offset_s != aws_clock_offset_s) &&
				!skew_retried && result->attempts < max_attempts)
			{
				skew_retried = true;
				delay = 0;
			}
		}
		else if (rc != RETRY_NEVER && result->attempts < max_attempts)
		{
			if (retry_quota_acquire(&result->error, &last_cost))
			{
				retried = true;
				delay = retry_backoff_ms(rc, result->attempts, &result->response);
			}
			else
				result->error.retry_quota_exhausted = true;
		}
		if (delay < 0)
			break;
		if (delay > 0)
			http_sleep_ms(delay);
	}

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, started);
	result->latency_ms = INSTR_TIME_GET_MILLISEC(elapsed);
}

/*
 * aws_request_raise
 *		Report a failed request as an ERROR: AWS's (or the transport's)
 *		message as the primary message, the code, status, request id and
 *		attempts in the detail, and a hint for the usual causes.
 */
void
aws_request_raise(const AwsRequest *req, const AwsResult *result)
{
	const AwsError *err = &result->error;
	StringInfoData detail;

	Assert(!result->ok);
	initStringInfo(&detail);
	if (err->transport == HTTP_RESPONSE_RECEIVED)
		appendStringInfo(&detail, "AWS error %s (HTTP %ld), request id %s, ",
						 err->code, err->http_status,
						 err->request_id ? err->request_id : "none");
	else
		appendStringInfo(&detail, "Transport error %s, ", err->code);
	appendStringInfo(&detail, "service \"%s\", %d attempt%s.", req->service,
					 result->attempts, result->attempts == 1 ? "" : "s");
	if (err->retry_quota_exhausted)
		appendStringInfoString(&detail,
							   " Not retried: the server's retry quota is used up by recent failures.");
	ereport(ERROR,
			(errcode(err->sqlstate),
			 errmsg("AWS %s failed: %s", req->operation, err->message),
			 errdetail_internal("%s", detail.data),
			 err->hint ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}
