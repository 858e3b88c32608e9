/*-------------------------------------------------------------------------
 *
 * fdw_options.c
 *	  bedrock_fdw_validator: the options of the bedrock_fdw foreign data
 *	  wrapper's servers, user mappings and foreign tables.
 *
 * Every option is known and every value well formed before it reaches the
 * catalog: an unknown option is refused with the closest valid name as a
 * hint (a typo such as "role_ar" must not silently leave a role
 * unassumed), and a malformed value (an ARN of the wrong shape, a region
 * that cannot be a host name label, a duration STS would refuse, an
 * endpoint the settings would refuse) is refused naming the option.  The
 * values of secret options (external_id, secret_access_key,
 * session_token) are never part of a message.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/fdw_options.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/reloptions.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"

PG_FUNCTION_INFO_V1(bedrock_fdw_validator);

/* What a value must look like. */
typedef enum OptionKind
{
	OPT_REGION,
	OPT_ENDPOINT,
	OPT_CREDENTIAL_SOURCE,
	OPT_ROLE_ARN,
	OPT_EXTERNAL_ID,
	OPT_SESSION_NAME,
	OPT_DURATION,
	OPT_GUARDRAIL_ID,
	OPT_GUARDRAIL_VERSION,
	OPT_SERVICE_TIER,
	OPT_ACCESS_KEY_ID,
	OPT_SECRET,
	OPT_PROFILE_ARN,
	OPT_RESOURCE
} OptionKind;

typedef struct BedrockOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
	OptionKind	kind;
	bool		secret;			/* never quoted in a message */
} BedrockOption;

static const BedrockOption options[] = {
	{"region", ForeignServerRelationId, OPT_REGION, false},
	{"endpoint", ForeignServerRelationId, OPT_ENDPOINT, false},
	{"control_endpoint", ForeignServerRelationId, OPT_ENDPOINT, false},
	{"s3_endpoint", ForeignServerRelationId, OPT_ENDPOINT, false},
	{"sts_endpoint", ForeignServerRelationId, OPT_ENDPOINT, false},
	{"credential_source", ForeignServerRelationId, OPT_CREDENTIAL_SOURCE, false},
	{"role_arn", ForeignServerRelationId, OPT_ROLE_ARN, false},
	{"external_id", ForeignServerRelationId, OPT_EXTERNAL_ID, true},
	{"role_session_name", ForeignServerRelationId, OPT_SESSION_NAME, false},
	{"role_duration_seconds", ForeignServerRelationId, OPT_DURATION, false},
	{"guardrail_identifier", ForeignServerRelationId, OPT_GUARDRAIL_ID, false},
	{"guardrail_version", ForeignServerRelationId, OPT_GUARDRAIL_VERSION, false},
	{"service_tier", ForeignServerRelationId, OPT_SERVICE_TIER, false},
	{"role_arn", UserMappingRelationId, OPT_ROLE_ARN, false},
	{"external_id", UserMappingRelationId, OPT_EXTERNAL_ID, true},
	{"role_session_name", UserMappingRelationId, OPT_SESSION_NAME, false},
	{"access_key_id", UserMappingRelationId, OPT_ACCESS_KEY_ID, false},
	{"secret_access_key", UserMappingRelationId, OPT_SECRET, true},
	{"session_token", UserMappingRelationId, OPT_SECRET, true},
	{"inference_profile", UserMappingRelationId, OPT_PROFILE_ARN, false},
	{"resource", ForeignTableRelationId, OPT_RESOURCE, false},
};

static const char *const credential_sources[] = {
	"auto", "static", "environment", "web_identity", "container", "instance", NULL
};
static const char *const service_tiers[] = {"default", "priority", "flex", NULL};
static const char *const resources[] = {
	"foundation_models", "inference_profiles", "guardrails", "model_invocation_jobs", NULL
};

/*
 * fdw_option_is_secret
 *		Whether an option of a server or user mapping holds a secret.
 */
bool
fdw_option_is_secret(const char *name)
{
	for (int i = 0; i < lengthof(options); i++)
		if (options[i].secret && strcmp(options[i].name, name) == 0)
			return true;
	return false;
}

