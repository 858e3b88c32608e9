/*-------------------------------------------------------------------------
 *
 * rate_limiter.c
 *	  The shared rate limiter: before every attempt a backend asks whether
 *	  it may send now; the answer comes from per-model budgets in shared
 *	  memory, the same for every backend.
 *
 * Per model (model_table.c keeps one entry per model), two token buckets:
 *
 *	- requests, refilled at the allowed request rate: the DBA's rpm limit
 *	  (bedrock.rate_limits) or, once Bedrock has throttled the model, the
 *	  adaptive rate below if that is lower;
 *	- tokens, refilled at the DBA's tpm limit.  An attempt reserves an
 *	  estimate of its input tokens (request bytes / 4) when it starts; a
 *	  failed attempt gives the estimate back and a successful call settles
 *	  it against the input + output tokens Bedrock reported.  The bucket
 *	  may go below zero (a long answer): later calls then wait until it
 *	  has refilled.
 *
 * A bucket holds one second's worth of its rate (at least one request),
 * divided by (1 - bedrock.interactive_reserve): calls from bedrock_chat
 * may empty it, while batch calls (bedrock_chat_batch, bedrock_enrich)
 * leave the reserve untouched, so that an interactive query finds room
 * even while a batch job runs at the limit.
 *
 * Adaptive slowdown follows the AWS SDKs' "adaptive" retry mode (CUBIC,
 * as in TCP): the measured sending rate is smoothed over half-second
 * buckets; on a throttled response the allowed rate drops to 0.7 times
 * the rate we were sending at (and the request bucket empties), and each
 * later response raises it along the cubic curve 0.4 * (t - K)^3 + W_max,
 * never above twice the measured rate, never below 0.5 requests per
 * second.  Unlike the SDKs, whose state is per client, one throttle slows
 * every backend calling that model: a batch job backs off as a whole
 * instead of storming.
 * bedrock.adaptive_rate_limiting turns this off.
 *
 * rate_limiter_admit() never sleeps: it answers "now" (and takes the
 * request and the tokens) or "in N ms", and the caller waits the way it
 * waits for everything else (latch-aware, interruptible), or, in a batch,
 * parks the attempt and goes on with its transfers in flight.
 *
 * Without shared_preload_libraries there is no shared state: nothing is
 * limited, and a backend whose bedrock.rate_limits is set says so once.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/rate_limiter.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "model_table.h"
#include "rate_limiter.h"

#define LIMITER_TABLE_NAME "bedrock_fdw_rate_limiter"
#define LIMITER_MAX_MODELS 1000

/* CUBIC, as the SDKs' adaptive mode */
#define CUBIC_SCALE 0.4
#define CUBIC_BETA 0.7
#define MIN_ADAPTIVE_RATE 0.5	/* requests per second */
#define MEASURE_BUCKET_S 0.5
#define MEASURE_SMOOTHING 0.8
#define MEASURE_IDLE_S 2.0

#define BEDROCK_RATE_LIMITS_COLS 14

typedef struct LimiterState
{
	/* the DBA's limits when this entry was last used (0: none), per second */
	double		rpm_rate;
	double		tpm_rate;

	/* the buckets; levels are meaningful while their rate is finite */
	double		requests_level;
	double		tokens_level;
	double		refilled_at;	/* seconds */
	bool		requests_limited;	/* the request rate was finite */

	/* adaptive slowdown */
	bool		adaptive;		/* throttled at least once since reset */
	double		adaptive_rate;	/* requests per second */
	double		last_max_rate;	/* W_max */
	double		last_throttle_s;
	double		measured_rate;	/* smoothed requests per second */
	double		measure_bucket_s;
	int64		measure_count;

	/* counters */
	int64		admitted;
	int64		delayed;		/* attempts that had to wait */
	double		delay_ms;		/* how long they waited, in all */
	int64		throttled;		/* throttled responses */
	TimestampTz last_throttle;	/* 0: never */
} LimiterState;

typedef struct LimiterEntry
{
	ModelEntryHeader header;	/* key and mutex: must be first */
	LimiterState state;
} LimiterEntry;

static void
init_state(ModelEntryHeader *entry)
{
	LimiterState *s = &((LimiterEntry *) entry)->state;

	memset(s, 0, sizeof(*s));
	s->refilled_at = (double) GetCurrentTimestamp() / USECS_PER_SEC;
	s->measure_bucket_s = floor(s->refilled_at / MEASURE_BUCKET_S) * MEASURE_BUCKET_S;
}

