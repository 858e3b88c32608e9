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
 *	  src/credentials.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CREDENTIALS_H
#define BEDROCK_CREDENTIALS_H

#include "datatype/timestamp.h"

#define AWS_ACCESS_KEY_ID_MAXLEN		128
#define AWS_SECRET_ACCESS_KEY_MAXLEN	128
#define AWS_SESSION_TOKEN_MAXLEN		4096
#define AWS_CREDENTIAL_SOURCE_MAXLEN	32

typedef struct AwsCredentials
{
	char		access_key_id[AWS_ACCESS_KEY_ID_MAXLEN + 1];
	char		secret_access_key[AWS_SECRET_ACCESS_KEY_MAXLEN + 1];
	char		session_token[AWS_SESSION_TOKEN_MAXLEN + 1];	/* "" if none */
	TimestampTz expiration;		/* 0 when the credentials do not expire */
	char		source[AWS_CREDENTIAL_SOURCE_MAXLEN];	/* "static", ... */
} AwsCredentials;

/* in credentials.c */
extern void credentials_resolve(AwsCredentials *out);
extern void credentials_wipe(AwsCredentials *creds);

#endif							/* BEDROCK_CREDENTIALS_H */
