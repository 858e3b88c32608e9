'use strict';
// Conformance: the official AWS SDK for JavaScript v3 credential providers and STS client fetch
// working credentials from the emulator, which then round-trip a Bedrock Converse call.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BedrockRuntimeClient, ConverseCommand } = require('@aws-sdk/client-bedrock-runtime');
const { STSClient, GetCallerIdentityCommand, AssumeRoleCommand } = require('@aws-sdk/client-sts');
const { fromInstanceMetadata, fromContainerMetadata } = require('@smithy/credential-provider-imds');
const { fromHttp } = require('@aws-sdk/credential-provider-http');
const { fromTokenFile } = require('@aws-sdk/credential-provider-web-identity');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const t = require('../lib/testkit');

// keep the developer's own AWS configuration out of these tests
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bedrock-emu-creds-'));
process.env.AWS_CONFIG_FILE = path.join(tmp, 'no-config');
process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(tmp, 'no-credentials');
for (const v of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_EC2_METADATA_DISABLED', 'AWS_EC2_METADATA_V1_DISABLED', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS']) {
  delete process.env[v];
}

let port;
let emu;
let stop;
const clients = [];
test.before(async () => {
  ({ port, emu, stop } = await t.startEmulator());
});
test.after(async () => {
  for (const c of clients) c.destroy();
  await stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});
test.beforeEach(async () => {
  assert.equal((await t.admin(port, 'POST', 'reset')).status, 200);
});

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const CALLER = 'arn:aws:iam::123456789012:role/bedrock-caller';
const PARTNER = 'arn:aws:iam::123456789012:role/bedrock-partner';

function quietLogger() {
  const warnings = [];
  return { warnings, debug() {}, info() {}, trace() {}, warn: (...a) => warnings.push(a.join(' ')), error() {} };
}

function bedrock(credentials) {
  const c = new BedrockRuntimeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10000 }),
  });
  clients.push(c);
  return c;
}

function stsClient(credentials) {
  const c = new STSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10000 }),
  });
  clients.push(c);
  return c;
}

/** Converse through the emulator; returns the access key id the emulator saw. */
async function roundTrip(credentials, text = 'credential round trip') {
  const out = await bedrock(credentials).send(new ConverseCommand({ modelId: HAIKU, messages: [{ role: 'user', content: [{ text }] }] }));
  assert.equal(out.output.message.content[0].text, `Summary (3 words): ${text}`);
  const last = emu.stats.last.at(-1);
  assert.equal(last.route, 'converse');
  assert.equal(last.status, 200);
  return last.accessKeyId;
}

test('fromInstanceMetadata (IMDSv2 via AWS_EC2_METADATA_SERVICE_ENDPOINT) -> Converse', async () => {
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = `http://127.0.0.1:${port}/`;
  try {
    const creds = await fromInstanceMetadata({ timeout: 2000, maxRetries: 0 })();
    assert.match(creds.accessKeyId, /^ASIA/);
    assert.ok(creds.sessionToken);
    assert.ok(creds.expiration.getTime() - Date.now() > 5 * 3600 * 1000);
    assert.deepEqual(
      emu.stats.last.map((e) => [e.method, e.path, e.status]),
      [
        ['PUT', '/latest/api/token', 200],
        ['GET', '/latest/meta-data/iam/security-credentials/', 200],
        ['GET', '/latest/meta-data/iam/security-credentials/emulator-instance-role', 200],
      ],
    );
    assert.equal(emu.stats.last.at(-1).issuedAccessKeyId, creds.accessKeyId);
    // the provider as the client's credential source
    const used = await roundTrip(fromInstanceMetadata({ timeout: 2000, maxRetries: 0 }));
    assert.equal(used, creds.accessKeyId, 'cached instance credentials');
    assert.equal(emu.stats.credentialFetches.imdsCredentials, 2);
    assert.equal(emu.stats.issuedCredentials, 1);
  } finally {
    delete process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  }
});

