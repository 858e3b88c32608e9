/*-------------------------------------------------------------------------
 *
 * imds.c
 *	  Temporary credentials of the EC2 instance role, from the instance
 *	  metadata service (IMDSv2) at bedrock.imds_endpoint.
 *
 * Three requests, as the AWS SDKs make them:
 *
 *	 PUT /latest/api/token  (X-aws-ec2-metadata-token-ttl-seconds: 21600)
 *		 -> a session token, kept per process until 60 s before its TTL
 *	 GET /latest/meta-data/iam/security-credentials/
 *		 -> the name of the instance profile's role
 *	 GET /latest/meta-data/iam/security-credentials/<role>
 *		 -> JSON: Code, AccessKeyId, SecretAccessKey, Token, Expiration
 *
 * The GETs carry the token in X-aws-ec2-metadata-token.  A 401 means the
 * token expired or was revoked: it is dropped, a new one is fetched and
 * the GET is repeated once.  IMDSv1 (no token at all) is used only when
 * bedrock.imds_v1_fallback is on and the token request answered 403, 404
 * or 405 or timed out, as botocore does; AWS_EC2_METADATA_V1_DISABLED
 * forbids it too.  AWS_EC2_METADATA_DISABLED=true switches the provider
 * off.  Every request has the SDKs' short time limit (1 s, or
 * AWS_METADATA_SERVICE_TIMEOUT seconds) and AWS_METADATA_SERVICE_NUM_ATTEMPTS
 * attempts (default 1) against transport failures and 5xx.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials/imds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <time.h>

#include "utils/memutils.h"

#include "bedrock_fdw.h"
#include "credentials.h"
#include "http.h"
#include "secret_wipe.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_PATH "/latest/api/token"
#define IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"
#define IMDS_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define IMDS_TOKEN_HEADER "X-aws-ec2-metadata-token"
#define IMDS_TOKEN_TTL_S 21600
#define IMDS_TOKEN_REFRESH_MARGIN_S 60
#define IMDS_DEFAULT_TIMEOUT_MS 1000
#define IMDS_MAX_ATTEMPTS 10
#define IMDS_MAX_RESPONSE_BYTES (64 * 1024)

/*
 * The IMDSv2 session token of this process and the endpoint it belongs
 * to, in TopMemoryContext; NULL when there is none.
 */
static char *imds_token = NULL;
static char *imds_token_endpoint = NULL;
static time_t imds_token_expires = 0;

/* One fetch: where IMDS is, its time limits, and the protocol in use. */
typedef struct ImdsSession
{
	const char *endpoint;		/* base URL without trailing slash */
	long		timeout_ms;		/* per request */
	int			attempts;		/* per request */
	bool		v1;				/* IMDSv1 fallback: send no token */
	bool		v1_allowed;
} ImdsSession;

/* env_is_true: is the environment variable set to "true" (any case)? */
static bool
env_is_true(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && pg_strcasecmp(v, "true") == 0;
}

/*
 * session_init
 *		Read the endpoint setting and the SDKs' environment variables:
 *		AWS_METADATA_SERVICE_TIMEOUT (seconds, may be fractional; default
 *		1) and AWS_METADATA_SERVICE_NUM_ATTEMPTS (default 1).  Values that
 *		do not parse leave the defaults.
 */
static void
session_init(ImdsSession *s)
{
	const char *timeout = getenv("AWS_METADATA_SERVICE_TIMEOUT");
	const char *attempts = getenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
	char	   *end;

	memset(s, 0, sizeof(*s));
	s->endpoint = (bedrock_imds_endpoint != NULL && bedrock_imds_endpoint[0] != '\0')
		? bedrock_imds_endpoint : IMDS_DEFAULT_ENDPOINT;
	s->timeout_ms = IMDS_DEFAULT_TIMEOUT_MS;
	s->attempts = 1;
	s->v1_allowed = bedrock_imds_v1_fallback &&
		!env_is_true("AWS_EC2_METADATA_V1_DISABLED");

	if (timeout != NULL && timeout[0] != '\0')
	{
		double		v = strtod(timeout, &end);

		if (*end == '\0' && v > 0 && v <= 3600)
			s->timeout_ms = Max((long) (v * 1000), 1);
	}
	if (attempts != NULL && attempts[0] != '\0')
	{
		long		v = strtol(attempts, &end, 10);

		if (*end == '\0' && v >= 1)
			s->attempts = (int) Min(v, IMDS_MAX_ATTEMPTS);
	}
}

/* forget_token: wipe and drop the cached session token. */
static void
forget_token(void)
{
	wipe_pfree_string(imds_token);
	if (imds_token_endpoint != NULL)
		pfree(imds_token_endpoint);
	imds_token = NULL;
	imds_token_endpoint = NULL;
	imds_token_expires = 0;
}

/*
 * imds_execute
 *		Send one request to IMDS (with the token header when token is not
 *		NULL), repeating it up to s->attempts times while the transport
 *		fails or IMDS answers 5xx.  The last response is left in *resp.
 */
