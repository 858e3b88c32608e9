/*-------------------------------------------------------------------------
 *
 * usage_queue.c
 *	  The shared-memory queue that carries usage records from the backends
 *	  that made Bedrock calls to the usage writer.
 *
 * A ring of bedrock.usage_queue_size fixed-size records behind one
 * LWLock.  Backends push (a copy under the lock, then the writer's latch
 * is set when the queue passes half full); the single writer peeks a
 * batch, stores it in its own transaction and only then marks it consumed,
 * so a failed insert loses nothing.  Records live only in memory: a crash
 * loses what was not yet stored, a clean shutdown lets the writer drain
 * the queue first.
 *
 * Fair sharing.  The queue counts the records each role (the session
 * user) holds in it.  A role alone may fill it; once it is full, a record
 * of a role holding fewer records than the role holding the most takes
 * the place of that role's newest record (not one the writer is storing
 * now), so that a role making a flood of cheap calls while the writer is
 * behind loses its own records, not everyone's.  A record that finds no
 * room is dropped: the dropped count of its role goes up, and the backend
 * whose record it was says so with a WARNING (once per statement).  The
 * counts of up to USAGE_QUEUE_ROLES roles are kept (a role whose records
 * are all stored gives its place to a new one, the one with the fewest
 * drops first); further roles share one more count.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage/usage_queue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "usage.h"
#include "worker_slot.h"

#define TRANCHE_NAME "bedrock_fdw_usage"
#define ERROR_MAXLEN 256

/* roles counted one by one; the last count is shared by any further role */
#define USAGE_QUEUE_ROLES 64
#define OTHER_ROLES USAGE_QUEUE_ROLES

#define BEDROCK_USAGE_QUEUE_ROLES_COLS 5

/* one role's records in the queue */
typedef struct QueueRole
{
	Oid			role;			/* InvalidOid: a free count (or other roles) */
	int32		queued;			/* records of it in the queue */
	int64		dropped;		/* its records dropped or displaced */
	TimestampTz last_dropped;	/* 0: never */
} QueueRole;

typedef struct UsageQueue
{
	LWLock	   *lock;
	int			capacity;
	uint64		head;			/* records ever pushed */
	uint64		tail;			/* records ever consumed */
	uint64		reading;		/* [tail, reading): the writer is storing them */
	uint64		dropped;		/* records refused or displaced */
	WorkerSlot	writer;			/* the usage writer */
	TimestampTz last_flush;
	char		last_error[ERROR_MAXLEN];
	QueueRole	roles[USAGE_QUEUE_ROLES + 1];
	UsageRecord records[FLEXIBLE_ARRAY_MEMBER];
	/* then, per record slot, the index in roles[] of its role: OWNERS() */
} UsageQueue;

#define OWNERS() ((int16 *) &queue->records[queue->capacity])

/* what became of a record pushed */
typedef enum PushOutcome
{
	PUSH_QUEUED,
	PUSH_DISPLACED,				/* queued in the place of another role's */
	PUSH_DROPPED
} PushOutcome;

static UsageQueue *queue = NULL;
static TimestampTz warned_statement = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PG_FUNCTION_INFO_V1(bedrock_usage_queue);
PG_FUNCTION_INFO_V1(bedrock_usage_queue_roles);

/* the records, then the owners array */
static Size
queue_size(void)
{
	return add_size(add_size(offsetof(UsageQueue, records),
							 mul_size(bedrock_usage_queue_size, sizeof(UsageRecord))),
					mul_size(bedrock_usage_queue_size, sizeof(int16)));
}

static void
queue_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(queue_size()));
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
}

static void
queue_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	queue = ShmemInitStruct("bedrock_fdw usage queue", queue_size(), &found);
	if (!found)
	{
		memset(queue, 0, offsetof(UsageQueue, records));
		queue->lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
		queue->writer.lock = queue->lock;
		queue->capacity = bedrock_usage_queue_size;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * usage_queue_request_shmem
 *		Install the shared memory hooks (from _PG_init, when preloaded).
 */
void
usage_queue_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = queue_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = queue_shmem_startup;
}

bool
usage_queue_available(void)
{
	return queue != NULL;
}

/*
 * role_index
 *		The index in queue->roles of role's count, taking a free one, or the
 *		one of a role with nothing queued (the fewest drops first), for a
 *		role not counted yet; OTHER_ROLES when there is none.  The caller
 *		holds the lock exclusive.
 */
