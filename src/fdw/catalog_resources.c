/*-------------------------------------------------------------------------
 *
 * catalog_resources.c
 *	  The table of Bedrock catalog resources that bedrock_fdw's foreign
 *	  tables show: each resource's list operation (ListFoundationModels,
 *	  ListInferenceProfiles, ListGuardrails, ListModelInvocationJobs), its
 *	  columns with the member of a list entry each one comes from, and the
 *	  query parameters that filter it, with the values the service accepts
 *	  for them.
 *
 * The shapes follow the Bedrock control plane's service model (2023-04-20).
 * A value the service does not accept for a filter (an unknown enum value,
 * a name outside its pattern) is never sent: the scan then filters that
 * clause locally, so that a WHERE clause never turns into a
 * ValidationException.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_resources.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "foreign/foreign.h"
#include "commands/defrem.h"
#include "utils/lsyscache.h"

#include "catalog_resources.h"
#include "bedrock_fdw.h"

static bool provider_ok(const char *value);
static bool job_name_ok(const char *value);
static bool guardrail_identifier_ok(const char *value);

static const char *const output_modalities[] = {"TEXT", "IMAGE", "EMBEDDING", NULL};
static const char *const inference_types[] = {"ON_DEMAND", "PROVISIONED", NULL};
static const char *const customization_types[] = {"FINE_TUNING", "CONTINUED_PRE_TRAINING",
"DISTILLATION", NULL};
static const char *const profile_types[] = {"SYSTEM_DEFINED", "APPLICATION", NULL};
static const char *const job_statuses[] = {"Submitted", "InProgress", "Completed", "Failed",
	"Stopping", "Stopped", "PartiallyCompleted", "Expired", "Validating", "Scheduled", NULL};

/* designated initialisers keep each row readable */
#define COL(n, t, ...) {.name = (n), .sql_type = (t), .path = {__VA_ARGS__}, .kind = CATALOG_SCALAR}

static const CatalogColumn foundation_model_columns[] = {
	COL("model_id", "text", "modelId"),
	COL("model_arn", "text", "modelArn"),
	COL("model_name", "text", "modelName"),
	{.name = "provider_name", .sql_type = "text", .path = {"providerName"},
		.kind = CATALOG_SCALAR, .filter_param = "byProvider",
	.filter_match = CATALOG_FILTER_EQUALS, .filter_check = provider_ok},
	{.name = "input_modalities", .sql_type = "text[]", .path = {"inputModalities"},
	.kind = CATALOG_STRING_ARRAY},
	{.name = "output_modalities", .sql_type = "text[]", .path = {"outputModalities"},
		.kind = CATALOG_STRING_ARRAY, .filter_param = "byOutputModality",
	.filter_match = CATALOG_FILTER_CONTAINS, .filter_values = output_modalities},
	COL("response_streaming_supported", "boolean", "responseStreamingSupported"),
	{.name = "customizations_supported", .sql_type = "text[]",
		.path = {"customizationsSupported"}, .kind = CATALOG_STRING_ARRAY,
		.filter_param = "byCustomizationType", .filter_match = CATALOG_FILTER_CONTAINS,
	.filter_values = customization_types},
	{.name = "inference_types_supported", .sql_type = "text[]",
		.path = {"inferenceTypesSupported"}, .kind = CATALOG_STRING_ARRAY,
		.filter_param = "byInferenceType", .filter_match = CATALOG_FILTER_CONTAINS,
	.filter_values = inference_types},
	COL("lifecycle_status", "text", "modelLifecycle", "status"),
	COL("start_of_life_time", "timestamptz", "modelLifecycle", "startOfLifeTime"),
	COL("legacy_time", "timestamptz", "modelLifecycle", "legacyTime"),
	COL("public_extended_access_time", "timestamptz", "modelLifecycle",
		"publicExtendedAccessTime"),
	COL("end_of_life_time", "timestamptz", "modelLifecycle", "endOfLifeTime"),
};

