/*-------------------------------------------------------------------------
 *
 * secret_wipe.c
 *	  Free memory that held a secret only after overwriting it.
 *
 * Request header lines carry the session token and the signature, request
 * bodies of STS carry web identity tokens, and response bodies of the
 * credential services carry secret keys.  Every such buffer goes through
 * one of these functions instead of pfree, free or realloc, so that no
 * copy is left behind in freed memory (a core dump, a later allocation's
 * uninitialised bytes).  explicit_bzero cannot be optimised away.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/secret_wipe.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "secret_wipe.h"

/*
 * wipe_pfree_string
 *		Overwrite a palloc'd NUL-terminated string and pfree it; NULL is
 *		accepted.
 */
void
wipe_pfree_string(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	pfree(s);
}

/*
 * wipe_free_lines
 *		Overwrite every palloc'd string of a list (header lines) and free
 *		the strings and the list.
 */
void
wipe_free_lines(List *lines)
{
	ListCell   *lc;

	foreach(lc, lines)
	{
		char	   *line = lfirst(lc);

		explicit_bzero(line, strlen(line));
	}
	list_free_deep(lines);
}

/*
 * wipe_curl_slist_free_all
 *		curl_slist_free_all, after overwriting every string of the list.
 */
void
wipe_curl_slist_free_all(struct curl_slist *list)
{
	struct curl_slist *node;

	for (node = list; node != NULL; node = node->next)
	{
		if (node->data != NULL)
			explicit_bzero(node->data, strlen(node->data));
	}
	curl_slist_free_all(list);
}

/*
 * wipe_free
 *		free() a malloc'd buffer after overwriting its first len bytes;
 *		NULL is accepted.
 */
void
wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

/*
 * wipe_realloc
 *		realloc() for a malloc'd buffer of which len bytes are in use, that
 *		leaves no copy behind: a new buffer is allocated, the bytes copied
 *		and the old buffer wiped and freed.  Returns NULL, leaving p as it
 *		was, when out of memory (never raises: safe in curl callbacks).
 */
void *
wipe_realloc(void *p, size_t len, size_t newsize)
{
	void	   *np = malloc(newsize);

	if (np == NULL)
		return NULL;
	if (p != NULL)
	{
		memcpy(np, p, Min(len, newsize));
		wipe_free(p, len);
	}
	return np;
}
