/*-------------------------------------------------------------------------
 *
 * embed_family.c
 *	  The table of embedding model families, the embedding options (checked
 *	  against the family before anything is sent) and the reading of
 *	  vectors out of an untrusted response, which every family shares.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/embed_family.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "bedrock_fdw.h"
#include "embed_family.h"

static const EmbedFamily *const families[] = {
	&embed_family_titan_v2,
	&embed_family_titan_v1,
	&embed_family_cohere_v3,
	&embed_family_cohere_v4,
};

#define SUPPORTED_FAMILIES "Amazon Titan Text Embeddings v2 (amazon.titan-embed-text-v2:0), Titan Text Embeddings v1 (amazon.titan-embed-text-v1), Cohere Embed v3 (cohere.embed-english-v3, cohere.embed-multilingual-v3) and Cohere Embed v4 (cohere.embed-v4:0)"

/*
 * base_model_id
 *		The model id inside an ARN (what follows the last '/'), else the id.
 */
static const char *
base_model_id(const char *model)
{
	const char *slash = strrchr(model, '/');

	return slash ? slash + 1 : model;
}

/* Whether id is key, possibly followed by a version (":0"). */
static bool
is_model(const char *id, const char *key)
{
	size_t		klen = strlen(key);

	return strncmp(id, key, klen) == 0 && (id[klen] == '\0' || id[klen] == ':');
}

/*
 * key_matches
 *		Whether id is the model key, or a cross-region inference profile of
 *		it (its geography, "us." or "global." say, before the model id).
 */
static bool
key_matches(const char *id, const char *key)
{
	const char *dot = strchr(id, '.');

	if (is_model(id, key))
		return true;
	return dot != NULL && dot - id <= 6 && is_model(dot + 1, key);
}

/*
 * embed_family_lookup
 *		The family of model (an id, a cross-region profile id or an ARN
 *		naming one).  Raises 22023 for a model of no known family, before
 *		anything is sent, with the families there are and where to go for
 *		the others.
 */
const EmbedFamily *
embed_family_lookup(const char *model)
{
	const char *id = base_model_id(model);

	for (int i = 0; i < lengthof(families); i++)
	{
		for (const char *const *k = families[i]->model_keys; *k; k++)
		{
			if (key_matches(id, *k))
				return families[i];
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("model \"%s\" is not of a supported embedding model family",
					model),
			 errdetail("The embedding functions know the request and response of %s.",
					   SUPPORTED_FAMILIES),
			 errhint("For any other model, send its native request body with bedrock_invoke.")));
	return NULL;				/* keep compiler quiet */
}

/* What an option that the family does not take raises. */
static void
not_for_family(const char *funcname, const char *key, const EmbedFamily *family)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" of %s does not apply to %s models",
					key, funcname, family->name),
			 family->option_names[0] != '\0' ?
			 errhint("The options of %s models are: %s.", family->name,
					 family->option_names) :
			 errhint("%s models take no embedding options.", family->name)));
}

/* One of a fixed set of strings, or an error listing them. */
static const char *
choice_option(const char *funcname, const char *key, const JsonbValue *v,
			  const char *const *choices, const char *listed)
{
	if (v->type == jbvString)
	{
		for (; *choices; choices++)
		{
			if (strlen(*choices) == (size_t) v->val.string.len &&
				strncmp(*choices, v->val.string.val, v->val.string.len) == 0)
				return *choices;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\" of %s", key, funcname),
			 errhint("Valid values are %s.", listed)));
	return NULL;				/* keep compiler quiet */
}

/* One of the family's output sizes. */
static int
dimensions_option(const char *funcname, const char *key, const JsonbValue *v,
				  const EmbedFamily *family)
{
	StringInfoData listed;

	if (v->type == jbvNumeric)
	{
		double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
														   NumericGetDatum(v->val.numeric)));

		for (const int *c = family->dimension_choices; *c; c++)
		{
			if (d == (double) *c)
				return *c;
		}
	}
	initStringInfo(&listed);
	for (const int *c = family->dimension_choices; *c; c++)
		appendStringInfo(&listed, "%s%d", listed.len > 0 ? ", " : "", *c);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\" of %s", key, funcname),
			 errhint("%s models make vectors of %s dimensions.", family->name,
					 listed.data)));
	return 0;					/* keep compiler quiet */
}

/*
 * embed_options_parse
 *		The embedding options of an options object (NULL for none) that
 *		chat_options_parse left to us (CHAT_OPTIONS_EMBED): each must be one
 *		the family takes, with a valid value; raises 22023 naming the
 *		option otherwise.
 */
