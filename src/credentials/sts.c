/*-------------------------------------------------------------------------
 *
 * sts.c
 *	  AWS STS through its Query API at bedrock.sts_endpoint:
 *	  AssumeRoleWithWebIdentity (EKS IRSA and other OIDC federations),
 *	  AssumeRole on top of any credential source, and GetCallerIdentity.
 *
 * Every call is POST / with form-encoded parameters (RFC 3986 encoding of
 * every value, UTF-8) and answers XML.  AssumeRole and GetCallerIdentity
 * are signed with SigV4 (service "sts", bedrock.region; us-east-1 for the
 * global endpoint sts.amazonaws.com); AssumeRoleWithWebIdentity is
 * unsigned, the web identity token being the proof.  Each call makes one
 * attempt: the caller (the credential worker) decides when to try again.
 *
 * Neither the web identity token nor the source credentials nor what STS
 * returns ever reach a message: errors quote STS's error code and message,
 * the HTTP status and the request id.  The request body and header lines
 * that held a secret are wiped once the transfer is over.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/credentials/sts.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "bedrock_fdw.h"
#include "credentials.h"
#include "http.h"
#include "secret_wipe.h"
#include "sigv4.h"
#include "xml_util.h"

#define STS_API_VERSION "2011-06-15"
#define STS_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"
#define STS_GLOBAL_HOST "sts.amazonaws.com"
#define STS_GLOBAL_REGION "us-east-1"
#define STS_TIMEOUT_MS 30000
#define STS_MAX_RESPONSE_BYTES (256 * 1024)
#define ASSUME_ROLE_SUFFIX "+assume_role"

/* One STS call: what to send and what came back. */
typedef struct StsCall
{
	const char *action;			/* "AssumeRole", ... */
	StringInfoData params;		/* "&Name=value..." after Action and Version */
	const AwsCredentials *signer;	/* NULL: unsigned */
	const char *base_url;		/* NULL: bedrock.sts_endpoint */
	const char *region;			/* NULL: bedrock.region */
	HttpResponse resp;			/* a 200 response once sts_call succeeds */
} StsCall;

