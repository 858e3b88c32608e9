/*-------------------------------------------------------------------------
 *
 * container_credentials.c
 *	  Temporary credentials from the container credential endpoint: the
 *	  ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) and EKS Pod
 *	  Identity or any local credential server
 *	  (AWS_CONTAINER_CREDENTIALS_FULL_URI).
 *
 * The endpoint answers GET with a JSON document (AccessKeyId,
 * SecretAccessKey, Token, Expiration), optionally after checking an
 * Authorization header taken from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 * (re-read on every fetch, as EKS rotates it) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN.  As botocore does, a plain-http
 * FULL_URI must point at a loopback address or at the ECS/EKS link-local
 * endpoints, so that a token never travels in clear text over a network;
 * https may go anywhere.
 *
 * This file also holds the helpers the network providers share (imds.c
 * and sts.c use them): reading a token file, turning a credentials
 * document into AwsCredentials, and quoting a remote message.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials/container_credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include "mb/pg_wchar.h"
#include "storage/fd.h"
#include "utils/jsonb.h"

#include "bedrock_fdw.h"
#include "credentials.h"
#include "http.h"
#include "secret_wipe.h"

/* ECS's credential endpoint; RELATIVE_URI is appended to it. */
#define ECS_CREDENTIALS_HOST "http://169.254.170.2"

#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS 3
#define CONTAINER_RETRY_SLEEP_MS 1000
#define CONTAINER_MAX_RESPONSE_BYTES (64 * 1024)

/* Longest token file we read (STS takes web identity tokens up to 20000). */
#define TOKEN_FILE_MAX_BYTES (64 * 1024)

/* Longest remote message quoted into an error. */
#define REMOTE_TEXT_MAX_BYTES 500

/* ---- helpers shared by the network providers ---- */

/* has_control_char: does s hold a byte below 0x20 or DEL? */
static bool
has_control_char(const char *s)
{
	for (; *s; s++)
	{
		if ((unsigned char) *s < ' ' || *s == 0x7f)
			return true;
	}
	return false;
}

/*
 * credentials_append_remote_text
 *		Append a message a remote service sent (server encoding) to buf,
 *		fit for an error report: without secrets (bedrock_redact_remote),
 *		control characters become spaces and it is cut at
 *		REMOTE_TEXT_MAX_BYTES on a character boundary.
 */
void
credentials_append_remote_text(StringInfo buf, const char *text)
{
	int			len;
	int			start = buf->len;
	int			i;

	text = bedrock_redact_remote(text);
	len = strlen(text);
	if (len > REMOTE_TEXT_MAX_BYTES)
		len = pg_mbcliplen(text, len, REMOTE_TEXT_MAX_BYTES);
	appendBinaryStringInfo(buf, text, len);
	for (i = start; i < buf->len; i++)
	{
		if ((unsigned char) buf->data[i] < ' ' || buf->data[i] == 0x7f)
			buf->data[i] = ' ';
	}
}

/*
 * credentials_fill_fetched
 *		Common tail of the network providers: check the four values a
 *		credential service returned (all required) and copy them into *out
 *		with credentials_fill.  service names the service in messages ("the
 *		instance metadata service").  No value is ever quoted.  Returns
 *		CREDENTIALS_FETCHED, or CREDENTIALS_FAILED with a message in error.
 */
CredentialFetchStatus
credentials_fill_fetched(AwsCredentials *out, const char *source,
						 const char *service, const char *access_key_id,
						 const char *secret_access_key,
						 const char *session_token, const char *expiration,
						 StringInfo error)
{
	const char *missing = NULL;
	TimestampTz expires;

	if (access_key_id == NULL || access_key_id[0] == '\0')
		missing = "an access key id";
	else if (secret_access_key == NULL || secret_access_key[0] == '\0')
		missing = "a secret access key";
	else if (session_token == NULL || session_token[0] == '\0')
		missing = "a session token";
	else if (expiration == NULL || expiration[0] == '\0')
		missing = "an expiration time";
	if (missing != NULL)
	{
		appendStringInfo(error, "%s returned credentials without %s",
						 service, missing);
		return CREDENTIALS_FAILED;
	}
	if (has_control_char(access_key_id) || has_control_char(secret_access_key) ||
		has_control_char(session_token))
	{
		appendStringInfo(error, "%s returned credentials that contain control characters",
						 service);
		return CREDENTIALS_FAILED;
	}
	if (!aws_parse_timestamp(expiration, &expires))
	{
		appendStringInfo(error, "%s returned an expiration time that is not an ISO 8601 UTC time",
						 service);
		return CREDENTIALS_FAILED;
	}
	credentials_fill(out, source, access_key_id, secret_access_key,
					 session_token, expires);
	return CREDENTIALS_FETCHED;
}