static const char *
context_name(Oid context)
{
	switch (context)
	{
		case ForeignServerRelationId:
			return "foreign servers";
		case UserMappingRelationId:
			return "user mappings";
		case ForeignTableRelationId:
			return "foreign tables";
		case ForeignDataWrapperRelationId:
			return "the foreign data wrapper";
		case AttributeRelationId:
			return "columns of foreign tables";
		default:
			return "this object";
	}
}

/*
 * refuse_unknown_option
 *		The option is not one of context's: name the closest one that is
 *		(by Levenshtein distance, at most half the name's length away), or
 *		list them all.
 */
static void
refuse_unknown_option(const char *name, Oid context)
{
	const char *best = NULL;
	int			best_distance = strlen(name) / 2 + 1;
	StringInfoData valid;

	initStringInfo(&valid);
	for (int i = 0; i < lengthof(options); i++)
	{
		int			d;

		if (options[i].context != context)
			continue;
		appendStringInfo(&valid, "%s%s", valid.len > 0 ? ", " : "", options[i].name);
		d = varstr_levenshtein(name, strlen(name), options[i].name,
							   strlen(options[i].name), 1, 1, 1, false);
		if (d < best_distance)
		{
			best_distance = d;
			best = options[i].name;
		}
	}
	if (valid.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\"", name),
				 errhint("bedrock_fdw takes no options for %s.", context_name(context))));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", name),
			 best != NULL ?
			 errhint("Perhaps you meant the option \"%s\".", best) :
			 errhint("Valid options for %s are: %s.", context_name(context), valid.data)));
}

/* Refuse value of option name, with detail (a full sentence). */
static void
refuse_value(const BedrockOption *opt, const char *value, const char *detail)
{
	if (opt->secret)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\"", opt->name),
				 errdetail("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", opt->name, value),
			 errdetail("%s", detail)));
}

/* True when every byte of s is in the set ok or alphanumeric ASCII. */
static bool
chars_in(const char *s, const char *ok)
{
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char) *p) && (*p == '\0' || strchr(ok, *p) == NULL))
			return false;
	return true;
}

static bool
has_control_char(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char) *p < ' ' || *p == 0x7f)
			return true;
	return false;
}

static bool
one_of(const char *value, const char *const *list)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(value, list[i]) == 0)
			return true;
	return false;
}

/* "arn:aws[-partition]:" followed by the rest; the partition is skipped */
static const char *
after_partition(const char *arn)
{
	const char *p;

	if (strncmp(arn, "arn:aws", 7) != 0)
		return NULL;
	p = arn + 7;
	while (*p == '-' || islower((unsigned char) *p))
		p++;
	return *p == ':' ? p + 1 : NULL;
}

/* twelve digits, then ':' */
static const char *
after_account(const char *p)
{
	for (int i = 0; i < 12; i++)
		if (!isdigit((unsigned char) p[i]))
			return NULL;
	return p[12] == ':' ? p + 13 : NULL;
}

/*
 * role_arn_ok
 *		arn:<partition>:iam::<12 digits>:role/[path/]name, the characters
 *		IAM allows in a role's path and name.
 */
static bool
role_arn_ok(const char *v)
{
	const char *p = after_partition(v);

	if (p == NULL || strncmp(p, "iam::", 5) != 0)
		return false;
	p = after_account(p + 5);
	if (p == NULL || strncmp(p, "role/", 5) != 0 || p[5] == '\0' ||
		v[strlen(v) - 1] == '/')
		return false;
	return chars_in(p + 5, "+=,.@_-/");
}

/*
 * profile_arn_ok
 *		arn:<partition>:bedrock:<region>:<12 digits>:
 *		application-inference-profile/<id> (or inference-profile/<id>).
 */
