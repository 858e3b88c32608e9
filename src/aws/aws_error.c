/*-------------------------------------------------------------------------
 *
 * aws_error.c
 *	  Parse Bedrock error responses and map every failure to a documented
 *	  SQLSTATE, with the AWS details and a hint for the usual causes.
 *
 * Error responses follow the rest-json convention: the code is in the
 * x-amzn-ErrorType header ("Code:namespace-url"), else in the body's
 * code / Code / __type; the message is the body's message or Message;
 * the request id is x-amzn-RequestId.
 *
 * The SQLSTATE table here is the one docs/errors.md documents; keep the two
 * in step.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/aws_error.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "aws_error.h"
#include "xml_util.h"
#include "bedrock_fdw.h"

/* Longest AWS or transport message we carry into an error. */
#define MAX_MESSAGE_LEN 1000

typedef struct AwsErrorClass
{
	const char *code;
	int			sqlstate;
	const char *hint;
} AwsErrorClass;

static const char HINT_CREDENTIALS[] =
"Check bedrock.access_key_id and bedrock.secret_access_key (or the server's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), the session token of temporary credentials, and that the server clock is within 5 minutes of the real time.";
static const char HINT_EXPIRED[] =
"The temporary credentials have expired: supply fresh ones (bedrock.session_token with its key pair, or the environment).";
static const char HINT_ACCESS_DENIED[] =
"The IAM principal needs bedrock:InvokeModel on this model (Converse uses it too), access to the model must be enabled in the Bedrock console for this account and region, and no SCP or permissions boundary may deny it.";
static const char HINT_THROTTLED[] =
"Bedrock throttled the calls after all retries: lower the request rate or concurrency, raise bedrock.max_attempts, request a quota increase, or use a cross-region inference profile such as \"us.<model id>\".";

