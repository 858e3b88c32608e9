'use strict';
// Amazon S3, path-style, on the emulator's port: PutObject, GetObject, HeadObject, DeleteObject and
// ListObjectsV2 over an in-memory store, for batch inference jobs (reference
// aws-batch-inference.md section 3). Requests are signed with S3's SigV4 rules, verified with the
// official signer: canonical URI as sent (no second encoding, no normalisation) and a mandatory,
// signed x-amz-content-sha256 (the body's hash or UNSIGNED-PAYLOAD). Errors are S3's XML bodies.
//
// Emulator choices: a bucket comes into existence with the first object put into it (or through
// the admin API), so that tests and documentation examples need no CreateBucket; ListObjectsV2 on
// a bucket never written is NoSuchBucket.

const crypto = require('crypto');
const { verifyRequest, splitTarget, collectHeaders } = require('./sigv4');

const DEFAULT_MAX_OBJECT_BYTES = 512 * 1024 * 1024;
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

// S3 error codes -> HTTP status (section 3.7)
const S3_CODES = {
  NoSuchKey: 404,
  NoSuchBucket: 404,
  AccessDenied: 403,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  RequestTimeTooSkewed: 403,
  ExpiredToken: 400,
  AuthorizationHeaderMalformed: 400,
  InvalidRequest: 400,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  XAmzContentSHA256Mismatch: 400,
  EntityTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  SlowDown: 503,
  InternalError: 500,
  NotImplemented: 501,
};

function xmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

/** An S3 XML error response. extra: further child elements {Name: value}. */
function s3Error(code, message, requestId, extra = {}) {
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>`;
  for (const [k, v] of Object.entries(extra)) xml += `<${k}>${xmlEscape(v)}</${k}>`;
  xml += `<RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`;
  return {
    status: S3_CODES[code] || 400,
    headers: { 'Content-Type': 'application/xml' },
    body: Buffer.from(xml),
    errorCode: code,
  };
}

/** True when the request is meant for S3: its SigV4 credential scope names the service s3. */
function isS3Request(headers) {
  const a = headers.authorization;
  return typeof a === 'string' && /Credential=[^,\s]*\/s3\/aws4_request/.test(a);
}

/** Percent-encode a key as a URL-encoded ListObjectsV2 answer does (encoding-type=url). */
function urlEncodeKey(key) {
  return encodeURIComponent(key).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%2F/g, '/');
}

class S3Store {
  constructor() {
    this.buckets = new Map(); // name -> Map(key -> {body, etag, lastModified, contentType})
    this.maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES;
  }

  reset() {
    this.buckets.clear();
  }

  bucket(name, create = false) {
    let b = this.buckets.get(name);
    if (!b && create) {
      b = new Map();
      this.buckets.set(name, b);
    }
    return b || null;
  }

  put(bucket, key, body, contentType = 'application/octet-stream', now = Date.now()) {
    const etag = `"${crypto.createHash('md5').update(body).digest('hex')}"`;
    this.bucket(bucket, true).set(key, { body, etag, lastModified: now, contentType });
    return etag;
  }

  get(bucket, key) {
    const b = this.bucket(bucket);
    return b ? b.get(key) || null : null;
  }

  /** Keys of bucket starting with prefix, sorted (UTF-8 byte order, as S3). */
  keys(bucket, prefix = '') {
    const b = this.bucket(bucket);
    if (!b) return [];
    return [...b.keys()].filter((k) => k.startsWith(prefix)).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  }

  /** Summary for the admin API: buckets with their object count and bytes. */
  summary() {
    const out = {};
    for (const [name, b] of this.buckets) {
      let bytes = 0;
      for (const o of b.values()) bytes += o.body.length;
      out[name] = { objects: b.size, bytes };
    }
    return out;
  }

  /** ListObjectsV2 (query decoded). Returns a response. */
  list(bucket, query, requestId) {
    if (!this.bucket(bucket)) return s3Error('NoSuchBucket', 'The specified bucket does not exist', requestId, { BucketName: bucket });
    const prefix = typeof query.prefix === 'string' ? query.prefix : '';
    const delimiter = typeof query.delimiter === 'string' && query.delimiter !== '' ? query.delimiter : null;
    let maxKeys = 1000;
    if (query['max-keys'] !== undefined) {
      maxKeys = Number(query['max-keys']);
      if (!Number.isInteger(maxKeys) || maxKeys < 0) return s3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', requestId);
      maxKeys = Math.min(maxKeys, 1000);
    }
    const urlEnc = query['encoding-type'] === 'url';
    if (query['encoding-type'] !== undefined && !urlEnc) return s3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', requestId);
    let after = typeof query['start-after'] === 'string' ? query['start-after'] : '';
    const token = query['continuation-token'];
    if (typeof token === 'string') {
      after = Buffer.from(token, 'base64').toString('utf8');
      if (!token || Buffer.from(after, 'utf8').toString('base64') !== token) return s3Error('InvalidArgument', 'The continuation token provided is incorrect', requestId);
    }
    const enc = (k) => xmlEscape(urlEnc ? urlEncodeKey(k) : k);
    const contents = [];
    const common = new Set();
    let truncated = false;
    let lastKey = null;
    for (const key of this.keys(bucket, prefix)) {
      if (after && Buffer.compare(Buffer.from(key), Buffer.from(after)) <= 0) continue;
      if (contents.length + common.size >= maxKeys) {
        truncated = true;
        break;
      }
      if (delimiter) {
        const i = key.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          common.add(key.slice(0, i + delimiter.length));
          lastKey = key;
          continue;
        }
      }
      contents.push(key);
      lastKey = key;
    }
    const b = this.bucket(bucket);
    let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
    xml += `<Name>${xmlEscape(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>`;
    if (typeof token === 'string') xml += `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`;
    if (query['start-after'] !== undefined) xml += `<StartAfter>${enc(query['start-after'])}</StartAfter>`;
    xml += `<KeyCount>${contents.length + common.size}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>`;
    if (delimiter) xml += `<Delimiter>${enc(delimiter)}</Delimiter>`;
    if (urlEnc) xml += '<EncodingType>url</EncodingType>';
    xml += `<IsTruncated>${truncated}</IsTruncated>`;
    if (truncated && lastKey !== null) xml += `<NextContinuationToken>${Buffer.from(lastKey, 'utf8').toString('base64')}</NextContinuationToken>`;
    for (const key of contents) {
      const o = b.get(key);
      xml += `<Contents><Key>${enc(key)}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified>` +
        `<ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
    }
    for (const p of common) xml += `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`;
    xml += '</ListBucketResult>';
    return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(xml) };
  }
}

