'use strict';
// Admin CLI commands and stats for the credential services; log lines carry no secrets.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { execFile } = require('child_process');
const t = require('../lib/testkit');

const ROOT = path.join(__dirname, '..');

function runAdmin(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'admin.js'), ...args], { env: { ...process.env, ...env }, timeout: 15000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

test('admin.js: services, role, web-identity-token; stat credentialFetches.* and issuedCredentials', async () => {
  const { port, emu, stop } = await t.startEmulator();
  try {
    const env = { BEDROCK_EMULATOR_PORT: String(port) };
    let r = await runAdmin(['services', '{"imds":{"lifetimeSeconds":60},"sts":{"maxLifetimeSeconds":900}}'], env);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    assert.equal(emu.services.config.imds.lifetimeSeconds, 60);
    assert.equal(emu.services.config.imds.role, 'emulator-instance-role', 'partial update merges');
    r = await runAdmin(['services'], env);
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).sts.maxLifetimeSeconds, 900);
    r = await runAdmin(['role', '{"arn":"arn:aws:iam::123456789012:role/cli-role","externalId":"cli-ext"}'], env);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    r = await runAdmin(['web-identity-token', 'cli-web-token'], env);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    r = await runAdmin(['web-identity-token', '{"token":"cli-web-token-2","subject":"system:serviceaccount:db:pg"}'], env);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    assert.equal(emu.services.webTokens.size, 3);

    r = await runAdmin(['stat', 'credentialFetches.imdsCredentials'], env);
    assert.deepEqual([r.code, r.stdout], [0, '0\n']);
    const imds = await t.imdsFetch(port);
    const wi = await t.stsCall(port, { Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam::123456789012:role/cli-role', RoleSessionName: 'cli', WebIdentityToken: 'cli-web-token' }, { unsigned: true });
    assert.equal(wi.status, 200, wi.text);
    const ar = await t.stsCall(port, { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::123456789012:role/cli-role', RoleSessionName: 'cli', ExternalId: 'cli-ext' });
    assert.equal(ar.status, 200, ar.text);
    for (const [stat, want] of [
      ['credentialFetches.imdsToken', '1'],
      ['credentialFetches.imdsRole', '1'],
      ['credentialFetches.imdsCredentials', '1'],
      ['credentialFetches.assumeRole', '1'],
      ['credentialFetches.assumeRoleWithWebIdentity', '1'],
      ['credentialFetches.container', '0'],
      ['issuedCredentials', '3'],
      ['requests.imds', '3'],
      ['requests.sts', '2'],
      ['last.-1.action', 'AssumeRole'],
      ['last.-1.route', 'sts'],
      ['last.-1.issuedAccessKeyId', t.xmlValue(ar.text, 'AccessKeyId')],
      ['last.0.issuedAccessKeyId', 'null'],
      ['last.2.issuedAccessKeyId', imds.credentials.accessKeyId],
    ]) {
      r = await runAdmin(['stat', stat], env);
      assert.deepEqual([r.code, r.stdout], [0, `${want}\n`], stat);
    }
    const stats = JSON.stringify((await t.admin(port, 'GET', 'stats')).json);
    for (const secret of [imds.token, imds.credentials.secretAccessKey, imds.credentials.sessionToken, t.xmlValue(ar.text, 'SessionToken'), 'cli-web-token', 'cli-ext']) {
      assert.ok(!stats.includes(secret), 'no secrets or tokens in stats');
    }
    // reset zeroes the counters and restores the services' defaults
    r = await runAdmin(['reset'], env);
    assert.equal(r.code, 0);
    r = await runAdmin(['stat', 'issuedCredentials'], env);
    assert.equal(r.stdout, '0\n');
    assert.equal(emu.services.config.imds.lifetimeSeconds, 21600);
    assert.equal(emu.services.roles.has('arn:aws:iam::123456789012:role/cli-role'), false);
    // failures
    for (const args of [['services', '{"imds":{"v1":"yes"}}'], ['services', 'not json'], ['role', '{"arn":"nope"}'], ['role'], ['web-identity-token']]) {
      r = await runAdmin(args, env);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^admin\.js: /);
    }
  } finally {
    await stop();
  }
});

test('log lines for credential routes never contain secrets or tokens', async () => {
  const lines = [];
  const { port, stop } = await t.startEmulator({ quiet: false, log: (l) => lines.push(l) });
  try {
    const imds = await t.imdsFetch(port);
    const ctr = await t.send({ port, method: 'GET', path: '/v2/credentials/emulator-task', headers: { authorization: 'emulator-container-token' } });
    const wi = await t.stsCall(port, { Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam::123456789012:role/bedrock-caller', RoleSessionName: 'log', WebIdentityToken: 'emulator-web-identity-token' }, { unsigned: true });
    const g = await t.signedCall({ port, method: 'GET', path: '/', service: 'sts', query: { Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: 'arn:aws:iam::123456789012:role/bedrock-caller', RoleSessionName: 'log2', WebIdentityToken: 'emulator-web-identity-token' } });
    assert.equal(g.status, 200);
    const out = lines.join('\n');
    assert.equal(lines.length, 6, out);
    assert.match(lines[2], / GET \/latest\/meta-data\/iam\/security-credentials\/emulator-instance-role 200 \d+ms route=imds auth=- issued=ASIA/);
    assert.match(lines[4], / POST \/ 200 \d+ms route=sts action=AssumeRoleWithWebIdentity auth=none issued=ASIA/);
    assert.match(lines[5], /WebIdentityToken=REDACTED/);
    for (const secret of [imds.token, imds.credentials.secretAccessKey, imds.credentials.sessionToken, ctr.json.SecretAccessKey, ctr.json.Token, t.xmlValue(wi.text, 'SecretAccessKey'), 'emulator-container-token', 'emulator-web-identity-token']) {
      assert.ok(!out.includes(secret), 'no secret in the log');
    }
  } finally {
    await stop();
  }
});
