/*-------------------------------------------------------------------------
 *
 * sigv4.c
 *	  AWS Signature Version 4 (header signing) on OpenSSL.
 *
 * sigv4_sign() turns one HTTP request into the SigV4 canonical request,
 * string to sign and Authorization header value, exactly as botocore's
 * SigV4Auth and aws-c-auth do for header signing.  It does no I/O and
 * keeps no state; every output is palloc'd in the caller's context.  The
 * derived signing key lives only on the stack and in one palloc'd buffer,
 * and both are wiped before sigv4_sign() returns or raises.
 *
 * The rules, in the order the canonical request is written:
 *
 * - Canonical URI: the wire path (already percent-encoded once), with dot
 *	 segments removed and runs of '/' collapsed when normalize_path is set,
 *	 then percent-encoded once more when double_encode_path is set (every
 *	 service but S3), so "%3A" is signed as "%253A".
 * - Canonical query: '&'-separated pairs, split at the first '=',
 *	 percent-decoded, percent-encoded again with only the unreserved
 *	 characters kept, sorted by key and then by value.
 * - Canonical headers: names lower-cased, values trimmed with inner runs of
 *	 blanks folded to one space, repeated names joined with ',' in arrival
 *	 order, sorted by name.  Hop-by-hop and tracing headers (botocore's
 *	 blacklist) are never signed.  X-Amz-Date, and X-Amz-Security-Token
 *	 with temporary credentials, are added when the caller has not.
 * - Payload hash: a given X-Amz-Content-SHA256 header, else the SHA-256 of
 *	 the payload.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/sigv4.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/stringinfo.h"
#include "pgtime.h"
#include "utils/formatting.h"

#include "sigv4.h"

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR	"aws4_request"
#define SHA256_LEN			32

/* A header after canonicalisation, before repeated names are merged. */
typedef struct CanonHeader
{
	char	   *name;			/* lower-case */
	char	   *value;			/* trimmed, blanks folded */
	int			order;			/* arrival position, keeps the sort stable */
} CanonHeader;

/* A query parameter, both halves already in their signed encoding. */
typedef struct CanonParam
{
	char	   *key;
	char	   *value;
} CanonParam;

/* botocore's SIGNED_HEADERS_BLACKLIST, lower-case. */
static const char *const unsigned_headers[] = {
	"authorization",
	"connection",
	"expect",
	"keep-alive",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"user-agent",
	"x-amzn-trace-id",
};

static const char hexdigits_upper[] = "0123456789ABCDEF";
static const char hexdigits_lower[] = "0123456789abcdef";

/*
 * is_unreserved
 *		True for the RFC 3986 unreserved characters, the only bytes SigV4
 *		leaves literal: A-Z a-z 0-9 - . _ ~
 */
static inline bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * is_tchar
 *		True for an RFC 9110 "tchar", the characters of a token (header
 *		names and methods).
 */
static inline bool
is_tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * hex_value
 *		The value of one hex digit, or -1 when c is not one.
 */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * raise_openssl_error
 *		Report a failure of an OpenSSL call that cannot fail in practice
 *		(out of memory, or a FIPS provider refusing SHA-256).
 */
static void
raise_openssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_INVOCATION_EXCEPTION),
			 errmsg("could not compute %s", what),
			 reason ? errdetail_internal("OpenSSL: %s", reason) : 0));
}

static void
bytes_to_hex(const unsigned char *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = hexdigits_lower[in[i] >> 4];
		out[2 * i + 1] = hexdigits_lower[in[i] & 0x0F];
	}
	out[2 * len] = '\0';
}

/*
 * hmac_sha256
 *		out = HMAC-SHA256(key, data).  Returns false on an OpenSSL failure
 *		so that the caller can wipe its key material before raising.
 */
static bool
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			unsigned char out[SHA256_LEN])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX)
		return false;
	if (HMAC(EVP_sha256(), key, (int) keylen,
			 (const unsigned char *) data, len, out, &outlen) == NULL)
		return false;
	return outlen == SHA256_LEN;
}

