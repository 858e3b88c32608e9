/*-------------------------------------------------------------------------
 *
 * worker_slot.c
 *	  What our background workers share: their registration, and the
 *	  slot in shared memory where a running worker announces its pid and
 *	  latch.
 *
 * The structure that owns a worker's shared state (the credential cache,
 * the usage queue) embeds its WorkerSlot; the worker attaches to it at
 * start, and backends read it to wake the worker.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/workers/worker_slot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"

#include "worker_slot.h"

/*
 * bedrock_register_worker
 *		Register one of our background workers.  Both connect (the
 *		credentials worker to no database, the usage writer to
 *		bedrock.database), which also puts them in pg_stat_activity and
 *		within reach of pg_terminate_backend.
 */
void
bedrock_register_worker(const char *function, const char *name,
						int start_time, int restart_seconds)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = (BgWorkerStartTime) start_time;
	worker.bgw_restart_time = restart_seconds;
	strlcpy(worker.bgw_library_name, "bedrock_fdw", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker.bgw_name, name, BGW_MAXLEN);
	strlcpy(worker.bgw_type, name, BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

static void
worker_slot_detach(int code, Datum arg)
{
	WorkerSlot *slot = (WorkerSlot *) DatumGetPointer(arg);

	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	if (slot->pid == MyProcPid)
	{
		slot->pid = 0;
		slot->latch = NULL;
	}
	LWLockRelease(slot->lock);
}

/*
 * worker_slot_attach
 *		Announce the calling worker in slot, and withdraw it at exit.
 */
void
worker_slot_attach(WorkerSlot *slot)
{
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	LWLockRelease(slot->lock);
	before_shmem_exit(worker_slot_detach, PointerGetDatum(slot));
}
