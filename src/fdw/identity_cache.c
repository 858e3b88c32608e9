/*-------------------------------------------------------------------------
 *
 * identity_cache.c
 *	  The shared-memory cache of the credentials of every (server, user
 *	  mapping) identity, filled by the credentials worker.
 *
 * An entry is keyed by database, server, user mapping and role (the
 * session tags name the database and the role, so two roles sharing the
 * PUBLIC mapping are two identities).  It holds what the worker needs to
 * fetch the identity without reading a catalog (IdentitySpec, which the
 * backend computed from the catalogs) and the credentials last fetched.
 *
 * A backend that finds no usable credentials for its identity marks the
 * entry wanted, wakes the worker and waits on a condition variable for
 * at most bedrock.credential_wait_ms; it never calls STS itself.  The
 * worker (identity_cache_service) fetches one identity at a time: each
 * entry is fetched on request and refreshed ahead of expiry while it is
 * in use, so an identity costs at most one fetch per refresh period and a
 * thousand backends using it cost no more than one.  When a backend finds
 * the catalogs describe the identity differently (ALTER SERVER, ALTER USER
 * MAPPING), it replaces the entry's description and drops its
 * credentials.  Entries unused for a while are reused when the table,
 * bedrock.max_identities entries long, is full.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/identity_cache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "credential_cache.h"
#include "http.h"

#define TRANCHE_NAME "bedrock_fdw identities"
/* credentials closer than this to expiry are not handed out */
#define MIN_REMAINING_LIFETIME_MS 10000
/* a wanted entry that failed is fetched again at most this often */
#define MIN_ATTEMPT_SPACING_MS 1000
#define BACKOFF_MAX_MS 60000
/* an entry unused this long may be given to another identity */
#define IDLE_REUSE_MS (10 * 60 * 1000)
#define WAIT_SLICE_MS 1000

typedef struct IdentitySlot
{
	bool		in_use;
	IdentityKey key;
	IdentitySpec spec;
	char		server_name[NAMEDATALEN];
	bool		have;
	bool		wanted;			/* a backend waits for a fetch */
	AwsCredentials creds;
	uint64		generation;
	TimestampTz fetched_at;
	TimestampTz last_used;
	TimestampTz last_attempt;
	TimestampTz next_attempt;	/* after a failure; 0: at once */
	long		backoff_ms;
	char		last_error[1024];
	int64		refresh_count;
	int64		failure_count;
} IdentitySlot;

typedef struct IdentityCacheShared
{
	LWLock	   *lock;
	ConditionVariable changed;	/* broadcast after every fetch attempt */
	uint64		attempts;
	int			nslots;
	IdentitySlot slots[FLEXIBLE_ARRAY_MEMBER];
} IdentityCacheShared;

static IdentityCacheShared *icache = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
icache_size(void)
{
	return add_size(offsetof(IdentityCacheShared, slots),
					mul_size(sizeof(IdentitySlot), bedrock_max_identities));
}

static void
icache_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(icache_size()));
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
}

static void
icache_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	icache = ShmemInitStruct("bedrock_fdw identity cache", icache_size(), &found);
	if (!found)
	{
		memset(icache, 0, icache_size());
		icache->lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
		icache->nslots = bedrock_max_identities;
		ConditionVariableInit(&icache->changed);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * identity_cache_request_shmem
 *		Install the shared memory hooks; from _PG_init under
 *		shared_preload_libraries.
 */
void
identity_cache_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = icache_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = icache_shmem_startup;
}

static bool
key_equal(const IdentityKey *a, const IdentityKey *b)
{
	return a->dbid == b->dbid && a->serverid == b->serverid &&
		a->umid == b->umid && a->userid == b->userid;
}

static void
slot_drop_credentials(IdentitySlot *slot)
{
	explicit_bzero(&slot->creds, sizeof(slot->creds));
	slot->have = false;
	slot->generation++;
}

/*
 * find_or_claim
 *		The entry of key, else a free one or the one unused longest (if it
 *		has been idle IDLE_REUSE_MS), claimed for key; NULL when the table
 *		is full.  Exclusive lock held.
 */
static IdentitySlot *
find_or_claim(const IdentityKey *key, TimestampTz now)
{
	IdentitySlot *free_slot = NULL;
	IdentitySlot *oldest = NULL;

	for (int i = 0; i < icache->nslots; i++)
	{
		IdentitySlot *s = &icache->slots[i];

		if (s->in_use && key_equal(&s->key, key))
			return s;
		if (!s->in_use)
		{
			if (free_slot == NULL)
				free_slot = s;
		}
		else if (!s->wanted && (oldest == NULL || s->last_used < oldest->last_used))
			oldest = s;
	}
	if (free_slot == NULL && oldest != NULL &&
		TimestampDifferenceExceeds(oldest->last_used, now, IDLE_REUSE_MS))
		free_slot = oldest;
	if (free_slot == NULL)
		return NULL;
	explicit_bzero(free_slot, sizeof(IdentitySlot));
	free_slot->in_use = true;
	free_slot->key = *key;
	return free_slot;
}

