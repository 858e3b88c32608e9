/*-------------------------------------------------------------------------
 *
 * rate_limiter.h
 *	  The shared rate limiter: per-model request and token budgets set by
 *	  the DBA (bedrock.rate_limits), adaptive slowdown when Bedrock
 *	  throttles, enforced across all backends through shared memory.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/rate_limiter.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_RATE_LIMITER_H
#define BEDROCK_RATE_LIMITER_H

#include "datatype/timestamp.h"
#include "utils/guc.h"

/* the limits bedrock.rate_limits gives one model; 0 means no limit */
typedef struct ModelRateLimit
{
	int64		requests_per_minute;
	int64		tokens_per_minute;
} ModelRateLimit;

/* in rate_limit_config.c: the bedrock.rate_limits setting */
extern bool rate_limits_check_hook(char **newval, void **extra, GucSource source);
extern void rate_limits_assign_hook(const char *newval, void *extra);
extern const char *rate_limit_base_model(const char *model);
extern void rate_limit_for_model(const char *model, ModelRateLimit *limit);
extern bool rate_limits_configured(void);

/* in rate_limiter.c: the shared state and the admission decisions */
extern void rate_limiter_request_shmem(void);
extern long rate_limiter_admit(const char *model, int64 tokens_estimate,
							   bool batch, TimestampTz waiting_since);
extern void rate_limiter_observe(const char *model, bool throttled,
								 TimestampTz sent_at);
extern void rate_limiter_settle_tokens(const char *model, int64 reserved,
									   int64 actual);

#endif							/* BEDROCK_RATE_LIMITER_H */
