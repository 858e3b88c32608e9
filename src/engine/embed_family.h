/*-------------------------------------------------------------------------
 *
 * embed_family.h
 *	  Embedding model families: how each one's InvokeModel request is
 *	  built and its response read, behind one small table, so that the
 *	  next family is one more entry and one more file.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/embed_family.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_EMBED_FAMILY_H
#define BEDROCK_EMBED_FAMILY_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* the options a family takes (EmbedFamily.options) */
#define EMBED_OPT_DIMENSIONS		0x01	/* "dimensions" (Titan v2) */
#define EMBED_OPT_NORMALIZE			0x02	/* "normalize" (Titan v2) */
#define EMBED_OPT_INPUT_TYPE		0x04	/* "input_type" (Cohere) */
#define EMBED_OPT_TRUNCATE			0x08	/* "truncate" (Cohere) */
#define EMBED_OPT_OUTPUT_DIMENSION	0x10	/* "output_dimension" (Cohere v4) */

/* longest vector we accept from the network */
#define EMBED_MAX_DIMENSIONS 16000

typedef struct EmbedOptions
{
	int			dimensions;		/* dimensions or output_dimension; 0: the
								 * model's default */
	int			normalize;		/* -1: the model's default, else 0 or 1 */
	const char *input_type;		/* NULL: search_document */
	const char *truncate;		/* NULL: the model's default */
} EmbedOptions;

/* One vector read from a response: dims float4 values. */
typedef struct EmbedVector
{
	int			dims;
	float4	   *values;
} EmbedVector;

typedef struct EmbedFamily
{
	const char *name;			/* for messages: "Cohere Embed v3" */
	const char *const *model_keys;	/* NULL-terminated: base model ids */
	int			options;		/* EMBED_OPT_* it takes */
	const char *option_names;	/* the same, for hints */
	const int  *dimension_choices;	/* 0-terminated; NULL: none */
	int			max_texts;		/* texts per request */
	int			max_text_chars; /* per text, untruncated; 0: not checked */
	int			max_request_chars;	/* all texts of one request */

	/*
	 * The request body (UTF-8 JSON) embedding texts[0..n-1] (server
	 * encoding), appended to body.
	 */
	void		(*build_body) (StringInfo body, const char *const *texts, int n,
							   const EmbedOptions *opts);

	/*
	 * Read n vectors from a response into out[0..n-1]; *input_tokens gets
	 * the count the body states (left alone when it states none).  Returns
	 * NULL, or why the response is not one (a failure of the call).
	 */
	const char *(*parse_response) (JsonbContainer *root, int n, EmbedVector *out,
								   int64 *input_tokens);
} EmbedFamily;

/* in embed_family.c */
extern const EmbedFamily *embed_family_lookup(const char *model);
extern void embed_options_parse(Jsonb *options, const char *funcname,
								const EmbedFamily *family, EmbedOptions *opts);
extern const char *embed_read_vector(JsonbContainer *array, EmbedVector *out);
extern const char *embed_read_vectors(JsonbContainer *array, int n, EmbedVector *out);
extern void embed_check_input(const EmbedFamily *family, const EmbedOptions *opts,
							  const char *input, int position, const char *funcname);
extern bool embed_input_too_long(const EmbedFamily *family, const EmbedOptions *opts,
								 const char *input);

/* in embed_titan.c and embed_cohere.c: the families */
extern const EmbedFamily embed_family_titan_v1;
extern const EmbedFamily embed_family_titan_v2;
extern const EmbedFamily embed_family_cohere_v3;
extern const EmbedFamily embed_family_cohere_v4;

#endif							/* BEDROCK_EMBED_FAMILY_H */
