'use strict';
// InvokeModel (POST /model/{modelId}/invoke) with model-native bodies (aws-protocol.md section 2),
// and CountTokens (POST /model/{modelId}/count-tokens, section 1.9).

const { validation, malformed } = require('./errors');
const tg = require('./textgen');
const { typeName, Violations, parseNative, ok, tokenHeaders, idFrom } = require('./native');
const { invokeTitanEmbed, invokeCohereEmbed } = require('./embeddings');
const { generate, validateConverse, blocksText, TOO_LONG } = require('./converse');

// ---- gpt-oss (OpenAI chat completions) -------------------------------------------------------

function openaiContentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof p.text === 'string' ? p.text : ''))
      .filter(Boolean)
      .join('\n');
  }
  return '';
}

function invokeGptOss(ctx, req) {
  const { model } = ctx;
  const v = new Violations();
  v.keys(req, '#', null, ['messages']);
  if (Array.isArray(req.messages)) {
    if (req.messages.length === 0) v.add('#/messages: expected minimum item count: 1, found: 0');
    req.messages.forEach((m, i) => {
      const p = `#/messages/${i}`;
      if (!v.type(m, p, 'JSONObject')) return;
      v.keys(m, p, null, ['role', 'content']);
      if ('role' in m && !['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role)) {
        v.add(`${p}/role: ${JSON.stringify(m.role)} is not a valid enum value`);
      }
      if ('content' in m && typeof m.content !== 'string' && !Array.isArray(m.content)) {
        v.add(`${p}/content: expected type: String or JSONArray, found: ${typeName(m.content)}`);
      }
    });
  } else if ('messages' in req) v.type(req.messages, '#/messages', 'JSONArray');
  if ('model' in req && req.model !== model.id && req.model !== ctx.modelIdentifier) {
    v.add(`#/model: ${JSON.stringify(req.model)} does not match the model ID in the request URL`);
  }
  if ('stream' in req && v.type(req.stream, '#/stream', 'Boolean') && req.stream === true) {
    v.add('#/stream: true is not supported by InvokeModel (use InvokeModelWithResponseStream)');
  }
  for (const k of ['max_completion_tokens', 'max_tokens']) {
    if (k in req && v.type(req[k], `#/${k}`, 'Integer')) v.range(req[k], `#/${k}`, 1, null);
  }
  if ('temperature' in req && v.type(req.temperature, '#/temperature', 'Number')) v.range(req.temperature, '#/temperature', 0, 2);
  if ('top_p' in req && v.type(req.top_p, '#/top_p', 'Number')) v.range(req.top_p, '#/top_p', 0, 1);
  let stops = [];
  if ('stop' in req && req.stop !== null) {
    if (typeof req.stop === 'string') stops = [req.stop];
    else if (Array.isArray(req.stop)) {
      stops = req.stop;
      req.stop.forEach((s, i) => v.type(s, `#/stop/${i}`, 'String'));
    } else v.add(`#/stop: expected type: String or JSONArray, found: ${typeName(req.stop)}`);
  }
  if (v.any) return v.response();

  let inputChars = 0;
  let last = '';
  for (const m of req.messages) {
    const t = openaiContentText(m.content);
    inputChars += t.length;
    if (m.role === 'user') last = t;
  }
  const inputTokens = tg.atLeastOne(Math.ceil(inputChars / 4));
  if (inputTokens > model.contextTokens) return validation(TOO_LONG);
  const maxTokens = req.max_completion_tokens ?? req.max_tokens ?? model.defaultMaxTokens;
  const g = generate(model, last, maxTokens, stops);
  const content = `<reasoning>${g.reasoning}</reasoning>${g.text ?? ''}`;
  const latency = ctx.elapsed();
  return ok(
    {
      id: idFrom('chatcmpl-', ctx.requestId, 24),
      object: 'chat.completion',
      created: Math.floor(ctx.now / 1000),
      model: model.id,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content },
          finish_reason: g.stopReason === 'max_tokens' ? 'length' : 'stop',
        },
      ],
      usage: { prompt_tokens: inputTokens, completion_tokens: g.outputTokens, total_tokens: inputTokens + g.outputTokens },
    },
    { inputTokens, outputTokens: g.outputTokens },
    tokenHeaders(inputTokens, g.outputTokens, latency),
  );
}

// ---- Anthropic messages ----------------------------------------------------------------------

const ANTHROPIC_KEYS = [
  'anthropic_version',
  'anthropic_beta',
  'max_tokens',
  'system',
  'messages',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'tools',
  'tool_choice',
  'thinking',
  'metadata',
];

function anthropicText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => {
      if (!b || typeof b !== 'object') return '';
      if (typeof b.text === 'string') return b.text;
      return b.type === 'text' ? '' : JSON.stringify(b);
    })
    .filter(Boolean)
    .join('\n');
}