static bool
usable(const IdentitySlot *s, TimestampTz now)
{
	return s->have &&
		(s->creds.expiration == 0 ||
		 TimestampDifferenceExceeds(now, s->creds.expiration, MIN_REMAINING_LIFETIME_MS));
}

/*
 * identity_cache_get
 *		The credentials of the identity key (described by spec) into *out,
 *		from the shared cache; when there are none usable, ask the worker
 *		and wait up to bedrock.credential_wait_ms.  Returns false with the
 *		reason in error when none came; raises 53400 when the table is full.
 */
bool
identity_cache_get(const IdentityKey *key, const IdentitySpec *spec,
				   const char *server_name, AwsCredentials *out, StringInfo error)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   bedrock_credential_wait_ms);

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		IdentitySlot *slot;
		uint64		seen;

		LWLockAcquire(icache->lock, LW_EXCLUSIVE);
		slot = find_or_claim(key, now);
		if (slot == NULL)
		{
			LWLockRelease(icache->lock);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("too many AWS identities in use"),
					 errdetail("All %d entries of the identity cache are held by identities used in the last %d minutes.",
							   bedrock_max_identities, IDLE_REUSE_MS / 60000),
					 errhint("Raise bedrock.max_identities and restart the server.")));
		}
		if (memcmp(&slot->spec, spec, sizeof(IdentitySpec)) != 0)
		{
			/* new, or the server or user mapping changed: start afresh */
			memcpy(&slot->spec, spec, sizeof(IdentitySpec));
			strlcpy(slot->server_name, server_name, sizeof(slot->server_name));
			slot_drop_credentials(slot);
			slot->last_error[0] = '\0';
			slot->next_attempt = 0;
			slot->backoff_ms = 0;
		}
		slot->last_used = now;
		if (usable(slot, now))
		{
			memcpy(out, &slot->creds, sizeof(AwsCredentials));
			out->generation = slot->generation;
			LWLockRelease(icache->lock);
			return true;
		}
		resetStringInfo(error);
		if (slot->last_error[0] != '\0')
			appendStringInfoString(error, slot->last_error);
		else
			appendStringInfoString(error, "the credentials worker has not fetched this identity's credentials yet");
		slot->wanted = true;
		seen = icache->attempts;
		LWLockRelease(icache->lock);

		if (now >= deadline)
			return false;
		credential_cache_wake_worker();

		ConditionVariablePrepareToSleep(&icache->changed);
		for (;;)
		{
			bool		attempted;
			long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

			LWLockAcquire(icache->lock, LW_SHARED);
			attempted = icache->attempts != seen;
			LWLockRelease(icache->lock);
			if (attempted || left <= 0)
				break;
			if (ConditionVariableTimedSleep(&icache->changed, Min(left, WAIT_SLICE_MS),
											PG_WAIT_EXTENSION))
				credential_cache_wake_worker();
		}
		ConditionVariableCancelSleep();
	}
}

/*
 * identity_cache_report_rejected
 *		Bedrock refused the credentials of this generation: drop them unless
 *		already replaced, and have the worker fetch anew.
 */
void
identity_cache_report_rejected(const IdentityKey *key, uint64 generation)
{
	bool		wake = false;

	LWLockAcquire(icache->lock, LW_EXCLUSIVE);
	for (int i = 0; i < icache->nslots; i++)
	{
		IdentitySlot *s = &icache->slots[i];

		if (s->in_use && key_equal(&s->key, key) && s->generation == generation && s->have)
		{
			slot_drop_credentials(s);
			s->wanted = true;
			wake = true;
		}
	}
	LWLockRelease(icache->lock);
	if (wake)
		credential_cache_wake_worker();
}

/*
 * identity_cache_status
 *		A copy of every entry in use, without secrets; returns their number.
 */
int
identity_cache_status(IdentityStatus **out)
{
	int			n = 0;
	IdentityStatus *st;

	if (icache == NULL)
	{
		*out = NULL;
		return 0;
	}
	st = palloc0(sizeof(IdentityStatus) * Max(bedrock_max_identities, 1));
	LWLockAcquire(icache->lock, LW_SHARED);
	for (int i = 0; i < icache->nslots; i++)
	{
		IdentitySlot *s = &icache->slots[i];
		IdentityStatus *o = &st[n];

		if (!s->in_use)
			continue;
		strlcpy(o->server_name, s->server_name, sizeof(o->server_name));
		strlcpy(o->role_name, s->spec.role_name, sizeof(o->role_name));
		strlcpy(o->database_name, s->spec.database_name, sizeof(o->database_name));
		if (s->have)
		{
			strlcpy(o->source, s->creds.source, sizeof(o->source));
			strlcpy(o->access_key_id, s->creds.access_key_id, sizeof(o->access_key_id));
			strlcpy(o->principal_arn, s->creds.principal_arn, sizeof(o->principal_arn));
			o->expiration = s->creds.expiration;
		}
		o->last_refresh = s->fetched_at;
		o->last_attempt = s->last_attempt;
		o->last_used = s->last_used;
		strlcpy(o->last_error, s->last_error, sizeof(o->last_error));
		o->refresh_count = s->refresh_count;
		o->failure_count = s->failure_count;
		n++;
	}
	LWLockRelease(icache->lock);
	*out = st;
	return n;
}

