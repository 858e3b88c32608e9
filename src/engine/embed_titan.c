/*-------------------------------------------------------------------------
 *
 * embed_titan.c
 *	  The Amazon Titan Text Embeddings families: one text per request,
 *	  {"inputText": ...} (v2 adds "dimensions" and "normalize"), answered
 *	  with {"embedding": [...], "inputTextTokenCount": n}.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/embed_titan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "bedrock_fdw.h"
#include "embed_family.h"

static const char *const titan_v1_models[] = {"amazon.titan-embed-text-v1",
"amazon.titan-embed-g1-text-02", NULL};
static const char *const titan_v2_models[] = {"amazon.titan-embed-text-v2", NULL};
static const int titan_v2_dimensions[] = {256, 512, 1024, 0};

/* {"inputText": text[, "dimensions": n][, "normalize": b]} */
static void
titan_build_body(StringInfo body, const char *const *texts, int n,
				 const EmbedOptions *opts)
{
	Assert(n == 1);
	appendStringInfoString(body, "{\"inputText\":");
	json_append_string(body, texts[0]);
	if (opts->dimensions > 0)
		appendStringInfo(body, ",\"dimensions\":%d", opts->dimensions);
	if (opts->normalize >= 0)
		appendStringInfo(body, ",\"normalize\":%s", opts->normalize ? "true" : "false");
	appendStringInfoChar(body, '}');
}

/* "embedding" and "inputTextTokenCount" of the response */
static const char *
titan_parse_response(JsonbContainer *root, int n, EmbedVector *out,
					 int64 *input_tokens)
{
	JsonbValue	v;
	int64		tokens;

	Assert(n == 1);
	if (json_get_key(root, "embedding", &v) == NULL || v.type != jbvBinary)
		return "the response has no embedding";
	if (json_get_int64(root, "inputTextTokenCount", &tokens) && tokens >= 0)
		*input_tokens = tokens;
	return embed_read_vector(v.val.binary.data, &out[0]);
}

const EmbedFamily embed_family_titan_v1 = {
	.name = "Titan Text Embeddings v1",
	.model_keys = titan_v1_models,
	.options = 0,
	.option_names = "",
	.dimension_choices = NULL,
	.max_texts = 1,
	.max_text_chars = 0,		/* 8k tokens: Bedrock judges */
	.max_request_chars = 0,
	.build_body = titan_build_body,
	.parse_response = titan_parse_response,
};

const EmbedFamily embed_family_titan_v2 = {
	.name = "Titan Text Embeddings v2",
	.model_keys = titan_v2_models,
	.options = EMBED_OPT_DIMENSIONS | EMBED_OPT_NORMALIZE,
	.option_names = "dimensions (256, 512 or 1024), normalize",
	.dimension_choices = titan_v2_dimensions,
	.max_texts = 1,
	.max_text_chars = 50000,
	.max_request_chars = 0,
	.build_body = titan_build_body,
	.parse_response = titan_parse_response,
};
