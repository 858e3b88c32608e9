'use strict';
// Credentials known to the emulator. The defaults are exported so tests (and the C side's
// test scripts, through README) can use them. Besides the static keys (defaults + admin-added),
// the store holds the temporary credentials ISSUED by the emulator's STS, IMDS and container
// endpoints; every signed route accepts them until they expire. Expired issued credentials are
// dropped an hour after their expiry (and the oldest beyond MAX_ISSUED), so the store stays bounded.

const crypto = require('crypto');

const DEFAULT_ACCOUNT = '123456789012';
const MAX_ISSUED = 10000;
const ISSUED_GRACE_MS = 3600 * 1000;

const DEFAULT_CREDENTIALS = Object.freeze([
  Object.freeze({
    accessKeyId: 'AKIDEMULATOR00000001',
    secretAccessKey: 'emulatorSecretKey/0000000000000000000000001',
  }),
  Object.freeze({
    accessKeyId: 'ASIAEMULATOR00000002',
    secretAccessKey: 'emulatorSecretKey/0000000000000000000000002',
    sessionToken: 'emulatorSessionToken2',
  }),
]);

const LONG_TERM = DEFAULT_CREDENTIALS[0];
const TEMPORARY = DEFAULT_CREDENTIALS[1];

class CredentialStore {
  constructor() {
    this.reset();
  }

  /** Restore the two default keys, drop admin-added keys and bearer keys (issued credentials stay). */
  reset() {
    this.keys = new Map();
    this.bearers = new Map();
    if (!this.issued) this.issued = new Map();
    for (const c of DEFAULT_CREDENTIALS) this.put(c);
  }

  /** Add or replace a key: {accessKeyId, secretAccessKey, sessionToken?, expiration? (ISO), arn?} */
  put({ accessKeyId, secretAccessKey, sessionToken, expiration, arn }) {
    if (typeof accessKeyId !== 'string' || !/^[A-Za-z0-9]{1,128}$/.test(accessKeyId)) {
      throw new Error('accessKeyId must be a non-empty alphanumeric string');
    }
    if (typeof secretAccessKey !== 'string' || secretAccessKey.length === 0) {
      throw new Error('secretAccessKey must be a non-empty string');
    }
    if (sessionToken != null && (typeof sessionToken !== 'string' || sessionToken.length === 0)) {
      throw new Error('sessionToken must be a non-empty string when given');
    }
    const exp = parseExpiration(expiration);
    let identity = null;
    if (arn != null) {
      identity = identityFromArn(arn);
      if (!identity) throw new Error('arn must look like arn:aws:iam::123456789012:user/NAME or arn:aws:sts::123456789012:assumed-role/ROLE/SESSION');
    }
    this.issued.delete(accessKeyId);
    this.keys.set(accessKeyId, {
      accessKeyId,
      secretAccessKey,
      sessionToken: sessionToken || null,
      expiration: exp,
      identity,
    });
  }

  /**
   * Issue fresh temporary credentials. spec: {source ('sts'|'web-identity'|'imds'|'container'),
   * expiration (ms), identity: {arn, userId, account}, roleArn}. Returns the stored entry.
   */
  issue({ source, expiration, identity, roleArn, now }) {
    this.pruneIssued(now);
    let accessKeyId;
    do accessKeyId = `ASIA${randomChars(16)}`;
    while (this.keys.has(accessKeyId) || this.issued.has(accessKeyId));
    const entry = {
      accessKeyId,
      secretAccessKey: crypto.randomBytes(30).toString('base64'),
      // real session tokens are long (~1 KB) base64 with "/", "+" and "=": so are these
      sessionToken: `IQoJb3JpZ2luX2VjE${crypto.randomBytes(600).toString('base64')}`,
      expiration,
      issuedAt: now,
      identity,
      roleArn: roleArn || null,
      source,
      issued: true,
    };
    this.issued.set(accessKeyId, entry);
    if (typeof this.onIssue === 'function') this.onIssue(entry);
    while (this.issued.size > MAX_ISSUED) this.issued.delete(this.issued.keys().next().value);
    return entry;
  }

