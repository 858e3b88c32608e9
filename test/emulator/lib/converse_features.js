'use strict';
// What a Converse request carries besides the conversation, as Bedrock validates and answers it:
// requestMetadata, guardrailConfig (intervention on a marked input), serviceTier and
// performanceConfig (echoed), cachePoint blocks (cache write on the first call with a prefix,
// reads after), document and image content blocks (the answer names what arrived); and
// ApplyGuardrail (POST /guardrail/{id}/version/{v}/apply) with PII masking and a blocked word.
// Reference: aws-protocol.md section 1.5.
//
// The emulator's guardrail: a text containing BLOCKED_WORD is blocked; e-mail addresses and
// phone numbers are masked ({EMAIL}, {PHONE}) by ApplyGuardrail. A guardrail identifier that
// starts with "nosuch" does not exist (ResourceNotFoundException).

const crypto = require('crypto');
const { awsError, validation } = require('./errors');

const BLOCKED_WORD = 'BLOCKME';
const BLOCKED_MESSAGE = 'Sorry, the model cannot answer this question.';
const METADATA_RE = /^[a-zA-Z0-9\s:_@$#=/+,\-.]*$/;
const GUARDRAIL_ID_RE = /^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail\/[a-z0-9]+))$/;
const GUARDRAIL_VERSION_RE = /^(([1-9][0-9]{0,7})|(DRAFT))$/;
const DOCUMENT_FORMATS = ['pdf', 'csv', 'doc', 'docx', 'xls', 'xlsx', 'html', 'txt', 'md'];
const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'];
const MAX_DOCUMENTS = 5;
const MAX_DOCUMENT_BYTES = 4.5 * 1024 * 1024;
const MAX_IMAGES = 20;
const MAX_IMAGE_BYTES = 3.75 * 1024 * 1024;
const CACHE_MIN_TOKENS = 1024; // a shorter prefix is not cached (no error), as Bedrock does
const CACHE_TTL_MS = { '5m': 5 * 60 * 1000, '1h': 60 * 60 * 1000 };
const EMAIL_RE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const PHONE_RE = /(?:\+\d{1,3}[\s.-]?)?\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b/g;

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function c(value, path, what) {
  return `Value '${show(value)}' at '${path}' failed to satisfy constraint: Member must ${what}`;
}

function coral(errors) {
  const n = errors.length;
  return validation(`${n} validation error${n === 1 ? '' : 's'} detected: ${errors.join('; ')}`);
}

/** Strict base64 (what the SDKs send): Buffer or null. */
function decodeBase64(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  return Buffer.from(s, 'base64');
}

function validateMetadata(md, errors) {
  if (md === undefined || md === null) return;
  if (!isObj(md)) {
    errors.push(c(md, 'requestMetadata', 'be a map'));
    return;
  }
  const keys = Object.keys(md);
  if (keys.length < 1) errors.push(c(md, 'requestMetadata', 'have length greater than or equal to 1'));
  if (keys.length > 16) errors.push(c(md, 'requestMetadata', 'have length less than or equal to 16'));
  for (const k of keys) {
    if (k.length < 1 || k.length > 256 || !METADATA_RE.test(k)) {
      errors.push(c(k, 'requestMetadata', 'satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}'));
    }
    const v = md[k];
    if (typeof v !== 'string') errors.push(c(v, `requestMetadata.${k}`, 'be a string'));
    else if (v.length > 256 || !METADATA_RE.test(v)) {
      errors.push(c(v, `requestMetadata.${k}`, 'satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}'));
    }
  }
}

function validateGuardrailConfig(g, errors) {
  if (g === undefined || g === null) return;
  if (!isObj(g)) {
    errors.push(c(g, 'guardrailConfig', 'be a structure'));
    return;
  }
  if (typeof g.guardrailIdentifier !== 'string') errors.push("Value null at 'guardrailConfig.guardrailIdentifier' failed to satisfy constraint: Member must not be null");
  else if (g.guardrailIdentifier.length > 2048 || !GUARDRAIL_ID_RE.test(g.guardrailIdentifier)) {
    errors.push(c(g.guardrailIdentifier, 'guardrailConfig.guardrailIdentifier', 'satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))'));
  }
  if (typeof g.guardrailVersion !== 'string') errors.push("Value null at 'guardrailConfig.guardrailVersion' failed to satisfy constraint: Member must not be null");
  else if (!GUARDRAIL_VERSION_RE.test(g.guardrailVersion)) {
    errors.push(c(g.guardrailVersion, 'guardrailConfig.guardrailVersion', 'satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))'));
  }
  if (g.trace !== undefined && !['enabled', 'disabled', 'enabled_full'].includes(g.trace)) {
    errors.push(c(g.trace, 'guardrailConfig.trace', 'satisfy enum value set: [enabled, disabled, enabled_full]'));
  }
}

