/*-------------------------------------------------------------------------
 *
 * xml_util.c
 *	  A tiny extractor for the XML that AWS Query services (STS) answer:
 *	  the text of an element found by name.
 *
 * This is not an XML parser.  It scans well-formed markup far enough to
 * find an element by name and the end tag that closes it, skipping
 * comments, processing instructions, CDATA sections and declarations, and
 * decodes the element's text: the five predefined entities, numeric
 * character references and CDATA.  Namespace prefixes are ignored (names
 * are matched by their local part).  Anything it does not understand
 * makes the lookup fail, never raise: the caller reports a malformed
 * response.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/xml_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "bedrock_fdw.h"
#include "xml_util.h"

/* The kinds of markup the scanner tells apart. */
typedef enum XmlMarkupKind
{
	XML_START_TAG,				/* <Name ...> */
	XML_EMPTY_TAG,				/* <Name .../> */
	XML_END_TAG,				/* </Name> */
	XML_OTHER					/* comment, PI, CDATA, declaration */
} XmlMarkupKind;

/* One piece of markup, from '<' to '>'. */
typedef struct XmlMarkup
{
	XmlMarkupKind kind;
	const char *name;			/* local name (tags only) */
	size_t		name_len;
	const char *after;			/* first byte after the markup */
} XmlMarkup;

/* starts_with: does [p, end) begin with the literal s? */
static bool
starts_with(const char *p, const char *end, const char *s)
{
	size_t		n = strlen(s);

	return (size_t) (end - p) >= n && memcmp(p, s, n) == 0;
}

/* find: first occurrence of the literal s in [p, end), or NULL. */
static const char *
find(const char *p, const char *end, const char *s)
{
	size_t		n = strlen(s);

	for (; (size_t) (end - p) >= n; p++)
	{
		if (memcmp(p, s, n) == 0)
			return p;
	}
	return NULL;
}

static bool
is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * read_markup
 *		Classify the markup that starts at p (which points at '<') and find
 *		where it ends.  False when it is unterminated or not well formed.
 */
static bool
read_markup(const char *p, const char *end, XmlMarkup *m)
{
	/* markup that is not a tag, by how it opens and closes */
	static const struct
	{
		const char *open;
		const char *close;
	}			others[] = {
		{"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?", "?>"}, {"<!", ">"}
	};
	const char *q;
	const char *name;
	const char *colon = NULL;
	char		quote = '\0';
	bool		end_tag;
	int			i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < lengthof(others); i++)
	{
		if (starts_with(p, end, others[i].open))
		{
			q = find(p + strlen(others[i].open), end, others[i].close);
			if (q == NULL)
				return false;
			m->kind = XML_OTHER;
			m->after = q + strlen(others[i].close);
			return true;
		}
	}

	end_tag = starts_with(p, end, "</");
	name = p + (end_tag ? 2 : 1);
	for (q = name; q < end && !is_xml_space(*q) && *q != '/' && *q != '>'; q++)
	{
		if (*q == ':')
			colon = q;
		if (*q == '<' || *q == '&' || *q == '"' || *q == '\'')
			return false;
	}
	if (colon != NULL)
		name = colon + 1;
	if (q == name)
		return false;
	m->name = name;
	m->name_len = q - name;

	/* attributes (start tags only); '>' may hide inside a quoted value */
	for (; q < end; q++)
	{
		if (quote != '\0')
		{
			if (*q == quote)
				quote = '\0';
		}
		else if (*q == '"' || *q == '\'')
		{
			if (end_tag)
				return false;
			quote = *q;
		}
		else if (*q == '<')
			return false;
		else if (*q == '>')
			break;
	}
	if (q >= end)
		return false;
	m->after = q + 1;
	if (end_tag)
		m->kind = XML_END_TAG;
	else if (q[-1] == '/')
		m->kind = XML_EMPTY_TAG;
	else
		m->kind = XML_START_TAG;
	return true;
}

static bool
name_is(const XmlMarkup *m, const char *name, size_t len)
{
	return m->name_len == len && memcmp(m->name, name, len) == 0;
}

/*
 * find_element
 *		Find the first element named name (local part, len bytes) in
 *		[start, end), at any depth, and return the span of its content.
 *		False when there is none or the markup is malformed.
 */
static bool
find_element(const char *start, const char *end, const char *name, size_t len,
			 const char **content_start, const char **content_end)
{
	const char *p = start;
	XmlMarkup	m;

	while ((p = memchr(p, '<', end - p)) != NULL)
	{
		if (!read_markup(p, end, &m))
			return false;
		p = m.after;
		if (m.kind == XML_EMPTY_TAG && name_is(&m, name, len))
		{
			*content_start = *content_end = p;
			return true;
		}
		if (m.kind == XML_START_TAG && name_is(&m, name, len))
		{
			const char *q = p;
			int			depth = 1;

			while ((q = memchr(q, '<', end - q)) != NULL)
			{
				XmlMarkup	inner;

				if (!read_markup(q, end, &inner))
					return false;
				if (inner.kind == XML_START_TAG)
					depth++;
				else if (inner.kind == XML_END_TAG && --depth == 0)
				{
					if (!name_is(&inner, name, len))
						return false;
					*content_start = p;
					*content_end = q;
					return true;
				}
				q = inner.after;
			}
			return false;		/* never closed */
		}
	}
	return false;
}

