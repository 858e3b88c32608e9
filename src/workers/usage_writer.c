/*-------------------------------------------------------------------------
 *
 * usage_writer.c
 *	  The background worker that stores queued usage records in
 *	  bedrock.usage_log of the database named by bedrock.database, and
 *	  purges rows older than bedrock.usage_retention.
 *
 * The usage launcher (usage_launcher.c) starts it, connected to that
 * database, once the database exists.  Every bedrock.usage_flush_ms
 * (sooner when the queue passes half full) it takes a batch from the
 * queue, inserts it in one transaction and only then frees the slots: an
 * insert that fails or is refused loses nothing, the records wait and the
 * reason is visible in bedrock.usage_queue.  On SIGTERM (shutdown, or a
 * DBA's pg_terminate_backend) it stores what is queued before exiting, so
 * a clean shutdown loses no record; the launcher starts another otherwise.
 *
 * It runs as the bootstrap superuser in a database others own, so every
 * transaction that touches bedrock.usage_log goes through
 * usage_log_guard.c (the extension's own table, no foreign trigger or
 * rule, as the table's owner, search_path pinned), the SQL names every
 * object and operator with its schema, and the session's search_path is
 * pinned whatever ALTER DATABASE ... SET says.
 *
 * It never keeps DROP DATABASE (or ALTER DATABASE RENAME, SET TABLESPACE)
 * waiting: those lock the database before they wait for its sessions to
 * leave, and the writer, which looks for that lock between flushes,
 * leaves at once, its records still queued.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/workers/usage_writer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "usage.h"
#include "usage_log_guard.h"
#include "worker_slot.h"

#define BATCH_SIZE 1000
#define NPARAMS 26
#define PURGE_INTERVAL_MS (3600 * 1000)
/* longest wait between looks for a DROP DATABASE (which waits 5 s for us) */
#define DROP_CHECK_MS 1000

PGDLLEXPORT void bedrock_usage_writer_main(Datum main_arg);

static const char insert_sql[] =
"INSERT INTO bedrock.usage_log (called_at, database_name, session_role, role_name, "
"application_name, backend_pid, query_id, operation, model, input_tokens, "
"output_tokens, total_tokens, cache_read_input_tokens, cache_write_input_tokens, "
"client_latency_ms, service_latency_ms, http_status, error_code, attempts, "
"throttled_attempts, request_id, principal_arn, credential_source, guardrail_action, "
"server_name, service_tier) "
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
"$17, $18, $19, $20, $21, $22, $23, $24, $25, $26)";

static const Oid insert_types[NPARAMS] = {
	TIMESTAMPTZOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, INT4OID, INT8OID,
	TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, FLOAT8OID,
	INT8OID, INT4OID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	NAMEOID, TEXTOID
};

static UsageRecord *batch = NULL;
static TimestampTz last_purge = 0;
static char *reported_problem = NULL;	/* the refusal last warned of */
static char *database_name = NULL;	/* ours, read at start */

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL || s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

static Datum
count_or_null(int64 n, bool *isnull)
{
	*isnull = n < 0;
	return Int64GetDatum(n);
}

static Datum
role_name(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	return DirectFunctionCall1(namein, CStringGetDatum(name ? name : psprintf("role %u", roleid)));
}