static bool
profile_arn_ok(const char *v)
{
	const char *p = after_partition(v);
	const char *colon;

	if (p == NULL || strncmp(p, "bedrock:", 8) != 0)
		return false;
	p += 8;
	colon = strchr(p, ':');
	if (colon == NULL || colon == p)
		return false;
	for (const char *r = p; r < colon; r++)
		if (!islower((unsigned char) *r) && !isdigit((unsigned char) *r) && *r != '-')
			return false;
	p = after_account(colon + 1);
	if (p == NULL)
		return false;
	if (strncmp(p, "application-inference-profile/", 30) == 0)
		p += 30;
	else if (strncmp(p, "inference-profile/", 18) == 0)
		p += 18;
	else
		return false;
	return *p != '\0' && chars_in(p, ".:_-");
}

/*
 * check_with_guc_hook
 *		Apply a setting's check hook (check_region, check_endpoint) to an
 *		option value, so that a server option obeys the rules of the
 *		setting it stands in for.
 */
static void
check_with_guc_hook(const BedrockOption *opt, const char *value,
					bool (*hook) (char **, void **, GucSource))
{
	size_t		len = strlen(value);
	char	   *copy = BedrockGucMalloc(len + 1);
	void	   *extra = NULL;
	bool		ok;

	if (copy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	memcpy(copy, value, len + 1);
	GUC_check_errdetail_string = NULL;
	ok = hook(&copy, &extra, PGC_S_TEST);
	BedrockGucFree(copy);
	if (!ok)
	{
		/* the endpoint hook refuses user information without quoting it */
		if (strchr(value, '@') != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value for option \"%s\"", opt->name),
					 errdetail("%s", GUC_check_errdetail_string ? GUC_check_errdetail_string : "")));
		refuse_value(opt, value, GUC_check_errdetail_string ? GUC_check_errdetail_string
					 : "The value is malformed.");
	}
}

/*
 * check_value
 *		Refuse a malformed value of opt.
 */
static void
check_value(const BedrockOption *opt, const char *v)
{
	size_t		len = strlen(v);

	switch (opt->kind)
	{
		case OPT_REGION:
			check_with_guc_hook(opt, v, check_region);
			break;
		case OPT_ENDPOINT:
			if (len == 0)
				refuse_value(opt, v, "An endpoint must not be empty; leave the option out to use the setting's endpoint.");
			if (len > IDENTITY_URL_MAXLEN)
				refuse_value(opt, v, "The endpoint is longer than 1024 bytes.");
			check_with_guc_hook(opt, v, check_endpoint);
			break;
		case OPT_CREDENTIAL_SOURCE:
			if (!one_of(v, credential_sources))
				refuse_value(opt, v, "Valid values are \"auto\", \"static\", \"environment\", \"web_identity\", \"container\" and \"instance\".");
			break;
		case OPT_ROLE_ARN:
			if (len > IDENTITY_ARN_MAXLEN || !role_arn_ok(v))
				refuse_value(opt, v, "A role ARN looks like \"arn:aws:iam::111122223333:role/name\".");
			break;
		case OPT_EXTERNAL_ID:
			if (len < 2 || len > IDENTITY_EXTERNAL_ID_MAXLEN || !chars_in(v, "_+=,.@:/-"))
				refuse_value(opt, v, "An external id has 2 to 1224 characters among letters, digits and _+=,.@:/-.");
			break;
		case OPT_SESSION_NAME:
			if (len < 2 || len > IDENTITY_SESSION_NAME_MAXLEN || !chars_in(v, "_+=,.@-"))
				refuse_value(opt, v, "A role session name has 2 to 64 characters among letters, digits and _+=,.@-.");
			break;
		case OPT_DURATION:
			{
				char	   *end;
				long		n;

				errno = 0;
				n = strtol(v, &end, 10);
				if (len == 0 || *end != '\0' || errno != 0 || n < 900 || n > 43200)
					refuse_value(opt, v, "The duration is a whole number of seconds from 900 to 43200.");
				break;
			}
		case OPT_GUARDRAIL_ID:
			if (len == 0 || len > 2048 || has_control_char(v))
				refuse_value(opt, v, "A guardrail identifier is a guardrail id or ARN of 1 to 2048 characters.");
			break;
		case OPT_GUARDRAIL_VERSION:
			if (strcmp(v, "DRAFT") != 0 &&
				(len == 0 || len > 8 || strspn(v, "0123456789") != len))
				refuse_value(opt, v, "A guardrail version is \"DRAFT\" or a version number such as \"1\".");
			break;
		case OPT_SERVICE_TIER:
			if (!one_of(v, service_tiers))
				refuse_value(opt, v, "Valid values are \"default\", \"priority\" and \"flex\".");
			break;
		case OPT_ACCESS_KEY_ID:
			if (len < 16 || len > AWS_ACCESS_KEY_ID_MAXLEN || !chars_in(v, ""))
				refuse_value(opt, v, "An access key id has 16 to 128 letters and digits.");
			break;
		case OPT_SECRET:
			if (len == 0 || has_control_char(v) ||
				len > (strcmp(opt->name, "session_token") == 0
					   ? AWS_SESSION_TOKEN_MAXLEN : AWS_SECRET_ACCESS_KEY_MAXLEN))
				refuse_value(opt, v, strcmp(opt->name, "session_token") == 0
							 ? "A session token has 1 to 4096 characters and no control character."
							 : "A secret access key has 1 to 128 characters and no control character.");
			break;
		case OPT_PROFILE_ARN:
			if (len > IDENTITY_ARN_MAXLEN || !profile_arn_ok(v))
				refuse_value(opt, v, "An inference profile ARN looks like \"arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6\".");
			break;
		case OPT_RESOURCE:
			if (!one_of(v, resources))
				refuse_value(opt, v, "Valid values are \"foundation_models\", \"inference_profiles\", \"guardrails\" and \"model_invocation_jobs\".");
			break;
	}
}

