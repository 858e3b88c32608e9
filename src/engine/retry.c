/*-------------------------------------------------------------------------
 *
 * retry.c
 *	  AWS "standard" retry mode, as the SDKs implement it.
 *
 * Retried: throttling (ThrottlingException and the SDKs' throttling codes,
 * any 429), transient failures (500/502/503/504, InternalServerException,
 * ServiceUnavailableException, ModelNotReadyException, connection failures
 * and timeouts) and, once, a signature rejected for clock skew.  Never
 * retried: ModelTimeoutException, ModelErrorException, validation, access
 * and quota errors.
 *
 * Backoff is "full jitter": random[0,1) * min(base * 2^(attempt-1), 20 s),
 * base 500 ms for throttling and 100 ms for transient errors, raised to
 * an x-amz-retry-after hint (capped at 5 s above the computed delay).
 *
 * The retry quota is the SDKs' token bucket: 500 tokens, a retry costs 5
 * (10 after an attempt that timed out), a first-try success puts 1 back
 * and a success after retries puts back the cost of its last retry.  The
 * bucket is not refilled with time.  So it runs dry after 100 retries (50
 * after timeouts) only when no call succeeds meanwhile; successes stretch
 * it, as in the SDKs.  With an empty bucket a failure is returned at once
 * instead of retried, so a backend facing an outage stops multiplying its
 * traffic.  With the library
 * preloaded the bucket is in shared memory, one for the whole server (as
 * one SDK client shared by every thread of an application); loaded on
 * demand, each backend has its own.
 *
 * The shared bucket is shared fairly: a role (the session user) may hold
 * at most half of it at a time, counting the tokens its retries took less
 * the ones its successes put back.  A role whose calls fail on purpose
 * (with a timeout_ms of 1 ms, say) uses up its half and no more: the other
 * half still retries everyone else's calls.  The holdings of up to
 * RETRY_QUOTA_ROLES roles are counted one by one (a role holding nothing
 * gives its place to a new one); further roles share one more count.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/retry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "retry.h"

#define RETRY_QUOTA_MAX			500
#define RETRY_COST				5
#define RETRY_COST_TIMEOUT		10
#define BACKOFF_BASE_THROTTLING_MS	500
#define BACKOFF_BASE_TRANSIENT_MS	100
#define BACKOFF_CAP_MS			20000
#define RETRY_AFTER_SLACK_MS	5000

/* a role's share of the shared bucket */
#define RETRY_QUOTA_ROLE_SHARE	(RETRY_QUOTA_MAX / 2)
#define RETRY_QUOTA_ROLES		64
#define RETRY_OTHER_ROLES		RETRY_QUOTA_ROLES

typedef struct RetryQuotaRole
{
	Oid			role;			/* InvalidOid: free (or other roles) */
	int			held;			/* tokens taken less tokens put back */
} RetryQuotaRole;

typedef struct RetryQuota
{
	slock_t		mutex;
	int			tokens;
	RetryQuotaRole roles[RETRY_QUOTA_ROLES + 1];	/* shared bucket only */
} RetryQuota;

/* the shared bucket once attached, else this backend's own */
static RetryQuota local_quota = {.tokens = RETRY_QUOTA_MAX};
static RetryQuota *retry_quota = &local_quota;
static bool quota_shared = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static const char *const throttling_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException", "TransactionInProgressException",
	"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "SlowDown", "EC2ThrottledException",
};

static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
	"InternalServerException", "ServiceUnavailableException",
	"ModelNotReadyException",
};

static bool
code_in(const char *code, const char *const *list, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (strcmp(code, list[i]) == 0)
			return true;
	}
	return false;
}

/*
 * retry_classify
 *		Whether and how a failed attempt may be retried.
 */
RetryClass
retry_classify(const AwsError *err)
{
	switch (err->transport)
	{
		case HTTP_RESPONSE_RECEIVED:
			break;
		case HTTP_FAILED_DNS:
		case HTTP_FAILED_CONNECT:
		case HTTP_FAILED_TIMEOUT:
		case HTTP_FAILED_CONNECTION_LOST:
			return RETRY_TRANSIENT;
		default:
			return RETRY_NEVER;
	}

	if (strcmp(err->code, "InvalidSignatureException") == 0 &&
		(strstr(err->message, "Signature expired") != NULL ||
		 strstr(err->message, "Signature not yet current") != NULL))
		return RETRY_CLOCK_SKEW;
	if (code_in(err->code, throttling_codes, lengthof(throttling_codes)))
		return RETRY_THROTTLING;
	if (code_in(err->code, transient_codes, lengthof(transient_codes)))
		return RETRY_TRANSIENT;
	if (strcmp(err->code, "ModelTimeoutException") == 0 ||
		strcmp(err->code, "ModelErrorException") == 0)
		return RETRY_NEVER;
	if (err->http_status == 429)
		return RETRY_THROTTLING;
	if (err->http_status == 500 || err->http_status == 502 ||
		err->http_status == 503 || err->http_status == 504)
		return RETRY_TRANSIENT;
	return RETRY_NEVER;
}

