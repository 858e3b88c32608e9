'use strict';
// The emulator: HTTP/1.1 server (plus an optional TLS listener speaking HTTP/2 with HTTP/1.1
// fallback), routing, SigV4 verification, fault delivery, stats, admin API.

const http = require('http');
const http2 = require('http2');
const tlsLib = require('tls');
const crypto = require('crypto');
const { awsError, NS_BEDROCK, NS_CORAL } = require('./errors');
const { CredentialStore, identityOf } = require('./credentials');
const { verifyRequest, splitTarget, collectHeaders } = require('./sigv4');
const models = require('./models');
const { handleConverse } = require('./converse');
const { classifyGuardrail, handleApplyGuardrail } = require('./converse_features');
const { handleInvoke, handleCountTokens } = require('./invoke');
const { FaultQueue, TYPES: FAULT_TYPES, badContentBody, hugeHeaders } = require('./faults');
const { CredentialServices, imdsPage, containerError } = require('./credservices');
const sts = require('./sts');
const { Catalog, seedJobs } = require('./catalog');
// ---- batch inference: S3 and the model invocation job API ----
const { S3Store, handleS3, isS3Request, s3Error } = require('./s3');
const { BatchJobService, classifyBatch } = require('./batch_jobs');
// ---- end batch inference ----

const DEFAULT_MAX_BODY = 30 * 1024 * 1024;
const ADMIN_MAX_BODY = 1024 * 1024;
const LAST_N = 50;
const REJECT_REASONS = ['missing', 'incomplete', 'unknown_key', 'expired', 'scope', 'skew', 'mismatch', 'bearer'];
const ROUTE_NAMES = ['converse', 'converse_stream', 'invoke', 'invoke_stream', 'count_tokens', 'control', 'unknown', 'imds', 'container', 'sts', 's3', 'batch', 'apply_guardrail'];
const CREDENTIAL_ROUTES = new Set(['imds', 'container', 'sts']);
const FETCH_NAMES = ['imdsToken', 'imdsRole', 'imdsCredentials', 'container', 'assumeRole', 'assumeRoleWithWebIdentity', 'getCallerIdentity'];

const MODEL_OPS = {
  converse: 'converse',
  'converse-stream': 'converse_stream',
  invoke: 'invoke',
  'invoke-with-response-stream': 'invoke_stream',
  'count-tokens': 'count_tokens',
};

const kConn = Symbol('emulatorConnection');

/**
 * ALPN selection of an HTTP/1.1-only TLS listener: http/1.1 when the client offers it; otherwise
 * undefined, which makes Node.js end the handshake with the no_application_protocol alert.
 */
function selectHttp1({ protocols }) {
  return protocols.includes('http/1.1') ? 'http/1.1' : undefined;
}

function isLoopbackAddress(addr) {
  if (!addr) return false;
  if (addr === '::1' || addr === 'localhost') return true;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Raw path + query with credential-looking query values hidden (presigned URLs). */
function redactTarget(rawUrl) {
  const q = rawUrl.indexOf('?');
  if (q < 0) return rawUrl;
  const parts = rawUrl
    .slice(q + 1)
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq < 0 ? p : p.slice(0, eq);
      return /signature|token|credential|secret|key/i.test(k) && eq >= 0 ? `${k}=REDACTED` : p;
    });
  return `${rawUrl.slice(0, q)}?${parts.join('&')}`;
}

function zeroStats() {
  const requests = { total: 0 };
  for (const r of ROUTE_NAMES) requests[r] = 0;
  const rejected = {};
  for (const r of REJECT_REASONS) rejected[r] = 0;
  const faults = {};
  for (const t of FAULT_TYPES) faults[t] = 0;
  const credentialFetches = {};
  for (const f of FETCH_NAMES) credentialFetches[f] = 0;
  return {
    requests,
    responses: {},
    rejected,
    faults,
    connections: 0,
    connectionsAccepted: 0,
    httpVersions: { '1.1': 0, '2.0': 0 }, // API requests by HTTP version
    connectionsByVersion: { '1.1': 0, '2.0': 0 }, // the distinct connections of "connections", by HTTP version
    tlsRequests: 0, // API requests that came over the TLS listener
    maxConcurrentRequests: 0, // most API requests ever in flight at once, all connections together
    maxConcurrentPerConnection: 0, // most API requests ever in flight at once on one connection (HTTP/2 streams)
    tlsHandshakeFailures: 0, // TLS handshakes that failed (e.g. the client rejected our certificate)
    models: {},
    tokens: { input: 0, output: 0 },
    credentialFetches, // successful (200) credential-service responses, by kind
    issuedCredentials: 0, // temporary credentials issued by STS, IMDS and the container endpoint
    controlOps: {}, // control-plane requests by operation ("list-guardrails"), before faults
    controlParams: {}, // control-plane requests by query parameter sent ("byProvider", "nextToken")
    callsByPrincipal: {}, // signed API requests by the IAM principal of their key (ARN)
    structured: { output_format: 0, tool: 0 }, // Converse answers given as structured output / forced tool use
    last: [],
  };
}

