'use strict';
// Structured output and forced tool use for Converse (aws-protocol.md 1.5.1):
//  * outputConfig.textFormat {type: "json_schema", structure: {jsonSchema: {schema: "<JSON text>", name}}}
//    -> the answer is one text block holding JSON that conforms to the schema;
//  * toolConfig with toolChoice {tool: {name}} (or {any: {}}) -> one toolUse block whose input
//    conforms to the tool's inputSchema.json, stopReason "tool_use".
// Values are derived from the last user message so that tests can check them (README,
// "Structured output"): a member `k` takes the text after "k:" (or "k =") up to ";", ". " or a
// line end; an enum takes the value that the message mentions; a boolean is false when the message
// says "not", "no", "never" or "false"; an array takes a comma-separated list.
// Markers in the user message:
//  * "#no-native"   -> outputConfig is refused with a ValidationException (as by models that
//                      lack structured output);
//  * "#bad-first"   -> the first answer does not conform (its first required member has the
//                      wrong type: a number as a string, a string as a number); an answer to a
//                      request whose system prompt says "did not conform to the schema" is right;
//  * "#bad-always"  -> every answer is wrong that way.
// outputConfig wants closed objects: every object schema with additionalProperties false.
// Models: gpt-oss takes outputConfig; Anthropic Claude 3.x and Titan refuse it; Titan Text refuses
// toolConfig. The refusal messages are ours (Bedrock's exact texts vary by model).

const crypto = require('crypto');
const { validation } = require('./errors');
const tg = require('./textgen');

const NO_TOOLS = "This model doesn't support tool use.";
const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function supportsOutputFormat(model) {
  return model.family === 'gpt-oss';
}

function refusalFor(model) {
  return validation(`The model ${model.id} doesn't support structured output: remove outputConfig.textFormat and try again.`);
}

/**
 * Check the structured-output and tool members of a Converse request.
 * Returns {error}, or {mode: 'output_format', schema} / {mode: 'tool', name, schema}, or {} (neither).
 */
function parseRequest(req, model, lastText) {
  const oc = req.outputConfig;
  const tc = req.toolConfig;
  let out = {};
  if (tc !== undefined && tc !== null) {
    if (model.family === 'titan-text') return { error: validation(NO_TOOLS) };
    if (!isObj(tc) || !Array.isArray(tc.tools) || tc.tools.length === 0) {
      return { error: validation('The toolConfig field must be defined when using toolUse and toolResult content blocks.') };
    }
    const specs = new Map();
    for (let i = 0; i < tc.tools.length; i++) {
      const spec = isObj(tc.tools[i]) ? tc.tools[i].toolSpec : null;
      if (!isObj(spec)) continue; // systemTool, cachePoint
      if (typeof spec.name !== 'string' || !TOOL_NAME_RE.test(spec.name)) {
        return { error: validation(`Value '${spec.name}' at 'toolConfig.tools.${i + 1}.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+`) };
      }
      const schema = isObj(spec.inputSchema) ? spec.inputSchema.json : null;
      if (!isObj(schema)) return { error: validation(`The inputSchema of tool ${spec.name} must be a JSON object.`) };
      if (schema.type !== 'object') return { error: validation(`The input schema of tool ${spec.name} must be of type object.`) };
      specs.set(spec.name, schema);
    }
    const choice = tc.toolChoice;
    if (isObj(choice) && isObj(choice.tool)) {
      if (!specs.has(choice.tool.name)) return { error: validation(`The tool ${choice.tool.name} in toolChoice is not in toolConfig.tools.`) };
      out = { mode: 'tool', name: choice.tool.name, schema: specs.get(choice.tool.name) };
    } else if (isObj(choice) && isObj(choice.any) && specs.size > 0) {
      const [name, schema] = specs.entries().next().value;
      out = { mode: 'tool', name, schema };
    }
  }
  if (oc !== undefined && oc !== null) {
    if (!isObj(oc)) return { error: validation('outputConfig must be a structure.') };
    const tf = oc.textFormat;
    if (tf !== undefined && tf !== null) {
      if (!supportsOutputFormat(model) || String(lastText).includes('#no-native')) return { error: refusalFor(model) };
      if (!isObj(tf) || tf.type !== 'json_schema') {
        return { error: validation(`Value '${isObj(tf) ? tf.type : tf}' at 'outputConfig.textFormat.type' failed to satisfy constraint: Member must satisfy enum value set: [json_schema]`) };
      }
      const js = isObj(tf.structure) ? tf.structure.jsonSchema : null;
      if (!isObj(js) || typeof js.schema !== 'string') {
        return { error: validation('outputConfig.textFormat.structure.jsonSchema.schema must be a string holding a JSON schema.') };
      }
      let schema;
      try {
        schema = JSON.parse(js.schema);
      } catch (e) {
        return { error: validation(`The JSON schema in outputConfig is not valid JSON: ${e.message}`) };
      }
      if (!isObj(schema) || schema.type !== 'object') return { error: validation('The JSON schema in outputConfig must be of type object.') };
      const open = openObject(schema, '$');
      if (open) return { error: validation(`For structured output, every object schema must set additionalProperties to false; ${open} does not.`) };
      if (out.mode) return { error: validation('outputConfig.textFormat cannot be combined with a forced tool choice.') };
      out = { mode: 'output_format', schema };
    }
  }
  return out;
}

