'use strict';
// Converse features: requestMetadata, guardrails, documents and images, cache
// points, service tiers; ApplyGuardrail. Raw signed requests here; the official SDK's commands
// in converse_features_sdk.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');
const { pdfText, BLOCKED_MESSAGE } = require('../lib/converse_features');

let port;
let stop;
test.before(async () => {
  ({ port, stop } = await t.startEmulator());
});
test.after(() => stop());

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>stream\nBT /F1 12 Tf 72 720 Td (Governing law: Norway) Tj ET\nendstream endobj\n%%EOF\n', 'latin1');
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.alloc(16)]);

async function expectCoral(body, pattern) {
  const r = await t.converse(port, HAIKU, body);
  assert.equal(r.status, 400, r.text);
  assert.match(r.headers['x-amzn-errortype'], /^ValidationException/);
  assert.match(r.json.message, pattern);
}

test('requestMetadata is validated like Bedrock', async () => {
  const ok = await t.converse(port, HAIKU, { ...t.userMsg('hello'), requestMetadata: { database: 'app', role: 'alice', job: 'enrich 42' } });
  assert.equal(ok.status, 200, ok.text);
  await expectCoral({ ...t.userMsg('hello'), requestMetadata: {} }, /at 'requestMetadata' failed to satisfy constraint: Member must have length greater than or equal to 1/);
  const many = {};
  for (let i = 0; i < 17; i++) many[`k${i}`] = 'v';
  await expectCoral({ ...t.userMsg('hello'), requestMetadata: many }, /Member must have length less than or equal to 16/);
  await expectCoral({ ...t.userMsg('hello'), requestMetadata: { 'bad!key': 'v' } }, /Value 'bad!key' at 'requestMetadata' failed to satisfy constraint: Member must satisfy regular expression pattern/);
  await expectCoral({ ...t.userMsg('hello'), requestMetadata: { k: 'x'.repeat(257) } }, /at 'requestMetadata.k' failed to satisfy constraint/);
});

