/*-------------------------------------------------------------------------
 *
 * worker_slot.h
 *	  Registering our background workers, and the shared-memory slot in
 *	  which a running worker announces itself so that backends can wake
 *	  it.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/workers/worker_slot.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_WORKER_SLOT_H
#define BEDROCK_WORKER_SLOT_H

#include "storage/latch.h"
#include "storage/lwlock.h"

/*
 * Where a background worker announces itself in shared memory, so that
 * backends can wake it: its pid and latch, guarded by the lock of the
 * structure that embeds the slot.
 */
typedef struct WorkerSlot
{
	LWLock	   *lock;
	pid_t		pid;			/* 0 when no worker runs */
	Latch	   *latch;			/* its PGPROC latch, or NULL */
} WorkerSlot;

struct BackgroundWorker;
extern void bedrock_worker_init(struct BackgroundWorker *worker, const char *function,
								const char *name, int start_time, int restart_seconds);
extern void bedrock_register_worker(const char *function, const char *name,
									int start_time, int restart_seconds);
extern void worker_slot_attach(WorkerSlot *slot);

#endif							/* BEDROCK_WORKER_SLOT_H */