/* Whether list holds option name. */
static bool
has_option(List *list, const char *name)
{
	ListCell   *lc;

	foreach(lc, list)
		if (strcmp(((DefElem *) lfirst(lc))->defname, name) == 0)
			return true;
	return false;
}

/*
 * check_combination
 *		Options that only make sense together, or not at all together.
 */
static void
check_combination(List *list, Oid context)
{
	if (context == UserMappingRelationId)
	{
		bool		key = has_option(list, "access_key_id");
		bool		secret = has_option(list, "secret_access_key");

		if (key != secret)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("option \"%s\" needs option \"%s\"",
							key ? "access_key_id" : "secret_access_key",
							key ? "secret_access_key" : "access_key_id"),
					 errdetail("An access key id and its secret access key are used together.")));
		if (has_option(list, "session_token") && !key)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("option \"session_token\" needs options \"access_key_id\" and \"secret_access_key\"")));
		if (key && has_option(list, "role_arn"))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INCONSISTENT_DESCRIPTOR_INFORMATION),
					 errmsg("options \"access_key_id\" and \"role_arn\" cannot be used together"),
					 errdetail("A user mapping either names static credentials or a role to assume on top of the server's identity.")));
	}
	if ((has_option(list, "external_id") || has_option(list, "role_session_name")) &&
		!has_option(list, "role_arn"))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"%s\" needs option \"role_arn\"",
						has_option(list, "external_id") ? "external_id" : "role_session_name")));
	if (has_option(list, "role_duration_seconds") && !has_option(list, "role_arn"))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"role_duration_seconds\" needs option \"role_arn\"")));
	if (has_option(list, "guardrail_version") && !has_option(list, "guardrail_identifier"))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"guardrail_version\" needs option \"guardrail_identifier\"")));
}

/*
 * bedrock_fdw_validator
 *		SQL: bedrock_fdw_validator(text[], oid).  Checks the complete option
 *		list of a foreign data wrapper, server, user mapping or foreign
 *		table of bedrock_fdw (catalog oid as the second argument).
 */
Datum
bedrock_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *list = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			context = PG_GETARG_OID(1);
	ListCell   *lc;

	foreach(lc, list)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const BedrockOption *opt = NULL;

		for (int i = 0; i < lengthof(options); i++)
		{
			if (options[i].context == context && strcmp(options[i].name, def->defname) == 0)
			{
				opt = &options[i];
				break;
			}
		}
		if (opt == NULL)
			refuse_unknown_option(def->defname, context);
		check_value(opt, defGetString(def));
	}
	check_combination(list, context);
	PG_RETURN_VOID();
}
