'use strict';
// STS (Query protocol): GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity, errors, and
// issued credentials on the Bedrock routes (expiry, wrong session token).
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testkit');
const { STS_NS } = require('../lib/sts');

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
const HI = t.userMsg('sts test');
const CALLER = 'arn:aws:iam::123456789012:role/bedrock-caller';
const PARTNER = 'arn:aws:iam::123456789012:role/bedrock-partner';
const OTHER = 'arn:aws:iam::210987654321:role/other-account-role';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_S = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function assertStsError(r, status, code, message) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers['content-type'], 'text/xml');
  assert.match(r.headers['x-amzn-requestid'], UUID);
  assert.equal(t.xmlValue(r.text, 'Code'), code);
  assert.equal(t.xmlValue(r.text, 'Type'), status >= 500 ? 'Receiver' : 'Sender');
  assert.equal(t.xmlValue(r.text, 'RequestId'), r.headers['x-amzn-requestid']);
  assert.ok(r.text.startsWith(`<ErrorResponse xmlns="${STS_NS}">`), r.text);
  if (message instanceof RegExp) assert.match(t.xmlValue(r.text, 'Message'), message);
  else if (message !== undefined) assert.equal(t.xmlValue(r.text, 'Message'), message);
}

async function assumeRole(params, opts) {
  return t.stsCall(port, { Action: 'AssumeRole', RoleSessionName: 'pg-bedrock-1', ...params }, opts);
}

test('GetCallerIdentity: exact XML shape for the long-term key; temporary key identity', async () => {
  const r = await t.stsCall(port, { Action: 'GetCallerIdentity' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/xml');
  const rid = r.headers['x-amzn-requestid'];
  assert.match(rid, UUID);
  assert.equal(
    r.text,
    `<GetCallerIdentityResponse xmlns="${STS_NS}">\n  <GetCallerIdentityResult>\n    <Arn>arn:aws:iam::123456789012:user/emulator-user</Arn>\n` +
      `    <UserId>AIDAEMULATORUSER00001</UserId>\n    <Account>123456789012</Account>\n  </GetCallerIdentityResult>\n` +
      `  <ResponseMetadata>\n    <RequestId>${rid}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n`,
  );
  const tmp = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: t.TEMPORARY });
  assert.equal(t.xmlValue(tmp.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/emulator-role/emulator-session');
  // GET /?Action=… (signed query) works too
  const g = await t.signedCall({ port, method: 'GET', path: '/', service: 'sts', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } });
  assert.equal(g.status, 200, g.text);
  assert.equal(emu.stats.credentialFetches.getCallerIdentity, 3);
  assert.equal(emu.stats.requests.sts, 3);
  const last = emu.stats.last.at(-1);
  assert.deepEqual([last.route, last.action, last.auth, last.accessKeyId], ['sts', 'GetCallerIdentity', 'sigv4', 'AKIDEMULATOR00000001']);
});

test('STS authentication errors use Query error codes', async () => {
  let r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { unsigned: true });
  assertStsError(r, 403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: { accessKeyId: 'AKIDNOBODY0000000000', secretAccessKey: 'x' } });
  assertStsError(r, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid');
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: { ...t.LONG_TERM, secretAccessKey: 'wrong' } });
  assertStsError(r, 403, 'SignatureDoesNotMatch', /^The request signature we calculated does not match/);
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { service: 'bedrock' });
  assertStsError(r, 403, 'SignatureDoesNotMatch', "Credential should be scoped to correct service: 'sts'.");
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { region: 'eu-west-1' });
  assertStsError(r, 403, 'SignatureDoesNotMatch', /scoped to a valid region/);
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { date: new Date(Date.now() - 20 * 60000) });
  assertStsError(r, 403, 'SignatureDoesNotMatch', /^Signature expired: /);
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: { ...t.TEMPORARY, sessionToken: 'wrong' } });
  assertStsError(r, 403, 'InvalidClientTokenId');
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { unsigned: true, headers: { authorization: 'Bearer ABSKsomething' } });
  assertStsError(r, 400, 'IncompleteSignature');
  // the body is signed: tampering is a mismatch
  r = await t.stsCall(port, { Action: 'AssumeRole', RoleArn: CALLER, RoleSessionName: 'ab' }, { mutate: (s) => (s.body = Buffer.from(s.body.toString().replace('RoleSessionName=ab', 'RoleSessionName=zz'))) });
  assertStsError(r, 403, 'SignatureDoesNotMatch');
  assert.equal(emu.stats.rejected.missing, 1);
  assert.equal(emu.stats.rejected.mismatch, 2);
  // an expired key gets ExpiredToken (403)
  await t.admin(port, 'POST', 'credentials', { ...t.TEMPORARY, expiration: new Date(Date.now() - 1000).toISOString() });
  r = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: t.TEMPORARY });
  assertStsError(r, 403, 'ExpiredToken', 'The security token included in the request is expired');
  await t.admin(port, 'DELETE', 'credentials');
});

