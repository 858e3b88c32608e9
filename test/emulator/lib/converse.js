'use strict';
// Converse (POST /model/{modelId}/converse): validation and deterministic output.
// Reference: aws-protocol.md section 1.5.

const { validation } = require('./errors');
const tg = require('./textgen');
const structured = require('./structured');
const features = require('./converse_features');

const NOT_CHAT = "This action doesn't support the model that you provided. Try again with a supported text or chat model.";
const TOO_LONG = 'Input is too long for requested model.';

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v) {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function coral(errors) {
  const n = errors.length;
  return validation(`${n} validation error${n === 1 ? '' : 's'} detected: ${errors.join('; ')}`);
}

function constraint(value, path, what) {
  return `Value '${show(value)}' at '${path}' failed to satisfy constraint: Member must ${what}`;
}

function parseJsonBody(body) {
  if (!body || body.length === 0) return { value: {} };
  try {
    return { value: JSON.parse(body.toString('utf8')) };
  } catch (e) {
    return { error: validation(`The request body is not valid JSON: ${e.message}`) };
  }
}

/** Text of a content-block array (text blocks; other blocks contribute their JSON). */
function blocksText(content, { textOnly = false } = {}) {
  const parts = [];
  for (const b of content || []) {
    if (!isObj(b)) continue;
    if (typeof b.text === 'string') parts.push(b.text);
    else if (!textOnly) parts.push(JSON.stringify(b));
  }
  return parts.join('\n');
}

/**
 * Validate a Converse request body (already parsed). Returns {error} or {req}.
 * Structural (Bedrock-specific) errors come first, then the Coral constraint list.
 */
function validateConverse(req, model) {
  if (!isObj(req)) return { error: validation('The request body must be a JSON object.') };
  const errors = [];
  const startUser = 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';

  const { messages } = req;
  if (messages === undefined || messages === null) return { error: validation(startUser) };
  if (!Array.isArray(messages)) return { error: coral([constraint(messages, 'messages', 'be a list')]) };
  if (messages.length === 0) return { error: validation(startUser) };

  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const p = `messages.${i + 1}.member`;
    if (!isObj(m)) {
      errors.push(constraint(m, p, 'be a structure'));
      continue;
    }
    if (m.role === undefined || m.role === null) errors.push(`Value null at '${p}.role' failed to satisfy constraint: Member must not be null`);
    else if (!['user', 'assistant'].includes(m.role)) errors.push(constraint(m.role, `${p}.role`, 'satisfy enum value set: [user, assistant]'));
    if (m.content === undefined || m.content === null) errors.push(`Value null at '${p}.content' failed to satisfy constraint: Member must not be null`);
    else if (!Array.isArray(m.content)) errors.push(constraint(m.content, `${p}.content`, 'be a list'));
  }
  if (errors.length) return { error: coral(errors) };

  if (messages[0].role !== 'user') return { error: validation(startUser) };
  for (let i = 1; i < messages.length; i++) {
    if (messages[i].role === messages[i - 1].role) {
      return {
        error: validation('A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.'),
      };
    }
  }
  for (let i = 0; i < messages.length; i++) {
    const content = messages[i].content;
    if (content.length === 0) {
      return { error: validation(`The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`) };
    }
    for (let j = 0; j < content.length; j++) {
      const b = content[j];
      if (!isObj(b) || Object.keys(b).length === 0) {
        return { error: coral([constraint(b, `messages.${i + 1}.member.content.${j + 1}.member`, 'be a union with exactly one member set')]) };
      }
      if ('text' in b) {
        if (typeof b.text !== 'string') {
          return { error: coral([constraint(b.text, `messages.${i + 1}.member.content.${j + 1}.member.text`, 'be a string')]) };
        }
        if (b.text.trim() === '') {
          return { error: validation(`The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`) };
        }
      }
    }
  }

  // system
  if (req.system !== undefined && req.system !== null) {
    if (!Array.isArray(req.system)) return { error: coral([constraint(req.system, 'system', 'be a list')]) };
    for (let i = 0; i < req.system.length; i++) {
      const s = req.system[i];
      if (!isObj(s) || Object.keys(s).length === 0) {
        return { error: coral([constraint(s, `system.${i + 1}.member`, 'be a union with exactly one member set')]) };
      }
      if ('text' in s) {
        if (typeof s.text !== 'string') return { error: coral([constraint(s.text, `system.${i + 1}.member.text`, 'be a string')]) };
        if (s.text.trim() === '') {
          return { error: validation(`The text field in the SystemContentBlock object at system.${i} is blank. Add text to the text field, and try again.`) };
        }
      }
    }
  }

  // inferenceConfig
  const ic = req.inferenceConfig;
  if (ic !== undefined && ic !== null) {
    if (!isObj(ic)) return { error: coral([constraint(ic, 'inferenceConfig', 'be a structure')]) };
    if (ic.maxTokens !== undefined && ic.maxTokens !== null) {
      if (typeof ic.maxTokens !== 'number' || !Number.isInteger(ic.maxTokens)) {
        errors.push(constraint(ic.maxTokens, 'inferenceConfig.maxTokens', 'be an integer'));
      } else if (ic.maxTokens < 1) {
        errors.push(constraint(ic.maxTokens, 'inferenceConfig.maxTokens', 'have value greater than or equal to 1'));
      }
    }
    for (const k of ['temperature', 'topP']) {
      const v = ic[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) errors.push(constraint(v, `inferenceConfig.${k}`, 'be a number'));
      else if (v < 0) errors.push(constraint(v, `inferenceConfig.${k}`, 'have value greater than or equal to 0'));
      else if (v > 1) errors.push(constraint(v, `inferenceConfig.${k}`, 'have value less than or equal to 1'));
    }
    const ss = ic.stopSequences;
    if (ss !== undefined && ss !== null) {
      if (!Array.isArray(ss)) errors.push(constraint(ss, 'inferenceConfig.stopSequences', 'be a list'));
      else {
        if (ss.length > 2500) errors.push(constraint(ss, 'inferenceConfig.stopSequences', 'have length less than or equal to 2500'));
        ss.forEach((s, i) => {
          if (typeof s !== 'string') errors.push(constraint(s, `inferenceConfig.stopSequences.${i + 1}.member`, 'be a string'));
          else if (s.length < 1) errors.push(constraint(s, `inferenceConfig.stopSequences.${i + 1}.member`, 'have length greater than or equal to 1'));
        });
      }
    }
  }
  if (req.additionalModelResponseFieldPaths != null && !Array.isArray(req.additionalModelResponseFieldPaths)) {
    errors.push(constraint(req.additionalModelResponseFieldPaths, 'additionalModelResponseFieldPaths', 'be a list'));
  }
  if (errors.length) return { error: coral(errors) };

  if (model.maxOutputTokens && ic && Number.isInteger(ic.maxTokens) && ic.maxTokens > model.maxOutputTokens) {
    return {
      error: validation(
        `The maximum tokens you requested exceeds the model limit of ${model.maxOutputTokens}. Try again with a maximum tokens value that is lower than ${model.maxOutputTokens}.`,
      ),
    };
  }
  // requestMetadata, guardrailConfig, serviceTier, performanceConfig, cache points, media
  const fe = features.validateFeatures(req);
  if (fe) return { error: fe };
  return { req };
}

