/*-------------------------------------------------------------------------
 *
 * sign_request.c
 *	  bedrock_sign_request(): SigV4-sign an arbitrary HTTP request from SQL.
 *
 * The function exposes sigv4_sign() for tests, debugging and clients that
 * send the request themselves.  It takes the request as SQL values (method,
 * URL, a jsonb object of headers, a bytea body) plus the signing
 * parameters, and returns the headers to add together with every
 * intermediate the signer produced:
 *
 *	{"headers": {"authorization": ..., "x-amz-date": ...,
 *				 "x-amz-security-token": ...,	(only with a session token)
 *				 "x-amz-content-sha256": ...,	(only when added for S3)
 *				 "host": ...},					(only when taken from the URL)
 *	 "canonical_request": ..., "string_to_sign": ...,
 *	 "signed_headers": ..., "signature": ...}
 *
 * The URL's path and query are signed exactly as written (they are the
 * wire form, already percent-encoded); nothing is decoded.  Text arguments
 * are signed as their bytes in the server encoding.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/sign_request.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include <string.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "sigv4.h"

PG_FUNCTION_INFO_V1(bedrock_sign_request);

/* The parts of the url argument the signer needs. */
typedef struct ParsedUrl
{
	char	   *path;			/* wire path, never empty */
	char	   *query;			/* without '?', or NULL */
	char	   *host;			/* host[:port] from the URL, or NULL */
} ParsedUrl;

/* What headers_from_jsonb() learnt about the caller's headers. */
typedef struct HeaderFacts
{
	bool		has_host;
	bool		has_content_sha256;
} HeaderFacts;

/*
 * invalid_url
 *		Raise 22023 for a malformed url argument.  The URL itself is never
 *		echoed: its query string may carry a presigned credential.
 */
static void
invalid_url(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 detail ? errdetail("%s", detail) : 0));
}

/*
 * parse_authority
 *		Validate "host[:port]" (host a DNS name, IPv4 address or bracketed
 *		IPv6 literal) and return it lower-cased, without the port when it
 *		is the scheme's default or empty.  User information is refused: it
 *		is not sent as a host, and it may hold a password.
 */
