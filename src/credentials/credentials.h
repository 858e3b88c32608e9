/*-------------------------------------------------------------------------
 *
 * credentials.h
 *	  AWS credentials as the signer consumes them, and the entry point of
 *	  the credential chain.
 *
 * The struct has fixed-size members so that a copy can live in shared
 * memory (the credential cache of the background worker).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials/credentials.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CREDENTIALS_H
#define BEDROCK_CREDENTIALS_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#define AWS_ACCESS_KEY_ID_MAXLEN		128
#define AWS_SECRET_ACCESS_KEY_MAXLEN	128
#define AWS_SESSION_TOKEN_MAXLEN		4096
#define AWS_CREDENTIAL_SOURCE_MAXLEN	32
#define AWS_PRINCIPAL_ARN_MAXLEN		256

typedef struct AwsCredentials
{
	char		access_key_id[AWS_ACCESS_KEY_ID_MAXLEN + 1];
	char		secret_access_key[AWS_SECRET_ACCESS_KEY_MAXLEN + 1];
	char		session_token[AWS_SESSION_TOKEN_MAXLEN + 1];	/* "" if none */
	TimestampTz expiration;		/* 0 when the credentials do not expire */
	char		source[AWS_CREDENTIAL_SOURCE_MAXLEN];	/* "static", ... */
	uint64		generation;		/* shared cache generation, 0 if not cached */
	char		principal_arn[AWS_PRINCIPAL_ARN_MAXLEN];	/* "" if unknown */
} AwsCredentials;

/* bedrock.credential_source */
typedef enum CredentialSource
{
	CREDENTIAL_SOURCE_AUTO,		/* the SDKs' order, first that answers */
	CREDENTIAL_SOURCE_STATIC,	/* bedrock.access_key_id and friends */
	CREDENTIAL_SOURCE_ENVIRONMENT,	/* AWS_ACCESS_KEY_ID and friends */
	CREDENTIAL_SOURCE_WEB_IDENTITY, /* AWS_WEB_IDENTITY_TOKEN_FILE + STS */
	CREDENTIAL_SOURCE_CONTAINER,	/* ECS task role, EKS Pod Identity */
	CREDENTIAL_SOURCE_INSTANCE	/* EC2 instance role through IMDSv2 */
} CredentialSource;

/* What a credential provider made of its attempt. */
typedef enum CredentialFetchStatus
{
	CREDENTIALS_FETCHED,		/* *out is filled */
	CREDENTIALS_NOT_CONFIGURED, /* the provider does not apply here */
	CREDENTIALS_FAILED			/* it applies but failed; error says why */
} CredentialFetchStatus;

/* The caller identity STS reports for a set of credentials. */
typedef struct StsIdentity
{
	char	   *account;
	char	   *arn;
	char	   *user_id;
} StsIdentity;

/* in credentials.c */
extern bool credentials_local(AwsCredentials *out);
extern void credentials_resolve(AwsCredentials *out);
extern void credentials_report_rejected(const AwsCredentials *creds);
extern CredentialFetchStatus credentials_fetch(AwsCredentials *out,
											   StringInfo error);
extern int	credential_source_from_name(const char *name);
extern CredentialFetchStatus credentials_fetch_base(int source,
													AwsCredentials *out,
													StringInfo error);
extern TimestampTz credentials_refresh_time(const AwsCredentials *creds,
											TimestampTz fetched_at);
extern void credentials_wipe(AwsCredentials *creds);
extern bool aws_parse_timestamp(const char *s, TimestampTz *out);
extern void credentials_fill(AwsCredentials *out, const char *source,
							 const char *access_key_id,
							 const char *secret_access_key,
							 const char *session_token, TimestampTz expiration);

/*
 * Providers that fetch temporary credentials over the network.  They
 * return CREDENTIALS_FAILED with a message in error (never a secret) for
 * every failure of the service they call, and raise ERROR only for
 * interrupts and internal failures, so that the background worker keeps
 * serving what it has when a credential service blips.
 */

/* in container_credentials.c: helpers shared by the network providers */
extern CredentialFetchStatus credentials_fill_fetched(AwsCredentials *out,
													  const char *source,
													  const char *service,
													  const char *access_key_id,
													  const char *secret_access_key,
													  const char *session_token,
													  const char *expiration,
													  StringInfo error);
extern CredentialFetchStatus credentials_from_json(const char *body, size_t len,
												   const char *source,
												   const char *service,
												   AwsCredentials *out,
												   StringInfo error);
extern char *credentials_read_token_file(const char *path, const char *what,
										 StringInfo error);
extern void credentials_append_remote_text(StringInfo buf, const char *text);
extern bool credentials_split_url(const char *url, char **scheme, char **host,
								  char **port);

/* in imds.c: EC2 instance role through IMDSv2 (bedrock.imds_endpoint) */
extern CredentialFetchStatus imds_fetch_credentials(AwsCredentials *out,
													StringInfo error);

/* in container_credentials.c: AWS_CONTAINER_CREDENTIALS_* */
extern CredentialFetchStatus container_fetch_credentials(AwsCredentials *out,
														 StringInfo error);

/* One sts:AssumeRole (sts_assume_role_with); NULL strings: none/default. */
typedef struct StsAssumeRoleParams
{
	const char *role_arn;
	const char *external_id;
	const char *session_name;	/* NULL or "": "bedrock_fdw-<unix time>" */
	int			duration_seconds;
	List	   *tags;			/* session tags: key, value, key, value... */
	const char *sts_url;		/* NULL: bedrock.sts_endpoint */
	const char *region;			/* NULL: bedrock.region */
} StsAssumeRoleParams;

/* in sts.c: STS Query API (bedrock.sts_endpoint) */
extern CredentialFetchStatus sts_web_identity_credentials(AwsCredentials *out,
														  StringInfo error);
extern CredentialFetchStatus sts_assume_role(const AwsCredentials *source,
											 AwsCredentials *out,
											 StringInfo error);
extern CredentialFetchStatus sts_assume_role_with(const AwsCredentials *source,
												  const StsAssumeRoleParams *p,
												  AwsCredentials *out,
												  StringInfo error);
extern bool sts_get_caller_identity(const AwsCredentials *creds,
									StsIdentity *identity, StringInfo error);
extern bool sts_get_caller_identity_at(const AwsCredentials *creds,
									   const char *sts_url, const char *region,
									   StsIdentity *identity, StringInfo error);

#endif							/* BEDROCK_CREDENTIALS_H */
