'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');
const { NS_BEDROCK, NS_CORAL } = require('../lib/errors');

let port;
let stop;
test.before(async () => {
  ({ port, stop } = await t.startEmulator());
});
test.after(() => stop());

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const GPT = 'openai.gpt-oss-20b-1:0';

async function expectValidation(body, message, model = HAIKU) {
  const r = await t.converse(port, model, body);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.headers['x-amzn-errortype'], `ValidationException:${NS_BEDROCK}`);
  if (message instanceof RegExp) assert.match(r.json.message, message);
  else assert.equal(r.json.message, message);
  return r;
}

test('response shape, headers and determinism', async () => {
  const body = { system: [{ text: 'You are terse.' }], ...t.userMsg('The quick brown fox jumps over the lazy dog') };
  const a = await t.converse(port, HAIKU, body);
  const b = await t.converse(port, HAIKU, body);
  assert.equal(a.status, 200);
  const names = [];
  for (let i = 0; i < a.rawHeaders.length; i += 2) names.push(a.rawHeaders[i]);
  assert.ok(names.includes('x-amzn-RequestId'), names.join());
  assert.ok(names.includes('Date'));
  assert.equal(a.headers['content-type'], 'application/json');
  assert.ok(!('x-amzn-bedrock-input-token-count' in a.headers), 'Converse carries no token headers');
  assert.match(a.headers.date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  assert.ok(Math.abs(Date.parse(a.headers.date) - Date.now()) < 5000);
  assert.notEqual(a.headers['x-amzn-requestid'], b.headers['x-amzn-requestid']);
  assert.deepEqual(a.json.output, b.json.output);
  assert.deepEqual(a.json.output, { message: { role: 'assistant', content: [{ text: 'Summary (9 words): The quick brown fox jumps over the lazy dog' }] } });
  assert.equal(a.json.stopReason, 'end_turn');
  const u = a.json.usage;
  assert.equal(u.inputTokens, Math.ceil(('You are terse.'.length + 'The quick brown fox jumps over the lazy dog'.length) / 4));
  assert.equal(u.outputTokens, Math.ceil(a.json.output.message.content[0].text.length / 4));
  assert.equal(u.totalTokens, u.inputTokens + u.outputTokens);
  assert.ok(Number.isInteger(a.json.metrics.latencyMs) && a.json.metrics.latencyMs >= 1);
});

test('the reply summarises the LAST user message; "echo:" returns text verbatim', async () => {
  const r = await t.converse(port, HAIKU, {
    messages: [
      { role: 'user', content: [{ text: 'first question' }] },
      { role: 'assistant', content: [{ text: 'first answer' }] },
      { role: 'user', content: [{ text: 'echo: exactly this' }] },
    ],
  });
  assert.equal(r.json.output.message.content[0].text, 'exactly this');
  const long = await t.converse(port, HAIKU, t.userMsg('one two three four five six seven eight nine ten eleven twelve thirteen'));
  assert.equal(long.json.output.message.content[0].text, 'Summary (13 words): one two three four five six seven eight nine ten eleven twelve ...');
});

test('maxTokens truncates with stopReason max_tokens', async () => {
  const r = await t.converse(port, HAIKU, { ...t.userMsg('echo: abcdefghijklmnopqrstuvwxyz'), inferenceConfig: { maxTokens: 2 } });
  assert.equal(r.json.stopReason, 'max_tokens');
  assert.equal(r.json.output.message.content[0].text, 'abcdefgh');
  assert.equal(r.json.usage.outputTokens, 2);
});

test('stopSequences cut with stopReason stop_sequence', async () => {
  const r = await t.converse(port, HAIKU, {
    ...t.userMsg('echo: alpha beta</answer> gamma'),
    inferenceConfig: { stopSequences: ['gamma', '</answer>'] },
    additionalModelResponseFieldPaths: ['/stop_sequence'],
  });
  assert.equal(r.json.stopReason, 'stop_sequence');
  assert.equal(r.json.output.message.content[0].text, 'alpha beta');
  assert.deepEqual(r.json.additionalModelResponseFields, { stop_sequence: '</answer>' });
  const far = await t.converse(port, HAIKU, { ...t.userMsg('echo: aaaaaaaaaaaaaaaaaaaaSTOP'), inferenceConfig: { maxTokens: 2, stopSequences: ['STOP'] } });
  assert.equal(far.json.stopReason, 'max_tokens');
});

test('gpt-oss puts a reasoningContent block before the text', async () => {
  const r = await t.converse(port, GPT, t.userMsg('What is 2+2?'));
  const c = r.json.output.message.content;
  assert.equal(c.length, 2);
  assert.ok(c[0].reasoningContent.reasoningText.text.length > 0);
  assert.equal(c[1].text, 'Summary (3 words): What is 2+2?');
  assert.equal(r.json.usage.outputTokens, Math.ceil(c[0].reasoningContent.reasoningText.text.length / 4) + Math.ceil(c[1].text.length / 4));
});

test('validation errors read like Bedrock', async () => {
  const m = t.userMsg('x');
  await expectValidation({ ...m, inferenceConfig: { temperature: 1.5 } }, "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1");
  await expectValidation({ ...m, inferenceConfig: { topP: -0.1 } }, "1 validation error detected: Value '-0.1' at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value greater than or equal to 0");
  await expectValidation({ ...m, inferenceConfig: { maxTokens: 0, temperature: 2 } }, /^2 validation errors detected: Value '0' at 'inferenceConfig\.maxTokens'.*; Value '2' at 'inferenceConfig\.temperature'/);
  await expectValidation({ ...m, inferenceConfig: { maxTokens: 1.5 } }, /inferenceConfig\.maxTokens' failed to satisfy constraint: Member must be an integer/);
  await expectValidation({ ...m, inferenceConfig: { stopSequences: ['ok', ''] } }, /Value '' at 'inferenceConfig\.stopSequences\.2\.member' failed to satisfy constraint: Member must have length greater than or equal to 1/);
  await expectValidation({ ...m, inferenceConfig: { maxTokens: 5000 } }, /exceeds the model limit of 4096/);
  await expectValidation({ messages: [] }, /^A conversation must start with a user message/);
  await expectValidation({}, /^A conversation must start with a user message/);
  await expectValidation({ messages: [{ role: 'assistant', content: [{ text: 'x' }] }] }, /^A conversation must start with a user message/);
  await expectValidation({ messages: [{ role: 'user', content: [{ text: 'a' }] }, { role: 'user', content: [{ text: 'b' }] }] }, /must alternate between user and assistant/);
  await expectValidation({ messages: [{ role: 'robot', content: [{ text: 'x' }] }] }, /Value 'robot' at 'messages\.1\.member\.role' failed to satisfy constraint: Member must satisfy enum value set: \[user, assistant\]/);
  await expectValidation({ messages: [{ role: 'user', content: [] }] }, 'The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content field and try again.');
  await expectValidation({ messages: [{ role: 'user', content: [{ text: '  ' }] }] }, 'The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again.');
  await expectValidation({ ...m, system: [{ text: '' }] }, /SystemContentBlock object at system\.0 is blank/);
  await expectValidation({ ...m, system: 'not a list' }, /Value 'not a list' at 'system' failed to satisfy constraint: Member must be a list/);
  await expectValidation(Buffer.from('{"messages": ['), /not valid JSON/);
});

test('other content block kinds are accepted', async () => {
  const r = await t.converse(port, HAIKU, {
    messages: [
      { role: 'user', content: [{ text: 'Weather?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'w', input: { city: 'Paris' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ json: { tempC: 18 } }] } }, { cachePoint: { type: 'default' } }] },
    ],
    toolConfig: { tools: [{ toolSpec: { name: 'w', inputSchema: { json: { type: 'object' } } } }] },
    additionalModelRequestFields: { top_k: 5 },
  });
  assert.equal(r.status, 200, r.text);
});

test('embedding models are refused by Converse', async () => {
  await expectValidation(t.userMsg('x'), "This action doesn't support the model that you provided. Try again with a supported text or chat model.", 'amazon.titan-embed-text-v2:0');
  await expectValidation(t.userMsg('x'), /doesn't support the model/, 'cohere.embed-english-v3');
});

test('context windows: Titan text 8k, Claude 200k; multi-MB bodies are handled', async () => {
  const big = 'word '.repeat(7000); // 35,000 chars -> 8,750 tokens
  await expectValidation(t.userMsg(big), 'Input is too long for requested model.', 'amazon.titan-text-express-v1');
  const ok = await t.converse(port, HAIKU, t.userMsg(big));
  assert.equal(ok.status, 200);
  const huge = 'x'.repeat(3 * 1024 * 1024); // 3 MB: too long for a 200k-token window
  await expectValidation(t.userMsg(huge), 'Input is too long for requested model.');
  const gptOk = await t.converse(port, GPT, t.userMsg('y'.repeat(400000))); // 100k tokens < 128k
  assert.equal(gptOk.status, 200);
  assert.equal(gptOk.json.usage.inputTokens, 100000);
});

test('bodies above the cap get 413', async () => {
  const small = await t.startEmulator({ maxBodyBytes: 1000 });
  try {
    const r = await t.converse(small.port, HAIKU, t.userMsg('z'.repeat(2000)));
    assert.equal(r.status, 413);
    assert.match(r.headers['x-amzn-errortype'], new RegExp(`^RequestEntityTooLargeException:${NS_CORAL.replace(/\./g, '\\.')}$`));
    assert.equal(r.headers.connection, 'close');
  } finally {
    await small.stop();
  }
});
