/*-------------------------------------------------------------------------
 *
 * converse_features.c
 *	  The members of a Converse request besides the conversation itself:
 *	  requestMetadata (who made the call, so that Bedrock's invocation
 *	  logs tie back to bedrock.usage_log), guardrailConfig (the mandatory
 *	  guardrail of the settings bedrock.guardrail_identifier and
 *	  bedrock.guardrail_version, or the call's own), serviceTier and
 *	  performanceConfig, cache points and document and image blocks; and
 *	  what a response says about the guardrail.
 *
 * A mandatory guardrail is put into every Converse request, the caller's
 * own requests of bedrock_converse included: a request naming another
 * guardrail is refused before anything is sent.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/converse_features.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "commands/dbcommands.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "bedrock_fdw.h"
#include "converse_features.h"
#include "runtime.h"

char	   *bedrock_guardrail_identifier = NULL;
char	   *bedrock_guardrail_version = NULL;
char	   *bedrock_service_tier = NULL;
char	   *bedrock_latency = NULL;

/*
 * guardrail_identifier_valid
 *		Bedrock's pattern of a guardrail identifier: an id of lower-case
 *		letters and digits, or a guardrail ARN; at most 2048 characters.
 */
bool
guardrail_identifier_valid(const char *s)
{
	size_t		len = strlen(s);
	const char *id = s;

	if (len == 0 || len > 2048)
		return false;
	if (strncmp(s, "arn:aws", 7) == 0)
	{
		const char *g = strstr(s, ":guardrail/");

		if (g == NULL || strstr(s, ":bedrock:") == NULL)
			return false;
		for (const char *p = s; p < g; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				  (*p >= '0' && *p <= '9') || *p == ':' || *p == '-'))
				return false;
		id = g + strlen(":guardrail/");
		if (*id == '\0')
			return false;
	}
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/*
 * guardrail_version_valid
 *		"DRAFT" or a version number from 1 to 99999999.
 */
bool
guardrail_version_valid(const char *s)
{
	size_t		len = strlen(s);

	if (strcmp(s, "DRAFT") == 0)
		return true;
	return len >= 1 && len <= 8 && s[0] >= '1' && s[0] <= '9' &&
		strspn(s, "0123456789") == len;
}

/* A character Bedrock allows in requestMetadata: [a-zA-Z0-9\s:_@$#=/+,-.] */
static bool
metadata_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || (c != '\0' && strchr(" \t:_@$#=/+,-.", c) != NULL);
}

/*
 * request_metadata_text_valid
 *		Whether len bytes are all characters Bedrock allows in a
 *		requestMetadata key or value.
 */
bool
request_metadata_text_valid(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (!metadata_char_ok(s[i]))
			return false;
	return true;
}

/* The keys bedrock_fdw sets itself, which callers cannot set. */
static const char *const builtin_keys[] = {"database", "role", "application_name"};

bool
request_metadata_builtin_key(const char *key, int len)
{
	for (int i = 0; i < lengthof(builtin_keys); i++)
		if (strlen(builtin_keys[i]) == (size_t) len &&
			strncmp(key, builtin_keys[i], len) == 0)
			return true;
	return false;
}

static bool
check_guardrail_identifier(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || guardrail_identifier_valid(*newval))
		return true;
	GUC_check_errdetail("A guardrail identifier is an id of lower-case letters and digits, or a guardrail ARN, of at most 2048 characters.");
	return false;
}

static bool
check_guardrail_version(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || guardrail_version_valid(*newval))
		return true;
	GUC_check_errdetail("A guardrail version is a number from 1 to 99999999, or DRAFT.");
	return false;
}

static bool
check_service_tier(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v == NULL || v[0] == '\0' || strcmp(v, "default") == 0 ||
		strcmp(v, "flex") == 0 || strcmp(v, "priority") == 0)
		return true;
	GUC_check_errdetail("Valid values are default, flex, priority, or empty (not sent).");
	return false;
}

static bool
check_latency(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v == NULL || v[0] == '\0' || strcmp(v, "standard") == 0 ||
		strcmp(v, "optimized") == 0)
		return true;
	GUC_check_errdetail("Valid values are standard, optimized, or empty (not sent).");
	return false;
}

/*
 * converse_features_define_gucs
 *		bedrock.guardrail_identifier and bedrock.guardrail_version (the
 *		superuser's: every Converse call goes through that guardrail),
 *		bedrock.service_tier and bedrock.latency (everyone's defaults of
 *		the options of the same names); from bedrock_define_gucs.
 */
