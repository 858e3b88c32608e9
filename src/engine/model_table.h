/*-------------------------------------------------------------------------
 *
 * model_table.h
 *	  A fixed-size shared-memory hash table with one entry per Bedrock
 *	  model, as the per-model counters and the rate limiter keep them.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/model_table.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_MODEL_TABLE_H
#define BEDROCK_MODEL_TABLE_H

#include "datatype/timestamp.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/hsearch.h"

#include "usage.h"

/* the model that takes every further model once the table is full */
#define MODEL_TABLE_OTHER "(other)"

typedef struct ModelKey
{
	char		model[USAGE_MODEL_MAXLEN];	/* truncated, NUL-padded */
} ModelKey;

/*
 * Every entry starts with this header; the owner's payload follows it and
 * is guarded by mutex.
 */
typedef struct ModelEntryHeader
{
	ModelKey	key;			/* hash key: must be first */
	slock_t		mutex;
} ModelEntryHeader;

typedef struct ModelTableShared
{
	LWLock	   *lock;			/* guards the hash table and reset_at */
	TimestampTz reset_at;		/* creation, or the last model_table_clear */
} ModelTableShared;

/*
 * A table's description (static, in the owning file) and, once attached,
 * its shared state.  init_payload zeroes a new entry's payload (the part
 * after the header); it runs under the exclusive lock and must not raise.
 * at_rest, if set, says whether an entry holds nothing that a new entry
 * would not (at time now): a full table then makes room for a new model
 * by dropping such an entry, and gives MODEL_TABLE_OTHER's only when none
 * is at rest.  It runs under the exclusive lock and must not raise.
 */
typedef struct ModelTable
{
	const char *name;			/* shared memory and LWLock tranche name */
	Size		entry_size;		/* header + payload */
	long		max_models;		/* plus one for MODEL_TABLE_OTHER */
	void		(*init_payload) (ModelEntryHeader *entry);
	bool		(*at_rest) (ModelEntryHeader *entry, TimestampTz now);

	ModelTableShared *shared;	/* NULL until attached (not preloaded) */
	HTAB	   *hash;
} ModelTable;

/* in model_table.c */
extern Size model_table_shmem_size(const ModelTable *table);
extern void model_table_register(ModelTable *table);
extern bool model_table_attached(const ModelTable *table);
extern ModelEntryHeader *model_table_enter(ModelTable *table, const char *model);
extern void model_table_leave(ModelTable *table);
extern bool model_table_is_other(const ModelEntryHeader *entry);
extern long model_table_copy(ModelTable *table, char **entries,
							 TimestampTz *reset_at);
extern TimestampTz model_table_clear(ModelTable *table);

#endif							/* BEDROCK_MODEL_TABLE_H */