function classify(method, path) {
  const segs = path.split('/');
  if (segs[0] !== '') return { name: 'unknown' };
  if (segs[1] === 'model' && segs.length === 4 && segs[2] !== '' && MODEL_OPS[segs[3]]) {
    if (method !== 'POST') return { name: 'unknown' };
    return { name: MODEL_OPS[segs[3]], modelIdentifier: safeDecode(segs[2]) };
  }
  if ((segs[1] === 'foundation-models' || segs[1] === 'inference-profiles') && method === 'GET') {
    if (segs.length === 2) return { name: 'control', op: `list-${segs[1]}` };
    if (segs.length === 3 && segs[2] !== '') return { name: 'control', op: `get-${segs[1]}`, id: safeDecode(segs[2]) };
  }
  // catalog.js: the other list operations of bedrock_fdw's catalog foreign tables
  if ((segs[1] === 'guardrails' || segs[1] === 'model-invocation-jobs') && segs.length === 2 && method === 'GET') {
    return { name: 'control', op: `list-${segs[1]}` };
  }
  const batch = classifyBatch(method, path); // model invocation jobs
  if (batch) return batch;
  const guardrail = classifyGuardrail(method, path); // ApplyGuardrail
  if (guardrail) return guardrail;
  return { name: 'unknown' };
}

/**
 * The request's headers as [name, value, …] the way the client may have signed them. On HTTP/2
 * the host arrives as the :authority pseudo-header. curl turns its Host header into :authority and
 * signed "host"; the AWS SDK's HTTP/2 handler signs ":authority" itself. So :authority is kept
 * under its own name and also given as "host" (unless a literal host header came too); the other
 * pseudo-headers (:method, :path, :scheme) go.
 */
function wireHeaders(req) {
  if (req.httpVersionMajor !== 2) return req.rawHeaders;
  const raw = req.rawHeaders;
  const out = [];
  let authority = null;
  let hasHost = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    if (name === ':authority') authority = raw[i + 1];
    else if (name[0] !== ':') {
      if (name.toLowerCase() === 'host') hasHost = true;
      out.push(name, raw[i + 1]);
    }
  }
  if (authority !== null) {
    out.unshift(':authority', authority);
    if (!hasHost) out.unshift('host', authority);
  }
  return out;
}