/** The S3 XML error for a failed SigV4 verification (reasons of sigv4.verifyRequest). */
function authError(v, requestId) {
  switch (v.reason) {
    case 'missing':
      return s3Error('AccessDenied', 'Access Denied', requestId);
    case 'unknown_key':
      return s3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', requestId);
    case 'expired':
      return s3Error('ExpiredToken', 'The provided token has expired.', requestId);
    case 'skew':
      return s3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', requestId);
    case 'mismatch':
      return s3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', requestId);
    default:
      return s3Error('AuthorizationHeaderMalformed', v.message || 'The authorization header is malformed.', requestId);
  }
}

/**
 * Serve one S3 request. ctx: {req, rawHeaders, body (Buffer), store (S3Store), credStore, region,
 * now, requestId}. Returns a response {status, headers, body, errorCode?}.
 */
async function handleS3(ctx) {
  const { req, body, store, requestId } = ctx;
  const headers = collectHeaders(ctx.rawHeaders);
  const sha = headers['x-amz-content-sha256'];
  if (sha === undefined) return s3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', requestId);
  if (sha !== 'UNSIGNED-PAYLOAD') {
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (!/^[0-9a-f]{64}$/.test(sha)) return s3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.', requestId);
    if (sha !== actual) {
      return s3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", requestId, {
        ClientComputedContentSHA256: sha,
        S3ComputedContentSHA256: actual,
      });
    }
  }
  const signedList = /SignedHeaders=([^,\s]+)/.exec(headers.authorization || '');
  if (signedList && !signedList[1].split(';').includes('x-amz-content-sha256')) {
    return s3Error('AccessDenied', 'There were headers present in the request which were not signed', requestId, { HeadersNotSigned: 'x-amz-content-sha256' });
  }
  const v = await verifyRequest(
    { method: req.method, url: req.url, rawHeaders: ctx.rawHeaders, body },
    { store: ctx.credStore, region: ctx.region, now: ctx.now, service: 's3', allowBearer: false, s3: true },
  );
  if (!v.ok) return { ...authError(v, requestId), reason: v.reason, auth: v.auth };

  const { path, query } = splitTarget(req.url);
  const slash = path.indexOf('/', 1);
  const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
  let key;
  try {
    key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
  } catch {
    return s3Error('InvalidArgument', 'The object key is not valid percent-encoded UTF-8.', requestId);
  }
  if (!BUCKET_RE.test(bucket)) return s3Error('InvalidBucketName', 'The specified bucket is not valid.', requestId, { BucketName: bucket });
  const ok = (extra = {}) => ({ status: 200, headers: extra, body: Buffer.alloc(0), auth: v.auth });

  if (key === '') {
    if (req.method === 'GET' && query['list-type'] === '2') return { ...store.list(bucket, query, requestId), auth: v.auth };
    return s3Error('NotImplemented', 'The emulator implements only ListObjectsV2 (list-type=2) on buckets.', requestId);
  }
  switch (req.method) {
    case 'PUT': {
      if (headers['content-length'] === undefined && !headers['transfer-encoding']) return s3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.', requestId);
      if (body.length > store.maxObjectBytes) return s3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', requestId);
      const etag = store.put(bucket, key, body, headers['content-type'] || 'application/octet-stream', ctx.now);
      return ok({ ETag: etag });
    }
    case 'GET':
    case 'HEAD': {
      const o = store.get(bucket, key);
      if (!o) {
        if (req.method === 'HEAD') return { status: 404, headers: {}, body: Buffer.alloc(0), errorCode: 'NoSuchKey', auth: v.auth };
        return s3Error('NoSuchKey', 'The specified key does not exist.', requestId, { Key: key });
      }
      const h = { 'Content-Type': o.contentType, ETag: o.etag, 'Last-Modified': new Date(o.lastModified).toUTCString() };
      if (req.method === 'HEAD') return { status: 200, headers: h, body: Buffer.alloc(0), auth: v.auth, headLength: o.body.length };
      return { status: 200, headers: h, body: o.body, auth: v.auth };
    }
    case 'DELETE': {
      const b = store.bucket(bucket);
      if (b) b.delete(key);
      return { status: 204, headers: {}, body: Buffer.alloc(0), auth: v.auth };
    }
    default:
      return s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', requestId);
  }
}

module.exports = { S3Store, handleS3, isS3Request, s3Error, urlEncodeKey, BUCKET_RE, DEFAULT_MAX_OBJECT_BYTES };
