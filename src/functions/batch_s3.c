/*-------------------------------------------------------------------------
 *
 * batch_s3.c
 *	  The S3 objects of batch inference jobs, from SQL: put one object,
 *	  get one object as text, list the objects under a prefix.  Requests go
 *	  through aws_request (service "s3", path-style, S3's signing rules) to
 *	  bedrock.s3_endpoint, signed with the configured credential chain.
 *	  Objects are UTF-8 JSONL; what comes back is checked before it becomes
 *	  text.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/batch_s3.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "bedrock_fdw.h"
#include "aws_request.h"
#include "batch.h"
#include "xml_util.h"

PG_FUNCTION_INFO_V1(bedrock_batch_s3_put);
PG_FUNCTION_INFO_V1(bedrock_batch_s3_get);
PG_FUNCTION_INFO_V1(bedrock_batch_s3_list);

/* the most keys one ListObjectsV2 listing may return in all */
#define BATCH_S3_LIST_MAX_KEYS	1000000

/*
 * batch_s3_uri_parse
 *		Split "s3://bucket[/key]" into bucket and key (key "" when absent);
 *		raises 22023 for anything else.  The bucket must be a valid S3
 *		bucket name (lower case, digits, '.', '-', 3 to 63 characters).
 */
void
batch_s3_uri_parse(const char *uri, char **bucket, char **key)
{
	const char *b;
	const char *slash;
	size_t		blen;

	if (strncmp(uri, "s3://", 5) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not an S3 URI", uri),
				 errhint("Write it as s3://bucket/prefix.")));
	b = uri + 5;
	slash = strchr(b, '/');
	blen = slash ? (size_t) (slash - b) : strlen(b);
	if (blen < 3 || blen > 63)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the bucket name of \"%s\" is not between 3 and 63 characters long", uri)));
	for (size_t i = 0; i < blen; i++)
	{
		char		c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the bucket name of \"%s\" may hold only lower-case letters, digits, '.' and '-'", uri)));
	}
	*bucket = pnstrdup(b, blen);
	*key = pstrdup(slash ? slash + 1 : "");
}

/* A request to S3 with the settings' endpoint, filled in for operation. */
static void
s3_request_init(AwsRequest *req, const char *operation, const char *method,
				const char *bucket, const char *key)
{
	memset(req, 0, sizeof(*req));
	req->operation = operation;
	req->service = "s3";
	req->method = method;
	req->base_url = bedrock_s3_base_url();
	req->path = key[0] ? psprintf("/%s/%s", bucket, batch_uri_encode(key, true))
		: psprintf("/%s", bucket);
	req->s3 = true;
}

/*
 * bedrock.batch_s3_put(uri text, body text) RETURNS text
 *		PutObject: store body, converted to UTF-8, at uri; returns the ETag.
 */
Datum
bedrock_batch_s3_put(PG_FUNCTION_ARGS)
{
	char	   *uri = text_to_cstring(PG_GETARG_TEXT_PP(0));
	text	   *body = PG_GETARG_TEXT_PP(1);
	char	   *bucket;
	char	   *key;
	char	   *utf8;
	AwsRequest	req;
	AwsResult	res;
	const char *etag;

	batch_s3_uri_parse(uri, &bucket, &key);
	if (key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" names a bucket, not an object", uri)));
	utf8 = pg_server_to_any(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), PG_UTF8);
	s3_request_init(&req, "PutObject", "PUT", bucket, key);
	req.content_type = "application/jsonl";
	req.body = utf8;
	req.body_len = utf8 == VARDATA_ANY(body) ? VARSIZE_ANY_EXHDR(body) : strlen(utf8);
	aws_request_execute(&req, &res);
	if (!res.ok)
		aws_request_raise(&req, &res);
	etag = http_response_header(&res.response, "ETag");
	PG_RETURN_TEXT_P(cstring_to_text(etag ? etag : ""));
}

/*
 * bedrock.batch_s3_get(uri text, max_bytes bigint) RETURNS text
 *		GetObject: the object at uri as text (it must be UTF-8 without NUL
 *		bytes), NULL when there is no such key; larger than max_bytes is an
 *		error.
 */
