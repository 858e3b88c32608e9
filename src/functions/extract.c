/*-------------------------------------------------------------------------
 *
 * extract.c
 *	  Typed data out of text: bedrock_extract(model, input, schema,
 *	  instructions, options) returns the object the model extracted,
 *	  checked against a JSON Schema; bedrock_extract_batch does it for an
 *	  array of inputs in the batch pipeline; bedrock_classify and
 *	  bedrock_is_true are extractions of one enum or boolean member.
 *
 * Each extraction is one or more Converse calls over the engine (chat.c,
 * chat_batch.c), each with its usage row:
 *   - method "output_format" asks for structured output
 *	   (outputConfig.textFormat of type json_schema, the schema as a
 *	   string, its objects closed: additionalProperties false) and reads the answer as the JSON text of the output
 *	   message; method "tool" forces one tool call (toolConfig with the
 *	   tool "extract" whose input schema is the schema, toolChoice.tool)
 *	   and reads the answer as the toolUse input;
 *   - method "auto" uses output_format for the models known to support
 *	   it and tool for the others; when a model refuses output_format
 *	   (a ValidationException about outputConfig or structured output),
 *	   that call is made again with tool, and the refusal is remembered
 *	   for the server and model (extract_refusals.c, shared memory), so
 *	   that later calls go straight to tool;
 *   - an answer that does not conform to the schema (json_schema.c) is
 *	   asked for once more, the validation error added to the system
 *	   prompt; a second failure is handled by on_error ("raise": 22P02
 *	   naming the failing path).
 * The steps (extract_item_prepare, extract_item_after) are the same for
 * a single call and for the batch pipeline, where a follow-up call goes
 * back into the pipeline (BatchItem.again).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/extract.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "chat.h"
#include "chat_batch.h"
#include "converse_features.h"
#include "extract_refusals.h"
#include "json_schema.h"

PG_FUNCTION_INFO_V1(bedrock_extract);
PG_FUNCTION_INFO_V1(bedrock_extract_batch);
PG_FUNCTION_INFO_V1(bedrock_classify);
PG_FUNCTION_INFO_V1(bedrock_is_true);

#define EXTRACT_TOOL_NAME "extract"
#define EXTRACT_DEFAULT_SYSTEM \
	"Extract from the user's message the information that the given JSON schema describes, " \
	"and give it as one JSON object conforming to that schema. Use only what the message says."
#define CLASSIFY_MAX_LABELS 100
#define CLASSIFY_MAX_LABEL_BYTES 200

/* What the extractions of one function call share. */
typedef struct ExtractJob
{
	const char *funcname;
	const char *model;
	Jsonb	   *schema;			/* checked by json_schema_check */
	char	   *schema_text;	/* its JSON text */
	char	   *closed_schema_text; /* ... with closed objects, for
									 * structured output */
	const char *system;			/* the system prompt */
	const ChatOptions *opts;
	int			method;			/* EXTRACT_METHOD_OUTPUT_FORMAT or _TOOL */
	bool		may_fall_back;	/* auto chose output_format */
	bool		fell_back;		/* the model refused it: tool from now on */
} ExtractJob;

/* One extraction. */
typedef struct ExtractItem
{
	const char *input;
	int			method;			/* of the call under way */
	bool		retried;		/* the validation retry was made */
	char	   *feedback;		/* the validation error, for the retry */
	Jsonb	   *result;
} ExtractItem;

/* The server of a call (NULL: the settings), for the refusal table. */
static const char *
server_of(const ChatOptions *opts)
{
	return opts->server ? opts->server : bedrock_server;
}

/*
 * native_supported
 *		Whether model is one known to take outputConfig.textFormat (by its
 *		id, also inside an inference profile id or ARN).
 */