/*
 * sigv4_sha256_hex
 *		Write the lower-case hex SHA-256 of data[0..len) to out.  data may be
 *		NULL when len is 0.
 */
void
sigv4_sha256_hex(const char *data, size_t len, char out[SIGV4_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (data == NULL)
		data = "";
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != SHA256_LEN)
		raise_openssl_error("SHA-256 digest");
	bytes_to_hex(md, SHA256_LEN, out);
}

/*
 * sigv4_uri_encode
 *		Percent-encode s[0..len) the SigV4 way: every byte but the unreserved
 *		characters (and '/', when keep_slash) becomes %XX with upper-case
 *		hex.  '%' itself is encoded, so an already-encoded string gets
 *		encoded a second time.  Returns a palloc'd string.
 */
char *
sigv4_uri_encode(const char *s, size_t len, bool keep_slash)
{
	char	   *out = palloc(len * 3 + 1);
	char	   *p = out;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_unreserved(c) || (keep_slash && c == '/'))
			*p++ = (char) c;
		else
		{
			*p++ = '%';
			*p++ = hexdigits_upper[c >> 4];
			*p++ = hexdigits_upper[c & 0x0F];
		}
	}
	*p = '\0';
	return out;
}

/*
 * percent_decode
 *		Decode %XX escapes in s[0..len) into a palloc'd buffer; *outlen gets
 *		the decoded length (the result may hold NUL bytes).  A '%' not
 *		followed by two hex digits is kept literally, and '+' stays '+' (a
 *		query string is not form data here).
 */
static char *
percent_decode(const char *s, size_t len, size_t *outlen)
{
	char	   *out = palloc(len + 1);
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		int			hi,
					lo;

		if (s[i] == '%' && i + 2 < len &&
			(hi = hex_value(s[i + 1])) >= 0 &&
			(lo = hex_value(s[i + 2])) >= 0)
		{
			out[n++] = (char) ((hi << 4) | lo);
			i += 2;
		}
		else
			out[n++] = s[i];
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/*
 * normalize_path
 *		Remove "." and ".." segments and empty segments (runs of '/') from an
 *		absolute path, as botocore's remove_dot_segments() does: ".." above
 *		the root is dropped, the result always starts with '/', and a
 *		trailing '/' is kept when the input had one and anything is left.
 *		An empty path gives "/".
 */
static char *
normalize_path(const char *path)
{
	size_t		len = strlen(path);
	const char **segs;
	size_t	   *seglens;
	int			nsegs = 0;
	const char *p = path;
	const char *end = path + len;
	StringInfoData buf;

	if (len == 0)
		return pstrdup("/");

	/* At most len/2 + 1 non-empty segments can be separated by '/'. */
	segs = palloc(sizeof(char *) * (len / 2 + 2));
	seglens = palloc(sizeof(size_t) * (len / 2 + 2));

	while (p < end)
	{
		const char *slash = memchr(p, '/', end - p);
		const char *segend = slash ? slash : end;
		size_t		seglen = segend - p;

		if (seglen == 0 || (seglen == 1 && p[0] == '.'))
		{
			/* empty or "." segment: drop */
		}
		else if (seglen == 2 && p[0] == '.' && p[1] == '.')
		{
			if (nsegs > 0)
				nsegs--;
		}
		else
		{
			segs[nsegs] = p;
			seglens[nsegs] = seglen;
			nsegs++;
		}
		p = slash ? slash + 1 : end;
	}

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '/');
	for (int i = 0; i < nsegs; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '/');
		appendBinaryStringInfo(&buf, segs[i], (int) seglens[i]);
	}
	if (nsegs > 0 && path[len - 1] == '/')
		appendStringInfoChar(&buf, '/');

	pfree(segs);
	pfree(seglens);
	return buf.data;
}

/*
 * canonical_uri
 *		The CanonicalURI line: see the file header.
 */
static char *
canonical_uri(const char *path, const SigV4Params *params)
{
	char	   *uri;

	if (params->normalize_path)
		uri = normalize_path(path);
	else
		uri = pstrdup(path[0] != '\0' ? path : "/");

	if (params->double_encode_path)
	{
		char	   *enc = sigv4_uri_encode(uri, strlen(uri), true);

		pfree(uri);
		uri = enc;
	}
	return uri;
}

