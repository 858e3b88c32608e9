'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');
const { NS_BEDROCK, NS_CORAL } = require('../lib/errors');

let port;
let emu;
let stop;
test.before(async () => {
  ({ port, emu, stop } = await t.startEmulator());
});
test.after(() => stop());
test.beforeEach(async () => {
  const r = await t.admin(port, 'POST', 'reset');
  assert.equal(r.status, 200);
});

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const HI = t.userMsg('fault test');

async function addFault(spec) {
  const r = await t.admin(port, 'POST', 'faults', spec);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('throttle: count N requests get 429 ThrottlingException, then normal service', async () => {
  await addFault({ type: 'throttle', count: 2 });
  for (let i = 0; i < 2; i++) {
    const r = await t.converse(port, HAIKU, HI);
    assert.equal(r.status, 429);
    assert.equal(r.headers['x-amzn-errortype'], `ThrottlingException:${NS_BEDROCK}`);
    assert.deepEqual(r.json, { message: 'Too many requests, please wait before trying again.' });
  }
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200);
  assert.equal(emu.stats.faults.throttle, 2);
});

test('error: realistic statuses, namespaces and bodies per code', async () => {
  const cases = [
    [{ code: 'ModelNotReadyException' }, 429, NS_BEDROCK],
    [{ code: 'ModelTimeoutException' }, 408, NS_BEDROCK],
    [{ code: 'InternalServerException' }, 500, NS_BEDROCK],
    [{ code: 'ServiceUnavailableException' }, 503, NS_BEDROCK],
    [{ code: 'ServiceQuotaExceededException' }, 400, NS_BEDROCK],
    [{ code: 'ValidationException', message: 'custom text' }, 400, NS_BEDROCK],
    [{ code: 'ExpiredTokenException' }, 403, NS_CORAL],
    [{ code: 'CustomThingException', status: 418 }, 418, NS_BEDROCK],
  ];
  for (const [spec, status, ns] of cases) {
    await addFault({ type: 'error', ...spec });
    const r = await t.converse(port, HAIKU, HI);
    assert.equal(r.status, status, spec.code);
    assert.equal(r.headers['x-amzn-errortype'], `${spec.code}:${ns}`);
    assert.equal(typeof r.json.message, 'string');
    if (spec.message) assert.equal(r.json.message, spec.message);
    assert.ok(r.headers['x-amzn-requestid']);
  }
  await addFault({ type: 'error', code: 'ModelErrorException' });
  let r = await t.converse(port, HAIKU, HI);
  assert.equal(r.status, 424);
  assert.equal(r.json.originalStatusCode, 500);
  assert.equal(r.json.resourceName, `arn:aws:bedrock:us-east-1::foundation-model/${HAIKU}`);
  await addFault({ type: 'error', code: 'AccessDeniedException' });
  r = await t.converse(port, HAIKU, HI);
  assert.equal(r.status, 403);
  assert.ok(typeof r.json.Message === 'string' && !('message' in r.json));
});

test('latency delays the answer', async () => {
  await addFault({ type: 'latency', ms: 300 });
  const t0 = Date.now();
  const r = await t.converse(port, HAIKU, HI);
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t0 >= 290);
  assert.ok(r.json.metrics.latencyMs >= 290);
});

test('reset: the connection dies without a response', async () => {
  await addFault({ type: 'reset' });
  const r = await t.signedRaw({ port, path: t.modelPath(HAIKU, 'converse'), body: HI });
  assert.equal(r.raw.length, 0);
  assert.equal(r.status, null);
  await addFault({ type: 'reset', mode: 'fin' });
  const f = await t.signedRaw({ port, path: t.modelPath(HAIKU, 'converse'), body: HI });
  assert.equal(f.raw.length, 0);
  assert.equal(emu.stats.faults.reset, 2);
  assert.equal(emu.stats.last.at(-1).status, 0);
});

test('truncate: Content-Length larger than the bytes sent, then close', async () => {
  await addFault({ type: 'truncate' });
  const r = await t.signedRaw({ port, path: t.modelPath(HAIKU, 'converse'), body: HI });
  assert.equal(r.status, 200);
  const cl = Number(r.headers['content-length']);
  assert.ok(r.body.length < cl, `${r.body.length} < ${cl}`);
  assert.ok(r.body.length > 0);
  await addFault({ type: 'truncate', bytes: 0 });
  const z = await t.signedRaw({ port, path: t.modelPath(HAIKU, 'converse'), body: HI });
  assert.equal(z.status, 200);
  assert.equal(z.body.length, 0);
});

