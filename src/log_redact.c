/*-------------------------------------------------------------------------
 *
 * log_redact.c
 *	  Keep the credential settings out of the server log.
 *
 * PostgreSQL itself writes setting values into the log in two places we
 * cannot otherwise influence: the postmaster reports every setting a
 * configuration reload changed ("parameter "x" changed to "value""), and
 * log_statement / log_min_duration_statement / error reports quote the
 * statement text, which may be a SET or ALTER SYSTEM of a secret.  This
 * emit_log_hook masks the quoted value that follows the name of a
 * credential setting in any part of a log entry, and hides the STATEMENT
 * line of an entry whose statement assigns one.
 *
 * The hook is active in every process that has loaded the library; with
 * shared_preload_libraries that includes the postmaster, which is what
 * logs reloads.  The README therefore recommends preloading.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/log_redact.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tcop/tcopprot.h"
#include "utils/elog.h"

#include "bedrock_fdw.h"

#define REDACTED "********"

static emit_log_hook_type prev_emit_log_hook = NULL;

static const char *const secret_settings[] = {
	"bedrock.access_key_id",
	"bedrock.secret_access_key",
	"bedrock.session_token",
	"bedrock.external_id",
};

/*
 * next_mention
 *		The first mention of a credential setting's name in s, or NULL;
 *		*len gets the name's length.
 */
static const char *
next_mention(const char *s, size_t *len)
{
	const char *first = NULL;
	int			i;

	for (i = 0; i < lengthof(secret_settings); i++)
	{
		const char *hit = strcasestr(s, secret_settings[i]);

		if (hit != NULL && (first == NULL || hit < first))
		{
			first = hit;
			*len = strlen(secret_settings[i]);
		}
	}
	return first;
}

/*
 * value_end
 *		Given the first byte of a value, the byte just past it: for a
 *		'single' or "double" quoted value the closing quote (a doubled quote
 *		does not close), for a $tag$ quoted one the closing tag, otherwise
 *		the first blank, ';' or ','.  *skip_open gets the length of the
 *		opening quote.
 */
static const char *
value_end(const char *v, int *skip_open)
{
	const char *q;

	*skip_open = 0;
	if (*v == '\'' || *v == '"')
	{
		char		quote = *v;

		for (q = v + 1; *q; q++)
		{
			if (*q == quote && q[1] == quote)
				q++;
			else if (*q == quote)
				break;
		}
		*skip_open = 1;
		return q;
	}
	if (*v == '$' && (q = strchr(v + 1, '$')) != NULL)
	{
		int			taglen = (int) (q - v) + 1;
		const char *close;

		close = strstr(q + 1, pnstrdup(v, taglen));
		*skip_open = taglen;
		return close ? close : q + 1 + strlen(q + 1);
	}
	for (q = v; *q && *q != ' ' && *q != '\t' && *q != '\n' && *q != ';' && *q != ','; q++)
		;
	return q;
}

/*
 * find_secret_value
 *		Find in s the first value assigned to a credential setting, in any
 *		of the forms  name = value,  name TO value  and
 *		"name" changed to "value".  Sets *start and *end around the value
 *		(quotes excluded) and returns true, or returns false.
 */
static bool
find_secret_value(const char *s, const char **start, const char **end)
{
	const char *name;
	size_t		len;

	while ((name = next_mention(s, &len)) != NULL)
	{
		const char *p = name + len;
		int			skip_open;

		if (*p == '"')
			p++;				/* closing quote of a quoted name */
		while (*p == ' ' || *p == '\t')
			p++;
		if (pg_strncasecmp(p, "changed to", 10) == 0)
			p += 10;
		else if (*p == '=')
			p++;
		else if (pg_strncasecmp(p, "to", 2) == 0 && (p[2] == ' ' || p[2] == '\t'))
			p += 2;
		else
		{
			s = name + len;		/* a mention, not an assignment */
			continue;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if ((*p == 'E' || *p == 'e') && p[1] == '\'')
			p++;
		*end = value_end(p, &skip_open);
		*start = p + skip_open;
		if (*end < *start)
			*end = *start;
		return true;
	}
	return false;
}

/*
 * redact
 *		A copy of s with every credential value masked, or s itself when it
 *		mentions none.  Allocates in the current (error) context.
 */
static char *
redact(char *s)
{
	StringInfoData out;
	const char *rest = s;
	const char *vstart;
	const char *vend;

	if (s == NULL || !find_secret_value(s, &vstart, &vend))
		return s;

	initStringInfo(&out);
	do
	{
		appendBinaryStringInfo(&out, rest, vstart - rest);
		appendStringInfoString(&out, REDACTED);
		rest = vend;
	} while (find_secret_value(rest, &vstart, &vend));
	appendStringInfoString(&out, rest);
	return out.data;
}

static void
bedrock_emit_log_hook(ErrorData *edata)
{
	const char *vstart;
	const char *vend;

	edata->message = redact(edata->message);
	edata->detail = redact(edata->detail);
	edata->detail_log = redact(edata->detail_log);
	edata->context = redact(edata->context);
	edata->internalquery = redact(edata->internalquery);
	if (debug_query_string != NULL &&
		find_secret_value(debug_query_string, &vstart, &vend))
		edata->hide_stmt = true;

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * log_redact_init
 *		Install the hook; called once from _PG_init.
 */
void
log_redact_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = bedrock_emit_log_hook;
}