static void
quota_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(RetryQuota)));
}

static void
quota_shmem_startup(void)
{
	bool		found;
	RetryQuota *shared;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("bedrock_fdw retry quota", sizeof(RetryQuota), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(RetryQuota));
		SpinLockInit(&shared->mutex);
		shared->tokens = RETRY_QUOTA_MAX;
	}
	LWLockRelease(AddinShmemInitLock);
	retry_quota = shared;
	quota_shared = true;
}

/*
 * retry_quota_request_shmem
 *		Put the retry quota in shared memory; called from _PG_init while
 *		shared_preload_libraries is being processed.
 */
void
retry_quota_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = quota_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = quota_shmem_startup;
}

/*
 * quota_role
 *		The holding of role in the shared bucket, taking a free place for a
 *		role not counted yet; the shared count of other roles when there is
 *		none.  The caller holds the mutex: a short loop, no call.
 */
static RetryQuotaRole *
quota_role(Oid role)
{
	RetryQuotaRole *free_place = NULL;

	for (int i = 0; i < RETRY_QUOTA_ROLES; i++)
	{
		RetryQuotaRole *r = &retry_quota->roles[i];

		if (r->role == role)
			return r;
		if (free_place == NULL && r->held == 0)
			free_place = r;
	}
	if (free_place == NULL)
		return &retry_quota->roles[RETRY_OTHER_ROLES];
	free_place->role = role;
	return free_place;
}

/*
 * retry_quota_acquire
 *		Take the cost of retrying the attempt that failed with err from the
 *		bucket (10 when it timed out, else 5), returned in *cost; false,
 *		taking nothing, when the bucket holds less.
 */
bool
retry_quota_acquire(const AwsError *err, int *cost)
{
	bool		granted = false;

	*cost = (err->transport == HTTP_FAILED_TIMEOUT) ? RETRY_COST_TIMEOUT : RETRY_COST;
	if (!quota_shared)
	{
		if (retry_quota->tokens >= *cost)
		{
			retry_quota->tokens -= *cost;
			granted = true;
		}
		return granted;
	}

	{
		Oid			role = GetSessionUserId();

		SpinLockAcquire(&retry_quota->mutex);
		{
			RetryQuotaRole *holder = quota_role(role);

			if (retry_quota->tokens >= *cost &&
				holder->held + *cost <= RETRY_QUOTA_ROLE_SHARE)
			{
				retry_quota->tokens -= *cost;
				holder->held += *cost;
				granted = true;
			}
		}
		SpinLockRelease(&retry_quota->mutex);
	}
	return granted;
}

/*
 * retry_quota_release
 *		Credit the bucket after a successful call: last_cost, the cost of
 *		its last retry, when it was retried, else 1; never above 500.  The
 *		calling role's holding goes down as much (not below 0).
 */
void
retry_quota_release(bool retried, int last_cost)
{
	int			credit = retried ? last_cost : 1;
	Oid			role;

	if (!quota_shared)
	{
		retry_quota->tokens = Min(retry_quota->tokens + credit, RETRY_QUOTA_MAX);
		return;
	}
	role = GetSessionUserId();
	SpinLockAcquire(&retry_quota->mutex);
	{
		RetryQuotaRole *holder = &retry_quota->roles[RETRY_OTHER_ROLES];

		for (int i = 0; i < RETRY_QUOTA_ROLES; i++)
			if (retry_quota->roles[i].role == role)
				holder = &retry_quota->roles[i];
		holder->held = Max(holder->held - credit, 0);
		retry_quota->tokens = Min(retry_quota->tokens + credit, RETRY_QUOTA_MAX);
	}
	SpinLockRelease(&retry_quota->mutex);
}

/*
 * retry_backoff_ms
 *		Delay before attempt number attempt+1, given that attempt (1-based)
 *		failed as rc.
 */
long
retry_backoff_ms(RetryClass rc, int attempt, const HttpResponse *resp)
{
	double		base = (rc == RETRY_THROTTLING) ? BACKOFF_BASE_THROTTLING_MS
		: BACKOFF_BASE_TRANSIENT_MS;
	double		ceiling = base;
	long		delay;
	const char *hint;

	if (rc == RETRY_CLOCK_SKEW)
		return 0;
	for (int i = 1; i < attempt && ceiling < BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > BACKOFF_CAP_MS)
		ceiling = BACKOFF_CAP_MS;
	delay = (long) (pg_prng_double(&pg_global_prng_state) * ceiling);

	hint = resp ? http_response_header(resp, "x-amz-retry-after") : NULL;
	if (hint != NULL)
	{
		char	   *end;
		long		after = strtol(hint, &end, 10);

		if (end != hint && *end == '\0' && after > 0)
			delay = Max(delay, Min(after, delay + RETRY_AFTER_SLACK_MS));
	}
	return delay;
}
