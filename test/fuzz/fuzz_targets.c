/*-------------------------------------------------------------------------
 *
 * fuzz_targets.c
 *	  libFuzzer targets for bedrock_fdw's parsers of untrusted input, run
 *	  inside a real (single-user) PostgreSQL backend.
 *
 * The parsers are backend code: they allocate with palloc, raise with
 * ereport and build jsonb with the server's own jsonb_in.  Rather than
 * imitating those, this file is built with the extension's objects into a
 * separate, fuzz-only loadable module (bedrock_fuzz.so, never installed)
 * and driven from SQL in "postgres --single": bedrock_fuzz(target, args)
 * hands control to libFuzzer (LLVMFuzzerRunDriver), which then calls one
 * of the targets below for every input.  Each input runs in a memory
 * context of its own that is reset afterwards, and an ERROR raised by the
 * code under test is caught and discarded: a clean SQL error is a correct
 * answer to hostile input.  Only a crash, a sanitizer report or a failed
 * check of ours (FUZZ_CHECK) is a finding.
 *
 * The objects are compiled with -fsanitize=fuzzer-no-link,address,undefined
 * and the server runs with the AddressSanitizer runtime preloaded
 * (test/fuzz/run-fuzz sets all of this up).
 *
 * Targets (input layout in each function's header):
 *	  sigv4			SigV4 canonicalisation and signing (src/sigv4.c)
 *	  converse		Converse response reading (src/engine/converse.c, src/json_util.c)
 *	  aws_error		AWS error responses (src/aws_error.c)
 *	  sts_xml		STS XML documents (src/aws/xml_util.c, as src/credentials/sts.c reads them)
 *	  credentials_json	IMDS / container credential documents
 *					(src/credentials/container_credentials.c, used by imds.c)
 *	  rate_limits	the bedrock.rate_limits rule parser (src/engine/rate_limit_config.c)
 *	  json_schema	schema checking and answer validation of bedrock_extract
 *					(src/engine/json_schema.c)
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_targets.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "aws_error.h"
#include "bedrock_fdw.h"
#include "converse.h"
#include "credentials.h"
#include "http.h"
#include "json_schema.h"
#include "rate_limiter.h"
#include "sigv4.h"
#include "usage.h"
#include "xml_util.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bedrock_fuzz);

/* libFuzzer's entry point when linked without its main() */
extern int	LLVMFuzzerRunDriver(int *argc, char ***argv,
								int (*cb) (const uint8_t *data, size_t size));

/* A failed invariant of ours: abort, so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, \
					__FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

/* ------------------------------------------------------------------------
 * Input helpers
 * ------------------------------------------------------------------------
 */

/* A cursor over the fuzzer's bytes, cut into lines. */
typedef struct Cursor
{
	const char *p;
	const char *end;
} Cursor;

/*
 * next_line
 *		palloc'd copy of the bytes up to the next '\n' (excluded), or of the
 *		rest; NULL when the input is used up.  Embedded NULs stay, so the C
 *		string simply ends early, as a C caller's string would.
 */
static char *
next_line(Cursor *c)
{
	const char *nl;
	char	   *line;

	if (c->p >= c->end)
		return NULL;
	nl = memchr(c->p, '\n', c->end - c->p);
	if (nl == NULL)
		nl = c->end;
	line = pnstrdup(c->p, nl - c->p);
	c->p = nl < c->end ? nl + 1 : c->end;
	return line;
}

/*
 * rest_copy
 *		palloc'd, NUL-terminated copy of what is left (as HttpResponse
 *		bodies are), with its length in *len.
 */
static char *
rest_copy(Cursor *c, size_t *len)
{
	size_t		n = c->end - c->p;
	char	   *copy = palloc(n + 1);

	memcpy(copy, c->p, n);
	copy[n] = '\0';
	*len = n;
	c->p = c->end;
	return copy;
}

/*
 * read_headers
 *		"Name: value" lines up to an empty line, as HttpHeaderField list
 *		(the form src/aws/http.c keeps response headers in).
 */
static List *
read_headers(Cursor *c)
{
	List	   *headers = NIL;
	char	   *line;

	while ((line = next_line(c)) != NULL && line[0] != '\0')
	{
		HttpHeaderField *f = palloc0(sizeof(HttpHeaderField));
		char	   *colon = strchr(line, ':');

		if (colon != NULL)
		{
			*colon = '\0';
			f->value = colon + 1;
			while (*f->value == ' ')
				f->value++;
		}
		else
			f->value = "";
		f->name = line;
		headers = lappend(headers, f);
	}
	return headers;
}

