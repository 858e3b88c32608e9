'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, execFile } = require('child_process');
const t = require('../lib/testkit');
const { lookup } = require('../admin');

const ROOT = path.join(__dirname, '..');
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const HI = t.userMsg('admin test');

function runAdmin(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'admin.js'), ...args], { env: { ...process.env, ...env }, timeout: 15000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

test('keep-alive: two requests on one agent -> one connection counted', async () => {
  const { port, emu, stop } = await t.startEmulator();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const a = await t.converse(port, HAIKU, HI, { agent });
    const b = await t.converse(port, HAIKU, HI, { agent });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.notEqual(a.headers.connection, 'close');
    assert.equal(emu.stats.connections, 1);
    assert.equal(emu.stats.last[0].connection, emu.stats.last[1].connection);
    // a fresh connection per request without an agent
    await t.converse(port, HAIKU, HI);
    assert.equal(emu.stats.connections, 2);
    // after a reset, the kept-alive connection counts again on its next request
    await t.admin(port, 'POST', 'reset');
    await t.converse(port, HAIKU, HI, { agent });
    assert.equal(emu.stats.connections, 1);
    // connectionsAccepted counts TCP accepts (admin ones too) since the reset: none happened
    assert.equal(emu.stats.connectionsAccepted, 0);
  } finally {
    agent.destroy();
    await stop();
  }
});