static void
imds_execute(const ImdsSession *s, const char *method, const char *path,
			 const char *token, HttpResponse *resp)
{
	HttpRequest req = {0};
	char	   *header;
	int			attempt;

	if (token != NULL)
		header = psprintf("%s: %s", IMDS_TOKEN_HEADER, token);
	else if (strcmp(method, "PUT") == 0)
		header = psprintf("%s: %d", IMDS_TTL_HEADER, IMDS_TOKEN_TTL_S);
	else
		header = NULL;

	req.method = method;
	req.url = psprintf("%s%s", s->endpoint, path);
	req.headers = header ? list_make1(header) : NIL;
	req.body = "";
	req.body_len = 0;
	req.timeout_ms = s->timeout_ms;
	req.connect_timeout_ms = s->timeout_ms;
	req.max_response_bytes = IMDS_MAX_RESPONSE_BYTES;

	for (attempt = 1;; attempt++)
	{
		http_execute(&req, resp);
		if ((resp->outcome == HTTP_RESPONSE_RECEIVED && resp->status < 500) ||
			attempt >= s->attempts)
			break;
		explicit_bzero(resp->body, resp->body_len);
	}

	wipe_free_lines(req.headers);
	pfree((char *) req.url);
}

/*
 * append_failure
 *		Describe a response that ended a step (what: "the IAM role query")
 *		with neither the expected answer nor a specific meaning.
 */
static void
append_failure(const ImdsSession *s, const HttpResponse *resp,
			   const char *what, StringInfo error)
{
	if (resp->outcome != HTTP_RESPONSE_RECEIVED)
	{
		appendStringInfo(error, "could not reach the instance metadata service at %s (%s): ",
						 s->endpoint, what);
		credentials_append_remote_text(error, resp->transport_error ? resp->transport_error
									   : "unknown transport failure");
	}
	else
		appendStringInfo(error, "the instance metadata service at %s answered HTTP %ld to %s",
						 s->endpoint, resp->status, what);
}

/*
 * obtain_token
 *		Make sure there is a usable session token for s->endpoint (the
 *		cached one unless it ends within 60 s, or force), or switch s to
 *		IMDSv1 when that is allowed and the token request says IMDSv2 is not
 *		available.  False, with a message in error, when neither works.
 */
static bool
obtain_token(ImdsSession *s, bool force, StringInfo error)
{
	HttpResponse resp;
	const char *ttl_header;
	char	   *start;
	char	   *end;
	long		ttl = IMDS_TOKEN_TTL_S;
	bool		no_v2;

	if (!force && imds_token != NULL &&
		strcmp(imds_token_endpoint, s->endpoint) == 0 &&
		time(NULL) < imds_token_expires - IMDS_TOKEN_REFRESH_MARGIN_S)
		return true;
	forget_token();

	imds_execute(s, "PUT", IMDS_TOKEN_PATH, NULL, &resp);
	if (resp.outcome == HTTP_RESPONSE_RECEIVED && resp.status == 200)
	{
		start = resp.body;
		end = resp.body + resp.body_len;
		while (start < end && isspace((unsigned char) *start))
			start++;
		while (end > start && isspace((unsigned char) end[-1]))
			end--;
		for (const char *p = start; p < end; p++)
		{
			if ((unsigned char) *p <= ' ' || *p == 0x7f)
				end = start;	/* not a token: treat as empty */
		}
		if (end == start)
		{
			appendStringInfo(error, "the instance metadata service at %s returned an empty or malformed IMDSv2 session token",
							 s->endpoint);
			explicit_bzero(resp.body, resp.body_len);
			return false;
		}
		ttl_header = http_response_header(&resp, IMDS_TTL_HEADER);
		if (ttl_header != NULL)
		{
			char	   *tend;
			long		v = strtol(ttl_header, &tend, 10);

			if (*tend == '\0' && v >= 1 && v <= IMDS_TOKEN_TTL_S)
				ttl = v;
		}
		imds_token = MemoryContextAlloc(TopMemoryContext, end - start + 1);
		memcpy(imds_token, start, end - start);
		imds_token[end - start] = '\0';
		imds_token_endpoint = MemoryContextStrdup(TopMemoryContext, s->endpoint);
		imds_token_expires = time(NULL) + ttl;
		explicit_bzero(resp.body, resp.body_len);
		return true;
	}

	no_v2 = resp.outcome == HTTP_FAILED_TIMEOUT ||
		(resp.outcome == HTTP_RESPONSE_RECEIVED &&
		 (resp.status == 403 || resp.status == 404 || resp.status == 405));
	if (no_v2 && s->v1_allowed)
	{
		s->v1 = true;
		return true;
	}
	append_failure(s, &resp, "the IMDSv2 session token request", error);
	if (no_v2 && bedrock_imds_v1_fallback)
		appendStringInfoString(error, "; IMDSv1 fallback is forbidden by AWS_EC2_METADATA_V1_DISABLED");
	else if (no_v2)
		appendStringInfoString(error, "; IMDSv1 fallback is off (bedrock.imds_v1_fallback)");
	return false;
}