static bool
native_supported(const char *model)
{
	static const char *const known[] = {
		"anthropic.claude-sonnet-4-5", "anthropic.claude-haiku-4-5",
		"anthropic.claude-opus-4-1", "anthropic.claude-opus-4-5",
		"amazon.nova-", "openai.gpt-oss-",
	};

	for (int i = 0; i < lengthof(known); i++)
		if (strstr(model, known[i]) != NULL)
			return true;
	return false;
}

/*
 * is_native_refusal
 *		Whether a failed call is the model refusing outputConfig: a
 *		ValidationException whose message speaks of outputConfig or
 *		structured output not being supported (a schema Bedrock does not
 *		take is not a refusal of the method).
 */
static bool
is_native_refusal(const BedrockCall *call)
{
	const char *m = call->error.message;

	if (call->error.code == NULL || strcmp(call->error.code, "ValidationException") != 0 ||
		m == NULL)
		return false;
	if (strstr(m, "outputConfig") == NULL && strstr(m, "structured output") == NULL &&
		strstr(m, "Structured output") == NULL)
		return false;
	return strstr(m, "support") != NULL;
}

/* ---- the job and its items */

/*
 * extract_job_init
 *		Check schema (refused before anything is sent) and settle the
 *		method and the system prompt (instructions, or the default; NULL
 *		or empty: the default).
 */
static void
extract_job_init(ExtractJob *job, const char *funcname, const char *model,
				 Jsonb *schema, const char *instructions, const ChatOptions *opts)
{
	memset(job, 0, sizeof(*job));
	job->funcname = funcname;
	job->model = model;
	job->opts = opts;
	json_schema_check(schema, funcname);
	job->schema = schema;
	job->schema_text = JsonbToCString(NULL, &schema->root, VARSIZE(schema));
	job->closed_schema_text = json_schema_closed_text(schema);
	job->system = (instructions != NULL && instructions[0] != '\0') ?
		instructions : EXTRACT_DEFAULT_SYSTEM;
	job->method = opts->extract_method;
	if (job->method == EXTRACT_METHOD_AUTO)
	{
		job->may_fall_back = model != NULL && native_supported(model) &&
			!extract_refused_before(server_of(opts), model);
		job->method = job->may_fall_back ? EXTRACT_METHOD_OUTPUT_FORMAT : EXTRACT_METHOD_TOOL;
	}
}

/* An empty input is a caller's mistake, refused before any call. */
static void
check_input(const char *input, const char *funcname)
{
	if (input[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("input of %s must not be empty", funcname),
				 errhint("Pass NULL to skip a row without calling Bedrock.")));
}

/*
 * extract_item_prepare
 *		Prepare the next Converse call of an extraction: the request of its
 *		method, the validation error of the previous answer, if any, told
 *		in the system prompt.
 */
static void
extract_item_prepare(ExtractJob *job, ExtractItem *x, BedrockCall *call,
					 UsageRecord *usage)
{
	ChatOptions opts = *job->opts;
	StringInfoData members;
	const char *system = job->system;

	initStringInfo(&members);
	if (x->method == EXTRACT_METHOD_OUTPUT_FORMAT)
	{
		appendStringInfoString(&members, ",\"outputConfig\":{\"textFormat\":{\"type\":\"json_schema\","
							   "\"structure\":{\"jsonSchema\":{\"schema\":");
		json_append_string(&members, job->closed_schema_text);
		appendStringInfoString(&members, ",\"name\":\"" EXTRACT_TOOL_NAME "\"}}}}");
	}
	else
	{
		appendStringInfoString(&members, ",\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\""
							   EXTRACT_TOOL_NAME "\",\"description\":\"Record the information extracted from the message.\","
							   "\"inputSchema\":{\"json\":");
		appendStringInfoString(&members, job->schema_text);
		appendStringInfoString(&members, "}}}");
		/* option "cache": the tool (the schema) is cached too */
		if (opts.cache_ttl != NULL)
		{
			appendStringInfoChar(&members, ',');
			converse_append_cache_point(&members, opts.cache_ttl);
		}
		appendStringInfoString(&members, "],\"toolChoice\":{\"tool\":{\"name\":\""
							   EXTRACT_TOOL_NAME "\"}}}");
	}
	opts.request_members = members.data;
	if (x->feedback != NULL)
		system = psprintf("%s\n\nYour previous answer did not conform to the schema: %s. "
						  "Answer again, conforming to the schema.", system, x->feedback);
	chat_prepare(call, usage, job->model, x->input, system, &opts);
}