void
converse_features_define_gucs(void)
{
	DefineCustomStringVariable("bedrock.guardrail_identifier",
							   "Guardrail that every Converse call goes through (id or ARN).",
							   "Empty means none; callers may then name a guardrail per call. Needs bedrock.guardrail_version.",
							   &bedrock_guardrail_identifier,
							   "",
							   PGC_SUSET,
							   0,
							   check_guardrail_identifier, NULL, NULL);
	DefineCustomStringVariable("bedrock.guardrail_version",
							   "Version of the guardrail of bedrock.guardrail_identifier (a number or DRAFT).",
							   NULL,
							   &bedrock_guardrail_version,
							   "",
							   PGC_SUSET,
							   0,
							   check_guardrail_version, NULL, NULL);
	DefineCustomStringVariable("bedrock.service_tier",
							   "Service tier asked of Bedrock for Converse calls: default, flex or priority.",
							   "Empty means none is sent (Bedrock's default tier). Overridden per call by the service_tier option.",
							   &bedrock_service_tier,
							   "",
							   PGC_USERSET,
							   0,
							   check_service_tier, NULL, NULL);
	DefineCustomStringVariable("bedrock.latency",
							   "Latency profile asked of Bedrock for Converse calls: standard or optimized.",
							   "Empty means none is sent. Overridden per call by the latency option.",
							   &bedrock_latency,
							   "",
							   PGC_USERSET,
							   0,
							   check_latency, NULL, NULL);
}

/*
 * converse_mandatory_guardrail
 *		The guardrail of the settings, or NULLs when there is none.  Raises
 *		when bedrock.guardrail_identifier is set without a version: calls
 *		must not go out unguarded, nor with a version nobody chose.
 */
void
converse_mandatory_guardrail(const char **identifier, const char **version)
{
	*identifier = NULL;
	*version = NULL;
	if (bedrock_guardrail_identifier == NULL || bedrock_guardrail_identifier[0] == '\0')
		return;
	if (bedrock_guardrail_version == NULL || bedrock_guardrail_version[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bedrock.guardrail_identifier is set but bedrock.guardrail_version is not"),
				 errdetail("Bedrock needs the version of the guardrail every call goes through."),
				 errhint("A superuser sets bedrock.guardrail_version to a version number or DRAFT.")));
	*identifier = bedrock_guardrail_identifier;
	*version = bedrock_guardrail_version;
}

/*
 * append_metadata_pair
 *		A member of requestMetadata whose value bedrock_fdw does not choose
 *		(a database, role or application name): characters Bedrock refuses
 *		become '_', and it is cut to Bedrock's 256 characters.
 */
static void
append_metadata_pair(StringInfo buf, bool *first, const char *key, const char *value)
{
	StringInfoData clean;
	int			n = 0;

	initStringInfo(&clean);
	for (const char *p = value; *p && n < REQUEST_METADATA_MAX_VALUE; p++, n++)
		appendStringInfoChar(&clean, metadata_char_ok(*p) ? *p : '_');
	if (!*first)
		appendStringInfoChar(buf, ',');
	*first = false;
	json_append_string(buf, key);
	appendStringInfoChar(buf, ':');
	json_append_string(buf, clean.data);
}

/*
 * converse_append_request_metadata
 *		",\"requestMetadata\": {...}": the database, the current role and
 *		application_name (when set), then the members of extra, an object
 *		of strings whose keys and values request_metadata_check accepted.
 */
void
converse_append_request_metadata(StringInfo buf, JsonbContainer *extra)
{
	bool		first = true;
	char	   *dbname = get_database_name(MyDatabaseId);
	char	   *role = GetUserNameFromId(GetUserId(), true);

	appendStringInfoString(buf, ",\"requestMetadata\":{");
	append_metadata_pair(buf, &first, "database", dbname ? dbname : "");
	append_metadata_pair(buf, &first, "role", role ? role : "");
	if (application_name != NULL && application_name[0] != '\0')
		append_metadata_pair(buf, &first, "application_name", application_name);
	if (extra != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(extra);
		JsonbValue	v;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
			{
				appendStringInfoChar(buf, ',');
				json_append_string(buf, pnstrdup(v.val.string.val, v.val.string.len));
				appendStringInfoChar(buf, ':');
			}
			else if (tok == WJB_VALUE)
				json_append_string(buf, pnstrdup(v.val.string.val, v.val.string.len));
		}
	}
	appendStringInfoChar(buf, '}');
}

/*
 * converse_append_features
 *		The members of the request that come from the options (each
 *		preceded by a comma): requestMetadata always, guardrailConfig,
 *		serviceTier and performanceConfig when set.
 */
