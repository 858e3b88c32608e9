/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  The bedrock.* settings: where Bedrock is, which credentials sign the
 *	  requests, and the timeouts and limits of every call.
 *
 * Settings that redirect traffic or hold credentials are PGC_SUSET.  The
 * three credential settings are also GUC_SUPERUSER_ONLY and masked by a
 * show hook, so that neither SHOW, current_setting() nor pg_settings
 * reveals them to anyone but a superuser: members of pg_read_all_settings
 * see "********", everyone else is refused.  They cannot be stored per
 * role, per database or per function, where every role could read them
 * in the catalogs.  A secret from the settings is used only when the
 * library is preloaded (bedrock_secret_settings_trusted): loaded on
 * demand, the setting was a placeholder that anyone could read until then.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "converse_features.h"
#include "credentials.h"
#include "rate_limiter.h"

char	   *bedrock_region = NULL;
char	   *bedrock_endpoint = NULL;
char	   *bedrock_control_endpoint = NULL;
char	   *bedrock_s3_endpoint = NULL;
char	   *bedrock_access_key_id = NULL;
char	   *bedrock_secret_access_key = NULL;
char	   *bedrock_session_token = NULL;
char	   *bedrock_ca_file = NULL;
int			bedrock_timeout_ms = 120000;
int			bedrock_connect_timeout_ms = 10000;
int			bedrock_max_response_bytes = 32 * 1024 * 1024;
int			bedrock_max_attempts = 3;
int			bedrock_max_concurrency = 16;
int			bedrock_credential_source = CREDENTIAL_SOURCE_AUTO;
char	   *bedrock_role_arn = NULL;
char	   *bedrock_external_id = NULL;
char	   *bedrock_role_session_name = NULL;
int			bedrock_role_duration_seconds = 3600;
char	   *bedrock_imds_endpoint = NULL;
bool		bedrock_imds_v1_fallback = false;
char	   *bedrock_sts_endpoint = NULL;
int			bedrock_credential_wait_ms = 5000;
char	   *bedrock_database = NULL;
int			bedrock_usage_queue_size = 10000;
int			bedrock_usage_flush_ms = 1000;
char	   *bedrock_usage_retention = NULL;
char	   *bedrock_rate_limits_setting = NULL;
bool		bedrock_adaptive_rate_limiting = true;
double		bedrock_interactive_reserve = 0.1;

/*
 * Whether the library was loaded by shared_preload_libraries.  Only then
 * are the credential settings defined, hidden, before any session can read
 * them; loaded on demand, a value from the configuration was a placeholder
 * that every role could read until the library came (credentials.c
 * refuses to use it).
 */
bool		bedrock_secret_settings_trusted = false;

static const struct config_enum_entry credential_source_options[] = {
	{"auto", CREDENTIAL_SOURCE_AUTO, false},
	{"static", CREDENTIAL_SOURCE_STATIC, false},
	{"environment", CREDENTIAL_SOURCE_ENVIRONMENT, false},
	{"web_identity", CREDENTIAL_SOURCE_WEB_IDENTITY, false},
	{"container", CREDENTIAL_SOURCE_CONTAINER, false},
	{"instance", CREDENTIAL_SOURCE_INSTANCE, false},
	{NULL, 0, false}
};

#define MASKED_SECRET "********"

/*
 * default_region
 *		The region the AWS SDKs would pick from the server's environment:
 *		AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.
 */
static const char *
default_region(void)
{
	const char *r = getenv("AWS_REGION");

	if (r == NULL || r[0] == '\0')
		r = getenv("AWS_DEFAULT_REGION");
	if (r == NULL || r[0] == '\0')
		r = "us-east-1";
	return r;
}

/*
 * check_region
 *		A region becomes part of a host name and of the signing scope, so it
 *		may hold only lower-case letters, digits and hyphens.
 */