static int
role_index(Oid role)
{
	int			reuse = -1;

	for (int i = 0; i < USAGE_QUEUE_ROLES; i++)
	{
		QueueRole  *r = &queue->roles[i];

		if (r->role == role && OidIsValid(role))
			return i;
		if (r->queued == 0 &&
			(reuse < 0 || !OidIsValid(r->role) ||
			 (OidIsValid(queue->roles[reuse].role) &&
			  r->dropped < queue->roles[reuse].dropped)))
			reuse = i;
	}
	if (reuse < 0 || !OidIsValid(role))
		return OTHER_ROLES;
	memset(&queue->roles[reuse], 0, sizeof(QueueRole));
	queue->roles[reuse].role = role;
	return reuse;
}

/* Count one record of roles[who] as lost, at now. */
static void
count_dropped(int who, TimestampTz now)
{
	queue->dropped++;
	queue->roles[who].dropped++;
	queue->roles[who].last_dropped = now;
}

/*
 * displace
 *		The queue is full: put rec, of roles[who], in the place of the
 *		newest record of the role holding the most, if that role holds more
 *		than who will, and the writer is not storing that record now.
 *		False when no record may be displaced.  The caller holds the lock
 *		exclusive.
 */
static bool
displace(const UsageRecord *rec, int who, TimestampTz now)
{
	int			heaviest = who;

	for (int i = 0; i <= USAGE_QUEUE_ROLES; i++)
		if (queue->roles[i].queued > queue->roles[heaviest].queued)
			heaviest = i;
	if (queue->roles[heaviest].queued <= queue->roles[who].queued + 1)
		return false;

	for (uint64 pos = queue->head; pos > Max(queue->reading, queue->tail); pos--)
	{
		int			slot = (int) ((pos - 1) % queue->capacity);

		if (OWNERS()[slot] != heaviest)
			continue;
		memcpy(&queue->records[slot], rec, sizeof(UsageRecord));
		OWNERS()[slot] = (int16) who;
		queue->roles[heaviest].queued--;
		queue->roles[who].queued++;
		count_dropped(heaviest, now);
		return true;
	}
	return false;
}

/*
 * warn_dropped
 *		Tell the caller that rec was not queued (once per statement).  No
 *		catalog access: this may run while the backend exits.
 */
static void
warn_dropped(const UsageRecord *rec, int capacity)
{
	TimestampTz statement = GetCurrentStatementStartTimestamp();

	if (statement == warned_statement)
		return;
	warned_statement = statement;
	ereport(WARNING,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("usage record of a %s call on model \"%s\" dropped: the usage queue is full",
					rec->operation, rec->model),
			 errdetail("The queue holds %d records waiting for the usage writer, and no role holds more of them than this session's role.  Further drops in this statement are counted without a warning.",
					   capacity),
			 errhint("See bedrock.usage_queue and bedrock.usage_queue_roles: the usage writer may be stopped or behind, and bedrock.usage_queue_size sets the queue's size.")));
}

/*
 * usage_queue_push
 *		Append a copy of rec; when the queue is full, in the place of a
 *		record of a role holding more (see the file header), else drop it,
 *		count it against its role and warn the caller.  Raises nothing but
 *		that WARNING: it runs on error and exit paths too.
 */
void
usage_queue_push(const UsageRecord *rec)
{
	Latch	   *wake = NULL;
	uint64		used;
	int			capacity;
	PushOutcome outcome = PUSH_QUEUED;
	TimestampTz now = GetCurrentTimestamp();

	if (queue == NULL)
		return;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	capacity = queue->capacity;
	used = queue->head - queue->tail;
	if (used >= (uint64) capacity)
	{
		int			who = role_index(rec->session_user_id);

		if (displace(rec, who, now))
			outcome = PUSH_DISPLACED;
		else
		{
			count_dropped(who, now);
			outcome = PUSH_DROPPED;
		}
		wake = queue->writer.latch;
	}
	else
	{
		int			slot = (int) (queue->head % capacity);
		int			who = role_index(rec->session_user_id);

		memcpy(&queue->records[slot], rec, sizeof(UsageRecord));
		OWNERS()[slot] = (int16) who;
		queue->roles[who].queued++;
		queue->head++;
		if (used + 1 >= (uint64) capacity / 2)
			wake = queue->writer.latch;
	}
	LWLockRelease(queue->lock);
	if (wake != NULL)
		SetLatch(wake);
	if (outcome == PUSH_DROPPED)
		warn_dropped(rec, capacity);
}

/*
 * usage_queue_peek
 *		Copy up to max of the oldest records into out without consuming
 *		them; returns how many.  They stay as they are (no record displaces
 *		them) until usage_queue_consumed or usage_queue_writer_failed.
 */
