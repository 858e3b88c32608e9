'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');
const { parseAuthorization, verifyRequest, fmtAmzDate, parseAmzDate } = require('../lib/sigv4');
const { CredentialStore } = require('../lib/credentials');
const { NS_CORAL } = require('../lib/errors');

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const BODY = t.userMsg('signature test');

let port;
let emu;
let stop;
test.before(async () => {
  ({ port, emu, stop } = await t.startEmulator());
});
test.after(() => stop());

function expectAuthError(r, status, code, messageRe) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers['x-amzn-errortype'], `${code}:${NS_CORAL}`);
  assert.match(r.headers['x-amzn-requestid'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  if (messageRe) assert.match(r.json.message, messageRe);
}

test('a request signed by the official signer verifies (long-term and temporary keys)', async () => {
  const a = await t.converse(port, MODEL, BODY);
  assert.equal(a.status, 200, a.text);
  const b = await t.converse(port, MODEL, BODY, { credentials: t.TEMPORARY });
  assert.equal(b.status, 200, b.text);
  const last = emu.stats.last.slice(-2);
  assert.deepEqual(
    last.map((x) => [x.accessKeyId, x.sessionToken, x.auth]),
    [
      ['AKIDEMULATOR00000001', false, 'sigv4'],
      ['ASIAEMULATOR00000002', true, 'sigv4'],
    ],
  );
});

test('tampered body, path, signed header or wrong secret -> InvalidSignatureException', async () => {
  const mismatch = /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.(\n\nThe Canonical String for this request should have been\n'[^]*'\n)?$/;
  const before = emu.stats.rejected.mismatch;
  // body
  let r = await t.converse(port, MODEL, BODY, { mutate: (s) => (s.body = Buffer.from(JSON.stringify(t.userMsg('signature tesT')))) });
  expectAuthError(r, 403, 'InvalidSignatureException', mismatch);
  // path (different model)
  r = await t.converse(port, MODEL, BODY, { mutate: (s) => (s.path = t.modelPath('amazon.titan-text-express-v1', 'converse')) });
  expectAuthError(r, 403, 'InvalidSignatureException', mismatch);
  // a signed header's value
  r = await t.converse(port, MODEL, BODY, { headers: { 'x-amzn-bedrock-trace': 'ENABLED' }, mutate: (s) => (s.headers['x-amzn-bedrock-trace'] = 'DISABLED') });
  expectAuthError(r, 403, 'InvalidSignatureException', mismatch);
  // content-type is signed too
  r = await t.converse(port, MODEL, BODY, { mutate: (s) => (s.headers['content-type'] = 'application/json; charset=utf-8') });
  expectAuthError(r, 403, 'InvalidSignatureException', mismatch);
  // wrong secret
  r = await t.converse(port, MODEL, BODY, { credentials: { accessKeyId: t.LONG_TERM.accessKeyId, secretAccessKey: 'not-the-secret' } });
  expectAuthError(r, 403, 'InvalidSignatureException', mismatch);
  // a header listed in SignedHeaders but not sent
  r = await t.converse(port, MODEL, BODY, { headers: { 'x-amz-extra': 'v' }, mutate: (s) => delete s.headers['x-amz-extra'] });
  expectAuthError(r, 403, 'InvalidSignatureException', mismatch);
  assert.equal(emu.stats.rejected.mismatch - before, 6);
});

test('unsigned extra headers (user-agent, amz-sdk-request, Expect: 100-continue) do not matter', async () => {
  const r = await t.converse(port, MODEL, BODY, {
    mutate: (s) => {
      s.headers['user-agent'] = 'bedrock_fdw/0.1';
      s.headers['amz-sdk-request'] = 'attempt=1; max=3';
      s.headers.expect = '100-continue'; // libcurl sends this for large bodies; never signed
    },
  });
  assert.equal(r.status, 200, r.text);
});

test('model ARN path (%3A, %2F) verifies only when the client double-encoded its canonical URI', async () => {
  const arn = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';
  const path = t.modelPath(arn, 'converse');
  assert.ok(path.includes('%3A') && path.includes('%2F'));
  const ok = await t.signedCall({ port, path, body: BODY });
  assert.equal(ok.status, 200, ok.text);
  const single = await t.signedCall({ port, path, body: BODY, uriEscapePath: false });
  expectAuthError(single, 403, 'InvalidSignatureException', /does not match/);
  // with no percent-escapes in the path, single and double encoding coincide
  const plain = await t.signedCall({ port, path: '/model/cohere.embed-english-v3/invoke', body: { texts: ['a'], input_type: 'search_query' }, uriEscapePath: false });
  assert.equal(plain.status, 200, plain.text);
});

test('a literal ":" in the path is accepted and verifies', async () => {
  const r = await t.signedCall({ port, path: `/model/${MODEL}/converse`, body: BODY });
  assert.equal(r.status, 200, r.text);
  assert.equal(emu.stats.last.at(-1).model, MODEL);
});

test('query strings are part of the signature (ListFoundationModels)', async () => {
  const query = { byProvider: 'Anthropic', byOutputModality: 'TEXT' };
  const r = await t.signedCall({ port, method: 'GET', path: '/foundation-models', query });
  assert.equal(r.status, 200, r.text);
  const bad = await t.signedCall({ port, method: 'GET', path: '/foundation-models', query, mutate: (s) => (s.path = s.path.replace('Anthropic', 'Amazon')) });
  expectAuthError(bad, 403, 'InvalidSignatureException');
});

test('missing Authorization -> 403 MissingAuthenticationTokenException', async () => {
  const r = await t.send({ port, path: t.modelPath(MODEL, 'converse'), headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(BODY)) });
  expectAuthError(r, 403, 'MissingAuthenticationTokenException', /^Missing Authentication Token$/);
});