/* A server-encoded string we produced must be valid in that encoding. */
static void
check_server_text(const char *s)
{
	FUZZ_CHECK(pg_verify_mbstr(GetDatabaseEncoding(), s, strlen(s), true));
}

/* ------------------------------------------------------------------------
 * Targets
 * ------------------------------------------------------------------------
 */

/*
 * fuzz_sigv4
 *		Byte 0: flags (bit 0 normalize_path, bit 1 double_encode_path, bit 2
 *		session token).  Then lines: method, path, query ("-" for none),
 *		"Name: value" header lines up to an empty line, the payload.
 *		sigv4_uri_encode also gets the path, with and without keep_slash.
 */
static void
fuzz_sigv4(const uint8_t *data, size_t size)
{
	Cursor		c;
	SigV4Request req = {0};
	SigV4Params params = {0};
	SigV4Result result;
	ListCell   *lc;
	List	   *fields;
	char	   *encoded;
	int			flags;

	if (size < 1)
		return;
	flags = data[0];
	c.p = (const char *) data + 1;
	c.end = (const char *) data + size;

	req.method = next_line(&c);
	req.path = next_line(&c);
	req.query = next_line(&c);
	if (req.method == NULL || req.path == NULL || req.query == NULL)
		return;
	if (strcmp(req.query, "-") == 0)
		req.query = NULL;
	fields = read_headers(&c);
	foreach(lc, fields)
	{
		HttpHeaderField *f = lfirst(lc);
		SigV4Header *h = palloc(sizeof(SigV4Header));

		h->name = f->name;
		h->value = f->value;
		req.headers = lappend(req.headers, h);
	}
	req.payload = rest_copy(&c, &req.payload_len);

	encoded = sigv4_uri_encode(req.path, strlen(req.path), true);
	check_server_text(encoded);
	encoded = sigv4_uri_encode(req.path, strlen(req.path), false);
	FUZZ_CHECK(strchr(encoded, '/') == NULL);

	params.region = "us-east-1";
	params.service = "bedrock";
	params.access_key_id = "AKIDEXAMPLE";
	params.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	params.session_token = (flags & 4) ? "FQoGZXIvYXdzEXAMPLETOKEN" : NULL;
	params.signing_time = 1440938160;	/* 20150830T123600Z */
	params.normalize_path = (flags & 1) != 0;
	params.double_encode_path = (flags & 2) != 0;

	sigv4_sign(&req, &params, &result);
	FUZZ_CHECK(strlen(result.signature) == SIGV4_HEX_LEN);
	FUZZ_CHECK(strcmp(result.amz_date, "20150830T123600Z") == 0);
	FUZZ_CHECK(strstr(result.authorization, result.signature) != NULL);
	/* the secret is an input of the HMAC, never part of any output */
	FUZZ_CHECK(strstr(result.canonical_request, params.secret_access_key) == NULL);
	FUZZ_CHECK(strstr(result.string_to_sign, params.secret_access_key) == NULL);
	FUZZ_CHECK(strstr(result.authorization, params.secret_access_key) == NULL);
	/* the canonical request is one line per part: no raw newline may sneak in */
	FUZZ_CHECK(strchr(result.signed_headers, '\n') == NULL);
}

/*
 * fuzz_converse
 *		The input is a Converse response body, read as src/functions/chat.c reads a
 *		200 response: parse, check for output, append the result object,
 *		fill the usage record, and compose the result jsonb with the raw
 *		response in it.
 */
static void
fuzz_converse(const uint8_t *data, size_t size)
{
	Jsonb	   *response;
	StringInfoData members;
	UsageRecord usage;

	response = json_parse_utf8((const char *) data, size);
	if (response == NULL || !converse_has_output(response))
		return;

	memset(&usage, 0, sizeof(usage));
	converse_fill_usage(response, &usage);

	initStringInfo(&members);
	FUZZ_CHECK(converse_append_result(&members, response));
	appendStringInfoString(&members, ", \"response\": ");
	json_append_jsonb(&members, &response->root);
	check_server_text(members.data);
	(void) json_text_to_jsonb(psprintf("{%s}", members.data + 2));
}

/*
 * fuzz_aws_error
 *		Line 1: the HTTP status; then "Name: value" header lines up to an
 *		empty line; then the body.  The error is described, rendered as
 *		on_error JSON, and that JSON must parse.
 */
