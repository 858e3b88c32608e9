/*-------------------------------------------------------------------------
 *
 * chat_options.c
 *	  Parse and check the options jsonb of bedrock_chat and its kin
 *	  (bedrock_chat_batch, bedrock_converse, bedrock_converse_batch).
 *
 * Every key is known and every value has the right type and range before
 * anything is sent: a typo ("max_token") or a string where a number
 * belongs is an error naming the option, never silently ignored.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/chat_options.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "chat_options.h"
#include "converse_features.h"

#define VALID_OPTIONS "max_tokens, temperature, top_p, stop_sequences, timeout_ms, max_attempts, on_error, raw, additional_model_request_fields, server, " \
	"request_metadata, guardrail_identifier, guardrail_version, guardrail_trace, documents, images, cache, service_tier, latency"
#define VALID_RAW_REQUEST_OPTIONS "timeout_ms, max_attempts, on_error, server"
/* extractions (bedrock_extract and kin) */
#define VALID_EXTRACT_OPTIONS "method, max_tokens, temperature, top_p, stop_sequences, timeout_ms, max_attempts, on_error, additional_model_request_fields, server"
#define VALID_EMBED_OPTIONS "dimensions, normalize, input_type, truncate, output_dimension, timeout_ms, max_attempts, on_error, server"

/* The options a function takes, for the hint of an unknown one. */
static const char *
valid_options(int flags)
{
	if (flags & CHAT_OPTIONS_EXTRACT)	/* extractions (bedrock_extract and kin) */
		return (flags & CHAT_OPTIONS_BATCH) ?
			VALID_EXTRACT_OPTIONS ", concurrency" : VALID_EXTRACT_OPTIONS;
	if (flags & CHAT_OPTIONS_EMBED)
		return (flags & CHAT_OPTIONS_BATCH) ?
			VALID_EMBED_OPTIONS ", concurrency" : VALID_EMBED_OPTIONS;
	if (flags & CHAT_OPTIONS_RAW_REQUEST)
		return (flags & CHAT_OPTIONS_BATCH) ?
			VALID_RAW_REQUEST_OPTIONS ", concurrency" : VALID_RAW_REQUEST_OPTIONS;
	return (flags & CHAT_OPTIONS_BATCH) ? VALID_OPTIONS ", concurrency" : VALID_OPTIONS;
}

/*
 * is_inference_option
 *		Options that shape the Converse request: functions that are given
 *		the request itself do not take them.
 */
static bool
is_inference_option(const char *key)
{
	static const char *const keys[] = {"max_tokens", "temperature", "top_p",
	"stop_sequences", "raw", "additional_model_request_fields", CONVERSE_FEATURE_KEYS};

	for (int i = 0; i < lengthof(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/* Options an embedding function reads itself (embed_options_parse). */
static bool
is_embed_option(const char *key)
{
	static const char *const keys[] = {EMBED_OPTION_KEYS};

	for (int i = 0; i < lengthof(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

static const char *
jsonb_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a composite value";
	}
}

static void
wrong_type(const char *funcname, const char *key, const char *expected,
		   const JsonbValue *v)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" of %s must be %s", key, funcname, expected),
			 errdetail("It is %s.", jsonb_type_name(v))));
}

static double
number_option(const char *funcname, const char *key, const JsonbValue *v)
{
	if (v->type != jbvNumeric)
		wrong_type(funcname, key, "a number", v);
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/*
 * A whole number in [min, max].  max_hint, when not NULL, is the hint for a
 * value above max (where max comes from, typically a setting).
 */
static int64
integer_option(const char *funcname, const char *key, const JsonbValue *v,
			   int64 min, int64 max, const char *max_hint)
{
	double		d;

	if (v->type != jbvNumeric)
		wrong_type(funcname, key, "an integer", v);
	d = number_option(funcname, key, v);
	if (isnan(d) || d != floor(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of %s must be an integer", key, funcname),
				 errdetail("It is %g.", d)));
	if (d < (double) min || d > (double) max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of %s is out of range", key, funcname),
				 errdetail("It is %.0f; the allowed range is " INT64_FORMAT " to " INT64_FORMAT ".",
						   d, min, max),
				 max_hint != NULL && d > (double) max ? errhint("%s", max_hint) : 0));
	return (int64) d;
}

