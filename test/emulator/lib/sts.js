'use strict';
// STS (Query protocol, XML responses): GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity.
// Reference: aws-protocol.md section 6.5. Requests are POST / with a form-encoded body
// (Action=...&Version=2011-06-15&...); GET /?Action=... works too. Responses are text/xml in the
// namespace below; errors are <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.

const { identityOf, uniqueId } = require('./credentials');

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const STS_VERSION = '2011-06-15';

// code -> [HTTP status, default message]
const STS_CODES = {
  AccessDenied: [403, 'Access denied'],
  InvalidClientTokenId: [403, 'The security token included in the request is invalid'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'],
  // the CALLER's credentials expired: real STS answers "ExpiredToken" (403); the modeled
  // ExpiredTokenException (400) is for an expired web identity token
  ExpiredToken: [403, 'The security token included in the request is expired'],
  ExpiredTokenException: [400, 'Token expired'],
  MissingAuthenticationToken: [403, 'Request is missing Authentication Token'],
  IncompleteSignature: [400, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."],
  InvalidIdentityToken: [400, 'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)'],
  IDPRejectedClaim: [403, 'Incorrect token audience'],
  IDPCommunicationError: [400, "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"],
  ValidationError: [400, 'Validation error'],
  InvalidAction: [400, 'The action or operation requested is invalid. Verify that the action is typed correctly.'],
  MissingAction: [400, 'The request is missing an action or a required parameter.'],
  MalformedPolicyDocument: [400, 'The policy document is malformed.'],
  PackedPolicyTooLarge: [400, 'Packed policy consumes 100% of allotted space, please use smaller policy.'],
  RegionDisabledException: [403, 'STS is not activated in this region for account. Your account administrator can activate STS in this region using the IAM Console.'],
  Throttling: [400, 'Rate exceeded'],
  InternalFailure: [500, 'An internal error occurred.'],
  ServiceUnavailable: [503, 'Service is unavailable.'],
};

// SigV4 rejection reason (lib/sigv4.js) -> STS code
const REJECT_CODES = {
  missing: 'MissingAuthenticationToken',
  incomplete: 'IncompleteSignature',
  unknown_key: 'InvalidClientTokenId',
  expired: 'ExpiredToken',
  scope: 'SignatureDoesNotMatch',
  skew: 'SignatureDoesNotMatch',
  mismatch: 'SignatureDoesNotMatch',
  bearer: 'IncompleteSignature',
};

/** Escape XML text content (quotes stay literal, as in element text they need no escaping). */
function xmlEscape(s) {
  return String(s).replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]);
}