function validateAnthropic(req, model, v) {
  v.keys(req, '#', ANTHROPIC_KEYS, ['anthropic_version', 'max_tokens', 'messages']);
  if ('anthropic_version' in req && v.type(req.anthropic_version, '#/anthropic_version', 'String') && req.anthropic_version !== 'bedrock-2023-05-31') {
    v.add(`#/anthropic_version: ${req.anthropic_version} is not a valid enum value`);
  }
  if ('max_tokens' in req && v.type(req.max_tokens, '#/max_tokens', 'Integer')) v.range(req.max_tokens, '#/max_tokens', 1, null);
  if ('messages' in req && v.type(req.messages, '#/messages', 'JSONArray')) {
    if (req.messages.length === 0) v.add('#/messages: expected minimum item count: 1, found: 0');
    req.messages.forEach((m, i) => {
      const p = `#/messages/${i}`;
      if (!v.type(m, p, 'JSONObject')) return;
      v.keys(m, p, ['role', 'content'], ['role', 'content']);
      if ('role' in m && !['user', 'assistant'].includes(m.role)) v.add(`${p}/role: ${m.role} is not a valid enum value`);
      if ('content' in m) {
        if (typeof m.content === 'string') {
          if (m.content.length === 0) v.add(`${p}/content: expected minLength: 1, actual: 0`);
        } else if (Array.isArray(m.content)) {
          m.content.forEach((b, j) => {
            const bp = `${p}/content/${j}`;
            if (!v.type(b, bp, 'JSONObject')) return;
            v.keys(b, bp, null, ['type']);
            if (b.type === 'text') {
              if (!('text' in b)) v.add(`${bp}: required key [text] not found`);
              else if (v.type(b.text, `${bp}/text`, 'String') && b.text.length === 0) v.add(`${bp}/text: expected minLength: 1, actual: 0`);
            }
          });
        } else v.add(`${p}/content: expected type: String or JSONArray, found: ${typeName(m.content)}`);
      }
    });
  }
  if ('system' in req && typeof req.system !== 'string' && !Array.isArray(req.system)) {
    v.add(`#/system: expected type: String or JSONArray, found: ${typeName(req.system)}`);
  }
  if ('temperature' in req && v.type(req.temperature, '#/temperature', 'Number')) v.range(req.temperature, '#/temperature', 0, 1);
  if ('top_p' in req && v.type(req.top_p, '#/top_p', 'Number')) v.range(req.top_p, '#/top_p', 0, 1);
  if ('top_k' in req && v.type(req.top_k, '#/top_k', 'Integer')) v.range(req.top_k, '#/top_k', 0, null);
  if ('stop_sequences' in req && v.type(req.stop_sequences, '#/stop_sequences', 'JSONArray')) {
    req.stop_sequences.forEach((s, i) => v.type(s, `#/stop_sequences/${i}`, 'String'));
  }
}

function invokeAnthropic(ctx, req) {
  const { model } = ctx;
  const v = new Violations();
  validateAnthropic(req, model, v);
  if (v.any) return v.response();
  if (model.maxOutputTokens && req.max_tokens > model.maxOutputTokens) {
    return validation(`max_tokens: ${req.max_tokens} > ${model.maxOutputTokens}, which is the maximum allowed number of output tokens for ${model.apiName}`);
  }
  if (req.messages[0].role !== 'user') return validation('messages: first message must use the "user" role');
  for (let i = 1; i < req.messages.length; i++) {
    if (req.messages[i].role === req.messages[i - 1].role) {
      return validation(`messages: roles must alternate between "user" and "assistant", but found multiple "${req.messages[i].role}" roles in a row`);
    }
  }
  const inputTokens = anthropicInputTokens(req);
  if (inputTokens > model.contextTokens) return validation(`prompt is too long: ${inputTokens} tokens > ${model.contextTokens} maximum`);
  let last = '';
  for (const m of req.messages) if (m.role === 'user') last = anthropicText(m.content);
  const g = generate(model, last, req.max_tokens, req.stop_sequences || []);
  const latency = ctx.elapsed();
  return ok(
    {
      id: idFrom('msg_bdrk_', ctx.requestId, 24),
      type: 'message',
      role: 'assistant',
      model: model.apiName,
      content: [{ type: 'text', text: g.text }],
      stop_reason: g.stopReason,
      stop_sequence: g.stopSequence,
      usage: { input_tokens: inputTokens, output_tokens: g.outputTokens },
    },
    { inputTokens, outputTokens: g.outputTokens },
    tokenHeaders(inputTokens, g.outputTokens, latency),
  );
}

function anthropicInputTokens(req) {
  let chars = 0;
  if (typeof req.system === 'string') chars += req.system.length;
  else if (Array.isArray(req.system)) chars += req.system.map((b) => (b && typeof b.text === 'string' ? b.text : '')).join('\n').length;
  for (const m of req.messages || []) chars += anthropicText(m && m.content).length;
  return tg.atLeastOne(Math.ceil(chars / 4));
}

