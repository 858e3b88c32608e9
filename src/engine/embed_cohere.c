/*-------------------------------------------------------------------------
 *
 * embed_cohere.c
 *	  The Cohere Embed families: up to 96 texts per request,
 *	  {"texts": [...], "input_type": ..., "truncate": ...} (v4 adds
 *	  "output_dimension" and asks for "embedding_types": ["float"]),
 *	  answered with {"embeddings": [[...], ...]} or, by type,
 *	  {"embeddings": {"float": [[...], ...]}}.
 *
 * Cohere requires input_type: search_document (for the text one stores)
 * unless the caller says otherwise.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/embed_cohere.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "bedrock_fdw.h"
#include "embed_family.h"

static const char *const cohere_v3_models[] = {"cohere.embed-english-v3",
"cohere.embed-multilingual-v3", NULL};
static const char *const cohere_v4_models[] = {"cohere.embed-v4", NULL};
static const int cohere_v4_dimensions[] = {256, 512, 1024, 1536, 0};

/*
 * truncate_value
 *		The option "truncate" in the words of the version: v3 says START
 *		and END, v4 LEFT and RIGHT for dropping the start or the end.
 */
static const char *
truncate_value(const char *truncate, bool v4)
{
	if (strcmp(truncate, "START") == 0 || strcmp(truncate, "LEFT") == 0)
		return v4 ? "LEFT" : "START";
	if (strcmp(truncate, "END") == 0 || strcmp(truncate, "RIGHT") == 0)
		return v4 ? "RIGHT" : "END";
	return truncate;			/* NONE */
}

/* the members both versions send */
static void
cohere_common(StringInfo body, const char *const *texts, int n,
			  const EmbedOptions *opts, bool v4)
{
	appendStringInfoString(body, "{\"texts\":[");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(body, ',');
		json_append_string(body, texts[i]);
	}
	appendStringInfo(body, "],\"input_type\":\"%s\"",
					 opts->input_type ? opts->input_type : "search_document");
	if (opts->truncate != NULL)
		appendStringInfo(body, ",\"truncate\":\"%s\"", truncate_value(opts->truncate, v4));
}

static void
cohere_v3_build_body(StringInfo body, const char *const *texts, int n,
					 const EmbedOptions *opts)
{
	cohere_common(body, texts, n, opts, false);
	appendStringInfoChar(body, '}');
}

static void
cohere_v4_build_body(StringInfo body, const char *const *texts, int n,
					 const EmbedOptions *opts)
{
	cohere_common(body, texts, n, opts, true);
	if (opts->dimensions > 0)
		appendStringInfo(body, ",\"output_dimension\":%d", opts->dimensions);
	appendStringInfoString(body, ",\"embedding_types\":[\"float\"]}");
}

/*
 * The "embeddings" of either response type; the token count is in the
 * X-Amzn-Bedrock-Input-Token-Count header only.
 */
static const char *
cohere_parse_response(JsonbContainer *root, int n, EmbedVector *out,
					  int64 *input_tokens)
{
	JsonbValue	v;
	JsonbContainer *floats;

	if (json_get_key(root, "embeddings", &v) == NULL || v.type != jbvBinary)
		return "the response has no embeddings";
	floats = v.val.binary.data;
	if (JsonContainerIsObject(floats))
		floats = json_get_array(floats, "float");
	return embed_read_vectors(floats, n, out);
}

const EmbedFamily embed_family_cohere_v3 = {
	.name = "Cohere Embed v3",
	.model_keys = cohere_v3_models,
	.options = EMBED_OPT_INPUT_TYPE | EMBED_OPT_TRUNCATE,
	.option_names = "input_type, truncate",
	.dimension_choices = NULL,
	.max_texts = 96,
	.max_text_chars = 2048,
	.max_request_chars = 96 * 2048,
	.build_body = cohere_v3_build_body,
	.parse_response = cohere_parse_response,
};

/* 128k tokens of context a request: about 4 characters a token */
const EmbedFamily embed_family_cohere_v4 = {
	.name = "Cohere Embed v4",
	.model_keys = cohere_v4_models,
	.options = EMBED_OPT_INPUT_TYPE | EMBED_OPT_TRUNCATE | EMBED_OPT_OUTPUT_DIMENSION,
	.option_names = "input_type, truncate, output_dimension (256, 512, 1024 or 1536)",
	.dimension_choices = cohere_v4_dimensions,
	.max_texts = 96,
	.max_text_chars = 0,
	.max_request_chars = 128000 * 4,
	.build_body = cohere_v4_build_body,
	.parse_response = cohere_parse_response,
};