bool
check_region(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("The region must not be empty.");
		return false;
	}
	for (p = *newval; *p; p++)
	{
		if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '-'))
		{
			GUC_check_errdetail("A region consists of lower-case letters, digits and hyphens, such as \"us-east-1\".");
			return false;
		}
	}
	if (strlen(*newval) > 64)
	{
		GUC_check_errdetail("The region is longer than 64 characters.");
		return false;
	}
	return true;
}

/*
 * check_endpoint
 *		Empty, or an http:// or https:// base URL with a host and nothing
 *		after the path; a trailing slash is removed.
 */
bool
check_endpoint(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;
	const char *host;
	const char *p;
	size_t		len;

	if (v == NULL || v[0] == '\0')
		return true;

	if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else
	{
		GUC_check_errdetail("The endpoint must start with \"http://\" or \"https://\".");
		return false;
	}
	if (*host == '\0' || *host == '/')
	{
		GUC_check_errdetail("The endpoint has no host.");
		return false;
	}
	if (strchr(v, '@') != NULL)
	{
		/* user information may hold a password: do not quote the value */
		GUC_check_errmsg("invalid value for parameter \"bedrock.endpoint\"");
		GUC_check_errdetail("The endpoint must not contain user information; Bedrock requests are authenticated by their signature.");
		return false;
	}
	for (p = v; *p; p++)
	{
		if ((unsigned char) *p <= ' ' || *p == 0x7f || *p == '?' || *p == '#')
		{
			GUC_check_errdetail("The endpoint must be a plain base URL without spaces, control characters, query or fragment.");
			return false;
		}
	}

	len = strlen(v);
	if (v[len - 1] == '/')
	{
		char	   *trimmed = BedrockGucMalloc(len);

		if (trimmed == NULL)
			return false;
		memcpy(trimmed, v, len - 1);
		trimmed[len - 1] = '\0';
		BedrockGucFree(*newval);
		*newval = trimmed;
	}
	return true;
}

/*
 * check_credential
 *		Credentials travel in HTTP headers: no control characters.  The
 *		value is never echoed back: GUC's default message would quote it,
 *		into the client's error and the server log, so we set our own.
 */
static bool
check_credential(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (*newval == NULL)
		return true;
	for (p = *newval; *p; p++)
	{
		if ((unsigned char) *p < ' ' || *p == 0x7f)
		{
			GUC_check_errmsg("invalid value for a bedrock credential setting");
			GUC_check_errdetail("The value contains a control character.");
			return false;
		}
	}
	return true;
}

/*
 * check_credential_setting
 *		check_credential, and refuse the places every role can read: ALTER
 *		ROLE / ALTER DATABASE ... SET (validated as PGC_S_TEST, applied from
 *		pg_db_role_setting) and the SET clause of CREATE FUNCTION (pg_proc).
 */
static bool
check_credential_setting(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] != '\0' &&
		(source == PGC_S_TEST || source == PGC_S_GLOBAL ||
		 source == PGC_S_DATABASE || source == PGC_S_USER ||
		 source == PGC_S_DATABASE_USER))
	{
		GUC_check_errmsg("bedrock credential settings cannot be set per role, per database or per function");
		GUC_check_errdetail("pg_db_role_setting and pg_proc, where such values are stored, are readable by every role.");
		GUC_check_errhint("Set credentials in postgresql.conf or with ALTER SYSTEM, with bedrock_fdw in shared_preload_libraries, or use a credential source that needs no secret.");
		return false;
	}
	return check_credential(newval, extra, source);
}

/*
 * check_secret_setting
 *		check_credential_setting for a secret: the accepted value is also
 *		remembered for the log's redaction by value.
 */
static bool
check_secret_setting(char **newval, void **extra, GucSource source)
{
	if (!check_credential_setting(newval, extra, source))
		return false;
	log_redact_remember(*newval);
	return true;
}

/*
 * show_secret
 *		Superusers see the value; everyone else sees a mask (or the empty
 *		string when nothing is set, so that "is it configured?" stays
 *		answerable).
 */