static void
fuzz_aws_error(const uint8_t *data, size_t size)
{
	Cursor		c = {(const char *) data, (const char *) data + size};
	HttpResponse resp = {0};
	AwsError	err;
	StringInfoData json;
	char	   *status = next_line(&c);

	if (status == NULL)
		return;
	resp.outcome = HTTP_RESPONSE_RECEIVED;
	resp.status = strtol(status, NULL, 10);
	resp.headers = read_headers(&c);
	resp.body = rest_copy(&c, &resp.body_len);

	aws_error_from_response(&resp, &err);
	FUZZ_CHECK(err.code != NULL && err.message != NULL);
	check_server_text(err.code);
	check_server_text(err.message);
	if (err.request_id)
		check_server_text(err.request_id);

	initStringInfo(&json);
	aws_error_append_json(&json, &err);
	check_server_text(json.data);
	/* the members are appended as ", key: value": make them an object */
	(void) json_text_to_jsonb(psprintf("{%s}", json.data[0] == ',' ? json.data + 1 : json.data));
}

/*
 * fuzz_sts_xml
 *		The input is an STS response document, read for every element
 *		src/credentials/sts.c looks for, then turned into credentials as an AssumeRole
 *		answer would be.
 */
static void
fuzz_sts_xml(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"Error/Code", "Error/Message", "RequestId",
		"GetCallerIdentityResult/Account", "GetCallerIdentityResult/Arn",
		"GetCallerIdentityResult/UserId",
	};
	const char *xml = (const char *) data;
	char	   *v[4];
	AwsCredentials creds;
	StringInfoData error;

	for (int i = 0; i < lengthof(paths); i++)
	{
		char	   *text = xml_element_text(xml, size, paths[i]);

		if (text != NULL)
			check_server_text(text);
	}

	v[0] = xml_element_text(xml, size, "Credentials/AccessKeyId");
	v[1] = xml_element_text(xml, size, "Credentials/SecretAccessKey");
	v[2] = xml_element_text(xml, size, "Credentials/SessionToken");
	v[3] = xml_element_text(xml, size, "Credentials/Expiration");
	initStringInfo(&error);
	if (credentials_fill_fetched(&creds, "assume_role", "STS AssumeRole",
								 v[0], v[1], v[2], v[3], &error) == CREDENTIALS_FETCHED)
	{
		FUZZ_CHECK(strlen(creds.access_key_id) <= AWS_ACCESS_KEY_ID_MAXLEN);
		FUZZ_CHECK(strlen(creds.session_token) <= AWS_SESSION_TOKEN_MAXLEN);
	}
	else
	{
		check_server_text(error.data);
		/* a failure message never quotes the secret */
		if (v[1] != NULL && strlen(v[1]) >= 8)
			FUZZ_CHECK(strstr(error.data, v[1]) == NULL);
	}
}

/*
 * fuzz_credentials_json
 *		The input is the JSON document an IMDS or container credential
 *		endpoint returns.
 */
static void
fuzz_credentials_json(const uint8_t *data, size_t size)
{
	AwsCredentials creds;
	StringInfoData error;

	initStringInfo(&error);
	if (credentials_from_json((const char *) data, size, "instance", "IMDS",
							  &creds, &error) == CREDENTIALS_FETCHED)
	{
		FUZZ_CHECK(creds.access_key_id[0] != '\0');
		FUZZ_CHECK(creds.secret_access_key[0] != '\0');
	}
	else
	{
		FUZZ_CHECK(error.len > 0);
		check_server_text(error.data);
	}
}

/*
 * fuzz_rate_limits
 *		Line 1: a bedrock.rate_limits value; every further line a model id
 *		to look up under the rules it gave.
 */
static void
fuzz_rate_limits(const uint8_t *data, size_t size)
{
	Cursor		c = {(const char *) data, (const char *) data + size};
	char	   *value = next_line(&c);
	char	   *newval;
	void	   *extra = NULL;
	char	   *model;

	if (value == NULL)
		return;
	newval = strdup(value);
	if (newval == NULL)
		elog(ERROR, "out of memory");
	if (!rate_limits_check_hook(&newval, &extra, PGC_S_SESSION))
	{
		free(newval);
		return;
	}
	rate_limits_assign_hook(newval, extra);
	PG_TRY();
	{
		while ((model = next_line(&c)) != NULL)
		{
			ModelRateLimit limit;

			rate_limit_for_model(model, &limit);
			FUZZ_CHECK(limit.requests_per_minute >= 0);
		}
	}
	PG_FINALLY();
	{
		rate_limits_assign_hook(NULL, NULL);
		free(extra);
		free(newval);
	}
	PG_END_TRY();
}

