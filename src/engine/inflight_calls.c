/*-------------------------------------------------------------------------
 *
 * inflight_calls.c
 *	  Keep track of the Bedrock calls this process has under way, so that
 *	  a call cut off by the process's exit still leaves a usage record.
 *
 * An ERROR that interrupts a call (a cancel, a statement timeout) unwinds
 * through the PG_CATCH blocks of chat.c and chat_batch.c, which submit the
 * call's record.  A FATAL does not: pg_terminate_backend, a shutdown, a
 * lost client, or the termination of a parallel worker by its leader at
 * the end of a failed query all exit the process from wherever it waits,
 * and PG_CATCH never runs.  The tokens of those calls may be billed all
 * the same, so each call registers its BedrockCall and UsageRecord here
 * while it is under way, and a before_shmem_exit callback submits a record
 * with error_code 'Terminated' for every call still registered that has
 * sent at least one attempt: its attempts so far, its latency so far, no
 * tokens.  A call that never sent anything (a prompt of a batch not yet
 * started, a call still waiting for the rate limiter) gets no record.
 *
 * An exit leaves the stack in place (proc_exit runs from deep inside the
 * wait), so the registered pointers are still good when the callback
 * runs; before_shmem_exit callbacks run before the transaction is aborted
 * and while the shared memory of the usage queue and the counters, and
 * this process's PGPROC, are all still there.  Callers register a call
 * only inside the PG_TRY whose PG_CATCH ends it, so that no entry outlives
 * the stack frame or memory it points to.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/inflight_calls.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"

#include "inflight_calls.h"

typedef struct InflightCall
{
	const BedrockCall *call;
	UsageRecord *usage;
} InflightCall;

/* the calls under way, in TopMemoryContext; order does not matter */
static InflightCall *inflight = NULL;
static int	n_inflight = 0;
static int	max_inflight = 0;
static bool exit_callback_registered = false;

/*
 * submit_cut_off_calls
 *		before_shmem_exit callback: submit the record of every call still
 *		under way that sent an attempt, as 'Terminated'.  Never raises.
 */
static void
submit_cut_off_calls(int code, Datum arg)
{
	int			n = n_inflight;

	if (n == 0)
		return;
	n_inflight = 0;

	/*
	 * The exit may have come while an LWLock was held; the usage queue and
	 * the counters take theirs.  The transaction abort that follows would
	 * release them anyway.
	 */
	LWLockReleaseAll();

	for (int i = 0; i < n; i++)
	{
		if (inflight[i].call->attempts == 0)
			continue;			/* nothing was sent: nothing to bill */
		usage_record_finish(inflight[i].usage, inflight[i].call,
							INFLIGHT_TERMINATED_CODE);
		usage_record_submit(inflight[i].usage);
	}
}

/*
 * inflight_call_begin
 *		call, whose record is usage, is under way: should the process exit
 *		before inflight_call_end, its record is submitted as 'Terminated'.
 *		Both must stay valid until then.  Call inside the PG_TRY whose
 *		PG_CATCH ends the call (chat_interrupted), before anything is sent;
 *		raises only for lack of memory, with nothing registered.
 */
void
inflight_call_begin(const BedrockCall *call, UsageRecord *usage)
{
	if (n_inflight == max_inflight)
	{
		int			newmax = Max(max_inflight * 2, 16);

		if (inflight == NULL)
			inflight = MemoryContextAlloc(TopMemoryContext,
										  newmax * sizeof(InflightCall));
		else
			inflight = repalloc(inflight, newmax * sizeof(InflightCall));
		max_inflight = newmax;
	}
	if (!exit_callback_registered)
	{
		/* once per process; the list of a forked child starts empty */
		before_shmem_exit(submit_cut_off_calls, (Datum) 0);
		exit_callback_registered = true;
	}
	inflight[n_inflight].call = call;
	inflight[n_inflight].usage = usage;
	n_inflight++;
}

/*
 * inflight_call_end
 *		The call whose record is usage is over (its record is about to be
 *		submitted, or it was): forget it.  Does nothing for a call that is
 *		not registered.  Never raises.
 */
void
inflight_call_end(const UsageRecord *usage)
{
	for (int i = 0; i < n_inflight; i++)
	{
		if (inflight[i].usage == usage)
		{
			inflight[i] = inflight[--n_inflight];
			return;
		}
	}
}
