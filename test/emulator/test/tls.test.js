'use strict';
// The TLS listener: HTTP/2 (ALPN h2) with HTTP/1.1 fallback, the same routes, SigV4 checks, faults
// and stats as the plain port; per-request HTTP version and connection in the stats.
const test = require('node:test');
const assert = require('node:assert/strict');
const http2 = require('http2');
const https = require('https');
const tls = require('tls');
const { BedrockRuntimeClient, ConverseCommand } = require('@aws-sdk/client-bedrock-runtime');
const { NodeHttp2Handler, NodeHttpHandler } = require('@smithy/node-http-handler');
const t = require('../lib/testkit');
const { parseArgs } = require('../server');

const MODEL = 'openai.gpt-oss-20b-1:0';
let emu;
let port;
let tlsPort;
let cert;
let stop;
const sessions = [];

test.before(async () => {
  ({ emu, port, tlsPort, cert, stop } = await t.startTlsEmulator());
});
test.after(async () => {
  for (const s of sessions) s.destroy();
  await stop();
});
test.beforeEach(() => {
  emu.resetStats();
  emu.faults.clear();
});

function connect(extra = {}) {
  const s = http2.connect(`https://127.0.0.1:${tlsPort}`, { ca: cert, ...extra });
  sessions.push(s);
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function converseOn(session, text, opts = {}) {
  return t.h2SignedCall(session, { port: tlsPort, path: t.modelPath(MODEL, 'converse'), body: t.userMsg(text), ...opts });
}

test('HTTP/2: 16 concurrent signed calls share one connection as concurrent streams', async () => {
  emu.faults.add({ type: 'latency', ms: 200, count: 0 });
  const s = await connect();
  assert.equal(s.alpnProtocol, 'h2');
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => converseOn(s, `echo: p${i}`)));
  const elapsed = Date.now() - t0;
  rs.forEach((r, i) => {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.output.message.content.at(-1).text, `p${i}`);
    assert.match(r.headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/);
  });
  assert.ok(elapsed < 16 * 200, `the 16 streams ran at once (${elapsed} ms)`);
  const st = emu.stats;
  assert.equal(st.requests.converse, 16);
  assert.deepEqual(st.httpVersions, { '1.1': 0, '2.0': 16 });
  assert.equal(st.connections, 1);
  assert.deepEqual(st.connectionsByVersion, { '1.1': 0, '2.0': 1 });
  assert.equal(st.tlsRequests, 16);
  assert.equal(st.maxConcurrentPerConnection, 16);
  assert.equal(new Set(st.last.map((x) => x.connection)).size, 1);
  assert.ok(st.last.every((x) => x.httpVersion === '2.0' && x.tls === true && x.auth === 'sigv4'));
});

test('HTTP/2: sequential calls on one session reuse it; a second session is a second connection', async () => {
  const s = await connect();
  for (let i = 0; i < 3; i++) assert.equal((await converseOn(s, `seq ${i}`)).status, 200);
  assert.equal(emu.stats.connections, 1);
  assert.equal(emu.stats.maxConcurrentPerConnection, 1);
  const s2 = await connect();
  assert.equal((await converseOn(s2, 'other')).status, 200);
  assert.equal(emu.stats.connections, 2);
  assert.deepEqual(emu.stats.connectionsByVersion, { '1.1': 0, '2.0': 2 });
  const ids = emu.stats.last.map((x) => x.connection);
  assert.equal(new Set(ids.slice(0, 3)).size, 1);
  assert.notEqual(ids[3], ids[0]);
});

test('HTTP/2: the signature covers the host, which arrives as :authority', async () => {
  const s = await connect();
  // signed for another port: the :authority we send then differs from the signed host
  const wrongHost = await converseOn(s, 'x', { headers: { host: `127.0.0.1:${tlsPort + 1}` } });
  assert.equal(wrongHost.status, 200, 'a host signed and sent consistently is fine whatever its value');
  const r = await converseOn(s, 'x', {
    mutate: (signed) => {
      signed.headers.host = `127.0.0.1:${tlsPort + 1}`; // :authority changed after signing
    },
  });
  assert.equal(r.status, 403);
  assert.equal(r.headers['x-amzn-errortype'].split(':')[0], 'InvalidSignatureException');
  assert.equal(emu.stats.rejected.mismatch, 1);
  const unsigned = await t.h2Request(s, { path: t.modelPath(MODEL, 'converse'), headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') });
  assert.equal(unsigned.status, 403);
  assert.equal(emu.stats.rejected.missing, 1);
});

test('HTTP/1.1 over TLS: ALPN fallback, keep-alive, same handling', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert });
  try {
    for (let i = 0; i < 3; i++) {
      const signed = await t.signRequest({ port: tlsPort, path: t.modelPath(MODEL, 'converse'), body: t.userMsg(`echo: h1 ${i}`) });
      const r = await t.httpsSend({ port: tlsPort, ca: cert, path: signed.path, headers: signed.headers, body: signed.body, agent });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.output.message.content.at(-1).text, `h1 ${i}`);
    }
  } finally {
    agent.destroy();
  }
  const st = emu.stats;
  assert.deepEqual(st.httpVersions, { '1.1': 3, '2.0': 0 });
  assert.deepEqual(st.connectionsByVersion, { '1.1': 1, '2.0': 0 });
  assert.equal(st.tlsRequests, 3);
  assert.ok(st.last.every((x) => x.httpVersion === '1.1' && x.tls === true));
});

