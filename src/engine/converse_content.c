/*-------------------------------------------------------------------------
 *
 * converse_content.c
 *	  Documents and images sent along with a prompt: options.documents
 *	  and options.images of bedrock_chat and its kin, checked against
 *	  Bedrock's limits before anything is sent, and the SQL helpers
 *	  bedrock_document() and bedrock_image(), which turn a bytea into such
 *	  an element so that nobody encodes base64 by hand.
 *
 * Bedrock's limits (Converse API reference, DocumentBlock and
 * ImageBlock): at most 5 documents of at most 4.5 MB each, and at most 20
 * images of at most 3.75 MB and 8,000 pixels a side each, per request; a
 * document name has 1 to 200 characters among letters, digits, single
 * spaces, hyphens, parentheses and square brackets, and no two documents
 * of a request share a name.  The bytes must be base64 and look like
 * their format (magic numbers, where the format has one).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/converse_content.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "bedrock_fdw.h"
#include "converse_features.h"

#define MAX_DOCUMENTS		5
#define MAX_DOCUMENT_BYTES	(4608 * 1024)	/* 4.5 MB */
#define MAX_DOCUMENT_NAME	200
#define MAX_IMAGES			20
#define MAX_IMAGE_BYTES		(3840 * 1024)	/* 3.75 MB */
#define MAX_IMAGE_SIDE		8000

static const char *const document_formats[] = {"pdf", "csv", "doc", "docx", "xls",
"xlsx", "html", "txt", "md", NULL};
static const char *const image_formats[] = {"png", "jpeg", "gif", "webp", NULL};

static bool
in_list(const char *s, const char *const *list)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/*
 * check_document_name
 *		Bedrock's rule for a document name; raises 22023 naming what (the
 *		element) when it is broken.
 */
static void
check_document_name(const char *what, const char *name)
{
	size_t		len = strlen(name);
	const char *p;

	if (len == 0 || len > MAX_DOCUMENT_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("name of %s must have 1 to %d characters", what, MAX_DOCUMENT_NAME),
				 errdetail("It has %zu.", len)));
	for (p = name; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == ' ' || c == '-' || c == '(' || c == ')' || c == '[' || c == ']'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("name of %s contains a character Bedrock does not allow", what),
					 errdetail("A document name has letters, digits, single spaces, hyphens, parentheses and square brackets only (Bedrock's rule)."),
					 errhint("Name it after what it is, such as \"Contract 2024-17\", without the file extension.")));
		if (c == ' ' && p[1] == ' ')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("name of %s contains consecutive spaces", what),
					 errdetail("Bedrock refuses more than one space in a row in a document name.")));
	}
}

/* Whether data starts with the len bytes of magic. */
static bool
starts_with(const unsigned char *data, size_t size, const char *magic, size_t len)
{
	return size >= len && memcmp(data, magic, len) == 0;
}

/*
 * check_content
 *		The decoded bytes of a document (is_image false) or an image of
 *		format: within Bedrock's size limit, and looking like the format
 *		where it has a magic number; an image no wider or higher than
 *		Bedrock takes where the header says so cheaply (PNG, GIF).
 */
static void
check_content(const char *what, bool is_image, const char *format,
			  const unsigned char *data, size_t size)
{
	size_t		max = is_image ? MAX_IMAGE_BYTES : MAX_DOCUMENT_BYTES;
	bool		ok = true;
	long		width = -1;
	long		height = -1;

	if (size == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is empty", what)));
	if (size > max)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s is too large", what),
				 errdetail("It has %zu bytes; Bedrock takes %s of at most %zu bytes (%s).",
						   size, is_image ? "images" : "documents", max,
						   is_image ? "3.75 MB" : "4.5 MB")));
	if (strcmp(format, "pdf") == 0)
		ok = starts_with(data, size, "%PDF-", 5);
	else if (strcmp(format, "docx") == 0 || strcmp(format, "xlsx") == 0)
		ok = starts_with(data, size, "PK\003\004", 4);
	else if (strcmp(format, "doc") == 0 || strcmp(format, "xls") == 0)
		ok = starts_with(data, size, "\320\317\021\340", 4);
	else if (strcmp(format, "png") == 0)
	{
		ok = starts_with(data, size, "\211PNG\r\n\032\n", 8) && size >= 24;
		if (ok)
		{
			width = ((long) data[16] << 24) | (data[17] << 16) | (data[18] << 8) | data[19];
			height = ((long) data[20] << 24) | (data[21] << 16) | (data[22] << 8) | data[23];
		}
	}
	else if (strcmp(format, "jpeg") == 0)
		ok = starts_with(data, size, "\377\330\377", 3);
	else if (strcmp(format, "gif") == 0)
	{
		ok = starts_with(data, size, "GIF8", 4) && size >= 10;
		if (ok)
		{
			width = data[6] | (data[7] << 8);
			height = data[8] | (data[9] << 8);
		}
	}
	else if (strcmp(format, "webp") == 0)
		ok = size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not a %s file", what, format),
				 errdetail("Its first bytes are not those of the format."),
				 errhint("Check the format, or that the column holds the file itself and not its base64 or hex text.")));
	if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s is too large", what),
				 errdetail("It is %ld by %ld pixels; Bedrock takes images of at most %d pixels a side.",
						   width, height, MAX_IMAGE_SIDE)));
}

