/*-------------------------------------------------------------------------
 *
 * secret_wipe.h
 *	  Free memory that held a secret only after overwriting it.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/secret_wipe.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_SECRET_WIPE_H
#define BEDROCK_SECRET_WIPE_H

#include "nodes/pg_list.h"

struct curl_slist;

extern void wipe_pfree_string(char *s);
extern void wipe_free_lines(List *lines);
extern void wipe_curl_slist_free_all(struct curl_slist *list);
extern void wipe_free(void *p, size_t len);
extern void *wipe_realloc(void *p, size_t len, size_t newsize);

#endif							/* BEDROCK_SECRET_WIPE_H */
