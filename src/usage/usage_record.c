/*-------------------------------------------------------------------------
 *
 * usage_record.c
 *	  Build the usage record of one Bedrock call and hand it on: to the
 *	  shared-memory queue (bedrock.usage_log) and to the per-model counters
 *	  (bedrock_stats()).
 *
 * Every string is copied with text_copy_clipped: valid in the server
 * encoding and cut on a character boundary, since the usage writer makes
 * text Datums of these fixed-size fields (a model id of 300 bytes of
 * multibyte characters must not leave half a character behind).
 *
 * Every call that reached the point of being sent produces a record,
 * successful or not, cancelled included, or cut off by the end of the
 * process (inflight_calls.c): the tokens may have been paid for whatever
 * became of the caller's transaction.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage/usage_record.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "runtime.h"
#include "usage.h"

/*
 * usage_record_init
 *		Start the record of a call about to be made: who, where, when, what.
 *		Token counts and the outcome stay unknown until usage_record_finish.
 */
void
usage_record_init(UsageRecord *rec, const char *operation, const char *model)
{
	PGPROC	   *leader = MyProc ? MyProc->lockGroupLeader : NULL;

	memset(rec, 0, sizeof(*rec));
	rec->called_at = GetCurrentTimestamp();
	rec->database_id = MyDatabaseId;
	rec->session_user_id = GetSessionUserId();
	rec->current_user_id = GetUserId();
	/* a parallel worker's calls count for the query's leader */
	rec->backend_pid = (leader != NULL) ? leader->pid : MyProcPid;
	rec->query_id = pgstat_get_my_query_id();
	if (application_name != NULL)
		text_copy_clipped(rec->application_name, sizeof(rec->application_name),
						  application_name);
	text_copy_clipped(rec->operation, sizeof(rec->operation), operation);
	text_copy_clipped(rec->model, sizeof(rec->model), model);
	rec->input_tokens = -1;
	rec->output_tokens = -1;
	rec->total_tokens = -1;
	rec->cache_read_input_tokens = -1;
	rec->cache_write_input_tokens = -1;
	rec->service_latency_ms = -1;
}

/*
 * usage_record_finish
 *		Fill the outcome from the call: status, attempts, latency, request
 *		id, credentials; error_code is NULL on success.  Token counts are
 *		the caller's to set (they come from the response body).
 */
void
usage_record_finish(UsageRecord *rec, const BedrockCall *call, const char *error_code)
{
	const char *rid = NULL;

	/* an interrupted call has no latency of its own yet */
	rec->client_latency_ms = call->latency_ms > 0 ? call->latency_ms
		: (double) (GetCurrentTimestamp() - rec->called_at) / 1000.0;
	rec->attempts = call->attempts;
	rec->throttled_attempts = call->throttled_attempts;
	rec->http_status = (int32) call->response.status;
	if (call->response.outcome == HTTP_RESPONSE_RECEIVED)
		rid = http_response_header(&call->response, "x-amzn-RequestId");
	if (rid != NULL)
		text_copy_clipped(rec->request_id, sizeof(rec->request_id), rid);
	if (error_code != NULL)
		text_copy_clipped(rec->error_code, sizeof(rec->error_code), error_code);
	text_copy_clipped(rec->credential_source, sizeof(rec->credential_source),
					  call->credential_source);
	text_copy_clipped(rec->principal_arn, sizeof(rec->principal_arn),
					  call->principal_arn);
	/* the foreign server the call went through (src/fdw) */
	if (call->target != NULL && call->target->server_name != NULL)
		text_copy_clipped(rec->server_name, sizeof(rec->server_name),
						  call->target->server_name);
}

/*
 * usage_record_submit
 *		Queue the record for bedrock.usage_log and count it in
 *		bedrock_stats().  Never raises; does nothing unless preloaded.
 */
void
usage_record_submit(const UsageRecord *rec)
{
	usage_queue_push(rec);
	usage_stats_record(rec);
}