void
converse_append_features(StringInfo buf, const ChatOptions *opts)
{
	converse_append_request_metadata(buf, opts->request_metadata);
	if (opts->guardrail_identifier != NULL)
	{
		appendStringInfoString(buf, ",\"guardrailConfig\":{\"guardrailIdentifier\":");
		json_append_string(buf, opts->guardrail_identifier);
		appendStringInfoString(buf, ",\"guardrailVersion\":");
		json_append_string(buf, opts->guardrail_version);
		if (opts->guardrail_trace != NULL)
		{
			appendStringInfoString(buf, ",\"trace\":");
			json_append_string(buf, opts->guardrail_trace);
		}
		appendStringInfoChar(buf, '}');
	}
	if (opts->service_tier != NULL)
		appendStringInfo(buf, ",\"serviceTier\":{\"type\":\"%s\"}", opts->service_tier);
	if (opts->latency != NULL)
		appendStringInfo(buf, ",\"performanceConfig\":{\"latency\":\"%s\"}", opts->latency);
}

/*
 * converse_append_cache_point
 *		A cachePoint content block (no comma before it): everything before
 *		it in its list (system prompt, tools) is cached.  ttl NULL or "":
 *		Bedrock's default; else "5m" or "1h".  For the system prompt here,
 *		and for tools or a schema elsewhere.
 */
void
converse_append_cache_point(StringInfo buf, const char *ttl)
{
	appendStringInfoString(buf, "{\"cachePoint\":{\"type\":\"default\"");
	if (ttl != NULL && ttl[0] != '\0')
		appendStringInfo(buf, ",\"ttl\":\"%s\"", ttl);
	appendStringInfoString(buf, "}}");
}

/*
 * converse_append_content_blocks
 *		The document and image blocks of the options, each followed by a
 *		comma: they go before the prompt's text block in the user message.
 */
void
converse_append_content_blocks(StringInfo buf, const ChatOptions *opts)
{
	ListCell   *lc;

	foreach(lc, opts->content_blocks)
	{
		appendStringInfoString(buf, (const char *) lfirst(lc));
		appendStringInfoChar(buf, ',');
	}
}

/* A JSON value of any kind, as JSON text. */
static void
append_value(StringInfo buf, JsonbValue *v)
{
	if (v->type == jbvBinary)
		json_append_jsonb(buf, v->val.binary.data);
	else
	{
		Jsonb	   *j = JsonbValueToJsonb(v);

		json_append_jsonb(buf, &j->root);
	}
}

/*
 * request_metadata_check
 *		Request metadata of a caller (what names it in messages): an object
 *		of strings of Bedrock's characters and lengths, without our keys,
 *		leaving room for ours.  Raises 22023.
 */
void
request_metadata_check(const JsonbValue *v, const char *what)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			n = 0;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be an object of strings", what)));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			n++;
			if (request_metadata_builtin_key(e.val.string.val, e.val.string.len))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s cannot set key \"%.*s\"", what,
								e.val.string.len, e.val.string.val),
						 errdetail("bedrock_fdw sets the keys database, role and application_name itself.")));
			if (e.val.string.len < 1 || e.val.string.len > REQUEST_METADATA_MAX_KEY ||
				!request_metadata_text_valid(e.val.string.val, e.val.string.len))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid key in %s", what),
						 errdetail("Keys have 1 to 256 characters among letters, digits, white space and :_@$#=/+,-.")));
		}
		else if (tok == WJB_VALUE)
		{
			if (e.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s must be an object of strings", what)));
			if (e.val.string.len > REQUEST_METADATA_MAX_VALUE ||
				!request_metadata_text_valid(e.val.string.val, e.val.string.len))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value in %s", what),
						 errdetail("Values have at most 256 characters among letters, digits, white space and :_@$#=/+,-.")));
		}
	}
	if (n > REQUEST_METADATA_MAX_ENTRIES - lengthof(builtin_keys))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has too many keys", what),
				 errdetail("It has %d; at most %d are left beside database, role and application_name (Bedrock takes 16).",
						   n, REQUEST_METADATA_MAX_ENTRIES - (int) lengthof(builtin_keys))));
}

/*
 * check_raw_guardrail
 *		The guardrailConfig of a caller's request, when a guardrail is
 *		mandatory: it must name that guardrail and version.
 */
static void
check_raw_guardrail(JsonbValue *v, const char *what, const char *id,
					const char *version)
{
	char	   *their_id = NULL;
	char	   *their_version = NULL;

	if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
	{
		their_id = json_get_string(v->val.binary.data, "guardrailIdentifier");
		their_version = json_get_string(v->val.binary.data, "guardrailVersion");
	}
	if (their_id == NULL || their_version == NULL ||
		strcmp(their_id, id) != 0 || strcmp(their_version, version) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("guardrailConfig of %s cannot replace the mandatory guardrail", what),
				 errdetail("The settings bedrock.guardrail_identifier and bedrock.guardrail_version make every call go through guardrail \"%s\" version \"%s\".",
						   id, version),
				 errhint("Leave guardrailConfig out: bedrock_fdw adds the mandatory guardrail itself.")));
}

