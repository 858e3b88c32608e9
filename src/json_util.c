/*-------------------------------------------------------------------------
 *
 * json_util.c
 *	  Small helpers to parse AWS's JSON into jsonb, read members out of it,
 *	  and write JSON text.
 *
 * Bedrock speaks UTF-8.  Request bodies are composed in the server
 * encoding and converted once, at the end.  A response body is untrusted:
 * json_parse_untrusted checks everything that would make jsonb_in raise
 * (invalid UTF-8, nesting deeper than JSON_MAX_DEPTH, a \u0000 escape,
 * malformed JSON, characters the server encoding cannot represent) before
 * jsonb_in sees it, and says why it refused, so that a broken response
 * becomes a per-call failure instead of a statement abort; nothing of the
 * response goes into that reason.
 *
 * Text we did not produce (codes and messages from AWS) goes through
 * text_copy_clipped before it becomes a Datum: valid in the server
 * encoding, cut on character boundaries.  Header values need nothing:
 * http_response_header returns only printable ASCII.
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

#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "bedrock_fdw.h"

/*
 * Deepest nesting of arrays and objects we accept in a response: far
 * beyond anything Bedrock sends, well within the parsers' stack.
 */
#define JSON_MAX_DEPTH 1000

/*
 * scan_json_text
 *		One pass over UTF-8 JSON text for what pg_parse_json and jsonb_in
 *		would raise on rather than report: nesting deeper than
 *		JSON_MAX_DEPTH and the \u0000 escape, which no text Datum can
 *		hold.  Returns NULL when neither is there, else the reason.
 *		Syntax is pg_parse_json's business: this only follows strings.
 */
static const char *
scan_json_text(const char *s, size_t len)
{
	int			depth = 0;
	bool		in_string = false;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (in_string)
		{
			if (c == '"')
				in_string = false;
			else if (c == '\\' && i + 1 < len)
			{
				i++;
				if (s[i] == 'u' && i + 4 < len && strncmp(s + i + 1, "0000", 4) == 0)
					return "the response contains a NUL character (\\u0000), which PostgreSQL text cannot hold";
			}
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > JSON_MAX_DEPTH)
				return psprintf("the response nests arrays and objects deeper than %d levels",
								JSON_MAX_DEPTH);
		}
		else if (c == ']' || c == '}')
			depth--;
	}
	return NULL;
}

/*
 * jsonb_in_soft
 *		jsonb_in on text that json_parse_untrusted has checked; NULL,
 *		without raising, if jsonb_in refuses it all the same (a number out
 *		of numeric's range, an escape the server encoding cannot represent,
 *		a document over jsonb's size limits).
 *
 * Catching an ERROR without a subtransaction is only sound when the code
 * that raised it holds nothing a transaction abort would have to release.
 * jsonb_in on a NUL-terminated string in memory is such code: it takes no
 * lock, pins no buffer, opens no file and reads no catalog (the
 * conversion for \u escapes uses the conversion function set up at
 * connection start), and everything it allocates is in parsecxt, which
 * is deleted whatever happens.  errfinish zeroes InterruptHoldoffCount
 * before the longjmp; it is restored.  Only data exceptions (class 22)
 * and program limits (class 54) are caught: anything else (an interrupt,
 * out of memory) goes on as it came.  The error's text, which may quote
 * the response, is discarded.
 */
static Jsonb *
jsonb_in_soft(const char *server_text)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext parsecxt;
	uint32		save_holdoff = InterruptHoldoffCount;
	Jsonb	   *volatile result = NULL;

	parsecxt = AllocSetContextCreate(callercxt, "bedrock_fdw response parse",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(parsecxt);
	PG_TRY();
	{
		Jsonb	   *parsed = json_text_to_jsonb(server_text);

		MemoryContextSwitchTo(callercxt);
		result = palloc(VARSIZE(parsed));
		memcpy(result, parsed, VARSIZE(parsed));
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			category;

		MemoryContextSwitchTo(callercxt);
		InterruptHoldoffCount = save_holdoff;
		edata = CopyErrorData();
		category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
		if (category != ERRCODE_DATA_EXCEPTION &&
			category != ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		{
			FreeErrorData(edata);
			MemoryContextDelete(parsecxt);
			PG_RE_THROW();
		}
		FreeErrorData(edata);
		FlushErrorState();
		result = NULL;
	}
	PG_END_TRY();
	MemoryContextDelete(parsecxt);
	return result;
}

/*
 * json_parse_untrusted
 *		Parse UTF-8 JSON text of len bytes from the network into jsonb.
 *		Returns NULL, without raising, when it cannot become jsonb, with
 *		the reason in *why (a fixed sentence that quotes nothing of the
 *		text): not valid UTF-8, nested too deep, a NUL escape, not
 *		well-formed JSON, characters the server encoding cannot represent,
 *		or refused by jsonb_in.  Interrupts still raise.
 */
Jsonb *
json_parse_untrusted(const char *s, size_t len, const char **why)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;
	char	   *server_text;
	Jsonb	   *result;

	if (len > INT_MAX || !pg_verify_mbstr(PG_UTF8, s, (int) len, true))
	{
		*why = "the response is not valid UTF-8";
		return NULL;
	}
	if ((*why = scan_json_text(s, len)) != NULL)
		return NULL;
	lex = BedrockMakeJsonLexContext(s, (int) len, false);
	rc = pg_parse_json(lex, &nullSemAction);
	BedrockFreeJsonLexContext(lex);
	if (rc != JSON_SUCCESS)
	{
		*why = "the response is not valid JSON";
		return NULL;
	}
	server_text = utf8_to_server_noerror(s, (int) len);
	if (server_text == NULL)
	{
		*why = psprintf("the response has characters that the server encoding %s cannot represent",
						GetDatabaseEncodingName());
		return NULL;
	}
	result = jsonb_in_soft(server_text);
	if (result == NULL)
		*why = "the response cannot be stored as jsonb";
	return result;
}