static const CatalogColumn inference_profile_columns[] = {
	COL("id", "text", "inferenceProfileId"),
	COL("arn", "text", "inferenceProfileArn"),
	COL("name", "text", "inferenceProfileName"),
	COL("description", "text", "description"),
	{.name = "type", .sql_type = "text", .path = {"type"}, .kind = CATALOG_SCALAR,
		.filter_param = "type", .filter_match = CATALOG_FILTER_EQUALS,
	.filter_values = profile_types},
	COL("status", "text", "status"),
	{.name = "models", .sql_type = "text[]", .path = {"models"},
	.kind = CATALOG_MEMBER_ARRAY, .element_member = "modelArn"},
	COL("created_at", "timestamptz", "createdAt"),
	COL("updated_at", "timestamptz", "updatedAt"),
};

static const CatalogColumn guardrail_columns[] = {
	{.name = "id", .sql_type = "text", .path = {"id"}, .kind = CATALOG_SCALAR,
		.filter_param = "guardrailIdentifier", .filter_match = CATALOG_FILTER_EQUALS,
	.filter_check = guardrail_identifier_ok},
	{.name = "arn", .sql_type = "text", .path = {"arn"}, .kind = CATALOG_SCALAR,
		.filter_param = "guardrailIdentifier", .filter_match = CATALOG_FILTER_EQUALS,
	.filter_check = guardrail_identifier_ok},
	COL("name", "text", "name"),
	COL("description", "text", "description"),
	COL("status", "text", "status"),
	COL("version", "text", "version"),
	COL("created_at", "timestamptz", "createdAt"),
	COL("updated_at", "timestamptz", "updatedAt"),
};

static const CatalogColumn job_columns[] = {
	COL("job_arn", "text", "jobArn"),
	{.name = "job_name", .sql_type = "text", .path = {"jobName"}, .kind = CATALOG_SCALAR,
		.filter_param = "nameContains", .filter_match = CATALOG_FILTER_SUBSTRING,
	.filter_check = job_name_ok},
	COL("model_id", "text", "modelId"),
	{.name = "status", .sql_type = "text", .path = {"status"}, .kind = CATALOG_SCALAR,
		.filter_param = "statusEquals", .filter_match = CATALOG_FILTER_EQUALS,
	.filter_values = job_statuses},
	COL("message", "text", "message"),
	COL("submit_time", "timestamptz", "submitTime"),
	COL("last_modified_time", "timestamptz", "lastModifiedTime"),
	COL("end_time", "timestamptz", "endTime"),
	COL("input_s3_uri", "text", "inputDataConfig", "s3InputDataConfig", "s3Uri"),
	COL("output_s3_uri", "text", "outputDataConfig", "s3OutputDataConfig", "s3Uri"),
	COL("role_arn", "text", "roleArn"),
	COL("client_request_token", "text", "clientRequestToken"),
	COL("model_invocation_type", "text", "modelInvocationType"),
	COL("timeout_duration_hours", "integer", "timeoutDurationInHours"),
	COL("job_expiration_time", "timestamptz", "jobExpirationTime"),
	COL("total_record_count", "bigint", "totalRecordCount"),
	COL("processed_record_count", "bigint", "processedRecordCount"),
	COL("success_record_count", "bigint", "successRecordCount"),
	COL("error_record_count", "bigint", "errorRecordCount"),
};

#define RESOURCE(n, op, p, member, pages, cols) \
	{(n), (op), (p), (member), (pages), (cols), lengthof(cols)}

const CatalogResource catalog_resources[] = {
	RESOURCE("foundation_models", "ListFoundationModels", "/foundation-models",
			 "modelSummaries", false, foundation_model_columns),
	RESOURCE("inference_profiles", "ListInferenceProfiles", "/inference-profiles",
			 "inferenceProfileSummaries", true, inference_profile_columns),
	RESOURCE("guardrails", "ListGuardrails", "/guardrails",
			 "guardrails", true, guardrail_columns),
	RESOURCE("model_invocation_jobs", "ListModelInvocationJobs", "/model-invocation-jobs",
			 "invocationJobSummaries", true, job_columns),
};

const int	catalog_nresources = lengthof(catalog_resources);

/*
 * catalog_resource_lookup
 *		The resource of that name, or NULL.
 */