/*
 * fuzz_json_schema
 *		Line 1: a schema (JSON); the rest: a model's answer (JSON text from
 *		the network), read as src/functions/extract.c reads it: the schema
 *		checked (a refusal is an ERROR) and closed for structured output
 *		(which must be JSON again), the answer parsed as untrusted and
 *		validated; a failure must say where, in valid server text.
 */
static void
fuzz_json_schema(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	Jsonb	   *schema;
	Jsonb	   *answer;
	const char *why_parse = NULL;
	char	   *closed;
	StringInfoData why;
	JsonbValue	v;

	if (nl == NULL)
		return;
	schema = json_parse_utf8((const char *) data, nl - (const char *) data);
	if (schema == NULL)
		return;
	json_schema_check(schema, "bedrock_fuzz");
	/* the closed text sent as structured output is JSON again */
	closed = json_schema_closed_text(schema);
	FUZZ_CHECK(json_parse_utf8(closed, strlen(closed)) != NULL);
	answer = json_parse_untrusted(nl + 1, size - (nl + 1 - (const char *) data), &why_parse);
	if (answer == NULL || JB_ROOT_IS_SCALAR(answer))
		return;
	v.type = jbvBinary;
	v.val.binary.data = &answer->root;
	v.val.binary.len = VARSIZE(answer) - VARHDRSZ;
	initStringInfo(&why);
	if (!json_schema_validate(schema, &v, &why))
	{
		FUZZ_CHECK(why.len > 0 && why.data[0] == '$');
		check_server_text(why.data);
	}
	else
		FUZZ_CHECK(why.len == 0);
}

/* ------------------------------------------------------------------------
 * The driver
 * ------------------------------------------------------------------------
 */

typedef void (*FuzzTarget) (const uint8_t *data, size_t size);

static const struct
{
	const char *name;
	FuzzTarget	fn;
}			targets[] =
{
	{"sigv4", fuzz_sigv4},
	{"converse", fuzz_converse},
	{"aws_error", fuzz_aws_error},
	{"sts_xml", fuzz_sts_xml},
	{"credentials_json", fuzz_credentials_json},
	{"rate_limits", fuzz_rate_limits},
	{"json_schema", fuzz_json_schema},
};

static FuzzTarget current_target;
static MemoryContext input_context;
static MemoryContext driver_context;

/*
 * run_one
 *		libFuzzer's callback: one input through the current target, in a
 *		fresh memory context; an ERROR is the code's clean refusal and is
 *		discarded, anything worse is not caught here.
 */
static int
run_one(const uint8_t *data, size_t size)
{
	MemoryContext old = MemoryContextSwitchTo(input_context);

	PG_TRY();
	{
		current_target(data, size);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(driver_context);
		FlushErrorState();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(input_context);
	return 0;
}

/*
 * bedrock_fuzz
 *		SQL: bedrock_fuzz(target text, args text[]) returns integer.  Runs
 *		libFuzzer on target with the command-line arguments args (corpus
 *		directories, -max_total_time=..., -runs=..., files to replay).
 *		libFuzzer normally ends the process itself when it is done.
 */
Datum
bedrock_fuzz(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *args = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			argc;
	char	  **argv;
	int			rc;

	current_target = NULL;
	for (int i = 0; i < lengthof(targets); i++)
		if (strcmp(targets[i].name, name) == 0)
			current_target = targets[i].fn;
	if (current_target == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown fuzz target \"%s\"", name)));

	deconstruct_array(args, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls,
					  &nelems);
	argv = palloc0(sizeof(char *) * (nelems + 2));
	argv[0] = psprintf("bedrock_fuzz-%s", name);
	for (int i = 0; i < nelems; i++)
		argv[i + 1] = nulls[i] ? "" : TextDatumGetCString(elems[i]);
	argc = nelems + 1;

	driver_context = CurrentMemoryContext;
	input_context = AllocSetContextCreate(TopMemoryContext, "bedrock fuzz input",
										  ALLOCSET_DEFAULT_SIZES);
	rc = LLVMFuzzerRunDriver(&argc, &argv, run_one);
	PG_RETURN_INT32(rc);
}