test('fromInstanceMetadata with serveExpired: the SDK extends the expiry (static stability), Bedrock says ExpiredTokenException', async () => {
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = `http://127.0.0.1:${port}`;
  try {
    await t.admin(port, 'POST', 'credential-services', { imds: { serveExpired: true } });
    const logger = quietLogger();
    const creds = await fromInstanceMetadata({ timeout: 2000, maxRetries: 0, logger })();
    assert.ok(creds.expiration.getTime() > Date.now(), 'extended by the SDK');
    assert.ok(logger.warnings.some((w) => /expiration/i.test(w)), logger.warnings.join('\n'));
    await assert.rejects(bedrock(creds).send(new ConverseCommand({ modelId: HAIKU, messages: [{ role: 'user', content: [{ text: 'x' }] }] })), (e) => {
      assert.equal(e.name, 'ExpiredTokenException');
      assert.equal(e.message, 'The security token included in the request is expired');
      assert.equal(e.$metadata.httpStatusCode, 403);
      return true;
    });
  } finally {
    delete process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  }
});

test('fromContainerMetadata and fromHttp (AWS_CONTAINER_CREDENTIALS_FULL_URI + authorization token) -> Converse', async () => {
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${port}/v1/credentials`;
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = 'emulator-container-token';
  try {
    const a = await fromContainerMetadata({ timeout: 2000, maxRetries: 0 })();
    assert.match(a.accessKeyId, /^ASIA/);
    assert.equal(a.accountId, '123456789012');
    const b = await fromHttp({ timeout: 2000, maxRetries: 0 })();
    assert.equal(b.accessKeyId, a.accessKeyId, 'same cached container credentials');
    assert.equal(await roundTrip(fromHttp({ timeout: 2000, maxRetries: 0 })), a.accessKeyId);
    assert.equal(emu.stats.credentialFetches.container, 3);

    // the token from a file (EKS Pod Identity style), and a wrong token
    const tokenFile = path.join(tmp, 'pod-identity-token');
    fs.writeFileSync(tokenFile, 'emulator-container-token');
    delete process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
    const c = await fromHttp({ awsContainerAuthorizationTokenFile: tokenFile, timeout: 2000, maxRetries: 0 })();
    assert.equal(c.accessKeyId, a.accessKeyId);
    await assert.rejects(fromHttp({ awsContainerAuthorizationToken: 'wrong-token', timeout: 2000, maxRetries: 0 })(), /AccessDenied|403|invalid/i);
    assert.equal(emu.stats.last.at(-1).status, 403);
  } finally {
    delete process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
    delete process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  }
});

test('fromTokenFile (AssumeRoleWithWebIdentity through the SDK STS client) -> Converse', async () => {
  const tokenFile = path.join(tmp, 'web-identity-token');
  fs.writeFileSync(tokenFile, 'emulator-web-identity-token');
  const provider = fromTokenFile({
    webIdentityTokenFile: tokenFile,
    roleArn: CALLER,
    roleSessionName: 'irsa-session',
    clientConfig: { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' },
  });
  const creds = await provider();
  assert.match(creds.accessKeyId, /^ASIA/);
  assert.equal(creds.accountId, '123456789012');
  const sts = emu.stats.last.at(-1);
  assert.deepEqual([sts.route, sts.action, sts.auth, sts.status], ['sts', 'AssumeRoleWithWebIdentity', 'none', 200]);
  assert.equal(await roundTrip(creds), creds.accessKeyId);
  const who = await stsClient(creds).send(new GetCallerIdentityCommand({}));
  assert.equal(who.Arn, 'arn:aws:sts::123456789012:assumed-role/bedrock-caller/irsa-session');

  fs.writeFileSync(tokenFile, 'a-token-nobody-registered');
  await assert.rejects(
    fromTokenFile({ webIdentityTokenFile: tokenFile, roleArn: CALLER, clientConfig: { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' } })(),
    (e) => e.name === 'InvalidIdentityTokenException' && e.$metadata.httpStatusCode === 400, // modeled: Query code InvalidIdentityToken
  );
});

test('@aws-sdk/client-sts: GetCallerIdentity, AssumeRole with ExternalId -> Converse; errors', async () => {
  const sts = stsClient({ ...t.LONG_TERM });
  const me = await sts.send(new GetCallerIdentityCommand({}));
  assert.deepEqual([me.Arn, me.UserId, me.Account], ['arn:aws:iam::123456789012:user/emulator-user', 'AIDAEMULATORUSER00001', '123456789012']);
  assert.match(me.$metadata.requestId, /^[0-9a-f-]{36}$/);

  const ar = await sts.send(new AssumeRoleCommand({ RoleArn: PARTNER, RoleSessionName: 'pg-bedrock-1736942400', ExternalId: 'partner-external-id', DurationSeconds: 900 }));
  assert.equal(ar.AssumedRoleUser.Arn, 'arn:aws:sts::123456789012:assumed-role/bedrock-partner/pg-bedrock-1736942400');
  assert.ok(ar.Credentials.Expiration instanceof Date);
  assert.ok(Math.abs(ar.Credentials.Expiration.getTime() - Date.now() - 900000) < 2000);
  const creds = { accessKeyId: ar.Credentials.AccessKeyId, secretAccessKey: ar.Credentials.SecretAccessKey, sessionToken: ar.Credentials.SessionToken };
  assert.equal(await roundTrip({ ...creds }), creds.accessKeyId);
  const who = await stsClient({ ...creds }).send(new GetCallerIdentityCommand({}));
  assert.equal(who.Arn, ar.AssumedRoleUser.Arn);

  await assert.rejects(sts.send(new AssumeRoleCommand({ RoleArn: PARTNER, RoleSessionName: 'no-external-id' })), (e) => {
    assert.equal(e.name, 'AccessDenied');
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.match(e.message, /is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role\/bedrock-partner$/);
    return true;
  });
  await assert.rejects(sts.send(new AssumeRoleCommand({ RoleArn: CALLER, RoleSessionName: 'x' })), (e) => e.name === 'ValidationError' && /roleSessionName/.test(e.message));
  await assert.rejects(stsClient({ ...t.LONG_TERM, secretAccessKey: 'wrong' }).send(new GetCallerIdentityCommand({})), (e) => e.name === 'SignatureDoesNotMatch');

  // a Throttling error is retried by the SDK
  await t.admin(port, 'POST', 'faults', { type: 'throttle', route: 'sts' });
  const again = await sts.send(new GetCallerIdentityCommand({}));
  assert.equal(again.$metadata.attempts, 2);
});

test('credentials from AssumeRole expire: SDK sees ExpiredTokenException (Bedrock) and ExpiredToken (STS)', async () => {
  await t.admin(port, 'POST', 'credential-services', { sts: { maxLifetimeSeconds: 1 } });
  const ar = await stsClient({ ...t.LONG_TERM }).send(new AssumeRoleCommand({ RoleArn: CALLER, RoleSessionName: 'short-lived' }));
  const creds = { accessKeyId: ar.Credentials.AccessKeyId, secretAccessKey: ar.Credentials.SecretAccessKey, sessionToken: ar.Credentials.SessionToken };
  await new Promise((res) => setTimeout(res, Math.max(0, ar.Credentials.Expiration.getTime() - Date.now()) + 50));
  await assert.rejects(bedrock({ ...creds }).send(new ConverseCommand({ modelId: HAIKU, messages: [{ role: 'user', content: [{ text: 'x' }] }] })), (e) => e.name === 'ExpiredTokenException');
  await assert.rejects(stsClient({ ...creds }).send(new GetCallerIdentityCommand({})), (e) => e.name === 'ExpiredToken' && e.$metadata.httpStatusCode === 403);
});
