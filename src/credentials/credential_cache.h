/*-------------------------------------------------------------------------
 *
 * credential_cache.h
 *	  The server-wide cache of AWS credentials in shared memory, filled by
 *	  the background worker and read by every backend.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials/credential_cache.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CREDENTIAL_CACHE_H
#define BEDROCK_CREDENTIAL_CACHE_H

#include "credentials.h"

#define CREDENTIAL_ERROR_MAXLEN 1024

/* A point-in-time copy of the cache's state, for the SQL view. */
typedef struct CredentialCacheStatus
{
	bool		shared;			/* false: this backend's private cache */
	bool		have_credentials;
	char		source[AWS_CREDENTIAL_SOURCE_MAXLEN];
	char		access_key_id[AWS_ACCESS_KEY_ID_MAXLEN + 1];
	TimestampTz expiration;
	TimestampTz last_refresh;
	TimestampTz last_attempt;
	char		last_error[CREDENTIAL_ERROR_MAXLEN];
	int64		refresh_count;
	int64		failure_count;
	int			worker_pid;
} CredentialCacheStatus;

/* in credential_cache.c */
extern void credential_cache_request_shmem(void);
extern void credential_cache_init_shmem(void);
extern bool credential_cache_available(void);
extern bool credential_cache_get(AwsCredentials *out, uint64 *generation,
								 StringInfo error);
extern void credential_cache_report_rejected(uint64 generation);
extern void credential_cache_wake_worker(void);
extern void credential_cache_status(CredentialCacheStatus *status);

/* used by the background worker */
extern void credential_cache_attach_worker(void);
extern void credential_cache_publish(const AwsCredentials *creds);
extern void credential_cache_publish_failure(const char *error);
extern void credential_cache_clear(void);
extern bool credential_cache_refresh_wanted(void);
extern bool credential_cache_current(AwsCredentials *out);

/* in credentials.c */
extern void credentials_private_status(CredentialCacheStatus *status);

/* in credentials_worker.c */
extern void credentials_worker_register(void);

#endif							/* BEDROCK_CREDENTIAL_CACHE_H */
