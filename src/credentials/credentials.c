/*-------------------------------------------------------------------------
 *
 * credentials.c
 *	  The AWS credential chain: which access key signs a request.
 *
 * Providers are tried in the AWS SDKs' order (bedrock.credential_source
 * "auto") or one is named: the bedrock.* settings ("static"), the server's
 * environment ("environment"), a web identity token through STS
 * ("web_identity", EKS IRSA), the container credentials endpoint
 * ("container", ECS task roles, EKS Pod Identity) and the EC2 instance
 * role through IMDSv2 ("instance"); optionally sts:AssumeRole on top.
 *
 * The first two need no network and are read on every call.  The others
 * fetch temporary credentials, which the background worker keeps in
 * shared memory for the whole server (credential_cache.c); without it,
 * each backend keeps its own copy.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <string.h>

#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "credential_cache.h"
#include "credentials.h"

/*
 * The local providers (settings, environment) fill *out and return true,
 * return false when they have nothing to offer, and raise an ERROR when
 * half configured.
 */
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
	/* name the settings (never their values) in the message itself */
	if (!have_key || !have_secret)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("incomplete AWS credentials in %s: %s is set, %s is not",
						source,
						have_key ? key_name : secret_name,
						have_key ? secret_name : key_name),
				 errdetail("An access key id and its secret access key are needed together%s.",
						   token != NULL && token[0] != '\0'
						   ? "; a session token is set too" : ""),
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

/*
 * refuse_untrusted_settings
 *		Raise an ERROR when a secret comes from the settings although the
 *		library was loaded on demand: until then the setting was a
 *		placeholder that every role could read with SHOW or
 *		current_setting(), so the secret must be considered exposed and is
 *		not used.  Neither the value nor its length is reported.
 */
static void
refuse_untrusted_settings(void)
{
	const char *name = NULL;

	if (bedrock_secret_settings_trusted)
		return;
	if (bedrock_secret_access_key != NULL && bedrock_secret_access_key[0] != '\0')
		name = "bedrock.secret_access_key";
	else if (bedrock_session_token != NULL && bedrock_session_token[0] != '\0')
		name = "bedrock.session_token";
	else if (bedrock_external_id != NULL && bedrock_external_id[0] != '\0')
		name = "bedrock.external_id";
	if (name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s is set, but bedrock_fdw is not in shared_preload_libraries", name),
				 errdetail("Until the library is loaded in a session, a bedrock.* setting is an ordinary placeholder that every role can read with SHOW or current_setting(), so a secret in the settings is only used when the library is preloaded."),
				 errhint("Add bedrock_fdw to shared_preload_libraries and restart the server, or remove the secret from the settings and use the server's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), a web identity token, the container endpoint or the instance role.")));
}