static const AwsErrorClass aws_error_classes[] = {
	{"ValidationException", ERRCODE_INVALID_PARAMETER_VALUE, NULL},
	{"AccessDeniedException", ERRCODE_INSUFFICIENT_PRIVILEGE, HINT_ACCESS_DENIED},
	{"ResourceNotFoundException", ERRCODE_UNDEFINED_OBJECT,
	"Check the model, inference profile or guardrail id and the region (bedrock.region)."},
	{"UnrecognizedClientException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_CREDENTIALS},
	{"InvalidSignatureException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_CREDENTIALS},
	{"IncompleteSignatureException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_CREDENTIALS},
	{"MissingAuthenticationTokenException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_CREDENTIALS},
	{"InvalidClientTokenId", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_CREDENTIALS},
	{"SignatureDoesNotMatch", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_CREDENTIALS},
	{"ExpiredTokenException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_EXPIRED},
	{"ExpiredToken", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, HINT_EXPIRED},
	{"ThrottlingException", ERRCODE_INSUFFICIENT_RESOURCES, HINT_THROTTLED},
	{"TooManyRequestsException", ERRCODE_INSUFFICIENT_RESOURCES, HINT_THROTTLED},
	{"ServiceQuotaExceededException", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
	"A Bedrock service quota of the account was reached; see Service Quotas for Amazon Bedrock in this region."},
	{"ModelNotReadyException", ERRCODE_CANNOT_CONNECT_NOW,
	"The model is not ready to serve requests yet; try again shortly."},
	{"ModelTimeoutException", ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
	"The model took too long to process the request: shorten the prompt or lower max_tokens."},
	{"ModelErrorException", ERRCODE_EXTERNAL_ROUTINE_EXCEPTION, NULL},
	{"ModelStreamErrorException", ERRCODE_EXTERNAL_ROUTINE_EXCEPTION, NULL},
	{"ConflictException", ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, NULL},
	{"InternalServerException", ERRCODE_SYSTEM_ERROR,
	"Bedrock had an internal error; the call was retried up to bedrock.max_attempts times."},
	{"ServiceUnavailableException", ERRCODE_SYSTEM_ERROR,
	"Bedrock was unavailable; the call was retried up to bedrock.max_attempts times."},
	{AWS_CODE_MALFORMED_RESPONSE, ERRCODE_PROTOCOL_VIOLATION,
	"The endpoint did not answer like Bedrock Runtime: check bedrock.endpoint."},
};

/*
 * clean_message
 *		A message fit for an error report: valid in the server encoding,
 *		without secrets (a signature error's quoted canonical request is
 *		cut, any session token or other known secret masked: see
 *		bedrock_redact_remote), control characters replaced, trailing
 *		period and blanks removed, at most MAX_MESSAGE_LEN bytes.
 */
static char *
clean_message(const char *s, size_t len)
{
	char	   *out;
	char	   *p;
	size_t		n;

	if (len > MAX_MESSAGE_LEN)
		len = pg_mbcliplen(s, len, MAX_MESSAGE_LEN);
	if (!pg_verify_mbstr(PG_UTF8, s, len, true))
		return pstrdup("(message is not valid UTF-8)");
	out = bedrock_redact_remote(utf8_to_server(s, len));
	for (p = out; *p; p++)
	{
		if ((unsigned char) *p < ' ')
			*p = ' ';
	}
	n = strlen(out);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '.'))
		out[--n] = '\0';
	return out;
}

/*
 * classify
 *		Fill sqlstate and hint from the code, the HTTP status and the
 *		message (for the ValidationExceptions that have a usual fix).
 */
static void
classify(AwsError *err)
{
	int			i;

	err->sqlstate = 0;
	err->hint = NULL;
	for (i = 0; i < lengthof(aws_error_classes); i++)
	{
		if (strcmp(err->code, aws_error_classes[i].code) == 0)
		{
			err->sqlstate = aws_error_classes[i].sqlstate;
			err->hint = aws_error_classes[i].hint;
			break;
		}
	}
	if (err->sqlstate == 0)
	{
		if (err->http_status == 429)
		{
			err->sqlstate = ERRCODE_INSUFFICIENT_RESOURCES;
			err->hint = HINT_THROTTLED;
		}
		else if (err->http_status >= 500)
			err->sqlstate = ERRCODE_SYSTEM_ERROR;
		else if (err->http_status == 401 || err->http_status == 403)
		{
			err->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
			err->hint = HINT_ACCESS_DENIED;
		}
		else
			err->sqlstate = ERRCODE_FDW_ERROR;
	}

	if (strcmp(err->code, "ValidationException") == 0)
	{
		if (strstr(err->message, "model identifier is invalid") != NULL)
			err->hint = "Check the model id (bedrock_chat's first argument) and that the model is offered in bedrock.region; newer models are called through an inference profile id such as \"us.<model id>\".";
		else if (strstr(err->message, "on-demand throughput") != NULL)
			err->hint = "Call the model through an inference profile that contains it: its id is the model id with a geography prefix, such as \"us.<model id>\", or its ARN.";
		else if (strstr(err->message, "too long") != NULL)
			err->hint = "The prompt exceeds the model's context window: shorten it or use a model with a larger one.";
	}
	/* a request signed for a region the endpoint does not serve */
	if (strstr(err->message, "scoped to a valid region") != NULL ||
		strstr(err->message, "scoped to correct region") != NULL)
		err->hint = psprintf("Requests are signed for bedrock.region (\"%s\"): set it to the region of bedrock.endpoint, or leave bedrock.endpoint empty to use that region's endpoint.",
							 bedrock_region ? bedrock_region : "");
}

/*
 * body_string
 *		Value of a top-level string member of a JSON error body, or NULL
 *		when the body is not a JSON object or lacks it.
 */
static char *
body_string(Jsonb *body, const char *key)
{
	if (body == NULL)
		return NULL;
	return json_get_string(&body->root, key);
}

/*
 * aws_error_from_response
 *		Describe an HTTP response with a non-2xx status.
 */
void
aws_error_from_response(const HttpResponse *resp, AwsError *err)
{
	const char *type_header = http_response_header(resp, "x-amzn-ErrorType");
	const char *rid = http_response_header(resp, "x-amzn-RequestId");
	char	   *xml_code = NULL;
	Jsonb	   *body = NULL;
	char	   *code = NULL;
	char	   *message;
	char	   *p;

	memset(err, 0, sizeof(*err));
	err->transport = HTTP_RESPONSE_RECEIVED;
	err->http_status = resp->status;
	if (rid == NULL)
		rid = http_response_header(resp, "x-amz-request-id");	/* S3 */
	err->request_id = rid ? pstrdup(rid) : NULL;

	if (resp->body_len > 0)
		body = json_parse_utf8(resp->body, resp->body_len);
	if (body == NULL && resp->body_len > 0)
		xml_code = xml_element_text(resp->body, resp->body_len, "Error/Code");

	if (type_header != NULL && type_header[0] != '\0')
		code = pstrdup(type_header);
	if (code == NULL)
		code = xml_code;		/* S3 answers in XML */
	if (code == NULL)
		code = body_string(body, "code");
	if (code == NULL)
		code = body_string(body, "Code");
	if (code == NULL)
		code = body_string(body, "__type");
	if (code != NULL)
	{
		/* "Code:namespace" and "namespace#Code" both reduce to Code */
		if ((p = strchr(code, ':')) != NULL)
			*p = '\0';
		if ((p = strrchr(code, '#')) != NULL)
			code = p + 1;
		code = clean_message(code, strlen(code));
	}
	if (code == NULL || code[0] == '\0')
		code = psprintf("HTTP%ld", resp->status);
	err->code = code;

	message = body_string(body, "message");
	if (message == NULL)
		message = body_string(body, "Message");
	if (message == NULL && xml_code != NULL)
		message = xml_element_text(resp->body, resp->body_len, "Error/Message");
	if (message != NULL)
		err->message = clean_message(message, strlen(message));
	else if (body == NULL && xml_code == NULL && resp->body_len > 0)
	{
		/* an HTML page from a proxy or load balancer is no message */
		const char *ctype = http_response_header(resp, "Content-Type");

		if (ctype != NULL && strncmp(ctype, "text/plain", 10) == 0)
			err->message = clean_message(resp->body, resp->body_len);
		else
			err->message = psprintf("HTTP status %ld with a response body that is not JSON (%s)",
									resp->status, ctype ? clean_message(ctype, strlen(ctype)) : "no content type");
	}
	else
		err->message = psprintf("HTTP status %ld", resp->status);

	classify(err);
}

/*
 * aws_error_from_transport
 *		Describe a transfer that ended without a usable response.
 */
void
aws_error_from_transport(const HttpResponse *resp, long timeout_ms,
						 AwsError *err)
{
	const char *detail = resp->transport_error ? resp->transport_error : "unknown error";

	memset(err, 0, sizeof(*err));
	err->transport = resp->outcome;
	err->http_status = resp->status;
	err->message = clean_message(detail, strlen(detail));
	switch (resp->outcome)
	{
		case HTTP_FAILED_DNS:
			err->code = "NameResolutionFailure";
			err->sqlstate = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			err->hint = "Check bedrock.endpoint and bedrock.region, and the server's DNS.";
			break;
		case HTTP_FAILED_CONNECT:
			err->code = "ConnectionRefused";
			err->sqlstate = ERRCODE_SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION;
			err->hint = "Check bedrock.endpoint, and that the server can reach it (security groups, VPC endpoint, proxy).";
			break;
		case HTTP_FAILED_TLS:
			err->code = "TlsFailure";
			err->sqlstate = ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
			err->hint = "No TLS session could be established: check that bedrock.endpoint speaks HTTPS and that its certificate verifies against the system CA store or bedrock.ca_file.";
			break;
		case HTTP_FAILED_TIMEOUT:
			err->code = "RequestTimeout";
			err->sqlstate = ERRCODE_CONNECTION_EXCEPTION;
			err->message = psprintf("no complete response within %ld ms", timeout_ms);
			err->hint = "Raise the timeout_ms option or bedrock.timeout_ms for long generations.";
			break;
		case HTTP_FAILED_CONNECTION_LOST:
			err->code = "ConnectionLost";
			err->sqlstate = ERRCODE_CONNECTION_FAILURE;
			break;
		case HTTP_FAILED_TOO_LARGE:
			err->code = "ResponseTooLarge";
			err->sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			err->message = psprintf("the response exceeds bedrock.max_response_bytes (%d bytes)",
									bedrock_max_response_bytes);
			err->hint = "A superuser can raise bedrock.max_response_bytes.";
			break;
		default:
			err->code = "TransportFailure";
			err->sqlstate = ERRCODE_SYSTEM_ERROR;
			break;
	}
}

/*
 * aws_error_malformed
 *		A 2xx response whose body is not what the operation returns.
 */
void
aws_error_malformed(const HttpResponse *resp, const char *what, AwsError *err)
{
	const char *rid = http_response_header(resp, "x-amzn-RequestId");

	memset(err, 0, sizeof(*err));
	err->transport = HTTP_RESPONSE_RECEIVED;
	err->http_status = resp->status;
	err->request_id = rid ? pstrdup(rid) : NULL;
	err->code = AWS_CODE_MALFORMED_RESPONSE;
	err->message = pstrdup(what);
	classify(err);
}

/*
 * aws_error_append_json
 *		Append {"code", "message", "http_status", "request_id", "sqlstate"}.
 */
void
aws_error_append_json(StringInfo buf, const AwsError *err)
{
	appendStringInfoString(buf, "{\"code\": ");
	json_append_string(buf, err->code);
	appendStringInfoString(buf, ", \"message\": ");
	json_append_string(buf, err->message);
	if (err->http_status > 0)
		appendStringInfo(buf, ", \"http_status\": %ld", err->http_status);
	else
		appendStringInfoString(buf, ", \"http_status\": null");
	appendStringInfoString(buf, ", \"request_id\": ");
	if (err->request_id)
		json_append_string(buf, err->request_id);
	else
		appendStringInfoString(buf, "null");
	appendStringInfo(buf, ", \"sqlstate\": \"%s\"", unpack_sql_state(err->sqlstate));
	if (err->retry_quota_exhausted)
		appendStringInfoString(buf, ", \"retry_quota_exhausted\": true");
	appendStringInfoChar(buf, '}');
}

/*
 * aws_error_raise
 *		Report a failed call as an ERROR: the AWS (or transport) message as
 *		the primary message, the code, status, request id, model and
 *		attempts in the detail (and why it was not retried, when the retry
 *		quota was empty), and a hint for the usual causes.
 */
void
aws_error_raise(const AwsError *err, const char *operation, const char *model,
				int attempts)
{
	StringInfoData detail;

	initStringInfo(&detail);
	if (err->transport == HTTP_RESPONSE_RECEIVED)
		appendStringInfo(&detail, "AWS error %s (HTTP %ld), request id %s, ",
						 err->code, err->http_status,
						 err->request_id ? err->request_id : "none");
	else
		appendStringInfo(&detail, "Transport error %s, ", err->code);
	appendStringInfo(&detail, "model \"%s\", %d attempt%s.",
					 model, attempts, attempts == 1 ? "" : "s");
	if (err->retry_quota_exhausted)
		appendStringInfoString(&detail,
							   " Not retried: the server's retry quota is used up by recent failures.");
	ereport(ERROR,
			(errcode(err->sqlstate),
			 errmsg("Bedrock %s failed: %s", operation, err->message),
			 errdetail_internal("%s", detail.data),
			 err->hint ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}