test('malformed Authorization -> 400 IncompleteSignatureException', async () => {
  const cases = [
    'AWS4-HMAC-SHA256 Credential=AKIDEMULATOR00000001/20250115/us-east-1/bedrock/aws4_request',
    'AWS4-HMAC-SHA256 Credential=AKIDEMULATOR00000001/20250115/us-east-1/bedrock, SignedHeaders=host, Signature=' + 'a'.repeat(64),
    'Basic dXNlcjpwYXNz',
    'AWS4-HMAC-SHA256 garbage',
  ];
  for (const authz of cases) {
    const r = await t.converse(port, MODEL, BODY, { mutate: (s) => (s.headers.authorization = authz) });
    expectAuthError(r, 400, 'IncompleteSignatureException');
  }
  const noDate = await t.converse(port, MODEL, BODY, { mutate: (s) => delete s.headers['x-amz-date'] });
  expectAuthError(noDate, 400, 'IncompleteSignatureException', /X-Amz-Date/);
  const badDate = await t.converse(port, MODEL, BODY, { mutate: (s) => (s.headers['x-amz-date'] = '2025-01-15T12:00:00Z') });
  expectAuthError(badDate, 400, 'IncompleteSignatureException', /ISO-8601/);
});

test('unknown key, missing/wrong/extra session token -> 403 UnrecognizedClientException', async () => {
  const msg = /^The security token included in the request is invalid\.$/;
  let r = await t.converse(port, MODEL, BODY, { credentials: { accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: 'x' } });
  expectAuthError(r, 403, 'UnrecognizedClientException', msg);
  r = await t.converse(port, MODEL, BODY, { credentials: { accessKeyId: t.TEMPORARY.accessKeyId, secretAccessKey: t.TEMPORARY.secretAccessKey } });
  expectAuthError(r, 403, 'UnrecognizedClientException', msg);
  r = await t.converse(port, MODEL, BODY, { credentials: { ...t.TEMPORARY, sessionToken: 'wrongToken' } });
  expectAuthError(r, 403, 'UnrecognizedClientException', msg);
  r = await t.converse(port, MODEL, BODY, { credentials: { ...t.LONG_TERM, sessionToken: 'unexpected' } });
  expectAuthError(r, 403, 'UnrecognizedClientException', msg);
});

test('expired temporary key -> 403 ExpiredTokenException', async () => {
  const a = await t.admin(port, 'POST', 'credentials', {
    accessKeyId: 'ASIAEXPIRED000000003',
    secretAccessKey: 'expiredSecret',
    sessionToken: 'expiredToken',
    expiration: '2020-01-01T00:00:00Z',
  });
  assert.equal(a.status, 200, a.text);
  const r = await t.converse(port, MODEL, BODY, { credentials: { accessKeyId: 'ASIAEXPIRED000000003', secretAccessKey: 'expiredSecret', sessionToken: 'expiredToken' } });
  expectAuthError(r, 403, 'ExpiredTokenException', /^The security token included in the request is expired$/);
  assert.equal(emu.stats.rejected.expired, 1);
});

test('wrong service or region in the scope -> 403 InvalidSignatureException', async () => {
  let r = await t.converse(port, MODEL, BODY, { service: 'bedrock-runtime' });
  expectAuthError(r, 403, 'InvalidSignatureException', /^Credential should be scoped to correct service: 'bedrock'\. $/);
  r = await t.converse(port, MODEL, BODY, { region: 'eu-west-1' });
  expectAuthError(r, 403, 'InvalidSignatureException', /scoped to a valid region/);
});

