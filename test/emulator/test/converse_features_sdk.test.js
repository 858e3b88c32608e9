'use strict';
// SDK conformance of the Converse features: ConverseCommand with guardrailConfig,
// requestMetadata, serviceTier, a cache point and a document; ApplyGuardrailCommand.
const test = require('node:test');
const assert = require('node:assert/strict');
const { BedrockRuntimeClient, ConverseCommand, ApplyGuardrailCommand } = require('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const t = require('../lib/testkit');

let port;
let stop;
let client;
test.before(async () => {
  ({ port, stop } = await t.startEmulator());
  client = new BedrockRuntimeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { ...t.LONG_TERM },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10000 }),
  });
});
test.after(async () => {
  client.destroy();
  await stop();
});

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';

test('ConverseCommand with guardrailConfig, requestMetadata, serviceTier, a cache point and a document', async () => {
  const pdf = Buffer.from('%PDF-1.4\nBT (Term: 24 months) Tj ET\n%%EOF\n', 'latin1');
  const system = [{ text: `Extract the term. ${'Rule. '.repeat(800)}` }, { cachePoint: { type: 'default', ttl: '1h' } }];
  const base = {
    modelId: HAIKU,
    system,
    guardrailConfig: { guardrailIdentifier: 'gr1abc2def3g', guardrailVersion: '1', trace: 'enabled' },
    requestMetadata: { database: 'contracts', role: 'alice' },
    serviceTier: { type: 'priority' },
  };
  const out = await client.send(new ConverseCommand({
    ...base,
    messages: [{ role: 'user', content: [{ document: { name: 'Lease', format: 'pdf', source: { bytes: new Uint8Array(pdf) } } }, { text: 'What is the term?' }] }],
  }));
  assert.equal(out.stopReason, 'end_turn');
  assert.match(out.output.message.content[0].text, /document "Lease" \(pdf, \d+ bytes: Term: 24 months\)/);
  assert.equal(out.serviceTier.type, 'priority');
  assert.ok(out.usage.cacheWriteInputTokens > 0);
  const again = await client.send(new ConverseCommand({ ...base, messages: [{ role: 'user', content: [{ text: 'BLOCKME' }] }] }));
  assert.equal(again.stopReason, 'guardrail_intervened');
  assert.equal(again.usage.cacheReadInputTokens, out.usage.cacheWriteInputTokens);
  assert.ok(again.trace.guardrail.inputAssessment.gr1abc2def3g);
  await assert.rejects(client.send(new ConverseCommand({ ...base, requestMetadata: { 'no!': 'x' }, messages: [{ role: 'user', content: [{ text: 'x' }] }] })), (e) => {
    assert.equal(e.name, 'ValidationException');
    return true;
  });
});

test('ApplyGuardrailCommand masks PII and reports usage', async () => {
  const out = await client.send(new ApplyGuardrailCommand({
    guardrailIdentifier: 'gr1abc2def3g',
    guardrailVersion: 'DRAFT',
    source: 'INPUT',
    content: [{ text: { text: 'Mail bob@example.org today.' } }],
  }));
  assert.equal(out.action, 'GUARDRAIL_INTERVENED');
  assert.equal(out.outputs[0].text, 'Mail {EMAIL} today.');
  assert.equal(out.assessments[0].sensitiveInformationPolicy.piiEntities[0].type, 'EMAIL');
  assert.ok(out.usage.sensitiveInformationPolicyUnits >= 1);
  await assert.rejects(client.send(new ApplyGuardrailCommand({ guardrailIdentifier: 'nosuch9', guardrailVersion: '1', source: 'INPUT', content: [{ text: { text: 'x' } }] })), (e) => {
    assert.equal(e.name, 'ResourceNotFoundException');
    return true;
  });
});
