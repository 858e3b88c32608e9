/*-------------------------------------------------------------------------
 *
 * usage_writer.c
 *	  The background worker that stores queued usage records in
 *	  bedrock.usage_log of the database named by bedrock.database, and
 *	  purges rows older than bedrock.usage_retention.
 *
 * Every bedrock.usage_flush_ms (sooner when the queue passes half full)
 * it takes a batch from the queue, inserts it in one transaction and only
 * then frees the slots: an insert that fails (extension not installed in
 * that database, say) loses nothing, the records wait and the failure is
 * visible in bedrock.usage_queue.  On SIGTERM (shutdown, or a DBA's
 * pg_terminate_backend) it stores what is queued before exiting, so a
 * clean shutdown loses no record; the postmaster restarts it otherwise.
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
#include "catalog/namespace.h"
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
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "usage.h"
#include "worker_slot.h"

#define BATCH_SIZE 1000
#define NPARAMS 24
#define PURGE_INTERVAL_MS (3600 * 1000)

PGDLLEXPORT void bedrock_usage_writer_main(Datum main_arg);

static const char insert_sql[] =
"INSERT INTO bedrock.usage_log (called_at, database_name, session_role, role_name, "
"application_name, backend_pid, query_id, operation, model, input_tokens, "
"output_tokens, total_tokens, cache_read_input_tokens, cache_write_input_tokens, "
"client_latency_ms, service_latency_ms, http_status, error_code, attempts, "
"throttled_attempts, request_id, principal_arn, credential_source, guardrail_action) "
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
"$17, $18, $19, $20, $21, $22, $23, $24)";

static const Oid insert_types[NPARAMS] = {
	TIMESTAMPTZOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, INT4OID, INT8OID,
	TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, FLOAT8OID,
	INT8OID, INT4OID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID
};

static UsageRecord *batch = NULL;
static TimestampTz last_purge = 0;
static bool table_missing_reported = false;

/*
 * usage_writer_register
 *		Register the writer; called from _PG_init under
 *		shared_preload_libraries.
 */
void
usage_writer_register(void)
{
	/* it writes, so only once recovery is over */
	bedrock_register_worker("bedrock_usage_writer_main",
							"bedrock_fdw usage writer", BgWorkerStart_RecoveryFinished, 5);
}

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
	for (i = 0; i < NPARAMS; i++)
		nulls[i] = isnull[i] ? 'n' : ' ';
	if (SPI_execute_plan(plan, v, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert a usage record");
}

typedef void (*TransactionWork) (void *arg);

/*
 * run_in_transaction
 *		Run work(arg) in a transaction of its own, with SPI connected and a
 *		snapshot; commit.  On ERROR: log it, roll back, and return the
 *		message (palloc'd); NULL on success.  The worker goes on either way.
 */
static char *
run_in_transaction(TransactionWork work, void *arg, const char *activity)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *volatile failure = NULL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);
		work(arg);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
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
		failure = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return failure;
}

static bool
usage_log_exists(void)
{
	return OidIsValid(get_relname_relid("usage_log", get_namespace_oid("bedrock", true)));
}

typedef struct StoreWork
{
	int			n;				/* records in batch */
	bool		stored;			/* out: inserted */
} StoreWork;

/* Insert the batch, or say why records must wait. */
static void
store_work(void *arg)
{
	StoreWork  *w = (StoreWork *) arg;
	SPIPlanPtr	plan;
	int			i;

	if (!usage_log_exists())
	{
		if (!table_missing_reported)
			ereport(WARNING,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("bedrock_fdw usage records wait: there is no bedrock.usage_log in database \"%s\"",
							bedrock_database),
					 errhint("CREATE EXTENSION bedrock_fdw in that database, or set bedrock.database.")));
		table_missing_reported = true;
		usage_queue_writer_failed("no bedrock.usage_log in the database named by bedrock.database");
		return;
	}
	table_missing_reported = false;
	plan = SPI_prepare(insert_sql, NPARAMS, (Oid *) insert_types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the usage insert: %s",
			 SPI_result_code_string(SPI_result));
	for (i = 0; i < w->n; i++)
		insert_record(plan, &batch[i]);
	w->stored = true;
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
	char	   *failure;

	w.n = usage_queue_peek(batch, BATCH_SIZE);
	if (w.n == 0)
		return 0;
	failure = run_in_transaction(store_work, &w, "storing usage records");
	if (failure != NULL)
	{
		usage_queue_writer_failed(failure);
		return 0;
	}
	if (!w.stored)
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
 * purge_work
 *		Delete rows older than bedrock.usage_retention.  A retention that is
 *		not a positive interval ("-1 day", "0") would delete everything, so
 *		it is refused (the cast refuses what is no interval at all).
 */
static void
purge_work(void *arg)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(bedrock_usage_retention)};

	if (!usage_log_exists())
		return;
	if (SPI_execute_with_args("SELECT 1 WHERE $1::interval > interval '0'",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check bedrock.usage_retention");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bedrock.usage_retention must be a positive interval, such as '90 days'"),
				 errdetail("It is \"%s\"; no row was purged.", bedrock_usage_retention)));
	SPI_execute_with_args("DELETE FROM bedrock.usage_log WHERE called_at < now() - $1::interval",
						  1, argtypes, args, NULL, false, 0);
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
	(void) run_in_transaction(purge_work, NULL, "purging old usage records");
}

void
bedrock_usage_writer_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(bedrock_database, NULL, 0);

	usage_queue_attach_writer();
	pgstat_report_appname("bedrock_fdw usage writer");
	batch = MemoryContextAlloc(TopMemoryContext, sizeof(UsageRecord) * BATCH_SIZE);

	for (;;)
	{
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		store_all();
		purge_old_rows();
		if (ShutdownRequestPending)
		{
			/* store what is queued, then go; restarted unless shutting down */
			store_all();
			proc_exit(1);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 bedrock_usage_flush_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