/* "static": the bedrock.access_key_id / secret_access_key / session_token settings */
static bool
credentials_from_settings(AwsCredentials *out)
{
	refuse_untrusted_settings();
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

/* ---- the chain ---- */

static const char *const source_names[] = {
	[CREDENTIAL_SOURCE_AUTO] = "auto",
	[CREDENTIAL_SOURCE_STATIC] = "static",
	[CREDENTIAL_SOURCE_ENVIRONMENT] = "environment",
	[CREDENTIAL_SOURCE_WEB_IDENTITY] = "web_identity",
	[CREDENTIAL_SOURCE_CONTAINER] = "container",
	[CREDENTIAL_SOURCE_INSTANCE] = "instance",
};

/*
 * credential_source_from_name
 *		The CredentialSource of a name ("auto", "static", ...); -1 if none.
 */
int
credential_source_from_name(const char *name)
{
	for (int i = 0; i < lengthof(source_names); i++)
		if (strcmp(name, source_names[i]) == 0)
			return i;
	return -1;
}

/* Adapters giving the local providers the network providers' shape. */
static CredentialFetchStatus
fetch_from_settings(AwsCredentials *out, StringInfo error)
{
	return credentials_from_settings(out) ? CREDENTIALS_FETCHED : CREDENTIALS_NOT_CONFIGURED;
}

static CredentialFetchStatus
fetch_from_environment(AwsCredentials *out, StringInfo error)
{
	return credentials_from_environment(out) ? CREDENTIALS_FETCHED : CREDENTIALS_NOT_CONFIGURED;
}

typedef CredentialFetchStatus (*CredentialFetchFn) (AwsCredentials *out, StringInfo error);

/* Why a provider that has nothing to offer was skipped, for messages. */
static const char *const skipped_because[] = {
	[CREDENTIAL_SOURCE_STATIC] = "no bedrock.access_key_id, bedrock.secret_access_key",
	[CREDENTIAL_SOURCE_ENVIRONMENT] = "no AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in the server's environment",
	[CREDENTIAL_SOURCE_WEB_IDENTITY] = "no AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN",
	[CREDENTIAL_SOURCE_CONTAINER] = "no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI",
	[CREDENTIAL_SOURCE_INSTANCE] = "AWS_EC2_METADATA_DISABLED is true",
};

/* The providers in the AWS SDKs' order; index = CredentialSource. */
static const CredentialFetchFn providers[] = {
	[CREDENTIAL_SOURCE_STATIC] = fetch_from_settings,
	[CREDENTIAL_SOURCE_ENVIRONMENT] = fetch_from_environment,
	[CREDENTIAL_SOURCE_WEB_IDENTITY] = sts_web_identity_credentials,
	[CREDENTIAL_SOURCE_CONTAINER] = container_fetch_credentials,
	[CREDENTIAL_SOURCE_INSTANCE] = imds_fetch_credentials,
};

/*
 * fetch_base_credentials
 *		Run the provider bedrock.credential_source names, or for "auto" each
 *		in turn until one delivers.  On failure error lists every provider
 *		tried, in order, with why it was skipped (not configured) or what it
 *		said (failed), e.g. "static skipped (no bedrock.access_key_id,
 *		bedrock.secret_access_key); ...; instance failed (...)".
 */
static CredentialFetchStatus
fetch_base_credentials(AwsCredentials *out, StringInfo error)
{
	return credentials_fetch_base(bedrock_credential_source, out, error);
}

/*
 * credentials_fetch_base
 *		fetch_base_credentials for the credential source given (a
 *		CredentialSource), whatever bedrock.credential_source says: a
 *		foreign server's credential_source option.
 */
CredentialFetchStatus
credentials_fetch_base(int source, AwsCredentials *out, StringInfo error)
{
	int			first = source;
	int			last = source;
	StringInfoData why;
	int			i;

	if (source == CREDENTIAL_SOURCE_AUTO)
	{
		first = CREDENTIAL_SOURCE_STATIC;
		last = CREDENTIAL_SOURCE_INSTANCE;
	}
	initStringInfo(&why);
	for (i = first; i <= last; i++)
	{
		CredentialFetchStatus st;

		resetStringInfo(&why);
		st = providers[i](out, &why);
		if (st == CREDENTIALS_FETCHED)
			return st;
		appendStringInfo(error, "%s%s %s (%s)", error->len > 0 ? "; " : "",
						 source_names[i],
						 st == CREDENTIALS_FAILED ? "failed" : "skipped",
						 st == CREDENTIALS_FAILED || why.len > 0
						 ? why.data : skipped_because[i]);
	}
	return CREDENTIALS_FAILED;
}

/*
 * credentials_fetch
 *		The whole chain, network providers and sts:AssumeRole included: what
 *		the background worker (or, without it, each backend) runs to fetch
 *		credentials.  Returns CREDENTIALS_FETCHED or CREDENTIALS_FAILED with
 *		the reason in error.
 */
CredentialFetchStatus
credentials_fetch(AwsCredentials *out, StringInfo error)
{
	AwsCredentials base;
	CredentialFetchStatus st;

	st = fetch_base_credentials(&base, error);
	if (st != CREDENTIALS_FETCHED)
		return CREDENTIALS_FAILED;
	if (base.expiration != 0 && base.expiration <= GetCurrentTimestamp())
	{
		appendStringInfo(error, "%s returned credentials that expired at %s",
						 base.source, timestamptz_to_str(base.expiration));
		credentials_wipe(&base);
		return CREDENTIALS_FAILED;
	}
	if (bedrock_role_arn == NULL || bedrock_role_arn[0] == '\0')
	{
		memcpy(out, &base, sizeof(AwsCredentials));
		credentials_wipe(&base);
		return CREDENTIALS_FETCHED;
	}
	st = sts_assume_role(&base, out, error);
	credentials_wipe(&base);
	return st == CREDENTIALS_FETCHED ? st : CREDENTIALS_FAILED;
}

/*
 * credentials_refresh_time
 *		When credentials fetched at fetched_at should be replaced: before
 *		expiry by 15 minutes or half their lifetime, whichever is less (the
 *		SDKs refresh 5 to 15 minutes early; short-lived credentials need a
 *		proportionate margin).  0 for credentials that do not expire.
 */
TimestampTz
credentials_refresh_time(const AwsCredentials *creds, TimestampTz fetched_at)
{
	int64		lifetime;
	int64		margin;

	if (creds->expiration == 0)
		return 0;
	lifetime = creds->expiration - fetched_at;
	margin = Min((int64) 15 * 60 * USECS_PER_SEC, lifetime / 2);
	return creds->expiration - Max(margin, 0);
}

/*
 * Without shared_preload_libraries each backend runs the chain itself and
 * keeps the result here, refreshing it on the same schedule the worker
 * would.
 */
static AwsCredentials private_cache;
static TimestampTz private_fetched_at = 0;
static bool private_notice_sent = false;

static void
resolve_privately(AwsCredentials *out)
{
	TimestampTz now = GetCurrentTimestamp();
	StringInfoData error;
	bool		have = private_fetched_at != 0;
	bool		still_valid = have && (private_cache.expiration == 0 ||
									   private_cache.expiration > now);

	if (have && (private_cache.expiration == 0 ||
				 now < credentials_refresh_time(&private_cache, private_fetched_at)))
	{
		memcpy(out, &private_cache, sizeof(AwsCredentials));
		return;
	}

	if (!private_notice_sent)
	{
		ereport(NOTICE,
				(errmsg("bedrock_fdw is not in shared_preload_libraries: this backend fetches and caches AWS credentials itself"),
				 errhint("Preload the library so that one background worker fetches credentials for the whole server.")));
		private_notice_sent = true;
	}

	initStringInfo(&error);
	if (credentials_fetch(out, &error) == CREDENTIALS_FETCHED)
	{
		memcpy(&private_cache, out, sizeof(AwsCredentials));
		private_fetched_at = now;
		return;
	}
	if (still_valid)
	{
		/* static stability: keep using what still works */
		memcpy(out, &private_cache, sizeof(AwsCredentials));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no AWS credentials found"),
			 errdetail("%s.", error.data),
			 errhint("Set bedrock.credential_source and the settings or environment of that source; see docs/credentials.md.")));
}

