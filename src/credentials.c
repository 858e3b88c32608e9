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

#include "utils/datetime.h"
#include "utils/timestamp.h"

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

	credentials_fill(out, source, key, secret, token, 0);
	return true;
}

/*
 * credentials_fill
 *		Fill *out from strings (token may be NULL), refusing values that do
 *		not fit their slots.  expiration 0 means "does not expire".
 */
void
credentials_fill(AwsCredentials *out, const char *source,
				 const char *access_key_id, const char *secret_access_key,
				 const char *session_token, TimestampTz expiration)
{
	memset(out, 0, sizeof(*out));
	copy_credential_field(out->access_key_id, sizeof(out->access_key_id),
						  access_key_id, "access key id", source);
	copy_credential_field(out->secret_access_key, sizeof(out->secret_access_key),
						  secret_access_key, "secret access key", source);
	if (session_token != NULL)
		copy_credential_field(out->session_token, sizeof(out->session_token),
							  session_token, "session token", source);
	out->expiration = expiration;
	strlcpy(out->source, source, sizeof(out->source));
}

/*
 * aws_parse_timestamp
 *		Parse an AWS ISO-8601 UTC time ("2025-01-15T18:20:00Z", optionally
 *		with fractional seconds) into *out.  False when malformed.
 */
bool
aws_parse_timestamp(const char *s, TimestampTz *out)
{
	int			year,
				mon,
				mday,
				hour,
				min,
				sec;
	int			consumed = 0;
	struct pg_tm tm;
	const char *rest;

	if (s == NULL ||
		sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &mday, &hour, &min,
			   &sec, &consumed) != 6)
		return false;
	rest = s + consumed;
	if (*rest == '.')
	{
		rest++;
		while (*rest >= '0' && *rest <= '9')
			rest++;
	}
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return false;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year;
	tm.tm_mon = mon;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	if (mon < 1 || mon > 12 || mday < 1 || mday > 31 || hour > 23 ||
		min > 59 || sec > 60)
		return false;
	return tm2timestamp(&tm, 0, NULL, out) == 0;
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