Datum
bedrock_batch_s3_get(PG_FUNCTION_ARGS)
{
	char	   *uri = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		max_bytes = PG_GETARG_INT64(1);
	char	   *bucket;
	char	   *key;
	AwsRequest	req;
	AwsResult	res;
	char	   *server;

	if (max_bytes < 1 || max_bytes > (int64) MaxAllocSize - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_bytes must be between 1 and %d", (int) MaxAllocSize - 1)));
	batch_s3_uri_parse(uri, &bucket, &key);
	s3_request_init(&req, "GetObject", "GET", bucket, key);
	req.max_response_bytes = (size_t) max_bytes;
	aws_request_execute(&req, &res);
	if (!res.ok)
	{
		if (res.error.code != NULL && strcmp(res.error.code, "NoSuchKey") == 0)
			PG_RETURN_NULL();
		aws_request_raise(&req, &res);
	}
	if (!pg_verify_mbstr(PG_UTF8, res.response.body, (int) res.response.body_len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("S3 object \"%s\" is not valid UTF-8 text", uri)));
	server = pg_any_to_server(res.response.body, (int) res.response.body_len, PG_UTF8);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(server, server == res.response.body ?
											  (int) res.response.body_len : (int) strlen(server)));
}

/*
 * bedrock.batch_s3_list(uri text) RETURNS TABLE (key text, size bigint)
 *		ListObjectsV2 of every key under the prefix of uri
 *		("s3://bucket/prefix"), in key order, following continuation tokens.
 */
Datum
bedrock_batch_s3_list(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *uri = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *bucket;
	char	   *prefix;
	char	   *token = NULL;
	int64		listed = 0;

	InitMaterializedSRF(fcinfo, 0);
	batch_s3_uri_parse(uri, &bucket, &prefix);
	for (;;)
	{
		AwsRequest	req;
		AwsResult	res;
		StringInfoData q;
		const char *doc;
		size_t		len;
		const char *p;
		char	   *truncated;

		CHECK_FOR_INTERRUPTS();
		/* the canonical query is sorted: continuation-token, list-type, prefix */
		initStringInfo(&q);
		if (token != NULL)
			appendStringInfo(&q, "continuation-token=%s&", batch_uri_encode(token, false));
		appendStringInfo(&q, "list-type=2&prefix=%s", batch_uri_encode(prefix, false));
		s3_request_init(&req, "ListObjectsV2", "GET", bucket, "");
		req.query = q.data;
		aws_request_execute(&req, &res);
		if (!res.ok)
			aws_request_raise(&req, &res);
		doc = res.response.body;
		len = res.response.body_len;
		p = doc;
		while ((p = strstr(p, "<Contents>")) != NULL)
		{
			const char *end = strstr(p, "</Contents>");
			char	   *k;
			char	   *size;
			Datum		values[2];
			bool		nulls[2] = {false, false};

			if (end == NULL)
				break;
			end += strlen("</Contents>");
			k = xml_element_text(p, end - p, "Contents/Key");
			size = xml_element_text(p, end - p, "Contents/Size");
			if (k == NULL || size == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("S3 ListObjectsV2 answered an entry without a key or size")));
			if (++listed > BATCH_S3_LIST_MAX_KEYS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("more than %d objects under \"%s\"", BATCH_S3_LIST_MAX_KEYS, uri)));
			values[0] = CStringGetTextDatum(k);
			values[1] = Int64GetDatum(strtoi64(size, NULL, 10));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			p = end;
		}
		truncated = xml_element_text(doc, len, "ListBucketResult/IsTruncated");
		if (truncated == NULL || strcmp(truncated, "true") != 0)
			break;
		token = xml_element_text(doc, len, "ListBucketResult/NextContinuationToken");
		if (token == NULL || token[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("S3 ListObjectsV2 answered a truncated listing without a continuation token")));
	}
	return (Datum) 0;
}

/*
 * batch_uri_encode
 *		Percent-encode s once, as S3 and the control plane want it on the
 *		wire: every byte outside A-Z a-z 0-9 - . _ ~ (and '/', when
 *		keep_slash: an object key in a path), upper-case hex.
 */
char *
batch_uri_encode(const char *s, bool keep_slash)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			*p == '~' || (keep_slash && *p == '/'))
			appendStringInfoChar(&buf, (char) *p);
		else
			appendStringInfo(&buf, "%%%02X", *p);
	}
	return buf.data;
}
