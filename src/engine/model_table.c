/*-------------------------------------------------------------------------
 *
 * model_table.c
 *	  A fixed-size shared-memory hash table keyed by model id, shared by the
 *	  per-model counters (usage_stats.c) and the rate limiter
 *	  (rate_limiter.c).
 *
 * Keys are model ids truncated to USAGE_MODEL_MAXLEN - 1 bytes (on a
 * character boundary) and NUL-padded.  The table holds at most max_models
 * models and one more entry, MODEL_TABLE_OTHER.  Once it is full, a new
 * model takes the place of an entry that is at rest (the owner's at_rest
 * says which; the rate limiter's buckets that are full again, say), or,
 * when none is or the owner keeps every entry (the counters), shares
 * MODEL_TABLE_OTHER's until the next model_table_clear().  Every entry is
 * allocated at postmaster start, so that the hot path never allocates and
 * never raises.
 *
 * Locking, as in pg_stat_statements: the table's LWLock is taken shared
 * to look an entry up and use it, exclusive only to insert a model seen
 * for the first time (the caller's first use is made under it too) and to
 * clear the table.  Each entry's payload is guarded by the spinlock in its
 * header, so that many backends holding the shared lock can update one
 * entry at once.  Readers copy the entries under the shared lock (each
 * under its spinlock) and build their results afterwards.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/model_table.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "model_table.h"

/*
 * model_table_shmem_size
 *		The shared memory the table needs, its header included.
 */
Size
model_table_shmem_size(const ModelTable *table)
{
	return add_size(MAXALIGN(sizeof(ModelTableShared)),
					hash_estimate_size(table->max_models + 1, table->entry_size));
}

/* the tables model_table_register() was given, and the hooks it chains */
#define MODEL_TABLES_MAX 4
static ModelTable *registered_tables[MODEL_TABLES_MAX];
static int	nregistered_tables = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * request_tables
 *		shmem_request_hook: ask for every registered table's shared memory
 *		and lock.
 */
static void
request_tables(void)
{
	int			i;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	for (i = 0; i < nregistered_tables; i++)
	{
		RequestAddinShmemSpace(model_table_shmem_size(registered_tables[i]));
		RequestNamedLWLockTranche(registered_tables[i]->name, 1);
	}
}

/*
 * attach_table
 *		Create the table, or find the one the postmaster created.
 */
