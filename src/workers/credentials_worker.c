/*-------------------------------------------------------------------------
 *
 * credentials_worker.c
 *	  The background worker that fetches AWS credentials for the whole
 *	  server and keeps them fresh in shared memory.
 *
 * It starts idle and fetches on the first request from a backend, then
 * refreshes ahead of expiry (credentials_refresh_time).  A failed refresh
 * is retried with capped exponential backoff while the credentials it
 * already has stay in service until they expire (static stability).  On
 * SIGHUP it reloads the configuration and, when a setting that chooses
 * the identity changed, drops the cached credentials and fetches anew.
 * An ERROR inside a fetch is reported, recorded as the cache's last error
 * and retried like any other failure; the worker itself goes on.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/workers/credentials_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <setjmp.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "credential_cache.h"
#include "http.h"
#include "secret_wipe.h"
#include "sigv4.h"
#include "worker_slot.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000
/* a backend's request is served at most this often while failing */
#define MIN_ATTEMPT_SPACING_MS 1000
#define IDLE_WAKE_MS	60000

PGDLLEXPORT void bedrock_credentials_worker_main(Datum main_arg);

/*
 * The worker's schedule.  File-level, so that it survives the siglongjmp
 * back into the main loop after an ERROR.
 */
static bool active = false;		/* has any backend asked yet? */
static TimestampTz fetched_at = 0;	/* when the current credentials came */
static TimestampTz next_attempt = 0;	/* retry time after a failure; 0: now */
static TimestampTz last_attempt = 0;
static long backoff_ms = 0;
static char settings[SIGV4_HEX_LEN + 1];	/* identity_settings() of the last fetch */

/*
 * credentials_worker_register
 *		Register the worker; called from _PG_init under
 *		shared_preload_libraries.
 */
void
credentials_worker_register(void)
{
	/* at a consistent state: standbys need credentials too */
	bedrock_register_worker("bedrock_credentials_worker_main",
							"bedrock_fdw credentials", BgWorkerStart_ConsistentState, 1);
}

/*
 * identity_settings
 *		The settings that decide whose credentials are fetched, as a
 *		SHA-256 digest (hex, into out) to compare across reloads: the
 *		settings hold secrets, so only their digest is kept, and the string
 *		it is computed from is wiped.
 */
static void
identity_settings(char out[SIGV4_HEX_LEN + 1])
{
	char	   *s = psprintf("%d|%s|%s|%s|%d|%s|%d|%s|%s|%s|%s|%s",
							 bedrock_credential_source, bedrock_role_arn,
							 bedrock_external_id, bedrock_role_session_name,
							 bedrock_role_duration_seconds, bedrock_imds_endpoint,
							 (int) bedrock_imds_v1_fallback, bedrock_sts_endpoint,
							 bedrock_region, bedrock_access_key_id,
							 bedrock_secret_access_key, bedrock_session_token);

	sigv4_sha256_hex(s, strlen(s), out);
	wipe_pfree_string(s);
}

/*
 * fetch_and_publish
 *		One refresh attempt.  Returns true when new credentials were
 *		published.  Errors raised inside are caught by the main loop.
 */
static bool
fetch_and_publish(void)
{
	AwsCredentials creds;
	StringInfoData error;
	bool		ok;

	initStringInfo(&error);
	ok = credentials_fetch(&creds, &error) == CREDENTIALS_FETCHED;
	if (ok)
	{
		StsIdentity identity;
		StringInfoData why;

		/*
		 * Learn the IAM principal once per fetch, for the usage records; a
		 * failure costs only that column.
		 */
		initStringInfo(&why);
		if (sts_get_caller_identity(&creds, &identity, &why))
			strlcpy(creds.principal_arn, identity.arn, sizeof(creds.principal_arn));
		else
			ereport(DEBUG1,
					(errmsg("bedrock_fdw could not learn the IAM principal: %s", why.data)));
		credential_cache_publish(&creds);
		/* the worker's own log lines mask what it fetched */
		log_redact_remember(creds.secret_access_key);
		log_redact_remember(creds.session_token);
		fetched_at = GetCurrentTimestamp();
		ereport(DEBUG1,
				(errmsg("bedrock_fdw fetched AWS credentials from %s, expiring %s",
						creds.source,
						creds.expiration ? timestamptz_to_str(creds.expiration) : "never")));
	}
	else
	{
		credential_cache_publish_failure(error.data);
		ereport(LOG,
				(errmsg("bedrock_fdw could not fetch AWS credentials: %s", error.data)));
	}
	credentials_wipe(&creds);
	return ok;
}