/*
 * read_answer
 *		The answer of a Converse response under method, as a JSON value
 *		(NULL, with why, when there is none or it is not JSON).
 */
static JsonbValue *
read_answer(Jsonb *response, int method, StringInfo why)
{
	JsonbContainer *content =
		json_get_array(json_get_object(json_get_object(&response->root, "output"),
									   "message"), "content");
	int			n = content ? JsonContainerSize(content) : 0;
	StringInfoData text;

	initStringInfo(&text);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *block = getIthJsonbValueFromContainer(content, i);
		JsonbContainer *bc;
		char	   *s;

		if (block == NULL || block->type != jbvBinary)
			continue;
		bc = block->val.binary.data;
		if (method == EXTRACT_METHOD_TOOL)
		{
			JsonbContainer *use = json_get_object(bc, "toolUse");
			JsonbValue *input;

			if (use == NULL || (s = json_get_string(use, "name")) == NULL ||
				strcmp(s, EXTRACT_TOOL_NAME) != 0)
				continue;
			input = json_get_key(use, "input", NULL);
			if (input != NULL && input->type == jbvBinary &&
				JsonContainerIsObject(input->val.binary.data))
				return input;
		}
		else if ((s = json_get_string(bc, "text")) != NULL)
			appendStringInfoString(&text, s);
	}
	if (method == EXTRACT_METHOD_TOOL)
	{
		appendStringInfoString(why, "$: the model did not call the tool \"" EXTRACT_TOOL_NAME "\" with an input");
		return NULL;
	}
	else
	{
		const char *perr = NULL;
		char	   *utf8 = server_to_utf8(text.data, text.len);
		Jsonb	   *j = json_parse_untrusted(utf8, strlen(utf8), &perr);
		JsonbValue *v;

		if (j == NULL)
		{
			appendStringInfo(why, "$: the answer is not JSON (%s)", perr);
			return NULL;
		}
		v = palloc(sizeof(JsonbValue));
		v->type = jbvBinary;
		v->val.binary.data = &j->root;
		v->val.binary.len = VARSIZE(j) - VARHDRSZ;
		if (JB_ROOT_IS_SCALAR(j))
		{
			appendStringInfoString(why, "$: expected object, got a scalar");
			return NULL;
		}
		return v;
	}
}

/*
 * validation_failure
 *		What an extraction whose answers did not conform returns under
 *		on_error: raises 22P02 naming the failing path for "raise", NULL
 *		for "null", the error object for "json".
 */
static Jsonb *
validation_failure(ExtractJob *job, const BedrockCall *call, const char *why)
{
	StringInfoData out;

	if (job->opts->on_error == ON_ERROR_RAISE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("answer of model \"%s\" does not conform to the schema: %s",
						job->model, why),
				 errdetail("%s asked twice, the second time telling the model what was wrong.",
						   job->funcname),
				 errhint("Check the schema and the instructions, or pass \"on_error\": \"null\" or \"json\" to go on without this row.")));
	if (job->opts->on_error == ON_ERROR_NULL)
		return NULL;
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"error\": {\"code\": \"SchemaValidationFailed\", \"message\": ");
	json_append_string(&out, why);
	appendStringInfoString(&out, ", \"http_status\": null, \"request_id\": null, \"sqlstate\": \"22P02\"}, \"model\": ");
	json_append_string(&out, job->model);
	appendStringInfo(&out, ", \"attempts\": %d}", call->attempts);
	return json_text_to_jsonb(out.data);
}

