/*-------------------------------------------------------------------------
 *
 * document_image.c
 *	  bedrock_document(name, format, content) and bedrock_image(format,
 *	  content): an element of options.documents or options.images made
 *	  from a bytea, checked against Bedrock's limits, so that nobody
 *	  encodes base64 by hand.  No network.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/document_image.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "bedrock_fdw.h"
#include "converse_features.h"

PG_FUNCTION_INFO_V1(bedrock_document);
PG_FUNCTION_INFO_V1(bedrock_image);

/* {"name"?: ..., "format": ..., "bytes": base64 of content} as jsonb */
static Datum
content_element(const char *name, const char *format, bytea *content, bool is_image)
{
	const char *what = is_image ? "the image" : "the document";
	char	   *data = VARDATA_ANY(content);
	int			len = VARSIZE_ANY_EXHDR(content);
	int			elen = pg_b64_enc_len(len);
	char	   *b64 = palloc(elen + 1);
	int			n;
	StringInfoData buf;

	content_check(what, is_image, name, format, (unsigned char *) data, (size_t) len);
	n = BedrockB64Encode(data, len, b64, elen);
	if (n < 0)
		elog(ERROR, "could not encode base64");
	b64[n] = '\0';

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	if (name != NULL)
	{
		appendStringInfoString(&buf, "\"name\": ");
		json_append_string(&buf, name);
		appendStringInfoString(&buf, ", ");
	}
	appendStringInfo(&buf, "\"format\": \"%s\", \"bytes\": \"%s\"}", format, b64);
	return JsonbPGetDatum(json_text_to_jsonb(buf.data));
}

/*
 * bedrock_document
 *		SQL: bedrock_document(name text, format text, content bytea)
 *		RETURNS jsonb: an element of options.documents.  STRICT.
 */
Datum
bedrock_document(PG_FUNCTION_ARGS)
{
	return content_element(text_to_cstring(PG_GETARG_TEXT_PP(0)),
						   text_to_cstring(PG_GETARG_TEXT_PP(1)),
						   PG_GETARG_BYTEA_PP(2), false);
}

/*
 * bedrock_image
 *		SQL: bedrock_image(format text, content bytea) RETURNS jsonb: an
 *		element of options.images.  STRICT.
 */
Datum
bedrock_image(PG_FUNCTION_ARGS)
{
	return content_element(NULL, text_to_cstring(PG_GETARG_TEXT_PP(0)),
						   PG_GETARG_BYTEA_PP(1), true);
}
