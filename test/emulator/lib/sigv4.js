'use strict';
// SigV4 verification of incoming requests with the official signer (@smithy/signature-v4).
// Reference: aws-protocol.md section 4.5. The signature is recomputed over a request rebuilt
// from the raw request target as received (path still percent-encoded; the signer's
// uriEscapePath=true double-encodes it, as Bedrock's canonical URI requires), only the headers
// named in SignedHeaders, the exact body bytes, and X-Amz-Date as signing date.

const crypto = require('crypto');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');
const { awsError, NS_CORAL, CODES } = require('./errors');

const SERVICE = 'bedrock';
const SKEW_MS = 5 * 60 * 1000;

/** sha256 constructor in the shape the signer wants: new Sha256(secret?) */
class Sha256 extends Hash {
  constructor(secret) {
    super('sha256', secret);
  }
}

function fmtAmzDate(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Number.isNaN(t) || fmtAmzDate(t) !== s) return null;
  return t;
}

/**
 * Parse "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
 * Returns {error: message} or {accessKeyId, date, region, service, terminator, signedHeaders[], signature}.
 */
function parseAuthorization(value) {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(value);
  if (!m) {
    return { error: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header." };
  }
  const params = {};
  for (const part of m[1].split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq <= 0) return { error: `Authorization header requires each component to be of the form key=value, got '${p.slice(0, 40)}'.` };
    params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((k) => !params[k]);
  if (missing.length) {
    return { error: missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ') };
  }
  const cred = params.Credential.split('/');
  if (cred.length !== 5 || cred.some((c) => c.length === 0)) {
    return { error: `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${params.Credential}'` };
  }
  if (!/^[0-9a-f]{64}$/.test(params.Signature)) {
    return { error: 'Signature must be 64 lower-case hexadecimal characters.' };
  }
  const signedHeaders = params.SignedHeaders.split(';');
  // ":authority": the AWS SDK signs HTTP/2's pseudo-header under its own name
  if (signedHeaders.some((h) => !/^:?[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h))) {
    return { error: 'SignedHeaders must be a list of lower-case header names separated by semicolons.' };
  }
  return {
    accessKeyId: cred[0],
    date: cred[1],
    region: cred[2],
    service: cred[3],
    terminator: cred[4],
    signedHeaders,
    signature: params.Signature,
  };
}

/** Split the raw request target into raw path and decoded query map. */
function splitTarget(rawUrl) {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const queryString = q < 0 ? '' : rawUrl.slice(q + 1);
  const query = {};
  if (queryString) {
    for (const pair of queryString.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const k = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
      const v = eq < 0 ? '' : safeDecode(pair.slice(eq + 1));
      if (Object.prototype.hasOwnProperty.call(query, k)) {
        query[k] = [].concat(query[k], v);
      } else {
        query[k] = v;
      }
    }
  }
  return { path, query, queryString };
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Headers from rawHeaders, lower-cased, repeated values joined with ",". */
function collectHeaders(rawHeaders, wanted) {
  const out = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (wanted && !wanted.has(name)) continue;
    out[name] = name in out ? `${out[name]},${rawHeaders[i + 1]}` : rawHeaders[i + 1];
  }
  return out;
}

function constantTimeEqual(a, b) {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ba.length !== bb.length) return false;
  return crypto.timingSafeEqual(ba, bb);
}

/** A rejection: the Bedrock (JSON) response, plus code and message so other protocols (STS XML) can map it. */
function reject(reason, code, message, opts = {}) {
  const msg = message != null ? message : CODES[code] ? CODES[code][2] : code;
  return { ok: false, reason, code, message: msg, response: awsError(code, { ...opts, ...(message != null ? { message } : {}) }) };
}

/**
 * The message AWS sends with a signature mismatch: like the real services, it quotes the
 * canonical string it expected, signed headers (x-amz-security-token among them) included.
 */
function mismatchMessage(method, path, headers, body) {
  const names = Object.keys(headers).sort();
  const canonical = [method, path, '', ...names.map((n) => `${n}:${String(headers[n]).trim()}`), '', names.join(';'),
    crypto.createHash('sha256').update(body).digest('hex')].join('\n');
  return `${CODES.InvalidSignatureException[2]}\n\nThe Canonical String for this request should have been\n'${canonical}'\n`;
}

/**
 * Compute the signature the official signer produces for the given request parts.
 * req: {method, path (raw, percent-encoded), query (decoded map), headers (lower-case, only signed), body}
 */
async function computeSignature(req, { accessKeyId, secretAccessKey, region, signingDate, signedHeaders, service = SERVICE, s3 = false }) {
  const signer = new SignatureV4({
    service,
    region,
    credentials: { accessKeyId, secretAccessKey }, // token (if any) is already among the signed headers
    sha256: Sha256,
    uriEscapePath: !s3, // S3: the path as sent, neither normalised nor encoded twice
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: req.path,
      query: req.query,
      headers: { ...req.headers },
      body: req.body && req.body.length ? req.body : undefined,
    },
    { signingDate: new Date(signingDate), signableHeaders: new Set(signedHeaders) },
  );
  const auth = signed.headers.authorization || '';
  const sig = /Signature=([0-9a-f]+)/.exec(auth);
  const sh = /SignedHeaders=([^,]+)/.exec(auth);
  return { signature: sig ? sig[1] : '', signedHeaders: sh ? sh[1] : '' };
}

/**
 * Verify one request.
 * req: {method, url (raw target), rawHeaders, body (Buffer)}
 * ctx: {store (CredentialStore), region, now (ms), service (default 'bedrock'), allowBearer (default true),
 *       s3 (S3's canonical URI rules; default false)}
 * Returns {ok:true, auth:{scheme, accessKeyId, sessionToken}, key} or {ok:false, reason, code, message, response, auth}.
 */
async function verifyRequest(req, ctx) {
  const headers = collectHeaders(req.rawHeaders);
  const authz = headers.authorization;
  const now = ctx.now;
  const service = ctx.service || SERVICE;
  if (authz == null || authz.trim() === '') {
    return reject('missing', 'MissingAuthenticationTokenException');
  }

  // Bedrock API keys
  const bearer = ctx.allowBearer === false ? null : /^Bearer\s+(\S+)\s*$/i.exec(authz);
  if (bearer) {
    const entry = ctx.store.getBearer(bearer[1]);
    const auth = { scheme: 'bearer', accessKeyId: null, sessionToken: false };
    if (!entry) {
      return { ...reject('bearer', 'AccessDeniedException', 'Authentication failed: Please make sure your API Key is valid.', { ns: NS_CORAL }), auth };
    }
    if (entry.expiration != null && entry.expiration <= now) {
      return { ...reject('bearer', 'AccessDeniedException', 'Bearer Token has expired', { ns: NS_CORAL }), auth };
    }
    return { ok: true, auth };
  }

  const parsed = parseAuthorization(authz.trim());
  if (parsed.error) return reject('incomplete', 'IncompleteSignatureException', parsed.error);
  const tokenHeader = headers['x-amz-security-token'];
  const auth = { scheme: 'sigv4', accessKeyId: parsed.accessKeyId, sessionToken: tokenHeader != null };

  const amzDate = headers['x-amz-date'];
  if (amzDate == null) {
    return { ...reject('incomplete', 'IncompleteSignatureException', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."), auth };
  }
  const reqTime = parseAmzDate(amzDate.trim());
  if (reqTime == null) {
    return { ...reject('incomplete', 'IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`), auth };
  }

  // 2. key lookup, session token, expiry
  const key = ctx.store.get(parsed.accessKeyId);
  if (!key) return { ...reject('unknown_key', 'UnrecognizedClientException'), auth };
  if (key.sessionToken) {
    if (tokenHeader == null || !constantTimeEqual(tokenHeader, key.sessionToken)) {
      return { ...reject('unknown_key', 'UnrecognizedClientException'), auth };
    }
  } else if (tokenHeader != null) {
    return { ...reject('unknown_key', 'UnrecognizedClientException'), auth };
  }
  if (key.expiration != null && key.expiration <= now) {
    return { ...reject('expired', 'ExpiredTokenException'), auth };
  }

  // 3. credential scope
  if (parsed.service !== service) {
    return { ...reject('scope', 'InvalidSignatureException', `Credential should be scoped to correct service: '${service}'. `), auth };
  }
  if (parsed.region !== ctx.region) {
    return { ...reject('scope', 'InvalidSignatureException', `Credential should be scoped to a valid region. `), auth };
  }
  if (parsed.terminator !== 'aws4_request') {
    return { ...reject('scope', 'InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${parsed.terminator}'. `), auth };
  }
  if (parsed.date !== amzDate.trim().slice(0, 8)) {
    return { ...reject('scope', 'InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parsed.date}' != '${amzDate.trim().slice(0, 8)}', from '${amzDate.trim()}'.`), auth };
  }

  // 4. clock skew (+-5 min)
  if (reqTime < now - SKEW_MS) {
    return { ...reject('skew', 'InvalidSignatureException', `Signature expired: ${fmtAmzDate(reqTime)} is now earlier than ${fmtAmzDate(now - SKEW_MS)} (${fmtAmzDate(now)} - 5 min.)`), auth };
  }
  if (reqTime > now + SKEW_MS) {
    return { ...reject('skew', 'InvalidSignatureException', `Signature not yet current: ${fmtAmzDate(reqTime)} is still later than ${fmtAmzDate(now + SKEW_MS)} (${fmtAmzDate(now)} + 5 min.)`), auth };
  }

  // 5. signature
  const signedSet = new Set(parsed.signedHeaders);
  const signedHeaderValues = collectHeaders(req.rawHeaders, signedSet);
  const body = req.body || Buffer.alloc(0);
  const contentSha = signedHeaderValues['x-amz-content-sha256'];
  if (contentSha != null && contentSha !== 'UNSIGNED-PAYLOAD') {
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (contentSha.trim().toLowerCase() !== actual) {
      return { ...reject('mismatch', 'InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed.'), auth };
    }
  }
  const { path, query } = splitTarget(req.url);
  let computed;
  try {
    computed = await computeSignature(
      { method: req.method, path, query, headers: signedHeaderValues, body },
      {
        accessKeyId: key.accessKeyId,
        secretAccessKey: key.secretAccessKey,
        region: ctx.region,
        signingDate: reqTime,
        signedHeaders: parsed.signedHeaders,
        service,
        s3: Boolean(ctx.s3),
      },
    );
  } catch (e) {
    return { ...reject('mismatch', 'InvalidSignatureException'), auth };
  }
  const sameHeaderList = computed.signedHeaders === [...signedSet].sort().join(';');
  const sameSig = constantTimeEqual(computed.signature, parsed.signature);
  if (!sameHeaderList || !sameSig) {
    return { ...reject('mismatch', 'InvalidSignatureException', mismatchMessage(req.method, path, signedHeaderValues, body)), auth };
  }
  return { ok: true, auth, key };
}

module.exports = {
  SERVICE,
  SKEW_MS,
  Sha256,
  fmtAmzDate,
  parseAmzDate,
  parseAuthorization,
  splitTarget,
  collectHeaders,
  computeSignature,
  verifyRequest,
};