// ---- Titan text ------------------------------------------------------------------------------

function invokeTitanText(ctx, req) {
  const { model } = ctx;
  const v = new Violations();
  v.keys(req, '#', ['inputText', 'textGenerationConfig'], ['inputText']);
  if ('inputText' in req && v.type(req.inputText, '#/inputText', 'String') && req.inputText.length === 0) {
    v.add('#/inputText: expected minLength: 1, actual: 0');
  }
  const cfg = req.textGenerationConfig;
  if (cfg !== undefined && v.type(cfg, '#/textGenerationConfig', 'JSONObject')) {
    v.keys(cfg, '#/textGenerationConfig', ['maxTokenCount', 'stopSequences', 'temperature', 'topP'], []);
    if ('maxTokenCount' in cfg && v.type(cfg.maxTokenCount, '#/textGenerationConfig/maxTokenCount', 'Integer')) {
      v.range(cfg.maxTokenCount, '#/textGenerationConfig/maxTokenCount', 0, model.maxOutputTokens);
    }
    for (const k of ['temperature', 'topP']) {
      if (k in cfg && v.type(cfg[k], `#/textGenerationConfig/${k}`, 'Number')) v.range(cfg[k], `#/textGenerationConfig/${k}`, 0, 1);
    }
    if ('stopSequences' in cfg && v.type(cfg.stopSequences, '#/textGenerationConfig/stopSequences', 'JSONArray')) {
      cfg.stopSequences.forEach((s, i) => v.type(s, `#/textGenerationConfig/stopSequences/${i}`, 'String'));
    }
  }
  if (v.any) return v.response();
  const inputTokens = tg.atLeastOne(tg.countTokens(req.inputText));
  if (inputTokens > model.contextTokens) return validation(TOO_LONG);
  const c = cfg || {};
  const maxTokens = c.maxTokenCount ?? model.defaultMaxTokens;
  const g = generate(model, req.inputText, maxTokens, c.stopSequences || []);
  const outputTokens = g.text.length ? tg.countTokens(g.text) : 0;
  const reason = { end_turn: 'FINISH', max_tokens: 'LENGTH', stop_sequence: 'STOP_CRITERIA_MET' }[g.stopReason];
  const latency = ctx.elapsed();
  return ok(
    { inputTextTokenCount: inputTokens, results: [{ tokenCount: outputTokens, outputText: g.text, completionReason: reason }] },
    { inputTokens, outputTokens },
    tokenHeaders(inputTokens, outputTokens, latency),
  );
}

// ---- dispatch --------------------------------------------------------------------------------

const FAMILY_HANDLERS = {
  'gpt-oss': invokeGptOss,
  anthropic: invokeAnthropic,
  'titan-text': invokeTitanText,
  'titan-embed': invokeTitanEmbed,
  'cohere-embed': invokeCohereEmbed,
};

/** ctx: {model, modelIdentifier, body, requestId, now, elapsed()} */
function handleInvoke(ctx) {
  const parsed = parseNative(ctx.body);
  if (parsed.error) return parsed.error;
  return FAMILY_HANDLERS[ctx.model.family](ctx, parsed.value);
}

/** CountTokens: Anthropic models only. */
function handleCountTokens(ctx) {
  const { model } = ctx;
  if (model.family !== 'anthropic') return validation("The provided model doesn't support counting tokens.");
  let req;
  try {
    req = JSON.parse((ctx.body || Buffer.alloc(0)).toString('utf8'));
  } catch (e) {
    return validation(`The request body is not valid JSON: ${e.message}`);
  }
  const input = req && req.input;
  if (!input || typeof input !== 'object') {
    return validation("1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null");
  }
  let inputTokens;
  if (input.converse) {
    const v = validateConverse(input.converse, model);
    if (v.error) return v.error;
    let chars = (input.converse.system || []).map((s) => (typeof s.text === 'string' ? s.text : '')).join('\n').length;
    for (const m of input.converse.messages) chars += blocksText(m.content).length;
    inputTokens = tg.atLeastOne(Math.ceil(chars / 4));
  } else if (input.invokeModel) {
    let inner;
    try {
      inner = JSON.parse(Buffer.from(String(input.invokeModel.body || ''), 'base64').toString('utf8'));
    } catch {
      return malformed('the request body is not valid JSON');
    }
    if (typeName(inner) !== 'JSONObject') return malformed(`#: expected type: JSONObject, found: ${typeName(inner)}`);
    const v = new Violations();
    validateAnthropic(inner, model, v);
    if (v.any) return v.response();
    inputTokens = anthropicInputTokens(inner);
  } else {
    return validation('The input must specify exactly one of converse or invokeModel.');
  }
  return ok({ inputTokens }, { inputTokens, outputTokens: null });
}

module.exports = { handleInvoke, handleCountTokens };