/** ISO 8601 without milliseconds, as STS and IMDS print times. */
function isoSeconds(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function xml(status, text, errorCode) {
  return { status, headers: { 'Content-Type': 'text/xml' }, body: Buffer.from(text), errorCode: errorCode || null };
}

/** An STS ErrorResponse. opts: {status, message, requestId} */
function stsError(code, opts = {}) {
  const info = STS_CODES[code] || [opts.status || 400, code];
  const status = opts.status || info[0];
  const message = opts.message != null ? String(opts.message) : info[1];
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return xml(
    status,
    `<ErrorResponse xmlns="${STS_NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${xmlEscape(code)}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n  <RequestId>${opts.requestId || ''}</RequestId>\n</ErrorResponse>\n`,
    code,
  );
}

/** Map a failed SigV4 verification to the STS error. */
function stsAuthError(v, requestId) {
  const code = REJECT_CODES[v.reason] || 'SignatureDoesNotMatch';
  const keepMessage = code === 'SignatureDoesNotMatch' || code === 'IncompleteSignature';
  return stsError(code, { message: keepMessage && v.message ? v.message.trim() : undefined, requestId });
}

/** Render a successful response: element tree given as nested [name, value|children] pairs. */
function stsResponse(action, result, requestId) {
  const render = (items, indent) =>
    items
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => (Array.isArray(v) ? `${indent}<${k}>\n${render(v, `${indent}  `)}${indent}</${k}>\n` : `${indent}<${k}>${xmlEscape(v)}</${k}>\n`))
      .join('');
  return xml(
    200,
    `<${action}Response xmlns="${STS_NS}">\n  <${action}Result>\n${render(result, '    ')}  </${action}Result>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  );
}

/** Query parameters: the URL query, then (POST, form content type) the body, which wins. */
function parseParams(body, contentType, query) {
  const params = {};
  for (const [k, v] of Object.entries(query || {})) params[k] = Array.isArray(v) ? v[v.length - 1] : v;
  if (body && body.length && /^application\/x-www-form-urlencoded\b/i.test(contentType || '')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = v;
  }
  return params;
}

/** Coral-style validation message for a list of "Value … at '…' failed to satisfy constraint: …" items. */
function validationError(errors, requestId) {
  const n = errors.length;
  return stsError('ValidationError', { message: `${n} validation error${n === 1 ? '' : 's'} detected: ${errors.join('; ')}`, requestId });
}

function checkString(errors, params, name, member, { required = false, min = 0, max = Infinity, pattern = null, patternText = null }) {
  const v = params[name];
  if (v === undefined) {
    if (required) errors.push(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
    return;
  }
  if (v.length < min) errors.push(`Value '${v}' at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`);
  else if (v.length > max) errors.push(`Value '${v.slice(0, 64)}…' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  else if (pattern && !pattern.test(v)) errors.push(`Value '${v}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${patternText}`);
}

/** DurationSeconds: returns the number (default 3600) or pushes an error. */
function checkDuration(errors, params) {
  const raw = params.DurationSeconds;
  if (raw === undefined) return 3600;
  if (!/^-?\d{1,12}$/.test(raw)) {
    errors.push(`Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`);
    return null;
  }
  const n = Number(raw);
  if (n < 900) errors.push(`Value '${n}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
  else if (n > 43200) errors.push(`Value '${n}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`);
  return n;
}

const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

function commonValidation(params, errors) {
  checkString(errors, params, 'RoleArn', 'roleArn', { required: true, min: 20, max: 2048 });
  checkString(errors, params, 'RoleSessionName', 'roleSessionName', { required: true, min: 2, max: 64, pattern: /^[\w+=,.@-]*$/, patternText: '[\\w+=,.@-]*' });
  checkString(errors, params, 'SourceIdentity', 'sourceIdentity', { min: 2, max: 64, pattern: /^[\w+=,.@-]*$/, patternText: '[\\w+=,.@-]*' });
  checkString(errors, params, 'Policy', 'policy', { min: 1, max: 2048 });
  return checkDuration(errors, params);
}

function assumedIdentity(roleArn, account, sessionName) {
  const m = ROLE_ARN_RE.exec(roleArn);
  const roleName = m[2];
  return {
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
    userId: `${uniqueId('AROA', roleArn)}:${sessionName}`,
    account,
  };
}

function credentialsXml(cred) {
  return [
    ['AccessKeyId', cred.accessKeyId],
    ['SecretAccessKey', cred.secretAccessKey],
    ['SessionToken', cred.sessionToken],
    ['Expiration', isoSeconds(cred.expiration)],
  ];
}

function packedPolicySize(params) {
  return params.Policy ? Math.min(100, Math.max(1, Math.ceil(params.Policy.length / 20))) : undefined;
}

/**
 * Session tags of AssumeRole (Tags.member.N.Key / .Value, N from 1): {tags: {key: value}} or
 * {error} for a gap, a missing half, more than 50 tags, a key of 1-128 or value of 0-256
 * characters outside the allowed set, or a key given twice (keys compare case-insensitively).
 */
function sessionTags(params) {
  const tags = {};
  const seen = new Set();
  const ok = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
  for (let n = 1; ; n++) {
    const k = params[`Tags.member.${n}.Key`];
    const v = params[`Tags.member.${n}.Value`];
    if (k === undefined && v === undefined) break;
    if (n > 50) return { error: "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50" };
    if (k === undefined || v === undefined) return { error: `Value null at 'tags.${n}.member.${k === undefined ? 'key' : 'value'}' failed to satisfy constraint: Member must not be null` };
    if (k.length < 1 || k.length > 128 || !ok.test(k)) return { error: `Value '${k}' at 'tags.${n}.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+` };
    if (v.length > 256 || !ok.test(v)) return { error: `Value '${v}' at 'tags.${n}.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*` };
    if (seen.has(k.toLowerCase())) return { error: `Duplicate tag keys found. Please note that Tag keys are case insensitive.` };
    seen.add(k.toLowerCase());
    tags[k] = v;
  }
  return { tags };
}

/**
 * Handle one STS action. ctx: {svc (CredentialServices), params, caller (store entry; null for
 * AssumeRoleWithWebIdentity), requestId}. Returns a response with meta {action, fetch, issued}.
 */
function handleSts({ svc, params, caller, requestId }) {
  const action = params.Action;
  const now = svc.now();
  const meta = { action: action || null };
  const done = (r, extra = {}) => Object.assign(r, { meta: { ...meta, ...extra } });

  if (action === 'GetCallerIdentity') {
    const id = identityOf(caller);
    return done(stsResponse('GetCallerIdentity', [['Arn', id.arn], ['UserId', id.userId], ['Account', id.account]], requestId), { fetch: 'getCallerIdentity' });
  }

  if (action === 'AssumeRole') {
    const errors = [];
    const duration = commonValidation(params, errors);
    checkString(errors, params, 'ExternalId', 'externalId', { min: 2, max: 1224, pattern: /^[\w+=,.@:/-]*$/, patternText: '[\\w+=,.@:\\/-]*' });
    if (errors.length) return done(validationError(errors, requestId));
    const roleArn = params.RoleArn;
    if (!ROLE_ARN_RE.test(roleArn)) return done(stsError('ValidationError', { message: `${roleArn} is invalid`, requestId }));
    const tags = sessionTags(params);
    if (tags.error) return done(validationError([tags.error], requestId));
    const callerId = identityOf(caller);
    const role = svc.roles.get(roleArn);
    // what STS saw, for the tests (never the external id itself: whether it matched)
    const seen = { at: new Date(now).toISOString(), caller: callerId.arn, roleArn, sessionName: params.RoleSessionName, durationSeconds: duration, externalIdGiven: params.ExternalId !== undefined, tags: tags.tags, outcome: 'ok' };
    svc.recordAssumeRole(seen);
    const denied = (why) => {
      seen.outcome = why;
      return stsError('AccessDenied', { message: `User: ${callerId.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, requestId });
    };
    if (!role) return done(denied('no such role'));
    if (role.externalId != null && params.ExternalId !== role.externalId) return done(denied('external id mismatch'));
    // role chaining (temporary credentials assuming a role) is limited to one hour
    if (caller.sessionToken && duration > 3600) {
      return done(stsError('ValidationError', { message: 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.', requestId }));
    }
    const identity = assumedIdentity(roleArn, role.account, params.RoleSessionName);
    const cred = svc.issueSts({ source: 'sts', duration, identity, roleArn });
    return done(
      stsResponse(
        'AssumeRole',
        [
          ['SourceIdentity', params.SourceIdentity],
          ['AssumedRoleUser', [['Arn', identity.arn], ['AssumedRoleId', identity.userId]]],
          ['Credentials', credentialsXml(cred)],
          ['PackedPolicySize', packedPolicySize(params)],
        ],
        requestId,
      ),
      { fetch: 'assumeRole', issued: cred },
    );
  }

  if (action === 'AssumeRoleWithWebIdentity') {
    const errors = [];
    const duration = commonValidation(params, errors);
    checkString(errors, params, 'WebIdentityToken', 'webIdentityToken', { required: true, min: 4, max: 20000 });
    checkString(errors, params, 'ProviderId', 'providerId', { min: 4, max: 2048 });
    if (errors.length) return done(validationError(errors, requestId));
    const roleArn = params.RoleArn;
    if (!ROLE_ARN_RE.test(roleArn)) return done(stsError('ValidationError', { message: `${roleArn} is invalid`, requestId }));
    const tok = svc.webTokens.get(params.WebIdentityToken);
    if (!tok) return done(stsError('InvalidIdentityToken', { requestId }));
    if (tok.expiration != null && tok.expiration <= now) {
      return done(stsError('ExpiredTokenException', { message: `Token expired: current date/time ${Math.floor(now / 1000)} must be before the expiration date/time${Math.floor(tok.expiration / 1000)}`, requestId }));
    }
    const role = svc.roles.get(roleArn);
    if (!role) return done(stsError('AccessDenied', { message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity', requestId }));
    const identity = assumedIdentity(roleArn, role.account, params.RoleSessionName);
    const cred = svc.issueSts({ source: 'web-identity', duration, identity, roleArn });
    return done(
      stsResponse(
        'AssumeRoleWithWebIdentity',
        [
          ['SubjectFromWebIdentityToken', tok.subject],
          ['Audience', tok.audience],
          ['AssumedRoleUser', [['Arn', identity.arn], ['AssumedRoleId', identity.userId]]],
          ['Credentials', credentialsXml(cred)],
          ['SourceIdentity', params.SourceIdentity],
          ['Provider', tok.provider],
          ['PackedPolicySize', packedPolicySize(params)],
        ],
        requestId,
      ),
      { fetch: 'assumeRoleWithWebIdentity', issued: cred },
    );
  }

  if (action === undefined || action === '') return done(stsError('MissingAction', { message: 'Missing Action', requestId }));
  return done(stsError('InvalidAction', { message: `Could not find operation ${action} for version ${params.Version || 'NO_VERSION_SPECIFIED'}`, requestId }));
}

/** Version check (before auth, like the real front end): wrong or missing Version -> InvalidAction. */
function checkVersion(params, requestId) {
  if (params.Action === undefined || params.Action === '') return stsError('MissingAction', { message: 'Missing Action', requestId });
  if (params.Version !== STS_VERSION) {
    return stsError('InvalidAction', { message: `Could not find operation ${params.Action} for version ${params.Version || 'NO_VERSION_SPECIFIED'}`, requestId });
  }
  if (!['GetCallerIdentity', 'AssumeRole', 'AssumeRoleWithWebIdentity'].includes(params.Action)) {
    return stsError('InvalidAction', { message: `Could not find operation ${params.Action} for version ${params.Version}`, requestId });
  }
  return null;
}

module.exports = { STS_NS, STS_VERSION, STS_CODES, ROLE_ARN_RE, stsError, stsAuthError, stsResponse, parseParams, handleSts, checkVersion, isoSeconds, xmlEscape };