/* A fraction in [0, 1]. */
static double
unit_interval_option(const char *funcname, const char *key, const JsonbValue *v)
{
	double		d = number_option(funcname, key, v);

	if (isnan(d) || d < 0.0 || d > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of %s is out of range", key, funcname),
				 errdetail("It is %g; the allowed range is 0 to 1.", d)));
	return d;
}

static List *
stop_sequences_option(const char *funcname, const JsonbValue *v)
{
	List	   *result = NIL;
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		wrong_type(funcname, "stop_sequences", "an array of strings", v);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (elem.type != jbvString)
			wrong_type(funcname, "stop_sequences", "an array of strings", &elem);
		if (elem.val.string.len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"stop_sequences\" of %s must not contain an empty string",
							funcname)));
		result = lappend(result, pnstrdup(elem.val.string.val, elem.val.string.len));
	}
	return result;
}

static OnErrorMode
on_error_option(const char *funcname, const JsonbValue *v, bool embed)
{
	if (v->type != jbvString)
		wrong_type(funcname, "on_error", "a string", v);
	if (v->val.string.len == 5 && strncmp(v->val.string.val, "raise", 5) == 0)
		return ON_ERROR_RAISE;
	if (v->val.string.len == 4 && strncmp(v->val.string.val, "null", 4) == 0)
		return ON_ERROR_NULL;
	if (v->val.string.len == 4 && strncmp(v->val.string.val, "json", 4) == 0)
	{
		if (embed)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"on_error\" of %s cannot be \"json\"", funcname),
					 errdetail("An embedding is a real[], which cannot hold an error object."),
					 errhint("Use \"null\", and find the failures in bedrock.usage_log.")));
		return ON_ERROR_JSON;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"on_error\" of %s: \"%.*s\"",
					funcname, Min(v->val.string.len, 64), v->val.string.val),
			 errhint("Valid values are \"raise\", \"null\" and \"json\".")));
	return ON_ERROR_RAISE;		/* keep compiler quiet */
}

/* ---- Converse features: request metadata, guardrails, documents, caching, tiers ---- */

/* A string option that must be one of the NULL-terminated values. */
static char *
choice_option(const char *funcname, const char *key, const JsonbValue *v,
			  const char *const *values, const char *hint)
{
	if (v->type != jbvString)
		wrong_type(funcname, key, "a string", v);
	for (int i = 0; values[i] != NULL; i++)
		if (strlen(values[i]) == (size_t) v->val.string.len &&
			strncmp(values[i], v->val.string.val, v->val.string.len) == 0)
			return pstrdup(values[i]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\" of %s: \"%.*s\"",
					key, funcname, Min(v->val.string.len, 64), v->val.string.val),
			 errhint("%s", hint)));
	return NULL;				/* keep compiler quiet */
}

/*
 * converse_feature_option
 *		Parse one of the Converse feature options (CONVERSE_FEATURE_KEYS)
 *		into opts; returns false for any other key.
 */