test('Action / Version errors', async () => {
  let r = await t.stsCall(port, { Action: 'GetSessionToken' });
  assertStsError(r, 400, 'InvalidAction', 'Could not find operation GetSessionToken for version 2011-06-15');
  r = await t.stsCall(port, { Action: 'GetCallerIdentity', Version: '2099-01-01' });
  assertStsError(r, 400, 'InvalidAction', 'Could not find operation GetCallerIdentity for version 2099-01-01');
  r = await t.stsCall(port, { Action: 'GetCallerIdentity', Version: undefined });
  assertStsError(r, 400, 'InvalidAction', 'Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED');
  r = await t.stsCall(port, {});
  assertStsError(r, 400, 'MissingAction');
  // a JSON POST / is not STS: Bedrock's unknown operation
  r = await t.signedCall({ port, path: '/', body: HI });
  assert.equal(r.status, 404);
  assert.match(r.headers['x-amzn-errortype'], /^UnknownOperationException:/);
});

test('AssumeRole: credentials, identity, expiration; the issued keys work on Bedrock and STS', async () => {
  const t0 = Date.now();
  const r = await assumeRole({ RoleArn: CALLER });
  assert.equal(r.status, 200, r.text);
  const rid = r.headers['x-amzn-requestid'];
  assert.ok(r.text.startsWith(`<AssumeRoleResponse xmlns="${STS_NS}">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n`), r.text);
  assert.ok(r.text.endsWith(`  <ResponseMetadata>\n    <RequestId>${rid}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n`));
  assert.equal(t.xmlValue(r.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/bedrock-caller/pg-bedrock-1');
  assert.match(t.xmlValue(r.text, 'AssumedRoleId'), /^AROA[A-Z2-7]{17}:pg-bedrock-1$/);
  assert.equal(t.xmlValue(r.text, 'PackedPolicySize'), null);
  const c = t.xmlCredentials(r.text);
  assert.match(c.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
  assert.equal(c.secretAccessKey.length, 40);
  assert.ok(c.sessionToken.length > 500);
  assert.match(c.expiration, ISO_S);
  const exp = Date.parse(c.expiration);
  assert.ok(exp >= t0 + 3600000 && exp <= Date.now() + 3601000, c.expiration);
  assert.equal(emu.stats.credentialFetches.assumeRole, 1);
  assert.equal(emu.stats.issuedCredentials, 1);
  assert.equal(emu.stats.last.at(-1).issuedAccessKeyId, c.accessKeyId);

  assert.equal((await t.converse(port, HAIKU, HI, { credentials: c })).status, 200);
  assert.equal((await t.signedCall({ port, method: 'GET', path: '/foundation-models', credentials: c })).status, 200);
  const who = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: c });
  assert.equal(t.xmlValue(who.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/bedrock-caller/pg-bedrock-1');
  assert.equal(t.xmlValue(who.text, 'UserId'), t.xmlValue(r.text, 'AssumedRoleId'));
  // wrong / missing session token for an issued key
  let bad = await t.converse(port, HAIKU, HI, { credentials: { ...c, sessionToken: 'nope' } });
  assert.equal(bad.status, 403);
  assert.match(bad.headers['x-amzn-errortype'], /^UnrecognizedClientException:/);
  bad = await t.converse(port, HAIKU, HI, { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } });
  assert.match(bad.headers['x-amzn-errortype'], /^UnrecognizedClientException:/);
  bad = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: { ...c, sessionToken: 'nope' } });
  assertStsError(bad, 403, 'InvalidClientTokenId');
  // the admin listing shows issued keys without secrets
  const list = await t.admin(port, 'GET', 'credentials');
  assert.ok(list.json.issued.some((k) => k.accessKeyId === c.accessKeyId && k.source === 'sts'));
  assert.ok(!list.text.includes(c.secretAccessKey) && !list.text.includes(c.sessionToken));
});