/*
 * json_parse_utf8
 *		json_parse_untrusted for callers that need no reason.
 */
Jsonb *
json_parse_utf8(const char *s, size_t len)
{
	const char *why;

	return json_parse_untrusted(s, len, &why);
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

/*
 * convert_utf8
 *		Valid UTF-8 text as a palloc'd NUL-terminated string in the server
 *		encoding, without raising: a character the server encoding cannot
 *		represent becomes '?' when substitute is true, else the result is
 *		NULL.
 */
static char *
convert_utf8(const char *s, int len, bool substitute)
{
	int			enc = GetDatabaseEncoding();
	Oid			proc;
	StringInfoData out;
	unsigned char *buf;
	int			pos = 0;

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return pnstrdup(s, len);
	/* the conversion is found in the catalogs: only in a transaction */
	proc = IsTransactionState() ? FindDefaultConversionProc(PG_UTF8, enc) : InvalidOid;
	if (!OidIsValid(proc))
	{
		/* no conversion to use: ASCII is valid in every server encoding */
		char	   *out = pnstrdup(s, len);

		for (int i = 0; i < len; i++)
		{
			if (IS_HIGHBIT_SET(out[i]))
			{
				if (!substitute)
				{
					pfree(out);
					return NULL;
				}
				out[i] = '?';
			}
		}
		return out;
	}
	initStringInfo(&out);
	buf = palloc((size_t) Min(len, 65536) * MAX_CONVERSION_GROWTH + 1);
	while (pos < len)
	{
		int			chunk = Min(len - pos, 65536);
		int			done;

		/* never split a character between two chunks */
		chunk = pg_encoding_mbcliplen(PG_UTF8, s + pos, len - pos, chunk);
		if (chunk == 0)
			chunk = pg_utf_mblen((const unsigned char *) s + pos);
		done = pg_do_encoding_conversion_buf(proc, PG_UTF8, enc,
											 (unsigned char *) s + pos, chunk,
											 buf, chunk * MAX_CONVERSION_GROWTH + 1,
											 true);
		appendStringInfoString(&out, (char *) buf);
		pos += done;
		if (done < chunk)
		{
			/* an untranslatable character at pos */
			if (!substitute)
			{
				pfree(out.data);
				pfree(buf);
				return NULL;
			}
			appendStringInfoChar(&out, '?');
			pos += pg_utf_mblen((const unsigned char *) s + pos);
		}
	}
	pfree(buf);
	return out.data;
}

/*
 * utf8_to_server
 *		Valid UTF-8 text from AWS as a NUL-terminated string in the server
 *		encoding; characters it cannot represent become '?'.  Never raises
 *		for the text.
 */
char *
utf8_to_server(const char *s, int len)
{
	return convert_utf8(s, len, true);
}

/*
 * utf8_to_server_noerror
 *		Valid UTF-8 text in the server encoding, or NULL when it has a
 *		character the server encoding cannot represent.
 */
char *
utf8_to_server_noerror(const char *s, int len)
{
	return convert_utf8(s, len, false);
}

/*
 * text_clean
 *		A palloc'd copy of bytes we did not produce (a header, a code),
 *		fit for a text Datum: s itself when it is valid in the server
 *		encoding, else its printable ASCII bytes with '?' for the others.
 */
static char *
text_clean(const char *s)
{
	size_t		len = strlen(s);
	char	   *out;
	size_t		i;

	if (len <= INT_MAX && pg_verifymbstr(s, (int) len, true))
		return pnstrdup(s, len);
	out = palloc(len + 1);
	for (i = 0; i < len; i++)
		out[i] = (s[i] >= ' ' && s[i] < 0x7f) ? s[i] : '?';
	out[len] = '\0';
	return out;
}

/*
 * text_copy_clipped
 *		Copy s into the fixed-size buffer dst (dstsize bytes, NUL included)
 *		as text_clean makes it, cut on a character boundary when it does
 *		not fit: what is copied is always valid in the server encoding.
 */
void
text_copy_clipped(char *dst, size_t dstsize, const char *s)
{
	char	   *clean;
	int			len;

	Assert(dstsize > 0);
	clean = text_clean(s);
	len = strlen(clean);
	if ((size_t) len >= dstsize)
		len = pg_mbcliplen(clean, len, (int) dstsize - 1);
	memcpy(dst, clean, len);
	dst[len] = '\0';
	pfree(clean);
}