test('malformed: 200 with a body that is not JSON', async () => {
  await addFault({ type: 'malformed' });
  const r = await t.converse(port, HAIKU, HI);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.json, null);
  assert.throws(() => JSON.parse(r.text));
  await addFault({ type: 'malformed', body: '<<garbage>>' });
  const g = await t.converse(port, HAIKU, HI);
  assert.equal(g.text, '<<garbage>>');
});

test('slow_body: the body trickles in over ms', async () => {
  await addFault({ type: 'slow_body', ms: 400, chunk: 40 });
  const t0 = Date.now();
  const r = await t.signedRaw({ port, path: t.modelPath(HAIKU, 'converse'), body: HI, idleMs: 1000 });
  assert.equal(r.status, 200);
  assert.ok(JSON.parse(r.body.toString()).output);
  assert.ok(r.chunks.length >= 3, `chunks ${r.chunks.length}`);
  assert.ok(r.chunks.at(-1).t - r.chunks[0].t >= 350);
  assert.ok(Date.now() - t0 >= 350);
});

test('skew_date shifts the Date header only', async () => {
  await addFault({ type: 'skew_date', seconds: -900 });
  const r = await t.converse(port, HAIKU, HI);
  assert.equal(r.status, 200);
  const skew = Date.parse(r.headers.date) - Date.now();
  assert.ok(Math.abs(skew + 900000) < 3000, String(skew));
});

test('status_only: a load-balancer page, no x-amzn-ErrorType / RequestId', async () => {
  await addFault({ type: 'status_only', status: 502 });
  const r = await t.converse(port, HAIKU, HI);
  assert.equal(r.status, 502);
  assert.equal(r.headers['content-type'], 'text/html');
  assert.match(r.text, /502 Bad Gateway/);
  assert.ok(!('x-amzn-errortype' in r.headers));
  assert.ok(!('x-amzn-requestid' in r.headers));
  assert.ok(r.headers.date);
});

test('matching: route and model filters, after, order, unsigned requests do not consume', async () => {
  await addFault([
    { type: 'error', code: 'InternalServerException', route: 'invoke' },
    { type: 'throttle', model: 'anthropic.claude-3-5-haiku-20241022-v1:0' },
  ]);
  // unsigned request: rejected before faults
  const unsigned = await t.send({ port, path: t.modelPath(HAIKU, 'converse'), body: Buffer.from('{}') });
  assert.equal(unsigned.status, 403);
  assert.equal(emu.faults.pending, 2);
  // converse on haiku 3 matches neither
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200);
  // the profile id resolves to the filtered base model
  assert.equal((await t.converse(port, 'us.anthropic.claude-3-5-haiku-20241022-v1:0', HI)).status, 429);
  assert.equal((await t.invoke(port, 'amazon.titan-text-express-v1', { inputText: 'x' })).status, 500);
  assert.equal(emu.faults.pending, 0);

  await addFault({ type: 'throttle', after: 2 });
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200);
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200);
  assert.equal((await t.converse(port, HAIKU, HI)).status, 429);
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200);
});

test('count 0 = unlimited until cleared; GET lists; DELETE clears', async () => {
  await addFault({ type: 'error', code: 'ServiceUnavailableException', count: 0 });
  for (let i = 0; i < 3; i++) assert.equal((await t.converse(port, HAIKU, HI)).status, 503);
  const list = await t.admin(port, 'GET', 'faults');
  assert.equal(list.json.faults.length, 1);
  assert.equal(list.json.faults[0].remaining, null);
  assert.equal(list.json.faults[0].fired, 3);
  const del = await t.admin(port, 'DELETE', 'faults');
  assert.deepEqual(del.json, { cleared: 1 });
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200);
});

test('invalid fault specs are refused with 400 and nothing is added', async () => {
  for (const spec of [
    { type: 'explode' },
    { type: 'error' },
    { type: 'error', code: 'NoSuchCodeException' },
    { type: 'throttle', count: -1 },
    { type: 'throttle', route: 'nowhere' },
    { type: 'skew_date' },
    [{ type: 'throttle' }, { type: 'bad' }],
  ]) {
    const r = await t.admin(port, 'POST', 'faults', spec);
    assert.equal(r.status, 400, JSON.stringify(spec));
    assert.ok(r.json.error);
  }
  assert.equal(emu.faults.pending, 0);
});