/** Generate reply content for chat families. Returns {content[], stopReason, stopSequence, outputTokens, text, reasoning}. */
function generate(model, lastUserText, maxTokens, stopSequences) {
  const reply = tg.replyFor(lastUserText);
  if (model.family === 'gpt-oss') {
    let reasoning = tg.reasoningFor(lastUserText);
    const rt = tg.countTokens(reasoning);
    if (rt >= maxTokens) {
      reasoning = reasoning.slice(0, maxTokens * 4);
      return { reasoning, text: null, stopReason: 'max_tokens', stopSequence: null, outputTokens: tg.atLeastOne(tg.countTokens(reasoning)) };
    }
    const lim = tg.applyLimits(reply, maxTokens - rt, stopSequences);
    return {
      reasoning,
      text: lim.text,
      stopReason: lim.reason,
      stopSequence: lim.stopSequence,
      outputTokens: tg.atLeastOne(rt + tg.countTokens(lim.text)),
    };
  }
  const lim = tg.applyLimits(reply, maxTokens, stopSequences);
  return {
    reasoning: null,
    text: lim.text,
    stopReason: lim.reason,
    stopSequence: lim.stopSequence,
    outputTokens: tg.atLeastOne(tg.countTokens(lim.text)),
  };
}

/**
 * Handle Converse. ctx: {model, body (Buffer), elapsed() -> ms}
 * Returns a response {status, headers, body, meta}.
 */
