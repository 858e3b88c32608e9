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
 * Budgets belong to base models (rate_limit_base_model): an ARN or a
 * cross-region inference profile of a model draws on the model's own
 * budget, under the model's rule.  A changed rule keeps what the buckets
 * hold, clipped to the new capacity: a reload never hands out a fresh
 * second's worth.  The table of models (model_table.c) holds 1,000; when
 * it is full, a new model takes the place of one whose buckets are full
 * again and that is not slowed down (such an entry holds nothing a new
 * one would not), and only when there is none shares the "(other)" entry.
 * That one entry is shared by models with different rules, so it is held
 * to the strictest limits among its callers until its buckets are full
 * again: calling models in turn does not refill it.
 *
 * bedrock.rate_limits shows, per model, whether the adaptive rate is below
 * the configured one (slowed_down), since when and after how many
 * throttled responses, and why the last delayed attempt waited.
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

/* a slowed-down entry may be dropped from a full table this long after */
#define ADAPTIVE_FORGET_S 300.0

/* bedrock_rate_limits() columns: 0.2.0 declared the first 14 */
#define BEDROCK_RATE_LIMITS_COLS 19
#define BEDROCK_RATE_LIMITS_COLS_0_2 14

/* why an attempt had to wait */
typedef enum DelayReason
{
	DELAY_NONE = 0,
	DELAY_RPM_LIMIT,			/* the configured requests per minute */
	DELAY_ADAPTIVE,				/* the adaptive rate, below the configured one */
	DELAY_TPM_LIMIT				/* the configured tokens per minute */
} DelayReason;

static const char *const delay_reason_names[] = {
	[DELAY_NONE] = NULL,
	[DELAY_RPM_LIMIT] = "rpm_limit",
	[DELAY_ADAPTIVE] = "adaptive_slowdown",
	[DELAY_TPM_LIMIT] = "tpm_limit",
};

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
	bool		tokens_limited; /* the token rate was finite */

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
	TimestampTz slowdown_since; /* adaptive rate below the limit since; 0 */
	int64		slowdown_throttles; /* throttled responses since then */
	DelayReason last_delay_reason;
} LimiterState;

typedef struct LimiterEntry
{
	ModelEntryHeader header;	/* key and mutex: must be first */
	LimiterState state;
} LimiterEntry;

static double
seconds(TimestampTz t)
{
	return (double) t / USECS_PER_SEC;
}

static void
init_state(ModelEntryHeader *entry)
{
	LimiterState *s = &((LimiterEntry *) entry)->state;

	memset(s, 0, sizeof(*s));
	s->refilled_at = seconds(GetCurrentTimestamp());
	s->measure_bucket_s = floor(s->refilled_at / MEASURE_BUCKET_S) * MEASURE_BUCKET_S;
}

static bool entry_at_rest(ModelEntryHeader *entry, TimestampTz now);