static const char *
show_secret_value(const char *value)
{
	if (value == NULL || value[0] == '\0')
		return "";
	if (superuser())
		return value;
	return MASKED_SECRET;
}

static const char *
show_access_key_id(void)
{
	return show_secret_value(bedrock_access_key_id);
}

static const char *
show_secret_access_key(void)
{
	return show_secret_value(bedrock_secret_access_key);
}

static const char *
show_session_token(void)
{
	return show_secret_value(bedrock_session_token);
}

static const char *
show_external_id(void)
{
	return show_secret_value(bedrock_external_id);
}

/*
 * default_imds_endpoint
 *		AWS_EC2_METADATA_SERVICE_ENDPOINT as the SDKs read it, else the
 *		link-local address of the instance metadata service.
 */
static const char *
default_imds_endpoint(void)
{
	const char *e = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");

	return (e != NULL && e[0] != '\0') ? e : "http://169.254.169.254";
}

/*
 * bedrock_define_gucs
 *		Define every bedrock.* setting and reserve the prefix.  Called once
 *		from _PG_init.
 */
void
bedrock_define_gucs(void)
{
	/*
	 * GUC_SUPERUSER_ONLY hides the credentials from everyone without
	 * pg_read_all_settings (SHOW fails, pg_settings omits them); the show
	 * hook masks them for those with it but not superuser.
	 */
	const int	secret_flags = GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE;

	bedrock_secret_settings_trusted = process_shared_preload_libraries_in_progress;

	DefineCustomStringVariable("bedrock.region",
							   "AWS region of the Bedrock endpoint and of the signing scope.",
							   "Defaults to the server's AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.",
							   &bedrock_region,
							   default_region(),
							   PGC_SUSET,
							   0,
							   check_region, NULL, NULL);

	DefineCustomStringVariable("bedrock.endpoint",
							   "Base URL of Bedrock Runtime, such as http://127.0.0.1:4566.",
							   "Empty means https://bedrock-runtime.<region>.amazonaws.com.",
							   &bedrock_endpoint,
							   "",
							   PGC_SUSET,
							   0,
							   check_endpoint, NULL, NULL);

	DefineCustomStringVariable("bedrock.control_endpoint",
							   "Base URL of the Bedrock control plane (models, profiles, guardrails, batch jobs).",
							   "Empty means https://bedrock.<region>.amazonaws.com.",
							   &bedrock_control_endpoint,
							   "",
							   PGC_SUSET,
							   0,
							   check_endpoint, NULL, NULL);

	DefineCustomStringVariable("bedrock.s3_endpoint",
							   "Base URL of Amazon S3, addressed path-style (batch inference jobs).",
							   "Empty means https://s3.<region>.amazonaws.com.",
							   &bedrock_s3_endpoint,
							   "",
							   PGC_SUSET,
							   0,
							   check_endpoint, NULL, NULL);

	DefineCustomStringVariable("bedrock.access_key_id",
							   "AWS access key id used to sign requests.",
							   "Empty means the server's AWS_ACCESS_KEY_ID environment variable.",
							   &bedrock_access_key_id,
							   "",
							   PGC_SUSET,
							   secret_flags,
							   check_credential_setting, NULL, show_access_key_id);

	DefineCustomStringVariable("bedrock.secret_access_key",
							   "AWS secret access key used to sign requests.",
							   "Empty means the server's AWS_SECRET_ACCESS_KEY environment variable.",
							   &bedrock_secret_access_key,
							   "",
							   PGC_SUSET,
							   secret_flags,
							   check_secret_setting, NULL, show_secret_access_key);

	DefineCustomStringVariable("bedrock.session_token",
							   "AWS session token of temporary credentials.",
							   NULL,
							   &bedrock_session_token,
							   "",
							   PGC_SUSET,
							   secret_flags,
							   check_secret_setting, NULL, show_session_token);

	DefineCustomStringVariable("bedrock.ca_file",
							   "File of CA certificates that verify the endpoint's TLS certificate.",
							   "Empty means the system's CA store.",
							   &bedrock_ca_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("bedrock.timeout_ms",
							"Time limit of one attempt of a Bedrock request.",
							"Overridden per call by the timeout_ms option.",
							&bedrock_timeout_ms,
							120000, 1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bedrock.connect_timeout_ms",
							"Time limit of establishing a connection to Bedrock.",
							NULL,
							&bedrock_connect_timeout_ms,
							10000, 1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bedrock.max_response_bytes",
							"Largest Bedrock response body accepted.",
							NULL,
							&bedrock_max_response_bytes,
							32 * 1024 * 1024, 1024, 1024 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bedrock.max_attempts",
							"Attempts per call, the first included, for throttling and transient errors.",
							NULL,
							&bedrock_max_attempts,
							3, 1, 10,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bedrock.max_concurrency",
							"Most requests one batch keeps in flight.",
							"The concurrency option of bedrock_chat_batch may only lower it.",
							&bedrock_max_concurrency,
							16, 1, 1024,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	/*
	 * The credential chain.  These settings decide, for the whole server,
	 * whose identity the background worker fetches, so they are PGC_SIGHUP:
	 * set in postgresql.conf (or ALTER SYSTEM) by a superuser, and the same
	 * in every backend and the worker.
	 */
	DefineCustomEnumVariable("bedrock.credential_source",
							 "Where AWS credentials come from.",
							 "auto tries static settings, the environment, web identity, the container endpoint and the instance role, in that order.",
							 &bedrock_credential_source,
							 CREDENTIAL_SOURCE_AUTO,
							 credential_source_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("bedrock.role_arn",
							   "IAM role to assume (sts:AssumeRole) on top of the credential source.",
							   "Empty means use the source's own identity.",
							   &bedrock_role_arn,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_credential, NULL, NULL);

	DefineCustomStringVariable("bedrock.external_id",
							   "External id passed when assuming bedrock.role_arn.",
							   NULL,
							   &bedrock_external_id,
							   "",
							   PGC_SIGHUP,
							   secret_flags,
							   check_secret_setting, NULL, show_external_id);

	DefineCustomStringVariable("bedrock.role_session_name",
							   "Session name used when assuming a role.",
							   "Appears in CloudTrail and in the assumed-role ARN.",
							   &bedrock_role_session_name,
							   "bedrock_fdw",
							   PGC_SIGHUP,
							   0,
							   check_credential, NULL, NULL);

	DefineCustomIntVariable("bedrock.role_duration_seconds",
							"Lifetime requested for assumed-role credentials.",
							NULL,
							&bedrock_role_duration_seconds,
							3600, 900, 43200,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("bedrock.imds_endpoint",
							   "Base URL of the EC2 instance metadata service.",
							   "Defaults to AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254.",
							   &bedrock_imds_endpoint,
							   default_imds_endpoint(),
							   PGC_SIGHUP,
							   0,
							   check_endpoint, NULL, NULL);

	DefineCustomBoolVariable("bedrock.imds_v1_fallback",
							 "Fall back to IMDSv1 when no IMDSv2 session token can be had.",
							 NULL,
							 &bedrock_imds_v1_fallback,
							 false,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("bedrock.sts_endpoint",
							   "Base URL of AWS STS.",
							   "Empty means the regional endpoint https://sts.<region>.amazonaws.com.",
							   &bedrock_sts_endpoint,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_endpoint, NULL, NULL);

	DefineCustomIntVariable("bedrock.credential_wait_ms",
							"How long a call waits for the background worker to fetch credentials.",
							NULL,
							&bedrock_credential_wait_ms,
							5000, 0, 600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * Usage accounting.  The settings that size shared memory or choose the
	 * writer's database exist only when the library is preloaded: a
	 * PGC_POSTMASTER setting cannot be defined later.
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomStringVariable("bedrock.database",
								   "Database whose bedrock.usage_log receives every call's usage record.",
								   "The extension must be created in it.",
								   &bedrock_database,
								   "postgres",
								   PGC_POSTMASTER,
								   0,
								   NULL, NULL, NULL);

		DefineCustomIntVariable("bedrock.usage_queue_size",
								"Usage records shared memory holds until the writer stores them.",
								"Records beyond it are dropped and counted.",
								&bedrock_usage_queue_size,
								10000, 16, 1000000,
								PGC_POSTMASTER,
								0,
								NULL, NULL, NULL);
	}

	DefineCustomIntVariable("bedrock.usage_flush_ms",
							"How often the usage writer stores queued records.",
							NULL,
							&bedrock_usage_flush_ms,
							1000, 10, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("bedrock.usage_retention",
							   "Age after which the usage writer purges bedrock.usage_log rows, such as '90 days'.",
							   "Empty keeps every row.",
							   &bedrock_usage_retention,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	/*
	 * The shared rate limiter.  Server-wide budgets: PGC_SIGHUP, the same
	 * in every backend.
	 */
	DefineCustomStringVariable("bedrock.rate_limits",
							   "Requests and tokens per minute allowed per model, across all backends.",
							   "A comma-separated list of rules such as 'openai.gpt-oss-20b-1:0 rpm=600 tpm=200000, anthropic.* rpm=100, * rpm=1000'. Empty: no limit.",
							   &bedrock_rate_limits_setting,
							   "",
							   PGC_SIGHUP,
							   0,
							   rate_limits_check_hook, rate_limits_assign_hook, NULL);

	DefineCustomBoolVariable("bedrock.adaptive_rate_limiting",
							 "Slows every backend's calls to a model down when Bedrock throttles it.",
							 "As the AWS SDKs' adaptive retry mode, but shared by all backends.",
							 &bedrock_adaptive_rate_limiting,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("bedrock.interactive_reserve",
							 "Fraction of each rate limit that batch calls leave to single calls.",
							 "bedrock_chat_batch and bedrock_enrich do not use this share of a model's budget, so that interactive queries find room.",
							 &bedrock_interactive_reserve,
							 0.1, 0.0, 0.9,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	/* bedrock.server, bedrock.max_identities (src/fdw) */
	bedrock_target_define_gucs();

	/* guardrail, service tier, latency (src/engine/converse_features.c) */
	converse_features_define_gucs();

	MarkGUCPrefixReserved("bedrock");
}

/*
 * bedrock_sts_base_url
 *		The STS base URL without a trailing slash, palloc'd.
 */
char *
bedrock_sts_base_url(void)
{
	if (bedrock_sts_endpoint != NULL && bedrock_sts_endpoint[0] != '\0')
		return pstrdup(bedrock_sts_endpoint);
	return psprintf("https://sts.%s.amazonaws.com", bedrock_region);
}

/*
 * bedrock_runtime_base_url
 *		The Bedrock Runtime base URL without a trailing slash, palloc'd.
 */
char *
bedrock_runtime_base_url(void)
{
	if (bedrock_endpoint != NULL && bedrock_endpoint[0] != '\0')
		return pstrdup(bedrock_endpoint);
	return psprintf("https://bedrock-runtime.%s.amazonaws.com", bedrock_region);
}

/*
 * bedrock_control_base_url
 *		The Bedrock control plane base URL without a trailing slash, palloc'd.
 */
char *
bedrock_control_base_url(void)
{
	if (bedrock_control_endpoint != NULL && bedrock_control_endpoint[0] != '\0')
		return pstrdup(bedrock_control_endpoint);
	return psprintf("https://bedrock.%s.amazonaws.com", bedrock_region);
}

/*
 * bedrock_s3_base_url
 *		The S3 base URL (path-style addressing) without a trailing slash,
 *		palloc'd.
 */
char *
bedrock_s3_base_url(void)
{
	if (bedrock_s3_endpoint != NULL && bedrock_s3_endpoint[0] != '\0')
		return pstrdup(bedrock_s3_endpoint);
	return psprintf("https://s3.%s.amazonaws.com", bedrock_region);
}
