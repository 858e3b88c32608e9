'use strict';
// Structured output (outputConfig.textFormat) and forced tool use (toolChoice.tool) in Converse.
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
const GPT = 'openai.gpt-oss-20b-1:0';
const TITAN = 'amazon.titan-text-express-v1';
const SCHEMA = {
  type: 'object',
  properties: {
    law: { type: 'string' },
    amount: { type: 'number' },
    months: { type: 'integer' },
    renews: { type: 'boolean' },
    kind: { type: 'string', enum: ['lease', 'supply'] },
    parties: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } },
    note: { type: ['string', 'null'] },
  },
  required: ['law', 'amount'],
  additionalProperties: false,
};
const TEXT = 'A supply contract. law: Delaware; amount: 1,250.5; months: 12; parties: Acme, Globex. It does not renew.';
const EXPECTED = { law: 'Delaware', amount: 1250.5, months: 12, renews: false, kind: 'supply', parties: [{ name: 'Acme' }, { name: 'Globex' }], note: null };

const outputFormat = (schema, extra = {}) => ({
  outputConfig: { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'x' } } } },
  ...extra,
});
const forcedTool = (schema, name = 'extract') => ({
  toolConfig: { tools: [{ toolSpec: { name, inputSchema: { json: schema } } }], toolChoice: { tool: { name } } },
});

test('outputConfig json_schema: one text block of conforming JSON, values from the message', async () => {
  const r = await t.converse(port, GPT, { ...t.userMsg(TEXT), ...outputFormat(SCHEMA) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.stopReason, 'end_turn');
  assert.equal(r.json.output.message.content.length, 1);
  assert.deepEqual(JSON.parse(r.json.output.message.content[0].text), EXPECTED);
  assert.ok(r.json.usage.outputTokens > 0);
});

test('forced tool use: a toolUse block with a conforming input, stopReason tool_use', async () => {
  const r = await t.converse(port, HAIKU, { ...t.userMsg(TEXT), ...forcedTool(SCHEMA) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.stopReason, 'tool_use');
  const use = r.json.output.message.content[0].toolUse;
  assert.equal(use.name, 'extract');
  assert.match(use.toolUseId, /^tooluse_[A-Za-z0-9_-]+$/);
  assert.deepEqual(use.input, EXPECTED);
});

test('toolChoice auto leaves the answer as text; any forces the first tool', async () => {
  const auto = await t.converse(port, HAIKU, { ...t.userMsg('echo: hi'), toolConfig: { tools: forcedTool(SCHEMA).toolConfig.tools } });
  assert.equal(auto.json.output.message.content[0].text, 'hi');
  const any = await t.converse(port, HAIKU, { ...t.userMsg(TEXT), toolConfig: { ...forcedTool(SCHEMA).toolConfig, toolChoice: { any: {} } } });
  assert.equal(any.json.stopReason, 'tool_use');
});

test('refusals: models without structured output, #no-native, Titan without tools, bad schemas', async () => {
  for (const [model, text] of [[HAIKU, TEXT], [GPT, `#no-native ${TEXT}`]]) {
    const r = await t.converse(port, model, { ...t.userMsg(text), ...outputFormat(SCHEMA) });
    assert.equal(r.status, 400);
    assert.equal(r.headers['x-amzn-errortype'].split(':')[0], 'ValidationException');
    assert.match(r.json.message, /doesn't support structured output/);
  }
  const titan = await t.converse(port, TITAN, { ...t.userMsg(TEXT), ...forcedTool(SCHEMA) });
  assert.equal(titan.status, 400);
  assert.equal(titan.json.message, "This model doesn't support tool use.");
  const notString = await t.converse(port, GPT, {
    ...t.userMsg(TEXT),
    outputConfig: { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: SCHEMA } } } },
  });
  assert.equal(notString.status, 400);
  const notObject = await t.converse(port, GPT, { ...t.userMsg(TEXT), ...outputFormat({ type: 'string' }) });
  assert.equal(notObject.status, 400);
  const open = await t.converse(port, GPT, {
    ...t.userMsg(TEXT),
    ...outputFormat({ ...SCHEMA, properties: { ...SCHEMA.properties, parties: { type: 'array', items: { type: 'object' } } } }),
  });
  assert.equal(open.status, 400);
  assert.match(open.json.message, /\$\.properties\.parties\.items does not/);
  const unknownTool = await t.converse(port, HAIKU, {
    ...t.userMsg(TEXT),
    toolConfig: { tools: forcedTool(SCHEMA).toolConfig.tools, toolChoice: { tool: { name: 'other' } } },
  });
  assert.equal(unknownTool.status, 400);
});

test('#bad-first: a wrong type first, right once the system prompt says it did not conform', async () => {
  const body = { ...t.userMsg(`#bad-first ${TEXT}`), ...outputFormat(SCHEMA) };
  const first = JSON.parse((await t.converse(port, GPT, body)).json.output.message.content[0].text);
  assert.equal(first.law, 42);
  const again = await t.converse(port, GPT, { ...body, system: [{ text: 'Your previous answer did not conform to the schema: $.law: expected string.' }] });
  assert.equal(JSON.parse(again.json.output.message.content[0].text).law, 'Delaware');
  const always = await t.converse(port, HAIKU, {
    ...t.userMsg('#bad-always amount: 3'),
    system: [{ text: 'did not conform to the schema' }],
    ...forcedTool({ type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] }),
  });
  assert.equal(always.json.output.message.content[0].toolUse.input.amount, '3');
});

test('maxTokens cuts structured output (stopReason max_tokens)', async () => {
  const r = await t.converse(port, GPT, { ...t.userMsg(TEXT), ...outputFormat(SCHEMA), inferenceConfig: { maxTokens: 5 } });
  assert.equal(r.json.stopReason, 'max_tokens');
  assert.throws(() => JSON.parse(r.json.output.message.content[0].text));
});