/* Insert one record with the prepared plan. */
static void
insert_record(SPIPlanPtr plan, const UsageRecord *r)
{
	Datum		v[NPARAMS];
	bool		isnull[NPARAMS] = {0};
	char		nulls[NPARAMS];
	char	   *dbname = get_database_name(r->database_id);
	int			i;

	v[0] = TimestampTzGetDatum(r->called_at);
	v[1] = DirectFunctionCall1(namein, CStringGetDatum(dbname ? dbname : "?"));
	v[2] = role_name(r->session_user_id);
	v[3] = role_name(r->current_user_id);
	v[4] = text_or_null(r->application_name, &isnull[4]);
	v[5] = Int32GetDatum(r->backend_pid);
	v[6] = Int64GetDatum(r->query_id);
	isnull[6] = r->query_id == 0;
	v[7] = CStringGetTextDatum(r->operation);
	v[8] = CStringGetTextDatum(r->model);
	v[9] = count_or_null(r->input_tokens, &isnull[9]);
	v[10] = count_or_null(r->output_tokens, &isnull[10]);
	v[11] = count_or_null(r->total_tokens, &isnull[11]);
	v[12] = count_or_null(r->cache_read_input_tokens, &isnull[12]);
	v[13] = count_or_null(r->cache_write_input_tokens, &isnull[13]);
	v[14] = Float8GetDatum(r->client_latency_ms);
	v[15] = count_or_null(r->service_latency_ms, &isnull[15]);
	v[16] = Int32GetDatum(r->http_status);
	isnull[16] = r->http_status == 0;
	v[17] = text_or_null(r->error_code, &isnull[17]);
	v[18] = Int32GetDatum(r->attempts);
	v[19] = Int32GetDatum(r->throttled_attempts);
	v[20] = text_or_null(r->request_id, &isnull[20]);
	v[21] = text_or_null(r->principal_arn, &isnull[21]);
	v[22] = text_or_null(r->credential_source, &isnull[22]);
	v[23] = text_or_null(r->guardrail_action, &isnull[23]);
	/* the foreign server (src/fdw) */
	isnull[24] = r->server_name[0] == '\0';
	v[24] = isnull[24] ? (Datum) 0 : DirectFunctionCall1(namein, CStringGetDatum(r->server_name));
	/* the service tier that served the call */
	v[25] = text_or_null(r->service_tier, &isnull[25]);
	for (i = 0; i < NPARAMS; i++)
		nulls[i] = isnull[i] ? 'n' : ' ';
	if (SPI_execute_plan(plan, v, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert a usage record");
}

typedef void (*TransactionWork) (void *arg);

/* Say why records wait (NULL: they do not), once per reason. */
static void
report_problem(const char *problem)
{
	usage_report_wait(&reported_problem, problem, ERRCODE_INSUFFICIENT_PRIVILEGE,
					  "CREATE EXTENSION bedrock_fdw in the database named by bedrock.database, after removing the objects in its way; the usage writer writes only the bedrock.usage_log table the extension made, without anyone else's triggers or rules.");
}

/*
 * run_in_transaction
 *		Run work(arg) in a transaction of its own, with SPI connected and a
 *		snapshot, as the owner of bedrock.usage_log once usage_log_guard
 *		accepts it (locked in lockmode); commit.  Returns true when work
 *		ran and committed.  A refusal is reported (report_problem); an
 *		ERROR is logged, rolled back and shown in bedrock.usage_queue.  The
 *		worker goes on either way.
 */
static bool
run_in_transaction(TransactionWork work, void *arg, LOCKMODE lockmode,
				   const char *activity)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *volatile problem = NULL;
	volatile bool done = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		UsageLogGuard guard;

		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);
		problem = usage_log_guard_enter(lockmode, &guard);
		if (problem == NULL)
		{
			work(arg);
			usage_log_guard_leave(&guard);
		}
		else
			problem = MemoryContextStrdup(cxt, problem);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		done = (problem == NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errmsg("bedrock_fdw usage writer: %s failed: %s", activity, edata->message)));
		usage_queue_writer_failed(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	if (problem != NULL || done)
		report_problem(problem);
	if (problem != NULL)
		pfree(problem);
	return done;
}

typedef struct StoreWork
{
	int			n;				/* records in batch */
} StoreWork;

/* Insert the batch (as the table's owner, see run_in_transaction). */
static void
store_work(void *arg)
{
	StoreWork  *w = (StoreWork *) arg;
	SPIPlanPtr	plan;
	int			i;

	plan = SPI_prepare(insert_sql, NPARAMS, (Oid *) insert_types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the usage insert: %s",
			 SPI_result_code_string(SPI_result));
	for (i = 0; i < w->n; i++)
		insert_record(plan, &batch[i]);
}

/*
 * store_batch
 *		Store up to BATCH_SIZE queued records in one transaction; returns how
 *		many were stored (0 when the queue is empty or storing failed).
 */