/* getenv, with an empty value counting as unset */
static const char *
getenv_nonempty(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/*
 * add_param
 *		Append "&name=value" to the call's form parameters, value being
 *		UTF-8 (or ASCII) and percent-encoded per RFC 3986.  The encoded copy
 *		is wiped, as value may be a secret.
 */
static void
add_param(StsCall *call, const char *name, const char *value)
{
	char	   *encoded = sigv4_uri_encode(value, strlen(value), false);

	appendStringInfo(&call->params, "&%s=%s", name, encoded);
	explicit_bzero(encoded, strlen(encoded));
	pfree(encoded);
}

/* add_setting_param: add_param for a value in the server encoding. */
static void
add_setting_param(StsCall *call, const char *name, const char *value)
{
	add_param(call, name, server_to_utf8(value, strlen(value)));
}

/*
 * signed_headers
 *		The header lines of a request signed with signer: Host, Content-Type,
 *		X-Amz-Date, X-Amz-Security-Token (temporary credentials) and
 *		Authorization.
 */
static List *
signed_headers(const AwsCredentials *signer, const char *host_header,
			   const char *path, const char *region, const char *body,
			   size_t body_len)
{
	SigV4Header host = {"Host", host_header};
	SigV4Header ctype = {"Content-Type", STS_CONTENT_TYPE};
	SigV4Request req = {0};
	SigV4Params params = {0};
	SigV4Result sig;
	List	   *lines = NIL;

	req.method = "POST";
	req.path = path;
	req.query = NULL;
	req.headers = list_make2(&host, &ctype);
	req.payload = body;
	req.payload_len = body_len;

	params.region = region;
	params.service = "sts";
	params.access_key_id = signer->access_key_id;
	params.secret_access_key = signer->secret_access_key;
	params.session_token = signer->session_token;
	params.signing_time = (pg_time_t) time(NULL);
	params.normalize_path = true;
	params.double_encode_path = true;

	sigv4_sign(&req, &params, &sig);

	lines = lappend(lines, psprintf("Host: %s", host_header));
	lines = lappend(lines, psprintf("Content-Type: %s", STS_CONTENT_TYPE));
	lines = lappend(lines, psprintf("X-Amz-Date: %s", sig.amz_date));
	if (signer->session_token[0] != '\0')
		lines = lappend(lines, psprintf("X-Amz-Security-Token: %s", signer->session_token));
	lines = lappend(lines, psprintf("Authorization: %s", sig.authorization));
	list_free(req.headers);
	sigv4_result_wipe(&sig);
	return lines;
}

/*
 * append_sts_error
 *		Describe a non-200 STS response: "STS <action> failed: <Code>:
 *		<Message> (HTTP <status>, request id <id>)".
 */
static void
append_sts_error(const StsCall *call, StringInfo error)
{
	const HttpResponse *resp = &call->resp;
	char	   *code = xml_element_text(resp->body, resp->body_len, "Error/Code");
	char	   *message = xml_element_text(resp->body, resp->body_len, "Error/Message");
	const char *request_id = http_response_header(resp, "x-amzn-RequestId");

	if (request_id == NULL)
		request_id = xml_element_text(resp->body, resp->body_len, "RequestId");

	appendStringInfo(error, "STS %s failed: ", call->action);
	if (code != NULL)
	{
		credentials_append_remote_text(error, code);
		appendStringInfoString(error, ": ");
		credentials_append_remote_text(error, message ? message : "no message");
	}
	else
		appendStringInfoString(error, "the response is not an STS error document");
	appendStringInfo(error, " (HTTP %ld", resp->status);
	if (request_id != NULL)
	{
		appendStringInfoString(error, ", request id ");
		credentials_append_remote_text(error, request_id);
	}
	appendStringInfoChar(error, ')');
}

/*
 * sts_call
 *		POST call->action with call->params to bedrock.sts_endpoint, signed
 *		with call->signer unless it is NULL.  True when STS answered 200
 *		(the response is in call->resp; the caller wipes its body); false
 *		with a message in error for a transport failure or an STS error.
 *		The request body and the signed header lines are wiped.
 */
static bool
sts_call(StsCall *call, StringInfo error)
{
	char	   *base = call->base_url ? pstrdup(call->base_url) : bedrock_sts_base_url();
	char	   *scheme;
	char	   *host;
	char	   *port;
	char	   *host_header;
	char	   *path;
	const char *region = call->region ? call->region : bedrock_region;
	StringInfoData body;
	HttpRequest req = {0};

	if (!credentials_split_url(base, &scheme, &host, &port))
		elog(ERROR, "bedrock.sts_endpoint \"%s\" is not a URL", base);
	if (port != NULL &&
		!(strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0) &&
		!(strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0))
		host_header = psprintf("%s:%s", host, port);
	else
		host_header = host;
	if (pg_strcasecmp(host, STS_GLOBAL_HOST) == 0)
		region = STS_GLOBAL_REGION;
	/* the path of the base URL (validated: no query) plus "/" */
	path = strchr(strstr(base, "://") + 3, '/');
	path = psprintf("%s/", path ? path : "");

	initStringInfo(&body);
	appendStringInfo(&body, "Action=%s&Version=%s%s", call->action,
					 STS_API_VERSION, call->params.data);
	explicit_bzero(call->params.data, call->params.len);

	req.method = "POST";
	req.url = psprintf("%s/", base);
	if (call->signer != NULL)
		req.headers = signed_headers(call->signer, host_header, path, region,
									 body.data, body.len);
	else
		req.headers = list_make1(psprintf("Content-Type: %s", STS_CONTENT_TYPE));
	req.body = body.data;
	req.body_len = body.len;
	req.timeout_ms = STS_TIMEOUT_MS;
	req.connect_timeout_ms = bedrock_connect_timeout_ms;
	req.max_response_bytes = STS_MAX_RESPONSE_BYTES;

	http_execute(&req, &call->resp);
	wipe_free_lines(req.headers);
	explicit_bzero(body.data, body.len);
	pfree(body.data);

	if (call->resp.outcome != HTTP_RESPONSE_RECEIVED)
	{
		appendStringInfo(error, "STS %s failed: could not reach %s: ", call->action, base);
		credentials_append_remote_text(error, call->resp.transport_error
									   ? call->resp.transport_error
									   : "unknown transport failure");
		return false;
	}
	if (call->resp.status != 200)
	{
		append_sts_error(call, error);
		explicit_bzero(call->resp.body, call->resp.body_len);
		return false;
	}
	return true;
}

/*
 * credentials_from_response
 *		Fill *out from the Credentials element of a successful
 *		AssumeRole(WithWebIdentity) response, then wipe the response body.
 */
static CredentialFetchStatus
credentials_from_response(StsCall *call, const char *source,
						  AwsCredentials *out, StringInfo error)
{
	const HttpResponse *resp = &call->resp;
	char	   *access_key_id = xml_element_text(resp->body, resp->body_len, "Credentials/AccessKeyId");
	char	   *secret = xml_element_text(resp->body, resp->body_len, "Credentials/SecretAccessKey");
	char	   *token = xml_element_text(resp->body, resp->body_len, "Credentials/SessionToken");
	char	   *expiration = xml_element_text(resp->body, resp->body_len, "Credentials/Expiration");
	char	   *service = psprintf("STS %s", call->action);
	CredentialFetchStatus status;

	status = credentials_fill_fetched(out, source, service, access_key_id,
									  secret, token, expiration, error);
	wipe_pfree_string(access_key_id);
	wipe_pfree_string(secret);
	wipe_pfree_string(token);
	explicit_bzero(resp->body, resp->body_len);
	return status;
}

/*
 * session_name
 *		The RoleSessionName to send: configured, else "bedrock_fdw-<unix
 *		time>".
 */
static const char *
session_name(const char *configured)
{
	if (configured != NULL && configured[0] != '\0')
		return configured;
	return psprintf("bedrock_fdw-%ld", (long) time(NULL));
}

/*
 * sts_web_identity_credentials
 *		AssumeRoleWithWebIdentity with the token in AWS_WEB_IDENTITY_TOKEN_FILE
 *		(read on every call, as it is rotated) for AWS_ROLE_ARN, session
 *		AWS_ROLE_SESSION_NAME or "bedrock_fdw-<unix time>".  Unsigned.
 *		Source name "web_identity".
 *
 *		CREDENTIALS_NOT_CONFIGURED when neither variable is set;
 *		CREDENTIALS_FAILED with a message in error (never the token) when
 *		only one is, the file cannot be read, or STS fails.
 */
CredentialFetchStatus
sts_web_identity_credentials(AwsCredentials *out, StringInfo error)
{
	const char *token_file = getenv_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role_arn = getenv_nonempty("AWS_ROLE_ARN");
	char	   *token;
	StsCall		call = {0};

	if (token_file == NULL && role_arn == NULL)
		return CREDENTIALS_NOT_CONFIGURED;
	if (token_file == NULL || role_arn == NULL)
	{
		appendStringInfo(error, "%s is set but %s is not; web identity federation needs both",
						 token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
						 token_file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
		return CREDENTIALS_FAILED;
	}
	token = credentials_read_token_file(token_file, "AWS_WEB_IDENTITY_TOKEN_FILE", error);
	if (token == NULL)
		return CREDENTIALS_FAILED;
	if (token[0] == '\0')
	{
		appendStringInfo(error, "file \"%s\" (AWS_WEB_IDENTITY_TOKEN_FILE) is empty", token_file);
		pfree(token);
		return CREDENTIALS_FAILED;
	}

	call.action = "AssumeRoleWithWebIdentity";
	initStringInfo(&call.params);
	add_param(&call, "RoleArn", role_arn);
	add_param(&call, "RoleSessionName",
			  session_name(getenv_nonempty("AWS_ROLE_SESSION_NAME")));
	add_param(&call, "WebIdentityToken", token);
	wipe_pfree_string(token);

	if (!sts_call(&call, error))
		return CREDENTIALS_FAILED;
	return credentials_from_response(&call, "web_identity", out, error);
}

/*
 * sts_assume_role_with
 *		AssumeRole as p says, signed with the source credentials: the
 *		session tags (Tags.member.N.Key/Value, UTF-8 or server-encoded
 *		strings) when p->tags is not NIL, the STS endpoint and signing
 *		region of p when set.  The result's source name is the source's
 *		followed by "+assume_role" ("instance+assume_role"); its principal
 *		is the AssumedRoleUser's ARN STS returned.
 *
 *		CREDENTIALS_FAILED with a message in error when STS fails.
 */
CredentialFetchStatus
sts_assume_role_with(const AwsCredentials *source, const StsAssumeRoleParams *p,
					 AwsCredentials *out, StringInfo error)
{
	StsCall		call = {0};
	char	   *name;
	char	   *principal;
	CredentialFetchStatus st;
	int			n = 0;

	name = psprintf("%s%s", source->source, ASSUME_ROLE_SUFFIX);
	if (strlen(name) >= AWS_CREDENTIAL_SOURCE_MAXLEN)
		elog(ERROR, "credential source name \"%s\" is too long", name);

	call.action = "AssumeRole";
	call.signer = source;
	call.base_url = p->sts_url;
	call.region = p->region;
	initStringInfo(&call.params);
	add_setting_param(&call, "RoleArn", p->role_arn);
	add_setting_param(&call, "RoleSessionName", session_name(p->session_name));
	appendStringInfo(&call.params, "&DurationSeconds=%d", p->duration_seconds);
	if (p->external_id != NULL && p->external_id[0] != '\0')
		add_setting_param(&call, "ExternalId", p->external_id);
	/* p->tags: key, value, key, value, ... */
	for (int i = 0; i + 1 < list_length(p->tags); i += 2)
	{
		n++;
		add_setting_param(&call, psprintf("Tags.member.%d.Key", n),
						  (const char *) list_nth(p->tags, i));
		add_setting_param(&call, psprintf("Tags.member.%d.Value", n),
						  (const char *) list_nth(p->tags, i + 1));
	}

	if (!sts_call(&call, error))
		return CREDENTIALS_FAILED;
	principal = xml_element_text(call.resp.body, call.resp.body_len,
								 "AssumedRoleUser/Arn");
	st = credentials_from_response(&call, name, out, error);
	if (st == CREDENTIALS_FETCHED && principal != NULL)
		text_copy_clipped(out->principal_arn, sizeof(out->principal_arn),
						  utf8_to_server_noerror(principal, strlen(principal)));
	return st;
}

/*
 * sts_assume_role
 *		AssumeRole bedrock.role_arn (session bedrock.role_session_name,
 *		bedrock.role_duration_seconds, bedrock.external_id when set), signed
 *		with the source credentials (sts_assume_role_with).
 *
 *		CREDENTIALS_NOT_CONFIGURED when bedrock.role_arn is empty;
 *		CREDENTIALS_FAILED with a message in error when STS fails.
 */
CredentialFetchStatus
sts_assume_role(const AwsCredentials *source, AwsCredentials *out,
				StringInfo error)
{
	StsAssumeRoleParams p = {0};

	if (bedrock_role_arn == NULL || bedrock_role_arn[0] == '\0')
		return CREDENTIALS_NOT_CONFIGURED;
	p.role_arn = bedrock_role_arn;
	p.session_name = bedrock_role_session_name;
	p.duration_seconds = bedrock_role_duration_seconds;
	p.external_id = bedrock_external_id;
	return sts_assume_role_with(source, &p, out, error);
}

/*
 * sts_get_caller_identity
 *		GetCallerIdentity signed with creds: fill identity (palloc'd, server
 *		encoding) and return true, or return false with a message in error.
 */
bool
sts_get_caller_identity(const AwsCredentials *creds, StsIdentity *identity,
						StringInfo error)
{
	return sts_get_caller_identity_at(creds, NULL, NULL, identity, error);
}

/*
 * sts_get_caller_identity_at
 *		sts_get_caller_identity at the STS base URL sts_url, signed for
 *		region (NULL: the settings').
 */
bool
sts_get_caller_identity_at(const AwsCredentials *creds, const char *sts_url,
						   const char *region, StsIdentity *identity,
						   StringInfo error)
{
	StsCall		call = {0};
	const HttpResponse *resp = &call.resp;
	const char *missing = NULL;

	call.action = "GetCallerIdentity";
	call.signer = creds;
	call.base_url = sts_url;
	call.region = region;
	initStringInfo(&call.params);
	if (!sts_call(&call, error))
		return false;

	identity->account = xml_element_text(resp->body, resp->body_len,
										 "GetCallerIdentityResult/Account");
	identity->arn = xml_element_text(resp->body, resp->body_len,
									 "GetCallerIdentityResult/Arn");
	identity->user_id = xml_element_text(resp->body, resp->body_len,
										 "GetCallerIdentityResult/UserId");
	if (identity->account == NULL)
		missing = "Account";
	else if (identity->arn == NULL)
		missing = "Arn";
	else if (identity->user_id == NULL)
		missing = "UserId";
	if (missing != NULL)
	{
		appendStringInfo(error, "STS GetCallerIdentity returned a response without %s", missing);
		return false;
	}
	return true;
}