static int
cmp_param(const void *a, const void *b)
{
	const CanonParam *pa = (const CanonParam *) a;
	const CanonParam *pb = (const CanonParam *) b;
	int			r = strcmp(pa->key, pb->key);

	return r != 0 ? r : strcmp(pa->value, pb->value);
}

/*
 * canonical_query
 *		The CanonicalQueryString line for a raw query string (no '?'; NULL
 *		or "" for none).  Empty pieces between '&'s are ignored; a piece
 *		without '=' is a key with an empty value.
 */
static char *
canonical_query(const char *query)
{
	CanonParam *params;
	int			nparams = 0;
	int			maxparams = 1;
	const char *p;
	const char *end;
	StringInfoData buf;

	if (query == NULL || query[0] == '\0')
		return pstrdup("");

	for (p = query; *p; p++)
		if (*p == '&')
			maxparams++;
	params = palloc(sizeof(CanonParam) * maxparams);

	p = query;
	end = query + strlen(query);
	while (p < end)
	{
		const char *amp = memchr(p, '&', end - p);
		const char *pend = amp ? amp : end;

		if (pend > p)
		{
			const char *eq = memchr(p, '=', pend - p);
			const char *kend = eq ? eq : pend;
			size_t		dlen;
			char	   *dec;

			dec = percent_decode(p, kend - p, &dlen);
			params[nparams].key = sigv4_uri_encode(dec, dlen, false);
			pfree(dec);
			if (eq)
			{
				dec = percent_decode(eq + 1, pend - (eq + 1), &dlen);
				params[nparams].value = sigv4_uri_encode(dec, dlen, false);
				pfree(dec);
			}
			else
				params[nparams].value = pstrdup("");
			nparams++;
		}
		p = amp ? amp + 1 : end;
	}

	if (nparams > 1)
		qsort(params, nparams, sizeof(CanonParam), cmp_param);

	initStringInfo(&buf);
	for (int i = 0; i < nparams; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '&');
		appendStringInfo(&buf, "%s=%s", params[i].key, params[i].value);
	}
	return buf.data;
}

static int
cmp_header(const void *a, const void *b)
{
	const CanonHeader *ha = (const CanonHeader *) a;
	const CanonHeader *hb = (const CanonHeader *) b;
	int			r = strcmp(ha->name, hb->name);

	if (r != 0)
		return r;
	return (ha->order > hb->order) - (ha->order < hb->order);
}

static bool
is_unsigned_header(const char *lname)
{
	for (int i = 0; i < lengthof(unsigned_headers); i++)
		if (strcmp(lname, unsigned_headers[i]) == 0)
			return true;
	return false;
}

/*
 * fold_header_value
 *		Trim leading and trailing blanks and replace every inner run of
 *		blanks with one space.  Returns a palloc'd string.
 */
static char *
fold_header_value(const char *value)
{
	char	   *out = palloc(strlen(value) + 1);
	char	   *o = out;
	const char *p = value;

	while (is_blank(*p))
		p++;
	while (*p)
	{
		if (is_blank(*p))
		{
			while (is_blank(*p))
				p++;
			if (*p)
				*o++ = ' ';
		}
		else
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/*
 * check_header
 *		Refuse a header name that is not an HTTP token and a value holding a
 *		line break.  The value is never part of the message: it may be a
 *		credential.
 */
static void
check_header(const SigV4Header *h)
{
	const char *p;

	if (h->name == NULL || h->name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("HTTP header name must not be empty")));
	for (p = h->name; *p; p++)
		if (!is_tchar((unsigned char) *p))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid HTTP header name \"%s\"", h->name),
					 errdetail("A header name may only contain letters, digits and the characters !#$%%&'*+-.^_`|~.")));
	if (h->value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("HTTP header \"%s\" has no value", h->name)));
	if (strpbrk(h->value, "\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for HTTP header \"%s\"", h->name),
				 errdetail("Header values must not contain carriage return, line feed or NUL characters.")));
}

