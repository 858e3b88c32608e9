/*-------------------------------------------------------------------------
 *
 * usage_launcher.c
 *	  The background worker that starts the usage writer in the database
 *	  named by bedrock.database, when and while that database can take it.
 *
 * A worker connected to a database that does not exist dies with FATAL
 * (and a static one is restarted to die again every few seconds), and a
 * worker connected to a database keeps DROP DATABASE from dropping it.  So
 * the writer is not a static worker: this launcher, connected to no
 * database, reads pg_database (a shared catalog) and starts the writer as
 * a dynamic worker only when the database exists, accepts connections and
 * nobody is dropping or altering it.  Otherwise the records wait in the
 * queue, the reason is shown in bedrock.usage_queue and logged once, and
 * the launcher looks again every second or so.  When the writer exits
 * (it leaves for a DROP DATABASE, or was terminated) the launcher starts
 * another, no sooner than WRITER_RESTART_MS after the last start.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage_launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "usage.h"

/* how often to look again while the writer cannot run */
#define RETRY_MS 1000
/* the shortest time between two starts of the writer */
#define WRITER_RESTART_MS 5000
/* how long to sleep while the writer runs (its exit wakes us anyway) */
#define IDLE_MS 10000

PGDLLEXPORT void bedrock_usage_launcher_main(Datum main_arg);

static BackgroundWorkerHandle *writer = NULL;
static TimestampTz last_start = 0;
static char *reported = NULL;	/* the reason last logged */

/*
 * usage_launcher_register
 *		Register the launcher; called from _PG_init under
 *		shared_preload_libraries.
 */
void
usage_launcher_register(void)
{
	/* the writer writes, so only once recovery is over */
	bedrock_register_worker("bedrock_usage_launcher_main",
							"bedrock_fdw usage launcher", BgWorkerStart_RecoveryFinished, 5);
}

/*
 * usage_database_wanted
 *		Does another session hold or wait for the lock that DROP DATABASE,
 *		ALTER DATABASE RENAME and SET TABLESPACE take on database dboid
 *		before they wait for its sessions to leave?  Tries, without
 *		waiting, a lock that conflicts with theirs only.  Works in any
 *		process with a PGPROC, inside a transaction or not.
 */
bool
usage_database_wanted(Oid dboid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, dboid, 0);
	if (LockAcquire(&tag, AccessShareLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, AccessShareLock, true);
	return false;
}

/*
 * usage_report_wait
 *		Say why queued records wait: show reason in bedrock.usage_queue
 *		and log it as a WARNING with hint, once as long as it stays the
 *		same (*last keeps it, in TopMemoryContext).  A NULL reason: they
 *		no longer wait, forget the last one.
 */
void
usage_report_wait(char **last, const char *reason, int sqlerrcode, const char *hint)
{
	bool		same = reason != NULL && *last != NULL && strcmp(*last, reason) == 0;

	if (reason != NULL)
		usage_queue_writer_failed(reason);
	if (same)
		return;
	if (*last != NULL)
		pfree(*last);
	*last = NULL;
	if (reason == NULL)
		return;
	ereport(WARNING,
			(errcode(sqlerrcode),
			 errmsg("bedrock_fdw usage records wait: %s", reason),
			 hint ? errhint("%s", hint) : 0));
	*last = MemoryContextStrdup(TopMemoryContext, reason);
}

/* usage_report_wait for the launcher's reasons */
static void
report(const char *reason, const char *hint)
{
	usage_report_wait(&reported, reason, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, hint);
}

/*
 * writer_database
 *		The oid of the database the writer should connect to, or
 *		InvalidOid with the reason reported.
 */
static Oid
writer_database(void)
{
	Oid			dboid = InvalidOid;
	bool		usable = false;
	char	   *reason;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	/*
	 * A heap scan, as the autovacuum launcher does: with no database
	 * selected, pg_database's indexes (and so get_database_oid and the
	 * syscache) may not be usable yet.
	 */
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), bedrock_database) == 0)
		{
			dboid = db->oid;
			usable = db->datallowconn && !database_is_invalid_form(db);
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	if (OidIsValid(dboid) && usable)
	{
		if (usage_database_wanted(dboid))
			return InvalidOid;	/* being dropped or altered: look again soon */
		return dboid;
	}
	reason = psprintf(OidIsValid(dboid) ?
					  "database \"%s\" named by bedrock.database does not accept connections" :
					  "database \"%s\" named by bedrock.database does not exist",
					  bedrock_database);
	report(reason, OidIsValid(dboid) ?
		   "ALTER DATABASE ... ALLOW_CONNECTIONS true, or set bedrock.database to another database." :
		   "Create it and CREATE EXTENSION bedrock_fdw in it, or set bedrock.database to a database that has the extension.");
	pfree(reason);
	return InvalidOid;
}

/*
 * start_writer
 *		Start the writer in dboid; returns false when no worker slot is free
 *		(reported).
 */
static bool
start_writer(Oid dboid)
{
	BackgroundWorker worker;

	bedrock_worker_init(&worker, "bedrock_usage_writer_main", "bedrock_fdw usage writer",
						BgWorkerStart_RecoveryFinished, BGW_NEVER_RESTART);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;
	last_start = GetCurrentTimestamp();
	if (!RegisterDynamicBackgroundWorker(&worker, &writer))
	{
		writer = NULL;
		report("no background worker slot is free for the usage writer",
			   "Raise max_worker_processes.");
		return false;
	}
	report(NULL, NULL);
	return true;
}

/* Is the writer we started still there (or about to be)? */
static bool
writer_running(void)
{
	pid_t		pid;

	if (writer == NULL)
		return false;
	if (GetBackgroundWorkerPid(writer, &pid) != BGWH_STOPPED)
		return true;
	pfree(writer);
	writer = NULL;
	return false;
}

/* When the launcher goes, its writer goes too (storing what is queued). */
static void
stop_writer(int code, Datum arg)
{
	if (writer != NULL)
		TerminateBackgroundWorker(writer);
}

/*
 * bedrock_usage_launcher_main
 *		Entry point of the launcher: keep one writer running while the
 *		database named by bedrock.database can take it.
 */
void
bedrock_usage_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("bedrock_fdw usage launcher");
	before_shmem_exit(stop_writer, (Datum) 0);

	for (;;)
	{
		long		timeout = IDLE_MS;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (ShutdownRequestPending)
			proc_exit(0);

		if (!writer_running())
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz allowed = TimestampTzPlusMilliseconds(last_start, WRITER_RESTART_MS);
			Oid			dboid;

			if (now < allowed)
				timeout = Max(TimestampDifferenceMilliseconds(now, allowed), 1);
			else if (OidIsValid(dboid = writer_database()) && start_writer(dboid))
				timeout = IDLE_MS;
			else
				timeout = RETRY_MS;
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