/* The string member key of an element, or NULL; raises when not a string. */
static char *
element_string(JsonbContainer *elem, const char *key, const char *what)
{
	JsonbValue	v;

	if (json_get_key(elem, key, &v) == NULL || v.type == jbvNull)
		return NULL;
	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("member \"%s\" of %s must be a string", key, what)));
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/*
 * content_block
 *		Check one element of options.documents or options.images and return
 *		its Converse content block as JSON text.
 */
static char *
content_block(const char *what, bool is_image, JsonbContainer *elem,
			  List **names)
{
	JsonbIterator *it = JsonbIteratorInit(elem);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *name;
	char	   *format;
	char	   *b64;
	char	   *decoded;
	int			dlen;
	StringInfoData buf;

	/* every member known: a typo is an error, not a silent omission */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		if (!((v.val.string.len == 6 && strncmp(v.val.string.val, "format", 6) == 0) ||
			  (v.val.string.len == 5 && strncmp(v.val.string.val, "bytes", 5) == 0) ||
			  (!is_image && v.val.string.len == 4 && strncmp(v.val.string.val, "name", 4) == 0)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown member \"%.*s\" of %s", Min(v.val.string.len, 64),
							v.val.string.val, what),
					 is_image ? errhint("An image is {\"format\": ..., \"bytes\": ...}; bedrock_image(format, content) makes one.") :
					 errhint("A document is {\"name\": ..., \"format\": ..., \"bytes\": ...}; bedrock_document(name, format, content) makes one.")));
	}

	name = is_image ? NULL : element_string(elem, "name", what);
	format = element_string(elem, "format", what);
	b64 = element_string(elem, "bytes", what);
	if ((!is_image && name == NULL) || format == NULL || b64 == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s lacks member \"%s\"", what,
						(!is_image && name == NULL) ? "name" : format == NULL ? "format" : "bytes")));
	/* the format, the name and the content: content_check, once decoded */
	if (name != NULL)
	{
		ListCell   *lc;

		foreach(lc, *names)
			if (strcmp((const char *) lfirst(lc), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("two documents are named \"%s\"", name),
						 errdetail("Bedrock refuses a request whose documents share a name.")));
		*names = lappend(*names, name);
	}

	/* base64, decoded to check it and what it holds */
	decoded = palloc(pg_b64_dec_len(strlen(b64)) + 1);
	dlen = BedrockB64Decode(b64, strlen(b64), decoded, pg_b64_dec_len(strlen(b64)));
	if (dlen < 0 || strlen(b64) % 4 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("member \"bytes\" of %s is not valid base64", what),
				 errhint("Pass the file through %s, or encode(content, 'base64') without line breaks.",
						 is_image ? "bedrock_image(format, content)" : "bedrock_document(name, format, content)")));
	content_check(what, is_image, name, format, (unsigned char *) decoded, (size_t) dlen);
	pfree(decoded);

	initStringInfo(&buf);
	if (is_image)
		appendStringInfo(&buf, "{\"image\":{\"format\":\"%s\",\"source\":{\"bytes\":\"%s\"}}}",
						 format, b64);
	else
	{
		appendStringInfo(&buf, "{\"document\":{\"format\":\"%s\",\"name\":", format);
		json_append_string(&buf, name);
		appendStringInfo(&buf, ",\"source\":{\"bytes\":\"%s\"}}}", b64);
	}
	return buf.data;
}

/*
 * content_blocks_option
 *		options.documents or options.images (key): an array of elements,
 *		checked, appended to opts->content_blocks as Converse blocks.
 */
void
content_blocks_option(const char *funcname, const char *key,
					  const JsonbValue *v, ChatOptions *opts)
{
	bool		is_image = strcmp(key, "images") == 0;
	int			max = is_image ? MAX_IMAGES : MAX_DOCUMENTS;
	JsonbContainer *arr;
	List	   *names = NIL;
	int			n;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of %s must be an array of objects", key, funcname),
				 errhint("For example: '{\"%s\": [%s]}'.", key,
						 is_image ? "bedrock_image('png', content)" : "bedrock_document('Contract', 'pdf', content)")));
	arr = v->val.binary.data;
	n = JsonContainerSize(arr);
	if (n > max)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("option \"%s\" of %s has too many elements", key, funcname),
				 errdetail("It has %d; Bedrock takes at most %d %s per request.", n, max, key)));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		char	   *what = psprintf("element %d of option \"%s\" of %s", i + 1, key, funcname);

		if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be an object", what)));
		opts->content_blocks = lappend(opts->content_blocks,
									   content_block(what, is_image, e->val.binary.data, &names));
	}
	if (is_image)
		opts->image_count = n;
	else
		opts->document_count = n;
}

/*
 * content_check
 *		Check a document (is_image false; name not NULL) or an image about
 *		to become an element of options.documents or options.images: its
 *		format, name and bytes, against Bedrock's limits.  what names it in
 *		messages.  For bedrock_document() and bedrock_image().
 */
void
content_check(const char *what, bool is_image, const char *name,
			  const char *format, const unsigned char *data, size_t size)
{
	if (!in_list(format, is_image ? image_formats : document_formats))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid format of %s: \"%.32s\"", what, format),
				 is_image ? errhint("Bedrock takes images in formats png, jpeg, gif and webp.") :
				 errhint("Bedrock takes documents in formats pdf, csv, doc, docx, xls, xlsx, html, txt and md.")));
	if (name != NULL)
		check_document_name(what, name);
	check_content(what, is_image, format, data, size);
}