int
usage_queue_peek(UsageRecord *out, int max)
{
	int			n;
	int			i;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	n = (int) Min((uint64) max, queue->head - queue->tail);
	for (i = 0; i < n; i++)
		memcpy(&out[i], &queue->records[(queue->tail + i) % queue->capacity],
			   sizeof(UsageRecord));
	/* until consumed (or the writer fails), nobody displaces these */
	queue->reading = queue->tail + n;
	LWLockRelease(queue->lock);
	return n;
}

/*
 * usage_queue_consumed
 *		The n oldest records are stored: free their slots.
 */
void
usage_queue_consumed(int n, TimestampTz flushed_at)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < n; i++)
	{
		QueueRole  *r = &queue->roles[OWNERS()[(queue->tail + i) % queue->capacity]];

		if (r->queued > 0)
			r->queued--;
	}
	queue->tail += n;
	queue->reading = queue->tail;
	queue->last_flush = flushed_at;
	queue->last_error[0] = '\0';
	LWLockRelease(queue->lock);
}

/* The writer could not store records (they stay queued). */
void
usage_queue_writer_failed(const char *error)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->reading = queue->tail;
	strlcpy(queue->last_error, error, sizeof(queue->last_error));
	LWLockRelease(queue->lock);
}

/* The calling process is the writer: backends wake it through its latch. */
void
usage_queue_attach_writer(void)
{
	worker_slot_attach(&queue->writer);
}

/*
 * bedrock_usage_queue
 *		SQL: the queue's state: capacity, queued, pushed and stored totals,
 *		dropped records, the writer's pid, last flush and last error.
 */
Datum
bedrock_usage_queue(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {0};

	if (queue == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("usage accounting requires bedrock_fdw in shared_preload_libraries")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(queue->lock, LW_SHARED);
	values[0] = Int32GetDatum(queue->capacity);
	values[1] = Int64GetDatum((int64) (queue->head - queue->tail));
	values[2] = Int64GetDatum((int64) queue->head);
	values[3] = Int64GetDatum((int64) queue->tail);
	values[4] = Int64GetDatum((int64) queue->dropped);
	nulls[5] = queue->writer.pid == 0;
	values[5] = Int32GetDatum(queue->writer.pid);
	nulls[6] = queue->last_flush == 0;
	values[6] = TimestampTzGetDatum(queue->last_flush);
	nulls[7] = queue->last_error[0] == '\0';
	values[7] = CStringGetTextDatum(queue->last_error);
	LWLockRelease(queue->lock);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * bedrock_usage_queue_roles
 *		SQL: bedrock_usage_queue_roles() RETURNS SETOF record: per role, its
 *		records in the queue and the ones it lost (dropped, or displaced by
 *		another role's), with the last time it lost one.  A role sees the
 *		roles whose privileges it has; members of pg_read_all_stats see
 *		every role, and the count of roles beyond USAGE_QUEUE_ROLES (role
 *		NULL).
 */
Datum
bedrock_usage_queue_roles(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	QueueRole	roles[USAGE_QUEUE_ROLES + 1];
	bool		see_all;

	if (queue == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("usage accounting requires bedrock_fdw in shared_preload_libraries")));
	InitMaterializedSRF(fcinfo, 0);
	see_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	LWLockAcquire(queue->lock, LW_SHARED);
	memcpy(roles, queue->roles, sizeof(roles));
	LWLockRelease(queue->lock);

	for (int i = 0; i <= USAGE_QUEUE_ROLES; i++)
	{
		QueueRole  *r = &roles[i];
		Datum		values[BEDROCK_USAGE_QUEUE_ROLES_COLS];
		bool		nulls[BEDROCK_USAGE_QUEUE_ROLES_COLS] = {0};
		char	   *name;

		if (r->queued == 0 && r->dropped == 0)
			continue;
		if (!OidIsValid(r->role) ? !see_all :
			!(see_all || has_privs_of_role(GetUserId(), r->role)))
			continue;
		name = OidIsValid(r->role) ? GetUserNameFromId(r->role, true) : NULL;
		values[0] = ObjectIdGetDatum(r->role);
		nulls[0] = !OidIsValid(r->role);
		values[1] = name ? CStringGetTextDatum(name) : (Datum) 0;
		nulls[1] = name == NULL;
		values[2] = Int64GetDatum((int64) r->queued);
		values[3] = Int64GetDatum(r->dropped);
		values[4] = TimestampTzGetDatum(r->last_dropped);
		nulls[4] = r->last_dropped == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
