'use strict';
// Fault injection queue. Faults are matched in insertion order against requests that passed
// signature verification; each request consumes at most ONE fault (the first pending one that
// matches). See README for the JSON shape.

const { CODES } = require('./errors');
const { STS_CODES } = require('./sts');

const TYPES = ['latency', 'throttle', 'error', 'reset', 'truncate', 'malformed', 'slow_body', 'skew_date', 'status_only', 'bad_content', 'huge_headers'];
// what a bad_content fault does to a JSON response body
const BAD_CONTENT_KINDS = ['nul_escape', 'invalid_utf8', 'unmappable', 'deep_nesting'];
const ROUTES = ['converse', 'converse_stream', 'invoke', 'invoke_stream', 'count_tokens', 'control', 'unknown', 'imds', 'container', 'sts', 's3', 'batch', 'apply_guardrail'];
// credential-service routes: a fault reaches them only when its "route" names them (route null = any Bedrock route)
const CREDENTIAL_ROUTES = new Set(['imds', 'container', 'sts', 's3']); // s3: only faults that name it

function isInt(v) {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Validate and normalise one fault spec; throws Error with a readable message. */
function normalizeFault(spec, id) {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('a fault must be a JSON object');
  const f = { id, type: spec.type };
  if (!TYPES.includes(spec.type)) throw new Error(`unknown fault type ${JSON.stringify(spec.type)}; expected one of ${TYPES.join(', ')}`);

  const count = spec.count ?? spec.times ?? 1;
  if (!isInt(count) || count < 0) throw new Error('count must be an integer >= 0 (0 = unlimited, until cleared)');
  f.count = count;
  f.remaining = count === 0 ? Infinity : count;
  const after = spec.after ?? 0;
  if (!isInt(after) || after < 0) throw new Error('after must be an integer >= 0');
  f.after = after;
  f.route = spec.route ?? null;
  if (f.route !== null && !ROUTES.includes(f.route)) throw new Error(`route must be null or one of ${ROUTES.join(', ')}`);
  f.model = spec.model ?? null;
  if (f.model !== null && (typeof f.model !== 'string' || !f.model)) throw new Error('model must be null or a model id');
  const every = spec.every ?? 1;
  if (!isInt(every) || every < 1) throw new Error('every must be an integer >= 1 (1 = every matching request)');
  f.every = every;
  f.seen = 0;
  const forMs = spec.for_ms ?? 0;
  if (!isInt(forMs) || forMs < 0) throw new Error('for_ms must be an integer >= 0 (0 = no expiry)');
  f.for_ms = forMs;
  f.expiresAt = forMs > 0 ? Date.now() + forMs : null;
  f.fired = 0;

  const num = (name, def, min = 0) => {
    const v = spec[name] ?? def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}`);
    return v;
  };
  const optStr = (name) => {
    if (spec[name] == null) return null;
    if (typeof spec[name] !== 'string') throw new Error(`${name} must be a string`);
    return spec[name];
  };

  switch (spec.type) {
    case 'latency':
      f.ms = num('ms', 1000);
      break;
    case 'throttle':
      f.message = optStr('message');
      if (spec.rps != null) {
        f.rps = num('rps', 0, 1);
        f.window = []; // arrival times (ms) of the requests let through in the last second
      }
      break;
    case 'error': {
      if (typeof spec.code !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(spec.code)) throw new Error('error fault needs a "code" (e.g. "InternalServerException")');
      f.code = spec.code;
      // default statuses: Bedrock codes (errors.js); STS codes (sts.js) for route "sts"; 500 for imds/container
      const known = f.route === 'sts' ? STS_CODES[spec.code] : f.route === 'imds' || f.route === 'container' ? true : CODES[spec.code];
      if (spec.status == null && !known) throw new Error(`unknown code ${spec.code}: give "status" too`);
      f.status = spec.status == null ? null : num('status', 0, 100);
      if (f.status !== null && (!isInt(f.status) || f.status > 599)) throw new Error('status must be an integer HTTP status');
      f.message = optStr('message');
      f.namespace = spec.namespace ?? null;
      if (f.namespace !== null && !['bedrock', 'coral'].includes(f.namespace)) throw new Error('namespace must be "bedrock" or "coral"');
      if (spec.originalStatusCode != null) f.originalStatusCode = num('originalStatusCode', 500, 100);
      if (spec.resourceName != null) f.resourceName = optStr('resourceName');
      if (spec.originalMessage != null) f.originalMessage = optStr('originalMessage');
      break;
    }
    case 'reset':
      f.mode = spec.mode ?? 'rst';
      if (!['rst', 'fin'].includes(f.mode)) throw new Error('reset mode must be "rst" or "fin"');
      break;
    case 'truncate':
      f.bytes = spec.bytes == null ? null : num('bytes', 0);
      f.mode = spec.mode ?? 'fin';
      if (!['rst', 'fin'].includes(f.mode)) throw new Error('truncate mode must be "fin" or "rst"');
      break;
    case 'bad_content':
      f.kind = spec.kind ?? 'nul_escape';
      if (!BAD_CONTENT_KINDS.includes(f.kind)) throw new Error(`bad_content kind must be one of ${BAD_CONTENT_KINDS.join(', ')}`);
      f.depth = num('depth', 5000, 1);
      if (!isInt(f.depth)) throw new Error('depth must be an integer >= 1');
      break;
    case 'huge_headers':
      f.headers = num('headers', 64, 1);
      f.size = num('size', 8192, 1);
      if (!isInt(f.headers) || !isInt(f.size) || f.headers * f.size > 64 * 1024 * 1024) throw new Error('headers and size must be integers, headers * size at most 64 MiB');
      break;
    case 'malformed':
      f.body = optStr('body');
      break;
    case 'slow_body':
      f.ms = num('ms', 2000);
      f.chunk = num('chunk', 16, 1);
      break;
    case 'skew_date':
      f.seconds = num('seconds', 0, -Infinity);
      if (spec.seconds == null) throw new Error('skew_date needs "seconds"');
      break;
    case 'status_only':
      f.status = num('status', 502, 100);
      if (!isInt(f.status) || f.status > 599) throw new Error('status must be an integer HTTP status');
      f.body = optStr('body');
      f.contentType = optStr('contentType') || 'text/html';
      break;
    default:
      break;
  }
  return f;
}

class FaultQueue {
  constructor() {
    this.items = [];
    this.nextId = 1;
  }

  add(spec) {
    const specs = Array.isArray(spec) ? spec : [spec];
    const made = specs.map((s, i) => normalizeFault(s, this.nextId + i)); // validate all first
    this.nextId += made.length;
    this.items.push(...made);
    return made.map(publicView);
  }

  clear() {
    const n = this.items.length;
    this.items = [];
    return n;
  }

  list() {
    this.dropExpired(Date.now());
    return this.items.map(publicView);
  }

  get pending() {
    this.dropExpired(Date.now());
    return this.items.length;
  }

  dropExpired(now) {
    this.items = this.items.filter((f) => f.expiresAt === null || f.expiresAt > now);
  }

  /** req: {route, modelIds: Set of identifiers the request is known by}. Returns a fault or null. */
  take(req) {
    const now = Date.now();
    this.dropExpired(now);
    for (let i = 0; i < this.items.length; i++) {
      const f = this.items[i];
      if (f.route !== null && f.route !== req.route) continue;
      if (f.route === null && CREDENTIAL_ROUTES.has(req.route)) continue;
      if (f.model !== null && !(req.modelIds && req.modelIds.has(f.model))) continue;
      if (f.after > 0) {
        f.after -= 1;
        return null; // this request is let through (and consumes the "after" budget)
      }
      f.seen += 1;
      if (f.seen % f.every !== 0) continue; // not its turn: later faults may still match
      if (f.window) {
        // a server-side quota: requests within rps per sliding second pass and count against it
        while (f.window.length > 0 && now - f.window[0] >= 1000) f.window.shift();
        if (f.window.length < f.rps) {
          f.window.push(now);
          continue;
        }
      }
      f.remaining -= 1;
      f.fired += 1;
      if (f.remaining <= 0) this.items.splice(i, 1);
      return f;
    }
    return null;
  }
}

/** Apply fn to every string member named "text", at any depth. */
function mapTexts(v, fn) {
  if (Array.isArray(v)) return v.map((x) => mapTexts(x, fn));
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = k === 'text' && typeof x === 'string' ? fn(x) : mapTexts(x, fn);
    return out;
  }
  return v;
}

/**
 * The body a bad_content fault sends instead of a JSON response body (a Buffer): every "text" member
 * gets a \u0000 escape (nul_escape), an invalid UTF-8 byte sequence (invalid_utf8) or a character
 * outside the BMP and every single-byte encoding (unmappable, U+1F600); deep_nesting adds a member
 * "additionalModelResponseFields" of `depth` nested arrays. A body that is not a JSON object is
 * returned as it is.
 */
function badContentBody(fault, body) {
  let obj;
  try {
    obj = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return body;
  const marker = '@@INVALID_UTF8@@';
  switch (fault.kind) {
    case 'nul_escape':
      return Buffer.from(JSON.stringify(mapTexts(obj, (x) => `${x}\u0000after`)));
    case 'unmappable':
      return Buffer.from(JSON.stringify(mapTexts(obj, (x) => `${x} \u{1F600}`)));
    case 'invalid_utf8': {
      const text = JSON.stringify(mapTexts(obj, (x) => `${x}${marker}`));
      const parts = text.split(marker).map((p) => Buffer.from(p));
      const bad = Buffer.from([0xc3, 0x28]);
      const out = [];
      parts.forEach((p, i) => {
        if (i > 0) out.push(bad);
        out.push(p);
      });
      return Buffer.concat(out);
    }
    case 'deep_nesting': {
      const text = JSON.stringify(obj);
      const nested = '['.repeat(fault.depth) + ']'.repeat(fault.depth);
      const sep = text === '{}' ? '' : ',';
      return Buffer.from(`${text.slice(0, -1)}${sep}"additionalModelResponseFields":${nested}}`);
    }
    default:
      return body;
  }
}

/** The extra headers a huge_headers fault adds: `headers` of `size` bytes each. */
function hugeHeaders(fault) {
  const out = {};
  for (let i = 0; i < fault.headers; i++) out[`x-emulator-padding-${i}`] = 'p'.repeat(fault.size);
  return out;
}

function publicView(f) {
  const out = { ...f };
  delete out.window;
  out.remaining = f.remaining === Infinity ? null : f.remaining;
  return out;
}

module.exports = { TYPES, ROUTES, BAD_CONTENT_KINDS, FaultQueue, normalizeFault, badContentBody, hugeHeaders };