function validateEnums(req, errors) {
  const st = req.serviceTier;
  if (st !== undefined && st !== null) {
    if (!isObj(st)) errors.push(c(st, 'serviceTier', 'be a structure'));
    else if (!['priority', 'default', 'flex', 'reserved'].includes(st.type)) errors.push(c(st.type, 'serviceTier.type', 'satisfy enum value set: [priority, default, flex, reserved]'));
  }
  const pc = req.performanceConfig;
  if (pc !== undefined && pc !== null) {
    if (!isObj(pc)) errors.push(c(pc, 'performanceConfig', 'be a structure'));
    else if (!['standard', 'optimized'].includes(pc.latency)) errors.push(c(pc.latency, 'performanceConfig.latency', 'satisfy enum value set: [standard, optimized]'));
  }
}

function validateCachePoint(cp, path, errors) {
  if (!isObj(cp)) return errors.push(c(cp, path, 'be a structure'));
  if (cp.type !== 'default') errors.push(c(cp.type, `${path}.type`, 'satisfy enum value set: [default]'));
  if (cp.ttl !== undefined && !['5m', '1h'].includes(cp.ttl)) errors.push(c(cp.ttl, `${path}.ttl`, 'satisfy enum value set: [5m, 1h]'));
  return undefined;
}

/** Document and image blocks of the messages: Bedrock's checks, in its words where known. */
function validateMedia(messages) {
  let documents = 0;
  let images = 0;
  for (let i = 0; i < messages.length; i++) {
    const names = new Set();
    for (let j = 0; j < messages[i].content.length; j++) {
      const b = messages[i].content[j];
      const p = `messages.${i + 1}.member.content.${j + 1}.member`;
      if ('cachePoint' in b) {
        const errors = [];
        validateCachePoint(b.cachePoint, `${p}.cachePoint`, errors);
        if (errors.length) return coral(errors);
      }
      if ('document' in b) {
        documents += 1;
        const d = b.document;
        if (!isObj(d)) return coral([c(d, `${p}.document`, 'be a structure')]);
        if (!DOCUMENT_FORMATS.includes(d.format)) return coral([c(d.format, `${p}.document.format`, `satisfy enum value set: [${DOCUMENT_FORMATS.join(', ')}]`)]);
        if (typeof d.name !== 'string' || d.name.length < 1 || d.name.length > 200) return coral([c(d.name, `${p}.document.name`, 'have length between 1 and 200')]);
        if (!/^[A-Za-z0-9\s\-()[\]]+$/.test(d.name) || /\s\s/.test(d.name)) {
          return validation('The document file name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can\'t contain more than one consecutive whitespace character.');
        }
        if (names.has(d.name)) return validation(`The document names must be unique. Duplicate name: ${d.name}`);
        names.add(d.name);
        const bytes = decodeBase64(d.source && d.source.bytes);
        if (!bytes) return validation(`Invalid base64 in messages.${i}.content.${j}.document.source.bytes.`);
        if (bytes.length > MAX_DOCUMENT_BYTES) return validation(`The document ${d.name} exceeds the maximum size of 4.5 MB.`);
        if (d.format === 'pdf' && bytes.subarray(0, 5).toString('latin1') !== '%PDF-') return validation(`The document ${d.name} could not be processed: not a valid pdf file.`);
      }
      if ('image' in b) {
        images += 1;
        const im = b.image;
        if (!isObj(im)) return coral([c(im, `${p}.image`, 'be a structure')]);
        if (!IMAGE_FORMATS.includes(im.format)) return coral([c(im.format, `${p}.image.format`, `satisfy enum value set: [${IMAGE_FORMATS.join(', ')}]`)]);
        const bytes = decodeBase64(im.source && im.source.bytes);
        if (!bytes) return validation(`Invalid base64 in messages.${i}.content.${j}.image.source.bytes.`);
        if (bytes.length > MAX_IMAGE_BYTES) return validation('The image exceeds the maximum size of 3.75 MB.');
      }
    }
  }
  if (documents > MAX_DOCUMENTS) return validation(`Too many documents: the maximum is ${MAX_DOCUMENTS} per request.`);
  if (images > MAX_IMAGES) return validation(`Too many images: the maximum is ${MAX_IMAGES} per request.`);
  return null;
}

