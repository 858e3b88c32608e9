'use strict';
// The embedding models of lib/embeddings.js: Titan v1/v2 and Cohere v3/v4 request and response
// shapes, Cohere's 96-text and size limits, and deterministic vectors whose cosine order follows
// the words texts share.
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');
const { cosine } = require('../lib/textgen');

let port;
let stop;
test.before(async () => {
  ({ port, stop } = await t.startEmulator());
});
test.after(() => stop());

function expectMalformed(r, detail) {
  assert.equal(r.status, 400, r.text);
  assert.match(r.headers['x-amzn-errortype'], /^ValidationException:/);
  assert.equal(r.json.message, `Malformed input request: ${detail}, please reformat your input and try again.`);
}

test('Titan v1: 1536 unit-length dimensions, inputText only', async () => {
  const r = await t.invoke(port, 'amazon.titan-embed-text-v1', { inputText: 'hello world' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.embedding.length, 1536);
  assert.equal(r.json.inputTextTokenCount, 3);
  assert.equal(r.json.embeddingsByType, undefined);
  assert.equal(r.headers['x-amzn-bedrock-input-token-count'], '3');
  const norm = Math.sqrt(r.json.embedding.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, String(norm));
  expectMalformed(await t.invoke(port, 'amazon.titan-embed-text-v1', { inputText: 'x', dimensions: 256 }), '#: extraneous key [dimensions] is not permitted');
});

test('Cohere v3: at most 96 texts of at most 2048 characters unless truncating', async () => {
  const texts = Array.from({ length: 96 }, (_, i) => `clause ${i}`);
  const r = await t.invoke(port, 'cohere.embed-english-v3', { texts, input_type: 'search_document' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.embeddings.length, 96);
  assert.equal(Number(r.headers['x-amzn-bedrock-input-token-count']) > 96, true);
  expectMalformed(await t.invoke(port, 'cohere.embed-english-v3', { texts: [...texts, 'one more'], input_type: 'search_document' }), '#/texts: expected maximum item count: 96, found: 97');
  expectMalformed(await t.invoke(port, 'cohere.embed-english-v3', { texts: ['x'.repeat(2049)], input_type: 'search_query' }), '#/texts/0: expected maxLength: 2048, actual: 2049');
  const cut = await t.invoke(port, 'cohere.embed-english-v3', { texts: ['x'.repeat(2049)], input_type: 'search_query', truncate: 'END' });
  assert.equal(cut.status, 200, cut.text);
  expectMalformed(await t.invoke(port, 'cohere.embed-english-v3', { texts: ['x'] }), '#: required key [input_type] not found');
  expectMalformed(await t.invoke(port, 'cohere.embed-english-v3', { texts: ['x'], input_type: 'search_query', truncate: 'LEFT' }), '#/truncate: LEFT is not a valid enum value');
});

test('Cohere v4: output_dimension, embeddings by type, LEFT/RIGHT truncation, 128k tokens a request', async () => {
  const r = await t.invoke(port, 'cohere.embed-v4:0', { texts: ['a', 'b c'], input_type: 'search_query', output_dimension: 256, embedding_types: ['float'] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.response_type, 'embeddings_by_type');
  assert.equal(r.json.embeddings.float.length, 2);
  assert.equal(r.json.embeddings.float[0].length, 256);
  const d = await t.invoke(port, 'cohere.embed-v4:0', { texts: ['a'], input_type: 'search_query' });
  assert.equal(d.json.embeddings[0].length, 1536);
  expectMalformed(await t.invoke(port, 'cohere.embed-v4:0', { texts: ['a'], input_type: 'search_query', output_dimension: 300 }), '#/output_dimension: 300 is not a valid enum value');
  expectMalformed(await t.invoke(port, 'cohere.embed-v4:0', { texts: ['a'], input_type: 'search_query', truncate: 'END' }), '#/truncate: END is not a valid enum value');
  const long = await t.invoke(port, 'cohere.embed-v4:0', { texts: ['word '.repeat(130000)], input_type: 'search_document' });
  assert.equal(long.status, 400, long.text);
  assert.equal(long.json.message, 'Input is too long for requested model.');
});

test('cosine order: texts sharing words are closer, for every family', async () => {
  const texts = ['the tenant pays the rent monthly', 'rent is paid monthly by the tenant', 'the server restarts at midnight'];
  for (const model of ['amazon.titan-embed-text-v1', 'amazon.titan-embed-text-v2:0']) {
    const v = [];
    for (const s of texts) v.push((await t.invoke(port, model, { inputText: s })).json.embedding);
    assert.ok(cosine(v[0], v[1]) > cosine(v[0], v[2]), model);
  }
  for (const model of ['cohere.embed-english-v3', 'cohere.embed-v4:0']) {
    const v = (await t.invoke(port, model, { texts, input_type: 'search_document' })).json.embeddings;
    assert.ok(cosine(v[0], v[1]) > cosine(v[0], v[2]), model);
  }
});
