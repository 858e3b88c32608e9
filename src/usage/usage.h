/*-------------------------------------------------------------------------
 *
 * usage.h
 *	  One Bedrock call's usage record, as backends hand it to shared
 *	  memory and the usage writer stores it in bedrock.usage_log.
 *
 * Fixed-size members: records are copied into a shared-memory queue.
 * Never a prompt, a response or a secret.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage/usage.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_USAGE_H
#define BEDROCK_USAGE_H

#include "datatype/timestamp.h"

#include "credentials.h"

#define USAGE_OPERATION_MAXLEN	32
#define USAGE_MODEL_MAXLEN		256
#define USAGE_CODE_MAXLEN		64
#define USAGE_REQUEST_ID_MAXLEN 64
#define USAGE_ARN_MAXLEN		AWS_PRINCIPAL_ARN_MAXLEN
#define USAGE_GUARDRAIL_MAXLEN	32
#define USAGE_TIER_MAXLEN		16

typedef struct UsageRecord
{
	TimestampTz called_at;		/* when the call started */
	Oid			database_id;
	Oid			session_user_id;
	Oid			current_user_id;
	int32		backend_pid;	/* the leader's pid for parallel workers */
	int64		query_id;		/* 0 when unknown */
	char		application_name[NAMEDATALEN];
	char		operation[USAGE_OPERATION_MAXLEN];	/* "converse", ... */
	char		model[USAGE_MODEL_MAXLEN];	/* truncated if longer */
	int64		input_tokens;	/* -1 when unknown */
	int64		output_tokens;
	int64		total_tokens;
	int64		cache_read_input_tokens;
	int64		cache_write_input_tokens;
	double		client_latency_ms;
	int64		service_latency_ms; /* -1 when unknown */
	int32		http_status;	/* 0 when no response */
	char		error_code[USAGE_CODE_MAXLEN];	/* "" on success */
	int32		attempts;
	int32		throttled_attempts;
	char		request_id[USAGE_REQUEST_ID_MAXLEN];
	char		principal_arn[USAGE_ARN_MAXLEN];	/* "" when unknown */
	char		credential_source[AWS_CREDENTIAL_SOURCE_MAXLEN];
	char		guardrail_action[USAGE_GUARDRAIL_MAXLEN];
	char		server_name[NAMEDATALEN];	/* "" when no foreign server */
	char		service_tier[USAGE_TIER_MAXLEN];	/* the tier that served the
													 * call; "" when unknown
													 * */
} UsageRecord;

/* in usage_queue.c: the shared-memory queue of records */
extern void usage_queue_request_shmem(void);
extern void usage_queue_push(const UsageRecord *rec);
extern int	usage_queue_peek(UsageRecord *out, int max);
extern void usage_queue_consumed(int n, TimestampTz flushed_at);
extern void usage_queue_writer_failed(const char *error);
extern void usage_queue_attach_writer(void);
extern bool usage_queue_available(void);

/* in usage_record.c: the record of one call */
struct BedrockCall;
extern void usage_record_init(UsageRecord *rec, const char *operation,
							  const char *model);
extern void usage_record_finish(UsageRecord *rec, const struct BedrockCall *call,
								const char *error_code);
extern void usage_record_submit(const UsageRecord *rec);

/* in usage_launcher.c: starts the writer (usage_writer.c) */
extern void usage_launcher_register(void);
extern bool usage_database_wanted(Oid dboid);
extern void usage_report_wait(char **last, const char *reason, int sqlerrcode,
							  const char *hint);

/* in usage_database_notice.c */
extern void usage_database_notice_init(void);

/* in usage_stats.c: cumulative per-model counters in shared memory */
extern void usage_stats_request_shmem(void);
extern void usage_stats_record(const UsageRecord *rec);

#endif							/* BEDROCK_USAGE_H */