void
bedrock_credentials_worker_main(Datum main_arg)
{
	sigjmp_buf	local_sigjmp_buf;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	credential_cache_attach_worker();
	pgstat_report_appname("bedrock_fdw credentials worker");

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "bedrock_fdw credentials worker",
									 ALLOCSET_DEFAULT_SIZES);
	identity_settings(settings);

	/* an ERROR in a fetch lands here: report it, record it, back off */
	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		ErrorData  *edata;

		error_context_stack = NULL;
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(loop_cxt);
		edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		http_abort_all();
		credential_cache_publish_failure(edata->message ? edata->message : "internal error");
		MemoryContextReset(loop_cxt);
		RESUME_INTERRUPTS();
		backoff_ms = Min(Max(backoff_ms * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS);
		next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff_ms);
	}
	PG_exception_stack = &local_sigjmp_buf;

	for (;;)
	{
		TimestampTz now;
		long		timeout = IDLE_WAKE_MS;
		bool		asked;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			char		now_settings[SIGV4_HEX_LEN + 1];

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			identity_settings(now_settings);
			if (strcmp(now_settings, settings) != 0)
			{
				/* a new identity: nothing of the old one may be used */
				credential_cache_clear();
				strlcpy(settings, now_settings, sizeof(settings));
				fetched_at = 0;
				next_attempt = 0;
				backoff_ms = 0;
				ereport(LOG,
						(errmsg("bedrock_fdw credential settings changed; fetching new credentials")));
			}
		}

		now = GetCurrentTimestamp();
		asked = credential_cache_refresh_wanted();
		if (asked)
			active = true;

		if (active)
		{
			AwsCredentials current;
			bool		have = credential_cache_current(&current);
			bool		due;

			if (!have)
				due = next_attempt == 0 || now >= next_attempt ||
					(asked && TimestampDifferenceExceeds(last_attempt, now, MIN_ATTEMPT_SPACING_MS));
			else if (current.expiration == 0)
				due = asked;	/* never expire: only on request */
			else
				due = now >= Max(credentials_refresh_time(&current, fetched_at), next_attempt) ||
					(asked && TimestampDifferenceExceeds(last_attempt, now, MIN_ATTEMPT_SPACING_MS));
			credentials_wipe(&current);

			if (due)
			{
				last_attempt = now;
				if (fetch_and_publish())
				{
					backoff_ms = 0;
					next_attempt = 0;
				}
				else
				{
					backoff_ms = Min(Max(backoff_ms * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS);
					next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff_ms);
				}
				continue;		/* re-evaluate at once */
			}

			/* sleep until the next refresh or retry is due */
			have = credential_cache_current(&current);
			if (have && current.expiration != 0)
			{
				TimestampTz at = Max(credentials_refresh_time(&current, fetched_at), next_attempt);

				timeout = Min(timeout, Max(TimestampDifferenceMilliseconds(now, at), 1));
			}
			else if (!have && next_attempt != 0)
				timeout = Min(timeout, Max(TimestampDifferenceMilliseconds(now, next_attempt), 1));
			credentials_wipe(&current);
		}

		/* the identities of foreign servers (src/fdw/identity_cache.c) */
		{
			long		identity_ms = identity_cache_service();

			if (identity_ms == 0)
				continue;		/* fetched one: look again at once */
			if (identity_ms > 0)
				timeout = Min(timeout, identity_ms);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