/** True when the response can no longer be sent (connection or HTTP/2 stream gone). */
function isGone(req, res) {
  if (res.destroyed) return true;
  if (req.stream) return req.stream.destroyed || req.stream.closed;
  return Boolean(req.socket && req.socket.destroyed);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function json(status, obj) {
  return {
    status,
    headers: { 'Content-Type': 'application/json' },
    body: Buffer.from(JSON.stringify(obj)),
  };
}

class Emulator {
  /**
   * opts: {region, quiet, maxBodyBytes, log(line)}
   */
  constructor(opts = {}) {
    this.region = opts.region || 'us-east-1';
    this.quiet = opts.quiet !== undefined ? Boolean(opts.quiet) : true;
    this.maxBodyBytes = opts.maxBodyBytes || DEFAULT_MAX_BODY;
    this.log = opts.log || ((line) => process.stdout.write(`${line}\n`));
    this.store = new CredentialStore();
    this.store.onIssue = () => {
      this.stats.issuedCredentials += 1;
    };
    this.services = new CredentialServices({ store: this.store, now: () => this.now(), region: this.region });
    this.faults = new FaultQueue();
    this.catalog = new Catalog();
    // batch inference: S3 objects and model invocation jobs; batchJobs is the jobs' Map
    this.s3 = new S3Store();
    this.batch = new BatchJobService({ s3: this.s3, region: this.region, now: () => this.now() });
    this.batchJobs = this.batch.jobs;
    this.clockOffsetMs = 0;
    this.stats = zeroStats();
    this.generation = 0;
    this.connSeq = 0;
    this.inFlight = 0; // API requests being handled
    this.port = null;
    this.host = null;
    this.tlsPort = null;
    this.tlsServer = null;
    this.tlsSockets = new Set();

    this.server = http.createServer();
    this.server.keepAliveTimeout = 60000;
    this.server.headersTimeout = 65000;
    this.server.requestTimeout = 0;
    this.server.on('connection', (socket) => {
      socket.setNoDelay(true);
      this.stats.connectionsAccepted += 1;
      socket[kConn] = { id: ++this.connSeq, generation: -1 };
    });
    this.server.on('request', (req, res) => this.dispatch(req, res));
    this.server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    if (opts.tls) this.createTlsServer(opts.tls);
  }

  dispatch(req, res) {
    this.onRequest(req, res).catch((err) => {
      if (!this.quiet) this.log(`internal error: ${err && err.stack}`);
      if (!res.headersSent && !isGone(req, res)) {
        this.send(req, res, awsError('InternalServerException'), { requestId: crypto.randomUUID() });
      }
    });
  }

  /**
   * The TLS listener: HTTP/2 when the client offers h2 in ALPN, else HTTP/1.1 (allowHTTP1), with
   * the same request handling as the plain listener. tls: {cert, key} (PEM), maxConcurrentStreams?,
   * http1Only? (an HTTPS server that does not offer h2, like some proxies).
   * Every TLS connection gets its own id (an HTTP/2 session is one connection).
   *
   * An http1Only listener selects http/1.1 when the client offers it, serves a client that offers no
   * ALPN at all as HTTP/1.1, and ends the handshake with the fatal no_application_protocol alert
   * (RFC 7301) when the client offers only other protocols (an h2-only client). ALPNProtocols alone
   * is not enough: Node.js before 20 then completes the handshake without ALPN, and an h2-only
   * client starts an HTTP/2 session on an HTTP/1.1 server; ALPNCallback (Node.js 18.19 and later)
   * rejects it the same way on every version. Node.js 18's https.Server refuses ALPNCallback (it
   * always sets ALPNProtocols), so the listener is a tls.Server handing its connections to an
   * http.Server.
   */
  createTlsServer(tls) {
    if (!tls.cert || !tls.key) throw new Error('the TLS listener needs a certificate and a key');
    let srv;
    let http1 = null; // the HTTP/1.1 server behind an http1Only listener
    if (tls.http1Only) {
      srv = tlsLib.createServer({ cert: tls.cert, key: tls.key, ALPNCallback: selectHttp1 });
      http1 = http.createServer();
      http1.keepAliveTimeout = 60000;
      http1.headersTimeout = 65000;
      http1.requestTimeout = 0;
    } else {
      const settings = {};
      if (tls.maxConcurrentStreams) settings.maxConcurrentStreams = tls.maxConcurrentStreams;
      srv = http2.createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true, settings });
    }
    srv.on('connection', (socket) => {
      socket.setNoDelay(true);
      this.stats.connectionsAccepted += 1;
    });
    srv.on('secureConnection', (socket) => {
      socket[kConn] = { id: ++this.connSeq, generation: -1, inFlight: 0 };
      this.tlsSockets.add(socket);
      socket.on('close', () => this.tlsSockets.delete(socket));
    });
    srv.on('tlsClientError', (err) => {
      this.stats.tlsHandshakeFailures += 1;
      if (!this.quiet) this.log(`TLS handshake failed: ${err && (err.code || err.message)}`);
    });
    srv.on('sessionError', () => {
      // the session is destroyed; its streams see the error
    });
    if (http1) {
      srv.on('secureConnection', (socket) => http1.emit('connection', socket));
      http1.on('request', (req, res) => this.dispatch(req, res));
    } else {
      srv.on('request', (req, res) => this.dispatch(req, res));
    }
    this.tlsServer = srv;
  }

  now() {
    return Date.now() + this.clockOffsetMs;
  }

  listen({ host = '127.0.0.1', port = 0 } = {}) {
    if (!isLoopbackAddress(host)) return Promise.reject(new Error(`refusing to bind to non-loopback host ${host}`));
    return new Promise((resolve, reject) => {
      const onError = (e) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.port = this.server.address().port;
        this.host = host;
        resolve(this.port);
      });
    });
  }

  /** Start the TLS listener (the emulator must have been created with opts.tls). Resolves its port. */
  listenTls({ host = '127.0.0.1', port = 0 } = {}) {
    if (!this.tlsServer) return Promise.reject(new Error('the emulator was created without TLS options'));
    if (!isLoopbackAddress(host)) return Promise.reject(new Error(`refusing to bind to non-loopback host ${host}`));
    return new Promise((resolve, reject) => {
      const onError = (e) => reject(e);
      this.tlsServer.once('error', onError);
      this.tlsServer.listen(port, host, () => {
        this.tlsServer.off('error', onError);
        this.tlsPort = this.tlsServer.address().port;
        resolve(this.tlsPort);
      });
    });
  }

  close() {
    const plain = new Promise((resolve) => {
      this.server.close(() => resolve());
      if (typeof this.server.closeAllConnections === 'function') this.server.closeAllConnections();
    });
    if (!this.tlsServer || !this.tlsServer.listening) return plain;
    const tls = new Promise((resolve) => {
      this.tlsServer.close(() => resolve());
      for (const s of this.tlsSockets) s.destroy();
    });
    return Promise.all([plain, tls]).then(() => undefined);
  }

  resetStats() {
    this.stats = zeroStats();
    this.generation += 1;
  }

  // ---------------------------------------------------------------------------------------------

  readBody(req, cap) {
    return new Promise((resolve) => {
      const cl = req.headers['content-length'];
      if (cl !== undefined && Number(cl) > cap) {
        resolve({ tooLarge: true });
        return;
      }
      const chunks = [];
      let total = 0;
      let done = false;
      req.on('data', (c) => {
        if (done) return;
        total += c.length;
        if (total > cap) {
          done = true;
          resolve({ tooLarge: true });
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (!done) {
          done = true;
          resolve({ body: Buffer.concat(chunks, total) });
        }
      });
      req.on('error', () => {
        if (!done) {
          done = true;
          resolve({ aborted: true });
        }
      });
    });
  }

  async onRequest(req, res) {
    const t0 = Date.now();
    const requestId = crypto.randomUUID();
    const { path, query } = splitTarget(req.url);

    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      const b = await this.readBody(req, ADMIN_MAX_BODY);
      if (b.aborted) return;
      if (b.tooLarge) {
        this.send(req, res, json(413, { error: 'admin request body too large' }), { requestId, close: true });
        return;
      }
      const r = this.admin(req, path, query, b.body);
      this.send(req, res, r, { requestId });
      return;
    }

    // S3: recognised by its SigV4 scope, served by lib/s3.js
    if (isS3Request(req.headers)) {
      await this.serveS3(req, res, requestId, t0);
      return;
    }

    const route = this.services.classify(req.method, path, req.headers['content-type'], query) || classify(req.method, path);
    const st = this.stats;
    st.requests.total += 1;
    st.requests[route.name] += 1;
    if (route.name === 'control') this.countControl(route, query);
    const conn = req.socket[kConn] || { id: 0, generation: -1, inFlight: 0 };
    const httpVersion = req.httpVersionMajor === 2 ? '2.0' : '1.1';
    const tls = Boolean(req.socket.encrypted);
    if (conn.generation !== this.generation) {
      conn.generation = this.generation;
      st.connections += 1;
      st.connectionsByVersion[httpVersion] += 1;
    }
    st.httpVersions[httpVersion] += 1;
    if (tls) st.tlsRequests += 1;
    conn.inFlight = (conn.inFlight || 0) + 1;
    this.inFlight += 1;
    st.maxConcurrentPerConnection = Math.max(st.maxConcurrentPerConnection, conn.inFlight);
    st.maxConcurrentRequests = Math.max(st.maxConcurrentRequests, this.inFlight);
    res.once('close', () => {
      conn.inFlight -= 1;
      this.inFlight -= 1;
    });
    const summary = {
      time: new Date(t0).toISOString(),
      requestId,
      connection: conn.id,
      httpVersion,
      tls,
      method: req.method,
      path: redactTarget(req.url),
      route: route.name,
      model: route.modelIdentifier ?? (route.id || null),
      status: null,
      errorCode: null,
      auth: null,
      accessKeyId: null,
      sessionToken: false,
      amzSdkRequest: req.headers['amz-sdk-request'] ?? null,
      fault: null,
      bodyBytes: 0,
      ms: 0,
      action: null, // STS Action
      issuedAccessKeyId: null, // key id of the credentials a credential route handed out (never the secret)
    };
    const finish = (response, extra = {}) => {
      summary.status = extra.status !== undefined ? extra.status : response.status;
      summary.errorCode = response && response.errorCode ? response.errorCode : null;
      summary.ms = Date.now() - t0;
      const key = String(summary.status);
      st.responses[key] = (st.responses[key] || 0) + 1;
      st.last.push(summary);
      if (st.last.length > LAST_N) st.last.shift();
      if (!this.quiet) {
        this.log(
          `${summary.time} ${summary.method} ${summary.path} ${summary.status} ${summary.ms}ms route=${summary.route}` +
            `${summary.model ? ` model=${summary.model}` : ''}${summary.action ? ` action=${summary.action}` : ''} auth=${summary.auth || '-'}` +
            `${summary.accessKeyId ? ` key=${summary.accessKeyId}` : ''}${summary.fault ? ` fault=${summary.fault}` : ''}` +
            `${summary.errorCode ? ` error=${summary.errorCode}` : ''}${summary.issuedAccessKeyId ? ` issued=${summary.issuedAccessKeyId}` : ''}` +
            ` conn=${summary.connection}${summary.tls ? ` tls http/${summary.httpVersion === '2.0' ? '2' : '1.1'}` : ''}`,
        );
      }
    };

    const b = await this.readBody(req, this.maxBodyBytes);
    if (b.aborted) return;
    if (b.tooLarge) {
      const r = awsError('RequestEntityTooLargeException', {
        status: 413,
        message: `Request body exceeds the maximum allowed size of ${this.maxBodyBytes} bytes`,
      });
      finish(r);
      this.send(req, res, r, { requestId, close: true });
      return;
    }
    const body = b.body;
    summary.bodyBytes = body.length;

    if (CREDENTIAL_ROUTES.has(route.name)) {
      await this.serveCredentialRoute(req, res, { route, path, query, body, requestId, summary, finish });
      return;
    }

    // --- authentication ---
    const v = await verifyRequest({ method: req.method, url: req.url, rawHeaders: wireHeaders(req), body }, { store: this.store, region: this.region, now: this.now() });
    if (v.auth) {
      summary.auth = v.auth.scheme;
      summary.accessKeyId = v.auth.accessKeyId;
      summary.sessionToken = v.auth.sessionToken;
    }
    if (!v.ok) {
      st.rejected[v.reason] += 1;
      finish(v.response);
      this.send(req, res, v.response, { requestId });
      return;
    }
    // who signed: the IAM principal of the key (assumed roles are distinct per role and session)
    if (v.key) {
      const who = identityOf(v.key).arn;
      st.callsByPrincipal[who] = (st.callsByPrincipal[who] || 0) + 1;
    }

    // --- model resolution (response deferred until after faults) ---
    let resolved = null;
    const modelIds = new Set();
    if (route.modelIdentifier !== undefined) {
      modelIds.add(route.modelIdentifier);
      resolved = models.resolveModel(route.modelIdentifier, this.region, { countTokens: route.name === 'count_tokens' });
      if (resolved.ok) {
        modelIds.add(resolved.model.id);
        if (resolved.profile) modelIds.add(resolved.profile.id);
        st.models[resolved.model.id] = (st.models[resolved.model.id] || 0) + 1;
      }
    }

    // --- faults ---
    const fault = this.faults.take({ route: route.name, modelIds });
    let dateShiftMs = 0;
    if (fault) {
      st.faults[fault.type] += 1;
      summary.fault = fault.type;
      const makeError = (f) => {
        if (f.type === 'throttle') return awsError('ThrottlingException', f.message ? { message: f.message } : {});
        const extra = {};
        if (f.code === 'ModelErrorException' || f.originalStatusCode != null) {
          extra.originalStatusCode = f.originalStatusCode ?? 500;
          extra.resourceName = f.resourceName ?? (resolved && resolved.ok ? models.modelArn(this.region, resolved.model.id) : route.modelIdentifier || '');
        }
        if (f.originalMessage != null) extra.originalMessage = f.originalMessage;
        return awsError(f.code, {
          status: f.status || undefined,
          message: f.message ?? undefined,
          ns: f.namespace === 'coral' ? NS_CORAL : f.namespace === 'bedrock' ? NS_BEDROCK : undefined,
          extra: Object.keys(extra).length ? extra : undefined,
        });
      };
      const pre = await this.preFault(fault, req, res, { finish, requestId, makeError });
      if (pre.done) return;
      dateShiftMs = pre.dateShiftMs;
    }

    // --- the operation itself ---
    const ctx = {
      model: resolved && resolved.ok ? resolved.model : null,
      modelIdentifier: route.modelIdentifier,
      body,
      requestId,
      now: this.now(),
      elapsed: () => Math.max(1, Date.now() - t0),
      promptCache: this.promptCache || (this.promptCache = new Map()), // cachePoint prefixes
    };
    // InvokeModel's guardrail travels in headers: shown in the request log
    if (req.headers['x-amzn-bedrock-guardrailidentifier']) summary.guardrail = `${req.headers['x-amzn-bedrock-guardrailidentifier']}:${req.headers['x-amzn-bedrock-guardrailversion']}`;
    let response;
    if (route.name === 'unknown') {
      response = awsError('UnknownOperationException');
    } else if (route.name === 'control') {
      response = this.control(route, query);
    } else if (route.name === 'batch') {
      response = this.batch.handle(route, body, query);
    } else if (route.name === 'apply_guardrail') {
      response = handleApplyGuardrail(route, body, ctx.elapsed);
    } else if (!resolved.ok) {
      response = resolved.response;
    } else if (route.name === 'converse') {
      response = handleConverse(ctx);
    } else if (route.name === 'invoke') {
      response = handleInvoke(ctx);
    } else if (route.name === 'count_tokens') {
      response = handleCountTokens(ctx);
    } else {
      response = awsError('ValidationException', {
        message: 'The bedrock_fdw emulator does not implement streaming operations (ConverseStream, InvokeModelWithResponseStream).',
      });
    }
    if (response.meta) {
      st.tokens.input += response.meta.inputTokens || 0;
      st.tokens.output += response.meta.outputTokens || 0;
      if (response.meta.structured) st.structured[response.meta.structured] += 1;
      if (response.meta.features) Object.assign(summary, response.meta.features);
    }

    this.deliver(req, res, response, fault, { finish, requestId, dateShiftMs });
  }

  /**
   * Act on a fault before the operation runs. ctx: {finish, requestId, makeError(fault) (throttle
   * and error faults in the route's protocol), noRequestId}. Returns {done: true} when the
   * response was already sent (or the connection dropped), else {dateShiftMs}.
   */
  async preFault(fault, req, res, { finish, requestId, makeError, noRequestId = false }) {
    switch (fault.type) {
      case 'latency':
        await sleep(fault.ms);
        if (isGone(req, res)) {
          finish(null, { status: 0 });
          return { done: true };
        }
        return { dateShiftMs: 0 };
      case 'throttle':
      case 'error': {
        const r = makeError(fault);
        finish(r);
        this.send(req, res, r, { requestId, noRequestId });
        return { done: true };
      }
      case 'status_only': {
        const text = fault.body ?? `<html>\r\n<head><title>${fault.status} ${http.STATUS_CODES[fault.status] || 'Error'}</title></head>\r\n<body>\r\n<center><h1>${fault.status} ${http.STATUS_CODES[fault.status] || 'Error'}</h1></center>\r\n</body>\r\n</html>\r\n`;
        const r = { status: fault.status, headers: { 'Content-Type': fault.contentType }, body: Buffer.from(text) };
        finish(r);
        this.send(req, res, r, { requestId, noRequestId: true });
        return { done: true };
      }
      case 'reset':
        finish(null, { status: 0 });
        this.dropConnection(req, fault.mode);
        return { done: true };
      case 'skew_date':
        return { dateShiftMs: fault.seconds * 1000 };
      default:
        return { dateShiftMs: 0 }; // truncate / malformed / slow_body act on the real response (deliver)
    }
  }

  /**
   * Close the connection without a response: RST (default) or FIN. On HTTP/2 only the request's
   * stream goes (RST_STREAM INTERNAL_ERROR, or NO_ERROR for "fin"): the session's other streams live on.
   */
  dropConnection(req, mode = 'rst') {
    if (req.stream) {
      const c = http2.constants;
      req.stream.close(mode === 'rst' ? c.NGHTTP2_INTERNAL_ERROR : c.NGHTTP2_NO_ERROR);
      return;
    }
    if (mode === 'rst' && typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
    else req.socket.destroy();
  }

  /** Send the real response, through a truncate / malformed / slow_body fault if one fired. */
  deliver(req, res, response, fault, { finish, requestId, dateShiftMs = 0, noRequestId = false, keepContentType = false }) {
    const opts = { requestId, dateShiftMs, noRequestId };
    if (fault && fault.type === 'truncate') {
      finish(response);
      this.sendTruncated(req, res, response, fault, opts);
      return;
    }
    if (fault && fault.type === 'malformed') {
      const full = response.body.toString('utf8');
      const text = fault.body ?? (full.length > 1 ? full.slice(0, Math.floor(full.length / 2)) : '{');
      const contentType = keepContentType ? response.headers['Content-Type'] || 'application/json' : 'application/json';
      const r = { status: 200, headers: { 'Content-Type': contentType }, body: Buffer.from(text) };
      finish(r);
      this.send(req, res, r, opts);
      return;
    }
    if (fault && fault.type === 'slow_body') {
      finish(response);
      this.sendSlow(req, res, response, fault, opts);
      return;
    }
    if (fault && fault.type === 'bad_content') {
      const r = { ...response, body: badContentBody(fault, response.body || Buffer.alloc(0)) };
      finish(r);
      this.send(req, res, r, opts);
      return;
    }
    if (fault && fault.type === 'huge_headers') {
      const r = { ...response, headers: { ...(response.headers || {}), ...hugeHeaders(fault) } };
      finish(r);
      this.send(req, res, r, opts);
      return;
    }
    finish(response);
    this.send(req, res, response, opts);
  }

  /**
   * IMDS, container credentials and STS. Faults apply only when they name the route explicitly.
   * A disabled service resets the connection at once (a dead endpoint).
   */
  async serveCredentialRoute(req, res, { route, path, query, body, requestId, summary, finish }) {
    const st = this.stats;
    const svc = this.services;
    const noRequestId = route.name !== 'sts';
    if (!svc.enabled(route.name)) {
      finish({ status: 0, errorCode: 'ServiceDown' });
      this.dropConnection(req, 'rst');
      return;
    }
    const headers = collectHeaders(wireHeaders(req));
    let params = null;
    let caller = null;
    if (route.name === 'sts') {
      params = sts.parseParams(body, headers['content-type'], query);
      summary.action = typeof params.Action === 'string' ? params.Action.slice(0, 64) : null;
      if (params.Action === 'AssumeRoleWithWebIdentity') {
        summary.auth = 'none'; // unsigned operation (an Authorization header is ignored)
      } else {
        const v = await verifyRequest(
          { method: req.method, url: req.url, rawHeaders: wireHeaders(req), body },
          { store: this.store, region: this.region, now: this.now(), service: 'sts', allowBearer: false },
        );
        if (v.auth) {
          summary.auth = v.auth.scheme;
          summary.accessKeyId = v.auth.accessKeyId;
          summary.sessionToken = v.auth.sessionToken;
        }
        if (!v.ok) {
          st.rejected[v.reason] += 1;
          const r = sts.stsAuthError(v, requestId);
          finish(r);
          this.send(req, res, r, { requestId });
          return;
        }
        caller = v.key;
      }
      const bad = sts.checkVersion(params, requestId);
      if (bad) {
        finish(bad);
        this.send(req, res, bad, { requestId });
        return;
      }
    }

    const fault = this.faults.take({ route: route.name, modelIds: new Set() });
    let dateShiftMs = 0;
    if (fault) {
      st.faults[fault.type] += 1;
      summary.fault = fault.type;
      const makeError = (f) => {
        if (route.name === 'sts') {
          return f.type === 'throttle' ? sts.stsError('Throttling', { message: f.message ?? undefined, requestId }) : sts.stsError(f.code, { status: f.status || undefined, message: f.message ?? undefined, requestId });
        }
        if (route.name === 'imds') return imdsPage(f.type === 'throttle' ? 429 : f.status || 500);
        return f.type === 'throttle' ? containerError(429, 'ThrottlingException', f.message ?? 'Rate exceeded') : containerError(f.status || 500, f.code, f.message ?? 'Injected error');
      };
      const pre = await this.preFault(fault, req, res, { finish, requestId, makeError, noRequestId });
      if (pre.done) return;
      dateShiftMs = pre.dateShiftMs;
    }

    let response;
    if (route.name === 'sts') response = sts.handleSts({ svc, params, caller, requestId });
    else if (route.name === 'imds') response = svc.imds(req.method, path, headers);
    else response = svc.container(req.method, headers);
    const meta = response.meta || {};
    if (response.status === 200 && meta.fetch) st.credentialFetches[meta.fetch] += 1;
    if (meta.issued) summary.issuedAccessKeyId = meta.issued.accessKeyId;
    this.deliver(req, res, response, fault, { finish, requestId, dateShiftMs, noRequestId, keepContentType: true });
  }

  headersFor(response, { requestId, dateShiftMs = 0, noRequestId = false, close = false }) {
    const headers = {};
    if (!noRequestId) headers['x-amzn-RequestId'] = requestId;
    headers.Date = new Date(this.now() + dateShiftMs).toUTCString();
    Object.assign(headers, response.headers || {});
    headers['Content-Length'] = String(response.body ? response.body.length : 0);
    if (close) headers.Connection = 'close'; // dropped by send() on HTTP/2, which has no such header
    return headers;
  }

  send(req, res, response, opts) {
    if (isGone(req, res)) return;
    const h2 = Boolean(req.stream);
    const headers = this.headersFor(response, { ...opts, close: opts.close && !h2 });
    if (opts.close && !h2) res.on('finish', () => req.socket.destroy());
    res.writeHead(response.status, headers);
    res.end(response.body || undefined);
  }

  sendTruncated(req, res, response, fault, opts) {
    const headers = this.headersFor(response, opts);
    const full = response.body || Buffer.alloc(0);
    const n = Math.min(fault.bytes ?? Math.floor(full.length / 2), Math.max(0, full.length - 1));
    res.writeHead(response.status, headers);
    res.flushHeaders();
    const part = full.subarray(0, n);
    // "rst": a reset in the middle of the body; else the connection just closes
    const kill = () => (fault.mode === 'rst' ? this.dropConnection(req, 'rst') : req.socket.destroy());
    if (part.length) res.write(part, kill);
    else setImmediate(kill);
  }

  sendSlow(req, res, response, fault, opts) {
    const headers = this.headersFor(response, opts);
    const full = response.body || Buffer.alloc(0);
    const chunk = Math.max(1, Math.floor(fault.chunk));
    const pieces = [];
    for (let i = 0; i < full.length; i += chunk) pieces.push(full.subarray(i, i + chunk));
    const interval = pieces.length > 1 ? fault.ms / (pieces.length - 1) : 0;
    res.writeHead(response.status, headers);
    res.flushHeaders();
    let i = 0;
    const step = () => {
      if (isGone(req, res)) return;
      if (i >= pieces.length) {
        res.end();
        return;
      }
      res.write(pieces[i++]);
      if (i >= pieces.length) res.end();
      else setTimeout(step, interval);
    };
    step();
  }

  /** stats.controlOps and stats.controlParams for one control-plane request. */
  countControl(route, query) {
    const st = this.stats;
    st.controlOps[route.op] = (st.controlOps[route.op] || 0) + 1;
    for (const k of Object.keys(query)) st.controlParams[k] = (st.controlParams[k] || 0) + 1;
  }

  /**
   * An S3 request: its own body cap (objects are bigger than API bodies), S3's SigV4
   * rules and XML errors; counted as route "s3" in the stats; "s3" faults apply (throttle gives
   * 503 SlowDown, error gives the fault's code in S3's XML, reset drops the connection).
   */
  async serveS3(req, res, requestId, t0) {
    const st = this.stats;
    st.requests.total += 1;
    st.requests.s3 += 1;
    const summary = { time: new Date(t0).toISOString(), requestId, method: req.method, path: redactTarget(req.url), route: 's3', status: null, errorCode: null, auth: null, accessKeyId: null, fault: null, bodyBytes: 0, ms: 0 };
    const finish = (r) => {
      summary.status = r ? r.status : 0;
      summary.errorCode = r && r.errorCode ? r.errorCode : null;
      summary.ms = Date.now() - t0;
      st.responses[String(summary.status)] = (st.responses[String(summary.status)] || 0) + 1;
      st.last.push(summary);
      if (st.last.length > LAST_N) st.last.shift();
      if (!this.quiet) this.log(`${summary.time} ${summary.method} ${summary.path} ${summary.status} ${summary.ms}ms route=s3${summary.errorCode ? ` error=${summary.errorCode}` : ''}`);
    };
    const b = await this.readBody(req, this.s3.maxObjectBytes);
    if (b.aborted) return;
    if (b.tooLarge) {
      const r = s3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', requestId);
      finish(r);
      this.send(req, res, r, { requestId, noRequestId: true, close: true });
      return;
    }
    summary.bodyBytes = b.body.length;
    const fault = this.faults.take({ route: 's3', modelIds: new Set() });
    if (fault) {
      st.faults[fault.type] += 1;
      summary.fault = fault.type;
      const makeError = (f) => (f.type === 'throttle' ? s3Error('SlowDown', 'Please reduce your request rate.', requestId) : s3Error(f.code || 'InternalError', f.message || 'We encountered an internal error. Please try again.', requestId));
      const pre = await this.preFault(fault, req, res, { finish, requestId, makeError, noRequestId: true });
      if (pre.done) return;
    }
    const r = await handleS3({ req, rawHeaders: wireHeaders(req), body: b.body, store: this.s3, credStore: this.store, region: this.region, now: this.now(), requestId });
    if (r.auth) {
      summary.auth = r.auth.scheme;
      summary.accessKeyId = r.auth.accessKeyId;
    }
    if (r.reason) st.rejected[r.reason] += 1;
    finish(r);
    const headers = { ...(r.headers || {}), 'x-amz-request-id': requestId };
    const response = { ...r, headers };
    if (isGone(req, res)) return;
    const out = this.headersFor(response, { requestId, noRequestId: true });
    if (r.headLength !== undefined) out['Content-Length'] = String(r.headLength);
    res.writeHead(response.status, out);
    res.end(req.method === 'HEAD' ? undefined : response.body || undefined);
  }

  control(route, query) {
    const region = this.region;
    if (route.op === 'list-foundation-models') {
      const r = models.listFoundationModels(query, region);
      return r.error ? awsError('ValidationException', { message: r.error }) : json(200, r.body);
    }
    if (route.op === 'get-foundation-models') {
      const r = models.getFoundationModel(route.id, region);
      return r ? json(200, r) : awsError('ResourceNotFoundException', { message: 'The specified model could not be found.' });
    }
    if (route.op === 'list-inference-profiles' || route.op === 'list-guardrails' || route.op === 'list-model-invocation-jobs') {
      let r;
      if (route.op === 'list-inference-profiles') r = this.catalog.listInferenceProfiles(query, region);
      else if (route.op === 'list-guardrails') r = this.catalog.listGuardrails(query, region);
      else r = this.catalog.listModelInvocationJobs(query, this.batchJobs ? this.batchJobs.values() : null);
      return r.error ? awsError('ValidationException', { message: r.error }) : json(200, r.body);
    }
    const p = models.getInferenceProfile(route.id, region);
    return p ? json(200, p) : awsError('ResourceNotFoundException', { message: 'The specified inference profile could not be found.' });
  }

  // ---------------------------------------------------------------------------------------------
  // Admin API (no signature; loopback peers only)

  admin(req, path, query, body) {
    if (!isLoopbackAddress(req.socket.remoteAddress)) return json(403, { error: 'admin API is loopback-only' });
    let payload = null;
    if (body && body.length) {
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch (e) {
        return json(400, { error: `invalid JSON: ${e.message}` });
      }
    }
    const m = req.method;
    const bad = (msg) => json(400, { error: msg });
    try {
      switch (path) {
        case '/_emulator/health':
          if (m === 'GET') return json(200, { ok: true, region: this.region, port: this.port, ...(this.tlsServer ? { tlsPort: this.tlsPort } : {}) });
          break;
        case '/_emulator/stats':
          if (m === 'GET') return json(200, { ...this.stats, pendingFaults: this.faults.pending, clockOffsetSeconds: this.clockOffsetMs / 1000 });
          break;
        case '/_emulator/reset':
          if (m === 'POST') {
            this.resetStats();
            this.faults.clear();
            this.clockOffsetMs = 0;
            this.services.reset();
            this.catalog.reset();
            return json(200, { ok: true });
          }
          break;
        case '/_emulator/credential-services':
          if (m === 'GET') return json(200, this.services.publicConfig());
          if (m === 'POST') {
            if (payload === null) return bad('POST /_emulator/credential-services needs a JSON object');
            this.services.configure(payload);
            return json(200, this.services.publicConfig());
          }
          if (m === 'DELETE') {
            this.services.reset();
            return json(200, this.services.publicConfig());
          }
          break;
        case '/_emulator/roles':
          if (m === 'GET') return json(200, { roles: this.services.listRoles() });
          if (m === 'POST') {
            if (payload === null) return bad('POST /_emulator/roles needs {"arn", "externalId"?, "account"?} or an array of them');
            const added = this.services.addRoles(payload);
            return json(200, { added, roles: this.services.listRoles().length });
          }
          break;
        case '/_emulator/sts-log':
          if (m === 'GET') return json(200, { assumeRole: this.services.assumeRoleLog });
          if (m === 'DELETE') {
            this.services.assumeRoleLog = [];
            return json(200, { ok: true });
          }
          break;
        case '/_emulator/web-identity-tokens':
          if (m === 'GET') return json(200, { tokens: this.services.webTokens.size });
          if (m === 'POST') {
            if (payload === null) return bad('POST /_emulator/web-identity-tokens needs {"token", "subject"?, "audience"?, "provider"?, "expiration"?}');
            this.services.addWebToken(payload);
            return json(200, { ok: true, tokens: this.services.webTokens.size });
          }
          break;
        case '/_emulator/faults':
          if (m === 'GET') return json(200, { faults: this.faults.list() });
          if (m === 'DELETE') return json(200, { cleared: this.faults.clear() });
          if (m === 'POST') {
            if (payload === null) return bad('POST /_emulator/faults needs a JSON fault object or array');
            const added = this.faults.add(payload);
            return json(200, { added, pending: this.faults.pending });
          }
          break;
        case '/_emulator/credentials':
          if (m === 'GET') return json(200, this.store.list());
          if (m === 'DELETE') {
            this.store.reset();
            return json(200, { ok: true });
          }
          if (m === 'POST') {
            if (!payload || typeof payload !== 'object') return bad('POST /_emulator/credentials needs a JSON object');
            if (payload.bearer !== undefined) this.store.putBearer(payload);
            else this.store.put(payload);
            return json(200, { ok: true });
          }
          break;
        case '/_emulator/catalog':
          if (m === 'GET') return json(200, this.catalog.publicConfig());
          if (m === 'POST') {
            if (payload === null || typeof payload !== 'object') return bad('POST /_emulator/catalog needs {"pageSize"?, "guardrails"?, "jobs"?}');
            const { jobs, ...cfg } = payload;
            this.catalog.configure(cfg);
            let ids = [];
            if (jobs !== undefined) {
              if (!this.batchJobs) this.batchJobs = new Map();
              ids = seedJobs(this.batchJobs, jobs, this.region, this.now());
            }
            return json(200, { ...this.catalog.publicConfig(), jobIds: ids });
          }
          break;
        // knobs of the batch job scheduler, its jobs, and the S3 store
        case '/_emulator/batch':
          if (m === 'GET') return json(200, this.batch.summary());
          if (m === 'POST') {
            if (payload === null) return bad('POST /_emulator/batch needs a JSON object of settings');
            return json(200, { config: this.batch.configure(payload).config });
          }
          if (m === 'DELETE') {
            this.batch.reset();
            return json(200, { ok: true });
          }
          break;
        case '/_emulator/s3':
          if (m === 'GET') return json(200, { buckets: this.s3.summary(), maxObjectBytes: this.s3.maxObjectBytes });
          if (m === 'POST') {
            if (!payload || typeof payload !== 'object') return bad('POST /_emulator/s3 needs {"bucket"?, "maxObjectBytes"?}');
            if (payload.bucket !== undefined) this.s3.bucket(String(payload.bucket), true);
            if (payload.maxObjectBytes !== undefined) {
              if (!Number.isInteger(payload.maxObjectBytes) || payload.maxObjectBytes < 1) return bad('maxObjectBytes must be a positive integer');
              this.s3.maxObjectBytes = payload.maxObjectBytes;
            }
            return json(200, { buckets: this.s3.summary() });
          }
          if (m === 'DELETE') {
            this.s3.reset();
            return json(200, { ok: true });
          }
          break;
        case '/_emulator/clock':
          if (m === 'GET') return json(200, { offsetSeconds: this.clockOffsetMs / 1000, now: new Date(this.now()).toISOString() });
          if (m === 'POST') {
            const s = payload && payload.offsetSeconds;
            if (typeof s !== 'number' || !Number.isFinite(s)) return bad('POST /_emulator/clock needs {"offsetSeconds": number}');
            this.clockOffsetMs = Math.round(s * 1000);
            return json(200, { offsetSeconds: s, now: new Date(this.now()).toISOString() });
          }
          break;
        default:
          return json(404, { error: `unknown admin path ${path}` });
      }
    } catch (e) {
      return bad(e.message);
    }
    return json(405, { error: `method ${m} not allowed on ${path}` });
  }
}

function createEmulator(opts) {
  return new Emulator(opts);
}

module.exports = { Emulator, createEmulator, isLoopbackAddress, classify, redactTarget, wireHeaders, REJECT_REASONS, ROUTE_NAMES, FETCH_NAMES };