const CatalogResource *
catalog_resource_lookup(const char *name)
{
	int			i;

	for (i = 0; i < catalog_nresources; i++)
	{
		if (strcmp(catalog_resources[i].name, name) == 0)
			return &catalog_resources[i];
	}
	return NULL;
}

/*
 * catalog_resource_for_table
 *		The resource a foreign table's "resource" option names; raises when
 *		the option is missing or names no resource (the wrapper's validator
 *		refuses both already, but a table may predate it).
 */
const CatalogResource *
catalog_resource_for_table(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	const CatalogResource *res = NULL;
	char	   *value = NULL;
	ListCell   *lc;

	foreach(lc, table->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "resource") == 0)
			value = defGetString(def);
	}
	if (value != NULL)
		res = catalog_resource_lookup(value);
	if (res == NULL)
		ereport(ERROR,
				(errcode(value == NULL ? ERRCODE_FDW_OPTION_NAME_NOT_FOUND
						 : ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 value == NULL
				 ? errmsg("foreign table \"%s\" has no resource option",
						  get_rel_name(relid))
				 : errmsg("foreign table \"%s\" names an unknown resource \"%s\"",
						  get_rel_name(relid), value),
				 errhint("Valid resources are foundation_models, inference_profiles, guardrails and model_invocation_jobs.")));
	return res;
}

/*
 * catalog_column_lookup
 *		Index of the column of that name in res->columns, or -1.
 */
int
catalog_column_lookup(const CatalogResource *res, const char *name)
{
	int			i;

	for (i = 0; i < res->ncolumns; i++)
	{
		if (strcmp(res->columns[i].name, name) == 0)
			return i;
	}
	return -1;
}

/* byProvider: [A-Za-z0-9- ]{1,63} */
static bool
provider_ok(const char *value)
{
	size_t		len = strlen(value);

	return len >= 1 && len <= 63 &&
		strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789- ") == len;
}

/*
 * nameContains: the job name pattern, [a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63},
 * which comes to a letter or digit followed by letters, digits, '+', '-'
 * and '.'; kept to a job name's 63 characters.
 */
static bool
job_name_ok(const char *value)
{
	size_t		len = strlen(value);

	return len >= 1 && len <= 63 &&
		strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") >= 1 &&
		strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.") == len;
}

/*
 * guardrailIdentifier: an id ([a-z0-9]+) or a guardrail ARN; the ARN's
 * prefix is left to the service, whose answer for a well-formed ARN of an
 * unknown guardrail is an empty list.
 */
static bool
guardrail_identifier_ok(const char *value)
{
	const char *id = value;
	size_t		len = strlen(value);

	if (len > 2048)
		return false;
	if (strncmp(value, "arn:", 4) == 0)
	{
		const char *slash = strstr(value, ":guardrail/");

		if (slash == NULL)
			return false;
		id = slash + strlen(":guardrail/");
	}
	return id[0] != '\0' &&
		strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(id);
}

/*
 * catalog_filter_value_ok
 *		Whether col's list operation accepts value for its filter parameter.
 */
bool
catalog_filter_value_ok(const CatalogColumn *col, const char *value)
{
	if (col->filter_values != NULL)
	{
		const char *const *v;

		for (v = col->filter_values; *v != NULL; v++)
		{
			if (strcmp(*v, value) == 0)
				return true;
		}
		return false;
	}
	if (col->filter_check != NULL)
		return col->filter_check(value);
	return false;
}

/*
 * catalog_column_value
 *		The value of col in one list entry: a scalar, or an array (binary)
 *		for the array kinds; NULL when a member on the way is absent or JSON
 *		null, or the entry is not an object.
 */
JsonbValue *
catalog_column_value(const CatalogColumn *col, JsonbContainer *entry,
					 JsonbValue *result)
{
	JsonbContainer *container = entry;
	int			i;

	for (i = 0; i < CATALOG_PATH_DEPTH && col->path[i] != NULL; i++)
	{
		bool		last = (i + 1 == CATALOG_PATH_DEPTH || col->path[i + 1] == NULL);

		if (json_get_key(container, col->path[i], result) == NULL ||
			result->type == jbvNull)
			return NULL;
		if (last)
			return result;
		if (result->type != jbvBinary)
			return NULL;
		container = result->val.binary.data;
	}
	return NULL;
}