  /** Drop issued credentials that expired more than an hour ago. */
  pruneIssued(now) {
    for (const [id, e] of this.issued) {
      if (e.expiration + ISSUED_GRACE_MS < now) this.issued.delete(id);
    }
  }

  /** Register a Bedrock API key: {bearer, expiration?} */
  putBearer({ bearer, expiration }) {
    if (typeof bearer !== 'string' || bearer.length === 0 || /\s/.test(bearer)) {
      throw new Error('bearer must be a non-empty string without whitespace');
    }
    this.bearers.set(bearer, { expiration: parseExpiration(expiration) });
  }

  get(accessKeyId) {
    return this.keys.get(accessKeyId) || this.issued.get(accessKeyId) || null;
  }

  getBearer(token) {
    return this.bearers.get(token) || null;
  }

  /** Listing without secrets. */
  list() {
    return {
      keys: [...this.keys.values()].map((k) => ({
        accessKeyId: k.accessKeyId,
        temporary: Boolean(k.sessionToken),
        expiration: k.expiration ? new Date(k.expiration).toISOString() : null,
      })),
      bearerKeys: this.bearers.size,
      issued: [...this.issued.values()].map((k) => ({
        accessKeyId: k.accessKeyId,
        source: k.source,
        arn: k.identity.arn,
        expiration: new Date(k.expiration).toISOString(),
      })),
    };
  }
}

const KEY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomChars(n) {
  const bytes = crypto.randomBytes(n);
  let out = '';
  for (let i = 0; i < n; i++) out += KEY_CHARS[bytes[i] & 31];
  return out;
}

/** A stable 21-character IAM unique id ("AROA…", "AIDA…") derived from a name. */
function uniqueId(prefix, name) {
  const h = crypto.createHash('sha256').update(name).digest();
  let out = prefix;
  for (let i = 0; out.length < 21; i++) out += KEY_CHARS[h[i] & 31];
  return out;
}

/** Identity (GetCallerIdentity) for an IAM user or assumed-role ARN, or null. */
function identityFromArn(arn) {
  if (typeof arn !== 'string') return null;
  let m = /^arn:aws:iam::(\d{12}):user\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/.exec(arn);
  if (m) return { arn, userId: uniqueId('AIDA', arn), account: m[1] };
  m = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/.exec(arn);
  if (m) return { arn, userId: `${uniqueId('AROA', `arn:aws:iam::${m[1]}:role/${m[2]}`)}:${m[3]}`, account: m[1] };
  return null;
}

const LONG_TERM_IDENTITY = Object.freeze({ arn: `arn:aws:iam::${DEFAULT_ACCOUNT}:user/emulator-user`, userId: 'AIDAEMULATORUSER00001', account: DEFAULT_ACCOUNT });
const TEMPORARY_IDENTITY = Object.freeze({
  arn: `arn:aws:sts::${DEFAULT_ACCOUNT}:assumed-role/emulator-role/emulator-session`,
  userId: 'AROAEMULATORROLE00002:emulator-session',
  account: DEFAULT_ACCOUNT,
});

/** GetCallerIdentity answer for a stored key entry. */
function identityOf(key) {
  if (key.identity) return key.identity;
  return key.sessionToken ? TEMPORARY_IDENTITY : LONG_TERM_IDENTITY;
}

function parseExpiration(expiration) {
  if (expiration == null || expiration === '') return null;
  const t = Date.parse(expiration);
  if (Number.isNaN(t)) throw new Error('expiration must be an ISO 8601 time');
  return t;
}

module.exports = {
  DEFAULT_CREDENTIALS,
  DEFAULT_ACCOUNT,
  LONG_TERM,
  TEMPORARY,
  LONG_TERM_IDENTITY,
  TEMPORARY_IDENTITY,
  CredentialStore,
  identityOf,
  identityFromArn,
  uniqueId,
};
