'use strict';
// What every InvokeModel handler shares: an everit-style schema checker (the messages of Bedrock's
// "Malformed input request" ValidationExceptions), body parsing and the success response with the
// X-Amzn-Bedrock-*-Token-Count headers.

const crypto = require('crypto');
const { malformed } = require('./errors');

function typeName(v) {
  if (v === null) return 'Null';
  if (Array.isArray(v)) return 'JSONArray';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'boolean') return 'Boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'Integer' : 'BigDecimal';
  return 'JSONObject';
}

class Violations {
  constructor() {
    this.list = [];
  }
  add(msg) {
    this.list.push(msg);
  }
  get any() {
    return this.list.length > 0;
  }
  response() {
    const n = this.list.length;
    return malformed(n === 1 ? this.list[0] : `${n} schema violations found`);
  }
  keys(obj, path, allowed, required) {
    for (const k of required) if (!(k in obj)) this.add(`${path}: required key [${k}] not found`);
    if (allowed) for (const k of Object.keys(obj)) if (!allowed.includes(k)) this.add(`${path}: extraneous key [${k}] is not permitted`);
  }
  type(v, path, want) {
    const t = typeName(v);
    const ok =
      (want === 'String' && t === 'String') ||
      (want === 'Integer' && t === 'Integer') ||
      (want === 'Number' && (t === 'Integer' || t === 'BigDecimal')) ||
      (want === 'Boolean' && t === 'Boolean') ||
      (want === 'JSONArray' && t === 'JSONArray') ||
      (want === 'JSONObject' && t === 'JSONObject');
    if (!ok) this.add(`${path}: expected type: ${want}, found: ${t}`);
    return ok;
  }
  range(v, path, min, max) {
    if (min != null && v < min) this.add(`${path}: ${v} is not greater or equal to ${min}`);
    if (max != null && v > max) this.add(`${path}: ${v} is not less or equal to ${max}`);
  }
}

function parseNative(body) {
  let v;
  try {
    v = JSON.parse((body || Buffer.alloc(0)).toString('utf8'));
  } catch {
    return { error: malformed('the request body is not valid JSON') };
  }
  if (typeName(v) !== 'JSONObject') return { error: malformed(`#: expected type: JSONObject, found: ${typeName(v)}`) };
  return { value: v };
}

function ok(obj, meta, extraHeaders = {}) {
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', ...extraHeaders },
    body: Buffer.from(JSON.stringify(obj)),
    meta,
  };
}

function tokenHeaders(inputTokens, outputTokens, latency) {
  const h = { 'X-Amzn-Bedrock-Input-Token-Count': String(inputTokens) };
  if (outputTokens != null) h['X-Amzn-Bedrock-Output-Token-Count'] = String(outputTokens);
  h['X-Amzn-Bedrock-Invocation-Latency'] = String(latency);
  return h;
}

function idFrom(prefix, seed, len) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const h = crypto.createHash('sha256').update(seed).digest();
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[h[i % h.length] % alphabet.length];
  return prefix + s;
}

module.exports = { typeName, Violations, parseNative, ok, tokenHeaders, idFrom };
