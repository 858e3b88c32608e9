/*-------------------------------------------------------------------------
 *
 * usage_queue.c
 *	  The shared-memory queue that carries usage records from the backends
 *	  that made Bedrock calls to the usage writer.
 *
 * A ring of bedrock.usage_queue_size fixed-size records behind one
 * LWLock.  Backends push (a copy under the lock, then the writer's latch
 * is set when the queue passes half full); the single writer peeks a
 * batch, stores it in its own transaction and only then marks it consumed,
 * so a failed insert loses nothing.  A full queue drops the new record and
 * counts it.  Records live only in memory: a crash loses what was not yet
 * stored, a clean shutdown lets the writer drain the queue first.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage/usage_queue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "usage.h"
#include "worker_slot.h"

#define TRANCHE_NAME "bedrock_fdw_usage"
#define ERROR_MAXLEN 256

typedef struct UsageQueue
{
	LWLock	   *lock;
	int			capacity;
	uint64		head;			/* records ever pushed */
	uint64		tail;			/* records ever consumed */
	uint64		dropped;		/* records refused for lack of room */
	WorkerSlot	writer;			/* the usage writer */
	TimestampTz last_flush;
	char		last_error[ERROR_MAXLEN];
	UsageRecord records[FLEXIBLE_ARRAY_MEMBER];
} UsageQueue;

static UsageQueue *queue = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PG_FUNCTION_INFO_V1(bedrock_usage_queue);

static Size
queue_size(void)
{
	return add_size(offsetof(UsageQueue, records),
					mul_size(bedrock_usage_queue_size, sizeof(UsageRecord)));
}

static void
queue_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(queue_size()));
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
}

static void
queue_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	queue = ShmemInitStruct("bedrock_fdw usage queue", queue_size(), &found);
	if (!found)
	{
		memset(queue, 0, offsetof(UsageQueue, records));
		queue->lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
		queue->writer.lock = queue->lock;
		queue->capacity = bedrock_usage_queue_size;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * usage_queue_request_shmem
 *		Install the shared memory hooks (from _PG_init, when preloaded).
 */
void
usage_queue_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = queue_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = queue_shmem_startup;
}

bool
usage_queue_available(void)
{
	return queue != NULL;
}

/*
 * usage_queue_push
 *		Append a copy of rec, or count it as dropped when the queue is full.
 *		Never raises: it runs on error paths too.
 */
void
usage_queue_push(const UsageRecord *rec)
{
	Latch	   *wake = NULL;
	uint64		used;

	if (queue == NULL)
		return;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	used = queue->head - queue->tail;
	if (used >= (uint64) queue->capacity)
		queue->dropped++;
	else
	{
		memcpy(&queue->records[queue->head % queue->capacity], rec, sizeof(UsageRecord));
		queue->head++;
		if (used + 1 >= (uint64) queue->capacity / 2)
			wake = queue->writer.latch;
	}
	LWLockRelease(queue->lock);
	if (wake != NULL)
		SetLatch(wake);
}

/*
 * usage_queue_peek
 *		Copy up to max of the oldest records into out without consuming
 *		them; returns how many.
 */
int
usage_queue_peek(UsageRecord *out, int max)
{
	int			n;
	int			i;

	LWLockAcquire(queue->lock, LW_SHARED);
	n = (int) Min((uint64) max, queue->head - queue->tail);
	for (i = 0; i < n; i++)
		memcpy(&out[i], &queue->records[(queue->tail + i) % queue->capacity],
			   sizeof(UsageRecord));
	LWLockRelease(queue->lock);
	return n;
}

/*
 * usage_queue_consumed
 *		The n oldest records are stored: free their slots.
 */
void
usage_queue_consumed(int n, TimestampTz flushed_at)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->tail += n;
	queue->last_flush = flushed_at;
	queue->last_error[0] = '\0';
	LWLockRelease(queue->lock);
}

/* The writer could not store records (they stay queued). */
void
usage_queue_writer_failed(const char *error)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	strlcpy(queue->last_error, error, sizeof(queue->last_error));
	LWLockRelease(queue->lock);
}

/* The calling process is the writer: backends wake it through its latch. */
void
usage_queue_attach_writer(void)
{
	worker_slot_attach(&queue->writer);
}

/*
 * bedrock_usage_queue
 *		SQL: the queue's state: capacity, queued, pushed and stored totals,
 *		dropped records, the writer's pid, last flush and last error.
 */
Datum
bedrock_usage_queue(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {0};

	if (queue == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("usage accounting requires bedrock_fdw in shared_preload_libraries")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(queue->lock, LW_SHARED);
	values[0] = Int32GetDatum(queue->capacity);
	values[1] = Int64GetDatum((int64) (queue->head - queue->tail));
	values[2] = Int64GetDatum((int64) queue->head);
	values[3] = Int64GetDatum((int64) queue->tail);
	values[4] = Int64GetDatum((int64) queue->dropped);
	nulls[5] = queue->writer.pid == 0;
	values[5] = Int32GetDatum(queue->writer.pid);
	nulls[6] = queue->last_flush == 0;
	values[6] = TimestampTzGetDatum(queue->last_flush);
	nulls[7] = queue->last_error[0] == '\0';
	values[7] = CStringGetTextDatum(queue->last_error);
	LWLockRelease(queue->lock);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
