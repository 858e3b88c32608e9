'use strict';
// Deterministic "model" behaviour: token counting, reply text, limits and embeddings.
//
// Reply rule (documented in README):
//  * If the last user message starts with "echo:", the reply is the rest of that message
//    verbatim (one leading space removed). Lets tests choose the exact output.
//  * Otherwise: "Summary (N words): <first 12 words> ..." built from the last user message.
// Token counts are ceil(chars / 4) (at least 1 where a count is reported).

const crypto = require('crypto');

function countTokens(text) {
  if (!text) return 0;
  return Math.ceil(String(text).length / 4);
}

function atLeastOne(n) {
  return n < 1 ? 1 : n;
}

function words(text) {
  return String(text || '')
    .split(/\s+/)
    .filter(Boolean);
}

function replyFor(lastUserText) {
  const text = String(lastUserText || '');
  if (text.startsWith('echo:')) {
    return text.slice(5).replace(/^ /, '');
  }
  const w = words(text);
  if (w.length === 0) return 'Summary (0 words): (empty message)';
  const head = w.slice(0, 12).join(' ');
  return `Summary (${w.length} word${w.length === 1 ? '' : 's'}): ${head}${w.length > 12 ? ' ...' : ''}`;
}

function reasoningFor(lastUserText) {
  const n = words(lastUserText).length;
  return `The user sent ${n} word${n === 1 ? '' : 's'}; reply with a short summary.`;
}

/**
 * Apply stop sequences and a token budget to a reply.
 * Returns {text, reason: 'end_turn'|'max_tokens'|'stop_sequence', stopSequence}.
 */
function applyLimits(text, maxTokens, stopSequences) {
  let stopIdx = -1;
  let stopSeq = null;
  for (const s of stopSequences || []) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && (stopIdx < 0 || i < stopIdx)) {
      stopIdx = i;
      stopSeq = s;
    }
  }
  const limitChars = maxTokens == null ? Infinity : maxTokens * 4;
  if (stopIdx >= 0 && stopIdx <= limitChars) {
    return { text: text.slice(0, stopIdx), reason: 'stop_sequence', stopSequence: stopSeq };
  }
  if (text.length > limitChars) {
    return { text: text.slice(0, limitChars), reason: 'max_tokens', stopSequence: null };
  }
  return { text, reason: 'end_turn', stopSequence: null };
}

// ---------------------------------------------------------------------------------------------
// Embeddings: deterministic, "semantic-ish" vectors. Each distinct lower-cased word contributes a
// pseudo-random direction seeded by a hash of the word, and the whole text adds a smaller
// direction seeded by a hash of the text. Same text -> same vector; texts that share words have
// a higher cosine similarity. Result is unit length (unless normalize=false).

function seedFrom(str) {
  const h = crypto.createHash('sha256').update(str).digest();
  return [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
}

// xoshiro128** PRNG -> values in [-1, 1)
function addRandomDirection(vec, seedStr, weight) {
  let [a, b, c, d] = seedFrom(seedStr);
  if ((a | b | c | d) === 0) a = 1;
  for (let i = 0; i < vec.length; i++) {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    vec[i] += weight * (r / 2147483648 - 1);
  }
}

function rotl(x, k) {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function embed(text, dims, normalize = true) {
  const vec = new Float64Array(dims);
  const counts = new Map();
  for (const w of String(text).toLowerCase().match(/[\p{L}\p{N}]+/gu) || []) {
    counts.set(w, (counts.get(w) || 0) + 1);
  }
  for (const [w, c] of counts) addRandomDirection(vec, `w:${w}`, Math.sqrt(c));
  addRandomDirection(vec, `t:${text}`, counts.size ? 0.5 : 1);
  let norm = 0;
  for (let i = 0; i < dims; i++) norm += vec[i] * vec[i];
  norm = Math.sqrt(norm) || 1;
  const scale = normalize ? 1 / norm : Math.sqrt(1 + counts.size) / norm;
  const out = new Array(dims);
  for (let i = 0; i < dims; i++) out[i] = Number(Math.fround(vec[i] * scale).toPrecision(7));
  return out;
}

function toBinary01(vec) {
  return vec.map((v) => (v > 0 ? 1 : 0));
}

function quantizeInt8(vec) {
  let max = 0;
  for (const v of vec) max = Math.max(max, Math.abs(v));
  max = max || 1;
  return vec.map((v) => Math.max(-128, Math.min(127, Math.round((v / max) * 127))));
}

function packBits(vec, signed) {
  const out = [];
  for (let i = 0; i < vec.length; i += 8) {
    let byte = 0;
    for (let j = 0; j < 8; j++) byte = (byte << 1) | (vec[i + j] > 0 ? 1 : 0);
    out.push(signed ? byte - 128 : byte);
  }
  return out;
}

function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

module.exports = {
  countTokens,
  atLeastOne,
  words,
  replyFor,
  reasoningFor,
  applyLimits,
  embed,
  toBinary01,
  quantizeInt8,
  packBits,
  cosine,
};
