'use strict';
// Credential services served next to Bedrock on the same port: EC2 IMDSv2, ECS/EKS container
// credentials, and the configuration STS uses (roles, web identity tokens, max lifetime).
// Reference: aws-protocol.md sections 6.3 (IMDSv2), 6.4 (container), 6.5 (STS).
// Every credential handed out is ISSUED into the CredentialStore, so all signed routes accept it
// until it expires (then ExpiredTokenException / ExpiredToken).

const crypto = require('crypto');
const { DEFAULT_ACCOUNT, uniqueId } = require('./credentials');
const { ROLE_ARN_RE, isoSeconds } = require('./sts');

const INSTANCE_ID = 'i-0123456789abcdef0';
const DEFAULT_WEB_IDENTITY_TOKEN = 'emulator-web-identity-token';
const DEFAULT_CONTAINER_TOKEN = 'emulator-container-token';
const DEFAULT_ROLES = Object.freeze([
  Object.freeze({ arn: `arn:aws:iam::${DEFAULT_ACCOUNT}:role/bedrock-caller` }),
  Object.freeze({ arn: `arn:aws:iam::${DEFAULT_ACCOUNT}:role/bedrock-partner`, externalId: 'partner-external-id' }),
  Object.freeze({ arn: 'arn:aws:iam::210987654321:role/other-account-role' }),
]);
const MAX_IMDS_TOKENS = 1000;
const MAX_ROLES = 1000;
const MAX_ASSUME_ROLE_LOG = 10000;
const MAX_WEB_TOKENS = 1000;
// serveExpired: cached expired credentials are re-issued once they are this old (the store drops
// expired credentials an hour after expiry; until then Bedrock answers ExpiredTokenException)
const EXPIRED_REISSUE_MS = 30 * 60 * 1000;

function defaultConfig() {
  return {
    imds: {
      enabled: true,
      v1: false,
      role: 'emulator-instance-role',
      lifetimeSeconds: 21600,
      refreshWindowSeconds: 300,
      serveExpired: false,
      tokenTtlMax: 21600,
    },
    container: {
      enabled: true,
      token: DEFAULT_CONTAINER_TOKEN,
      lifetimeSeconds: 21600,
      refreshWindowSeconds: 300,
      serveExpired: false,
      relativePath: '/v2/credentials/emulator-task',
      fullPath: '/v1/credentials',
      roleArn: `arn:aws:iam::${DEFAULT_ACCOUNT}:role/emulator-task-role`,
    },
    sts: {
      enabled: true,
      maxLifetimeSeconds: 43200,
    },
  };
}

// section -> key -> validator(value) returning an error string or null
const isBool = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const posInt = (max) => (v) => (Number.isInteger(v) && v >= 1 && v <= max ? null : `must be an integer 1..${max}`);
const nonNegInt = (v) => (Number.isInteger(v) && v >= 0 ? null : 'must be an integer >= 0');
const RESERVED_PATH = /^\/(?:_emulator|model|latest|foundation-models|inference-profiles)(?:\/|$)/;
const credPath = (v) => (v === null || (typeof v === 'string' && /^\/[\x21-\x7e]*$/.test(v) && v !== '/' && !v.includes('?') && !RESERVED_PATH.test(v)) ? null : 'must be null or a path like /v1/credentials (not /, /_emulator, /model, /latest, …)');
const SCHEMA = {
  imds: {
    enabled: isBool,
    v1: isBool,
    role: (v) => (v === null || (typeof v === 'string' && /^[\w+=,.@-]{1,64}$/.test(v)) ? null : 'must be null or a role name ([\\w+=,.@-]{1,64})'),
    lifetimeSeconds: posInt(129600),
    refreshWindowSeconds: nonNegInt,
    serveExpired: isBool,
    tokenTtlMax: posInt(21600),
  },
  container: {
    enabled: isBool,
    token: (v) => (v === null || (typeof v === 'string' && v.length > 0 && !/[\r\n]/.test(v)) ? null : 'must be null (no Authorization check) or a non-empty string without CR/LF'),
    lifetimeSeconds: posInt(129600),
    refreshWindowSeconds: nonNegInt,
    serveExpired: isBool,
    relativePath: credPath,
    fullPath: credPath,
    roleArn: (v) => (typeof v === 'string' && ROLE_ARN_RE.test(v) ? null : 'must be a role ARN'),
  },
  sts: {
    enabled: isBool,
    maxLifetimeSeconds: posInt(129600),
  },
};