/** Validate the members this module owns. Returns an error response or null. */
function validateFeatures(req) {
  const errors = [];
  validateMetadata(req.requestMetadata, errors);
  validateGuardrailConfig(req.guardrailConfig, errors);
  validateEnums(req, errors);
  for (let i = 0; i < (req.system || []).length; i++) {
    const s = req.system[i];
    if (isObj(s) && 'cachePoint' in s) validateCachePoint(s.cachePoint, `system.${i + 1}.member.cachePoint`, errors);
  }
  if (errors.length) return coral(errors);
  const g = req.guardrailConfig;
  if (g && g.guardrailIdentifier.startsWith('nosuch')) {
    return awsError('ResourceNotFoundException', { message: 'The guardrail identifier or version provided in the request does not exist.' });
  }
  return validateMedia(req.messages);
}

/** The text of a simple uncompressed PDF: the strings of its Tj and TJ operators. */
function pdfText(buf) {
  const s = buf.toString('latin1');
  const parts = [];
  const re = /\(((?:\\.|[^\\)])*)\)\s*Tj/g;
  let m;
  while ((m = re.exec(s)) !== null) parts.push(m[1].replace(/\\([()\\])/g, '$1'));
  return parts.join('\n'); // one line of text a Tj
}

/** What the documents and images of a message say, for the answer and the token count. */
function mediaOf(content) {
  const docs = [];
  let imageBytes = 0;
  let images = 0;
  for (const b of content || []) {
    if (!isObj(b)) continue;
    if (isObj(b.document)) {
      const bytes = Buffer.from(b.document.source.bytes, 'base64');
      let text = '';
      if (b.document.format === 'pdf') text = pdfText(bytes);
      else if (['txt', 'md', 'csv', 'html'].includes(b.document.format)) text = bytes.toString('utf8');
      docs.push({ name: b.document.name, format: b.document.format, bytes: bytes.length, text });
    } else if (isObj(b.image)) {
      images += 1;
      imageBytes += Buffer.from(b.image.source.bytes, 'base64').length;
    }
  }
  return { docs, images, imageBytes };
}

/** The sentence the answer starts with when documents or images came along. */
function mediaPreamble(media) {
  const parts = media.docs.map((d) => {
    const words = d.text.replace(/\s+/g, ' ').trim().slice(0, 80);
    return `document "${d.name}" (${d.format}, ${d.bytes} bytes${words ? `: ${words}` : ''})`;
  });
  if (media.images) parts.push(`${media.images} image${media.images === 1 ? '' : 's'} (${media.imageBytes} bytes)`);
  return parts.length ? `I read ${parts.join(' and ')}. ` : '';
}

/**
 * The cached prefix of the system prompt: the text before its first cachePoint, with the TTL.
 * cache: the emulator's Map of prefix hash -> expiry. Returns {read, write} token counts.
 */
function cacheUsage(req, modelId, cache, now) {
  const system = req.system || [];
  const idx = system.findIndex((s) => isObj(s) && 'cachePoint' in s);
  if (idx < 0) return { read: 0, write: 0 };
  const prefix = system.slice(0, idx).map((s) => (typeof s.text === 'string' ? s.text : '')).join('\n');
  const tokens = Math.ceil(prefix.length / 4);
  if (tokens < CACHE_MIN_TOKENS) return { read: 0, write: 0 };
  const ttl = system[idx].cachePoint.ttl || '5m';
  const key = crypto.createHash('sha256').update(`${modelId}\n${ttl}\n${prefix}`).digest('hex');
  const hit = cache.get(key);
  cache.set(key, now + CACHE_TTL_MS[ttl]);
  if (hit !== undefined && hit > now) return { read: tokens, write: 0 };
  return { read: 0, write: tokens };
}

/** Whether the guardrail of the request blocks its input (the marked word in a user message). */
function guardrailBlocks(req) {
  if (!isObj(req.guardrailConfig)) return null;
  for (const m of req.messages) {
    if (m.role !== 'user') continue;
    for (const b of m.content) {
      if (isObj(b) && typeof b.text === 'string' && b.text.includes(BLOCKED_WORD)) return BLOCKED_WORD;
    }
  }
  return null;
}