test('admin API: health, stats shape, reset, credentials, clock', async () => {
  const { port, emu, stop } = await t.startEmulator();
  try {
    let r = await t.admin(port, 'GET', 'health');
    assert.deepEqual(r.json, { ok: true, region: 'us-east-1', port });
    await t.converse(port, HAIKU, HI, { mutate: (s) => (s.headers['amz-sdk-request'] = 'attempt=1; max=3') });
    await t.converse(port, HAIKU, HI, { credentials: t.TEMPORARY });
    await t.send({ port, path: t.modelPath(HAIKU, 'converse'), body: Buffer.from('{}') });
    r = await t.admin(port, 'GET', 'stats');
    const s = r.json;
    assert.equal(s.requests.converse, 3);
    assert.equal(s.requests.total, 3);
    assert.equal(s.rejected.missing, 1);
    assert.deepEqual(s.responses, { 200: 2, 403: 1 });
    assert.equal(s.models[HAIKU], 2);
    assert.equal(s.pendingFaults, 0);
    assert.equal(s.last.length, 3);
    const [first, second, third] = s.last;
    assert.equal(first.amzSdkRequest, 'attempt=1; max=3');
    assert.equal(first.path, '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    assert.equal(first.method, 'POST');
    assert.equal(first.model, HAIKU);
    assert.equal(first.status, 200);
    assert.equal(first.accessKeyId, 'AKIDEMULATOR00000001');
    assert.equal(first.sessionToken, false);
    assert.equal(second.sessionToken, true);
    assert.equal(third.errorCode, 'MissingAuthenticationTokenException');
    assert.ok(!JSON.stringify(s).includes(t.TEMPORARY.sessionToken), 'no secrets in stats');
    assert.ok(!JSON.stringify(s).includes('emulatorSecretKey'), 'no secrets in stats');

    // last N is capped at 50
    for (let i = 0; i < 55; i++) await t.send({ port, path: '/x', body: Buffer.from('{}') });
    assert.equal(emu.stats.last.length, 50);

    r = await t.admin(port, 'POST', 'reset');
    assert.equal(r.status, 200);
    assert.equal(emu.stats.requests.total, 0);
    assert.equal(emu.stats.last.length, 0);

    // credentials: list has no secrets; added keys work; DELETE restores defaults
    r = await t.admin(port, 'POST', 'credentials', { accessKeyId: 'AKIDADDED0000000009', secretAccessKey: 'addedSecret' });
    assert.equal(r.status, 200);
    const ok = await t.converse(port, HAIKU, HI, { credentials: { accessKeyId: 'AKIDADDED0000000009', secretAccessKey: 'addedSecret' } });
    assert.equal(ok.status, 200);
    r = await t.admin(port, 'GET', 'credentials');
    assert.ok(r.json.keys.some((k) => k.accessKeyId === 'AKIDADDED0000000009'));
    assert.ok(!r.text.includes('addedSecret'));
    // expiring the default temporary key
    await t.admin(port, 'POST', 'credentials', { ...t.TEMPORARY, expiration: new Date(Date.now() - 1000).toISOString() });
    assert.equal((await t.converse(port, HAIKU, HI, { credentials: t.TEMPORARY })).status, 403);
    r = await t.admin(port, 'DELETE', 'credentials');
    assert.equal((await t.converse(port, HAIKU, HI, { credentials: t.TEMPORARY })).status, 200);
    assert.equal((await t.converse(port, HAIKU, HI, { credentials: { accessKeyId: 'AKIDADDED0000000009', secretAccessKey: 'addedSecret' } })).status, 403);
    r = await t.admin(port, 'POST', 'credentials', { accessKeyId: 'bad key!', secretAccessKey: 'x' });
    assert.equal(r.status, 400);

    // clock offset: the server's notion of "now" moves; clients see it in Date and in skew errors
    r = await t.admin(port, 'POST', 'clock', { offsetSeconds: 3600 });
    assert.equal(r.status, 200);
    const skewed = await t.converse(port, HAIKU, HI);
    assert.equal(skewed.status, 403);
    assert.match(skewed.json.message, /^Signature expired/);
    assert.ok(Math.abs(Date.parse(skewed.headers.date) - Date.now() - 3600000) < 3000);
    const corrected = await t.converse(port, HAIKU, HI, { date: new Date(Date.parse(skewed.headers.date)) });
    assert.equal(corrected.status, 200);
    await t.admin(port, 'POST', 'reset');
    assert.equal((await t.converse(port, HAIKU, HI)).status, 200);

    r = await t.admin(port, 'GET', 'nope');
    assert.equal(r.status, 404);
    r = await t.admin(port, 'PUT', 'faults');
    assert.equal(r.status, 405);
    r = await t.send({ port, method: 'POST', path: '/_emulator/faults', headers: { 'content-type': 'application/json' }, body: Buffer.from('{bad') });
    assert.equal(r.status, 400);
  } finally {
    await stop();
  }
});

test('admin.js CLI: silent on success, prints stats, stderr + exit 1 on failure', async () => {
  const { port, stop } = await t.startEmulator();
  try {
    const env = { BEDROCK_EMULATOR_PORT: String(port) };
    let r = await runAdmin(['fault', '{"type":"throttle","count":1,"route":"converse"}'], env);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    r = await runAdmin(['stat', 'pendingFaults'], env);
    assert.deepEqual([r.code, r.stdout], [0, '1\n']);
    assert.equal((await t.converse(port, HAIKU, HI)).status, 429);
    r = await runAdmin(['--port', String(port), 'stat', 'requests.converse']);
    assert.equal(r.stdout, '1\n');
    r = await runAdmin(['stat', 'last.-1.status'], env);
    assert.equal(r.stdout, '429\n');
    r = await runAdmin(['stat', 'last.0.model'], env);
    assert.equal(r.stdout, `${HAIKU}\n`);
    r = await runAdmin(['stats'], env);
    assert.equal(JSON.parse(r.stdout).faults.throttle, 1);
    r = await runAdmin(['clear'], env);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    r = await runAdmin(['reset'], env);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    r = await runAdmin(['stat', 'requests.converse'], env);
    assert.equal(r.stdout, '0\n');
    r = await runAdmin(['credentials', '{"bearer":"ABSKcli"}'], env);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    r = await runAdmin(['clock', '0'], env);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    // failures
    for (const args of [['fault', '{"type":"nope"}'], ['fault', 'not json'], ['stat', 'no.such.path'], ['bogus'], []]) {
      r = await runAdmin(args, env);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^admin\.js: /);
    }
    r = await runAdmin(['reset'], { BEDROCK_EMULATOR_PORT: '1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach emulator/);
    assert.deepEqual(lookup({ a: [{ b: 1 }, { b: 2 }] }, 'a.-1.b'), 2);
  } finally {
    await stop();
  }
});

test('server.js CLI: port file, wait-ready, log lines without secrets, SIGTERM exits 0', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bedrock-emu-'));
  const portFile = path.join(dir, 'port');
  const child = spawn(process.execPath, [path.join(ROOT, 'server.js'), '--port', '0', '--port-file', portFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    const ready = await runAdmin(['--port-file', portFile, 'wait-ready']);
    assert.deepEqual([ready.code, ready.stdout, ready.stderr], [0, '', '']);
    const port = Number(fs.readFileSync(portFile, 'utf8').trim());
    assert.ok(port > 0);
    assert.match(out, new RegExp(`^emulator listening on 127\\.0\\.0\\.1:${port}\\n`));
    const r = await t.converse(port, HAIKU, HI, { credentials: t.TEMPORARY });
    assert.equal(r.status, 200);
    await new Promise((res) => setTimeout(res, 100));
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 2, out);
    assert.match(lines[1], / POST \/model\/anthropic\.claude-3-haiku-20240307-v1%3A0\/converse 200 /);
    assert.ok(!out.includes(t.TEMPORARY.sessionToken) && !out.includes(t.TEMPORARY.secretAccessKey) && !/Signature=|AWS4-HMAC/.test(out));
    child.kill('SIGTERM');
    const ex = await exited;
    assert.equal(ex.code, 0);
    assert.ok(!fs.existsSync(portFile), 'port file removed on clean exit');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('server.js refuses a non-loopback host; wait-ready times out with exit 1', async () => {
  const r = await new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'server.js'), '--host', '0.0.0.0'], { timeout: 10000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr }));
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /non-loopback/);
  const w = await runAdmin(['--port-file', path.join(os.tmpdir(), 'does-not-exist-bedrock-emu'), 'wait-ready', '0.5']);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /not ready after 0\.5 s/);
});

test('admin.js --help (and -h, help) prints the usage on stdout and exits 0; no command is an error with the usage on stderr', async () => {
  for (const arg of ['--help', '-h', 'help']) {
    const r = await runAdmin([arg], { BEDROCK_EMULATOR_PORT: '', BEDROCK_EMULATOR_PORT_FILE: '' });
    assert.equal(r.code, 0, `${arg} exits 0`);
    assert.match(r.stdout, /^usage: node admin\.js /);
    assert.match(r.stdout, /wait-ready \[seconds\]/);
    assert.equal(r.stderr, '');
  }
  const none = await runAdmin([], { BEDROCK_EMULATOR_PORT: '', BEDROCK_EMULATOR_PORT_FILE: '' });
  assert.equal(none.code, 1);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^admin\.js: no command\nusage: /);
});
