'use strict';
// Fault injection queue. Faults are matched in insertion order against requests that passed
// signature verification; each request consumes at most ONE fault (the first pending one that
// matches). See README for the JSON shape.

const { CODES } = require('./errors');
const { STS_CODES } = require('./sts');

const TYPES = ['latency', 'throttle', 'error', 'reset', 'truncate', 'malformed', 'slow_body', 'skew_date', 'status_only'];
const ROUTES = ['converse', 'converse_stream', 'invoke', 'invoke_stream', 'count_tokens', 'control', 'unknown', 'imds', 'container', 'sts'];
// credential-service routes: a fault reaches them only when its "route" names them (route null = any Bedrock route)
const CREDENTIAL_ROUTES = new Set(['imds', 'container', 'sts']);

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

function publicView(f) {
  const out = { ...f };
  delete out.window;
  out.remaining = f.remaining === Infinity ? null : f.remaining;
  return out;
}

module.exports = { TYPES, ROUTES, FaultQueue, normalizeFault };