test('the plain port still answers HTTP/1.1 without TLS, counted apart', async () => {
  assert.equal((await t.converse(port, MODEL, t.userMsg('plain'))).status, 200);
  const st = emu.stats;
  assert.deepEqual(st.httpVersions, { '1.1': 1, '2.0': 0 });
  assert.equal(st.tlsRequests, 0);
  assert.equal(st.last[0].tls, false);
  const h = await t.admin(port, 'GET', 'health');
  assert.equal(h.json.tlsPort, tlsPort);
});

test('HTTP/2 faults: throttle, error, skew_date, slow_body, malformed as on HTTP/1.1', async () => {
  const s = await connect();
  emu.faults.add([
    { type: 'throttle' },
    { type: 'error', code: 'ModelErrorException' },
    { type: 'skew_date', seconds: -3600 },
    { type: 'slow_body', ms: 200, chunk: 64 },
    { type: 'malformed' },
  ]);
  const th = await converseOn(s, 'a');
  assert.equal(th.status, 429);
  assert.equal(th.headers['x-amzn-errortype'].split(':')[0], 'ThrottlingException');
  const er = await converseOn(s, 'b');
  assert.equal(er.status, 424);
  assert.equal(er.json.originalStatusCode, 500);
  const sk = await converseOn(s, 'c');
  assert.equal(sk.status, 200);
  const shift = Date.parse(sk.headers.date) - Date.now();
  assert.ok(shift < -3500 * 1000 && shift > -3700 * 1000, `Date shifted by an hour (${shift} ms)`);
  const t0 = Date.now();
  const sl = await converseOn(s, 'echo: slow');
  assert.equal(sl.status, 200);
  assert.equal(sl.json.output.message.content.at(-1).text, 'slow');
  assert.ok(Date.now() - t0 >= 150);
  const ma = await converseOn(s, 'd');
  assert.equal(ma.status, 200);
  assert.equal(ma.json, null);
  assert.equal(emu.stats.connections, 1);
});

test('HTTP/2 reset and truncate faults kill only their stream; the session lives on', async () => {
  const s = await connect();
  emu.faults.add([{ type: 'latency', ms: 100, count: 3 }, { type: 'reset' }, { type: 'truncate' }, { type: 'reset', mode: 'fin' }]);
  const results = await Promise.allSettled([converseOn(s, 'ok 1'), converseOn(s, 'ok 2'), converseOn(s, 'ok 3'), converseOn(s, 'reset'), converseOn(s, 'truncated'), converseOn(s, 'fin')]);
  assert.deepEqual(results.slice(0, 3).map((r) => r.status === 'fulfilled' && r.value.status), [200, 200, 200]);
  assert.equal(results[3].status, 'rejected');
  assert.match(String(results[3].reason.code), /ERR_HTTP2_STREAM_ERROR/);
  // truncated: the headers arrive, then the stream is reset before the whole body
  if (results[4].status === 'fulfilled') assert.ok(results[4].value.body.length < Number(results[4].value.headers['content-length']));
  assert.notEqual(results[5].status === 'fulfilled' && results[5].value.status, 200);
  assert.equal(s.destroyed, false);
  assert.equal((await converseOn(s, 'after')).status, 200);
  assert.equal(emu.stats.connections, 1);
  assert.equal(emu.stats.faults.reset, 2);
});

test('a failed TLS handshake is counted', async () => {
  await new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: cert, maxVersion: 'TLSv1', minVersion: 'TLSv1' });
    sock.on('error', () => resolve());
    sock.on('secureConnect', () => {
      sock.destroy();
      resolve();
    });
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(emu.stats.tlsHandshakeFailures, 1);
  assert.equal(emu.stats.requests.total, 0);
});

function sdkClient(requestHandler) {
  return new BedrockRuntimeClient({
    endpoint: `https://127.0.0.1:${tlsPort}`,
    region: 'us-east-1',
    credentials: { ...t.LONG_TERM },
    requestHandler,
  });
}