static ModelTable limiter_table = {
	.name = LIMITER_TABLE_NAME,
	.entry_size = sizeof(LimiterEntry),
	.max_models = LIMITER_MAX_MODELS,
	.init_payload = init_state,
};

static bool warned_not_preloaded = false;

PG_FUNCTION_INFO_V1(bedrock_rate_limits);
PG_FUNCTION_INFO_V1(bedrock_rate_limits_reset);

/*
 * rate_limiter_request_shmem
 *		Give the limiter's table shared memory; called from _PG_init
 *		while shared_preload_libraries is being processed.
 */
void
rate_limiter_request_shmem(void)
{
	model_table_register(&limiter_table);
}

static double
now_seconds(void)
{
	return (double) GetCurrentTimestamp() / USECS_PER_SEC;
}

/* The allowed request rate per second; 0 when unlimited. */
static double
request_rate(const LimiterState *s)
{
	double		rate = s->rpm_rate;

	if (s->adaptive && bedrock_adaptive_rate_limiting &&
		(rate == 0 || s->adaptive_rate < rate))
		rate = s->adaptive_rate;
	return rate;
}

/* A bucket's capacity: one second of rate (at least one), plus the reserve. */
static double
bucket_capacity(double rate)
{
	return Max(rate, 1.0) / (1.0 - bedrock_interactive_reserve);
}

/*
 * refill
 *		Bring both buckets up to time now.  A bucket whose rate just became
 *		finite starts full.
 */
static void
refill(LimiterState *s, double now)
{
	double		elapsed = Max(now - s->refilled_at, 0.0);
	double		rrate = request_rate(s);

	if (rrate > 0)
	{
		double		cap = bucket_capacity(rrate);

		if (!s->requests_limited)
			s->requests_level = cap;
		else
			s->requests_level = Min(cap, s->requests_level + elapsed * rrate);
	}
	s->requests_limited = rrate > 0;
	if (s->tpm_rate > 0)
		s->tokens_level = Min(bucket_capacity(s->tpm_rate),
							  s->tokens_level + elapsed * s->tpm_rate);
	s->refilled_at = now;
}

/*
 * apply_config
 *		Take the DBA's current limits for this model; a changed limit
 *		restarts its bucket full.
 */
static void
apply_config(LimiterState *s, const ModelRateLimit *limit)
{
	double		rpm_rate = (double) limit->requests_per_minute / 60.0;
	double		tpm_rate = (double) limit->tokens_per_minute / 60.0;

	if (rpm_rate != s->rpm_rate)
	{
		s->rpm_rate = rpm_rate;
		s->requests_limited = false;
	}
	if (tpm_rate != s->tpm_rate)
	{
		s->tpm_rate = tpm_rate;
		s->tokens_level = tpm_rate > 0 ? bucket_capacity(tpm_rate) : 0;
	}
}

/*
 * wait_for
 *		Seconds until a bucket at level, refilled at rate, holds need; 0 if
 *		it does.
 */
static double
wait_for(double level, double need, double rate)
{
	if (rate <= 0 || level >= need)
		return 0;
	return (need - level) / rate;
}

/*
 * rate_limiter_admit
 *		May an attempt on model, estimated at tokens_estimate input tokens,
 *		be sent now?  Returns 0 when it may (the request and the estimate
 *		are taken from the budgets), else the milliseconds to wait before
 *		asking again.  batch callers leave the interactive reserve alone.
 *		waiting_since is when this attempt was first refused (0: this is
 *		its first request): the counters count each delayed attempt once
 *		and the time it waited in all.  Never raises, never sleeps.
 */