/*
 * converse_raw_with_policy
 *		A caller's Converse request (an object) as JSON text in the server
 *		encoding, with our requestMetadata keys merged into it and the
 *		mandatory guardrail, if any, put in.  Raises before anything is
 *		sent when the request's requestMetadata is not Bedrock's shape or
 *		sets our keys, or its guardrailConfig names another guardrail.
 *		position > 0 names the request of a batch.
 */
char *
converse_raw_with_policy(Jsonb *request, const char *funcname, int position)
{
	StringInfoData buf;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbContainer *metadata = NULL;
	bool		has_guardrail = false;
	bool		first = true;
	const char *gid;
	const char *gversion;
	char	   *what = position > 0 ? psprintf("request %d of %s", position, funcname)
		: psprintf("the request of %s", funcname);
	char	   *md_what = psprintf("requestMetadata of %s", what);

	converse_mandatory_guardrail(&gid, &gversion);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	it = JsonbIteratorInit(&request->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		JsonbValue	val;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &val, true);
		if (strcmp(key, "requestMetadata") == 0)
		{
			/* ours are merged in below; null is no metadata of the caller */
			if (val.type != jbvNull)
			{
				request_metadata_check(&val, md_what);
				metadata = val.val.binary.data;
			}
			continue;
		}
		if (strcmp(key, "guardrailConfig") == 0 && gid != NULL)
		{
			check_raw_guardrail(&val, what, gid, gversion);
			has_guardrail = true;
		}
		if (!first)
			appendStringInfoChar(&buf, ',');
		first = false;
		json_append_string(&buf, key);
		appendStringInfoChar(&buf, ':');
		append_value(&buf, &val);
	}
	{
		StringInfoData md;

		/* ",\"requestMetadata\":{…}", without its comma in an empty request */
		initStringInfo(&md);
		converse_append_request_metadata(&md, metadata);
		appendStringInfoString(&buf, first ? md.data + 1 : md.data);
	}
	if (gid != NULL && !has_guardrail)
	{
		appendStringInfoString(&buf, ",\"guardrailConfig\":{\"guardrailIdentifier\":");
		json_append_string(&buf, gid);
		appendStringInfoString(&buf, ",\"guardrailVersion\":");
		json_append_string(&buf, gversion);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * converse_append_guardrail_result
 *		When the guardrail intervened, ", \"guardrail_action\":
 *		\"INTERVENED\"", and the guardrail's trace (trace.guardrail) when the
 *		response has one, as ", \"guardrail_trace\": {...}".
 */
void
converse_append_guardrail_result(StringInfo out, Jsonb *response)
{
	char	   *stop_reason = json_get_string(&response->root, "stopReason");
	JsonbContainer *trace = json_get_object(json_get_object(&response->root, "trace"),
											"guardrail");

	if (stop_reason != NULL && strcmp(stop_reason, "guardrail_intervened") == 0)
		appendStringInfoString(out, ", \"guardrail_action\": \"INTERVENED\"");
	if (trace != NULL)
	{
		appendStringInfoString(out, ", \"guardrail_trace\": ");
		json_append_jsonb(out, trace);
	}
}

/*
 * converse_guardrail_action
 *		What the usage log records of the guardrail: INTERVENED when it
 *		stopped the call, NONE when the call was guarded and it let it
 *		through, NULL when no guardrail was asked for.
 */
const char *
converse_guardrail_action(Jsonb *response, bool guarded)
{
	char	   *stop_reason = json_get_string(&response->root, "stopReason");

	if (stop_reason != NULL && strcmp(stop_reason, "guardrail_intervened") == 0)
		return "INTERVENED";
	return guarded ? "NONE" : NULL;
}

/*
 * invoke_guardrail_headers
 *		Put a guardrail on an InvokeModel call (bedrock_invoke), where it
 *		travels as the headers X-Amzn-Bedrock-GuardrailIdentifier and
 *		-GuardrailVersion: the mandatory guardrail reaches native bodies too.
 */
void
invoke_guardrail_headers(struct BedrockCall *call, const char *identifier,
						 const char *version)
{
	call->extra_headers = lappend(call->extra_headers,
								  psprintf("X-Amzn-Bedrock-GuardrailIdentifier: %s", identifier));
	call->extra_headers = lappend(call->extra_headers,
								  psprintf("X-Amzn-Bedrock-GuardrailVersion: %s", version));
}
