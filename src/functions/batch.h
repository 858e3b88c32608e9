/*-------------------------------------------------------------------------
 *
 * batch.h
 *	  Helpers shared by the C parts of batch inference jobs (batch_s3.c,
 *	  batch_control.c).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/batch.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_BATCH_H
#define BEDROCK_BATCH_H

/* in batch_s3.c */
extern void batch_s3_uri_parse(const char *uri, char **bucket, char **key);
extern char *batch_uri_encode(const char *s, bool keep_slash);

#endif							/* BEDROCK_BATCH_H */