long
rate_limiter_admit(const char *model, int64 tokens_estimate, bool batch,
				   TimestampTz waiting_since)
{
	LimiterEntry *entry;
	LimiterState *s;
	ModelRateLimit limit;
	double		now = now_seconds();
	double		rrate;
	double		wait_s;
	long		wait_ms = 0;

	rate_limit_for_model(model, &limit);
	entry = (LimiterEntry *) model_table_enter(&limiter_table, model);
	if (entry == NULL)
	{
		if (rate_limits_configured() && !warned_not_preloaded)
		{
			warned_not_preloaded = true;
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("bedrock.rate_limits is not enforced: bedrock_fdw is not in shared_preload_libraries"),
					 errhint("Add bedrock_fdw to shared_preload_libraries in postgresql.conf and restart the server.")));
		}
		return 0;
	}

	s = &entry->state;
	SpinLockAcquire(&entry->header.mutex);
	apply_config(s, &limit);
	refill(s, now);
	rrate = request_rate(s);
	{
		double		rcap = bucket_capacity(rrate);
		double		tcap = bucket_capacity(s->tpm_rate);
		double		reserve = batch ? bedrock_interactive_reserve : 0.0;
		double		rneed = 1.0 + reserve * rcap;
		double		tneed = Min((double) tokens_estimate, Max(s->tpm_rate, 1.0)) +
			reserve * tcap;

		wait_s = Max(wait_for(s->requests_level, rneed, rrate),
					 wait_for(s->tokens_level, tneed, s->tpm_rate));
	}
	if (wait_s > 0)
	{
		wait_ms = (long) ceil(wait_s * 1000.0);
		if (waiting_since == 0)
			s->delayed++;
	}
	else
	{
		if (rrate > 0)
			s->requests_level -= 1.0;
		if (s->tpm_rate > 0)
			s->tokens_level -= (double) tokens_estimate;
		s->admitted++;
		if (waiting_since != 0)
			s->delay_ms += (double) (GetCurrentTimestamp() - waiting_since) / 1000.0;
	}
	SpinLockRelease(&entry->header.mutex);
	model_table_leave(&limiter_table);
	return wait_ms;
}

/*
 * measure_rate
 *		Count one response in the sending-rate measurement (half-second
 *		buckets, exponentially smoothed), as the SDKs do.
 */
static void
measure_rate(LimiterState *s, double now)
{
	double		bucket = floor(now / MEASURE_BUCKET_S) * MEASURE_BUCKET_S;

	s->measure_count++;
	if (bucket > s->measure_bucket_s)
	{
		double		current = (double) s->measure_count / (bucket - s->measure_bucket_s);

		s->measured_rate = current * MEASURE_SMOOTHING +
			s->measured_rate * (1.0 - MEASURE_SMOOTHING);
		s->measure_count = 0;
		s->measure_bucket_s = bucket;
	}
}

/*
 * sending_rate
 *		The rate we have been sending at: the smoothed measurement or,
 *		before the first half-second has been measured, the responses
 *		counted so far over the time they took; after two idle seconds,
 *		only what was counted since.
 */
static double
sending_rate(const LimiterState *s, double now)
{
	double		elapsed = now - s->measure_bucket_s;
	double		partial = (double) s->measure_count / Max(elapsed, MEASURE_BUCKET_S);

	if (elapsed >= MEASURE_IDLE_S)
		return partial;
	return Max(s->measured_rate, partial);
}

/*
 * rate_limiter_observe
 *		Learn from the outcome of one attempt, sent at sent_at: throttled
 *		or not, it feeds the measured rate and moves the adaptive rate: up
 *		along the cubic curve, or down on throttling.  As TCP reduces its
 *		window once per loss event, an attempt sent before the last
 *		reduction does not reduce again (with many attempts in flight, one
 *		throttling episode would otherwise divide the rate by 0.7 for each
 *		of them).  Never raises.
 */
void
rate_limiter_observe(const char *model, bool throttled, TimestampTz sent_at)
{
	LimiterEntry *entry;
	LimiterState *s;
	double		now = now_seconds();
	double		rate;

	entry = (LimiterEntry *) model_table_enter(&limiter_table, model);
	if (entry == NULL)
		return;
	s = &entry->state;
	SpinLockAcquire(&entry->header.mutex);
	refill(s, now);
	measure_rate(s, now);
	if (throttled)
		s->throttled++;
	if (throttled && s->adaptive &&
		(double) sent_at / USECS_PER_SEC < s->last_throttle_s)
		rate = -1;				/* the reduction this episode made holds */
	else if (throttled)
	{
		double		sending = sending_rate(s, now);

		s->last_throttle = GetCurrentTimestamp();
		s->last_max_rate = s->adaptive ? Min(sending, s->adaptive_rate) : sending;
		s->last_throttle_s = now;
		/*
		 * Bedrock said "too many": the bucket restarts empty (the SDKs'
		 * starts empty on the first throttle only), so that no burst of
		 * what is left in it goes out at the rate that was just too much.
		 * In make bench's storm (a quota of 20 requests/s) this cut the
		 * throttled responses from about 40 to 10-20; after a burst of
		 * throttles that was not about the rate, recovery takes longer.
		 */
		s->requests_level = 0;
		s->requests_limited = true;
		s->adaptive = true;
		rate = s->last_max_rate * CUBIC_BETA;
	}
	else if (s->adaptive)
	{
		double		k = cbrt(s->last_max_rate * (1.0 - CUBIC_BETA) / CUBIC_SCALE);
		double		t = now - s->last_throttle_s - k;

		rate = CUBIC_SCALE * t * t * t + s->last_max_rate;
	}
	else
		rate = -1;

	if (rate >= 0)
	{
		rate = Min(rate, 2.0 * sending_rate(s, now));
		s->adaptive_rate = Max(rate, MIN_ADAPTIVE_RATE);
		/* a lower rate shrinks the bucket at once */
		if (s->requests_limited)
			s->requests_level = Min(s->requests_level,
									bucket_capacity(request_rate(s)));
	}
	SpinLockRelease(&entry->header.mutex);
	model_table_leave(&limiter_table);
}

