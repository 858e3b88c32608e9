'use strict';
// Error catalogue: HTTP status, x-amzn-ErrorType namespace and default message per code
// (reference aws-protocol.md sections 3.1 and 3.2).

const NS_BEDROCK = 'http://internal.amazon.com/coral/com.amazon.bedrock/';
const NS_CORAL = 'http://internal.amazon.com/coral/com.amazon.coral.service/';

// code -> [status, namespace, default message]
const CODES = {
  // service errors (Bedrock namespace)
  ValidationException: [400, NS_BEDROCK, 'The provided model identifier is invalid.'],
  AccessDeniedException: [403, NS_BEDROCK, "You don't have access to the model with the specified model ID."],
  ResourceNotFoundException: [404, NS_BEDROCK, 'The specified resource could not be found.'],
  ThrottlingException: [429, NS_BEDROCK, 'Too many requests, please wait before trying again.'],
  ModelNotReadyException: [429, NS_BEDROCK, 'Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation up to 5 times. For information about configuring automatic retries, see Retry behavior in the AWS SDKs and Tools reference guide.'],
  ModelTimeoutException: [408, NS_BEDROCK, 'Model has timed out in processing the request. Try your request again.'],
  ModelErrorException: [424, NS_BEDROCK, 'Received a non-200 status code from the model. Try your request again.'],
  ModelStreamErrorException: [424, NS_BEDROCK, 'The model returned an error while streaming the response.'],
  ServiceQuotaExceededException: [400, NS_BEDROCK, 'Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later.'],
  ConflictException: [400, NS_BEDROCK, 'The request conflicts with the current state of the resource.'],
  InternalServerException: [500, NS_BEDROCK, 'The server encountered an internal error while processing the request.'],
  ServiceUnavailableException: [503, NS_BEDROCK, 'The service is temporarily unable to handle the request.'],
  // auth / front-end layer (Coral service namespace)
  MissingAuthenticationTokenException: [403, NS_CORAL, 'Missing Authentication Token'],
  IncompleteSignatureException: [400, NS_CORAL, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."],
  UnrecognizedClientException: [403, NS_CORAL, 'The security token included in the request is invalid.'],
  ExpiredTokenException: [403, NS_CORAL, 'The security token included in the request is expired'],
  InvalidSignatureException: [403, NS_CORAL, 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'],
  UnknownOperationException: [404, NS_CORAL, 'The requested operation is not recognized by the service.'],
  RequestEntityTooLargeException: [413, NS_CORAL, 'Request entity too large'],
  SerializationException: [400, NS_CORAL, 'Unable to parse the request body.'],
};

// Codes whose namespace is the Coral service one even if they also exist as service errors:
// AccessDenied raised by the API-key (bearer) layer uses NS_CORAL; callers pass ns explicitly.

function errorInfo(code) {
  return CODES[code] || null;
}

/**
 * Build a response object {status, headers, body} for an AWS-style JSON error.
 * opts: {status, message, ns, extra (object merged into the body), capitalMessage}
 */
function awsError(code, opts = {}) {
  const info = CODES[code] || [opts.status || 400, NS_BEDROCK, code];
  const status = opts.status || info[0];
  const ns = opts.ns || info[1];
  const message = opts.message != null ? String(opts.message) : info[2];
  const useCapital = opts.capitalMessage != null ? opts.capitalMessage : code === 'AccessDeniedException';
  const body = useCapital ? { Message: message } : { message };
  if (opts.extra) Object.assign(body, opts.extra);
  return {
    status,
    headers: {
      'Content-Type': 'application/json',
      'x-amzn-ErrorType': `${code}:${ns}`,
    },
    body: Buffer.from(JSON.stringify(body)),
    errorCode: code,
  };
}

function validation(message) {
  return awsError('ValidationException', { message });
}

function malformed(detail) {
  return validation(`Malformed input request: ${detail}, please reformat your input and try again.`);
}

module.exports = { NS_BEDROCK, NS_CORAL, CODES, errorInfo, awsError, validation, malformed };
