'use strict';
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

function headerNames(r) {
  const names = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) names.push(r.rawHeaders[i]);
  return names;
}

function expectMalformed(r, detail) {
  assert.equal(r.status, 400, r.text);
  assert.match(r.headers['x-amzn-errortype'], /^ValidationException:/);
  const m = /^Malformed input request: (.*), please reformat your input and try again\.$/.exec(r.json.message);
  assert.ok(m, r.json.message);
  if (detail instanceof RegExp) assert.match(m[1], detail);
  else if (detail) assert.equal(m[1], detail);
}

test('gpt-oss chat completion with inline <reasoning> and token headers (exact casing)', async () => {
  const r = await t.invoke(port, 'openai.gpt-oss-20b-1:0', {
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'What is 2+2?' },
    ],
    max_completion_tokens: 256,
    temperature: 0.7,
    reasoning_effort: 'low',
  });
  assert.equal(r.status, 200, r.text);
  const names = headerNames(r);
  for (const h of ['X-Amzn-Bedrock-Input-Token-Count', 'X-Amzn-Bedrock-Output-Token-Count', 'X-Amzn-Bedrock-Invocation-Latency', 'x-amzn-RequestId']) {
    assert.ok(names.includes(h), `${h} in ${names.join()}`);
  }
  const j = r.json;
  assert.equal(j.object, 'chat.completion');
  assert.equal(j.model, 'openai.gpt-oss-20b-1:0');
  assert.match(j.id, /^chatcmpl-/);
  assert.match(j.choices[0].message.content, /^<reasoning>.+<\/reasoning>Summary \(3 words\): What is 2\+2\?$/);
  assert.equal(j.choices[0].finish_reason, 'stop');
  assert.equal(Number(r.headers['x-amzn-bedrock-input-token-count']), j.usage.prompt_tokens);
  assert.equal(Number(r.headers['x-amzn-bedrock-output-token-count']), j.usage.completion_tokens);
  assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.usage.completion_tokens);
  const short = await t.invoke(port, 'openai.gpt-oss-120b-1:0', { messages: [{ role: 'user', content: [{ type: 'text', text: 'echo: 0123456789abcdef' }] }], max_tokens: 16 });
  assert.equal(short.json.choices[0].finish_reason, 'length');
  expectMalformed(await t.invoke(port, 'openai.gpt-oss-20b-1:0', { prompt: 'x' }), '#: required key [messages] not found');
  expectMalformed(await t.invoke(port, 'openai.gpt-oss-20b-1:0', { messages: [{ role: 'user', content: 'x' }], stream: true }), /stream/);
  expectMalformed(await t.invoke(port, 'openai.gpt-oss-20b-1:0', { messages: [{ role: 'user', content: 'x' }], model: 'openai.gpt-oss-120b-1:0' }), /model/);
});

test('Anthropic messages', async () => {
  const body = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, system: 'Be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello Claude' }] }] };
  const r = await t.invoke(port, 'anthropic.claude-3-haiku-20240307-v1:0', body);
  assert.equal(r.status, 200, r.text);
  const j = r.json;
  assert.equal(j.type, 'message');
  assert.equal(j.role, 'assistant');
  assert.match(j.id, /^msg_bdrk_/);
  assert.equal(j.model, 'claude-3-haiku-20240307');
  assert.deepEqual(j.content, [{ type: 'text', text: 'Summary (2 words): Hello Claude' }]);
  assert.equal(j.stop_reason, 'end_turn');
  assert.equal(j.stop_sequence, null);
  assert.equal(j.usage.input_tokens, Math.ceil(('Be brief'.length + 'Hello Claude'.length) / 4));
  assert.equal(Number(r.headers['x-amzn-bedrock-output-token-count']), j.usage.output_tokens);
  const stop = await t.invoke(port, 'us.anthropic.claude-3-5-haiku-20241022-v1:0', { ...body, messages: [{ role: 'user', content: 'echo: one STOP two' }], stop_sequences: ['STOP'] });
  assert.equal(stop.json.stop_reason, 'stop_sequence');
  assert.equal(stop.json.stop_sequence, 'STOP');
  assert.equal(stop.json.content[0].text, 'one ');
  const { max_tokens: _m, ...noMax } = body;
  expectMalformed(await t.invoke(port, 'anthropic.claude-3-haiku-20240307-v1:0', noMax), '#: required key [max_tokens] not found');
  const { anthropic_version: _v, ...noVer } = body;
  expectMalformed(await t.invoke(port, 'anthropic.claude-3-haiku-20240307-v1:0', noVer), '#: required key [anthropic_version] not found');
  expectMalformed(await t.invoke(port, 'anthropic.claude-3-haiku-20240307-v1:0', { ...body, foo: 1 }), '#: extraneous key [foo] is not permitted');
  expectMalformed(await t.invoke(port, 'anthropic.claude-3-haiku-20240307-v1:0', { foo: 1 }), '4 schema violations found');
  expectMalformed(await t.invoke(port, 'anthropic.claude-3-haiku-20240307-v1:0', Buffer.from('not json')), 'the request body is not valid JSON');
  const tooMany = await t.invoke(port, 'anthropic.claude-3-haiku-20240307-v1:0', { ...body, max_tokens: 9000 });
  assert.equal(tooMany.status, 400);
  assert.match(tooMany.json.message, /max_tokens: 9000 > 4096/);
});