static ModelTable limiter_table = {
	.name = LIMITER_TABLE_NAME,
	.entry_size = sizeof(LimiterEntry),
	.max_models = LIMITER_MAX_MODELS,
	.init_payload = init_state,
	.at_rest = entry_at_rest,
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

/* x rounded to 3 decimals, so that views show 1000, not 1000.0000000000001 */
static double
round3(double x)
{
	return round(x * 1000.0) / 1000.0;
}

/*
 * adaptive_below_limit
 *		Throttling has brought the adaptive rate below the configured rate
 *		(any adaptive rate counts when no rpm is configured).
 */
static bool
adaptive_below_limit(const LimiterState *s)
{
	return s->adaptive && (s->rpm_rate == 0 || s->adaptive_rate < s->rpm_rate);
}

/* The adaptive rate applies now and is below the configured one. */
static bool
slowed_down(const LimiterState *s)
{
	return bedrock_adaptive_rate_limiting && adaptive_below_limit(s);
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
 * fit_buckets
 *		Fit both buckets to their current rates: a bucket whose rate just
 *		became finite starts full, one whose rate changed keeps what it
 *		holds up to its new capacity.
 */
static void
fit_buckets(LimiterState *s)
{
	double		rrate = request_rate(s);

	if (rrate > 0)
	{
		double		cap = bucket_capacity(rrate);

		s->requests_level = s->requests_limited ? Min(cap, s->requests_level) : cap;
	}
	s->requests_limited = rrate > 0;
	if (s->tpm_rate > 0)
	{
		double		cap = bucket_capacity(s->tpm_rate);

		s->tokens_level = s->tokens_limited ? Min(cap, s->tokens_level) : cap;
	}
	s->tokens_limited = s->tpm_rate > 0;
}

/*
 * refill
 *		Bring both buckets up to time now, at the rates in force since the
 *		last refill.
 */
static void
refill(LimiterState *s, double now)
{
	double		elapsed = Max(now - s->refilled_at, 0.0);
	double		rrate = request_rate(s);

	if (s->requests_limited && rrate > 0)
		s->requests_level = Min(bucket_capacity(rrate),
								s->requests_level + elapsed * rrate);
	if (s->tokens_limited && s->tpm_rate > 0)
		s->tokens_level = Min(bucket_capacity(s->tpm_rate),
							  s->tokens_level + elapsed * s->tpm_rate);
	s->refilled_at = now;
	fit_buckets(s);
}

/* Both buckets are full (or unlimited); call after refill. */
static bool
buckets_full(const LimiterState *s)
{
	const double epsilon = 1e-9;

	if (s->requests_limited &&
		s->requests_level < bucket_capacity(request_rate(s)) - epsilon)
		return false;
	if (s->tokens_limited &&
		s->tokens_level < bucket_capacity(s->tpm_rate) - epsilon)
		return false;
	return true;
}

/* The stricter of two rates, 0 meaning no limit. */
static double
stricter(double a, double b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return Min(a, b);
}

/*
 * apply_config
 *		Take the DBA's current limits for this model (call after refill):
 *		a changed limit keeps what the buckets hold, clipped to the new
 *		capacity.  shared is the entry of every model the table had no room
 *		for: until its buckets are full again it keeps the strictest limits
 *		any of its callers brought, so that models called in turn, each
 *		under its own rule, do not refill it.
 */
static void
apply_config(LimiterState *s, const ModelRateLimit *limit, bool shared)
{
	double		rpm_rate = (double) limit->requests_per_minute / 60.0;
	double		tpm_rate = (double) limit->tokens_per_minute / 60.0;

	if (shared && !buckets_full(s))
	{
		rpm_rate = stricter(s->rpm_rate, rpm_rate);
		tpm_rate = stricter(s->tpm_rate, tpm_rate);
	}
	s->rpm_rate = rpm_rate;
	s->tpm_rate = tpm_rate;
	fit_buckets(s);
}

/*
 * entry_at_rest
 *		The model table's at_rest: the entry's buckets are full again and
 *		it is not slowed down (or was last throttled long ago), so that a
 *		fresh entry would behave the same.  Runs under the table's
 *		exclusive lock; never raises.
 */
static bool
entry_at_rest(ModelEntryHeader *entry, TimestampTz now)
{
	LimiterState *s = &((LimiterEntry *) entry)->state;
	double		now_s = seconds(now);

	refill(s, now_s);
	if (!buckets_full(s))
		return false;
	return !adaptive_below_limit(s) ||
		now_s - s->last_throttle_s >= ADAPTIVE_FORGET_S;
}

/*
 * note_slowdown
 *		Keep slowdown_since and slowdown_throttles in step with the adaptive
 *		rate after a response (throttled or not) at now.
 */
static void
note_slowdown(LimiterState *s, bool throttled, TimestampTz now)
{
	if (!adaptive_below_limit(s))
	{
		s->slowdown_since = 0;
		s->slowdown_throttles = 0;
		return;
	}
	if (s->slowdown_since == 0)
		s->slowdown_since = now;
	if (throttled)
		s->slowdown_throttles++;
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
	const char *base = rate_limit_base_model(model);
	TimestampTz now_ts = GetCurrentTimestamp();
	double		now = seconds(now_ts);
	double		rrate;
	double		wait_s;
	long		wait_ms = 0;

	rate_limit_for_model(base, &limit);
	entry = (LimiterEntry *) model_table_enter(&limiter_table, base);
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
	refill(s, now);
	apply_config(s, &limit, model_table_is_other(&entry->header));
	rrate = request_rate(s);
	{
		double		rcap = bucket_capacity(rrate);
		double		tcap = bucket_capacity(s->tpm_rate);
		double		reserve = batch ? bedrock_interactive_reserve : 0.0;
		double		rneed = 1.0 + reserve * rcap;
		double		tneed = Min((double) tokens_estimate, Max(s->tpm_rate, 1.0)) +
			reserve * tcap;
		double		rwait = wait_for(s->requests_level, rneed, rrate);
		double		twait = wait_for(s->tokens_level, tneed, s->tpm_rate);

		wait_s = Max(rwait, twait);
		if (twait > rwait)
			s->last_delay_reason = DELAY_TPM_LIMIT;
		else if (rwait > 0)
			s->last_delay_reason = (s->rpm_rate > 0 && rrate >= s->rpm_rate)
				? DELAY_RPM_LIMIT : DELAY_ADAPTIVE;
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
			s->delay_ms += (double) (now_ts - waiting_since) / 1000.0;
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
	TimestampTz now_ts = GetCurrentTimestamp();
	double		now = seconds(now_ts);
	double		rate;

	entry = (LimiterEntry *) model_table_enter(&limiter_table,
											   rate_limit_base_model(model));
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

		s->last_throttle = now_ts;
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
	note_slowdown(s, throttled, now_ts);
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
	entry = (LimiterEntry *) model_table_enter(&limiter_table,
											   rate_limit_base_model(model));
	if (entry == NULL)
		return;
	SpinLockAcquire(&entry->header.mutex);
	if (entry->state.tokens_limited)
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

/* A value per minute, rounded, or NULL when there is no limit (rate 0). */
static Datum
per_minute(double rate_per_s, bool *isnull)
{
	*isnull = rate_per_s <= 0;
	return Float8GetDatum(round3(rate_per_s * 60.0));
}

/*
 * bedrock_rate_limits
 *		SQL: bedrock_rate_limits() RETURNS SETOF record: one row per base
 *		model called since the last reset (while the table has room), with
 *		its limits, its adaptive state, its buckets (as of now), its
 *		counters and its slowdown.  Rates and amounts are rounded to 3
 *		decimals.  Fills as many columns as the SQL declaration has (the
 *		first 14 under 0.2.0's).
 */
Datum
bedrock_rate_limits(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LimiterEntry *snap;
	TimestampTz since;
	TimestampTz now_ts = GetCurrentTimestamp();
	double		now = seconds(now_ts);
	long		n;

	require_preloaded();
	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != BEDROCK_RATE_LIMITS_COLS &&
		rsinfo->setDesc->natts != BEDROCK_RATE_LIMITS_COLS_0_2)
		elog(ERROR, "bedrock_rate_limits() declared with %d columns",
			 rsinfo->setDesc->natts);
	n = model_table_copy(&limiter_table, (char **) &snap, &since);

	for (long i = 0; i < n; i++)
	{
		LimiterState *s = &snap[i].state;
		ModelRateLimit limit;
		Datum		values[BEDROCK_RATE_LIMITS_COLS];
		bool		nulls[BEDROCK_RATE_LIMITS_COLS];
		bool		slow;
		int			col = 0;

		/* the state as the next admission would see it */
		rate_limit_for_model(snap[i].header.key.model, &limit);
		refill(s, now);
		apply_config(s, &limit, model_table_is_other(&snap[i].header));
		slow = slowed_down(s);
		if (model_table_is_other(&snap[i].header))
		{
			/* the limits it holds its models to, not those of its name */
			limit.requests_per_minute = (int64) llround(s->rpm_rate * 60.0);
			limit.tokens_per_minute = (int64) llround(s->tpm_rate * 60.0);
		}

		memset(nulls, 0, sizeof(nulls));
		values[col++] = CStringGetTextDatum(snap[i].header.key.model);
		values[col] = Int64GetDatum(limit.requests_per_minute);
		nulls[col++] = limit.requests_per_minute == 0;
		values[col] = Int64GetDatum(limit.tokens_per_minute);
		nulls[col++] = limit.tokens_per_minute == 0;
		values[col++] = BoolGetDatum(s->adaptive && bedrock_adaptive_rate_limiting);
		values[col] = per_minute(request_rate(s), &nulls[col]);
		col++;
		values[col++] = Float8GetDatum(round3(sending_rate(s, now) * 60.0));
		values[col] = Float8GetDatum(round3(s->requests_level));
		nulls[col++] = !s->requests_limited;
		values[col] = Float8GetDatum(round3(s->tokens_level));
		nulls[col++] = !s->tokens_limited;
		values[col++] = Int64GetDatum(s->admitted);
		values[col++] = Int64GetDatum(s->delayed);
		values[col++] = Float8GetDatum(round3(s->delay_ms));
		values[col++] = Int64GetDatum(s->throttled);
		values[col] = TimestampTzGetDatum(s->last_throttle);
		nulls[col++] = s->last_throttle == 0;
		values[col++] = TimestampTzGetDatum(since);
		/* 0.3.0: the slowdown, and why the last delayed attempt waited */
		values[col] = per_minute(s->adaptive_rate, &nulls[col]);
		nulls[col++] |= !s->adaptive;
		values[col++] = BoolGetDatum(slow);
		values[col] = TimestampTzGetDatum(s->slowdown_since);
		nulls[col++] = !slow || s->slowdown_since == 0;
		values[col] = Int64GetDatum(s->slowdown_throttles);
		nulls[col++] = !slow || s->slowdown_since == 0;
		values[col] = s->last_delay_reason == DELAY_NONE ? (Datum) 0 :
			CStringGetTextDatum(delay_reason_names[s->last_delay_reason]);
		nulls[col++] = s->last_delay_reason == DELAY_NONE;
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