/* ---- the worker's side ---- */

/*
 * due_at
 *		When the worker should next fetch slot s: 0 when not at all (no
 *		one asked and it was not used since its last fetch).
 */
static TimestampTz
due_at(const IdentitySlot *s)
{
	if (!s->in_use)
		return 0;
	if (s->wanted)
	{
		if (s->last_attempt == 0)
			return 1;
		return Max(TimestampTzPlusMilliseconds(s->last_attempt, MIN_ATTEMPT_SPACING_MS),
				   s->have ? s->next_attempt : 0);
	}
	if (!s->have)
		return 0;
	/* refreshed ahead of expiry while in use since the last fetch */
	if (s->creds.expiration == 0 || s->last_used < s->fetched_at)
		return 0;
	return Max(credentials_refresh_time(&s->creds, s->fetched_at), s->next_attempt);
}

/*
 * fetch_slot
 *		Fetch the identity of slot i (its description copied out under the
 *		lock) and publish the outcome, unless the slot was given to another
 *		identity or redescribed in the meantime.  An ERROR inside is
 *		recorded as the entry's failure and does not stop the worker.
 */
static void
fetch_slot(int i)
{
	IdentitySlot *s = &icache->slots[i];
	IdentityKey key;
	IdentitySpec spec;
	AwsCredentials creds;
	StringInfoData error;
	CredentialFetchStatus st = CREDENTIALS_FAILED;
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(icache->lock, LW_EXCLUSIVE);
	key = s->key;
	memcpy(&spec, &s->spec, sizeof(spec));
	s->last_attempt = now;
	LWLockRelease(icache->lock);

	memset(&creds, 0, sizeof(creds));
	initStringInfo(&error);
	PG_TRY();
	{
		st = identity_fetch(&spec, &creds, &error);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		http_abort_all();
		resetStringInfo(&error);
		appendStringInfoString(&error, edata->message ? edata->message : "internal error");
		st = CREDENTIALS_FAILED;
	}
	PG_END_TRY();
	explicit_bzero(&spec, sizeof(spec));

	LWLockAcquire(icache->lock, LW_EXCLUSIVE);
	if (s->in_use && key_equal(&s->key, &key))
	{
		if (st == CREDENTIALS_FETCHED)
		{
			memcpy(&s->creds, &creds, sizeof(creds));
			s->have = true;
			s->generation++;
			s->fetched_at = GetCurrentTimestamp();
			s->last_error[0] = '\0';
			s->refresh_count++;
			s->backoff_ms = 0;
			s->next_attempt = 0;
		}
		else
		{
			strlcpy(s->last_error, error.data, sizeof(s->last_error));
			s->failure_count++;
			s->backoff_ms = Min(Max(s->backoff_ms * 2, MIN_ATTEMPT_SPACING_MS), BACKOFF_MAX_MS);
			s->next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), s->backoff_ms);
		}
		s->wanted = false;
	}
	icache->attempts++;
	LWLockRelease(icache->lock);
	ConditionVariableBroadcast(&icache->changed);
	if (st == CREDENTIALS_FETCHED)
	{
		log_redact_remember(creds.secret_access_key);
		log_redact_remember(creds.session_token);
	}
	else
		ereport(LOG,
				(errmsg("bedrock_fdw could not fetch AWS credentials for an identity of server \"%s\": %s",
						s->server_name, error.data)));
	explicit_bzero(&creds, sizeof(creds));
}

/*
 * identity_cache_service
 *		The worker's turn: fetch the one identity most overdue, if any, and
 *		return the milliseconds until the next one is due (-1: none is).
 *		One fetch per call, so that the worker's own requests stay served
 *		between identities.
 */
long
identity_cache_service(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next = 0;
	int			pick = -1;
	TimestampTz pick_due = 0;

	if (icache == NULL)
		return -1;
	LWLockAcquire(icache->lock, LW_SHARED);
	for (int i = 0; i < icache->nslots; i++)
	{
		TimestampTz due = due_at(&icache->slots[i]);

		if (due == 0)
			continue;
		if (due <= now && (pick < 0 || due < pick_due))
		{
			pick = i;
			pick_due = due;
		}
		else if (due > now && (next == 0 || due < next))
			next = due;
	}
	LWLockRelease(icache->lock);

	if (pick >= 0)
	{
		fetch_slot(pick);
		return 0;
	}
	if (next == 0)
		return -1;
	return Max(TimestampDifferenceMilliseconds(now, next), 1);
}