static void
attach_table(ModelTable *table)
{
	bool		found;
	HASHCTL		info;
	char		hash_name[SHMEM_INDEX_KEYSIZE];

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	table->shared = ShmemInitStruct(table->name, sizeof(ModelTableShared), &found);
	if (!found)
	{
		table->shared->lock = &(GetNamedLWLockTranche(table->name))->lock;
		table->shared->reset_at = GetCurrentTimestamp();
	}

	/* init_size = max_size: every entry is allocated now, none later */
	snprintf(hash_name, sizeof(hash_name), "%s hash", table->name);
	info.keysize = sizeof(ModelKey);
	info.entrysize = table->entry_size;
	table->hash = ShmemInitHash(hash_name, table->max_models + 1,
								table->max_models + 1, &info,
								HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/* shmem_startup_hook: attach every registered table. */
static void
attach_tables(void)
{
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	for (i = 0; i < nregistered_tables; i++)
		attach_table(registered_tables[i]);
}

/*
 * model_table_register
 *		Give the table shared memory: called from _PG_init while
 *		shared_preload_libraries is processed.  The first call installs the
 *		shared memory hooks that request and attach every registered table.
 */
void
model_table_register(ModelTable *table)
{
	if (nregistered_tables >= MODEL_TABLES_MAX)
		elog(ERROR, "too many model tables");
	if (nregistered_tables == 0)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = request_tables;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = attach_tables;
	}
	registered_tables[nregistered_tables++] = table;
}

/* True once the table is in shared memory (the library was preloaded). */
bool
model_table_attached(const ModelTable *table)
{
	return table->shared != NULL && table->hash != NULL;
}

/* Fill *key with model, truncated on a character boundary and NUL-padded. */
static void
make_key(ModelKey *key, const char *model)
{
	int			len = (int) strnlen(model, USAGE_MODEL_MAXLEN);

	if (len >= USAGE_MODEL_MAXLEN)
		len = pg_mbcliplen(model, len, USAGE_MODEL_MAXLEN - 1);
	memset(key, 0, sizeof(*key));
	memcpy(key->model, model, len);
}

/* True when entry is MODEL_TABLE_OTHER, the one every further model shares. */
bool
model_table_is_other(const ModelEntryHeader *entry)
{
	return strcmp(entry->key.model, MODEL_TABLE_OTHER) == 0;
}

/*
 * evict_one
 *		Remove one entry that is at rest (not MODEL_TABLE_OTHER); false when
 *		none is.  The caller holds the lock exclusive, so that no backend
 *		is using any entry.
 */
static bool
evict_one(ModelTable *table)
{
	HASH_SEQ_STATUS hash_seq;
	ModelEntryHeader *entry;
	TimestampTz now = GetCurrentTimestamp();

	hash_seq_init(&hash_seq, table->hash);
	while ((entry = hash_seq_search(&hash_seq)) != NULL)
	{
		bool		at_rest;

		if (model_table_is_other(entry))
			continue;
		SpinLockAcquire(&entry->mutex);
		at_rest = table->at_rest(entry, now);
		SpinLockRelease(&entry->mutex);
		if (at_rest)
		{
			hash_seq_term(&hash_seq);
			hash_search(table->hash, &entry->key, HASH_REMOVE, NULL);
			return true;
		}
	}
	return false;
}

/*
 * insert_entry
 *		The entry for key, inserted if new (in the place of an entry at
 *		rest when the table holds max_models models already);
 *		MODEL_TABLE_OTHER's when there is no room.  The caller holds the
 *		lock exclusive.  NULL only if the table is full, which its sizing
 *		rules out.
 */
static ModelEntryHeader *
insert_entry(ModelTable *table, ModelKey *key)
{
	ModelEntryHeader *entry;
	bool		found;

	/* another backend may have inserted it since our shared-lock lookup */
	entry = hash_search(table->hash, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	/*
	 * Once max_models models are in, only MODEL_TABLE_OTHER may join: the
	 * table never holds more than max_models + 1 entries, all allocated at
	 * startup, so HASH_ENTER_NULL does not allocate.
	 */
	if (hash_get_num_entries(table->hash) >= table->max_models &&
		(table->at_rest == NULL || !evict_one(table)))
		make_key(key, MODEL_TABLE_OTHER);
	entry = hash_search(table->hash, key, HASH_ENTER_NULL, &found);
	if (entry != NULL && !found)
	{
		SpinLockInit(&entry->mutex);
		table->init_payload(entry);
	}
	return entry;
}

/*
 * model_table_enter
 *		The entry of model (inserted if new, MODEL_TABLE_OTHER's when the
 *		table is full), with the table's lock held until model_table_leave;
 *		the caller takes the entry's mutex to use the payload.  Returns
 *		NULL, holding nothing, when the table is not attached (or, which
 *		cannot happen, is full).  Never raises.
 */
ModelEntryHeader *
model_table_enter(ModelTable *table, const char *model)
{
	ModelKey	key;
	ModelEntryHeader *entry;

	if (!model_table_attached(table))
		return NULL;
	make_key(&key, model);

	/*
	 * Look the model up under the shared lock; a model seen for the first
	 * time (or MODEL_TABLE_OTHER, the first time the table is full) is
	 * inserted under the exclusive lock, which the caller then keeps for
	 * its use, so that a clear cannot remove the entry in between.  A
	 * table whose entries may be dropped looks for room under the
	 * exclusive lock every time a new model comes to it full.
	 */
	LWLockAcquire(table->shared->lock, LW_SHARED);
	entry = hash_search(table->hash, &key, HASH_FIND, NULL);
	if (entry == NULL && table->at_rest == NULL &&
		hash_get_num_entries(table->hash) >= table->max_models)
	{
		make_key(&key, MODEL_TABLE_OTHER);
		entry = hash_search(table->hash, &key, HASH_FIND, NULL);
	}
	if (entry == NULL)
	{
		LWLockRelease(table->shared->lock);
		LWLockAcquire(table->shared->lock, LW_EXCLUSIVE);
		entry = insert_entry(table, &key);
	}
	if (entry == NULL)
		LWLockRelease(table->shared->lock);
	return entry;
}

/*
 * model_table_leave
 *		Release the lock model_table_enter took (when it returned an entry).
 */
void
model_table_leave(ModelTable *table)
{
	LWLockRelease(table->shared->lock);
}

/*
 * model_table_copy
 *		Copy every entry (each under its mutex) into a palloc'd array of
 *		entry_size elements at *entries; returns how many, and the time of
 *		the last clear at *reset_at.  The caller checks that the table is
 *		attached.
 */
long
model_table_copy(ModelTable *table, char **entries, TimestampTz *reset_at)
{
	HASH_SEQ_STATUS hash_seq;
	ModelEntryHeader *entry;
	long		nentries;
	long		n = 0;

	LWLockAcquire(table->shared->lock, LW_SHARED);
	*reset_at = table->shared->reset_at;
	nentries = hash_get_num_entries(table->hash);
	*entries = palloc(table->entry_size * Max(nentries, 1));
	hash_seq_init(&hash_seq, table->hash);
	while ((entry = hash_seq_search(&hash_seq)) != NULL)
	{
		if (n >= nentries)
		{
			/* can't happen: inserts need the lock exclusive */
			hash_seq_term(&hash_seq);
			break;
		}
		SpinLockAcquire(&entry->mutex);
		memcpy(*entries + n * table->entry_size, entry, table->entry_size);
		SpinLockRelease(&entry->mutex);
		n++;
	}
	LWLockRelease(table->shared->lock);
	return n;
}

/*
 * model_table_clear
 *		Forget every model; returns the new reset time.  The caller checks
 *		that the table is attached.
 */
TimestampTz
model_table_clear(ModelTable *table)
{
	HASH_SEQ_STATUS hash_seq;
	ModelEntryHeader *entry;
	TimestampTz now;

	LWLockAcquire(table->shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&hash_seq, table->hash);
	while ((entry = hash_seq_search(&hash_seq)) != NULL)
		hash_search(table->hash, &entry->key, HASH_REMOVE, NULL);
	now = GetCurrentTimestamp();
	table->shared->reset_at = now;
	LWLockRelease(table->shared->lock);
	return now;
}