/*
 * decode_reference
 *		Decode the entity or character reference that starts at p ('&')
 *		into buf; return the first byte after it, or NULL when it is not
 *		one of the five predefined entities or a valid character reference.
 */
static const char *
decode_reference(const char *p, const char *end, StringInfo buf)
{
	static const struct
	{
		const char *name;
		char		c;
	}			entities[] = {
		{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}
	};
	int			i;

	for (i = 0; i < lengthof(entities); i++)
	{
		if (starts_with(p, end, entities[i].name))
		{
			appendStringInfoChar(buf, entities[i].c);
			return p + strlen(entities[i].name);
		}
	}
	if (starts_with(p, end, "&#"))
	{
		const char *q = p + 2;
		bool		hex = q < end && *q == 'x';
		pg_wchar	cp = 0;
		int			digits = 0;
		unsigned char utf8[8];

		if (hex)
			q++;
		for (; q < end && *q != ';'; q++, digits++)
		{
			int			d;

			if (*q >= '0' && *q <= '9')
				d = *q - '0';
			else if (hex && *q >= 'a' && *q <= 'f')
				d = *q - 'a' + 10;
			else if (hex && *q >= 'A' && *q <= 'F')
				d = *q - 'A' + 10;
			else
				return NULL;
			cp = cp * (hex ? 16 : 10) + d;
			if (cp > 0x10FFFF)
				return NULL;
		}
		if (q >= end || digits == 0 || cp == 0 ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return NULL;
		unicode_to_utf8(cp, utf8);
		appendBinaryStringInfo(buf, (const char *) utf8, pg_utf_mblen(utf8));
		return q + 1;
	}
	return NULL;
}

/*
 * decode_text
 *		The character data of [p, end) as a palloc'd UTF-8 string: entities
 *		and character references decoded, CDATA copied, comments and
 *		processing instructions dropped.  NULL when the span holds child
 *		elements, a bad reference or invalid UTF-8.
 */
static char *
decode_text(const char *p, const char *end)
{
	StringInfoData buf;

	initStringInfo(&buf);
	while (p < end)
	{
		if (*p == '&')
		{
			p = decode_reference(p, end, &buf);
			if (p == NULL)
				goto fail;
		}
		else if (*p == '<')
		{
			XmlMarkup	m;

			if (!read_markup(p, end, &m) || m.kind != XML_OTHER)
				goto fail;
			if (starts_with(p, end, "<![CDATA["))
				appendBinaryStringInfo(&buf, p + 9, m.after - 3 - (p + 9));
			else if (starts_with(p, end, "<!") && !starts_with(p, end, "<!--"))
				goto fail;		/* a declaration inside an element */
			p = m.after;
		}
		else
		{
			const char *next = p;

			while (next < end && *next != '&' && *next != '<')
				next++;
			appendBinaryStringInfo(&buf, p, next - p);
			p = next;
		}
	}
	if (!pg_verify_mbstr(PG_UTF8, buf.data, buf.len, true))
		goto fail;
	return buf.data;

fail:
	explicit_bzero(buf.data, buf.maxlen);
	pfree(buf.data);
	return NULL;
}

/*
 * xml_element_text
 *		The text of the element at path in the UTF-8 document xml[0..len),
 *		converted to the server encoding and palloc'd; NULL when there is no
 *		such element, it is not a text element, or the document is
 *		malformed.
 *
 *		path is a '/'-separated list of element names; each is looked for
 *		at any depth inside the previous one, the first in document order
 *		winning ("Credentials/AccessKeyId", "Error/Code").  Surrounding
 *		white space is kept, as XML has it.
 */
char *
xml_element_text(const char *xml, size_t len, const char *path)
{
	const char *start = xml;
	const char *end = xml + len;
	const char *name = path;
	char	   *text;
	char	   *converted;

	for (;;)
	{
		const char *slash = strchr(name, '/');
		size_t		nlen = slash ? (size_t) (slash - name) : strlen(name);

		if (nlen == 0 || !find_element(start, end, name, nlen, &start, &end))
			return NULL;
		if (slash == NULL)
			break;
		name = slash + 1;
	}

	text = decode_text(start, end);
	if (text == NULL)
		return NULL;
	converted = utf8_to_server(text, strlen(text));	/* always a copy */
	explicit_bzero(text, strlen(text));
	pfree(text);
	return converted;
}
