'use strict';
// CountTokens (POST /model/{modelId}/count-tokens): the count agrees with
// the inputTokens Converse reports for the same request, only foundation
// model ids are taken, and only Anthropic models count.
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');

let port;
let stop;
test.before(async () => {
  ({ port, stop } = await t.startEmulator());
});
test.after(() => stop());

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const count = (modelId, converse) =>
  t.signedCall({ port, path: t.modelPath(modelId, 'count-tokens'), body: { input: { converse } } });

test('the count equals the inputTokens of a Converse call with the same messages and system', async () => {
  const request = {
    messages: [{ role: 'user', content: [{ text: 'Summarize the renewal terms of this contract, in two sentences.' }] }],
    system: [{ text: 'You are a careful paralegal.' }],
  };
  const c = await count(HAIKU, request);
  assert.equal(c.status, 200, c.text);
  const r = await t.converse(port, HAIKU, { ...request, inferenceConfig: { maxTokens: 20 } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(c.json, { inputTokens: r.json.usage.inputTokens });
  assert.ok(c.json.inputTokens > 10);
});

test('a foundation model without on-demand throughput counts (nothing is invoked)', async () => {
  const c = await count('anthropic.claude-3-5-haiku-20241022-v1:0', { messages: t.userMsg('hello').messages });
  assert.equal(c.status, 200, c.text);
  assert.deepEqual(c.json, { inputTokens: 2 });
});

test('an inference profile id is not a foundation model id: ValidationException', async () => {
  const c = await count('us.anthropic.claude-3-5-haiku-20241022-v1:0', { messages: t.userMsg('hello').messages });
  assert.equal(c.status, 400);
  assert.match(c.headers['x-amzn-errortype'], /^ValidationException/);
  assert.equal(c.json.message, 'The provided model identifier is invalid.');
});

test('a model of another provider does not count tokens: ValidationException', async () => {
  const c = await count('openai.gpt-oss-20b-1:0', { messages: t.userMsg('hello').messages });
  assert.equal(c.status, 400);
  assert.match(c.headers['x-amzn-errortype'], /^ValidationException/);
  assert.equal(c.json.message, "The provided model doesn't support counting tokens.");
});