test('every: N fires on every N-th matching request only', async () => {
  await addFault({ type: 'throttle', every: 2, count: 0 });
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await t.converse(port, HAIKU, HI)).status);
  assert.deepEqual(statuses, [200, 429, 200, 429, 200, 429]);
  assert.equal((await t.admin(port, 'GET', 'faults')).json.faults[0].fired, 3);
});

test('for_ms: the fault expires on its own', async () => {
  await addFault({ type: 'throttle', count: 0, for_ms: 300 });
  assert.equal((await t.converse(port, HAIKU, HI)).status, 429);
  await new Promise((r) => setTimeout(r, 350));
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200);
  assert.equal(emu.faults.pending, 0);
});

test('throttle rps: a server-side quota per sliding second', async () => {
  await addFault({ type: 'throttle', rps: 3, count: 0 });
  const first = await Promise.all(Array.from({ length: 5 }, () => t.converse(port, HAIKU, HI)));
  assert.deepEqual(first.map((r) => r.status).sort(), [200, 200, 200, 429, 429]);
  const listed = (await t.admin(port, 'GET', 'faults')).json.faults[0];
  assert.equal(listed.rps, 3);
  assert.equal(listed.window, undefined, 'the sliding window is internal');
  await new Promise((r) => setTimeout(r, 1050));
  assert.equal((await t.converse(port, HAIKU, HI)).status, 200, 'the quota refills after a second');
});

test('every, for_ms and rps are validated', async () => {
  for (const spec of [
    { type: 'throttle', every: 0 },
    { type: 'throttle', every: 1.5 },
    { type: 'throttle', for_ms: -1 },
    { type: 'throttle', rps: 0 },
    { type: 'throttle', rps: 'many' },
  ]) {
    const r = await t.admin(port, 'POST', 'faults', spec);
    assert.equal(r.status, 400, JSON.stringify(spec));
  }
  assert.equal(emu.faults.pending, 0);
});

test('truncate mode rst: part of the body, then a TCP reset', async () => {
  await addFault({ type: 'truncate', bytes: 10, mode: 'rst' });
  const r = await t.signedRaw({ port, path: t.modelPath(HAIKU, 'converse'), body: HI });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 10);
  assert.equal(emu.stats.faults.truncate, 1);
  const bad = await t.admin(port, 'POST', 'faults', { type: 'truncate', mode: 'half' });
  assert.equal(bad.status, 400);
});

test('bad_content: NUL escapes, invalid UTF-8, unmappable characters, deep nesting', async () => {
  await addFault({ type: 'bad_content', kind: 'nul_escape' });
  let r = await t.converse(port, HAIKU, t.userMsg('echo: hello'));
  assert.equal(r.status, 200);
  assert.ok(r.text.includes('hello\\u0000after'), r.text);
  assert.equal(r.json.output.message.content[0].text, 'hello\u0000after');
  assert.ok(r.json.usage.inputTokens > 0, 'the usage is still there');

  await addFault({ type: 'bad_content', kind: 'invalid_utf8' });
  r = await t.converse(port, HAIKU, t.userMsg('echo: hello'));
  assert.equal(r.status, 200);
  assert.ok(r.body.includes(Buffer.from([0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xc3, 0x28])), 'hello then C3 28');

  await addFault({ type: 'bad_content', kind: 'unmappable' });
  r = await t.converse(port, HAIKU, t.userMsg('echo: hello'));
  assert.equal(r.json.output.message.content[0].text, 'hello \u{1F600}');

  await addFault({ type: 'bad_content', kind: 'deep_nesting', depth: 3 });
  r = await t.converse(port, HAIKU, t.userMsg('echo: hello'));
  assert.deepEqual(r.json.additionalModelResponseFields, [[[]]]);
  assert.equal(r.json.output.message.content[0].text, 'hello');
  assert.equal(emu.stats.faults.bad_content, 4);

  const bad = await t.admin(port, 'POST', 'faults', { type: 'bad_content', kind: 'zalgo' });
  assert.equal(bad.status, 400);
});

test('huge_headers: the real response with many large headers', async () => {
  await addFault({ type: 'huge_headers', headers: 3, size: 4000 });
  const r = await t.converse(port, HAIKU, HI);
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-emulator-padding-2'].length, 4000);
  assert.ok(r.json.output.message.content[0].text);
  assert.equal(emu.stats.faults.huge_headers, 1);
  const bad = await t.admin(port, 'POST', 'faults', { type: 'huge_headers', headers: 1.5 });
  assert.equal(bad.status, 400);
});