/** The trace of an intervention, as Converse returns it when trace is enabled. */
function guardrailTrace(req, word) {
  const id = req.guardrailConfig.guardrailIdentifier;
  return {
    guardrail: {
      inputAssessment: { [id]: { wordPolicy: { customWords: [{ match: word, action: 'BLOCKED', detected: true }], managedWordLists: [] } } },
      actionReason: 'Guardrail blocked.',
    },
  };
}

/**
 * Shape a Converse answer (converse.js's out) for these features: documents named in the text,
 * guardrail intervention, cache token usage, serviceTier and performanceConfig echoed.
 * ctx: {model, promptCache (Map), now}. opts.structured: the answer is structured output or a
 * tool call, which must stay what the schema says (the documents are counted, not named).
 */
function shapeConverse(req, out, ctx, opts = {}) {
  const word = guardrailBlocks(req);
  if (word) {
    out.output.message.content = [{ text: BLOCKED_MESSAGE }];
    out.stopReason = 'guardrail_intervened';
    out.usage.outputTokens = 0;
    if (req.guardrailConfig.trace === 'enabled' || req.guardrailConfig.trace === 'enabled_full') out.trace = guardrailTrace(req, word);
  } else {
    const last = [...req.messages].reverse().find((m) => m.role === 'user');
    const media = mediaOf(last.content);
    const pre = mediaPreamble(media);
    if (pre) {
      out.usage.inputTokens += media.docs.reduce((n, d) => n + Math.ceil(Math.max(d.text.length, d.bytes / 8) / 4), 0) + media.images * 1600;
    }
    if (pre && !opts.structured) {
      const blocks = out.output.message.content;
      const t = blocks.find((b) => typeof b.text === 'string');
      if (t) t.text = pre + t.text;
      else blocks.push({ text: pre.trim() });
      out.usage.outputTokens += Math.ceil(pre.length / 4);
    }
  }
  const cu = cacheUsage(req, ctx.model.id, ctx.promptCache, ctx.now);
  if (cu.read || cu.write || (req.system || []).some((s) => isObj(s) && 'cachePoint' in s)) {
    out.usage.inputTokens = Math.max(1, out.usage.inputTokens - cu.read - cu.write);
    out.usage.cacheReadInputTokens = cu.read;
    out.usage.cacheWriteInputTokens = cu.write;
  }
  out.usage.totalTokens = out.usage.inputTokens + out.usage.outputTokens + (out.usage.cacheReadInputTokens || 0) + (out.usage.cacheWriteInputTokens || 0);
  if (isObj(req.serviceTier)) out.serviceTier = { type: req.serviceTier.type };
  if (isObj(req.performanceConfig)) out.performanceConfig = { latency: req.performanceConfig.latency };
}

/** What the request log (stats.last) shows of these members, for tests: never document bytes. */
function summaryOf(req) {
  const out = {};
  if (isObj(req.requestMetadata)) out.requestMetadata = req.requestMetadata;
  if (isObj(req.guardrailConfig)) out.guardrail = `${req.guardrailConfig.guardrailIdentifier}:${req.guardrailConfig.guardrailVersion}${req.guardrailConfig.trace ? `:${req.guardrailConfig.trace}` : ''}`;
  if (isObj(req.serviceTier)) out.serviceTier = req.serviceTier.type;
  if (isObj(req.performanceConfig)) out.latency = req.performanceConfig.latency;
  const cp = (req.system || []).find((b) => isObj(b) && isObj(b.cachePoint));
  if (cp) out.cachePoint = cp.cachePoint.ttl || 'default';
  const tools = isObj(req.toolConfig) && Array.isArray(req.toolConfig.tools) ? req.toolConfig.tools : [];
  const tcp = tools.find((b) => isObj(b) && isObj(b.cachePoint));
  if (tcp) out.toolsCachePoint = tcp.cachePoint.ttl || 'default';
  return out;
}

/** POST /guardrail/{id}/version/{v}/apply: route for emulator.js's classify, or null. */
function classifyGuardrail(method, path) {
  const m = /^\/guardrail\/([^/]+)\/version\/([^/]+)\/apply$/.exec(path);
  if (!m || method !== 'POST') return null;
  let id = m[1];
  let version = m[2];
  try {
    id = decodeURIComponent(id);
    version = decodeURIComponent(version);
  } catch {
    /* left as sent */
  }
  return { name: 'apply_guardrail', guardrailIdentifier: id, guardrailVersion: version };
}

