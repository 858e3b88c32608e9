/*-------------------------------------------------------------------------
 *
 * json_util.c
 *	  Small helpers to parse AWS's JSON into jsonb, read members out of it,
 *	  and write JSON text.
 *
 * Bedrock speaks UTF-8.  Request bodies are composed in the server
 * encoding and converted once, at the end; response bodies are checked to
 * be valid UTF-8 and well-formed JSON before jsonb_in sees them, so that a
 * broken response becomes a clean protocol error instead of a parse error
 * in the middle of a call.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/json_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "bedrock_fdw.h"

/*
 * json_parse_utf8
 *		Parse UTF-8 JSON text of len bytes into jsonb.  Returns NULL, without
 *		raising, when the text is not valid UTF-8 or not well-formed JSON.
 */
Jsonb *
json_parse_utf8(const char *s, size_t len)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;
	char	   *server_text;

	if (len > INT_MAX || !pg_verify_mbstr(PG_UTF8, s, (int) len, true))
		return NULL;
	lex = BedrockMakeJsonLexContext(s, (int) len, false);
	rc = pg_parse_json(lex, &nullSemAction);
	BedrockFreeJsonLexContext(lex);
	if (rc != JSON_SUCCESS)
		return NULL;
	server_text = utf8_to_server(s, (int) len);
	return json_text_to_jsonb(server_text);
}

/*
 * json_text_to_jsonb
 *		jsonb from NUL-terminated JSON text in the server encoding; raises
 *		on malformed input (use it for text we composed ourselves).
 */
Jsonb *
json_text_to_jsonb(const char *json_text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json_text)));
}

/*
 * json_get_key
 *		Member key of an object container, or NULL when the container is not
 *		an object or has no such member.
 */
JsonbValue *
json_get_key(JsonbContainer *container, const char *key, JsonbValue *result)
{
	if (container == NULL || !JsonContainerIsObject(container))
		return NULL;
	return getKeyJsonValueFromContainer(container, key, strlen(key), result);
}

/*
 * member_container
 *		Container of a member that is an array (want_array) or an object,
 *		or NULL when absent or of the other kind.
 */
static JsonbContainer *
member_container(JsonbContainer *container, const char *key, bool want_array)
{
	JsonbValue	v;

	if (json_get_key(container, key, &v) == NULL || v.type != jbvBinary ||
		(want_array ? !JsonContainerIsArray(v.val.binary.data)
		 : !JsonContainerIsObject(v.val.binary.data)))
		return NULL;
	return v.val.binary.data;
}

/* Container of an object-valued member, or NULL. */
JsonbContainer *
json_get_object(JsonbContainer *container, const char *key)
{
	return member_container(container, key, false);
}

/* Container of an array-valued member, or NULL. */
JsonbContainer *
json_get_array(JsonbContainer *container, const char *key)
{
	return member_container(container, key, true);
}

/* palloc'd copy of a string member, or NULL when absent or not a string. */
char *
json_get_string(JsonbContainer *container, const char *key)
{
	JsonbValue	v;

	if (json_get_key(container, key, &v) == NULL || v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* A numeric member as double; false when absent or not a number. */
static bool
json_get_double(JsonbContainer *container, const char *key, double *result)
{
	JsonbValue	v;

	if (json_get_key(container, key, &v) == NULL || v.type != jbvNumeric)
		return false;
	*result = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
												 NumericGetDatum(v.val.numeric)));
	return true;
}

/* An integral numeric member; false when absent, not a number or out of range. */
bool
json_get_int64(JsonbContainer *container, const char *key, int64 *result)
{
	double		d;

	if (!json_get_double(container, key, &d) || isnan(d) ||
		d != floor(d) || fabs(d) > 9.0e15)
		return false;
	*result = (int64) d;
	return true;
}

/* Append a server-encoded string as a JSON string literal. */
void
json_append_string(StringInfo buf, const char *s)
{
	escape_json(buf, s);
}

/*
 * Append a jsonb container as JSON text.  A container has no varlena
 * header of its own (its first word is the member count and kind), so no
 * size estimate is passed: reading one there asked for up to 256 MB.
 */
void
json_append_jsonb(StringInfo buf, JsonbContainer *container)
{
	(void) JsonbToCString(buf, container, -1);
}

/* Server-encoded text as UTF-8 (the same pointer when nothing changes). */
char *
server_to_utf8(const char *s, int len)
{
	return pg_server_to_any(s, len, PG_UTF8);
}

/* UTF-8 text as a NUL-terminated string in the server encoding. */
char *
utf8_to_server(const char *s, int len)
{
	char	   *converted = pg_any_to_server(s, len, PG_UTF8);

	if (converted == s)
		return pnstrdup(s, len);
	return converted;
}