/*
 * credentials_from_json
 *		Parse the credentials document of IMDS and of the container
 *		endpoint (UTF-8 JSON: AccessKeyId, SecretAccessKey, Token,
 *		Expiration; IMDS adds Code, which must be "Success" when present)
 *		into *out.  Returns CREDENTIALS_FETCHED, or CREDENTIALS_FAILED with a
 *		message naming service in error.  The parsed copies of the secrets
 *		are wiped; the caller wipes body.
 */
CredentialFetchStatus
credentials_from_json(const char *body, size_t len, const char *source,
					  const char *service, AwsCredentials *out,
					  StringInfo error)
{
	Jsonb	   *jb = json_parse_utf8(body, len);
	JsonbContainer *root;
	char	   *code;
	char	   *access_key_id;
	char	   *secret;
	char	   *token;
	char	   *expiration;
	CredentialFetchStatus status;

	if (jb == NULL || !JB_ROOT_IS_OBJECT(jb))
	{
		appendStringInfo(error, "%s returned a response that is not a JSON object",
						 service);
		if (jb != NULL)
		{
			explicit_bzero(jb, VARSIZE(jb));
			pfree(jb);
		}
		return CREDENTIALS_FAILED;
	}
	root = &jb->root;

	code = json_get_string(root, "Code");
	if (code != NULL && strcmp(code, "Success") != 0)
	{
		char	   *message = json_get_string(root, "Message");

		appendStringInfo(error, "%s could not provide credentials: ", service);
		credentials_append_remote_text(error, code);
		appendStringInfoString(error, ": ");
		credentials_append_remote_text(error, message ? message : "no message");
		explicit_bzero(jb, VARSIZE(jb));
		pfree(jb);
		return CREDENTIALS_FAILED;
	}

	access_key_id = json_get_string(root, "AccessKeyId");
	secret = json_get_string(root, "SecretAccessKey");
	token = json_get_string(root, "Token");
	expiration = json_get_string(root, "Expiration");
	status = credentials_fill_fetched(out, source, service, access_key_id,
									  secret, token, expiration, error);
	wipe_pfree_string(access_key_id);
	wipe_pfree_string(secret);
	wipe_pfree_string(token);
	explicit_bzero(jb, VARSIZE(jb));
	pfree(jb);
	return status;
}

/*
 * credentials_read_token_file
 *		The contents of a token file (a web identity token, a container
 *		authorization token), palloc'd, with surrounding white space
 *		removed.  what names the setting that gave the path, for messages.
 *		Returns NULL with a message in error when the file cannot be read
 *		or is too large; the message quotes the path, never the contents.
 *		The caller wipes the result.
 */
