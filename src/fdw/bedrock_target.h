/*-------------------------------------------------------------------------
 *
 * bedrock_target.h
 *	  Where a Bedrock call goes and whose AWS identity signs it: the
 *	  foreign server a call chose (options.server, bedrock.server) and the
 *	  calling role's user mapping on it, or the bedrock.* settings when no
 *	  server is chosen.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/bedrock_target.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_TARGET_H
#define BEDROCK_TARGET_H

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

#include "credentials.h"

/* bounds of the option values the validator accepts (fdw_options.c) */
#define IDENTITY_ARN_MAXLEN			1024
#define IDENTITY_EXTERNAL_ID_MAXLEN	1224
#define IDENTITY_SESSION_NAME_MAXLEN 64
#define IDENTITY_REGION_MAXLEN		64
#define IDENTITY_URL_MAXLEN			1024

/*
 * One sts:AssumeRole to make: the role, its external id and session name
 * (empty: none / the default), the lifetime and the session tags.  Fixed
 * size, as a copy lives in shared memory for the credentials worker.
 */
typedef struct IdentityRole
{
	char		role_arn[IDENTITY_ARN_MAXLEN + 1];	/* "": no role to assume */
	char		external_id[IDENTITY_EXTERNAL_ID_MAXLEN + 1];
	char		session_name[IDENTITY_SESSION_NAME_MAXLEN + 1];
	int			duration_seconds;
	bool		tag_session;	/* send the database and role as tags */
} IdentityRole;

/*
 * Everything the credentials worker needs to fetch one identity's
 * credentials without reading a catalog: the server's credential source
 * and role, then the user mapping's role on top, with the STS endpoint
 * and region to use and the names the session tags carry.
 */
typedef struct IdentitySpec
{
	int			credential_source;	/* -1: the settings' chain, with
									 * bedrock.role_arn */
	char		region[IDENTITY_REGION_MAXLEN + 1];
	char		sts_url[IDENTITY_URL_MAXLEN + 1];
	IdentityRole server_role;	/* the server's role_arn */
	IdentityRole mapping_role;	/* the user mapping's role_arn */
	char		database_name[NAMEDATALEN];
	char		role_name[NAMEDATALEN];
} IdentitySpec;

/* How a target's requests are signed. */
typedef enum TargetIdentity
{
	TARGET_IDENTITY_SETTINGS,	/* the bedrock.* settings' identity */
	TARGET_IDENTITY_STATIC,		/* the user mapping's access_key_id */
	TARGET_IDENTITY_FETCHED		/* assumed roles, one cache entry each */
} TargetIdentity;

typedef struct BedrockTarget
{
	Oid			serverid;		/* InvalidOid: no server chosen, the bedrock.*
								 * settings */
	char	   *server_name;	/* NULL without a server */
	Oid			userid;			/* the role the identity is for */
	Oid			umid;			/* its user mapping (the role's or PUBLIC's) */
	char	   *region;
	char	   *runtime_url;	/* base URLs, no trailing '/' */
	char	   *control_url;
	char	   *s3_url;
	char	   *sts_url;
	char	   *inference_profile;	/* NULL if none */
	char	   *guardrail_identifier;	/* server defaults, NULL if none */
	char	   *guardrail_version;
	char	   *service_tier;
	TargetIdentity identity;
	IdentitySpec *spec;			/* TARGET_IDENTITY_FETCHED only */
} BedrockTarget;

/* in bedrock_target.c */
extern char *bedrock_server;
extern int	bedrock_max_identities;
extern void bedrock_target_define_gucs(void);
extern BedrockTarget *bedrock_target_lookup(const char *server_name, Oid userid);
extern void bedrock_target_credentials(const BedrockTarget *target,
									   AwsCredentials *out);
extern void bedrock_target_report_rejected(const BedrockTarget *target,
										   const AwsCredentials *used);
extern const char *bedrock_target_model_path_id(const BedrockTarget *target,
												const char *model);

/* in fdw_options.c */
extern bool fdw_option_is_secret(const char *name);

/* in identity_fetch.c: what the worker (or a backend not preloaded) runs */
extern CredentialFetchStatus identity_fetch(const IdentitySpec *spec,
											AwsCredentials *out,
											StringInfo error);

/* in identity_cache.c: one shared-memory entry per identity */
typedef struct IdentityKey
{
	Oid			dbid;
	Oid			serverid;
	Oid			umid;
	Oid			userid;
} IdentityKey;

typedef struct IdentityStatus
{
	char		server_name[NAMEDATALEN];
	char		role_name[NAMEDATALEN];
	char		database_name[NAMEDATALEN];
	char		source[AWS_CREDENTIAL_SOURCE_MAXLEN];
	char		access_key_id[AWS_ACCESS_KEY_ID_MAXLEN + 1];
	char		principal_arn[AWS_PRINCIPAL_ARN_MAXLEN];
	TimestampTz expiration;
	TimestampTz last_refresh;
	TimestampTz last_attempt;
	TimestampTz last_used;
	char		last_error[1024];
	int64		refresh_count;
	int64		failure_count;
} IdentityStatus;

extern void identity_cache_request_shmem(void);
extern bool identity_cache_get(const IdentityKey *key, const IdentitySpec *spec,
							   const char *server_name, AwsCredentials *out,
							   StringInfo error);
extern void identity_cache_report_rejected(const IdentityKey *key,
										   uint64 generation);
extern int	identity_cache_status(IdentityStatus **out);
extern long identity_cache_service(void);

#endif							/* BEDROCK_TARGET_H */
