/*-------------------------------------------------------------------------
 *
 * retry.h
 *	  AWS "standard" retry mode: which failures are retried, how long to
 *	  back off, and the retry quota.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/retry.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_RETRY_H
#define BEDROCK_RETRY_H

#include "aws_error.h"

typedef enum RetryClass
{
	RETRY_NEVER,				/* a client error, or the model failed */
	RETRY_THROTTLING,			/* 429 ThrottlingException and friends */
	RETRY_TRANSIENT,			/* 5xx, network failures, timeouts */
	RETRY_CLOCK_SKEW			/* signature expired: re-sign and retry */
} RetryClass;

/* in retry.c */
extern RetryClass retry_classify(const AwsError *err);
extern void retry_quota_request_shmem(void);
extern bool retry_quota_acquire(const AwsError *err, int *cost);
extern void retry_quota_release(bool retried, int last_cost);
extern long retry_backoff_ms(RetryClass rc, int attempt, const HttpResponse *resp);

#endif							/* BEDROCK_RETRY_H */
