/*-------------------------------------------------------------------------
 *
 * converse.h
 *	  The Bedrock Converse API: request body and response reading.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/converse.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CONVERSE_H
#define BEDROCK_CONVERSE_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "chat_options.h"
#include "usage.h"

/* in converse.c */
extern char *converse_build_body(const char *prompt, const char *system,
								 const ChatOptions *opts, size_t *len);
extern char *converse_raw_body(Jsonb *request, const char *funcname,
							   int position, size_t *len);
extern bool converse_append_result(StringInfo out, Jsonb *response);
extern void converse_fill_usage(Jsonb *response, UsageRecord *rec);
extern bool converse_has_output(Jsonb *response);

#endif							/* BEDROCK_CONVERSE_H */
