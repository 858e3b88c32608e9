'use strict';
// IMDSv2 and container credential endpoints: tokens, 401/400/403/405, v1, caching and rotation,
// expired credentials, disabled services, faults.
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');

let port;
let emu;
let stop;
test.before(async () => {
  ({ port, emu, stop } = await t.startEmulator());
});
test.after(() => stop());
test.beforeEach(async () => {
  assert.equal((await t.admin(port, 'POST', 'reset')).status, 200);
});

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const HI = t.userMsg('metadata test');
const ROLE_PATH = '/latest/meta-data/iam/security-credentials/';
const TTL = 'x-aws-ec2-metadata-token-ttl-seconds';
const ISO_S = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const put = (headers) => t.send({ port, method: 'PUT', path: '/latest/api/token', headers });
const get = (path, token, extra = {}) => t.send({ port, method: 'GET', path, headers: { ...(token !== undefined ? { 'x-aws-ec2-metadata-token': token } : {}), ...extra } });
const services = (cfg) => t.admin(port, 'POST', 'credential-services', cfg);

test('IMDS token: PUT with a TTL; TTL echoed; 400 / 403 / 405 cases', async () => {
  const r = await put({ [TTL]: '21600' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.headers[TTL], '21600');
  assert.ok(r.rawHeaders.includes('X-aws-ec2-metadata-token-ttl-seconds'), 'header casing as EC2 sends it');
  assert.match(r.text, /^AQAEA[A-Za-z0-9_-]{40,}$/);
  assert.equal(r.headers['x-amzn-requestid'], undefined);
  for (const ttl of [undefined, '', '0', '21601', 'abc', '-5', '1.5']) {
    const b = await put(ttl === undefined ? {} : { [TTL]: ttl });
    assert.equal(b.status, 400, `ttl ${ttl}`);
    assert.match(b.headers['content-type'], /^text\/html/);
    assert.match(b.text, /<title>400 - Bad Request<\/title>/);
  }
  const fwd = await put({ [TTL]: '60', 'x-forwarded-for': '10.1.2.3' });
  assert.equal(fwd.status, 403);
  assert.equal((await t.send({ port, method: 'GET', path: '/latest/api/token' })).status, 405);
  // tokenTtlMax lowers the accepted maximum
  await services({ imds: { tokenTtlMax: 300 } });
  assert.equal((await put({ [TTL]: '301' })).status, 400);
  assert.equal((await put({ [TTL]: '300' })).status, 200);
  assert.equal(emu.stats.credentialFetches.imdsToken, 2);
  assert.equal(emu.stats.requests.imds, 12);
});

test('IMDS GETs: 401 without / with an invalid or expired token (HttpTokens=required); role and credentials', async () => {
  assert.equal((await get(ROLE_PATH)).status, 401);
  const bad = await get(ROLE_PATH, 'AQAEAnot-a-token');
  assert.equal(bad.status, 401);
  assert.match(bad.text, /401 - Unauthorized/);
  const token = (await put({ [TTL]: '2' })).text;
  const role = await get(ROLE_PATH, token);
  assert.equal(role.status, 200);
  assert.equal(role.text, 'emulator-instance-role');
  assert.equal((await get(ROLE_PATH.slice(0, -1), token)).text, 'emulator-instance-role');
  const doc = await get(`${ROLE_PATH}emulator-instance-role`, token);
  assert.equal(doc.status, 200);
  assert.equal(doc.headers['content-type'], 'text/plain');
  assert.deepEqual(Object.keys(doc.json), ['Code', 'LastUpdated', 'Type', 'AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration']);
  assert.match(doc.text, /^\{\n {2}"Code" : "Success",\n {2}"LastUpdated" : "/);
  const j = doc.json;
  assert.equal(j.Code, 'Success');
  assert.equal(j.Type, 'AWS-HMAC');
  assert.match(j.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
  assert.match(j.Expiration, ISO_S);
  assert.match(j.LastUpdated, ISO_S);
  assert.ok(Math.abs(Date.parse(j.Expiration) - Date.now() - 6 * 3600 * 1000) < 2000, 'default lifetime 6 h');
  assert.equal((await get(`${ROLE_PATH}some-other-role`, token)).status, 404);
  assert.equal((await get('/latest/meta-data/instance-id', token)).text, 'i-0123456789abcdef0');
  assert.equal((await get('/latest/meta-data/placement/region', token)).text, 'us-east-1');
  assert.equal((await get('/latest/dynamic/instance-identity/document', token)).json.region, 'us-east-1');
  assert.equal((await get('/latest/meta-data/nothing-here', token)).status, 404);
  assert.equal((await t.send({ port, method: 'POST', path: ROLE_PATH, headers: { 'x-aws-ec2-metadata-token': token } })).status, 405);

  // the credentials work on Bedrock and identify as the instance role
  const creds = { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: j.Token };
  assert.equal((await t.converse(port, HAIKU, HI, { credentials: creds })).status, 200);
  const who = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: creds });
  assert.equal(t.xmlValue(who.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/emulator-instance-role/i-0123456789abcdef0');
  assert.match(t.xmlValue(who.text, 'UserId'), /^AROA[A-Z2-7]{17}:i-0123456789abcdef0$/);

  // the token expires after its TTL (emulator clock)
  await t.admin(port, 'POST', 'clock', { offsetSeconds: 3 });
  assert.equal((await get(ROLE_PATH, token)).status, 401);
  assert.deepEqual(
    { ...emu.stats.credentialFetches },
    { imdsToken: 1, imdsRole: 2, imdsCredentials: 1, container: 0, assumeRole: 0, assumeRoleWithWebIdentity: 0, getCallerIdentity: 1 },
  );
  const last = emu.stats.last.find((e) => e.path === `${ROLE_PATH}emulator-instance-role`);
  assert.equal(last.issuedAccessKeyId, j.AccessKeyId);
  assert.equal(last.route, 'imds');
  const stats = JSON.stringify(emu.stats);
  assert.ok(!stats.includes(j.SecretAccessKey) && !stats.includes(j.Token) && !stats.includes(token), 'no secrets or tokens in stats');
});

test('IMDSv1 when enabled: no token needed, but an invalid token is still 401', async () => {
  await services({ imds: { v1: true } });
  assert.equal((await get(ROLE_PATH)).text, 'emulator-instance-role');
  assert.equal((await get(`${ROLE_PATH}emulator-instance-role`)).status, 200);
  assert.equal((await get(ROLE_PATH, 'bogus')).status, 401);
});

test('IMDS credentials are cached until within the refresh window of expiry, then rotated', async () => {
  const a = await t.imdsFetch(port);
  const b = await t.imdsFetch(port);
  assert.equal(a.credentials.accessKeyId, b.credentials.accessKeyId);
  assert.equal(emu.stats.issuedCredentials, 1);
  // 6 h lifetime, 5 min window: 5 h 56 min later still the same, 5 h 56 min + 2 min later new ones
  await t.admin(port, 'POST', 'clock', { offsetSeconds: 6 * 3600 - 301 });
  assert.equal((await t.imdsFetch(port)).credentials.accessKeyId, a.credentials.accessKeyId);
  await t.admin(port, 'POST', 'clock', { offsetSeconds: 6 * 3600 - 200 });
  const c = await t.imdsFetch(port);
  assert.notEqual(c.credentials.accessKeyId, a.credentials.accessKeyId);
  assert.equal(emu.stats.issuedCredentials, 2);
  // a short lifetime (config change drops the cache): window = min(300, lifetime/2)
  await t.admin(port, 'POST', 'clock', { offsetSeconds: 0 });
  await services({ imds: { lifetimeSeconds: 60 } });
  const d = await t.imdsFetch(port);
  assert.notEqual(d.credentials.accessKeyId, c.credentials.accessKeyId);
  const exp = Date.parse(d.credentials.expiration);
  assert.ok(exp - Date.now() > 58000 && exp - Date.now() <= 61000);
  await t.admin(port, 'POST', 'clock', { offsetSeconds: 25 });
  assert.equal((await t.imdsFetch(port)).credentials.accessKeyId, d.credentials.accessKeyId);
  await t.admin(port, 'POST', 'clock', { offsetSeconds: 35 });
  assert.notEqual((await t.imdsFetch(port)).credentials.accessKeyId, d.credentials.accessKeyId);
});

test('IMDS: a short real lifetime; credentials expire on Bedrock, the next fetch rotates', async () => {
  await services({ imds: { lifetimeSeconds: 1 } });
  const a = await t.imdsFetch(port);
  assert.equal((await t.converse(port, HAIKU, HI, { credentials: a.credentials })).status, 200);
  await new Promise((res) => setTimeout(res, Math.max(0, Date.parse(a.credentials.expiration) - Date.now()) + 50));
  const r = await t.converse(port, HAIKU, HI, { credentials: a.credentials });
  assert.equal(r.status, 403);
  assert.match(r.headers['x-amzn-errortype'], /^ExpiredTokenException:/);
  const b = await t.imdsFetch(port);
  assert.notEqual(b.credentials.accessKeyId, a.credentials.accessKeyId);
  assert.equal((await t.converse(port, HAIKU, HI, { credentials: b.credentials })).status, 200);
});

test('IMDS serveExpired: the same already-expired credentials on every fetch', async () => {
  await services({ imds: { serveExpired: true } });
  const a = await t.imdsFetch(port);
  assert.ok(Date.parse(a.credentials.expiration) < Date.now());
  assert.ok(Date.parse(a.doc.json.LastUpdated) < Date.parse(a.credentials.expiration));
  const b = await t.imdsFetch(port);
  assert.equal(a.credentials.accessKeyId, b.credentials.accessKeyId);
  const r = await t.converse(port, HAIKU, HI, { credentials: a.credentials });
  assert.match(r.headers['x-amzn-errortype'], /^ExpiredTokenException:/);
  await services({ imds: { serveExpired: false } });
  const c = await t.imdsFetch(port);
  assert.ok(Date.parse(c.credentials.expiration) > Date.now());
});

test('IMDS: no role -> 404; disabled -> connection reset; route-named faults only', async () => {
  await services({ imds: { role: null } });
  const token = (await put({ [TTL]: '60' })).text;
  assert.equal((await get(ROLE_PATH, token)).status, 404);
  assert.equal((await get(`${ROLE_PATH}emulator-instance-role`, token)).status, 404);
  await services({ imds: { role: 'db-host-role' } });
  assert.equal((await get(ROLE_PATH, token)).text, 'db-host-role');
  const j = (await get(`${ROLE_PATH}db-host-role`, token)).json;
  const who = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: j.Token } });
  assert.equal(t.xmlValue(who.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/db-host-role/i-0123456789abcdef0');

  await services({ imds: { enabled: false } });
  await assert.rejects(put({ [TTL]: '60' }), /ECONNRESET|socket hang up/);
  await assert.rejects(get(ROLE_PATH, token), /ECONNRESET|socket hang up/);
  assert.equal(emu.stats.last.at(-1).status, 0);
  await services({ imds: { enabled: true } });

  await t.admin(port, 'POST', 'faults', { type: 'throttle', count: 0 }); // Bedrock routes only
  assert.equal((await put({ [TTL]: '60' })).status, 200);
  await t.admin(port, 'DELETE', 'faults');
  await t.admin(port, 'POST', 'faults', [
    { type: 'error', route: 'imds', code: 'InternalError' },
    { type: 'throttle', route: 'imds' },
    { type: 'status_only', route: 'imds', status: 503 },
  ]);
  assert.equal((await put({ [TTL]: '60' })).status, 500);
  assert.equal((await put({ [TTL]: '60' })).status, 429);
  assert.equal((await put({ [TTL]: '60' })).status, 503);
  assert.equal((await put({ [TTL]: '60' })).status, 200);
  await t.admin(port, 'POST', 'faults', { type: 'malformed', route: 'imds', after: 2 });
  const m = await t.imdsFetch(port);
  assert.equal(m.doc.status, 200);
  assert.equal(m.doc.json, null, 'half a JSON document');
  assert.equal(m.doc.headers['content-type'], 'text/plain');
});

test('container credentials: Authorization token, both paths, shape, caching, config', async () => {
  const auth = { authorization: 'emulator-container-token' };
  const full = await t.send({ port, method: 'GET', path: '/v1/credentials', headers: auth });
  assert.equal(full.status, 200);
  assert.equal(full.headers['content-type'], 'application/json');
  assert.deepEqual(Object.keys(full.json), ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration', 'RoleArn', 'AccountId']);
  assert.equal(full.json.RoleArn, 'arn:aws:iam::123456789012:role/emulator-task-role');
  assert.match(full.json.Expiration, ISO_S);
  const rel = await t.send({ port, method: 'GET', path: '/v2/credentials/emulator-task', headers: auth });
  assert.equal(rel.json.AccessKeyId, full.json.AccessKeyId, 'cached');
  const creds = { accessKeyId: full.json.AccessKeyId, secretAccessKey: full.json.SecretAccessKey, sessionToken: full.json.Token };
  assert.equal((await t.converse(port, HAIKU, HI, { credentials: creds })).status, 200);
  const who = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: creds });
  assert.equal(t.xmlValue(who.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/emulator-task-role/emulator-task');

  let r = await t.send({ port, method: 'GET', path: '/v1/credentials' });
  assert.equal(r.status, 401);
  assert.deepEqual(r.json, { Code: 'InvalidToken', Message: 'Authorization header is missing' });
  r = await t.send({ port, method: 'GET', path: '/v1/credentials', headers: { authorization: 'Bearer emulator-container-token' } });
  assert.equal(r.status, 403);
  assert.deepEqual(r.json, { Code: 'AccessDenied', Message: 'Authorization token is invalid' });
  r = await t.send({ port, method: 'POST', path: '/v1/credentials', headers: auth, body: Buffer.from('{}') });
  assert.equal(r.status, 405);
  assert.equal(emu.stats.credentialFetches.container, 2);
  assert.equal(emu.stats.requests.container, 5);

  // no token configured: no check; custom paths, lifetime and role
  await services({ container: { token: null, relativePath: '/v2/credentials/0123-abcd', fullPath: null, lifetimeSeconds: 900, roleArn: 'arn:aws:iam::123456789012:role/pod-role' } });
  r = await t.send({ port, method: 'GET', path: '/v2/credentials/0123-abcd' });
  assert.equal(r.status, 200);
  assert.notEqual(r.json.AccessKeyId, full.json.AccessKeyId, 'config change drops the cache');
  assert.equal(r.json.RoleArn, 'arn:aws:iam::123456789012:role/pod-role');
  assert.ok(Math.abs(Date.parse(r.json.Expiration) - Date.now() - 900000) < 2000);
  r = await t.send({ port, method: 'GET', path: '/v1/credentials', headers: auth });
  assert.equal(emu.stats.last.at(-1).route, 'unknown', 'fullPath disabled: falls through to Bedrock routing');
  const cfg = await t.admin(port, 'GET', 'credential-services');
  assert.equal(cfg.json.container.tokenSet, false);
  assert.equal(cfg.json.container.token, undefined);

  await services({ container: { enabled: false } });
  await assert.rejects(t.send({ port, method: 'GET', path: '/v2/credentials/0123-abcd' }), /ECONNRESET|socket hang up/);
  await services({ container: { enabled: true, serveExpired: true } });
  r = await t.send({ port, method: 'GET', path: '/v2/credentials/0123-abcd' });
  assert.ok(Date.parse(r.json.Expiration) < Date.now());
  await t.admin(port, 'POST', 'faults', { type: 'error', route: 'container', code: 'ServiceUnavailable', status: 503, message: 'agent restarting' });
  r = await t.send({ port, method: 'GET', path: '/v2/credentials/0123-abcd' });
  assert.equal(r.status, 503);
  assert.deepEqual(r.json, { Code: 'ServiceUnavailable', Message: 'agent restarting' });
});

test('credential-services admin config: defaults, partial merge, validation, reset', async () => {
  let r = await t.admin(port, 'GET', 'credential-services');
  assert.deepEqual(r.json, {
    imds: { enabled: true, v1: false, role: 'emulator-instance-role', lifetimeSeconds: 21600, refreshWindowSeconds: 300, serveExpired: false, tokenTtlMax: 21600 },
    container: {
      enabled: true,
      lifetimeSeconds: 21600,
      refreshWindowSeconds: 300,
      serveExpired: false,
      relativePath: '/v2/credentials/emulator-task',
      fullPath: '/v1/credentials',
      roleArn: 'arn:aws:iam::123456789012:role/emulator-task-role',
      tokenSet: true,
    },
    sts: { enabled: true, maxLifetimeSeconds: 43200 },
  });
  r = await services({ imds: { v1: true }, sts: { maxLifetimeSeconds: 900 } });
  assert.equal(r.status, 200);
  assert.equal(r.json.imds.v1, true);
  assert.equal(r.json.imds.role, 'emulator-instance-role');
  assert.equal(r.json.sts.maxLifetimeSeconds, 900);
  const before = JSON.stringify((await t.admin(port, 'GET', 'credential-services')).json);
  for (const bad of [
    { imds: { v1: 'yes' } },
    { imds: { lifetimeSeconds: 0 } },
    { imds: { nope: 1 } },
    { ec2: {} },
    { imds: { role: 'bad role' } },
    { container: { token: 'a\nb' } },
    { container: { fullPath: '/model/x' } },
    { container: { relativePath: '/' } },
    { container: { relativePath: '/v1/credentials' } },
    { imds: { v1: false }, sts: { maxLifetimeSeconds: -1 } }, // nothing applied when any part is invalid
    [],
  ]) {
    r = await services(bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.ok(r.json.error);
  }
  assert.equal(JSON.stringify((await t.admin(port, 'GET', 'credential-services')).json), before);
  await t.admin(port, 'POST', 'reset');
  r = await t.admin(port, 'GET', 'credential-services');
  assert.equal(r.json.imds.v1, false);
  assert.equal(r.json.sts.maxLifetimeSeconds, 43200);
  r = await t.admin(port, 'DELETE', 'credential-services');
  assert.equal(r.status, 200);
});
