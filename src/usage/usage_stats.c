/*-------------------------------------------------------------------------
 *
 * usage_stats.c
 *	  Cumulative per-model counters of Bedrock calls in shared memory:
 *	  bedrock_stats() and bedrock_stats_reset(), after pg_stat_statements.
 *
 * Every Bedrock call a backend makes ends in usage_stats_record(), which
 * adds the call's UsageRecord to the counters of its model.  The counters
 * live in a fixed-size shared hash table keyed by the model id (truncated
 * to USAGE_MODEL_MAXLEN and NUL-padded), created at postmaster start when
 * the library is preloaded; they are not kept across a restart.
 *
 * What is counted, per model:
 *	- calls; errors (error_code not empty); throttled_calls (error_code
 *	  ThrottlingException, that is calls that ended throttled); the
 *	  throttled attempts and the retries (attempts - 1) of every call;
 *	- input, output and total tokens, and cache read and write tokens,
 *	  each when known (a value of -1 adds nothing);
 *	- the client latency (NaN or negative counts as 0 ms): its sum, minimum
 *	  and maximum, and a histogram over fixed log-scale buckets
 *	  (histogram_bounds below).  Each call lands in exactly one bucket, so
 *	  the buckets sum to calls.  bedrock_stats() shows the histogram as a
 *	  jsonb array in bucket order, [{"le": 10, "count": n}, {"le": 25, ...},
 *	  ..., {"le": null, "count": n}]: per-bucket (not cumulative) counts of
 *	  the calls with latency in (previous le, le] ms, null meaning no upper
 *	  bound.  An array keeps the buckets in order, which jsonb object keys
 *	  would not.
 *
 * The table and its locking are model_table.c's: at most
 * USAGE_STATS_MAX_MODELS models and "(other)", which takes the calls of
 * every further model until the next reset; entries are only ever
 * removed, all at once, by bedrock_stats_reset().
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage/usage_stats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "model_table.h"
#include "usage.h"

#define STATS_TABLE_NAME "bedrock_fdw_stats"

/* models tracked one by one; the calls of any further model go to "(other)" */
#define USAGE_STATS_MAX_MODELS 1000

#define ERROR_CODE_THROTTLING "ThrottlingException"

/* upper bounds (ms, inclusive) of the latency buckets; one more is > last */
static const double histogram_bounds[] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000
};

#define HISTOGRAM_BOUNDS lengthof(histogram_bounds)
#define HISTOGRAM_BUCKETS (HISTOGRAM_BOUNDS + 1)

#define BEDROCK_STATS_COLS 17

typedef struct UsageStatsCounters
{
	int64		calls;
	int64		errors;
	int64		throttled_calls;
	int64		throttled_attempts;
	int64		retries;
	int64		input_tokens;
	int64		output_tokens;
	int64		total_tokens;
	int64		cache_read_input_tokens;
	int64		cache_write_input_tokens;
	double		total_latency_ms;
	double		min_latency_ms;
	double		max_latency_ms;
	int64		histogram[HISTOGRAM_BUCKETS];
} UsageStatsCounters;

typedef struct UsageStatsEntry
{
	ModelEntryHeader header;	/* key and mutex: must be first */
	UsageStatsCounters counters;
} UsageStatsEntry;

static void
init_counters(ModelEntryHeader *entry)
{
	memset(&((UsageStatsEntry *) entry)->counters, 0, sizeof(UsageStatsCounters));
}

static ModelTable stats_table = {
	.name = STATS_TABLE_NAME,
	.entry_size = sizeof(UsageStatsEntry),
	.max_models = USAGE_STATS_MAX_MODELS,
	.init_payload = init_counters,
};

PG_FUNCTION_INFO_V1(bedrock_stats);
PG_FUNCTION_INFO_V1(bedrock_stats_reset);

/*
 * usage_stats_request_shmem
 *		Give the counters' table shared memory; called from _PG_init
 *		while shared_preload_libraries is being processed.
 */
void
usage_stats_request_shmem(void)
{
	model_table_register(&stats_table);
}

/* The histogram bucket of a latency. */
static int
histogram_bucket(double latency_ms)
{
	int			i;

	for (i = 0; i < HISTOGRAM_BOUNDS; i++)
		if (latency_ms <= histogram_bounds[i])
			return i;
	return HISTOGRAM_BOUNDS;
}

/*
 * usage_stats_record
 *		Add one Bedrock call to the counters of its model.  Cheap (a shared
 *		lock, a hash lookup and a spinlock), never raises an error, and does
 *		nothing unless the library was preloaded.
 */
