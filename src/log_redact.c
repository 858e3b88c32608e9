/*-------------------------------------------------------------------------
 *
 * log_redact.c
 *	  Keep AWS secrets out of the server log, of error reports and of the
 *	  remote messages we quote.
 *
 * Two complementary rules, applied by an emit_log_hook to every field of
 * every report (message, detail, detail_log, hint, context, internal
 * query) and to the statement that the report would quote:
 *
 * By value: every secret this process knows is replaced by "********"
 * wherever it appears.  The process knows the credential settings'
 * current values, the static keys of the server's environment, the
 * credentials it last signed with (temporary ones included) and every
 * value recently assigned to a credential setting (log_redact_remember).
 * Values shorter than MIN_SECRET_LEN are not searched for: they are no
 * real AWS secrets, and masking them would mangle ordinary text.
 *
 * By form: a value that is not current yet (the log line of a statement
 * is written before the statement runs) is recognised by the shape of an
 * assignment to a credential setting, in any of the spellings SQL allows:
 * the name plain, quoted ("bedrock"."secret_access_key"), with blanks or
 * comments around the dot, as a string literal (set_config), followed by
 * "=", TO or "changed to" and a value in any quoting (including E'',
 * dollar quotes, continuation lines and comments before the value).  A
 * text that holds a credential setting's name as a string literal, or
 * calls bedrock_sign_request, has all its string literals masked; so has
 * the "parameters:" detail of an extended-protocol statement of that
 * kind.  A report whose statement matches either rule does not quote it.
 *
 * The hook is active in every process that has loaded the library; with
 * shared_preload_libraries that includes the postmaster, which logs
 * configuration reloads.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/log_redact.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"

#include "bedrock_fdw.h"
#include "credentials.h"

#define REDACTED "********"

/* Shortest value searched for by value. */
#define MIN_SECRET_LEN 8

/* How many recently assigned or used secrets are remembered. */
#define REMEMBERED_SLOTS 8

static emit_log_hook_type prev_emit_log_hook = NULL;

/* The credential settings, without the "bedrock." prefix. */
static const char *const secret_names[] = {
	"access_key_id",
	"secret_access_key",
	"session_token",
	"external_id",
};

/*
 * Secrets this process assigned or used recently, wiped when replaced.
 * Static storage: the log hook must work without allocating them.
 */
static char remembered[REMEMBERED_SLOTS][AWS_SESSION_TOKEN_MAXLEN + 1];
static int	next_slot = 0;

/*
 * log_redact_remember
 *		Add value to the secrets masked by value (if it is long enough and
 *		not known yet).  Longer values than a session token are cut, which
 *		still masks their beginning.
 */
void
log_redact_remember(const char *value)
{
	int			i;

	if (value == NULL || strlen(value) < MIN_SECRET_LEN)
		return;
	for (i = 0; i < REMEMBERED_SLOTS; i++)
		if (strncmp(remembered[i], value, AWS_SESSION_TOKEN_MAXLEN) == 0)
			return;
	explicit_bzero(remembered[next_slot], sizeof(remembered[next_slot]));
	strlcpy(remembered[next_slot], value, sizeof(remembered[next_slot]));
	next_slot = (next_slot + 1) % REMEMBERED_SLOTS;
}

/* ---- by value ---- */

/*
 * mask_value
 *		Replace every occurrence of secret in s.  Returns s itself when there
 *		is none, else a new string in the current context.
 */
static char *
mask_value(char *s, const char *secret)
{
	StringInfoData out;
	const char *rest = s;
	const char *hit;
	size_t		len;

	if (secret == NULL || (len = strlen(secret)) < MIN_SECRET_LEN ||
		(hit = strstr(s, secret)) == NULL)
		return s;
	initStringInfo(&out);
	do
	{
		appendBinaryStringInfo(&out, rest, hit - rest);
		appendStringInfoString(&out, REDACTED);
		rest = hit + len;
	} while ((hit = strstr(rest, secret)) != NULL);
	appendStringInfoString(&out, rest);
	return out.data;
}

/*
 * mask_known_secrets
 *		s with every secret known to this process masked (see the file
 *		header); s itself when it holds none.
 */
static char *
mask_known_secrets(char *s)
{
	static const char *const env_secrets[] = {
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	};
	int			i;

	s = mask_value(s, bedrock_secret_access_key);
	s = mask_value(s, bedrock_session_token);
	s = mask_value(s, bedrock_external_id);
	for (i = 0; i < lengthof(env_secrets); i++)
		s = mask_value(s, getenv(env_secrets[i]));
	for (i = 0; i < REMEMBERED_SLOTS; i++)
		s = mask_value(s, remembered[i]);
	return s;
}