/*
 * extract_item_after
 *		A call of an extraction is over (its usage record is submitted
 *		here).  Returns true when another call is needed (the fallback to
 *		tool, the validation retry): the caller prepares and runs it.
 *		Otherwise x->result holds the result (NULL: SQL NULL); raises as
 *		on_error says.
 */
static bool
extract_item_after(ExtractJob *job, ExtractItem *x, BedrockCall *call,
				   UsageRecord *usage)
{
	Jsonb	   *response = chat_finish_call(call, usage, job->opts);
	StringInfoData why;
	JsonbValue *answer;

	if (response == NULL)
	{
		if (x->method == EXTRACT_METHOD_OUTPUT_FORMAT && job->may_fall_back &&
			is_native_refusal(call))
		{
			if (!job->fell_back)
			{
				extract_remember_refusal(server_of(job->opts), job->model);
				job->fell_back = true;
				job->method = EXTRACT_METHOD_TOOL;
			}
			x->method = EXTRACT_METHOD_TOOL;
			return true;
		}
		x->result = chat_failure_result(call, job->opts->on_error);
		return false;
	}
	initStringInfo(&why);
	answer = read_answer(response, x->method, &why);
	if (answer != NULL && json_schema_validate(job->schema, answer, &why))
	{
		x->result = JsonbValueToJsonb(answer);
		return false;
	}
	if (!x->retried)
	{
		x->retried = true;
		x->feedback = why.data;
		return true;
	}
	x->result = validation_failure(job, call, why.data);
	return false;
}

/*
 * extract_one
 *		An extraction of a single call: prepare, run, and go on while a
 *		follow-up is needed (at most a fallback and a retry).
 */
static Jsonb *
extract_one(SingleCall *sc, ExtractJob *job, const char *input)
{
	ExtractItem x = {0};

	x.input = input;
	x.method = job->method;
	do
	{
		extract_item_prepare(job, &x, &sc->call, &sc->usage);
		chat_run_call(&sc->call, &sc->usage);
	} while (extract_item_after(job, &x, &sc->call, &sc->usage));
	return x.result;
}

/* The schema argument, which must not be NULL. */
static Jsonb *
schema_arg(FunctionCallInfo fcinfo, int argno, const char *funcname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema of %s must not be NULL", funcname)));
	return PG_GETARG_JSONB_P(argno);
}