test('AssumeRole: DurationSeconds, sts.maxLifetimeSeconds, source identity and policy', async () => {
  let r = await assumeRole({ RoleArn: CALLER, DurationSeconds: 900, SourceIdentity: 'alice', Policy: '{"Version":"2012-10-17","Statement":[]}' });
  assert.equal(r.status, 200, r.text);
  let exp = Date.parse(t.xmlValue(r.text, 'Expiration'));
  assert.ok(Math.abs(exp - Date.now() - 900000) < 2000);
  assert.equal(t.xmlValue(r.text, 'SourceIdentity'), 'alice');
  assert.ok(Number(t.xmlValue(r.text, 'PackedPolicySize')) > 0);
  await t.admin(port, 'POST', 'credential-services', { sts: { maxLifetimeSeconds: 120 } });
  r = await assumeRole({ RoleArn: CALLER, DurationSeconds: 43200 });
  exp = Date.parse(t.xmlValue(r.text, 'Expiration'));
  assert.ok(Math.abs(exp - Date.now() - 120000) < 2000);
});

test('AssumeRole: validation errors (Coral style)', async () => {
  const cases = [
    [{ RoleArn: CALLER, RoleSessionName: 'a' }, "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"],
    [{ RoleArn: CALLER, RoleSessionName: 'x'.repeat(65) }, /Member must have length less than or equal to 64$/],
    [{ RoleArn: CALLER, RoleSessionName: 'bad name' }, "1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"],
    [{ RoleArn: CALLER, RoleSessionName: undefined }, "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"],
    [{ RoleArn: CALLER, DurationSeconds: 899 }, "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"],
    [{ RoleArn: CALLER, DurationSeconds: 43201 }, /Member must have value less than or equal to 43200$/],
    [{ RoleArn: CALLER, DurationSeconds: 'soon' }, /at 'durationSeconds'/],
    [{ RoleArn: 'arn:x', RoleSessionName: 'a' }, /^2 validation errors detected: Value 'arn:x' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; Value 'a' at 'roleSessionName'/],
    [{ RoleArn: undefined }, "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"],
    [{ RoleArn: 'arn:aws:iam::123456789012:user/not-a-role' }, 'arn:aws:iam::123456789012:user/not-a-role is invalid'],
    [{ RoleArn: PARTNER, ExternalId: 'x' }, /at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2$/],
  ];
  for (const [params, message] of cases) {
    const r = await assumeRole(params);
    assertStsError(r, 400, 'ValidationError', message);
  }
  assert.equal(emu.stats.issuedCredentials, 0);
});

