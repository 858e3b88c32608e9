'use strict';
// InvokeModel for the embedding models (aws-protocol.md sections 2.3 and 2.4): Amazon Titan Text
// Embeddings v1 and v2 (one text a request) and Cohere Embed v3 and v4 (up to 96 texts a request),
// with deterministic vectors (textgen.embed: texts sharing words point the same way, so cosine
// order is meaningful) and Bedrock's limits and ValidationException texts.

const { validation } = require('./errors');
const tg = require('./textgen');
const { Violations, ok, tokenHeaders } = require('./native');
const { TOO_LONG } = require('./converse');

const COHERE_MAX_TEXTS = 96;
const COHERE_TYPES = ['float', 'int8', 'uint8', 'binary', 'ubinary'];

// ---- Titan Text Embeddings v1 and v2 ---------------------------------------------------------

function invokeTitanEmbed(ctx, req) {
  const { model } = ctx;
  const v2 = model.embedVersion === 2;
  const v = new Violations();
  v.keys(req, '#', v2 ? ['inputText', 'dimensions', 'normalize', 'embeddingTypes'] : ['inputText'], ['inputText']);
  if ('inputText' in req && v.type(req.inputText, '#/inputText', 'String')) {
    if (req.inputText.length === 0) v.add('#/inputText: expected minLength: 1, actual: 0');
    if (req.inputText.length > model.maxChars) v.add(`#/inputText: expected maxLength: ${model.maxChars}, actual: ${req.inputText.length}`);
  }
  if ('dimensions' in req && v.type(req.dimensions, '#/dimensions', 'Integer') && ![256, 512, 1024].includes(req.dimensions)) {
    v.add(`#/dimensions: ${req.dimensions} is not a valid enum value`);
  }
  if ('normalize' in req) v.type(req.normalize, '#/normalize', 'Boolean');
  if ('embeddingTypes' in req && v.type(req.embeddingTypes, '#/embeddingTypes', 'JSONArray')) {
    if (req.embeddingTypes.length === 0) v.add('#/embeddingTypes: expected minimum item count: 1, found: 0');
    req.embeddingTypes.forEach((t, i) => {
      if (!['float', 'binary'].includes(t)) v.add(`#/embeddingTypes/${i}: ${t} is not a valid enum value`);
    });
  }
  if (v.any) return v.response();
  const inputTokens = tg.atLeastOne(tg.countTokens(req.inputText));
  if (inputTokens > model.contextTokens) return validation(TOO_LONG);
  const latency = ctx.elapsed();
  if (!v2) {
    // v1: 1536 unit-length dimensions, no options, no embeddingsByType
    const vec = tg.embed(req.inputText, model.dimensions, true);
    return ok({ embedding: vec, inputTextTokenCount: inputTokens }, { inputTokens, outputTokens: null }, tokenHeaders(inputTokens, null, latency));
  }
  const vec = tg.embed(req.inputText, req.dimensions ?? 1024, req.normalize !== false);
  const types = req.embeddingTypes || ['float'];
  const byType = {};
  if (types.includes('float')) byType.float = vec;
  if (types.includes('binary')) byType.binary = tg.toBinary01(vec);
  return ok(
    { embedding: vec, embeddingsByType: byType, inputTextTokenCount: inputTokens },
    { inputTokens, outputTokens: null },
    tokenHeaders(inputTokens, null, latency),
  );
}

// ---- Cohere Embed v3 and v4 ------------------------------------------------------------------