/*
 * mask_security_token
 *		Mask the value after every "x-amz-security-token" followed by ':'
 *		or '=' (a canonical request, a header line, a presigned URL), up to
 *		the next blank, quote, '&', ',' or ';'.  Returns s itself when there
 *		is none.
 */
static char *
mask_security_token(char *s)
{
	static const char name[] = "x-amz-security-token";
	StringInfoData out;
	const char *rest = s;
	const char *hit;
	bool		any = false;

	initStringInfo(&out);
	while ((hit = strcasestr(rest, name)) != NULL)
	{
		const char *v = hit + strlen(name);
		const char *e;

		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != ':' && *v != '=')
		{
			appendBinaryStringInfo(&out, rest, v - rest);
			rest = v;
			continue;
		}
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		for (e = v; *e && !isspace((unsigned char) *e) && !strchr("'\"&,;", *e); e++)
			;
		appendBinaryStringInfo(&out, rest, v - rest);
		if (e > v)
		{
			appendStringInfoString(&out, REDACTED);
			any = true;
		}
		rest = e;
	}
	if (!any)
	{
		pfree(out.data);
		return s;
	}
	appendStringInfoString(&out, rest);
	return out.data;
}

/* ---- by form: a small SQL lexer ---- */

typedef enum TokKind
{
	TOK_IDENT,					/* unquoted identifier or keyword */
	TOK_QIDENT,					/* "quoted identifier" */
	TOK_STRING,					/* '...', E'...', $tag$...$tag$ */
	TOK_OTHER					/* any other run or punctuation */
} TokKind;

typedef struct Tok
{
	TokKind		kind;
	int			start;			/* whole token */
	int			end;
	int			cstart;			/* contents, without quotes */
	int			cend;
	bool		mention;		/* part of a credential setting's name */
} Tok;