static char *
text_arg_or_null(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * bedrock_extract
 *		SQL: bedrock_extract(model text, input text, schema jsonb,
 *		instructions text DEFAULT NULL, options jsonb DEFAULT NULL)
 *		RETURNS jsonb.
 *
 * The object extracted from input, conforming to schema.  NULL model or
 * input: NULL, without calling Bedrock.
 */
Datum
bedrock_extract(PG_FUNCTION_ARGS)
{
	SingleCall	sc;
	ExtractJob	job;
	char	   *input;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	chat_single_begin(fcinfo, &sc, "bedrock_extract", 4, CHAT_OPTIONS_EXTRACT);
	input = text_to_cstring(PG_GETARG_TEXT_PP(1));
	extract_job_init(&job, "bedrock_extract", sc.model,
					 schema_arg(fcinfo, 2, "bedrock_extract"),
					 text_arg_or_null(fcinfo, 3), &sc.options);
	check_input(input, "bedrock_extract");
	return chat_single_return(fcinfo, &sc, extract_one(&sc, &job, input));
}

/* The batch pipeline's complete callback of bedrock_extract_batch. */
static void
extract_batch_complete(Batch *b, BatchItem *item)
{
	ExtractJob *job = (ExtractJob *) b->arg;
	ExtractItem *x = (ExtractItem *) item->arg;
	bool		fell_back = job->fell_back;

	if (!extract_item_after(job, x, &item->call, &item->usage))
	{
		item->result = x->result;
		return;
	}
	extract_item_prepare(job, x, &item->call, &item->usage);
	item->again = true;

	/* the model refused output_format: the calls not started yet use tool */
	if (!fell_back && job->fell_back)
	{
		for (int i = b->next_new; i < b->n; i++)
		{
			ExtractItem *y = (ExtractItem *) b->items[i].arg;

			if (b->items[i].skip || b->items[i].busy)
				continue;
			y->method = EXTRACT_METHOD_TOOL;
			extract_item_prepare(job, y, &b->items[i].call, &b->items[i].usage);
		}
	}
}

/*
 * bedrock_extract_batch
 *		SQL: bedrock_extract_batch(model text, inputs text[], schema jsonb,
 *		instructions text DEFAULT NULL, options jsonb DEFAULT NULL)
 *		RETURNS TABLE(ord int, result jsonb).
 *
 * bedrock_extract for every element of inputs in the batch pipeline
 * (concurrency, retries, rate limiter of bedrock_chat_batch); follow-up
 * calls go back into the pipeline.  One row per element in storage
 * order; NULL for a NULL input (or model); failures as on_error says
 * ("json" unless set).  Every input is checked before anything is sent.
 */
Datum
bedrock_extract_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Batch		b = {0};
	ExtractJob	job;
	ExtractItem *xs;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	batch_begin(fcinfo, &b, "bedrock_extract_batch", TEXTOID, 4, CHAT_OPTIONS_EXTRACT);
	extract_job_init(&job, "bedrock_extract_batch", b.model,
					 schema_arg(fcinfo, 2, "bedrock_extract_batch"),
					 text_arg_or_null(fcinfo, 3), &b.options);
	b.complete = extract_batch_complete;
	b.arg = &job;
	xs = palloc0(sizeof(ExtractItem) * Max(b.n, 1));

	/* check every input before anything is sent */
	for (int i = 0; i < b.n; i++)
	{
		b.items[i].arg = &xs[i];
		if (!batch_item_begin(&b, i))
			continue;
		xs[i].input = TextDatumGetCString(b.inputs[i]);
		xs[i].method = job.method;
		check_input(xs[i].input, "bedrock_extract_batch");
		extract_item_prepare(&job, &xs[i], &b.items[i].call, &b.items[i].usage);
	}

	batch_run_and_return(rsinfo, &b);
	PG_RETURN_NULL();
}

/*
 * single_member_extract
 *		The extraction of an object of one member (key) under schema, for
 *		bedrock_classify and bedrock_is_true: the member's value, or NULL
 *		when on_error said "null".
 */
static JsonbValue *
single_member_extract(SingleCall *sc, const char *funcname, const char *input,
					  const char *schema_json, const char *system, const char *key)
{
	ExtractJob	job;
	Jsonb	   *result;

	if (sc->options.on_error == ON_ERROR_JSON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"on_error\" of %s cannot be \"json\"", funcname),
				 errdetail("%s returns a scalar, which cannot hold an error object.", funcname),
				 errhint("Use \"null\", and find the failures in bedrock.usage_log.")));
	extract_job_init(&job, funcname, sc->model, json_text_to_jsonb(schema_json),
					 system, &sc->options);
	check_input(input, funcname);
	result = extract_one(sc, &job, input);
	if (result == NULL)
		return NULL;
	return getKeyJsonValueFromContainer(&result->root, key, strlen(key), NULL);
}

/*
 * bedrock_classify
 *		SQL: bedrock_classify(model text, input text, labels text[],
 *		instructions text DEFAULT NULL, options jsonb DEFAULT NULL)
 *		RETURNS text.
 *
 * One of labels (1 to CLASSIFY_MAX_LABELS distinct non-empty strings, no
 * NULL), the one the model chose for input; NULL for a NULL model or
 * input, or a failure under on_error "null".
 */