test('AssumeRole: unknown role, ExternalId, cross-account role, role chaining', async () => {
  const denied = (role) => `User: arn:aws:iam::123456789012:user/emulator-user is not authorized to perform: sts:AssumeRole on resource: ${role}`;
  let r = await assumeRole({ RoleArn: 'arn:aws:iam::123456789012:role/nobody' });
  assertStsError(r, 403, 'AccessDenied', denied('arn:aws:iam::123456789012:role/nobody'));
  r = await assumeRole({ RoleArn: PARTNER });
  assertStsError(r, 403, 'AccessDenied', denied(PARTNER));
  r = await assumeRole({ RoleArn: PARTNER, ExternalId: 'wrong-external-id' });
  assertStsError(r, 403, 'AccessDenied', denied(PARTNER));
  r = await assumeRole({ RoleArn: PARTNER, ExternalId: 'partner-external-id' });
  assert.equal(r.status, 200, r.text);

  r = await assumeRole({ RoleArn: OTHER, RoleSessionName: 'cross' });
  assert.equal(r.status, 200);
  assert.equal(t.xmlValue(r.text, 'Arn'), 'arn:aws:sts::210987654321:assumed-role/other-account-role/cross');
  const cross = t.xmlCredentials(r.text);
  const who = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: cross });
  assert.equal(t.xmlValue(who.text, 'Account'), '210987654321');

  // role chaining: temporary credentials may assume a role for at most one hour
  r = await assumeRole({ RoleArn: CALLER, DurationSeconds: 7200 }, { credentials: cross });
  assertStsError(r, 400, 'ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  r = await assumeRole({ RoleArn: CALLER, RoleSessionName: 'chained' }, { credentials: cross });
  assert.equal(r.status, 200);
  // an AccessDenied names the assumed-role caller
  r = await assumeRole({ RoleArn: PARTNER }, { credentials: cross });
  assertStsError(r, 403, 'AccessDenied', `User: arn:aws:sts::210987654321:assumed-role/other-account-role/cross is not authorized to perform: sts:AssumeRole on resource: ${PARTNER}`);

  // roles added through the admin API
  let a = await t.admin(port, 'POST', 'roles', { arn: 'arn:aws:iam::123456789012:role/path/added-role', externalId: 'ext-42' });
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.json.added, [{ arn: 'arn:aws:iam::123456789012:role/path/added-role', account: '123456789012', externalIdRequired: true }]);
  r = await assumeRole({ RoleArn: 'arn:aws:iam::123456789012:role/path/added-role', ExternalId: 'ext-42' });
  assert.equal(t.xmlValue(r.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/added-role/pg-bedrock-1');
  a = await t.admin(port, 'POST', 'roles', { arn: 'arn:aws:iam::123456789012:role/acct', account: '333333333333' });
  r = await assumeRole({ RoleArn: 'arn:aws:iam::123456789012:role/acct' });
  assert.equal(t.xmlValue(r.text, 'Arn'), 'arn:aws:sts::333333333333:assumed-role/acct/pg-bedrock-1');
  for (const bad of [{ arn: 'nope' }, { arn: CALLER, externalId: 'x' }, { arn: CALLER, account: '12' }, { arn: CALLER, extra: 1 }, [{ arn: CALLER }, { arn: 'nope' }]]) {
    a = await t.admin(port, 'POST', 'roles', bad);
    assert.equal(a.status, 400, JSON.stringify(bad));
  }
  const roles = await t.admin(port, 'GET', 'roles');
  assert.equal(roles.json.roles.length, 5);
  assert.ok(!roles.text.includes('ext-42') && !roles.text.includes('partner-external-id'));
  await t.admin(port, 'POST', 'reset');
  assert.equal((await t.admin(port, 'GET', 'roles')).json.roles.length, 3);
});

