/*-------------------------------------------------------------------------
 *
 * credential_cache.c
 *	  The server-wide AWS credential cache in shared memory.
 *
 * One copy of the current temporary credentials lives in shared memory,
 * behind an LWLock of our own tranche.  The background worker fills it
 * (credential_cache_publish) and keeps it fresh; every backend copies it
 * out for each call (credential_cache_get), so that steady state costs
 * no credential fetch per Bedrock call and one fetch per refresh period
 * for the whole server.
 *
 * A backend that finds no usable credentials asks the worker for a refresh
 * (a flag plus the worker's latch) and sleeps on a condition variable that
 * the worker broadcasts after every attempt, for at most
 * bedrock.credential_wait_ms.  A backend whose credentials Bedrock rejected
 * as expired or invalid reports the cache generation it used; the first
 * such report drops that generation and wakes the worker.
 *
 * Only process-independent data lives here: the credentials themselves,
 * counters, the worker's pid and its latch (which is in shared memory).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials/credential_cache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "credential_cache.h"
#include "worker_slot.h"

#define TRANCHE_NAME "bedrock_fdw"
/* credentials closer than this to expiry are not handed out */
#define MIN_REMAINING_LIFETIME_MS 10000
/* re-ask the worker this often while waiting (it may have restarted) */
#define WAIT_SLICE_MS 1000

typedef struct CredentialCacheShared
{
	LWLock	   *lock;
	ConditionVariable changed;	/* broadcast after every refresh attempt */
	WorkerSlot	worker;			/* the credentials worker */
	bool		refresh_wanted; /* a backend asked for credentials */
	bool		have_credentials;
	uint64		generation;		/* bumped when the credentials change */
	uint64		attempts;		/* bumped after every refresh attempt */
	AwsCredentials creds;
	TimestampTz last_refresh;
	TimestampTz last_attempt;
	char		last_error[CREDENTIAL_ERROR_MAXLEN];
	int64		refresh_count;
	int64		failure_count;
} CredentialCacheShared;

static CredentialCacheShared *cache = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
cache_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(CredentialCacheShared)));
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
}

static void
cache_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	cache = ShmemInitStruct("bedrock_fdw credential cache",
							sizeof(CredentialCacheShared), &found);
	if (!found)
	{
		memset(cache, 0, sizeof(CredentialCacheShared));
		cache->lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
		cache->worker.lock = cache->lock;
		ConditionVariableInit(&cache->changed);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * credential_cache_request_shmem
 *		Install the shared memory hooks; called from _PG_init while
 *		shared_preload_libraries is being processed.
 */
void
credential_cache_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = cache_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = cache_shmem_startup;
}

/* True when the library was preloaded and the shared cache exists. */
bool
credential_cache_available(void)
{
	return cache != NULL;
}

static bool
usable(const AwsCredentials *c, TimestampTz now)
{
	return c->expiration == 0 ||
		TimestampDifferenceExceeds(now, c->expiration, MIN_REMAINING_LIFETIME_MS);
}

/* Ask the worker for credentials: set the flag, set its latch. */
static void
request_refresh(void)
{
	Latch	   *latch;

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	cache->refresh_wanted = true;
	latch = cache->worker.latch;
	LWLockRelease(cache->lock);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * credential_cache_get
 *		Copy the shared credentials into *out.  When there are none that are
 *		usable, ask the worker and wait up to bedrock.credential_wait_ms for
 *		its next attempt.  Returns false with the reason in error when no
 *		usable credentials came.
 */
bool
credential_cache_get(AwsCredentials *out, uint64 *generation, StringInfo error)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   bedrock_credential_wait_ms);

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		uint64		seen_attempts;
		bool		worker_running;

		LWLockAcquire(cache->lock, LW_SHARED);
		if (cache->have_credentials && usable(&cache->creds, now))
		{
			memcpy(out, &cache->creds, sizeof(AwsCredentials));
			out->generation = cache->generation;
			*generation = cache->generation;
			LWLockRelease(cache->lock);
			return true;
		}
		seen_attempts = cache->attempts;
		worker_running = cache->worker.pid != 0;
		resetStringInfo(error);
		if (cache->last_error[0] != '\0')
			appendStringInfoString(error, cache->last_error);
		else if (cache->have_credentials)
			appendStringInfo(error, "the credentials from %s expired at %s and have not been refreshed",
							 cache->creds.source, timestamptz_to_str(cache->creds.expiration));
		else
			appendStringInfoString(error, worker_running
								   ? "the background worker has not fetched credentials yet"
								   : "the bedrock_fdw credentials worker is not running");
		LWLockRelease(cache->lock);

		if (now >= deadline)
			return false;
		request_refresh();

		/* sleep until the worker's next attempt, re-asking every second */
		ConditionVariablePrepareToSleep(&cache->changed);
		for (;;)
		{
			bool		attempted;
			long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

			LWLockAcquire(cache->lock, LW_SHARED);
			attempted = cache->attempts != seen_attempts;
			LWLockRelease(cache->lock);
			if (attempted || left <= 0)
				break;
			if (ConditionVariableTimedSleep(&cache->changed, Min(left, WAIT_SLICE_MS),
											PG_WAIT_EXTENSION))
				request_refresh();	/* timed out: the worker may be new */
		}
		ConditionVariableCancelSleep();
		/* loop: take what the attempt published, or give up past deadline */
	}
}