test('Titan text express', async () => {
  const r = await t.invoke(port, 'amazon.titan-text-express-v1', { inputText: 'echo: Datadog is a monitoring platform', textGenerationConfig: { maxTokenCount: 5, temperature: 0, topP: 0.9, stopSequences: [] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    inputTextTokenCount: Math.ceil('echo: Datadog is a monitoring platform'.length / 4),
    results: [{ tokenCount: 5, outputText: 'Datadog is a monitor', completionReason: 'LENGTH' }],
  });
  assert.equal(r.headers['x-amzn-bedrock-output-token-count'], '5');
  const fin = await t.invoke(port, 'amazon.titan-text-express-v1', { inputText: 'hello' });
  assert.equal(fin.json.results[0].completionReason, 'FINISH');
  expectMalformed(await t.invoke(port, 'amazon.titan-text-express-v1', { inputText: '' }), '#/inputText: expected minLength: 1, actual: 0');
  expectMalformed(await t.invoke(port, 'amazon.titan-text-express-v1', { inputText: 'x', textGenerationConfig: { temperature: 'hot' } }), '#/textGenerationConfig/temperature: expected type: Number, found: String');
});

test('Titan embeddings v2: deterministic unit vectors, dimensions, embeddingsByType, no output-token header', async () => {
  const a = await t.invoke(port, 'amazon.titan-embed-text-v2:0', { inputText: 'hello world' });
  const b = await t.invoke(port, 'amazon.titan-embed-text-v2:0', { inputText: 'hello world' });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.embedding.length, 1024);
  assert.deepEqual(a.json.embedding, b.json.embedding);
  assert.deepEqual(a.json.embeddingsByType, { float: a.json.embedding });
  assert.equal(a.json.inputTextTokenCount, 3);
  const norm = Math.sqrt(a.json.embedding.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, String(norm));
  const names = headerNames(a);
  assert.ok(names.includes('X-Amzn-Bedrock-Input-Token-Count'));
  assert.ok(names.includes('X-Amzn-Bedrock-Invocation-Latency'));
  assert.ok(!names.includes('X-Amzn-Bedrock-Output-Token-Count'));
  for (const dims of [512, 256]) {
    const r = await t.invoke(port, 'amazon.titan-embed-text-v2:0', { inputText: 'hello world', dimensions: dims, embeddingTypes: ['float', 'binary'] });
    assert.equal(r.json.embedding.length, dims);
    assert.equal(r.json.embeddingsByType.binary.length, dims);
    assert.ok(r.json.embeddingsByType.binary.every((x) => x === 0 || x === 1));
  }
  // related texts are closer than unrelated ones
  const v = async (s) => (await t.invoke(port, 'amazon.titan-embed-text-v2:0', { inputText: s })).json.embedding;
  const cat = await v('the cat sat on the mat');
  const cat2 = await v('a cat sat on a mat');
  const sql = await v('postgres foreign data wrapper');
  assert.ok(cosine(cat, cat2) > cosine(cat, sql) + 0.2);
  expectMalformed(await t.invoke(port, 'amazon.titan-embed-text-v2:0', { inputText: 'x', dimensions: 100 }), '#/dimensions: 100 is not a valid enum value');
  expectMalformed(await t.invoke(port, 'amazon.titan-embed-text-v2:0', { text: 'x' }), '2 schema violations found');
  expectMalformed(await t.invoke(port, 'amazon.titan-embed-text-v2:0', { inputText: 'x'.repeat(50001) }), '#/inputText: expected maxLength: 50000, actual: 50001');
  expectMalformed(await t.invoke(port, 'amazon.titan-embed-text-v2:0', Buffer.from('[1]')), '#: expected type: JSONObject, found: JSONArray');
});