static char *
parse_authority(const char *auth, size_t len, const char *default_port)
{
	const char *host_end;
	const char *port = NULL;
	size_t		port_len = 0;
	long		portnum = 0;
	char	   *host;
	char	   *result;

	if (len == 0)
		invalid_url("URL has no host", NULL);
	if (memchr(auth, '@', len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("URL must not contain user information"),
				 errhint("Remove the \"user@\" part; credentials are separate arguments.")));

	if (auth[0] == '[')
	{
		const char *close = memchr(auth, ']', len);

		if (close == NULL)
			invalid_url("invalid host in URL",
						"An IPv6 address must be enclosed in \"[\" and \"]\".");
		for (const char *p = auth + 1; p < close; p++)
			if (!isxdigit((unsigned char) *p) && *p != ':' && *p != '.')
				invalid_url("invalid host in URL",
							"An IPv6 address may only contain hexadecimal digits, \":\" and \".\".");
		host_end = close + 1;
		if (close == auth + 1)
			invalid_url("URL has no host", NULL);
	}
	else
	{
		host_end = auth;
		while (host_end < auth + len && *host_end != ':')
		{
			unsigned char c = (unsigned char) *host_end;

			if (!isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~')
				invalid_url("invalid host in URL",
							"A host name may only contain ASCII letters, digits, \"-\", \".\", \"_\" and \"~\".");
			host_end++;
		}
		if (host_end == auth)
			invalid_url("URL has no host", NULL);
	}

	if (host_end < auth + len)
	{
		if (*host_end != ':')
			invalid_url("invalid host in URL", NULL);
		port = host_end + 1;
		port_len = auth + len - port;
		for (size_t i = 0; i < port_len; i++)
		{
			if (!isdigit((unsigned char) port[i]))
				invalid_url("invalid port in URL",
							"A port must be a number between 1 and 65535.");
			portnum = portnum * 10 + (port[i] - '0');
			if (portnum > 65535)
				invalid_url("invalid port in URL",
							"A port must be a number between 1 and 65535.");
		}
		if (port_len > 0 && portnum == 0)
			invalid_url("invalid port in URL",
						"A port must be a number between 1 and 65535.");
	}

	host = asc_tolower(auth, host_end - auth);
	if (port_len == 0 ||
		(port_len == strlen(default_port) &&
		 memcmp(port, default_port, port_len) == 0))
		return host;
	result = psprintf("%s:%.*s", host, (int) port_len, port);
	pfree(host);
	return result;
}

/*
 * parse_url
 *		Split the url argument into wire path, raw query and, for an
 *		absolute URL, the Host header value.  Accepts "http(s)://authority
 *		[/path][?query][#fragment]" (scheme case-insensitive; an empty path
 *		is "/") or "/path[?query][#fragment]".  The fragment is dropped, as
 *		HTTP clients never send it.  Nothing is decoded.
 */
static void
parse_url(const char *url, ParsedUrl *out)
{
	const char *rest;
	const char *hash;
	const char *qmark;
	size_t		rest_len;

	memset(out, 0, sizeof(*out));

	if (url[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("URL must not be empty"),
				 errhint("Pass a full http:// or https:// URL, or a path starting with \"/\" together with a Host header.")));
	for (const char *p = url; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7F)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("URL must not contain control characters"),
					 errdetail("Carriage return, line feed, tab and other control characters cannot be sent in a request line.")));

	if (url[0] == '/')
		rest = url;
	else
	{
		const char *sep = strstr(url, "://");
		const char *default_port;
		size_t		scheme_len;
		size_t		auth_len;

		/* a scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
		scheme_len = sep ? (size_t) (sep - url) : 0;
		if (scheme_len == 0 || !isalpha((unsigned char) url[0]) ||
			strspn(url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789+-.") < scheme_len)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid URL"),
					 errdetail("The URL has neither a scheme nor a leading \"/\"."),
					 errhint("Pass a full http:// or https:// URL, or a path starting with \"/\" together with a Host header.")));
		if (scheme_len == 4 && pg_strncasecmp(url, "http", 4) == 0)
			default_port = "80";
		else if (scheme_len == 5 && pg_strncasecmp(url, "https", 5) == 0)
			default_port = "443";
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported URL scheme \"%.*s\"",
							(int) Min(scheme_len, 32), url),
					 errhint("Use an http:// or https:// URL.")));

		rest = sep + 3;
		auth_len = strcspn(rest, "/?#");
		out->host = parse_authority(rest, auth_len, default_port);
		rest += auth_len;
	}

	hash = strchr(rest, '#');
	rest_len = hash ? (size_t) (hash - rest) : strlen(rest);
	qmark = memchr(rest, '?', rest_len);
	if (qmark)
	{
		out->path = pnstrdup(rest, qmark - rest);
		out->query = pnstrdup(qmark + 1, rest_len - (qmark + 1 - rest));
	}
	else
		out->path = pnstrdup(rest, rest_len);
	if (out->path[0] == '\0')
		out->path = pstrdup("/");
}

static void
add_header(List **headers, const char *name, const char *value)
{
	SigV4Header *h = palloc(sizeof(SigV4Header));

	h->name = name;
	h->value = value;
	*headers = lappend(*headers, h);
}

/*
 * headers_from_jsonb
 *		Turn {"name": "value", "name2": ["v1", "v2"], ...} into a list of
 *		SigV4Header, array elements in order.  Anything else is an error
 *		that names the offending header (never its value).
 */
static List *
headers_from_jsonb(Jsonb *jb, HeaderFacts *facts)
{
	List	   *headers = NIL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *name = NULL;

	memset(facts, 0, sizeof(*facts));
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("headers must be a JSON object"),
				 errhint("Pass headers as {\"name\": \"value\"}, with an array of strings for a repeated header.")));

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			name = pnstrdup(v.val.string.val, v.val.string.len);
			if (pg_strcasecmp(name, "host") == 0)
				facts->has_host = true;
			else if (pg_strcasecmp(name, "x-amz-content-sha256") == 0)
				facts->has_content_sha256 = true;
			continue;
		}
		if (tok != WJB_VALUE)
			continue;

		if (v.type == jbvString)
			add_header(&headers, name,
					   pnstrdup(v.val.string.val, v.val.string.len));
		else if (v.type == jbvBinary &&
				 JsonContainerIsArray(v.val.binary.data) &&
				 !JsonContainerIsScalar(v.val.binary.data))
		{
			JsonbIterator *ait = JsonbIteratorInit(v.val.binary.data);
			JsonbValue	elem;
			JsonbIteratorToken atok;
			int			nelems = 0;

			while ((atok = JsonbIteratorNext(&ait, &elem, true)) != WJB_DONE)
			{
				if (atok != WJB_ELEM)
					continue;
				if (elem.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("values of header \"%s\" must be strings",
									name)));
				add_header(&headers, name,
						   pnstrdup(elem.val.string.val, elem.val.string.len));
				nelems++;
			}
			if (nelems == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("header \"%s\" has an empty array of values",
								name),
						 errhint("Leave the header out instead.")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value of header \"%s\" must be a string or an array of strings",
							name)));
	}
	return headers;
}

static void
push_string(JsonbParseState **state, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(state, tok, &v);
}

static void
push_pair(JsonbParseState **state, const char *key, const char *value)
{
	push_string(state, WJB_KEY, key);
	push_string(state, WJB_VALUE, value);
}

/*
 * sign_and_wipe
 *		sigv4_sign(), then wipe our copy of the secret key (params points
 *		at it) whether or not signing succeeded.
 */
static void
sign_and_wipe(const SigV4Request *req, const SigV4Params *params,
			  SigV4Result *res, char *secret)
{
	PG_TRY();
	{
		sigv4_sign(req, params, res);
	}
	PG_FINALLY();
	{
		explicit_bzero(secret, strlen(secret));
	}
	PG_END_TRY();
}