function imdsPage(status) {
  const titles = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed' };
  const title = `${status} - ${titles[status] || 'Error'}`;
  const text =
    '<?xml version="1.0" encoding="iso-8859-1"?>\n' +
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n' +
    '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n' +
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n' +
    ` <head>\n  <title>${title}</title>\n </head>\n <body>\n  <h1>${title}</h1>\n </body>\n</html>\n`;
  return { status, headers: { 'Content-Type': 'text/html', Server: 'EC2ws' }, body: Buffer.from(text), errorCode: null };
}

function imdsText(text, extraHeaders = {}) {
  return { status: 200, headers: { 'Content-Type': 'text/plain', Server: 'EC2ws', ...extraHeaders }, body: Buffer.from(text) };
}

function containerError(status, code, message) {
  return { status, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify({ Code: code, Message: message })), errorCode: code };
}

function validateRole(spec) {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('a role must be a JSON object {"arn", "externalId"?, "account"?}');
  for (const k of Object.keys(spec)) if (!['arn', 'externalId', 'account'].includes(k)) throw new Error(`unknown role field ${k}`);
  const m = typeof spec.arn === 'string' ? ROLE_ARN_RE.exec(spec.arn) : null;
  if (!m) throw new Error('arn must be a role ARN like arn:aws:iam::123456789012:role/NAME');
  if (spec.externalId != null && (typeof spec.externalId !== 'string' || !/^[\w+=,.@:/-]{2,1224}$/.test(spec.externalId))) {
    throw new Error('externalId must be 2..1224 characters of [\\w+=,.@:/-]');
  }
  if (spec.account != null && (typeof spec.account !== 'string' || !/^\d{12}$/.test(spec.account))) throw new Error('account must be 12 digits');
  return { arn: spec.arn, externalId: spec.externalId ?? null, account: spec.account ?? m[1] };
}

class CredentialServices {
  /** opts: {store (CredentialStore), now() (emulator clock, ms), region} */
  constructor({ store, now, region }) {
    this.store = store;
    this.now = now;
    this.region = region;
    this.reset();
  }

  /** Defaults: config, roles, web identity tokens; forget IMDS tokens and cached credentials. */
  reset() {
    this.config = defaultConfig();
    this.roles = new Map();
    for (const r of DEFAULT_ROLES) this.roles.set(r.arn, validateRole(r));
    this.webTokens = new Map();
    this.addWebToken({ token: DEFAULT_WEB_IDENTITY_TOKEN });
    this.imdsTokens = new Map();
    this.cache = { imds: null, container: null };
    this.assumeRoleLog = [];
  }

  /** Remember one AssumeRole request (the last MAX_ASSUME_ROLE_LOG), for GET /_emulator/sts-log. */
  recordAssumeRole(entry) {
    this.assumeRoleLog.push(entry);
    if (this.assumeRoleLog.length > MAX_ASSUME_ROLE_LOG) this.assumeRoleLog.shift();
  }