function cohereViolations(req, model) {
  const v4 = model.embedVersion === 4;
  const v = new Violations();
  const keys = ['texts', 'images', 'input_type', 'truncate', 'embedding_types'];
  if (v4) keys.push('inputs', 'output_dimension', 'max_tokens');
  v.keys(req, '#', keys, ['input_type']);
  if (!('texts' in req) && !('images' in req) && !('inputs' in req)) v.add('#: required key [texts] not found');
  const inputTypes = ['search_document', 'search_query', 'classification', 'clustering'];
  if (!v4) inputTypes.push('image');
  if ('input_type' in req && !inputTypes.includes(req.input_type)) v.add(`#/input_type: ${req.input_type} is not a valid enum value`);
  const truncates = v4 ? ['NONE', 'LEFT', 'RIGHT'] : ['NONE', 'START', 'END'];
  if ('truncate' in req && !truncates.includes(req.truncate)) v.add(`#/truncate: ${req.truncate} is not a valid enum value`);
  if ('texts' in req && v.type(req.texts, '#/texts', 'JSONArray')) {
    if (req.texts.length > COHERE_MAX_TEXTS) v.add(`#/texts: expected maximum item count: ${COHERE_MAX_TEXTS}, found: ${req.texts.length}`);
    const truncating = req.truncate && req.truncate !== 'NONE';
    req.texts.forEach((t, i) => {
      if (v.type(t, `#/texts/${i}`, 'String') && model.maxChars && !truncating && t.length > model.maxChars) {
        v.add(`#/texts/${i}: expected maxLength: ${model.maxChars}, actual: ${t.length}`);
      }
    });
  }
  if ('images' in req || 'inputs' in req) v.add(`#/${'images' in req ? 'images' : 'inputs'}: image input is not supported by this emulator`);
  if ('output_dimension' in req && v.type(req.output_dimension, '#/output_dimension', 'Integer') && ![256, 512, 1024, 1536].includes(req.output_dimension)) {
    v.add(`#/output_dimension: ${req.output_dimension} is not a valid enum value`);
  }
  if ('embedding_types' in req && v.type(req.embedding_types, '#/embedding_types', 'JSONArray')) {
    req.embedding_types.forEach((t, i) => {
      if (!COHERE_TYPES.includes(t)) v.add(`#/embedding_types/${i}: ${t} is not a valid enum value`);
    });
  }
  return v;
}

function invokeCohereEmbed(ctx, req) {
  const { model } = ctx;
  const v = cohereViolations(req, model);
  if (v.any) return v.response();
  const dropStart = req.truncate === 'START' || req.truncate === 'LEFT';
  const texts = (req.texts || []).map((t) => {
    if (!model.maxChars || t.length <= model.maxChars) return t;
    return dropStart ? t.slice(t.length - model.maxChars) : t.slice(0, model.maxChars);
  });
  let inputTokens = 0;
  for (const t of texts) inputTokens += tg.countTokens(t);
  inputTokens = tg.atLeastOne(inputTokens);
  // v4: 128k tokens of context for the whole request
  if (inputTokens > model.contextTokens && model.embedVersion === 4) return validation(TOO_LONG);
  const dims = req.output_dimension ?? model.dimensions;
  const vectors = texts.map((t) => tg.embed(t, dims, true));
  let embeddings;
  let responseType;
  if (Array.isArray(req.embedding_types) && req.embedding_types.length) {
    responseType = 'embeddings_by_type';
    embeddings = {};
    for (const t of req.embedding_types) {
      if (t === 'float') embeddings.float = vectors;
      if (t === 'int8') embeddings.int8 = vectors.map(tg.quantizeInt8);
      if (t === 'uint8') embeddings.uint8 = vectors.map((x) => tg.quantizeInt8(x).map((q) => q + 128));
      if (t === 'binary') embeddings.binary = vectors.map((x) => tg.packBits(x, true));
      if (t === 'ubinary') embeddings.ubinary = vectors.map((x) => tg.packBits(x, false));
    }
  } else {
    responseType = 'embeddings_floats';
    embeddings = vectors;
  }
  const latency = ctx.elapsed();
  return ok(
    { embeddings, id: ctx.requestId, response_type: responseType, texts: (req.texts || []).map((t) => t.toLowerCase()) },
    { inputTokens, outputTokens: null },
    tokenHeaders(inputTokens, null, latency),
  );
}

module.exports = { invokeTitanEmbed, invokeCohereEmbed, COHERE_MAX_TEXTS };
