/*-------------------------------------------------------------------------
 *
 * bedrock_fdw.c
 *	  Module entry point of bedrock_fdw: the magic block and _PG_init.
 *
 * The library works loaded on demand (CREATE EXTENSION, first call) and
 * preloaded through shared_preload_libraries.  Preloaded, it also sets up
 * the shared credential cache and registers the background worker that
 * fills it, and the usage queue with the launcher of its writer; loaded on
 * demand, each backend fetches credentials itself.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/bedrock_fdw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"

#include "miscadmin.h"

#include "bedrock_fdw.h"
#include "credential_cache.h"
#include "http.h"
#include "rate_limiter.h"
#include "retry.h"
#include "usage.h"

BEDROCK_MODULE_MAGIC();

void		_PG_init(void);

/*
 * _PG_init
 *		Define the bedrock.* settings, keep their secrets out of the log,
 *		initialise libcurl and, when preloaded, set up the credential cache
 *		and its worker.
 */
void
_PG_init(void)
{
	bedrock_define_gucs();
	log_redact_init();
	http_init();

	if (process_shared_preload_libraries_in_progress && !IsBinaryUpgrade)
	{
		credential_cache_request_shmem();
		credentials_worker_register();
		usage_queue_request_shmem();
		usage_launcher_register();
		usage_database_notice_init();
		usage_stats_request_shmem();
		rate_limiter_request_shmem();
		retry_quota_request_shmem();
	}
}

/*
 * bedrock_worker_init
 *		Fill *worker with one of our background workers' definition.  Every
 *		one of them asks for a database connection, which also puts it in
 *		pg_stat_activity and within reach of pg_terminate_backend; the
 *		credentials worker and the usage launcher connect to no database,
 *		the usage writer to bedrock.database.
 */
void
bedrock_worker_init(BackgroundWorker *worker, const char *function, const char *name,
					int start_time, int restart_seconds)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = (BgWorkerStartTime) start_time;
	worker->bgw_restart_time = restart_seconds;
	strlcpy(worker->bgw_library_name, "bedrock_fdw", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_name, name, BGW_MAXLEN);
	strlcpy(worker->bgw_type, name, BGW_MAXLEN);
}

/*
 * bedrock_register_worker
 *		Register one of our static background workers (from _PG_init).
 */
void
bedrock_register_worker(const char *function, const char *name,
						int start_time, int restart_seconds)
{
	BackgroundWorker worker;

	bedrock_worker_init(&worker, function, name, start_time, restart_seconds);
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
 *		Announce the calling worker in slot, and withdraw it at exit.  A
 *		slot holds one worker: raises an ERROR when another live process
 *		holds it already (a worker's slot is emptied when it exits, and a
 *		crash reinitialises shared memory).
 */
void
worker_slot_attach(WorkerSlot *slot)
{
	pid_t		holder;

	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	holder = slot->pid;
	if (holder != 0 && holder != MyProcPid)
	{
		LWLockRelease(slot->lock);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("%s is already running as process %d",
						MyBgworkerEntry ? MyBgworkerEntry->bgw_name : "this worker",
						(int) holder)));
	}
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	LWLockRelease(slot->lock);
	before_shmem_exit(worker_slot_detach, PointerGetDatum(slot));
}