test('AssumeRoleWithWebIdentity: unsigned, registered tokens only', async () => {
  const call = (params, opts = { unsigned: true }) =>
    t.stsCall(port, { Action: 'AssumeRoleWithWebIdentity', RoleArn: CALLER, RoleSessionName: 'irsa', WebIdentityToken: 'emulator-web-identity-token', ...params }, opts);
  let r = await call({});
  assert.equal(r.status, 200, r.text);
  assert.ok(r.text.startsWith(`<AssumeRoleWithWebIdentityResponse xmlns="${STS_NS}">\n  <AssumeRoleWithWebIdentityResult>\n`));
  assert.equal(t.xmlValue(r.text, 'SubjectFromWebIdentityToken'), 'system:serviceaccount:default:emulator');
  assert.equal(t.xmlValue(r.text, 'Audience'), 'sts.amazonaws.com');
  assert.match(t.xmlValue(r.text, 'Provider'), /^arn:aws:iam::123456789012:oidc-provider\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\//);
  assert.equal(t.xmlValue(r.text, 'Arn'), 'arn:aws:sts::123456789012:assumed-role/bedrock-caller/irsa');
  const c = t.xmlCredentials(r.text);
  assert.equal((await t.converse(port, HAIKU, HI, { credentials: c })).status, 200);
  assert.equal(emu.stats.last.at(-2).auth, 'none');
  // an Authorization header is ignored (the operation is unauthenticated)
  r = await call({}, { unsigned: true, headers: { authorization: 'AWS4-HMAC-SHA256 Credential=garbage' } });
  assert.equal(r.status, 200);
  r = await call({ DurationSeconds: 900 });
  assert.ok(Math.abs(Date.parse(t.xmlValue(r.text, 'Expiration')) - Date.now() - 900000) < 2000);

  r = await call({ WebIdentityToken: 'not-registered-token' });
  assertStsError(r, 400, 'InvalidIdentityToken', 'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)');
  r = await call({ RoleArn: 'arn:aws:iam::123456789012:role/nobody' });
  assertStsError(r, 403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
  r = await call({ WebIdentityToken: undefined });
  assertStsError(r, 400, 'ValidationError', "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null");

  // tokens registered through the admin API
  let a = await t.admin(port, 'POST', 'web-identity-tokens', { token: 'eyJhbGciOiJSUzI1NiJ9.pod.sig', subject: 'system:serviceaccount:db:postgres', audience: 'sts.amazonaws.com' });
  assert.equal(a.status, 200, a.text);
  r = await call({ WebIdentityToken: 'eyJhbGciOiJSUzI1NiJ9.pod.sig' });
  assert.equal(t.xmlValue(r.text, 'SubjectFromWebIdentityToken'), 'system:serviceaccount:db:postgres');
  await t.admin(port, 'POST', 'web-identity-tokens', { token: 'expired-web-token', expiration: new Date(Date.now() - 1000).toISOString() });
  r = await call({ WebIdentityToken: 'expired-web-token' });
  assertStsError(r, 400, 'ExpiredTokenException', /^Token expired: /);
  a = await t.admin(port, 'POST', 'web-identity-tokens', { token: 'x' });
  assert.equal(a.status, 400);
  const g = await t.admin(port, 'GET', 'web-identity-tokens');
  assert.deepEqual(g.json, { tokens: 3 });
  assert.ok(!JSON.stringify(emu.stats).includes('eyJhbGciOiJSUzI1NiJ9') && !JSON.stringify(emu.stats).includes('emulator-web-identity-token'));
  assert.equal(emu.stats.credentialFetches.assumeRoleWithWebIdentity, 4);
});

test('issued credentials expire on every route (real 1 s lifetime)', async () => {
  await t.admin(port, 'POST', 'credential-services', { sts: { maxLifetimeSeconds: 1 } });
  const r = await assumeRole({ RoleArn: CALLER });
  const c = t.xmlCredentials(r.text);
  const exp = Date.parse(c.expiration);
  assert.ok(exp - Date.now() <= 2000);
  assert.equal((await t.converse(port, HAIKU, HI, { credentials: c })).status, 200);
  await new Promise((res) => setTimeout(res, Math.max(0, exp - Date.now()) + 50));
  const b = await t.converse(port, HAIKU, HI, { credentials: c });
  assert.equal(b.status, 403);
  assert.match(b.headers['x-amzn-errortype'], /^ExpiredTokenException:/);
  assert.deepEqual(b.json, { message: 'The security token included in the request is expired' });
  const ctl = await t.signedCall({ port, method: 'GET', path: '/inference-profiles', credentials: c });
  assert.match(ctl.headers['x-amzn-errortype'], /^ExpiredTokenException:/);
  const s = await t.stsCall(port, { Action: 'GetCallerIdentity' }, { credentials: c });
  assertStsError(s, 403, 'ExpiredToken');
  assert.equal(emu.stats.rejected.expired, 3);
});

test('issued credentials are dropped an hour after expiry (store stays bounded)', async () => {
  await t.admin(port, 'POST', 'credential-services', { sts: { maxLifetimeSeconds: 60 } });
  const c = t.xmlCredentials((await assumeRole({ RoleArn: CALLER })).text);
  // two hours later (emulator clock), sign with the emulator's time
  await t.admin(port, 'POST', 'clock', { offsetSeconds: 7200 });
  const later = new Date(Date.now() + 7200 * 1000);
  let r = await t.converse(port, HAIKU, HI, { credentials: c, date: later });
  assert.match(r.headers['x-amzn-errortype'], /^ExpiredTokenException:/);
  // issuing new credentials prunes the long-expired ones
  r = await assumeRole({ RoleArn: CALLER }, { date: later });
  assert.equal(r.status, 200);
  assert.equal(emu.store.get(c.accessKeyId), null);
  r = await t.converse(port, HAIKU, HI, { credentials: c, date: later });
  assert.match(r.headers['x-amzn-errortype'], /^UnrecognizedClientException:/);
});

test('faults: only faults naming route "sts" reach STS', async () => {
  await t.admin(port, 'POST', 'faults', { type: 'throttle', count: 0 }); // any Bedrock route
  assert.equal((await t.stsCall(port, { Action: 'GetCallerIdentity' })).status, 200);
  await t.admin(port, 'DELETE', 'faults');
  await t.admin(port, 'POST', 'faults', [
    { type: 'throttle', route: 'sts' },
    { type: 'error', route: 'sts', code: 'IDPCommunicationError' },
    { type: 'error', route: 'sts', code: 'InternalFailure' },
    { type: 'reset', route: 'sts' },
  ]);
  assertStsError(await t.stsCall(port, { Action: 'GetCallerIdentity' }), 400, 'Throttling', 'Rate exceeded');
  assertStsError(await t.stsCall(port, { Action: 'GetCallerIdentity' }), 400, 'IDPCommunicationError');
  assertStsError(await t.stsCall(port, { Action: 'GetCallerIdentity' }), 500, 'InternalFailure');
  await assert.rejects(t.stsCall(port, { Action: 'GetCallerIdentity' }), /ECONNRESET|socket hang up/);
  assert.equal((await t.stsCall(port, { Action: 'GetCallerIdentity' })).status, 200);
  const bad = await t.admin(port, 'POST', 'faults', { type: 'error', route: 'sts', code: 'NoSuchStsCode' });
  assert.equal(bad.status, 400);
});

test('sts.enabled=false: the connection is reset', async () => {
  await t.admin(port, 'POST', 'credential-services', { sts: { enabled: false } });
  await assert.rejects(t.stsCall(port, { Action: 'GetCallerIdentity' }), /ECONNRESET|socket hang up/);
  assert.equal(emu.stats.last.at(-1).status, 0);
  assert.equal(emu.stats.last.at(-1).errorCode, 'ServiceDown');
  await t.admin(port, 'POST', 'credential-services', { sts: { enabled: true } });
  assert.equal((await t.stsCall(port, { Action: 'GetCallerIdentity' })).status, 200);
});

test('AssumeRole: session tags are checked and recorded; sts-log and callsByPrincipal', async () => {
  let r = await assumeRole({ RoleArn: PARTNER, ExternalId: 'partner-external-id', 'Tags.member.1.Key': 'postgres_role', 'Tags.member.1.Value': 'analysts', 'Tags.member.2.Key': 'postgres_database', 'Tags.member.2.Value': 'prod' });
  assert.equal(r.status, 200, r.text);
  const creds = t.xmlCredentials(r.text);
  r = await assumeRole({ RoleArn: CALLER, 'Tags.member.1.Key': 'k' });
  assertStsError(r, 400, 'ValidationError', /tags\.1\.member\.value/);
  r = await assumeRole({ RoleArn: CALLER, 'Tags.member.1.Key': 'a', 'Tags.member.1.Value': '1', 'Tags.member.2.Key': 'A', 'Tags.member.2.Value': '2' });
  assertStsError(r, 400, 'ValidationError', /Duplicate tag keys/);
  r = await assumeRole({ RoleArn: PARTNER, ExternalId: 'wrong' });
  assert.equal(r.status, 403);
  const log = (await t.admin(port, 'GET', 'sts-log')).json.assumeRole;
  assert.equal(log.length, 2, JSON.stringify(log));
  assert.deepEqual(log[0].tags, { postgres_role: 'analysts', postgres_database: 'prod' });
  assert.equal(log[0].outcome, 'ok');
  assert.equal(log[0].externalIdGiven, true);
  assert.equal(log[1].outcome, 'external id mismatch');
  assert.ok(!JSON.stringify(log).includes('partner-external-id'), 'the external id itself is never logged');
  // a Bedrock call with the assumed credentials counts for the assumed-role principal
  const c = await t.converse(port, HAIKU, HI, { credentials: creds });
  assert.equal(c.status, 200, c.text);
  const stats = (await t.admin(port, 'GET', 'stats')).json;
  assert.equal(stats.callsByPrincipal['arn:aws:sts::123456789012:assumed-role/bedrock-partner/pg-bedrock-1'], 1);
  await t.admin(port, 'DELETE', 'sts-log');
  assert.equal((await t.admin(port, 'GET', 'sts-log')).json.assumeRole.length, 0);
});