/*
 * credential_cache_wake_worker
 *		Wake the credentials worker (another cache of its has work).
 */
void
credential_cache_wake_worker(void)
{
	Latch	   *latch;

	LWLockAcquire(cache->lock, LW_SHARED);
	latch = cache->worker.latch;
	LWLockRelease(cache->lock);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * credential_cache_report_rejected
 *		Bedrock refused credentials of this generation (expired, revoked):
 *		drop them, unless a newer generation has replaced them already, and
 *		wake the worker.
 */
void
credential_cache_report_rejected(uint64 generation)
{
	Latch	   *latch = NULL;

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (cache->generation == generation && cache->have_credentials)
	{
		cache->have_credentials = false;
		explicit_bzero(&cache->creds, sizeof(cache->creds));
		cache->generation++;
		cache->refresh_wanted = true;
		latch = cache->worker.latch;
	}
	LWLockRelease(cache->lock);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * credential_cache_status
 *		A copy of everything but the secrets, for bedrock.credentials.
 */
void
credential_cache_status(CredentialCacheStatus *status)
{
	memset(status, 0, sizeof(*status));
	status->shared = true;
	LWLockAcquire(cache->lock, LW_SHARED);
	status->have_credentials = cache->have_credentials;
	strlcpy(status->source, cache->creds.source, sizeof(status->source));
	strlcpy(status->access_key_id, cache->creds.access_key_id, sizeof(status->access_key_id));
	status->expiration = cache->creds.expiration;
	status->last_refresh = cache->last_refresh;
	status->last_attempt = cache->last_attempt;
	strlcpy(status->last_error, cache->last_error, sizeof(status->last_error));
	status->refresh_count = cache->refresh_count;
	status->failure_count = cache->failure_count;
	status->worker_pid = cache->worker.pid;
	LWLockRelease(cache->lock);
}

/* ---- the worker's side ---- */

/*
 * credential_cache_attach_worker
 *		Announce the calling process as the worker that serves requests.
 */
void
credential_cache_attach_worker(void)
{
	worker_slot_attach(&cache->worker);
}

/*
 * credential_cache_publish
 *		Make freshly fetched credentials the current ones and wake waiters.
 */
void
credential_cache_publish(const AwsCredentials *creds)
{
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	memcpy(&cache->creds, creds, sizeof(AwsCredentials));
	cache->have_credentials = true;
	cache->generation++;
	cache->attempts++;
	cache->last_refresh = now;
	cache->last_attempt = now;
	cache->last_error[0] = '\0';
	cache->refresh_count++;
	cache->refresh_wanted = false;
	LWLockRelease(cache->lock);
	ConditionVariableBroadcast(&cache->changed);
}

/*
 * credential_cache_publish_failure
 *		Record a failed refresh; still-valid credentials stay in service.
 */
void
credential_cache_publish_failure(const char *error)
{
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	cache->attempts++;
	cache->failure_count++;
	cache->last_attempt = GetCurrentTimestamp();
	strlcpy(cache->last_error, error, sizeof(cache->last_error));
	cache->refresh_wanted = false;
	LWLockRelease(cache->lock);
	ConditionVariableBroadcast(&cache->changed);
}

/*
 * credential_cache_clear
 *		Forget the credentials (the settings that chose them changed).
 */
void
credential_cache_clear(void)
{
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	cache->have_credentials = false;
	explicit_bzero(&cache->creds, sizeof(cache->creds));
	cache->generation++;
	cache->last_error[0] = '\0';
	LWLockRelease(cache->lock);
}

/* Whether a backend has asked for credentials since the last attempt. */
bool
credential_cache_refresh_wanted(void)
{
	bool		wanted;

	LWLockAcquire(cache->lock, LW_SHARED);
	wanted = cache->refresh_wanted;
	LWLockRelease(cache->lock);
	return wanted;
}

/* The credentials in the cache, if any (for the worker's schedule). */
bool
credential_cache_current(AwsCredentials *out)
{
	bool		have;

	LWLockAcquire(cache->lock, LW_SHARED);
	have = cache->have_credentials;
	if (have)
		memcpy(out, &cache->creds, sizeof(AwsCredentials));
	LWLockRelease(cache->lock);
	return have;
}