/*
 * rate_limiter_settle_tokens
 *		A call that reserved `reserved` tokens used `actual` (input +
 *		output; 0 gives the reservation back, a negative actual means
 *		unknown and keeps it).  Never raises.
 */
void
rate_limiter_settle_tokens(const char *model, int64 reserved, int64 actual)
{
	LimiterEntry *entry;

	if (actual < 0 || actual == reserved)
		return;
	entry = (LimiterEntry *) model_table_enter(&limiter_table, model);
	if (entry == NULL)
		return;
	SpinLockAcquire(&entry->header.mutex);
	if (entry->state.tpm_rate > 0)
		entry->state.tokens_level -= (double) (actual - reserved);
	SpinLockRelease(&entry->header.mutex);
	model_table_leave(&limiter_table);
}

static void
require_preloaded(void)
{
	if (!model_table_attached(&limiter_table))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the bedrock_fdw rate limiter requires bedrock_fdw in shared_preload_libraries"),
				 errhint("Add bedrock_fdw to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* A value per minute, or NULL when there is no limit (rate 0). */
static Datum
per_minute(double rate_per_s, bool *isnull)
{
	*isnull = rate_per_s <= 0;
	return Float8GetDatum(rate_per_s * 60.0);
}

/*
 * bedrock_rate_limits
 *		SQL: bedrock_rate_limits() RETURNS SETOF record: one row per model
 *		called since the last reset, with its limits, its adaptive state,
 *		its buckets (as of now) and its counters.
 */
Datum
bedrock_rate_limits(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LimiterEntry *snap;
	TimestampTz since;
	double		now = now_seconds();
	long		n;

	require_preloaded();
	InitMaterializedSRF(fcinfo, 0);
	n = model_table_copy(&limiter_table, (char **) &snap, &since);

	for (long i = 0; i < n; i++)
	{
		LimiterState *s = &snap[i].state;
		ModelRateLimit limit;
		Datum		values[BEDROCK_RATE_LIMITS_COLS];
		bool		nulls[BEDROCK_RATE_LIMITS_COLS];
		int			col = 0;

		/* the state as the next admission would see it */
		rate_limit_for_model(snap[i].header.key.model, &limit);
		apply_config(s, &limit);
		refill(s, now);

		memset(nulls, 0, sizeof(nulls));
		values[col++] = CStringGetTextDatum(snap[i].header.key.model);
		values[col] = Int64GetDatum(limit.requests_per_minute);
		nulls[col++] = limit.requests_per_minute == 0;
		values[col] = Int64GetDatum(limit.tokens_per_minute);
		nulls[col++] = limit.tokens_per_minute == 0;
		values[col++] = BoolGetDatum(s->adaptive && bedrock_adaptive_rate_limiting);
		values[col] = per_minute(request_rate(s), &nulls[col]);
		col++;
		values[col++] = Float8GetDatum(sending_rate(s, now) * 60.0);
		values[col] = Float8GetDatum(s->requests_level);
		nulls[col++] = !s->requests_limited;
		values[col] = Float8GetDatum(s->tokens_level);
		nulls[col++] = s->tpm_rate <= 0;
		values[col++] = Int64GetDatum(s->admitted);
		values[col++] = Int64GetDatum(s->delayed);
		values[col++] = Float8GetDatum(s->delay_ms);
		values[col++] = Int64GetDatum(s->throttled);
		values[col] = TimestampTzGetDatum(s->last_throttle);
		nulls[col++] = s->last_throttle == 0;
		values[col++] = TimestampTzGetDatum(since);
		Assert(col == BEDROCK_RATE_LIMITS_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * bedrock_rate_limits_reset
 *		SQL: bedrock_rate_limits_reset() RETURNS timestamptz.  Forget every
 *		model's adaptive state, buckets and counters (after a quota
 *		increase, say); returns the reset time.
 */
Datum
bedrock_rate_limits_reset(PG_FUNCTION_ARGS)
{
	require_preloaded();
	PG_RETURN_TIMESTAMPTZ(model_table_clear(&limiter_table));
}