test('a guarded Converse call is blocked on the marked input, with a trace when asked', async () => {
  const gc = { guardrailIdentifier: 'gr1abc2def3g', guardrailVersion: '1', trace: 'enabled' };
  const pass = await t.converse(port, HAIKU, { ...t.userMsg('a harmless question'), guardrailConfig: gc });
  assert.equal(pass.json.stopReason, 'end_turn');
  const r = await t.converse(port, HAIKU, { ...t.userMsg('please BLOCKME now'), guardrailConfig: gc });
  assert.equal(r.status, 200);
  assert.equal(r.json.stopReason, 'guardrail_intervened');
  assert.deepEqual(r.json.output.message.content, [{ text: BLOCKED_MESSAGE }]);
  assert.equal(r.json.trace.guardrail.inputAssessment.gr1abc2def3g.wordPolicy.customWords[0].action, 'BLOCKED');
  const noTrace = await t.converse(port, HAIKU, { ...t.userMsg('BLOCKME'), guardrailConfig: { ...gc, trace: undefined } });
  assert.equal(noTrace.json.trace, undefined);
  await expectCoral({ ...t.userMsg('x'), guardrailConfig: { guardrailIdentifier: 'gr1', guardrailVersion: '0' } }, /guardrailConfig.guardrailVersion' failed to satisfy constraint/);
  await expectCoral({ ...t.userMsg('x'), guardrailConfig: { guardrailIdentifier: 'gr1', guardrailVersion: '1', trace: 'on' } }, /satisfy enum value set: \[enabled, disabled, enabled_full\]/);
  const missing = await t.converse(port, HAIKU, { ...t.userMsg('x'), guardrailConfig: { guardrailIdentifier: 'nosuchguardrail', guardrailVersion: '1' } });
  assert.equal(missing.status, 404);
  assert.match(missing.headers['x-amzn-errortype'], /^ResourceNotFoundException/);
});

test('documents and images arrive: the answer names them and quotes the PDF', async () => {
  const body = {
    messages: [{
      role: 'user',
      content: [
        { document: { name: 'Contract 17', format: 'pdf', source: { bytes: PDF.toString('base64') } } },
        { image: { format: 'png', source: { bytes: PNG.toString('base64') } } },
        { text: 'What is the governing law?' },
      ],
    }],
  };
  const r = await t.converse(port, HAIKU, body);
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.output.message.content[0].text, /^I read document "Contract 17" \(pdf, \d+ bytes: Governing law: Norway\) and 1 image \(40 bytes\)\. /);
  assert.equal(pdfText(PDF), 'Governing law: Norway');
  const doc = (name, bytes = PDF.toString('base64'), format = 'pdf') => ({ document: { name, format, source: { bytes } } });
  const withDocs = (...blocks) => ({ messages: [{ role: 'user', content: [...blocks, { text: 'q' }] }] });
  await expectCoral(withDocs(doc('a  b')), /can't contain more than one consecutive whitespace/);
  await expectCoral(withDocs(doc('a.pdf')), /can only contain alphanumeric characters/);
  await expectCoral(withDocs(doc('a'), doc('a')), /document names must be unique/);
  await expectCoral(withDocs(doc('a', 'not base64!')), /Invalid base64/);
  await expectCoral(withDocs(doc('a', Buffer.from('hello').toString('base64'))), /not a valid pdf/);
  await expectCoral(withDocs(doc('a', PDF.toString('base64'), 'rtf')), /satisfy enum value set: \[pdf, csv/);
  await expectCoral(withDocs(...['a', 'b', 'c', 'd', 'e', 'f'].map((n) => doc(n))), /maximum is 5 per request/);
});

test('a cache point after the system prompt: written once, read after; tier and latency echoed', async () => {
  const system = [{ text: `You extract contract fields. ${'Rule. '.repeat(800)}` }, { cachePoint: { type: 'default' } }];
  const body = { system, ...t.userMsg('contract one'), serviceTier: { type: 'flex' }, performanceConfig: { latency: 'optimized' } };
  const first = await t.converse(port, HAIKU, body);
  const second = await t.converse(port, HAIKU, { ...body, ...t.userMsg('contract two') });
  const prefix = Math.ceil(system[0].text.length / 4);
  assert.equal(first.json.usage.cacheWriteInputTokens, prefix);
  assert.equal(first.json.usage.cacheReadInputTokens, 0);
  assert.equal(second.json.usage.cacheReadInputTokens, prefix);
  assert.equal(second.json.usage.cacheWriteInputTokens, 0);
  const u = second.json.usage;
  assert.equal(u.totalTokens, u.inputTokens + u.outputTokens + u.cacheReadInputTokens + u.cacheWriteInputTokens);
  assert.deepEqual(first.json.serviceTier, { type: 'flex' });
  assert.deepEqual(first.json.performanceConfig, { latency: 'optimized' });
  const short = await t.converse(port, HAIKU, { system: [{ text: 'short' }, { cachePoint: { type: 'default' } }], ...t.userMsg('x') });
  assert.equal(short.json.usage.cacheWriteInputTokens, 0, 'a prefix under 1024 tokens is not cached');
  await expectCoral({ system: [{ text: 's' }, { cachePoint: { type: 'default', ttl: '2h' } }], ...t.userMsg('x') }, /satisfy enum value set: \[5m, 1h\]/);
  await expectCoral({ ...t.userMsg('x'), serviceTier: { type: 'cheap' } }, /serviceTier.type' failed to satisfy constraint/);
});

function applyGuardrail(id, version, body) {
  return t.signedCall({ port, path: `/guardrail/${encodeURIComponent(id)}/version/${version}/apply`, body });
}

test('ApplyGuardrail masks e-mail addresses and phone numbers, blocks the word, passes the rest', async () => {
  const masked = await applyGuardrail('gr1abc2def3g', '1', { source: 'INPUT', content: [{ text: { text: 'Write to ann@example.com or call 555-123-4567 by 2024-01-15.' } }] });
  assert.equal(masked.status, 200, masked.text);
  assert.equal(masked.json.action, 'GUARDRAIL_INTERVENED');
  assert.deepEqual(masked.json.outputs, [{ text: 'Write to {EMAIL} or call {PHONE} by 2024-01-15.' }]);
  assert.deepEqual(masked.json.assessments[0].sensitiveInformationPolicy.piiEntities.map((e) => e.type), ['EMAIL', 'PHONE']);
  const blocked = await applyGuardrail('gr1abc2def3g', 'DRAFT', { source: 'OUTPUT', content: [{ text: { text: 'BLOCKME' } }] });
  assert.equal(blocked.json.action, 'GUARDRAIL_INTERVENED');
  assert.equal(blocked.json.assessments[0].wordPolicy.customWords[0].match, 'BLOCKME');
  const none = await applyGuardrail('gr1abc2def3g', '1', { source: 'INPUT', content: [{ text: { text: 'nothing to see' } }] });
  assert.equal(none.json.action, 'NONE');
  assert.deepEqual(none.json.outputs, []);
  const bad = await applyGuardrail('gr1abc2def3g', '1', { source: 'SIDEWAYS', content: [] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /satisfy enum value set: \[INPUT, OUTPUT\]/);
  const missing = await applyGuardrail('nosuch1', '1', { source: 'INPUT', content: [{ text: { text: 'x' } }] });
  assert.equal(missing.status, 404);
});