/*
 * check_method
 *		Refuse an empty method or one that is not an HTTP token.
 */
static void
check_method(const char *method)
{
	if (method == NULL || method[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("HTTP method must not be empty")));
	for (const char *p = method; *p; p++)
		if (!is_tchar((unsigned char) *p))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid HTTP method"),
					 errdetail("An HTTP method may only contain letters, digits and the characters !#$%%&'*+-.^_`|~.")));
}

/*
 * check_scope_field
 *		Refuse an empty region, service or access key id, or one holding a
 *		character that would break the credential scope or the
 *		Authorization header ('/', ',', '=', blanks, controls, non-ASCII).
 *		The value itself is not echoed.
 */
static void
check_scope_field(const char *value, const char *what)
{
	if (value == NULL || value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("AWS %s must not be empty", what)));
	for (const char *p = value; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c <= 0x20 || c >= 0x7F || c == '/' || c == ',' || c == '=')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid character in AWS %s", what),
					 errdetail("It may only contain printable ASCII characters other than space, \"/\", \",\" and \"=\".")));
	}
}

/*
 * check_target
 *		Refuse a path or query holding control characters; they cannot go
 *		on the request line.
 */
static void
check_target(const char *s, const char *what)
{
	for (const char *p = s; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c < 0x20 || c == 0x7F)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("request %s must not contain control characters",
							what)));
	}
}

/*
 * collect_headers
 *		Canonicalise the caller's headers plus the ones the signer adds,
 *		sorted by name with repeated names still separate (in arrival
 *		order).  Returns the array and sets *count.
 */
static CanonHeader *
collect_headers(const SigV4Request *req, const SigV4Params *params,
				const char *amz_date, int *count)
{
	int			max = list_length(req->headers) + 2;
	CanonHeader *hdrs = palloc(sizeof(CanonHeader) * max);
	int			n = 0;
	bool		have_date = false;
	bool		have_token = false;
	bool		want_token = params->session_token != NULL &&
		params->session_token[0] != '\0';
	ListCell   *lc;

	foreach(lc, req->headers)
	{
		const SigV4Header *h = (const SigV4Header *) lfirst(lc);
		char	   *lname;

		check_header(h);
		lname = asc_tolower(h->name, strlen(h->name));
		if (is_unsigned_header(lname))
		{
			pfree(lname);
			continue;
		}
		hdrs[n].name = lname;
		hdrs[n].value = fold_header_value(h->value);
		hdrs[n].order = n;

		/*
		 * A caller-supplied date or token that disagrees with the signing
		 * parameters would make a signature no server accepts.
		 */
		if (strcmp(lname, "x-amz-date") == 0)
		{
			if (strcmp(hdrs[n].value, amz_date) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("X-Amz-Date header does not match the signing time"),
						 errhint("Leave the header out; the signer adds it.")));
			have_date = true;
		}
		else if (strcmp(lname, "x-amz-security-token") == 0)
		{
			if (want_token && strcmp(hdrs[n].value, params->session_token) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("X-Amz-Security-Token header does not match the session token"),
						 errhint("Leave the header out; the signer adds it.")));
			have_token = true;
		}
		n++;
	}

	if (!have_date)
	{
		hdrs[n].name = pstrdup("x-amz-date");
		hdrs[n].value = pstrdup(amz_date);
		hdrs[n].order = n;
		n++;
	}
	if (want_token && !have_token)
	{
		hdrs[n].name = pstrdup("x-amz-security-token");
		hdrs[n].value = fold_header_value(params->session_token);
		hdrs[n].order = n;
		n++;
	}

	qsort(hdrs, n, sizeof(CanonHeader), cmp_header);
	*count = n;
	return hdrs;
}

/*
 * format_amz_date
 *		YYYYMMDDTHHMMSSZ for a Unix time, in UTC.
 */
