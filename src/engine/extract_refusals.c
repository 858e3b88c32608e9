/*-------------------------------------------------------------------------
 *
 * extract_refusals.c
 *	  The models that refused structured output (outputConfig), per
 *	  database and foreign server, for bedrock_extract's method "auto":
 *	  once a model has refused it, later extractions through the same
 *	  server go straight to the forced tool call, in every backend.
 *
 * A fixed table of EXTRACT_REFUSALS_MAX entries in shared memory under
 * one LWLock (read shared, written exclusive); when it is full, the oldest
 * entry makes room.  Without shared_preload_libraries the table is the
 * backend's own.  bedrock_extract_refusals() lists it and
 * bedrock_extract_refusals_reset() empties it (after a model gained
 * structured output, say).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/extract_refusals.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "extract_refusals.h"

PG_FUNCTION_INFO_V1(bedrock_extract_refusals);
PG_FUNCTION_INFO_V1(bedrock_extract_refusals_reset);

#define REFUSAL_MODEL_LEN 256

typedef struct RefusalEntry
{
	Oid			dbid;
	char		server[NAMEDATALEN];	/* "" : the settings, no server */
	char		model[REFUSAL_MODEL_LEN];
	TimestampTz at;
} RefusalEntry;

typedef struct RefusalTable
{
	LWLock	   *lock;			/* NULL: the backend's own table */
	int			n;
	RefusalEntry entries[EXTRACT_REFUSALS_MAX];
} RefusalTable;

static RefusalTable local_table;
static RefusalTable *table = &local_table;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

#define TRANCHE_NAME "bedrock_fdw extract refusals"

static void
refusals_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(RefusalTable)));
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
}

static void
refusals_shmem_startup(void)
{
	bool		found;
	RefusalTable *shared;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct(TRANCHE_NAME, sizeof(RefusalTable), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(RefusalTable));
		shared->lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
	table = shared;
}

/*
 * extract_refusals_request_shmem
 *		Put the table in shared memory; called from _PG_init while
 *		shared_preload_libraries is being processed.
 */
void
extract_refusals_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = refusals_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = refusals_shmem_startup;
}

static void
lock_table(LWLockMode mode)
{
	if (table->lock)
		LWLockAcquire(table->lock, mode);
}

static void
unlock_table(void)
{
	if (table->lock)
		LWLockRelease(table->lock);
}

/* The index of (this database, server, model), or -1; under the lock. */
static int
find_entry(const char *server, const char *model)
{
	for (int i = 0; i < table->n; i++)
	{
		RefusalEntry *e = &table->entries[i];

		if (e->dbid == MyDatabaseId && strcmp(e->server, server) == 0 &&
			strcmp(e->model, model) == 0)
			return i;
	}
	return -1;
}

/*
 * extract_refused_before
 *		Whether model refused structured output through server (NULL or
 *		"": the settings) in this database before.  A model id too long to
 *		remember is never found.
 */
bool
extract_refused_before(const char *server, const char *model)
{
	bool		found;

	if (server == NULL)
		server = "";
	if (strlen(model) >= REFUSAL_MODEL_LEN || strlen(server) >= NAMEDATALEN)
		return false;
	lock_table(LW_SHARED);
	found = find_entry(server, model) >= 0;
	unlock_table();
	return found;
}

/*
 * extract_remember_refusal
 *		Remember that model refused structured output through server in
 *		this database; a full table forgets its oldest entry.
 */
void
extract_remember_refusal(const char *server, const char *model)
{
	RefusalEntry *e;

	if (server == NULL)
		server = "";
	if (strlen(model) >= REFUSAL_MODEL_LEN || strlen(server) >= NAMEDATALEN)
		return;
	lock_table(LW_EXCLUSIVE);
	if (find_entry(server, model) < 0)
	{
		if (table->n == EXTRACT_REFUSALS_MAX)
		{
			int			oldest = 0;

			for (int i = 1; i < table->n; i++)
				if (table->entries[i].at < table->entries[oldest].at)
					oldest = i;
			table->entries[oldest] = table->entries[--table->n];
		}
		e = &table->entries[table->n++];
		e->dbid = MyDatabaseId;
		strlcpy(e->server, server, sizeof(e->server));
		strlcpy(e->model, model, sizeof(e->model));
		e->at = GetCurrentTimestamp();
	}
	unlock_table();
}

/*
 * bedrock_extract_refusals
 *		SQL: bedrock_extract_refusals() RETURNS TABLE(server text, model
 *		text, remembered_at timestamptz): the entries of this database
 *		(server NULL: the settings, no foreign server).
 */
Datum
bedrock_extract_refusals(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RefusalEntry *copy;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	/* copy under the lock, build the rows after */
	copy = palloc(sizeof(RefusalEntry) * EXTRACT_REFUSALS_MAX);
	lock_table(LW_SHARED);
	n = table->n;
	memcpy(copy, table->entries, sizeof(RefusalEntry) * n);
	unlock_table();
	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (copy[i].dbid != MyDatabaseId)
			continue;
		nulls[0] = copy[i].server[0] == '\0';
		values[0] = nulls[0] ? (Datum) 0 : CStringGetTextDatum(copy[i].server);
		values[1] = CStringGetTextDatum(copy[i].model);
		values[2] = TimestampTzGetDatum(copy[i].at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * bedrock_extract_refusals_reset
 *		SQL: bedrock_extract_refusals_reset() RETURNS bigint: forget the
 *		entries of this database; returns how many there were.
 */
Datum
bedrock_extract_refusals_reset(PG_FUNCTION_ARGS)
{
	int64		removed = 0;
	int			i = 0;

	lock_table(LW_EXCLUSIVE);
	while (i < table->n)
	{
		if (table->entries[i].dbid == MyDatabaseId)
		{
			table->entries[i] = table->entries[--table->n];
			removed++;
		}
		else
			i++;
	}
	unlock_table();
	PG_RETURN_INT64(removed);
}