static bool
converse_feature_option(const char *funcname, const char *key,
						const JsonbValue *v, ChatOptions *opts)
{
	static const char *const traces[] = {"enabled", "disabled", "enabled_full", NULL};
	static const char *const tiers[] = {"default", "flex", "priority", NULL};
	static const char *const latencies[] = {"standard", "optimized", NULL};
	static const char *const ttls[] = {"5m", "1h", NULL};

	if (strcmp(key, "request_metadata") == 0)
	{
		request_metadata_check(v, psprintf("option \"request_metadata\" of %s", funcname));
		opts->request_metadata = v->val.binary.data;
	}
	else if (strcmp(key, "guardrail_identifier") == 0)
	{
		if (v->type != jbvString)
			wrong_type(funcname, key, "a string", v);
		opts->guardrail_identifier = pnstrdup(v->val.string.val, v->val.string.len);
		if (!guardrail_identifier_valid(opts->guardrail_identifier))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"guardrail_identifier\" of %s", funcname),
					 errdetail("A guardrail identifier is an id of lower-case letters and digits, or a guardrail ARN, of at most 2048 characters.")));
	}
	else if (strcmp(key, "guardrail_version") == 0)
	{
		if (v->type != jbvString)
			wrong_type(funcname, key, "a string", v);
		opts->guardrail_version = pnstrdup(v->val.string.val, v->val.string.len);
		if (!guardrail_version_valid(opts->guardrail_version))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"guardrail_version\" of %s: \"%s\"",
							funcname, opts->guardrail_version),
					 errhint("A guardrail version is a number from 1 to 99999999, or \"DRAFT\".")));
	}
	else if (strcmp(key, "guardrail_trace") == 0)
		opts->guardrail_trace = choice_option(funcname, key, v, traces,
											  "Valid values are \"enabled\", \"disabled\" and \"enabled_full\".");
	else if (strcmp(key, "documents") == 0 || strcmp(key, "images") == 0)
		content_blocks_option(funcname, key, v, opts);
	else if (strcmp(key, "cache") == 0)
	{
		if (v->type == jbvBool)
			opts->cache_ttl = v->val.boolean ? "" : NULL;
		else if (v->type == jbvString)
			opts->cache_ttl = choice_option(funcname, key, v, ttls,
											"Valid values are true, false, \"5m\" and \"1h\".");
		else
			wrong_type(funcname, key, "a boolean or \"5m\" or \"1h\"", v);
	}
	else if (strcmp(key, "service_tier") == 0)
		opts->service_tier = choice_option(funcname, key, v, tiers,
										   "Valid values are \"default\", \"flex\" and \"priority\".");
	else if (strcmp(key, "latency") == 0)
		opts->latency = choice_option(funcname, key, v, latencies,
									  "Valid values are \"standard\" and \"optimized\".");
	else
		return false;
	return true;
}

/*
 * converse_features_finish
 *		After the options: the settings' defaults (bedrock.service_tier,
 *		bedrock.latency) and the guardrail, which is the mandatory one of
 *		the settings when there is one (a call's own must then be the same),
 *		else the call's (identifier and version together).  Functions given
 *		the request itself get only the mandatory guardrail (for the usage
 *		log; converse_raw_with_policy puts it in the request).
 */
static void
converse_features_finish(const char *funcname, bool raw_request, ChatOptions *opts)
{
	const char *gid;
	const char *gversion;

	converse_mandatory_guardrail(&gid, &gversion);
	if (gid != NULL)
	{
		if ((opts->guardrail_identifier != NULL &&
			 strcmp(opts->guardrail_identifier, gid) != 0) ||
			(opts->guardrail_version != NULL &&
			 strcmp(opts->guardrail_version, gversion) != 0))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("options of %s cannot replace the mandatory guardrail", funcname),
					 errdetail("The settings bedrock.guardrail_identifier and bedrock.guardrail_version make every call go through guardrail \"%s\" version \"%s\".",
							   gid, gversion),
					 errhint("Leave out the options guardrail_identifier and guardrail_version.")));
		opts->guardrail_identifier = pstrdup(gid);
		opts->guardrail_version = pstrdup(gversion);
	}
	else if ((opts->guardrail_identifier == NULL) != (opts->guardrail_version == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"guardrail_identifier\" and \"guardrail_version\" of %s go together",
						funcname),
				 errdetail("Bedrock needs both the guardrail and its version.")));

	/*
	 * The defaults of the foreign server the call goes through, when one is
	 * chosen (docs/fdw.md): its guardrail where neither the settings nor
	 * the call name one, its service tier where the call names none.  The
	 * lookup is the one the call makes anyway (cached).
	 */
	if (!raw_request &&
		(opts->server != NULL || (bedrock_server != NULL && bedrock_server[0] != '\0')))
	{
		const BedrockTarget *t = bedrock_target_lookup(opts->server, GetUserId());

		if (opts->guardrail_identifier == NULL && t->guardrail_identifier != NULL)
		{
			if (t->guardrail_version == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("foreign server \"%s\" has a guardrail_identifier but no guardrail_version",
								t->server_name),
						 errhint("Its owner sets both: ALTER SERVER ... OPTIONS (ADD guardrail_version '1').")));
			opts->guardrail_identifier = pstrdup(t->guardrail_identifier);
			opts->guardrail_version = pstrdup(t->guardrail_version);
		}
		if (opts->service_tier == NULL && t->service_tier != NULL)
			opts->service_tier = pstrdup(t->service_tier);
	}

	if (opts->guardrail_trace != NULL && opts->guardrail_identifier == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"guardrail_trace\" of %s needs a guardrail", funcname),
				 errhint("Name one with the options guardrail_identifier and guardrail_version.")));
	if (raw_request)
		return;
	if (opts->service_tier == NULL && bedrock_service_tier != NULL && bedrock_service_tier[0] != '\0')
		opts->service_tier = pstrdup(bedrock_service_tier);
	if (opts->latency == NULL && bedrock_latency != NULL && bedrock_latency[0] != '\0')
		opts->latency = pstrdup(bedrock_latency);
}

