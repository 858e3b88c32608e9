'use strict';
// Model catalogue and model-identifier resolution (aws-protocol.md sections 1.3 and 5).

const { awsError, validation } = require('./errors');

const ACCOUNT = '123456789012';

// family: gpt-oss | anthropic | titan-text | titan-embed | cohere-embed
const MODELS = [
  {
    id: 'openai.gpt-oss-20b-1:0',
    family: 'gpt-oss',
    name: 'gpt-oss-20b',
    provider: 'OpenAI',
    contextTokens: 128000,
    maxOutputTokens: null,
    defaultMaxTokens: 4096,
    inputModalities: ['TEXT'],
    outputModalities: ['TEXT'],
    streaming: true,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
  {
    id: 'openai.gpt-oss-120b-1:0',
    family: 'gpt-oss',
    name: 'gpt-oss-120b',
    provider: 'OpenAI',
    contextTokens: 128000,
    maxOutputTokens: null,
    defaultMaxTokens: 4096,
    inputModalities: ['TEXT'],
    outputModalities: ['TEXT'],
    streaming: true,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
  {
    id: 'anthropic.claude-3-haiku-20240307-v1:0',
    family: 'anthropic',
    apiName: 'claude-3-haiku-20240307',
    name: 'Claude 3 Haiku',
    provider: 'Anthropic',
    contextTokens: 200000,
    maxOutputTokens: 4096,
    defaultMaxTokens: 4096,
    inputModalities: ['TEXT', 'IMAGE'],
    outputModalities: ['TEXT'],
    streaming: true,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
  {
    id: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    family: 'anthropic',
    apiName: 'claude-3-5-haiku-20241022',
    name: 'Claude 3.5 Haiku',
    provider: 'Anthropic',
    contextTokens: 200000,
    maxOutputTokens: 8192,
    defaultMaxTokens: 4096,
    inputModalities: ['TEXT'],
    outputModalities: ['TEXT'],
    streaming: true,
    inferenceTypes: ['INFERENCE_PROFILE'], // not in the service enum: exercises client tolerance
    onDemand: false,
    granted: true,
  },
  {
    id: 'anthropic.claude-3-opus-20240229-v1:0',
    family: 'anthropic',
    apiName: 'claude-3-opus-20240229',
    name: 'Claude 3 Opus',
    provider: 'Anthropic',
    contextTokens: 200000,
    maxOutputTokens: 4096,
    defaultMaxTokens: 4096,
    inputModalities: ['TEXT', 'IMAGE'],
    outputModalities: ['TEXT'],
    streaming: true,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: false, // access not granted -> 403 AccessDeniedException
  },
  {
    id: 'amazon.titan-text-express-v1',
    family: 'titan-text',
    name: 'Titan Text G1 - Express',
    provider: 'Amazon',
    contextTokens: 8192,
    maxOutputTokens: 8192,
    defaultMaxTokens: 512,
    inputModalities: ['TEXT'],
    outputModalities: ['TEXT'],
    streaming: true,
    customizations: ['FINE_TUNING', 'CONTINUED_PRE_TRAINING'],
    inferenceTypes: ['ON_DEMAND', 'PROVISIONED'],
    // being retired: still callable, as LEGACY models are until their end of life
    lifecycle: { status: 'LEGACY', legacyTime: '2025-10-01T00:00:00Z', endOfLifeTime: '2026-12-31T00:00:00Z' },
    onDemand: true,
    granted: true,
  },
  {
    id: 'amazon.titan-embed-text-v2:0',
    family: 'titan-embed',
    embedVersion: 2,
    name: 'Titan Text Embeddings V2',
    provider: 'Amazon',
    contextTokens: 8192,
    maxChars: 50000,
    inputModalities: ['TEXT'],
    outputModalities: ['EMBEDDING'],
    streaming: false,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
  {
    id: 'cohere.embed-english-v3',
    family: 'cohere-embed',
    embedVersion: 3,
    dimensions: 1024,
    name: 'Embed English',
    provider: 'Cohere',
    contextTokens: 512,
    maxChars: 2048,
    inputModalities: ['TEXT'],
    outputModalities: ['EMBEDDING'],
    streaming: false,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
  {
    id: 'cohere.embed-multilingual-v3',
    family: 'cohere-embed',
    embedVersion: 3,
    dimensions: 1024,
    name: 'Embed Multilingual',
    provider: 'Cohere',
    contextTokens: 512,
    maxChars: 2048,
    inputModalities: ['TEXT'],
    outputModalities: ['EMBEDDING'],
    streaming: false,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
  {
    id: 'amazon.titan-embed-text-v1',
    family: 'titan-embed',
    embedVersion: 1,
    dimensions: 1536,
    name: 'Titan Embeddings G1 - Text',
    provider: 'Amazon',
    contextTokens: 8192,
    maxChars: 50000,
    inputModalities: ['TEXT'],
    outputModalities: ['EMBEDDING'],
    streaming: false,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
  {
    id: 'cohere.embed-v4:0',
    family: 'cohere-embed',
    embedVersion: 4,
    dimensions: 1536,
    name: 'Embed v4',
    provider: 'Cohere',
    contextTokens: 128000,
    maxChars: null,
    inputModalities: ['TEXT', 'IMAGE'],
    outputModalities: ['EMBEDDING'],
    streaming: false,
    inferenceTypes: ['ON_DEMAND'],
    onDemand: true,
    granted: true,
  },
];

const BY_ID = new Map(MODELS.map((m) => [m.id, m]));

// System-defined (cross-region) inference profiles
const PROFILES = [
  {
    id: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    name: 'US Anthropic Claude 3.5 Haiku',
    type: 'SYSTEM_DEFINED',
  },
  {
    id: 'us.anthropic.claude-3-haiku-20240307-v1:0',
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
    name: 'US Anthropic Claude 3 Haiku',
    type: 'SYSTEM_DEFINED',
  },
];
const PROFILE_BY_ID = new Map(PROFILES.map((p) => [p.id, p]));

// Application inference profiles (ARN only)
const APP_PROFILES = [
  {
    id: 'a1b2c3d4e5f6',
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
    name: 'bedrock-fdw-test-app-profile',
    type: 'APPLICATION',
  },
];
const APP_PROFILE_BY_ID = new Map(APP_PROFILES.map((p) => [p.id, p]));

const INVALID_ID = 'The provided model identifier is invalid.';

function modelArn(region, id) {
  return `arn:aws:bedrock:${region}::foundation-model/${id}`;
}

function onDemandError(id) {
  return validation(
    `Invocation of model ID ${id} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.`,
  );
}

/**
 * Resolve a model identifier (already URL-decoded once) for runtime calls.
 * Returns {ok:true, model, via, profile?} or {ok:false, response}.
 * countTokens: CountTokens' modelId is a FoundationModelVersionIdentifier
 * (at most 256 characters): a foundation model id or ARN only, and counting
 * invokes nothing, so a model without on-demand throughput counts too.
 */
function resolveModel(identifier, region, { countTokens = false } = {}) {
  const bad = { ok: false, response: validation(INVALID_ID) };
  if (typeof identifier !== 'string' || identifier.length === 0 || identifier.length > 2048) return bad;

  let m;
  let via = 'id';
  let profile = null;
  let arnMatch;
  if ((arnMatch = /^arn:aws:bedrock:([a-z0-9-]+):(\d{12})?:([a-z-]+)\/(.+)$/.exec(identifier))) {
    const [, arnRegion, account, kind, rest] = arnMatch;
    if (arnRegion !== region) return bad;
    if (kind === 'foundation-model' && !account) {
      m = BY_ID.get(rest);
      via = 'foundation-model-arn';
    } else if (kind === 'inference-profile' && account) {
      profile = PROFILE_BY_ID.get(rest);
      m = profile && BY_ID.get(profile.modelId);
      via = 'inference-profile-arn';
    } else if (kind === 'application-inference-profile' && account === ACCOUNT) {
      profile = APP_PROFILE_BY_ID.get(rest);
      m = profile && BY_ID.get(profile.modelId);
      via = 'application-inference-profile-arn';
    }
    if (!m) return bad;
  } else if ((profile = PROFILE_BY_ID.get(identifier))) {
    m = BY_ID.get(profile.modelId);
    via = 'inference-profile';
  } else {
    m = BY_ID.get(identifier);
    if (!m) return bad;
  }
  if (countTokens && (profile || identifier.length > 256)) return bad;
  if (!m.granted) {
    return { ok: false, response: awsError('AccessDeniedException', { message: "You don't have access to the model with the specified model ID." }) };
  }
  if (!profile && !m.onDemand && !countTokens) return { ok: false, response: onDemandError(m.id) };
  return { ok: true, model: m, via, profile };
}

function modelSummary(m, region) {
  return {
    modelArn: modelArn(region, m.id),
    modelId: m.id,
    modelName: m.name,
    providerName: m.provider,
    inputModalities: m.inputModalities.slice(),
    outputModalities: m.outputModalities.slice(),
    responseStreamingSupported: m.streaming,
    customizationsSupported: (m.customizations || []).slice(),
    inferenceTypesSupported: m.inferenceTypes.slice(),
    modelLifecycle: { ...(m.lifecycle || { status: 'ACTIVE' }) },
  };
}

function listFoundationModels(query, region) {
  const one = (v) => (Array.isArray(v) ? v[0] : v);
  const byProvider = one(query.byProvider);
  const byOutput = one(query.byOutputModality);
  const byInference = one(query.byInferenceType);
  const byCustomization = one(query.byCustomizationType);
  if (byProvider != null && !/^[A-Za-z0-9- ]{1,63}$/.test(byProvider)) {
    return { error: `1 validation error detected: Value '${byProvider}' at 'byProvider' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z0-9- ]{1,63}$` };
  }
  if (byOutput != null && !['TEXT', 'IMAGE', 'EMBEDDING'].includes(byOutput)) {
    return { error: `1 validation error detected: Value '${byOutput}' at 'byOutputModality' failed to satisfy constraint: Member must satisfy enum value set: [TEXT, IMAGE, EMBEDDING]` };
  }
  if (byInference != null && !['ON_DEMAND', 'PROVISIONED'].includes(byInference)) {
    return { error: `1 validation error detected: Value '${byInference}' at 'byInferenceType' failed to satisfy constraint: Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]` };
  }
  if (byCustomization != null && !['FINE_TUNING', 'CONTINUED_PRE_TRAINING', 'DISTILLATION'].includes(byCustomization)) {
    return { error: `1 validation error detected: Value '${byCustomization}' at 'byCustomizationType' failed to satisfy constraint: Member must satisfy enum value set: [FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION]` };
  }
  // ListFoundationModels has no pagination: every match in one response
  const list = MODELS.filter((m) => {
    if (byProvider != null && m.provider.toLowerCase() !== byProvider.toLowerCase()) return false;
    if (byOutput != null && !m.outputModalities.includes(byOutput)) return false;
    if (byInference != null && !m.inferenceTypes.includes(byInference)) return false;
    if (byCustomization != null && !(m.customizations || []).includes(byCustomization)) return false;
    return true;
  });
  return { body: { modelSummaries: list.map((m) => modelSummary(m, region)) } };
}

function getFoundationModel(identifier, region) {
  let id = identifier;
  const arn = /^arn:aws:bedrock:([a-z0-9-]+)::foundation-model\/(.+)$/.exec(identifier);
  if (arn) id = arn[1] === region ? arn[2] : null;
  const m = id && BY_ID.get(id);
  if (!m) return null;
  return { modelDetails: modelSummary(m, region) };
}

function profileSummary(p, region) {
  const m = BY_ID.get(p.modelId);
  const isApp = p.type === 'APPLICATION';
  return {
    inferenceProfileName: p.name,
    description: isApp
      ? `Application inference profile for ${m.name}.`
      : `Routes requests to ${m.provider} ${m.name} in us-east-1, us-east-2 and us-west-2.`,
    createdAt: '2024-11-04T00:00:00Z',
    updatedAt: '2024-11-04T00:00:00Z',
    inferenceProfileArn: isApp
      ? `arn:aws:bedrock:${region}:${ACCOUNT}:application-inference-profile/${p.id}`
      : `arn:aws:bedrock:${region}:${ACCOUNT}:inference-profile/${p.id}`,
    models: isApp
      ? [{ modelArn: modelArn(region, m.id) }]
      : ['us-east-1', 'us-east-2', 'us-west-2'].map((r) => ({ modelArn: modelArn(r, m.id) })),
    inferenceProfileId: p.id,
    status: 'ACTIVE',
    type: p.type,
  };
}

/**
 * The inference profiles ListInferenceProfiles returns before pagination (catalog.js pages
 * them): all, or those of the type the "type" query parameter (member typeEquals) names.
 * Returns {list} or {error}.
 */
function inferenceProfiles(query) {
  const one = (v) => (Array.isArray(v) ? v[0] : v);
  const type = one(query.type);
  let all = PROFILES.concat(APP_PROFILES);
  if (type != null) {
    if (!['SYSTEM_DEFINED', 'APPLICATION'].includes(type)) {
      return { error: `1 validation error detected: Value '${type}' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]` };
    }
    all = all.filter((p) => p.type === type);
  }
  return { list: all };
}

function getInferenceProfile(identifier, region) {
  let p = PROFILE_BY_ID.get(identifier) || APP_PROFILE_BY_ID.get(identifier);
  const arn = /^arn:aws:bedrock:([a-z0-9-]+):(\d{12}):(inference-profile|application-inference-profile)\/(.+)$/.exec(identifier);
  if (arn && arn[1] === region) {
    p = arn[3] === 'inference-profile' ? PROFILE_BY_ID.get(arn[4]) : APP_PROFILE_BY_ID.get(arn[4]);
  }
  return p ? profileSummary(p, region) : null;
}

module.exports = {
  ACCOUNT,
  MODELS,
  PROFILES,
  APP_PROFILES,
  BY_ID,
  modelArn,
  resolveModel,
  modelSummary,
  listFoundationModels,
  getFoundationModel,
  inferenceProfiles,
  profileSummary,
  getInferenceProfile,
};