void
usage_stats_record(const UsageRecord *rec)
{
	UsageStatsEntry *entry;
	double		latency = rec->client_latency_ms;
	int			bucket;
	bool		is_error = rec->error_code[0] != '\0';
	bool		throttled = strncmp(rec->error_code, ERROR_CODE_THROTTLING,
									USAGE_CODE_MAXLEN) == 0;
	UsageStatsCounters *c;

	/* NaN and negative latencies (a clock step) count as 0 ms */
	if (!(latency >= 0))
		latency = 0;
	bucket = histogram_bucket(latency);

	entry = (UsageStatsEntry *) model_table_enter(&stats_table, rec->model);
	if (entry == NULL)
		return;
	c = &entry->counters;
	SpinLockAcquire(&entry->header.mutex);
	if (c->calls == 0 || latency < c->min_latency_ms)
		c->min_latency_ms = latency;
	if (c->calls == 0 || latency > c->max_latency_ms)
		c->max_latency_ms = latency;
	c->calls++;
	if (is_error)
		c->errors++;
	if (throttled)
		c->throttled_calls++;
	if (rec->throttled_attempts > 0)
		c->throttled_attempts += rec->throttled_attempts;
	if (rec->attempts > 1)
		c->retries += rec->attempts - 1;
	if (rec->input_tokens > 0)
		c->input_tokens += rec->input_tokens;
	if (rec->output_tokens > 0)
		c->output_tokens += rec->output_tokens;
	if (rec->total_tokens > 0)
		c->total_tokens += rec->total_tokens;
	if (rec->cache_read_input_tokens > 0)
		c->cache_read_input_tokens += rec->cache_read_input_tokens;
	if (rec->cache_write_input_tokens > 0)
		c->cache_write_input_tokens += rec->cache_write_input_tokens;
	c->total_latency_ms += latency;
	c->histogram[bucket]++;
	SpinLockRelease(&entry->header.mutex);
	model_table_leave(&stats_table);
}

static void
require_preloaded(void)
{
	if (!model_table_attached(&stats_table))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bedrock_stats requires bedrock_fdw in shared_preload_libraries"),
				 errhint("Add bedrock_fdw to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * histogram_jsonb
 *		The histogram as a jsonb array in bucket order, one element per
 *		bucket: {"le": <upper bound in ms>, "count": <calls>}, the last with
 *		"le": null (no upper bound).  A bucket counts the calls with
 *		latency in (previous le, le]: counts are per bucket, not cumulative.
 */
static Jsonb *
histogram_jsonb(const int64 *histogram)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (i = 0; i < HISTOGRAM_BUCKETS; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		if (i < HISTOGRAM_BOUNDS)
			appendStringInfo(&buf, "{\"le\": %.0f, ", histogram_bounds[i]);
		else
			appendStringInfoString(&buf, "{\"le\": null, ");
		appendStringInfo(&buf, "\"count\": " INT64_FORMAT "}", histogram[i]);
	}
	appendStringInfoChar(&buf, ']');
	return json_text_to_jsonb(buf.data);
}

/*
 * bedrock_stats
 *		SQL: bedrock_stats() RETURNS SETOF record, one row per model with
 *		its counters since stats_reset (see the file header).
 */
Datum
bedrock_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	UsageStatsEntry *snap;
	TimestampTz stats_reset;
	long		n;
	long		i;

	require_preloaded();
	InitMaterializedSRF(fcinfo, 0);

	n = model_table_copy(&stats_table, (char **) &snap, &stats_reset);
	for (i = 0; i < n; i++)
	{
		const UsageStatsCounters *c = &snap[i].counters;
		Datum		values[BEDROCK_STATS_COLS];
		bool		nulls[BEDROCK_STATS_COLS];
		int			col = 0;

		memset(nulls, 0, sizeof(nulls));
		values[col++] = CStringGetTextDatum(snap[i].header.key.model);
		values[col++] = Int64GetDatum(c->calls);
		values[col++] = Int64GetDatum(c->errors);
		values[col++] = Int64GetDatum(c->throttled_calls);
		values[col++] = Int64GetDatum(c->throttled_attempts);
		values[col++] = Int64GetDatum(c->retries);
		values[col++] = Int64GetDatum(c->input_tokens);
		values[col++] = Int64GetDatum(c->output_tokens);
		values[col++] = Int64GetDatum(c->total_tokens);
		values[col++] = Int64GetDatum(c->cache_read_input_tokens);
		values[col++] = Int64GetDatum(c->cache_write_input_tokens);
		values[col++] = Float8GetDatum(c->total_latency_ms);
		if (c->calls > 0)
		{
			values[col++] = Float8GetDatum(c->total_latency_ms / c->calls);
			values[col++] = Float8GetDatum(c->min_latency_ms);
			values[col++] = Float8GetDatum(c->max_latency_ms);
		}
		else
		{
			nulls[col++] = true;
			nulls[col++] = true;
			nulls[col++] = true;
		}
		values[col++] = JsonbPGetDatum(histogram_jsonb(c->histogram));
		values[col++] = TimestampTzGetDatum(stats_reset);
		Assert(col == BEDROCK_STATS_COLS);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	return (Datum) 0;
}

/*
 * bedrock_stats_reset
 *		SQL: bedrock_stats_reset() RETURNS timestamptz.  Forget every model
 *		and its counters; returns the new stats_reset time.
 */
Datum
bedrock_stats_reset(PG_FUNCTION_ARGS)
{
	require_preloaded();
	PG_RETURN_TIMESTAMPTZ(model_table_clear(&stats_table));
}