/** ApplyGuardrail: the blocked word blocks; e-mail addresses and phone numbers are masked. */
function handleApplyGuardrail(route, body, elapsed) {
  const errors = [];
  if (!GUARDRAIL_ID_RE.test(route.guardrailIdentifier) || route.guardrailIdentifier.length > 2048) {
    errors.push(c(route.guardrailIdentifier, 'guardrailIdentifier', 'satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))'));
  }
  if (!GUARDRAIL_VERSION_RE.test(route.guardrailVersion)) errors.push(c(route.guardrailVersion, 'guardrailVersion', 'satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))'));
  let req;
  try {
    req = JSON.parse(body.toString('utf8') || '{}');
  } catch (e) {
    return validation(`The request body is not valid JSON: ${e.message}`);
  }
  if (!isObj(req)) return validation('The request body must be a JSON object.');
  if (req.source === undefined) errors.push("Value null at 'source' failed to satisfy constraint: Member must not be null");
  else if (!['INPUT', 'OUTPUT'].includes(req.source)) errors.push(c(req.source, 'source', 'satisfy enum value set: [INPUT, OUTPUT]'));
  if (req.outputScope !== undefined && !['INTERVENTIONS', 'FULL'].includes(req.outputScope)) errors.push(c(req.outputScope, 'outputScope', 'satisfy enum value set: [INTERVENTIONS, FULL]'));
  if (!Array.isArray(req.content)) errors.push("Value null at 'content' failed to satisfy constraint: Member must not be null");
  else {
    req.content.forEach((b, i) => {
      if (!isObj(b) || !isObj(b.text) || typeof b.text.text !== 'string') errors.push(c(b, `content.${i + 1}.member`, 'be a union with exactly one member set'));
    });
  }
  if (errors.length) return coral(errors);
  if (route.guardrailIdentifier.startsWith('nosuch')) {
    return awsError('ResourceNotFoundException', { message: 'The guardrail identifier or version provided in the request does not exist.' });
  }

  const text = req.content.map((b) => b.text.text).join('\n');
  const pii = [];
  for (const [re, type] of [[EMAIL_RE, 'EMAIL'], [PHONE_RE, 'PHONE']]) {
    for (const m of text.matchAll(re)) pii.push({ match: m[0], type, action: 'ANONYMIZED', detected: true });
  }
  const blocked = text.includes(BLOCKED_WORD);
  const assessment = {};
  if (pii.length) assessment.sensitiveInformationPolicy = { piiEntities: pii, regexes: [] };
  if (blocked) assessment.wordPolicy = { customWords: [{ match: BLOCKED_WORD, action: 'BLOCKED', detected: true }], managedWordLists: [] };
  const units = Math.max(1, Math.ceil(text.length / 1000));
  const usage = {
    topicPolicyUnits: 0,
    contentPolicyUnits: 0,
    wordPolicyUnits: units,
    sensitiveInformationPolicyUnits: units,
    sensitiveInformationPolicyFreeUnits: 0,
    contextualGroundingPolicyUnits: 0,
  };
  const intervened = blocked || pii.length > 0;
  let outputs = [];
  if (blocked) outputs = [{ text: req.source === 'INPUT' ? BLOCKED_MESSAGE : 'Sorry, the model cannot answer this question.' }];
  else if (pii.length) outputs = req.content.map((b) => ({ text: b.text.text.replace(EMAIL_RE, '{EMAIL}').replace(PHONE_RE, '{PHONE}') }));
  else if (req.outputScope === 'FULL') outputs = req.content.map((b) => ({ text: b.text.text }));
  assessment.invocationMetrics = {
    guardrailProcessingLatency: elapsed(),
    usage,
    guardrailCoverage: { textCharacters: { guarded: text.length, total: text.length } },
  };
  const out = {
    usage,
    action: intervened ? 'GUARDRAIL_INTERVENED' : 'NONE',
    actionReason: blocked ? 'Guardrail blocked.' : pii.length ? 'Guardrail masked.' : 'No action.',
    outputs,
    assessments: [assessment],
    guardrailCoverage: { textCharacters: { guarded: text.length, total: text.length } },
  };
  return { status: 200, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(out)) };
}

module.exports = {
  validateFeatures,
  shapeConverse,
  summaryOf,
  classifyGuardrail,
  handleApplyGuardrail,
  pdfText,
  mediaOf,
  BLOCKED_WORD,
  BLOCKED_MESSAGE,
  CACHE_MIN_TOKENS,
};