/** The path of the first object schema without additionalProperties: false (structured output wants them closed), or null. */
function openObject(schema, path) {
  if (!isObj(schema)) return null;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('object') && schema.additionalProperties !== false) return path;
  for (const [k, v] of Object.entries(isObj(schema.properties) ? schema.properties : {})) {
    const p = openObject(v, `${path}.properties.${k}`);
    if (p) return p;
  }
  return schema.items ? openObject(schema.items, `${path}.items`) : null;
}

function hashPick(text, n) {
  return crypto.createHash('sha256').update(String(text)).digest().readUInt32LE(0) % n;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The text after "key:" or "key =" (underscores match spaces), up to ";", a sentence's end or a line end. */
function valueFor(text, key) {
  if (!key) return null;
  const k = escapeRe(key).replace(/_/g, '[ _]');
  const m = new RegExp(`(?:^|[\\s;,(])${k}\\s*[:=]\\s*([^;\\n]*?)(?=;|\\n|\\.\\s|\\.?$)`, 'i').exec(text);
  if (!m) return null;
  return m[1].trim().replace(/\.$/, '').trim();
}

function mainType(schema) {
  const t = schema.type;
  if (Array.isArray(t)) return { type: t.find((x) => x !== 'null') || 'null', nullable: t.includes('null') };
  return { type: t, nullable: false };
}

/** A value conforming to schema, derived from text (key: the member's name, whole: text is the value). */
function gen(schema, text, key, whole = false) {
  if (!isObj(schema)) return null;
  const found = whole ? text : valueFor(text, key);
  const { type, nullable } = mainType(schema);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    const lower = String(found ?? text).toLowerCase();
    const hits = schema.enum.filter((e) => e !== null && lower.includes(String(e).toLowerCase()));
    hits.sort((a, b) => String(b).length - String(a).length);
    return hits.length ? hits[0] : schema.enum[hashPick(text, schema.enum.length)];
  }
  if (nullable && found !== null && /^(null|none|n\/a)$/i.test(found)) return null;
  switch (type) {
    case 'object': {
      const out = {};
      const props = isObj(schema.properties) ? schema.properties : {};
      let first = whole;
      for (const [name, ps] of Object.entries(props)) {
        const v = valueFor(text, name);
        const pt = mainType(ps);
        // the first string member of an array element takes the element's text
        if (first && v === null && pt.type === 'string' && !ps.enum) {
          out[name] = text;
          first = false;
          continue;
        }
        if (v === null && pt.nullable) {
          out[name] = null;
          continue;
        }
        out[name] = gen(ps, text, name);
      }
      return out;
    }
    case 'array': {
      if (found !== null && found !== '') {
        const parts = found.split(/\s*,\s*|\s+and\s+/).filter(Boolean);
        return parts.map((p) => gen(schema.items || { type: 'string' }, p, null, true));
      }
      return [gen(schema.items || { type: 'string' }, text, key)];
    }
    case 'integer': {
      const n = found !== null ? parseInt(found.replace(/[, ]/g, ''), 10) : NaN;
      return Number.isFinite(n) ? n : tg.words(text).length;
    }
    case 'number': {
      const n = found !== null ? parseFloat(found.replace(/[, ]/g, '')) : NaN;
      return Number.isFinite(n) ? n : Math.round(String(text).length) / 10;
    }
    case 'boolean': {
      if (found !== null && /^(yes|true|y)$/i.test(found)) return true;
      if (found !== null && /^(no|false|n)$/i.test(found)) return false;
      return !/\b(not|no|never|false|without)\b/i.test(found ?? text);
    }
    case 'null':
      return null;
    default: {
      if (found !== null && found !== '') return found;
      return tg.words(text).filter((w) => !w.startsWith('#')).slice(0, 3).join(' ') || 'unknown';
    }
  }
}

/** Make an answer non-conforming: its first required (or first) member gets the wrong type. */
function spoil(obj, schema) {
  const props = isObj(schema.properties) ? schema.properties : {};
  const name = (Array.isArray(schema.required) && schema.required[0]) || Object.keys(props)[0];
  if (!name) return { ...obj, unexpected: true };
  const { type } = mainType(props[name] || {});
  const v = obj[name];
  let bad;
  if (type === 'integer' || type === 'number') bad = String(v);
  else if (type === 'string') bad = 42;
  else if (type === 'boolean') bad = 'yes';
  else bad = 'not an object or array';
  return { ...obj, [name]: bad };
}

/**
 * The answer of a structured request: {content[], stopReason, outputTokens}.
 * systemText tells whether this is the client's retry after a rejected answer.
 */
function respond(parsed, lastText, systemText, maxTokens) {
  let obj = gen(parsed.schema, lastText, null);
  const retry = /did not conform to the schema/.test(systemText);
  if (lastText.includes('#bad-always') || (lastText.includes('#bad-first') && !retry)) obj = spoil(obj, parsed.schema);
  if (parsed.mode === 'tool') {
    const input = obj;
    const id = `tooluse_${crypto.createHash('sha256').update(JSON.stringify(input)).digest('base64url').slice(0, 22)}`;
    return {
      content: [{ toolUse: { toolUseId: id, name: parsed.name, input } }],
      stopReason: 'tool_use',
      outputTokens: tg.atLeastOne(tg.countTokens(JSON.stringify(input))),
    };
  }
  const lim = tg.applyLimits(JSON.stringify(obj), maxTokens, []);
  return { content: [{ text: lim.text }], stopReason: lim.reason, outputTokens: tg.atLeastOne(tg.countTokens(lim.text)) };
}

module.exports = { parseRequest, respond, gen, valueFor, supportsOutputFormat, NO_TOOLS };