  /** Merge a partial config; validates everything before applying anything. */
  configure(patch) {
    if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw new Error('credential-services config must be a JSON object');
    for (const [section, values] of Object.entries(patch)) {
      if (!SCHEMA[section]) throw new Error(`unknown section ${section} (expected imds, container, sts)`);
      if (!values || typeof values !== 'object' || Array.isArray(values)) throw new Error(`${section} must be a JSON object`);
      for (const [k, v] of Object.entries(values)) {
        if (!SCHEMA[section][k]) throw new Error(`unknown field ${section}.${k} (expected ${Object.keys(SCHEMA[section]).join(', ')})`);
        const err = SCHEMA[section][k](v);
        if (err) throw new Error(`${section}.${k} ${err}`);
      }
    }
    const merged = { ...this.config.container, ...(patch.container || {}) };
    if (merged.relativePath !== null && merged.relativePath === merged.fullPath) throw new Error('container.relativePath and container.fullPath must differ');
    for (const [section, values] of Object.entries(patch)) {
      Object.assign(this.config[section], values);
      if (section in this.cache && Object.keys(values).length) this.cache[section] = null;
    }
    if (patch.imds && (patch.imds.tokenTtlMax !== undefined || patch.imds.enabled === false)) this.imdsTokens.clear();
  }

  /** The config as JSON (the container token is not echoed). */
  publicConfig() {
    const c = JSON.parse(JSON.stringify(this.config));
    c.container.tokenSet = c.container.token !== null;
    delete c.container.token;
    return c;
  }

  /** Add or replace roles: one spec or an array (all validated before any is added). */
  addRoles(specs) {
    const list = (Array.isArray(specs) ? specs : [specs]).map(validateRole);
    const fresh = new Set(list.map((r) => r.arn).filter((a) => !this.roles.has(a)));
    if (this.roles.size + fresh.size > MAX_ROLES) throw new Error(`at most ${MAX_ROLES} roles`);
    for (const r of list) this.roles.set(r.arn, r);
    return list.map((r) => ({ arn: r.arn, account: r.account, externalIdRequired: r.externalId !== null }));
  }

  listRoles() {
    return [...this.roles.values()].map((r) => ({ arn: r.arn, account: r.account, externalIdRequired: r.externalId !== null }));
  }

  /** {token, subject?, audience?, provider?, expiration? (ISO)} */
  addWebToken(spec) {
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('a web identity token must be a JSON object {"token", ...}');
    for (const k of Object.keys(spec)) if (!['token', 'subject', 'audience', 'provider', 'expiration'].includes(k)) throw new Error(`unknown web identity token field ${k}`);
    if (typeof spec.token !== 'string' || spec.token.length < 4 || spec.token.length > 20000) throw new Error('token must be a string of 4..20000 characters');
    for (const k of ['subject', 'audience', 'provider']) {
      if (spec[k] != null && (typeof spec[k] !== 'string' || !spec[k])) throw new Error(`${k} must be a non-empty string`);
    }
    let expiration = null;
    if (spec.expiration != null) {
      expiration = Date.parse(spec.expiration);
      if (Number.isNaN(expiration)) throw new Error('expiration must be an ISO 8601 time');
    }
    if (!this.webTokens.has(spec.token) && this.webTokens.size >= MAX_WEB_TOKENS) throw new Error(`at most ${MAX_WEB_TOKENS} web identity tokens`);
    this.webTokens.set(spec.token, {
      subject: spec.subject || 'system:serviceaccount:default:emulator',
      audience: spec.audience || 'sts.amazonaws.com',
      provider: spec.provider || `arn:aws:iam::${DEFAULT_ACCOUNT}:oidc-provider/oidc.eks.${this.region}.amazonaws.com/id/EMULATOR0123456789ABCDEF0123`,
      expiration,
    });
  }

  // -------------------------------------------------------------------------------------------
  // routing

  /**
   * Which credential service a request is for, or null (Bedrock / admin).
   * STS: POST / with a form-encoded body, or GET /?Action=…
   */
  classify(method, path, contentType, query) {
    if (path === '/latest' || path.startsWith('/latest/')) return { name: 'imds' };
    const c = this.config.container;
    if ((c.relativePath !== null && path === c.relativePath) || (c.fullPath !== null && path === c.fullPath)) return { name: 'container' };
    if (path === '/') {
      if (method === 'POST' && /^application\/x-www-form-urlencoded\b/i.test(contentType || '')) return { name: 'sts' };
      if (method === 'GET' && query && query.Action !== undefined) return { name: 'sts' };
    }
    return null;
  }