test('X-Amz-Date outside +-5 min -> Signature expired / not yet current', async () => {
  const now = Date.now();
  let r = await t.converse(port, MODEL, BODY, { date: new Date(now - 10 * 60 * 1000) });
  expectAuthError(r, 403, 'InvalidSignatureException', /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
  r = await t.converse(port, MODEL, BODY, { date: new Date(now + 10 * 60 * 1000) });
  expectAuthError(r, 403, 'InvalidSignatureException', /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/);
  r = await t.converse(port, MODEL, BODY, { date: new Date(now - 4 * 60 * 1000) });
  assert.equal(r.status, 200, r.text);
});

test('Bearer API keys: registered key works, unknown key -> AccessDeniedException {"Message"}', async () => {
  const path = t.modelPath(MODEL, 'converse');
  const body = Buffer.from(JSON.stringify(BODY));
  let r = await t.send({ port, path, headers: { authorization: 'Bearer ABSKnotregistered', 'content-type': 'application/json' }, body });
  assert.equal(r.status, 403);
  assert.equal(r.headers['x-amzn-errortype'], `AccessDeniedException:${NS_CORAL}`);
  assert.match(r.json.Message, /API Key is valid/);
  assert.equal(r.json.message, undefined);
  await t.admin(port, 'POST', 'credentials', { bearer: 'ABSKZW11bGF0b3JrZXk=' });
  r = await t.send({ port, path, headers: { authorization: 'Bearer ABSKZW11bGF0b3JrZXk=', 'content-type': 'application/json' }, body });
  assert.equal(r.status, 200, r.text);
  assert.equal(emu.stats.last.at(-1).auth, 'bearer');
});

test('x-amz-content-sha256, when signed, must match the body', async () => {
  const crypto = require('crypto');
  const good = crypto.createHash('sha256').update(JSON.stringify(BODY)).digest('hex');
  const r = await t.converse(port, MODEL, BODY, { headers: { 'x-amz-content-sha256': good } });
  assert.equal(r.status, 200, r.text);
  const bad = await t.converse(port, MODEL, BODY, { headers: { 'x-amz-content-sha256': 'e'.repeat(64) } });
  expectAuthError(bad, 403, 'InvalidSignatureException');
});

test('verifyRequest unit: reference vector A.2 (botocore) verifies at its own date', async () => {
  // Appendix A.2 of the reference: GET /foundation-models?byProvider=Anthropic&byOutputModality=TEXT
  const store = new CredentialStore();
  store.put({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });
  const req = {
    method: 'GET',
    url: '/foundation-models?byProvider=Anthropic&byOutputModality=TEXT',
    rawHeaders: [
      'Host', 'bedrock.us-east-1.amazonaws.com',
      'X-Amz-Date', '20250115T120000Z',
      'Authorization', 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=f321f2470a3154e5555a8553d6d3bb2caa65670205949a38678235cd8fcff0f5',
    ],
    body: Buffer.alloc(0),
  };
  const now = parseAmzDate('20250115T120100Z');
  const ok = await verifyRequest(req, { store, region: 'us-east-1', now });
  assert.equal(ok.ok, true, ok.response && ok.response.body.toString());
  req.rawHeaders[5] = req.rawHeaders[5].replace('f321f247', 'f321f248');
  const bad = await verifyRequest(req, { store, region: 'us-east-1', now });
  assert.equal(bad.ok, false);
  assert.equal(bad.reason, 'mismatch');
});

test('verifyRequest unit: reference vector A.1 (session token, double-encoded %3A path) verifies', async () => {
  const store = new CredentialStore();
  store.put({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'FQoGZXIvYXdzEXAMPLETOKEN' });
  const body = Buffer.from('{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}}');
  const req = {
    method: 'POST',
    url: '/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse',
    rawHeaders: [
      'Host', 'bedrock-runtime.us-east-1.amazonaws.com',
      'Content-Type', 'application/json',
      'X-Amz-Date', '20250115T120000Z',
      'X-Amz-Security-Token', 'FQoGZXIvYXdzEXAMPLETOKEN',
      'Authorization', 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=498fb47e4a9e036e513b204b86b7cce0b01da333016b2899b0afd0ee4aa9c28f',
    ],
    body,
  };
  const now = parseAmzDate('20250115T120000Z');
  const ok = await verifyRequest(req, { store, region: 'us-east-1', now });
  assert.equal(ok.ok, true, ok.response && ok.response.body.toString());
  const tampered = await verifyRequest({ ...req, body: Buffer.from(body.toString().replace('64', '65')) }, { store, region: 'us-east-1', now });
  assert.equal(tampered.reason, 'mismatch');
});

test('parseAuthorization and date helpers', () => {
  const p = parseAuthorization('AWS4-HMAC-SHA256 Credential=AKID/20250115/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=' + 'ab'.repeat(32));
  assert.equal(p.accessKeyId, 'AKID');
  assert.deepEqual(p.signedHeaders, ['content-type', 'host', 'x-amz-date']);
  assert.ok(parseAuthorization('AWS4-HMAC-SHA256 Credential=a/b/c').error);
  assert.equal(fmtAmzDate(Date.UTC(2025, 0, 15, 12, 0, 0)), '20250115T120000Z');
  assert.equal(parseAmzDate('20250115T120000Z'), Date.UTC(2025, 0, 15, 12, 0, 0));
  assert.equal(parseAmzDate('20251315T120000Z'), null);
});
