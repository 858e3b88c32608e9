'use strict';
// Credentials known to the emulator. The defaults are exported so tests (and the C side's
// test scripts, through README) can use them.

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

  reset() {
    this.keys = new Map();
    this.bearers = new Map();
    for (const c of DEFAULT_CREDENTIALS) this.put(c);
  }

  /** Add or replace a key: {accessKeyId, secretAccessKey, sessionToken?, expiration? (ISO)} */
  put({ accessKeyId, secretAccessKey, sessionToken, expiration }) {
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
    this.keys.set(accessKeyId, {
      accessKeyId,
      secretAccessKey,
      sessionToken: sessionToken || null,
      expiration: exp,
    });
  }

  /** Register a Bedrock API key: {bearer, expiration?} */
  putBearer({ bearer, expiration }) {
    if (typeof bearer !== 'string' || bearer.length === 0 || /\s/.test(bearer)) {
      throw new Error('bearer must be a non-empty string without whitespace');
    }
    this.bearers.set(bearer, { expiration: parseExpiration(expiration) });
  }

  get(accessKeyId) {
    return this.keys.get(accessKeyId) || null;
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
    };
  }
}

function parseExpiration(expiration) {
  if (expiration == null || expiration === '') return null;
  const t = Date.parse(expiration);
  if (Number.isNaN(t)) throw new Error('expiration must be an ISO 8601 time');
  return t;
}

module.exports = { DEFAULT_CREDENTIALS, LONG_TERM, TEMPORARY, CredentialStore };