char *
credentials_read_token_file(const char *path, const char *what,
							StringInfo error)
{
	FILE	   *f;
	char	   *buf;
	size_t		n;
	char	   *start;
	char	   *end;
	char	   *result;

	f = AllocateFile(path, "rb");
	if (f == NULL)
	{
		appendStringInfo(error, "could not open file \"%s\" (%s): %m", path, what);
		return NULL;
	}
	buf = palloc(TOKEN_FILE_MAX_BYTES + 1);
	n = fread(buf, 1, TOKEN_FILE_MAX_BYTES + 1, f);
	if (ferror(f))
	{
		appendStringInfo(error, "could not read file \"%s\" (%s): %m", path, what);
		FreeFile(f);
		explicit_bzero(buf, TOKEN_FILE_MAX_BYTES + 1);
		pfree(buf);
		return NULL;
	}
	FreeFile(f);
	if (n > TOKEN_FILE_MAX_BYTES)
	{
		appendStringInfo(error, "file \"%s\" (%s) is larger than %d bytes",
						 path, what, TOKEN_FILE_MAX_BYTES);
		explicit_bzero(buf, TOKEN_FILE_MAX_BYTES + 1);
		pfree(buf);
		return NULL;
	}
	buf[n] = '\0';

	start = buf;
	end = buf + n;
	while (start < end && (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	result = pnstrdup(start, end - start);
	explicit_bzero(buf, TOKEN_FILE_MAX_BYTES + 1);
	pfree(buf);
	return result;
}

/*
 * credentials_split_url
 *		Take an absolute http(s) URL apart with libcurl's own URL parser (the
 *		one the transfer will use): palloc'd lower-case scheme, host (an IPv6
 *		address keeps its brackets) and port (NULL when the URL has none).
 *		False, raising nothing, when it does not parse or carries user
 *		information.
 */
bool
credentials_split_url(const char *url, char **scheme, char **host, char **port)
{
	CURLU	   *u = curl_url();
	char	   *c_scheme = NULL;
	char	   *c_host = NULL;
	char	   *c_port = NULL;
	char	   *c_user = NULL;
	bool		ok;

	if (u == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &c_scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &c_host, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_USER, &c_user, 0) == CURLUE_NO_USER;
	if (ok)
		(void) curl_url_get(u, CURLUPART_PORT, &c_port, 0);
	curl_url_cleanup(u);

	/* copy out of curl's memory before anything can raise */
	*scheme = (ok && c_scheme) ? pstrdup(c_scheme) : NULL;
	*host = (ok && c_host) ? pstrdup(c_host) : NULL;
	*port = (ok && c_port) ? pstrdup(c_port) : NULL;
	curl_free(c_scheme);
	curl_free(c_host);
	curl_free(c_port);
	curl_free(c_user);
	return ok && *scheme != NULL && *host != NULL && (*host)[0] != '\0';
}

/* ---- the container provider ---- */

/* getenv, with an empty value counting as unset */
static const char *
getenv_nonempty(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/*
 * host_allowed_over_http
 *		May a plain-http FULL_URI point at host (without IPv6 brackets)?
 *		Loopback (127.0.0.0/8, ::1, localhost) and the ECS and EKS Pod
 *		Identity endpoints 169.254.170.2, 169.254.170.23 and fd00:ec2::23.
 */
static bool
host_allowed_over_http(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	struct in6_addr eks_v6;

	if (pg_strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &v4) == 1)
	{
		uint32		a = ntohl(v4.s_addr);

		return (a >> 24) == 127 || a == 0xA9FEAA02 || a == 0xA9FEAA17;
	}
	if (inet_pton(AF_INET6, host, &v6) == 1)
	{
		if (inet_pton(AF_INET6, "fd00:ec2::23", &eks_v6) != 1)
			return false;
		return IN6_IS_ADDR_LOOPBACK(&v6) || memcmp(&v6, &eks_v6, sizeof(v6)) == 0;
	}
	return false;
}

/*
 * container_endpoint
 *		The URL to GET and its origin (for messages), from the environment.
 *		CREDENTIALS_NOT_CONFIGURED when neither variable is set;
 *		CREDENTIALS_FAILED with the reason when the one set is unusable.
 */
static CredentialFetchStatus
container_endpoint(char **url, char **origin, StringInfo error)
{
	const char *relative = getenv_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *p;
	char	   *scheme;
	char	   *host;
	char	   *port;
	size_t		hlen;

	if (relative != NULL)
	{
		for (p = relative; *p; p++)
		{
			if ((unsigned char) *p <= ' ' || *p == 0x7f)
			{
				appendStringInfoString(error, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI contains a space or control character");
				return CREDENTIALS_FAILED;
			}
		}
		*url = psprintf("%s%s%s", ECS_CREDENTIALS_HOST,
						relative[0] == '/' ? "" : "/", relative);
		*origin = pstrdup(ECS_CREDENTIALS_HOST);
		return CREDENTIALS_FETCHED;
	}
	if (full == NULL)
		return CREDENTIALS_NOT_CONFIGURED;

	if (has_control_char(full) || !credentials_split_url(full, &scheme, &host, &port))
	{
		appendStringInfoString(error, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an absolute http or https URL without user information");
		return CREDENTIALS_FAILED;
	}
	*origin = port ? psprintf("%s://%s:%s", scheme, host, port)
		: psprintf("%s://%s", scheme, host);
	hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']')
		host = pnstrdup(host + 1, hlen - 2);
	if (strcmp(scheme, "https") != 0 &&
		(strcmp(scheme, "http") != 0 || !host_allowed_over_http(host)))
	{
		if (strcmp(scheme, "http") == 0)
			appendStringInfo(error, "AWS_CONTAINER_CREDENTIALS_FULL_URI points at host \"%s\" over plain http; only loopback addresses, localhost, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 are allowed without https",
							 host);
		else
			appendStringInfo(error, "AWS_CONTAINER_CREDENTIALS_FULL_URI uses scheme \"%s\"; only http and https are supported",
							 scheme);
		return CREDENTIALS_FAILED;
	}
	*url = pstrdup(full);
	return CREDENTIALS_FETCHED;
}

/*
 * container_authorization
 *		The Authorization header value, if any: the trimmed contents of
 *		AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read now), else
 *		AWS_CONTAINER_AUTHORIZATION_TOKEN.  *token is NULL when neither is
 *		set or the value is empty.  False, with a message that never quotes
 *		the token, when the file cannot be read or the token holds a line
 *		break or another control character.
 */
static bool
container_authorization(char **token, StringInfo error)
{
	const char *file = getenv_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *literal = getenv_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *what;

	*token = NULL;
	if (file != NULL)
	{
		what = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
		*token = credentials_read_token_file(file, what, error);
		if (*token == NULL)
			return false;
	}
	else if (literal != NULL)
	{
		what = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
		*token = pstrdup(literal);
	}
	else
		return true;

	if (has_control_char(*token))
	{
		appendStringInfo(error, "the container authorization token from %s contains a line break or another control character",
						 what);
		wipe_pfree_string(*token);
		*token = NULL;
		return false;
	}
	if ((*token)[0] == '\0')
	{
		pfree(*token);
		*token = NULL;
	}
	return true;
}

/*
 * container_fetch_credentials
 *		Fetch credentials from the container credential endpoint named by
 *		AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (which wins) or
 *		AWS_CONTAINER_CREDENTIALS_FULL_URI: GET with Accept:
 *		application/json and the authorization token, 2 s per attempt, up to
 *		3 attempts 1 s apart for transport failures, 429 and 5xx.  Source
 *		name "container".
 *
 *		CREDENTIALS_NOT_CONFIGURED when neither variable is set;
 *		CREDENTIALS_FAILED with a message in error (never the token or a
 *		secret) for every failure of the endpoint or of its configuration.
 */
CredentialFetchStatus
container_fetch_credentials(AwsCredentials *out, StringInfo error)
{
	char	   *url = NULL;
	char	   *origin = NULL;
	char	   *token;
	char	   *auth_line = NULL;
	bool		sent_token;
	HttpRequest req = {0};
	HttpResponse resp;
	CredentialFetchStatus status;
	int			attempt;

	status = container_endpoint(&url, &origin, error);
	if (status != CREDENTIALS_FETCHED)
		return status;
	if (!container_authorization(&token, error))
		return CREDENTIALS_FAILED;
	sent_token = token != NULL;

	req.method = "GET";
	req.url = url;
	req.headers = list_make1(pstrdup("Accept: application/json"));
	if (token != NULL)
	{
		auth_line = psprintf("Authorization: %s", token);
		req.headers = lappend(req.headers, auth_line);
	}
	req.timeout_ms = CONTAINER_TIMEOUT_MS;
	req.connect_timeout_ms = CONTAINER_TIMEOUT_MS;
	req.max_response_bytes = CONTAINER_MAX_RESPONSE_BYTES;

	for (attempt = 1;; attempt++)
	{
		bool		retryable;

		http_execute(&req, &resp);
		if (resp.outcome == HTTP_RESPONSE_RECEIVED && resp.status == 200)
			break;
		retryable = resp.outcome != HTTP_RESPONSE_RECEIVED ||
			resp.status == 429 || resp.status >= 500;
		if (!retryable || attempt == CONTAINER_ATTEMPTS)
			break;
		explicit_bzero(resp.body, resp.body_len);
		http_sleep_ms(CONTAINER_RETRY_SLEEP_MS);
	}
	wipe_pfree_string(token);
	wipe_free_lines(req.headers);

	if (resp.outcome != HTTP_RESPONSE_RECEIVED)
	{
		appendStringInfo(error, "could not reach the container credential endpoint at %s: ",
						 origin);
		credentials_append_remote_text(error, resp.transport_error ? resp.transport_error
									   : "unknown transport failure");
		if (attempt > 1)
			appendStringInfo(error, " (after %d attempts)", attempt);
		return CREDENTIALS_FAILED;
	}
	if (resp.status != 200)
	{
		appendStringInfo(error, "the container credential endpoint at %s answered HTTP %ld",
						 origin, resp.status);
		if ((resp.status == 401 || resp.status == 403) && !sent_token)
			appendStringInfoString(error, " and no authorization token is configured (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN)");
		else if (resp.status == 401 || resp.status == 403)
			appendStringInfoString(error, ": the authorization token was refused");
		if (attempt > 1)
			appendStringInfo(error, " (after %d attempts)", attempt);
		return CREDENTIALS_FAILED;
	}

	status = credentials_from_json(resp.body, resp.body_len, "container",
								   psprintf("the container credential endpoint at %s", origin),
								   out, error);
	explicit_bzero(resp.body, resp.body_len);
	return status;
}
