/*-------------------------------------------------------------------------
 *
 * extract_refusals.h
 *	  The models that refused structured output, per database and server,
 *	  remembered in shared memory for bedrock_extract's method "auto".
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/extract_refusals.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_EXTRACT_REFUSALS_H
#define BEDROCK_EXTRACT_REFUSALS_H

#define EXTRACT_REFUSALS_MAX	256		/* remembered at most (server, model) */

/* in extract_refusals.c */
extern void extract_refusals_request_shmem(void);
extern bool extract_refused_before(const char *server, const char *model);
extern void extract_remember_refusal(const char *server, const char *model);

#endif							/* BEDROCK_EXTRACT_REFUSALS_H */