static bool
ident_start(unsigned char c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static bool
ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/*
 * skip_blank
 *		Skip white space and SQL comments (-- to the end of the line, nested
 *		C-style comments) from position i.
 */
static int
skip_blank(const char *s, int i)
{
	for (;;)
	{
		if (isspace((unsigned char) s[i]))
			i++;
		else if (s[i] == '-' && s[i + 1] == '-')
		{
			while (s[i] && s[i] != '\n')
				i++;
		}
		else if (s[i] == '/' && s[i + 1] == '*')
		{
			int			depth = 1;

			i += 2;
			while (s[i] && depth > 0)
			{
				if (s[i] == '/' && s[i + 1] == '*')
					depth++, i++;
				else if (s[i] == '*' && s[i + 1] == '/')
					depth--, i++;
				i++;
			}
		}
		else
			return i;
	}
}

/*
 * quoted_end
 *		Given the opening quote at s[i], the position of the closing one (a
 *		doubled quote does not close; with backslash escapes, neither does
 *		an escaped one), or the end of the string.
 */
static int
quoted_end(const char *s, int i, bool backslash)
{
	char		q = s[i];

	for (i++; s[i]; i++)
	{
		if (backslash && s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == q && s[i + 1] == q)
			i++;
		else if (s[i] == q)
			return i;
	}
	return i;
}

/*
 * lex
 *		Split s into tokens (blanks and comments dropped).  Unterminated
 *		quotes run to the end of s, so that a cut value is still masked.
 */
static Tok *
lex(const char *s, int *ntok)
{
	int			cap = 16;
	int			n = 0;
	Tok		   *toks = palloc(cap * sizeof(Tok));
	int			i = 0;

	while ((i = skip_blank(s, i)), s[i] != '\0')
	{
		Tok			t = {0};
		unsigned char c = (unsigned char) s[i];

		t.start = i;
		if (strchr("EeNnBbXx", c) && s[i + 1] == '\'')
		{
			int			close = quoted_end(s, i + 1, c == 'E' || c == 'e');

			t.kind = TOK_STRING;
			t.cstart = i + 2;
			t.cend = close;
			i = s[close] ? close + 1 : close;
		}
		else if ((c == 'U' || c == 'u') && s[i + 1] == '&' &&
				 (s[i + 2] == '\'' || s[i + 2] == '"'))
		{
			int			close = quoted_end(s, i + 2, false);

			t.kind = s[i + 2] == '\'' ? TOK_STRING : TOK_QIDENT;
			t.cstart = i + 3;
			t.cend = close;
			i = s[close] ? close + 1 : close;
		}
		else if (ident_start(c))
		{
			t.kind = TOK_IDENT;
			while (ident_char((unsigned char) s[i]))
				i++;
			t.cstart = t.start;
			t.cend = i;
		}
		else if (c == '\'' || c == '"')
		{
			int			close = quoted_end(s, i, false);

			t.kind = c == '\'' ? TOK_STRING : TOK_QIDENT;
			t.cstart = i + 1;
			t.cend = close;
			i = s[close] ? close + 1 : close;
		}
		else if (c == '$' && (s[i + 1] == '$' || ident_start((unsigned char) s[i + 1])))
		{
			int			j = i + 1;
			char	   *tag;
			const char *close;

			while (s[j] && s[j] != '$' && ident_char((unsigned char) s[j]))
				j++;
			if (s[j] != '$')
			{
				/* not a dollar quote after all */
				t.kind = TOK_OTHER;
				i = j;
				t.cstart = t.start;
				t.cend = i;
			}
			else
			{
				tag = pnstrdup(s + i, j + 1 - i);
				close = strstr(s + j + 1, tag);
				t.kind = TOK_STRING;
				t.cstart = j + 1;
				t.cend = close ? (int) (close - s) : (int) strlen(s);
				i = close ? t.cend + (int) strlen(tag) : t.cend;
				pfree(tag);
			}
		}
		else
		{
			t.kind = TOK_OTHER;
			i++;
			t.cstart = t.start;
			t.cend = i;
		}
		t.end = i;
		if (n == cap)
		{
			cap *= 2;
			toks = repalloc(toks, cap * sizeof(Tok));
		}
		toks[n++] = t;
	}
	*ntok = n;
	return toks;
}

/* Does the token's content equal word, ignoring case? */
static bool
tok_is(const char *s, const Tok *t, const char *word)
{
	int			len = t->cend - t->cstart;

	return (int) strlen(word) == len && pg_strncasecmp(s + t->cstart, word, len) == 0;
}

/* Is the token a name of a credential setting without its prefix? */
static bool
tok_is_secret_name(const char *s, const Tok *t)
{
	int			i;

	if (t->kind != TOK_IDENT && t->kind != TOK_QIDENT)
		return false;
	for (i = 0; i < lengthof(secret_names); i++)
		if (tok_is(s, t, secret_names[i]))
			return true;
	return false;
}

/*
 * tok_is_full_name
 *		Does a string or quoted identifier hold "bedrock.<secret name>"
 *		(surrounding blanks allowed)?
 */
static bool
tok_is_full_name(const char *s, const Tok *t)
{
	int			a = t->cstart;
	int			b = t->cend;
	int			i;

	if (t->kind != TOK_STRING && t->kind != TOK_QIDENT)
		return false;
	while (a < b && isspace((unsigned char) s[a]))
		a++;
	while (b > a && isspace((unsigned char) s[b - 1]))
		b--;
	if (b - a < 8 || pg_strncasecmp(s + a, "bedrock.", 8) != 0)
		return false;
	a += 8;
	for (i = 0; i < lengthof(secret_names); i++)
		if ((int) strlen(secret_names[i]) == b - a &&
			pg_strncasecmp(s + a, secret_names[i], b - a) == 0)
			return true;
	return false;
}

/*
 * FormScan
 *		What a text says by form: the byte ranges to mask, and whether it
 *		assigns or passes a secret at all.
 */
typedef struct FormScan
{
	bool	   *mask;			/* per byte of the text */
	bool		assigns;		/* any of the rules applied */
	bool		literal_mention;	/* a name as a string literal */
	bool		signs;			/* calls bedrock_sign_request */
} FormScan;

static void
mask_range(FormScan *fs, int a, int b)
{
	for (; a < b; a++)
		fs->mask[a] = true;
	fs->assigns = true;
}

/*
 * mask_value_tokens
 *		Mask the value that starts at token k (and the values of a list,
 *		and string literals continued on the next line).  A bare value runs
 *		to the next blank, ';', ',' or ')'.
 */
static void
mask_value_tokens(const char *s, Tok *toks, int ntok, int k, FormScan *fs)
{
	while (k < ntok)
	{
		Tok		   *t = &toks[k];

		if (t->kind == TOK_STRING || t->kind == TOK_QIDENT)
		{
			mask_range(fs, t->cstart, t->cend);
			k++;
			while (k < ntok && toks[k].kind == TOK_STRING)
			{
				mask_range(fs, toks[k].cstart, toks[k].cend);
				k++;
			}
		}
		else
		{
			int			e = t->start;

			if (s[e] == ';' || s[e] == ')')
				return;
			while (s[e] && !isspace((unsigned char) s[e]) && s[e] != ';' &&
				   s[e] != ',' && s[e] != ')')
				e++;
			mask_range(fs, t->start, e);
			while (k < ntok && toks[k].start < e)
				k++;
		}
		if (k < ntok && s[toks[k].start] == ',' && toks[k].kind == TOK_OTHER)
			k++;
		else
			return;
	}
}

/*
 * scan_fdw_options
 *		In a statement about a server or user mapping (CREATE/ALTER SERVER,
 *		CREATE/ALTER USER MAPPING), mask the string after an option name
 *		that holds a secret (secret_access_key, session_token, external_id:
 *		fdw_options.c), as in OPTIONS (ADD secret_access_key '...').
 */
static void
scan_fdw_options(const char *s, Tok *toks, int ntok, FormScan *fs)
{
	bool		about_fdw = false;
	int			k;

	for (k = 0; k < ntok && !about_fdw; k++)
		about_fdw = toks[k].kind == TOK_IDENT &&
			(tok_is(s, &toks[k], "mapping") || tok_is(s, &toks[k], "server"));
	if (!about_fdw)
		return;
	for (k = 0; k + 1 < ntok; k++)
	{
		if ((toks[k].kind == TOK_IDENT || toks[k].kind == TOK_QIDENT) &&
			toks[k + 1].kind == TOK_STRING &&
			(tok_is(s, &toks[k], "secret_access_key") ||
			 tok_is(s, &toks[k], "session_token") ||
			 tok_is(s, &toks[k], "external_id")))
			mask_value_tokens(s, toks, ntok, k + 1, fs);
	}
}

/*
 * scan_tokens
 *		Apply the rules by form to the tokens of s (see the file header),
 *		adding to fs.
 */
static void
scan_tokens(const char *s, FormScan *fs)
{
	int			ntok;
	Tok		   *toks = lex(s, &ntok);
	int			k;

	for (k = 0; k < ntok; k++)
	{
		int			after = -1; /* the token after a mention */

		if (toks[k].kind == TOK_IDENT && tok_is(s, &toks[k], "bedrock_sign_request"))
			fs->signs = true;
		else if (tok_is_full_name(s, &toks[k]))
		{
			toks[k].mention = true;
			if (toks[k].kind == TOK_STRING)
				fs->literal_mention = true;
			after = k + 1;
		}
		else if ((toks[k].kind == TOK_IDENT || toks[k].kind == TOK_QIDENT) &&
				 tok_is(s, &toks[k], "bedrock") && k + 2 < ntok &&
				 toks[k + 1].kind == TOK_OTHER && s[toks[k + 1].start] == '.' &&
				 tok_is_secret_name(s, &toks[k + 2]))
		{
			toks[k].mention = toks[k + 2].mention = true;
			after = k + 3;
		}
		if (after < 0 || after >= ntok)
			continue;

		/* name = value, name TO value, "name" changed to "value" */
		if (toks[after].kind == TOK_OTHER && s[toks[after].start] == '=')
			mask_value_tokens(s, toks, ntok, after + 1, fs);
		else if (toks[after].kind == TOK_IDENT && tok_is(s, &toks[after], "to"))
			mask_value_tokens(s, toks, ntok, after + 1, fs);
		else if (after + 1 < ntok && toks[after].kind == TOK_IDENT &&
				 tok_is(s, &toks[after], "changed") &&
				 tok_is(s, &toks[after + 1], "to"))
			mask_value_tokens(s, toks, ntok, after + 2, fs);
	}

	/* the secret options of bedrock_fdw's user mappings and servers */
	scan_fdw_options(s, toks, ntok, fs);

	/* set_config('bedrock.secret_access_key', ...), bedrock_sign_request(...) */
	if (fs->literal_mention || fs->signs)
	{
		for (k = 0; k < ntok; k++)
			if (toks[k].kind == TOK_STRING && !toks[k].mention)
				mask_range(fs, toks[k].cstart, toks[k].cend);
		fs->assigns = true;
	}
	pfree(toks);
}

/*
 * scan_form
 *		Apply the rules by form to s, and once more with the comment
 *		markers blanked, so that an assignment written inside a comment is
 *		found as well (the positions are the same in both passes).
 */
static void
scan_form(const char *s, FormScan *fs)
{
	size_t		len = strlen(s);
	char	   *uncommented;
	size_t		i;

	memset(fs, 0, sizeof(*fs));
	fs->mask = palloc0(len + 1);
	scan_tokens(s, fs);

	uncommented = pstrdup(s);
	for (i = 0; i + 1 < len; i++)
	{
		if ((s[i] == '/' && s[i + 1] == '*') || (s[i] == '*' && s[i + 1] == '/') ||
			(s[i] == '-' && s[i + 1] == '-'))
			uncommented[i] = uncommented[i + 1] = ' ';
	}
	if (strcmp(uncommented, s) != 0)
		scan_tokens(uncommented, fs);
	pfree(uncommented);
}

/*
 * apply_mask
 *		s with every masked run replaced by REDACTED; s itself when nothing
 *		is masked.
 */
static char *
apply_mask(char *s, const FormScan *fs)
{
	StringInfoData out;
	int			i;

	if (!fs->assigns)
		return s;
	initStringInfo(&out);
	for (i = 0; s[i]; i++)
	{
		if (!fs->mask[i])
			appendStringInfoChar(&out, s[i]);
		else if (i == 0 || !fs->mask[i - 1])
			appendStringInfoString(&out, REDACTED);
	}
	return out.data;
}

/*
 * redact_form
 *		s with the values the rules by form find masked; *matched is set
 *		when any rule applied.
 */
static char *
redact_form(char *s, bool *matched)
{
	FormScan	fs;
	char	   *result;

	scan_form(s, &fs);
	result = apply_mask(s, &fs);
	if (fs.assigns)
		*matched = true;
	pfree(fs.mask);
	return result;
}

/*
 * redact_text
 *		s with every secret masked, by value and by form; s itself when it
 *		holds none (NULL stays NULL).  *matched, when not NULL, is set when
 *		anything was masked.  Allocates in the current context.
 */
static char *
redact_text(char *s, bool *matched)
{
	char	   *result;
	bool		hit = false;

	if (s == NULL)
		return NULL;
	result = mask_security_token(mask_known_secrets(s));
	if (result != s)
		hit = true;
	result = redact_form(result, &hit);
	if (matched != NULL && hit)
		*matched = true;
	return result;
}

/*
 * bedrock_redact_remote
 *		A copy of a message a remote service sent (palloc'd), fit to be
 *		quoted in an error, JSON or a view: AWS signature errors quote the
 *		canonical request and the string to sign they expected, which carry
 *		the session token, so the message ends where they begin (the text
 *		before them is the usual message); then every secret is masked, by
 *		value and by form.
 */
char *
bedrock_redact_remote(const char *s)
{
	static const char *const cut_at[] = {
		"The Canonical String for this request should have been",
		"The canonical string for this request should have been",
		"The String-to-Sign should have been",
		"The string to sign for this request should have been",
	};
	char	   *copy = pstrdup(s);
	char	   *result;
	int			i;

	for (i = 0; i < lengthof(cut_at); i++)
	{
		char	   *p = strstr(copy, cut_at[i]);

		if (p != NULL)
		{
			explicit_bzero(p, strlen(p));
			while (p > copy && isspace((unsigned char) p[-1]))
				*--p = '\0';
			break;
		}
	}
	result = redact_text(copy, NULL);

	if (result != copy)
	{
		explicit_bzero(copy, strlen(copy));
		pfree(copy);
	}
	return result;
}

/*
 * bedrock_emit_log_hook
 *		Mask secrets in every field of the report; hide its statement when
 *		the statement holds one (by value or by form).  A statement that
 *		assigns a secret through parameters has its "parameters:" detail
 *		masked as well.
 */
static void
bedrock_emit_log_hook(ErrorData *edata)
{
	bool		stmt_secret = false;

	if (debug_query_string != NULL)
	{
		(void) redact_text((char *) debug_query_string, &stmt_secret);
		if (stmt_secret)
			edata->hide_stmt = true;
	}

	edata->message = redact_text(edata->message, NULL);
	edata->detail = redact_text(edata->detail, NULL);
	edata->detail_log = redact_text(edata->detail_log, NULL);
	edata->hint = redact_text(edata->hint, NULL);
	edata->context = redact_text(edata->context, NULL);
	edata->internalquery = redact_text(edata->internalquery, NULL);

	/*
	 * The "parameters: $1 = '...'" detail of a statement that passes a
	 * secret ("Parameters:" from PostgreSQL 16 on, translated under other
	 * lc_messages): recognised by its "$1 = ", whatever the wording.
	 */
	if (stmt_secret)
	{
		if (edata->detail != NULL && strstr(edata->detail, "$1 = ") != NULL)
			edata->detail = pstrdup("parameters: " REDACTED);
		if (edata->detail_log != NULL && strstr(edata->detail_log, "$1 = ") != NULL)
			edata->detail_log = pstrdup("parameters: " REDACTED);
	}

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
