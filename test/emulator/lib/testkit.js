'use strict';
// Helpers for the tests (kept out of test/ so the test runner does not run it as a test file).

const http = require('http');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('./sigv4');
const { createEmulator } = require('./emulator');
const { LONG_TERM, TEMPORARY } = require('./credentials');

async function startEmulator(opts = {}) {
  const emu = createEmulator({ quiet: true, ...opts });
  const port = await emu.listen({ host: '127.0.0.1', port: 0 });
  return { emu, port, stop: () => emu.close() };
}

/** Percent-encode a model id as one path segment, as the SDKs do. */
function encodeSegment(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function queryString(query) {
  if (!query) return '';
  const parts = [];
  for (const [k, v] of Object.entries(query)) {
    for (const one of [].concat(v)) parts.push(`${encodeSegment(k)}=${encodeSegment(one)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * Sign a request with the official signer and return {path, headers, body} ready to send.
 * opts: {port, method, path (wire path, already encoded), query, body, headers, credentials,
 *        region, service, date (Date), uriEscapePath (default true), sessionToken override}
 */
async function signRequest(opts) {
  const creds = opts.credentials || LONG_TERM;
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
  const headers = {
    host: `127.0.0.1:${opts.port}`,
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...(opts.headers || {}),
  };
  const signer = new SignatureV4({
    service: opts.service || 'bedrock',
    region: opts.region || 'us-east-1',
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
    },
    sha256: Sha256,
    uriEscapePath: opts.uriEscapePath !== false,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: opts.method || 'POST', protocol: 'http:', hostname: '127.0.0.1', port: opts.port, path: opts.path, query: opts.query || {}, headers, body },
    { signingDate: opts.date || new Date() },
  );
  return { path: opts.path + queryString(opts.query), headers: signed.headers, body };
}

/** Send a raw HTTP request; resolves {status, headers, rawHeaders, text, json, body}. */
function send({ port, method = 'POST', path, headers = {}, body, agent }) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['content-length'] = String(body.length);
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: h, agent: agent === undefined ? false : agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, ...parseBody(Buffer.concat(chunks)) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** Sign and send. opts as signRequest plus {agent, mutate(signed) }. */
async function signedCall(opts) {
  const signed = await signRequest(opts);
  if (opts.mutate) opts.mutate(signed);
  return send({ port: opts.port, method: opts.method || 'POST', path: signed.path, headers: signed.headers, body: signed.body, agent: opts.agent });
}

function modelPath(modelId, op) {
  return `/model/${encodeSegment(modelId)}/${op}`;
}

async function converse(port, modelId, body, opts = {}) {
  return signedCall({ port, path: modelPath(modelId, 'converse'), body, ...opts });
}

async function invoke(port, modelId, body, opts = {}) {
  return signedCall({ port, path: modelPath(modelId, 'invoke'), body, ...opts });
}

function admin(port, method, path, body) {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return send({ port, method, path: `/_emulator/${path}`, headers: data ? { 'content-type': 'application/json' } : {}, body: data });
}

function userMsg(text) {
  return { messages: [{ role: 'user', content: [{ text }] }] };
}

module.exports = {
  LONG_TERM,
  TEMPORARY,
  startEmulator,
  encodeSegment,
  signRequest,
  send,
  signedCall,
  modelPath,
  converse,
  invoke,
  admin,
  userMsg,
};

/**
 * Send a request over a raw TCP socket and capture everything the server sends until it closes
 * (or until idleMs of silence). Resolves {raw, status, headers (lower-case), body, error, chunks:[{t, n}]}.
 */
function rawExchange({ port, method = 'POST', path, headers = {}, body, idleMs = 1500 }) {
  const net = require('net');
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    const times = [];
    const t0 = Date.now();
    let error = null;
    let timer = null;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      const raw = Buffer.concat(chunks);
      const sep = raw.indexOf('\r\n\r\n');
      const head = sep >= 0 ? raw.subarray(0, sep).toString('latin1') : raw.toString('latin1');
      const lines = head.split('\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] || '');
      const hdrs = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) hdrs[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ raw, headText: head, status: m ? Number(m[1]) : null, headers: hdrs, body: sep >= 0 ? raw.subarray(sep + 4) : Buffer.alloc(0), error, chunks: times });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    };
    sock.on('connect', () => {
      let head = `${method} ${path} HTTP/1.1\r\n`;
      const h = { ...headers, connection: 'close' };
      if (body) h['content-length'] = String(body.length);
      for (const [k, v] of Object.entries(h)) head += `${k}: ${v}\r\n`;
      sock.write(head + '\r\n');
      if (body) sock.write(body);
      arm();
    });
    sock.on('data', (d) => {
      chunks.push(d);
      times.push({ t: Date.now() - t0, n: d.length });
      arm();
    });
    sock.on('error', (e) => {
      error = e.code || e.message;
    });
    sock.on('close', done);
  });
}

/** Sign then send raw (see rawExchange). */
async function signedRaw(opts) {
  const signed = await signRequest(opts);
  return rawExchange({ port: opts.port, method: opts.method || 'POST', path: signed.path, headers: signed.headers, body: signed.body, idleMs: opts.idleMs });
}

module.exports.rawExchange = rawExchange;
module.exports.signedRaw = signedRaw;

// ---------------------------------------------------------------------------------------------
// credential services (STS, IMDS, container)

/** RFC 3986 form encoding, as the SDKs send Query-protocol bodies. */
function formBody(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(String(v))}`)
    .join('&');
}

/**
 * An STS call: POST / with a form body, signed for service "sts" unless opts.unsigned.
 * params: the Query parameters (Version defaults to 2011-06-15). opts as signedCall.
 */
async function stsCall(port, params, opts = {}) {
  const body = Buffer.from(formBody({ Version: '2011-06-15', ...params }));
  const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...(opts.headers || {}) };
  if (opts.unsigned) return send({ port, method: 'POST', path: '/', headers: { host: `127.0.0.1:${port}`, ...headers }, body, agent: opts.agent });
  return signedCall({ port, method: 'POST', path: '/', service: 'sts', ...opts, headers, body });
}

/** The text of the first <tag>…</tag> in an XML document (entities decoded), or null. */
function xmlValue(text, tag) {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text);
  if (!m) return null;
  return m[1].replace(/&(lt|gt|amp|apos|quot);/g, (_, e) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e]);
}