test('Cohere embed v3: lower-cased texts, id equals the request id, typed embeddings', async () => {
  const r = await t.invoke(port, 'cohere.embed-english-v3', { texts: ['Hello World!', 'Goodbye cruel world!'], input_type: 'search_document' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.id, r.headers['x-amzn-requestid']);
  assert.equal(r.json.response_type, 'embeddings_floats');
  assert.deepEqual(r.json.texts, ['hello world!', 'goodbye cruel world!']);
  assert.equal(r.json.embeddings.length, 2);
  assert.equal(r.json.embeddings[0].length, 1024);
  assert.ok(!('x-amzn-bedrock-output-token-count' in r.headers));
  assert.equal(r.headers['x-amzn-bedrock-input-token-count'], String(Math.ceil(12 / 4) + Math.ceil(20 / 4)));
  const typed = await t.invoke(port, 'cohere.embed-multilingual-v3', { texts: ['Bonjour'], input_type: 'search_query', embedding_types: ['float', 'int8', 'ubinary'] });
  assert.equal(typed.json.response_type, 'embeddings_by_type');
  assert.deepEqual(Object.keys(typed.json.embeddings).sort(), ['float', 'int8', 'ubinary']);
  assert.equal(typed.json.embeddings.ubinary[0].length, 128);
  expectMalformed(await t.invoke(port, 'cohere.embed-english-v3', { texts: ['x'] }), '#: required key [input_type] not found');
  expectMalformed(await t.invoke(port, 'cohere.embed-english-v3', { texts: ['x'.repeat(2049)], input_type: 'search_query' }), '#/texts/0: expected maxLength: 2048, actual: 2049');
  const trunc = await t.invoke(port, 'cohere.embed-english-v3', { texts: ['x'.repeat(2049)], input_type: 'search_query', truncate: 'END' });
  assert.equal(trunc.status, 200);
  expectMalformed(await t.invoke(port, 'cohere.embed-english-v3', { texts: Array(97).fill('a'), input_type: 'clustering' }), '#/texts: expected maximum item count: 96, found: 97');
});

test('InvokeModel model errors behave like Converse (invalid id, access, on-demand)', async () => {
  let r = await t.invoke(port, 'nope', { inputText: 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.json.message, 'The provided model identifier is invalid.');
  r = await t.invoke(port, 'anthropic.claude-3-opus-20240229-v1:0', { anthropic_version: 'bedrock-2023-05-31', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(r.status, 403);
  r = await t.invoke(port, 'anthropic.claude-3-5-haiku-20241022-v1:0', {});
  assert.match(r.json.message, /on-demand throughput/);
});

test('CountTokens (Anthropic only)', async () => {
  const path = t.modelPath('anthropic.claude-3-haiku-20240307-v1:0', 'count-tokens');
  let r = await t.signedCall({ port, path, body: { input: { converse: { messages: [{ role: 'user', content: [{ text: 'Hello there' }] }], system: [{ text: 'Be brief' }] } } } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { inputTokens: Math.ceil(('Hello there'.length + 'Be brief'.length + 1) / 4) });
  const inner = Buffer.from(JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [{ role: 'user', content: 'Hello there' }] })).toString('base64');
  r = await t.signedCall({ port, path, body: { input: { invokeModel: { body: inner } } } });
  assert.deepEqual(r.json, { inputTokens: 3 });
  r = await t.signedCall({ port, path: t.modelPath('openai.gpt-oss-20b-1:0', 'count-tokens'), body: { input: {} } });
  assert.equal(r.status, 400);
});

test('streaming operations are routed but not implemented (400 ValidationException)', async () => {
  const r = await t.signedCall({ port, path: t.modelPath('anthropic.claude-3-haiku-20240307-v1:0', 'converse-stream'), body: t.userMsg('x') });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /streaming/);
});