/* ---- end of the Converse features ---- */

/* Option "method" of an extraction: EXTRACT_METHOD_* */
static int
extract_method_option(const char *funcname, const JsonbValue *v)
{
	static const char *const names[] = {"auto", "output_format", "tool", NULL};
	const char *method = choice_option(funcname, "method", v, names,
									   "Valid values are \"auto\", \"output_format\" and \"tool\".");
	int			i = 0;

	while (strcmp(names[i], method) != 0)
		i++;
	return i;					/* EXTRACT_METHOD_* are in this order */
}

/*
 * chat_options_parse
 *		Fill *opts from the options argument (NULL for none), with the
 *		settings' values as defaults.  Raises 22023 naming the offending
 *		option on an unknown key, a wrong type or a value out of range.
 *		Batches (CHAT_OPTIONS_BATCH) also take "concurrency" and report
 *		failures as JSON unless told otherwise, so that one failed prompt
 *		loses no other.  Functions given the Converse request itself
 *		(CHAT_OPTIONS_RAW_REQUEST) take only the options of the call, and
 *		always return the whole response.
 */
void
chat_options_parse(Jsonb *options, const char *funcname, int flags,
				   ChatOptions *opts)
{
	bool		batch = (flags & CHAT_OPTIONS_BATCH) != 0;
	bool		raw_request = (flags & CHAT_OPTIONS_RAW_REQUEST) != 0;
	bool		embed = (flags & CHAT_OPTIONS_EMBED) != 0;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	memset(opts, 0, sizeof(*opts));
	opts->timeout_ms = bedrock_timeout_ms;
	opts->max_attempts = bedrock_max_attempts;
	opts->on_error = !batch ? ON_ERROR_RAISE : embed ? ON_ERROR_NULL : ON_ERROR_JSON;
	opts->concurrency = bedrock_max_concurrency;
	opts->raw = raw_request;

	if (options == NULL)
	{
		if (!embed && !(flags & CHAT_OPTIONS_GUARDRAIL))
			converse_features_finish(funcname, raw_request, opts);
		return;
	}
	if (!JB_ROOT_IS_OBJECT(options) || JB_ROOT_IS_SCALAR(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options of %s must be a JSON object", funcname),
				 raw_request ?
				 errhint("For example: '{\"timeout_ms\": 30000, \"max_attempts\": 5}'.") :
				 embed ?
				 errhint("For example: '{\"dimensions\": 512, \"timeout_ms\": 30000}'.") :
				 errhint("For example: '{\"max_tokens\": 200, \"temperature\": 0.2}'.")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		JsonbValue	val;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &val, true);
		Assert(tok == WJB_VALUE);

		if (val.type == jbvNull)
			continue;			/* an explicit null means "the default" */
		if (raw_request && is_inference_option(key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" is not an option of %s", key, funcname),
					 (flags & CHAT_OPTIONS_GUARDRAIL) ?
					 errdetail("%s applies a guardrail to a text without calling a model.",
							   funcname) :
					 (flags & CHAT_OPTIONS_NATIVE) ?
					 errdetail("%s sends the model's native request body it is given and returns the whole response.",
							   funcname) :
					 errdetail("%s sends the Converse request it is given and returns the whole response.",
							   funcname),
					 (flags & CHAT_OPTIONS_GUARDRAIL) ?
					 errhint("Valid options are: timeout_ms, max_attempts, on_error, server.") :
					 (flags & CHAT_OPTIONS_NATIVE) ?
					 errhint("Put inference settings in the body, as the model's documentation says.") :
					 errhint("Put inference settings in the request, for example \"inferenceConfig\": {\"maxTokens\": 200}.")));
		if (embed && is_embed_option(key))
			continue;			/* the embedding function's own */
		if (embed && is_inference_option(key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" is not an option of %s", key, funcname),
					 errdetail("Embedding models take no inference settings."),
					 errhint("Valid options are: %s.", valid_options(flags))));
		if (strcmp(key, "max_tokens") == 0)
			opts->max_tokens = (int) integer_option(funcname, key, &val, 1, PG_INT32_MAX, NULL);
		else if (strcmp(key, "temperature") == 0)
		{
			opts->has_temperature = true;
			opts->temperature = unit_interval_option(funcname, key, &val);
		}
		else if (strcmp(key, "top_p") == 0)
		{
			opts->has_top_p = true;
			opts->top_p = unit_interval_option(funcname, key, &val);
		}
		else if (strcmp(key, "stop_sequences") == 0)
			opts->stop_sequences = stop_sequences_option(funcname, &val);
		else if (strcmp(key, "timeout_ms") == 0)
			opts->timeout_ms = (long) integer_option(funcname, key, &val, 1, PG_INT32_MAX, NULL);
		else if (strcmp(key, "max_attempts") == 0)
			opts->max_attempts = (int) integer_option(funcname, key, &val, 1, 10, NULL);
		else if (strcmp(key, "on_error") == 0)
			opts->on_error = on_error_option(funcname, &val, embed);
		else if (strcmp(key, "raw") == 0 && !(flags & CHAT_OPTIONS_EXTRACT))
		{
			if (val.type != jbvBool)
				wrong_type(funcname, key, "a boolean", &val);
			opts->raw = val.val.boolean;
		}
		else if (strcmp(key, "additional_model_request_fields") == 0)
		{
			if (val.type != jbvBinary || !JsonContainerIsObject(val.val.binary.data))
				wrong_type(funcname, key, "an object", &val);
			opts->additional_model_request_fields = val.val.binary.data;
		}
		else if (strcmp(key, "server") == 0)
		{
			/* the foreign server of the call (src/fdw/bedrock_target.c) */
			if (val.type != jbvString)
				wrong_type(funcname, key, "a string", &val);
			if (val.val.string.len == 0 || val.val.string.len >= NAMEDATALEN)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"server\" of %s must be a server name", funcname),
						 errdetail("A server name has 1 to %d bytes.", NAMEDATALEN - 1)));
			opts->server = pnstrdup(val.val.string.val, val.val.string.len);
		}
		else if ((flags & CHAT_OPTIONS_EXTRACT) && strcmp(key, "method") == 0)
			opts->extract_method = extract_method_option(funcname, &val);	/* extractions (bedrock_extract and kin) */
		else if (converse_feature_option(funcname, key, &val, opts))
			;					/* a Converse feature (converse_features.c) */
		else if (batch && strcmp(key, "concurrency") == 0)
			opts->concurrency = (int)
				integer_option(funcname, key, &val, 1, bedrock_max_concurrency,
							   "The upper bound is the setting bedrock.max_concurrency, which a superuser may raise.");
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" of %s", key, funcname),
					 errhint("Valid options are: %s.", valid_options(flags))));
	}
	if (!embed && !(flags & CHAT_OPTIONS_GUARDRAIL))
		converse_features_finish(funcname, raw_request, opts);
}