test('the AWS SDK over HTTP/2 (NodeHttp2Handler, custom CA): concurrent calls multiplexed on one session', async () => {
  const c = sdkClient(new NodeHttp2Handler({ requestTimeout: 10000, nodeHttp2ConnectOptions: { ca: cert } }));
  emu.faults.add({ type: 'latency', ms: 100, count: 0 });
  try {
    const outs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => c.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: `echo: sdk ${i}` }] }] }))),
    );
    outs.forEach((o, i) => assert.equal(o.output.message.content.at(-1).text, `sdk ${i}`));
  } finally {
    c.destroy();
  }
  const st = emu.stats;
  assert.equal(st.requests.converse, 8);
  assert.deepEqual(st.httpVersions, { '1.1': 0, '2.0': 8 });
  assert.equal(st.connections, 1);
  assert.ok(st.maxConcurrentPerConnection > 1, `streams overlapped (${st.maxConcurrentPerConnection})`);
  assert.equal(st.rejected.mismatch, 0);
});

test('the AWS SDK over HTTPS/1.1 (NodeHttpHandler, custom CA) verifies too', async () => {
  const httpsAgent = new https.Agent({ keepAlive: true, ca: cert });
  const c = sdkClient(new NodeHttpHandler({ httpsAgent }));
  try {
    const out = await c.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'echo: sdk h1' }] }] }));
    assert.equal(out.output.message.content.at(-1).text, 'sdk h1');
  } finally {
    c.destroy();
    httpsAgent.destroy();
  }
  assert.deepEqual(emu.stats.httpVersions, { '1.1': 1, '2.0': 0 });
  assert.equal(emu.stats.tlsRequests, 1);
});

/** A TLS handshake offering these ALPN protocols (none: no ALPN): the protocol chosen, or the error code. */
function alpnHandshake(tlsPortOf, ca, protocols) {
  return new Promise((resolve) => {
    const opts = { host: '127.0.0.1', port: tlsPortOf, ca };
    if (protocols) opts.ALPNProtocols = protocols;
    const sock = tls.connect(opts, () => {
      const chosen = sock.alpnProtocol;
      sock.once('close', () => resolve({ alpn: chosen }));
      sock.end();
    });
    sock.once('error', (err) => resolve({ error: err.code || err.message }));
  });
}

test('http1Only: an HTTPS listener without h2 (ALPN http/1.1) serves HTTP/1.1 only', async () => {
  const h1 = await t.startTlsEmulator({ tls: { http1Only: true } });
  try {
    // an h2-only client: the handshake ends with the fatal no_application_protocol alert (RFC 7301)
    const s = http2.connect(`https://127.0.0.1:${h1.tlsPort}`, { ca: h1.cert });
    const outcome = await new Promise((resolve) => {
      s.once('connect', () => resolve('connected'));
      s.once('error', (err) => resolve(err.code || err.message));
      s.once('close', () => resolve('closed without an error'));
    });
    s.destroy();
    assert.equal(outcome, 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL', 'an h2-only client gets no HTTP/2 session');
    assert.deepEqual(await alpnHandshake(h1.tlsPort, h1.cert, ['h2']), { error: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' });
    assert.equal(h1.emu.stats.tlsHandshakeFailures, 2);
    // a client that offers both (as libcurl does) gets http/1.1; one that offers no ALPN connects too
    assert.deepEqual(await alpnHandshake(h1.tlsPort, h1.cert, ['h2', 'http/1.1']), { alpn: 'http/1.1' });
    assert.deepEqual(await alpnHandshake(h1.tlsPort, h1.cert, null), { alpn: false });
    const signed = await t.signRequest({ port: h1.tlsPort, path: t.modelPath(MODEL, 'converse'), body: t.userMsg('echo: one') });
    const r = await t.httpsSend({ port: h1.tlsPort, ca: h1.cert, path: signed.path, headers: signed.headers, body: signed.body });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(h1.emu.stats.httpVersions, { '1.1': 1, '2.0': 0 });
    assert.equal(h1.emu.stats.tlsRequests, 1);
    assert.equal(h1.emu.stats.tlsHandshakeFailures, 2);
  } finally {
    await h1.stop();
  }
});

test('server.js: TLS options', () => {
  const o = parseArgs(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-port-file', '/tmp/x']);
  assert.equal(o.tlsCert, 'c.pem');
  assert.equal(o.tlsKey, 'k.pem');
  assert.equal(o.tlsPort, 0);
  assert.equal(o.tlsPortFile, '/tmp/x');
  assert.equal(o.tlsHttp1Only, false);
  assert.equal(parseArgs(['--tls-cert=c', '--tls-key=k', '--tls-http1-only']).tlsHttp1Only, true);
});