  enabled(routeName) {
    return this.config[routeName].enabled;
  }

  // -------------------------------------------------------------------------------------------
  // issuing

  expirationIn(seconds) {
    return Math.ceil((this.now() + seconds * 1000) / 1000) * 1000;
  }

  /** STS credentials: lifetime min(DurationSeconds, sts.maxLifetimeSeconds). */
  issueSts({ source, duration, identity, roleArn }) {
    const seconds = Math.min(duration, this.config.sts.maxLifetimeSeconds);
    return this.store.issue({ source, expiration: this.expirationIn(seconds), identity, roleArn, now: this.now() });
  }

  /**
   * Instance / container credentials, cached like EC2 and the ECS agent do: the same credentials
   * until they are within min(refreshWindowSeconds, lifetime/2) of expiry, then new ones.
   * serveExpired: already-expired credentials (the same ones on every fetch).
   */
  cachedCredentials(which) {
    const cfg = this.config[which];
    const now = this.now();
    const lifetimeMs = cfg.lifetimeSeconds * 1000;
    const windowMs = Math.min(cfg.refreshWindowSeconds * 1000, lifetimeMs / 2);
    const c = this.cache[which];
    if (c && this.store.get(c.accessKeyId) === c) {
      if (cfg.serveExpired ? c.expiration <= now && now - c.expiration < EXPIRED_REISSUE_MS : c.expiration - now > windowMs) return c;
    }
    let roleArn;
    let identity;
    if (which === 'imds') {
      roleArn = `arn:aws:iam::${DEFAULT_ACCOUNT}:role/${cfg.role}`;
      identity = { arn: `arn:aws:sts::${DEFAULT_ACCOUNT}:assumed-role/${cfg.role}/${INSTANCE_ID}`, userId: `${uniqueId('AROA', roleArn)}:${INSTANCE_ID}`, account: DEFAULT_ACCOUNT };
    } else {
      roleArn = cfg.roleArn;
      const m = ROLE_ARN_RE.exec(roleArn);
      identity = { arn: `arn:aws:sts::${m[1]}:assumed-role/${m[2]}/emulator-task`, userId: `${uniqueId('AROA', roleArn)}:emulator-task`, account: m[1] };
    }
    const expiration = cfg.serveExpired ? Math.floor((now - 60000) / 1000) * 1000 : this.expirationIn(cfg.lifetimeSeconds);
    const cred = this.store.issue({ source: which, expiration, identity, roleArn, now });
    cred.lastUpdated = cfg.serveExpired ? expiration - lifetimeMs : Math.floor(now / 1000) * 1000;
    this.cache[which] = cred;
    return cred;
  }

  // -------------------------------------------------------------------------------------------
  // IMDSv2