void
embed_options_parse(Jsonb *options, const char *funcname,
					const EmbedFamily *family, EmbedOptions *opts)
{
	static const char *const input_types[] = {"search_document", "search_query",
	"classification", "clustering", NULL};
	static const char *const truncates[] = {"NONE", "START", "END", "LEFT", "RIGHT", NULL};
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	opts->dimensions = 0;
	opts->normalize = -1;
	opts->input_type = NULL;
	opts->truncate = NULL;
	if (options == NULL)
		return;					/* chat_options_parse checked it is an object */

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		JsonbValue	val;
		int			which;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &val, true);
		if (strcmp(key, "dimensions") == 0)
			which = EMBED_OPT_DIMENSIONS;
		else if (strcmp(key, "output_dimension") == 0)
			which = EMBED_OPT_OUTPUT_DIMENSION;
		else if (strcmp(key, "normalize") == 0)
			which = EMBED_OPT_NORMALIZE;
		else if (strcmp(key, "input_type") == 0)
			which = EMBED_OPT_INPUT_TYPE;
		else if (strcmp(key, "truncate") == 0)
			which = EMBED_OPT_TRUNCATE;
		else
			continue;			/* chat_options_parse's */
		if (val.type == jbvNull)
			continue;			/* the default */
		if ((family->options & which) == 0)
			not_for_family(funcname, key, family);

		switch (which)
		{
			case EMBED_OPT_DIMENSIONS:
			case EMBED_OPT_OUTPUT_DIMENSION:
				opts->dimensions = dimensions_option(funcname, key, &val, family);
				break;
			case EMBED_OPT_NORMALIZE:
				if (val.type != jbvBool)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"%s\" of %s must be a boolean", key, funcname)));
				opts->normalize = val.val.boolean ? 1 : 0;
				break;
			case EMBED_OPT_INPUT_TYPE:
				opts->input_type = choice_option(funcname, key, &val, input_types,
												 "\"search_document\" (for stored text, the default), \"search_query\" (for queries), \"classification\" and \"clustering\"");
				break;
			case EMBED_OPT_TRUNCATE:
				opts->truncate = choice_option(funcname, key, &val, truncates,
											   "\"NONE\", \"START\" (or \"LEFT\": drop the start) and \"END\" (or \"RIGHT\": drop the end)");
				break;
		}
	}
}

/*
 * embed_read_vector
 *		A JSON array of finite numbers (at most EMBED_MAX_DIMENSIONS) as
 *		float4 values, palloc'd.  Returns NULL, or why it is not one.
 */
const char *
embed_read_vector(JsonbContainer *array, EmbedVector *out)
{
	int			n;

	if (array == NULL || !JsonContainerIsArray(array))
		return "an embedding is not an array";
	n = JsonContainerSize(array);
	if (n < 1 || n > EMBED_MAX_DIMENSIONS)
		return "an embedding has no or too many dimensions";
	out->dims = n;
	out->values = palloc(sizeof(float4) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(array, i);
		double		d;

		if (e == NULL || e->type != jbvNumeric)
			return "an embedding holds something else than numbers";
		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											   NumericGetDatum(e->val.numeric)));
		if (isnan(d) || isinf(d) || fabs(d) > FLT_MAX)
			return "an embedding holds a number out of range";
		out->values[i] = (float4) d;
		pfree(e);
	}
	return NULL;
}

/*
 * embed_read_vectors
 *		A JSON array of exactly n embeddings, all of the same length, into
 *		out[0..n-1].  Returns NULL, or why it is not one.
 */
const char *
embed_read_vectors(JsonbContainer *array, int n, EmbedVector *out)
{
	if (array == NULL || !JsonContainerIsArray(array))
		return "the embeddings are not an array";
	if (JsonContainerSize(array) != (uint32) n)
		return "the response does not hold one embedding per input";
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(array, i);
		const char *why;

		if (e == NULL || e->type != jbvBinary)
			return "an embedding is not an array";
		if ((why = embed_read_vector(e->val.binary.data, &out[i])) != NULL)
			return why;
		if (out[i].dims != out[0].dims)
			return "the embeddings differ in length";
	}
	return NULL;
}

/*
 * embed_input_too_long
 *		Whether the family would refuse input (server encoding) as too long
 *		rather than truncate it: more characters than it takes with
 *		truncation off.
 */
bool
embed_input_too_long(const EmbedFamily *family, const EmbedOptions *opts,
					 const char *input)
{
	bool		truncating = opts->truncate != NULL && strcmp(opts->truncate, "NONE") != 0;

	return family->max_text_chars > 0 && !truncating &&
		pg_mbstrlen(input) > family->max_text_chars;
}

/*
 * embed_check_input
 *		Refuse an input no request could carry, before anything is sent: an
 *		empty one (NULL is the way to skip a row), or one longer than the
 *		family takes without truncation.  position counts from 1 in a batch,
 *		0 for a single input.
 */
void
embed_check_input(const EmbedFamily *family, const EmbedOptions *opts,
				  const char *input, int position, const char *funcname)
{
	if (input[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 position > 0 ?
				 errmsg("input %d of %s is empty", position, funcname) :
				 errmsg("input of %s must not be empty", funcname),
				 errhint("Pass NULL to skip a row without calling Bedrock.")));
	if (embed_input_too_long(family, opts, input))
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 position > 0 ?
				 errmsg("input %d of %s is too long for %s", position, funcname, family->name) :
				 errmsg("input of %s is too long for %s", funcname, family->name),
				 errdetail("It has %d characters; %s models take at most %d without truncation.",
						   pg_mbstrlen(input), family->name, family->max_text_chars),
				 errhint("Set the option \"truncate\" to \"END\" (or \"START\") to embed the part that fits.")));
}