static int
store_batch(void)
{
	StoreWork	w = {0};

	w.n = usage_queue_peek(batch, BATCH_SIZE);
	if (w.n == 0)
		return 0;
	if (!run_in_transaction(store_work, &w, RowExclusiveLock, "storing usage records"))
		return 0;
	usage_queue_consumed(w.n, GetCurrentTimestamp());
	return w.n;
}

/* Store everything queued (stops at the first failure). */
static void
store_all(void)
{
	while (store_batch() == BATCH_SIZE)
		CHECK_FOR_INTERRUPTS();
}

/*
 * purge_retention
 *		bedrock.usage_retention as a positive interval; NULL when it is
 *		empty.  A retention that is not a positive interval ("-1 day", "0")
 *		would delete everything, so it is an ERROR (as is what is no
 *		interval at all).
 */
static Interval *
purge_retention(void)
{
	Interval	zero = {0};
	Interval   *keep;

	if (bedrock_usage_retention == NULL || bedrock_usage_retention[0] == '\0')
		return NULL;
	keep = DatumGetIntervalP(DirectFunctionCall3(interval_in,
												 CStringGetDatum(bedrock_usage_retention),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(keep),
										  IntervalPGetDatum(&zero))) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bedrock.usage_retention must be a positive interval, such as '90 days'"),
				 errdetail("It is \"%s\"; no row was purged.", bedrock_usage_retention)));
	return keep;
}

/*
 * purge_work
 *		Delete rows older than bedrock.usage_retention (as the table's
 *		owner, see run_in_transaction).  The cut-off is computed here, so
 *		the SQL has one operator, named with its schema.
 */
static void
purge_work(void *arg)
{
	Interval   *keep = purge_retention();
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		args[1];

	if (keep == NULL)
		return;
	args[0] = DirectFunctionCall2(timestamptz_mi_interval,
								  TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
								  IntervalPGetDatum(keep));
	if (SPI_execute_with_args("DELETE FROM bedrock.usage_log WHERE called_at OPERATOR(pg_catalog.<) $1",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not purge bedrock.usage_log");
}

/* Once an hour, when a retention is set, purge old rows. */
static void
purge_old_rows(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (bedrock_usage_retention == NULL || bedrock_usage_retention[0] == '\0' ||
		!TimestampDifferenceExceeds(last_purge, now, PURGE_INTERVAL_MS))
		return;
	last_purge = now;
	(void) run_in_transaction(purge_work, NULL, RowExclusiveLock, "purging old usage records");
}

/*
 * leave_if_database_wanted
 *		When a session waits to drop (or rename, or move) our database,
 *		leave now, records still queued: the launcher starts a writer again
 *		when the database is there to be written.
 */
static void
leave_if_database_wanted(void)
{
	if (!usage_database_wanted(MyDatabaseId))
		return;
	ereport(LOG,
			(errmsg("bedrock_fdw usage writer leaves database \"%s\", which another session is dropping or altering",
					database_name)));
	proc_exit(0);
}

/*
 * bedrock_usage_writer_main
 *		Entry point of the writer, a dynamic worker of the usage launcher;
 *		main_arg is the oid of the database to connect to.
 */
void
bedrock_usage_writer_main(Datum main_arg)
{
	TimestampTz next_flush = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	usage_pin_search_path();
	StartTransactionCommand();
	database_name = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));
	CommitTransactionCommand();

	usage_queue_attach_writer();
	pgstat_report_appname("bedrock_fdw usage writer");
	batch = MemoryContextAlloc(TopMemoryContext, sizeof(UsageRecord) * BATCH_SIZE);

	for (;;)
	{
		bool		woken;
		TimestampTz now;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		leave_if_database_wanted();
		if (ShutdownRequestPending)
		{
			/* store what is queued, then go */
			store_all();
			proc_exit(0);
		}
		now = GetCurrentTimestamp();
		if (now >= next_flush)
		{
			store_all();
			purge_old_rows();
			next_flush = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													 bedrock_usage_flush_ms);
		}
		woken = (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   Min(bedrock_usage_flush_ms, DROP_CHECK_MS),
						   PG_WAIT_EXTENSION) & WL_LATCH_SET) != 0;
		ResetLatch(MyLatch);
		if (woken)
			next_flush = 0;		/* the queue passed half full: store now */
		CHECK_FOR_INTERRUPTS();
	}
}
