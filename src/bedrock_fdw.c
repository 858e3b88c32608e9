/*-------------------------------------------------------------------------
 *
 * bedrock_fdw.c
 *	  Module entry point of bedrock_fdw: the magic block and _PG_init.
 *
 * The library works loaded on demand (CREATE EXTENSION, first call) and
 * preloaded through shared_preload_libraries.  Preloaded, it also sets up
 * the shared credential cache and registers the background worker that
 * fills it, and the usage queue with the launcher of its writer; loaded on
 * demand, each backend fetches credentials itself.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/bedrock_fdw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "credential_cache.h"
#include "extract_refusals.h"
#include "http.h"
#include "rate_limiter.h"
#include "retry.h"
#include "usage.h"

BEDROCK_MODULE_MAGIC();

void		_PG_init(void);

/*
 * _PG_init
 *		Define the bedrock.* settings, keep their secrets out of the log,
 *		initialise libcurl and, when preloaded, set up the credential cache
 *		and its worker.
 */
void
_PG_init(void)
{
	bedrock_define_gucs();
	log_redact_init();
	http_init();

	if (process_shared_preload_libraries_in_progress && !IsBinaryUpgrade)
	{
		credential_cache_request_shmem();
		identity_cache_request_shmem();
		credentials_worker_register();
		usage_queue_request_shmem();
		usage_launcher_register();
		usage_database_notice_init();
		usage_stats_request_shmem();
		rate_limiter_request_shmem();
		retry_quota_request_shmem();
		extract_refusals_request_shmem();
	}
}