  /** headers: lower-case map. Returns a response with meta {fetch, issued}. */
  imds(method, path, headers) {
    const cfg = this.config.imds;
    const now = this.now();
    if (path === '/latest/api/token') {
      if (method !== 'PUT') return imdsPage(405);
      if (headers['x-forwarded-for'] !== undefined) return imdsPage(403);
      const raw = headers['x-aws-ec2-metadata-token-ttl-seconds'];
      const ttl = raw !== undefined && /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
      if (!(ttl >= 1 && ttl <= cfg.tokenTtlMax)) return imdsPage(400);
      for (const [tok, exp] of this.imdsTokens) if (exp <= now) this.imdsTokens.delete(tok);
      while (this.imdsTokens.size >= MAX_IMDS_TOKENS) this.imdsTokens.delete(this.imdsTokens.keys().next().value);
      const token = `AQAEA${crypto.randomBytes(42).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
      this.imdsTokens.set(token, now + ttl * 1000);
      return Object.assign(imdsText(token, { 'X-aws-ec2-metadata-token-ttl-seconds': String(ttl) }), { meta: { fetch: 'imdsToken' } });
    }
    if (method !== 'GET' && method !== 'HEAD') return imdsPage(405);
    const token = headers['x-aws-ec2-metadata-token'];
    if (token !== undefined) {
      const exp = this.imdsTokens.get(token);
      if (exp === undefined || exp <= now) return imdsPage(401);
    } else if (!cfg.v1) {
      return imdsPage(401);
    }
    const rest = path.slice('/latest/'.length);
    if (rest === 'meta-data/iam/security-credentials/' || rest === 'meta-data/iam/security-credentials') {
      if (cfg.role === null) return imdsPage(404);
      return Object.assign(imdsText(cfg.role), { meta: { fetch: 'imdsRole' } });
    }
    if (rest.startsWith('meta-data/iam/security-credentials/')) {
      const name = rest.slice('meta-data/iam/security-credentials/'.length);
      if (cfg.role === null || name !== cfg.role) return imdsPage(404);
      const c = this.cachedCredentials('imds');
      const doc =
        '{\n' +
        '  "Code" : "Success",\n' +
        `  "LastUpdated" : "${isoSeconds(c.lastUpdated)}",\n` +
        '  "Type" : "AWS-HMAC",\n' +
        `  "AccessKeyId" : "${c.accessKeyId}",\n` +
        `  "SecretAccessKey" : "${c.secretAccessKey}",\n` +
        `  "Token" : "${c.sessionToken}",\n` +
        `  "Expiration" : "${isoSeconds(c.expiration)}"\n` +
        '}';
      return Object.assign(imdsText(doc), { meta: { fetch: 'imdsCredentials', issued: c } });
    }
    if (rest === 'meta-data/instance-id') return imdsText(INSTANCE_ID);
    if (rest === 'meta-data/placement/region') return imdsText(this.region);
    if (rest === 'meta-data/placement/availability-zone') return imdsText(`${this.region}a`);
    if (rest === 'dynamic/instance-identity/document') {
      return imdsText(
        JSON.stringify(
          { accountId: DEFAULT_ACCOUNT, architecture: 'x86_64', availabilityZone: `${this.region}a`, imageId: 'ami-0123456789abcdef0', instanceId: INSTANCE_ID, instanceType: 'm5.large', privateIp: '10.0.0.10', region: this.region, version: '2017-09-30' },
          null,
          2,
        ),
      );
    }
    return imdsPage(404);
  }

  // -------------------------------------------------------------------------------------------
  // container credentials (ECS relative URI / EKS Pod Identity full URI)

  container(method, headers) {
    const cfg = this.config.container;
    if (method !== 'GET') return containerError(405, 'MethodNotAllowed', `Method ${method} is not allowed; use GET`);
    if (cfg.token !== null) {
      const got = headers.authorization;
      if (got === undefined || got === '') return containerError(401, 'InvalidToken', 'Authorization header is missing');
      const a = Buffer.from(got);
      const b = Buffer.from(cfg.token);
      if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return containerError(403, 'AccessDenied', 'Authorization token is invalid');
    }
    const c = this.cachedCredentials('container');
    const body = {
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      Token: c.sessionToken,
      Expiration: isoSeconds(c.expiration),
      RoleArn: cfg.roleArn,
      AccountId: c.identity.account,
    };
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(body)), meta: { fetch: 'container', issued: c } };
  }
}

module.exports = {
  CredentialServices,
  defaultConfig,
  imdsPage,
  containerError,
  INSTANCE_ID,
  DEFAULT_ROLES,
  DEFAULT_WEB_IDENTITY_TOKEN,
  DEFAULT_CONTAINER_TOKEN,
};