/*
 * imds_get
 *		GET path with the session token (none in IMDSv1 mode).  On a 401 the
 *		token is dropped, a new one fetched and the GET repeated once.
 *		*resp holds the final response, whatever it is; false, with a
 *		message in error, only when no new token could be had.
 */
static bool
imds_get(ImdsSession *s, const char *path, HttpResponse *resp, StringInfo error)
{
	bool		renewed = false;

	for (;;)
	{
		imds_execute(s, "GET", path, s->v1 ? NULL : imds_token, resp);
		if (resp->outcome != HTTP_RESPONSE_RECEIVED || resp->status != 401 ||
			s->v1 || renewed)
			return true;
		renewed = true;
		if (!obtain_token(s, true, error))
			return false;
	}
}

/*
 * append_unauthorized
 *		Describe a 401 that survived imds_get's token renewal.
 */
static void
append_unauthorized(const ImdsSession *s, StringInfo error)
{
	if (s->v1)
		appendStringInfo(error, "the instance metadata service at %s requires IMDSv2 session tokens (HTTP 401), but none could be obtained",
						 s->endpoint);
	else
		appendStringInfo(error, "the instance metadata service at %s refused a fresh IMDSv2 session token (HTTP 401)",
						 s->endpoint);
}

/*
 * imds_fetch_credentials
 *		Fetch the credentials of the instance profile's role from IMDS.
 *		Source name "instance".
 *
 *		CREDENTIALS_NOT_CONFIGURED when AWS_EC2_METADATA_DISABLED is true;
 *		CREDENTIALS_FAILED with a message in error (never a token or a
 *		secret) for every failure of the metadata service, including "no
 *		IAM role is attached to this instance".
 */
CredentialFetchStatus
imds_fetch_credentials(AwsCredentials *out, StringInfo error)
{
	ImdsSession s;
	HttpResponse resp;
	char	   *role;
	char	   *nl;
	char	   *path;
	CredentialFetchStatus status;

	if (env_is_true("AWS_EC2_METADATA_DISABLED"))
		return CREDENTIALS_NOT_CONFIGURED;
	session_init(&s);

	if (!obtain_token(&s, false, error) ||
		!imds_get(&s, IMDS_ROLE_PATH, &resp, error))
		return CREDENTIALS_FAILED;
	if (resp.outcome == HTTP_RESPONSE_RECEIVED && resp.status == 404)
	{
		appendStringInfoString(error, "no IAM role is attached to this instance");
		return CREDENTIALS_FAILED;
	}
	if (resp.outcome == HTTP_RESPONSE_RECEIVED && resp.status == 401)
	{
		append_unauthorized(&s, error);
		return CREDENTIALS_FAILED;
	}
	if (resp.outcome != HTTP_RESPONSE_RECEIVED || resp.status != 200)
	{
		append_failure(&s, &resp, "the IAM role query", error);
		return CREDENTIALS_FAILED;
	}

	/* the first line, trimmed, is the role name */
	nl = strpbrk(resp.body, "\r\n");
	if (nl != NULL)
		*nl = '\0';
	role = resp.body;
	while (*role == ' ' || *role == '\t')
		role++;
	for (nl = role + strlen(role); nl > role && (nl[-1] == ' ' || nl[-1] == '\t');)
		*--nl = '\0';
	if (role[0] == '\0')
	{
		appendStringInfoString(error, "no IAM role is attached to this instance");
		return CREDENTIALS_FAILED;
	}
	for (nl = role; *nl; nl++)
	{
		/* IAM role names are made of [A-Za-z0-9_+=,.@-] */
		if (!isalnum((unsigned char) *nl) && strchr("_+=,.@-", *nl) == NULL)
		{
			appendStringInfo(error, "the instance metadata service at %s returned a malformed IAM role name",
							 s.endpoint);
			return CREDENTIALS_FAILED;
		}
	}
	role = pstrdup(role);
	path = psprintf("%s%s", IMDS_ROLE_PATH, role);

	if (!imds_get(&s, path, &resp, error))
		return CREDENTIALS_FAILED;
	if (resp.outcome == HTTP_RESPONSE_RECEIVED && resp.status == 404)
	{
		appendStringInfo(error, "the instance metadata service at %s has no credentials for IAM role \"%s\" (HTTP 404)",
						 s.endpoint, role);
		return CREDENTIALS_FAILED;
	}
	if (resp.outcome == HTTP_RESPONSE_RECEIVED && resp.status == 401)
	{
		append_unauthorized(&s, error);
		return CREDENTIALS_FAILED;
	}
	if (resp.outcome != HTTP_RESPONSE_RECEIVED || resp.status != 200)
	{
		append_failure(&s, &resp, "the credentials query", error);
		return CREDENTIALS_FAILED;
	}

	status = credentials_from_json(resp.body, resp.body_len, "instance",
								   psprintf("the instance metadata service at %s (IAM role \"%s\")",
											s.endpoint, role),
								   out, error);
	explicit_bzero(resp.body, resp.body_len);
	return status;
}