/** Credentials out of an AssumeRole* XML response. */
function xmlCredentials(text) {
  return {
    accessKeyId: xmlValue(text, 'AccessKeyId'),
    secretAccessKey: xmlValue(text, 'SecretAccessKey'),
    sessionToken: xmlValue(text, 'SessionToken'),
    expiration: xmlValue(text, 'Expiration'),
  };
}

/** IMDSv2: a token, the role name and the credentials document. Resolves {token, role, doc, credentials}. */
async function imdsFetch(port, { ttl = 21600 } = {}) {
  const tok = await send({ port, method: 'PUT', path: '/latest/api/token', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) } });
  if (tok.status !== 200) throw new Error(`IMDS token: ${tok.status}`);
  const h = { 'x-aws-ec2-metadata-token': tok.text };
  const role = await send({ port, method: 'GET', path: '/latest/meta-data/iam/security-credentials/', headers: h });
  if (role.status !== 200) throw new Error(`IMDS role: ${role.status}`);
  const doc = await send({ port, method: 'GET', path: `/latest/meta-data/iam/security-credentials/${role.text}`, headers: h });
  if (doc.status !== 200) throw new Error(`IMDS credentials: ${doc.status}`);
  const j = doc.json || {};
  return { token: tok.text, role: role.text, doc, credentials: { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: j.Token, expiration: j.Expiration } };
}

module.exports.formBody = formBody;
module.exports.stsCall = stsCall;
module.exports.xmlValue = xmlValue;
module.exports.xmlCredentials = xmlCredentials;
module.exports.imdsFetch = imdsFetch;

// ---------------------------------------------------------------------------------------------
// the TLS listener (HTTP/2 with HTTP/1.1 fallback)

/**
 * A self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1, P-256 key, one day), made
 * with the openssl CLI in dir. Resolves {cert, key (Buffers), certFile, keyFile}.
 */
function makeCertificate(dir, name = 'emulator') {
  const { execFileSync } = require('child_process');
  const path = require('path');
  const fs = require('fs');
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', `/CN=127.0.0.1/O=bedrock_fdw ${name}`, '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', keyFile, '-out', certFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), certFile, keyFile };
}

/** An emulator with both listeners. Resolves {emu, port, tlsPort, cert, certFile, dir, stop}. */
async function startTlsEmulator(opts = {}) {
  const fs = require('fs');
  const os = require('os');
  const path = require('path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bedrock-emu-tls-'));
  const c = makeCertificate(dir);
  const emu = createEmulator({ quiet: true, ...opts, tls: { cert: c.cert, key: c.key, ...(opts.tls || {}) } });
  const port = await emu.listen({ host: '127.0.0.1', port: 0 });
  const tlsPort = await emu.listenTls({ host: '127.0.0.1', port: 0 });
  const stop = async () => {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { emu, port, tlsPort, cert: c.cert, certFile: c.certFile, dir, stop };
}

function parseBody(buf) {
  const text = buf.toString('utf8');
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { text, json, body: buf };
}

/**
 * One request on an HTTP/2 client session. headers may carry "host": it is sent as :authority,
 * as curl does. Resolves {status, headers, text, json, body}; rejects on a stream error (RST_STREAM).
 */
function h2Request(session, { method = 'POST', path, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const h = { ':method': method, ':path': path };
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() === 'host') h[':authority'] = v;
      else h[k.toLowerCase()] = v;
    }
    const stream = session.request(h, { endStream: !body });
    let status = null;
    let resHeaders = {};
    const chunks = [];
    stream.on('response', (rh) => {
      status = rh[':status'];
      resHeaders = rh;
    });
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers: resHeaders, ...parseBody(Buffer.concat(chunks)) }));
    stream.on('error', reject);
    if (body) stream.end(body);
  });
}

/** Sign (host = 127.0.0.1:tlsPort) and send on an HTTP/2 session. opts as signRequest plus {mutate}. */
async function h2SignedCall(session, opts) {
  const signed = await signRequest(opts);
  if (opts.mutate) opts.mutate(signed);
  return h2Request(session, { method: opts.method || 'POST', path: signed.path, headers: signed.headers, body: signed.body });
}

/** An HTTP/1.1 request over TLS (ALPN offers only http/1.1). Resolves as send(). */
function httpsSend({ port, ca, method = 'POST', path, headers = {}, body, agent }) {
  const https = require('https');
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['content-length'] = String(body.length);
    const req = https.request(
      { host: '127.0.0.1', port, method, path, headers: h, ca, agent: agent === undefined ? false : agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, ...parseBody(Buffer.concat(chunks)) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

module.exports.makeCertificate = makeCertificate;
module.exports.startTlsEmulator = startTlsEmulator;
module.exports.h2Request = h2Request;
module.exports.h2SignedCall = h2SignedCall;
module.exports.httpsSend = httpsSend;