static void
format_amz_date(pg_time_t t, char out[SIGV4_AMZ_DATE_LEN + 1])
{
	struct pg_tm *tm = pg_gmtime(&t);
	int			year;

	if (tm == NULL ||
		(year = tm->tm_year + 1900) < 1 || year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("signing time is out of range"),
				 errdetail("SigV4 timestamps need a four-digit year.")));
	snprintf(out, SIGV4_AMZ_DATE_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ",
			 year, tm->tm_mon + 1, tm->tm_mday,
			 tm->tm_hour, tm->tm_min, tm->tm_sec);
}

/*
 * compute_signature
 *		Derive the signing key from the secret, date, region and service
 *		(section 4.4) and write hex(HMAC(kSigning, string_to_sign)) to out.
 *		Every intermediate key is wiped, on success and on failure.
 */
static void
compute_signature(const SigV4Params *params, const char *date8,
				  const char *string_to_sign, char out[SIGV4_HEX_LEN + 1])
{
	size_t		secret_len = strlen(params->secret_access_key);
	size_t		ksecret_len = 4 + secret_len;
	char	   *ksecret = palloc(ksecret_len + 1);
	unsigned char keys[4][SHA256_LEN];
	unsigned char sig[SHA256_LEN];
	bool		ok;

	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, params->secret_access_key, secret_len + 1);

	ok = hmac_sha256(ksecret, ksecret_len, date8, 8, keys[0]) &&
		hmac_sha256(keys[0], SHA256_LEN, params->region,
					strlen(params->region), keys[1]) &&
		hmac_sha256(keys[1], SHA256_LEN, params->service,
					strlen(params->service), keys[2]) &&
		hmac_sha256(keys[2], SHA256_LEN, SIGV4_TERMINATOR,
					strlen(SIGV4_TERMINATOR), keys[3]) &&
		hmac_sha256(keys[3], SHA256_LEN, string_to_sign,
					strlen(string_to_sign), sig);

	explicit_bzero(ksecret, ksecret_len + 1);
	pfree(ksecret);
	explicit_bzero(keys, sizeof(keys));

	if (!ok)
	{
		explicit_bzero(sig, sizeof(sig));
		raise_openssl_error("HMAC-SHA256 signature");
	}
	bytes_to_hex(sig, SHA256_LEN, out);
	explicit_bzero(sig, sizeof(sig));
}

/*
 * sigv4_sign
 *		Sign req with params and fill *result (see sigv4.h).  Raises an
 *		ERROR (22023) for a malformed method, header, path, region, service
 *		or key id, for a request without a Host header, and for an
 *		X-Amz-Date or X-Amz-Security-Token header that contradicts the
 *		signing time or session token (a caller's token header is signed
 *		as given when params has no token).  No message ever carries a
 *		header value or the secret key.
 */