/*
 * bedrock_sign_request
 *		SQL: bedrock_sign_request(method, url, headers, body, region,
 *		service, access_key_id, secret_access_key, session_token,
 *		signing_time, normalize_path) returns jsonb; see the file header.
 *		NULL for any of the first two or the last four required arguments
 *		gives NULL.  Service "s3" signs the path without double encoding,
 *		does not normalize it by default, and adds X-Amz-Content-SHA256.
 */
static Datum sign_request(FunctionCallInfo fcinfo);

Datum
bedrock_sign_request(PG_FUNCTION_ARGS)
{
	volatile Datum result = (Datum) 0;
	MemoryContext cxt = CurrentMemoryContext;

	/*
	 * The statement that called us holds a secret among its arguments: no
	 * error of ours may quote it (log_min_error_statement), whatever
	 * raised it.
	 */
	PG_TRY();
	{
		result = sign_request(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		ReThrowError(edata);
	}
	PG_END_TRY();
	return result;
}

/* bedrock_sign_request's work; its errors reach the caller without the statement */
static Datum
sign_request(FunctionCallInfo fcinfo)
{
	static const int required[] = {0, 1, 4, 5, 6, 7};
	SigV4Request req;
	SigV4Params params;
	SigV4Result res;
	ParsedUrl url;
	HeaderFacts facts = {0};
	List	   *headers = NIL;
	char	   *secret;
	char	   *content_sha256 = NULL;
	bool		is_s3;
	TimestampTz ts;
	JsonbParseState *state = NULL;
	JsonbValue *root;

	for (int i = 0; i < lengthof(required); i++)
		if (PG_ARGISNULL(required[i]))
			PG_RETURN_NULL();

	memset(&req, 0, sizeof(req));
	memset(&params, 0, sizeof(params));

	req.method = text_to_cstring(PG_GETARG_TEXT_PP(0));
	parse_url(text_to_cstring(PG_GETARG_TEXT_PP(1)), &url);
	if (!PG_ARGISNULL(2))
		headers = headers_from_jsonb(PG_GETARG_JSONB_P(2), &facts);
	if (!PG_ARGISNULL(3))
	{
		bytea	   *body = PG_GETARG_BYTEA_PP(3);

		req.payload = VARDATA_ANY(body);
		req.payload_len = VARSIZE_ANY_EXHDR(body);
	}

	params.region = text_to_cstring(PG_GETARG_TEXT_PP(4));
	params.service = text_to_cstring(PG_GETARG_TEXT_PP(5));
	params.access_key_id = text_to_cstring(PG_GETARG_TEXT_PP(6));
	secret = text_to_cstring(PG_GETARG_TEXT_PP(7));
	params.secret_access_key = secret;
	log_redact_remember(secret);
	if (!PG_ARGISNULL(8))
		params.session_token = text_to_cstring(PG_GETARG_TEXT_PP(8));
	log_redact_remember(params.session_token);
	if (params.session_token != NULL && params.session_token[0] == '\0')
		params.session_token = NULL;

	/* NULL means now(), like the default: the transaction's start time */
	ts = PG_ARGISNULL(9) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(9);
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("signing time must be finite")));
	params.signing_time = timestamptz_to_time_t(ts);

	is_s3 = strcmp(params.service, "s3") == 0;
	params.normalize_path = PG_ARGISNULL(10) ? !is_s3 : PG_GETARG_BOOL(10);
	params.double_encode_path = !is_s3;

	if (!facts.has_host)
	{
		if (url.host == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a URL without a host needs a Host header"),
					 errhint("Pass a full http:// or https:// URL, or add a \"host\" entry to the headers.")));
		add_header(&headers, "host", url.host);
	}
	if (is_s3 && !facts.has_content_sha256)
	{
		content_sha256 = palloc(SIGV4_HEX_LEN + 1);
		sigv4_sha256_hex(req.payload, req.payload_len, content_sha256);
		add_header(&headers, "x-amz-content-sha256", content_sha256);
	}

	req.path = url.path;
	req.query = url.query;
	req.headers = headers;

	sign_and_wipe(&req, &params, &res, secret);

	/* {"headers": {...}, "canonical_request": ..., ...} */
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_string(&state, WJB_KEY, "headers");
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_pair(&state, "authorization", res.authorization);
	push_pair(&state, "x-amz-date", res.amz_date);
	if (params.session_token != NULL)
		push_pair(&state, "x-amz-security-token", params.session_token);
	if (content_sha256 != NULL)
		push_pair(&state, "x-amz-content-sha256", content_sha256);
	if (!facts.has_host)
		push_pair(&state, "host", url.host);
	pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	push_pair(&state, "canonical_request", res.canonical_request);
	push_pair(&state, "string_to_sign", res.string_to_sign);
	push_pair(&state, "signed_headers", res.signed_headers);
	push_pair(&state, "signature", res.signature);
	root = pushJsonbValue(&state, WJB_END_OBJECT, NULL);

	PG_RETURN_JSONB_P(JsonbValueToJsonb(root));
}
