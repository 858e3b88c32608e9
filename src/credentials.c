/*-------------------------------------------------------------------------
 *
 * credentials.c
 *	  The AWS credential chain: which access key signs a request.
 *
 * Providers are tried in the AWS SDKs' order and the first that yields
 * credentials wins.  This release has the two providers that need no
 * network: the bedrock.* settings ("static") and the server's environment
 * ("environment").  Providers that fetch temporary credentials (web
 * identity, container, instance role) slot into the same table.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <string.h>

#include "bedrock_fdw.h"
#include "credentials.h"

/*
 * A provider fills *out and returns true, returns false when it has
 * nothing to offer, and raises an ERROR when it is half configured.
 */
typedef bool (*CredentialProviderFn) (AwsCredentials *out);

typedef struct CredentialProvider
{
	const char *name;
	CredentialProviderFn fetch;
} CredentialProvider;

/*
 * copy_credential_field
 *		Copy one credential string into its fixed-size slot, refusing one
 *		that does not fit.  The value is never part of the message.
 */
static void
copy_credential_field(char *dst, size_t dstsize, const char *src,
					  const char *what, const char *source)
{
	size_t		len = strlen(src);

	if (len >= dstsize)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("AWS %s from %s is too long", what, source),
				 errdetail("It has %zu bytes; at most %zu are supported.",
						   len, dstsize - 1)));
	memcpy(dst, src, len + 1);
}

/*
 * fill_credentials
 *		Common tail of the providers that read a key pair and an optional
 *		token from strings.  Returns false when neither half is set, raises
 *		an ERROR when only one is.
 */
static bool
fill_credentials(AwsCredentials *out, const char *source,
				 const char *key_name, const char *key,
				 const char *secret_name, const char *secret,
				 const char *token)
{
	bool		have_key = key != NULL && key[0] != '\0';
	bool		have_secret = secret != NULL && secret[0] != '\0';

	if (!have_key && !have_secret)
		return false;
	if (!have_key || !have_secret)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("incomplete AWS credentials in %s", source),
				 errdetail("%s is set but %s is not.",
						   have_key ? key_name : secret_name,
						   have_key ? secret_name : key_name),
				 errhint("Set both, or neither to fall through to the next credential source.")));

	memset(out, 0, sizeof(*out));
	copy_credential_field(out->access_key_id, sizeof(out->access_key_id),
						  key, "access key id", source);
	copy_credential_field(out->secret_access_key, sizeof(out->secret_access_key),
						  secret, "secret access key", source);
	if (token != NULL)
		copy_credential_field(out->session_token, sizeof(out->session_token),
							  token, "session token", source);
	out->expiration = 0;
	strlcpy(out->source, source, sizeof(out->source));
	return true;
}

/* "static": the bedrock.access_key_id / secret_access_key / session_token settings */
static bool
credentials_from_settings(AwsCredentials *out)
{
	return fill_credentials(out, "static",
							"bedrock.access_key_id", bedrock_access_key_id,
							"bedrock.secret_access_key", bedrock_secret_access_key,
							bedrock_session_token);
}

/* "environment": AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN */
static bool
credentials_from_environment(AwsCredentials *out)
{
	return fill_credentials(out, "environment",
							"AWS_ACCESS_KEY_ID", getenv("AWS_ACCESS_KEY_ID"),
							"AWS_SECRET_ACCESS_KEY", getenv("AWS_SECRET_ACCESS_KEY"),
							getenv("AWS_SESSION_TOKEN"));
}

static const CredentialProvider credential_chain[] = {
	{"static", credentials_from_settings},
	{"environment", credentials_from_environment},
};

/*
 * credentials_resolve
 *		Fill *out from the first provider of the chain that has credentials.
 *		Raises ERROR (28000) when none has, naming what was tried.
 */
void
credentials_resolve(AwsCredentials *out)
{
	int			i;

	for (i = 0; i < lengthof(credential_chain); i++)
	{
		if (credential_chain[i].fetch(out))
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no AWS credentials found"),
			 errdetail("Neither the bedrock.access_key_id and bedrock.secret_access_key settings nor the server's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables are set."),
			 errhint("Set bedrock.access_key_id and bedrock.secret_access_key in postgresql.conf, or start the server with the AWS environment variables.")));
}

/*
 * credentials_wipe
 *		Overwrite a credentials struct so that no secret lingers in memory
 *		once the request is signed.
 */
void
credentials_wipe(AwsCredentials *creds)
{
	explicit_bzero(creds, sizeof(*creds));
}