/*
 * credentials_local
 *		The static settings or the server's environment, when they are what
 *		signs the next request (no role to assume, and bedrock.credential_source
 *		allows them): fills *out and returns true; false otherwise.  Nothing
 *		is fetched.  Raises, as the chain does, for half a key pair.
 */
bool
credentials_local(AwsCredentials *out)
{
	int			source = bedrock_credential_source;

	if (bedrock_role_arn != NULL && bedrock_role_arn[0] != '\0')
		return false;
	if ((source == CREDENTIAL_SOURCE_AUTO || source == CREDENTIAL_SOURCE_STATIC) &&
		credentials_from_settings(out))
		return true;
	if ((source == CREDENTIAL_SOURCE_AUTO || source == CREDENTIAL_SOURCE_ENVIRONMENT) &&
		credentials_from_environment(out))
		return true;
	return false;
}

/*
 * credentials_resolve
 *		The credentials that sign the next request.
 *
 * Static settings and the environment are read directly (no fetch, no
 * worker) unless a role is to be assumed on top of them.  Everything else
 * comes from the worker's shared cache when the library is preloaded, or
 * from this backend's private cache otherwise.  Raises ERROR (28000) when
 * there are none.
 */
static void credentials_resolve_chain(AwsCredentials *out);

void
credentials_resolve(AwsCredentials *out)
{
	credentials_resolve_chain(out);
	/* whatever signs a request is masked in every log line from now on */
	log_redact_remember(out->secret_access_key);
	log_redact_remember(out->session_token);
}

/* credentials_resolve, without remembering the result for redaction */
static void
credentials_resolve_chain(AwsCredentials *out)
{
	int			source = bedrock_credential_source;
	bool		assume_role = bedrock_role_arn != NULL && bedrock_role_arn[0] != '\0';

	if (credentials_local(out))
		return;
	if (!assume_role)
	{
		if (source == CREDENTIAL_SOURCE_STATIC || source == CREDENTIAL_SOURCE_ENVIRONMENT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("no AWS credentials found"),
					 errdetail("bedrock.credential_source is \"%s\", and %s.", source_names[source],
							   source == CREDENTIAL_SOURCE_STATIC
							   ? "bedrock.access_key_id and bedrock.secret_access_key are not set"
							   : "the server's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
					 errhint("Set them, or choose another bedrock.credential_source.")));
	}

	if (credential_cache_available())
	{
		StringInfoData error;
		uint64		generation;

		initStringInfo(&error);
		if (!credential_cache_get(out, &generation, &error))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("no valid AWS credentials"),
					 errdetail("%s.", error.data),
					 errhint("SELECT * FROM bedrock.credentials shows the state of the credential worker.")));
		return;
	}
	resolve_privately(out);
}

/*
 * credentials_private_status
 *		This backend's private cache, in the shape of the shared one's
 *		status (for bedrock.credentials without the worker).
 */
void
credentials_private_status(CredentialCacheStatus *status)
{
	memset(status, 0, sizeof(*status));
	status->shared = false;
	status->have_credentials = private_fetched_at != 0;
	if (status->have_credentials)
	{
		strlcpy(status->source, private_cache.source, sizeof(status->source));
		strlcpy(status->access_key_id, private_cache.access_key_id,
				sizeof(status->access_key_id));
		status->expiration = private_cache.expiration;
		status->last_refresh = private_fetched_at;
		status->last_attempt = private_fetched_at;
		status->refresh_count = 1;
	}
}

/*
 * credentials_report_rejected
 *		Bedrock refused these credentials as expired or invalid: make sure
 *		the next resolve fetches new ones instead of reusing them.
 */
void
credentials_report_rejected(const AwsCredentials *creds)
{
	if (creds->generation != 0 && credential_cache_available())
		credential_cache_report_rejected(creds->generation);
	else if (private_fetched_at != 0 &&
			 strcmp(private_cache.access_key_id, creds->access_key_id) == 0)
	{
		explicit_bzero(&private_cache, sizeof(private_cache));
		private_fetched_at = 0;
	}
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