Datum
bedrock_classify(PG_FUNCTION_ARGS)
{
	SingleCall	sc;
	Datum	   *labels;
	bool	   *nulls;
	int			n;
	StringInfoData schema;
	StringInfoData system;
	char	   *input;
	char	   *instructions;
	JsonbValue *v;
	text	   *result = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	chat_single_begin(fcinfo, &sc, "bedrock_classify", 4, CHAT_OPTIONS_EXTRACT);
	input = text_to_cstring(PG_GETARG_TEXT_PP(1));
	instructions = text_arg_or_null(fcinfo, 3);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("labels of bedrock_classify must not be NULL")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
					  &labels, &nulls, &n);
	if (n == 0 || n > CLASSIFY_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels of bedrock_classify must have 1 to %d elements", CLASSIFY_MAX_LABELS),
				 errdetail("It has %d.", n)));
	initStringInfo(&schema);
	appendStringInfoString(&schema, "{\"type\": \"object\", \"properties\": {\"label\": {\"type\": \"string\", \"enum\": [");
	for (int i = 0; i < n; i++)
	{
		char	   *label;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("label %d of bedrock_classify is NULL", i + 1)));
		label = TextDatumGetCString(labels[i]);
		if (label[0] == '\0' || strlen(label) > CLASSIFY_MAX_LABEL_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("label %d of bedrock_classify must have 1 to %d bytes",
							i + 1, CLASSIFY_MAX_LABEL_BYTES)));
		for (int j = 0; j < i; j++)
			if (strcmp(TextDatumGetCString(labels[j]), label) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("label \"%s\" appears twice in the labels of bedrock_classify", label),
						 errdetail("Labels %d and %d are the same.", j + 1, i + 1)));
		if (i > 0)
			appendStringInfoString(&schema, ", ");
		json_append_string(&schema, label);
	}
	appendStringInfoString(&schema, "]}}, \"required\": [\"label\"], \"additionalProperties\": false}");

	initStringInfo(&system);
	appendStringInfoString(&system, "Classify the user's message: choose the one label that fits it best, "
						   "and give it as the member \"label\".");
	if (instructions != NULL && instructions[0] != '\0')
		appendStringInfo(&system, "\n\n%s", instructions);

	v = single_member_extract(&sc, "bedrock_classify", input, schema.data, system.data, "label");
	MemoryContextSwitchTo(sc.outercxt);
	if (v != NULL && v->type == jbvString)
		result = cstring_to_text_with_len(v->val.string.val, v->val.string.len);
	MemoryContextDelete(sc.callcxt);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/*
 * bedrock_is_true
 *		SQL: bedrock_is_true(model text, input text, question text, options
 *		jsonb DEFAULT NULL) RETURNS boolean.
 *
 * The model's yes-or-no answer to question about input; NULL for a NULL
 * model, input or question, or a failure under on_error "null".
 */
Datum
bedrock_is_true(PG_FUNCTION_ARGS)
{
	SingleCall	sc;
	char	   *input;
	char	   *question;
	JsonbValue *v;
	bool		isnull = true;
	bool		answer = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	chat_single_begin(fcinfo, &sc, "bedrock_is_true", 3, CHAT_OPTIONS_EXTRACT);
	input = text_to_cstring(PG_GETARG_TEXT_PP(1));
	question = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (question[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("question of bedrock_is_true must not be empty")));

	v = single_member_extract(&sc, "bedrock_is_true", input,
							  "{\"type\": \"object\", \"properties\": {\"answer\": {\"type\": \"boolean\"}}, "
							  "\"required\": [\"answer\"], \"additionalProperties\": false}",
							  psprintf("Answer this question about the user's message with true or false, "
									   "as the member \"answer\": %s", question),
							  "answer");
	if (v != NULL && v->type == jbvBool)
	{
		isnull = false;
		answer = v->val.boolean;
	}
	MemoryContextSwitchTo(sc.outercxt);
	MemoryContextDelete(sc.callcxt);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(answer);
}