void
sigv4_sign(const SigV4Request *req, const SigV4Params *params,
		   SigV4Result *result)
{
	CanonHeader *hdrs;
	int			nhdrs;
	bool		have_host = false;
	const char *payload_hash = NULL;
	char		date8[9];
	char		creq_hash[SIGV4_HEX_LEN + 1];
	char	   *uri;
	char	   *query;
	char	   *scope;
	StringInfoData creq;
	StringInfoData headers_buf;
	StringInfoData signed_buf;
	StringInfoData sts;

	check_method(req->method);
	if (req->path == NULL || req->path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request path must not be empty")));
	check_target(req->path, "path");
	if (req->query)
		check_target(req->query, "query");
	check_scope_field(params->region, "region");
	check_scope_field(params->service, "service");
	check_scope_field(params->access_key_id, "access key id");
	if (params->secret_access_key == NULL ||
		params->secret_access_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("AWS secret access key must not be empty")));
	if (params->session_token != NULL &&
		strpbrk(params->session_token, "\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid AWS session token"),
				 errdetail("A session token must not contain carriage return or line feed characters.")));

	memset(result, 0, sizeof(*result));
	format_amz_date(params->signing_time, result->amz_date);
	memcpy(date8, result->amz_date, 8);
	date8[8] = '\0';

	hdrs = collect_headers(req, params, result->amz_date, &nhdrs);

	/* Canonical and signed headers, merging repeated names. */
	initStringInfo(&headers_buf);
	initStringInfo(&signed_buf);
	for (int i = 0; i < nhdrs; i++)
	{
		int			first = i;
		StringInfoData value;

		initStringInfo(&value);
		appendStringInfoString(&value, hdrs[i].value);
		while (i + 1 < nhdrs && strcmp(hdrs[i + 1].name, hdrs[first].name) == 0)
		{
			i++;
			appendStringInfoChar(&value, ',');
			appendStringInfoString(&value, hdrs[i].value);
		}

		if (strcmp(hdrs[first].name, "host") == 0)
			have_host = true;
		else if (strcmp(hdrs[first].name, "x-amz-content-sha256") == 0)
			payload_hash = pstrdup(value.data);

		appendStringInfo(&headers_buf, "%s:%s\n", hdrs[first].name, value.data);
		if (signed_buf.len > 0)
			appendStringInfoChar(&signed_buf, ';');
		appendStringInfoString(&signed_buf, hdrs[first].name);
		explicit_bzero(value.data, value.len);
		pfree(value.data);
	}
	if (!have_host)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request to sign has no Host header")));

	if (payload_hash == NULL)
	{
		char	   *hex = palloc(SIGV4_HEX_LEN + 1);

		sigv4_sha256_hex(req->payload, req->payload ? req->payload_len : 0,
						 hex);
		payload_hash = hex;
	}

	uri = canonical_uri(req->path, params);
	query = canonical_query(req->query);

	initStringInfo(&creq);
	appendStringInfo(&creq, "%s\n%s\n%s\n%s\n%s\n%s",
					 req->method, uri, query, headers_buf.data,
					 signed_buf.data, payload_hash);
	sigv4_sha256_hex(creq.data, creq.len, creq_hash);

	scope = psprintf("%s/%s/%s/%s", date8, params->region, params->service,
					 SIGV4_TERMINATOR);
	initStringInfo(&sts);
	appendStringInfo(&sts, "%s\n%s\n%s\n%s", SIGV4_ALGORITHM,
					 result->amz_date, scope, creq_hash);

	compute_signature(params, date8, sts.data, result->signature);

	result->authorization =
		psprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
				 SIGV4_ALGORITHM, params->access_key_id, scope,
				 signed_buf.data, result->signature);
	result->canonical_request = creq.data;
	result->string_to_sign = sts.data;
	result->signed_headers = signed_buf.data;
	result->payload_hash = (char *) payload_hash;

	pfree(uri);
	pfree(query);
	pfree(scope);
	/* the canonical headers hold the session token */
	explicit_bzero(headers_buf.data, headers_buf.len);
	pfree(headers_buf.data);
	for (int i = 0; i < nhdrs; i++)
	{
		explicit_bzero(hdrs[i].value, strlen(hdrs[i].value));
		pfree(hdrs[i].value);
	}
	pfree(hdrs);
}

/*
 * sigv4_result_wipe
 *		Overwrite and free what sigv4_sign() allocated: the canonical
 *		request holds the session token, and the Authorization header is a
 *		credential until the signing time is 5 minutes old.  For callers
 *		that send the request (and keep what they need, copied); the fixed
 *		members are cleared too.
 */
void
sigv4_result_wipe(SigV4Result *result)
{
	char	   *strings[] = {result->authorization, result->canonical_request,
	result->string_to_sign, result->signed_headers, result->payload_hash};

	for (int i = 0; i < lengthof(strings); i++)
	{
		if (strings[i] != NULL)
		{
			explicit_bzero(strings[i], strlen(strings[i]));
			pfree(strings[i]);
		}
	}
	explicit_bzero(result, sizeof(*result));
}

/*
 * sigv4_header
 *		A palloc'd header for SigV4Request.headers; name and value are not
 *		copied and must outlive the signing.
 */
SigV4Header *
sigv4_header(const char *name, const char *value)
{
	SigV4Header *h = palloc(sizeof(SigV4Header));

	h->name = name;
	h->value = value;
	return h;
}