function handleConverse(ctx) {
  const { model } = ctx;
  if (model.family === 'titan-embed' || model.family === 'cohere-embed') return validation(NOT_CHAT);
  const parsed = parseJsonBody(ctx.body);
  if (parsed.error) return parsed.error;
  const v = validateConverse(parsed.value, model);
  if (v.error) return v.error;
  const req = v.req;

  const systemText = (req.system || []).map((s) => (typeof s.text === 'string' ? s.text : '')).join('\n');
  let inputChars = systemText.length;
  // documents and images are counted by converse_features.shapeConverse, not as base64 text
  for (const m of req.messages) inputChars += blocksText(m.content.filter((b) => !(b && (b.document || b.image || b.cachePoint)))).length;
  const inputTokens = tg.atLeastOne(Math.ceil(inputChars / 4));
  if (inputTokens > model.contextTokens) return validation(TOO_LONG);

  let last = null;
  for (let i = req.messages.length - 1; i >= 0; i--) {
    if (req.messages[i].role === 'user') {
      last = req.messages[i];
      break;
    }
  }
  let lastText = blocksText(last.content, { textOnly: true });
  if (!lastText) lastText = blocksText(last.content.filter((b) => !(b && (b.document || b.image))));

  const ic = req.inferenceConfig || {};
  const maxTokens = Number.isInteger(ic.maxTokens) ? ic.maxTokens : model.defaultMaxTokens;
  // structured output and forced tool use (structured.js)
  const sp = structured.parseRequest(req, model, lastText);
  if (sp.error) return sp.error;
  // a structured answer reads the documents of the message too (the text of a simple PDF)
  const docText = sp.mode ? features.mediaOf(last.content).docs.map((d) => d.text).filter(Boolean).join('\n') : '';
  const g = sp.mode
    ? structured.respond(sp, docText ? `${lastText}\n${docText}` : lastText, systemText, maxTokens)
    : generate(model, lastText, maxTokens, ic.stopSequences || []);

  const content = g.content || [];
  if (g.reasoning != null) content.push({ reasoningContent: { reasoningText: { text: g.reasoning } } });
  if (g.text != null) content.push({ text: g.text });

  const out = {
    output: { message: { role: 'assistant', content } },
    stopReason: g.stopReason,
    usage: { inputTokens, outputTokens: g.outputTokens, totalTokens: inputTokens + g.outputTokens },
    metrics: { latencyMs: ctx.elapsed() },
  };
  features.shapeConverse(req, out, ctx, { structured: Boolean(sp.mode) });
  const paths = req.additionalModelResponseFieldPaths;
  if (Array.isArray(paths) && paths.includes('/stop_sequence') && model.family === 'anthropic') {
    out.additionalModelResponseFields = { stop_sequence: g.stopSequence };
  }
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
    body: Buffer.from(JSON.stringify(out)),
    meta: {
      inputTokens: out.usage.inputTokens,
      outputTokens: out.usage.outputTokens,
      structured: sp.mode || null,
      features: features.summaryOf(req),
    },
  };
}

module.exports = { handleConverse, validateConverse, generate, parseJsonBody, blocksText, NOT_CHAT, TOO_LONG };
