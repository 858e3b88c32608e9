'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');
const { NS_BEDROCK, NS_CORAL } = require('../lib/errors');
const { resolveModel } = require('../lib/models');
const { classify } = require('../lib/emulator');

let port;
let emu;
let stop;
test.before(async () => {
  ({ port, emu, stop } = await t.startEmulator());
});
test.after(() => stop());

const HI = t.userMsg('route me');

async function conv(id) {
  return t.converse(port, id, HI);
}

test('model ids, profile ids and ARNs route to the right model', async () => {
  const cases = [
    ['anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0'],
    ['us.anthropic.claude-3-5-haiku-20241022-v1:0', 'anthropic.claude-3-5-haiku-20241022-v1:0'],
    ['arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1', 'amazon.titan-text-express-v1'],
    ['arn:aws:bedrock:us-east-1:999999999999:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0', 'anthropic.claude-3-5-haiku-20241022-v1:0'],
    ['arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6', 'anthropic.claude-3-haiku-20240307-v1:0'],
    ['openai.gpt-oss-120b-1:0', 'openai.gpt-oss-120b-1:0'],
  ];
  for (const [id, base] of cases) {
    const before = emu.stats.models[base] || 0;
    const r = await conv(id);
    assert.equal(r.status, 200, `${id}: ${r.text}`);
    assert.equal(emu.stats.models[base], before + 1, id);
    assert.equal(emu.stats.last.at(-1).model, id);
  }
});

test('bare id of a profile-only model -> on-demand ValidationException', async () => {
  const r = await conv('anthropic.claude-3-5-haiku-20241022-v1:0');
  assert.equal(r.status, 400);
  assert.equal(r.headers['x-amzn-errortype'], `ValidationException:${NS_BEDROCK}`);
  assert.equal(
    r.json.message,
    "Invocation of model ID anthropic.claude-3-5-haiku-20241022-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
  );
  const arn = await conv('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0');
  assert.equal(arn.status, 400);
});

test('not-granted model -> 403 AccessDeniedException with {"Message"}', async () => {
  const r = await conv('anthropic.claude-3-opus-20240229-v1:0');
  assert.equal(r.status, 403);
  assert.equal(r.headers['x-amzn-errortype'], `AccessDeniedException:${NS_BEDROCK}`);
  assert.deepEqual(r.json, { Message: "You don't have access to the model with the specified model ID." });
});

test('unknown ids and foreign-region ARNs -> "The provided model identifier is invalid."', async () => {
  for (const id of ['no.such-model-v1:0', 'arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-text-express-v1', 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/zzzz', 'ANTHROPIC.claude-3-haiku-20240307-v1:0']) {
    const r = await conv(id);
    assert.equal(r.status, 400, id);
    assert.deepEqual(r.json, { message: 'The provided model identifier is invalid.' });
  }
});

test('an ARN with a literal "/" splits the path: unknown operation 404', async () => {
  const r = await t.signedCall({ port, path: '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model/amazon.titan-text-express-v1/converse', body: HI });
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-amzn-errortype'], `UnknownOperationException:${NS_CORAL}`);
  assert.equal(emu.stats.last.at(-1).route, 'unknown');
});

test('unknown routes and wrong methods -> 404 UnknownOperationException', async () => {
  for (const [method, path] of [
    ['POST', '/model/openai.gpt-oss-20b-1%3A0/chat'],
    ['GET', '/model/openai.gpt-oss-20b-1%3A0/converse'],
    ['POST', '/'],
    ['GET', '/openai/v1/models'],
  ]) {
    const r = await t.signedCall({ port, method, path, body: method === 'POST' ? HI : undefined });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.match(r.headers['x-amzn-errortype'], /^UnknownOperationException:/);
  }
});

test('control plane: list and get foundation models, inference profiles', async () => {
  let r = await t.signedCall({ port, method: 'GET', path: '/foundation-models' });
  assert.equal(r.status, 200);
  assert.equal(r.json.modelSummaries.length, 11);
  r = await t.signedCall({ port, method: 'GET', path: '/foundation-models', query: { byProvider: 'anthropic' } });
  assert.deepEqual(
    r.json.modelSummaries.map((m) => m.modelId).sort(),
    ['anthropic.claude-3-5-haiku-20241022-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-opus-20240229-v1:0'],
  );
  r = await t.signedCall({ port, method: 'GET', path: '/foundation-models', query: { byOutputModality: 'EMBEDDING' } });
  assert.equal(r.json.modelSummaries.length, 5);
  const s = r.json.modelSummaries[0];
  for (const k of ['modelArn', 'modelId', 'modelName', 'providerName', 'inputModalities', 'outputModalities', 'responseStreamingSupported', 'customizationsSupported', 'inferenceTypesSupported', 'modelLifecycle']) {
    assert.ok(k in s, k);
  }
  r = await t.signedCall({ port, method: 'GET', path: '/foundation-models', query: { byOutputModality: 'AUDIO' } });
  assert.equal(r.status, 400);
  r = await t.signedCall({ port, method: 'GET', path: `/foundation-models/${t.encodeSegment('amazon.titan-embed-text-v2:0')}` });
  assert.equal(r.status, 200);
  assert.equal(r.json.modelDetails.modelArn, 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0');
  r = await t.signedCall({ port, method: 'GET', path: '/foundation-models/nope' });
  assert.equal(r.status, 404);
  assert.match(r.headers['x-amzn-errortype'], /^ResourceNotFoundException:/);
  r = await t.signedCall({ port, method: 'GET', path: '/inference-profiles', query: { maxResults: '1' } });
  assert.equal(r.json.inferenceProfileSummaries.length, 1);
  assert.ok(r.json.nextToken);
  const r2 = await t.signedCall({ port, method: 'GET', path: '/inference-profiles', query: { maxResults: '5', nextToken: r.json.nextToken } });
  assert.equal(r2.json.inferenceProfileSummaries.length, 2);
  r = await t.signedCall({ port, method: 'GET', path: `/inference-profiles/${t.encodeSegment('us.anthropic.claude-3-5-haiku-20241022-v1:0')}` });
  assert.equal(r.json.type, 'SYSTEM_DEFINED');
  assert.equal(emu.stats.requests.control, 9);
});

test('resolveModel and classify units', () => {
  assert.equal(resolveModel('us.anthropic.claude-3-haiku-20240307-v1:0', 'us-east-1').model.id, 'anthropic.claude-3-haiku-20240307-v1:0');
  assert.equal(resolveModel('x'.repeat(3000), 'us-east-1').ok, false);
  assert.deepEqual(classify('POST', '/model/a%3Ab/invoke'), { name: 'invoke', modelIdentifier: 'a:b' });
  assert.deepEqual(classify('POST', '/model/a%3Ab/count-tokens'), { name: 'count_tokens', modelIdentifier: 'a:b' });
  assert.equal(classify('POST', '/model//invoke').name, 'unknown');
  assert.equal(classify('GET', '/foundation-models/').name, 'unknown');
});
