/*-------------------------------------------------------------------------
 *
 * batch_control.c
 *	  Bedrock batch inference jobs on the control plane, from SQL:
 *	  CreateModelInvocationJob, GetModelInvocationJob and
 *	  StopModelInvocationJob through aws_request (service "bedrock",
 *	  bedrock.control_endpoint), and the usage row of a collected job
 *	  (operation 'batch').  The procedures of the batch section of the SQL
 *	  script drive them; responses are untrusted JSON, checked before they
 *	  become jsonb.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/batch_control.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "bedrock_fdw.h"
#include "aws_request.h"
#include "batch.h"
#include "usage.h"

PG_FUNCTION_INFO_V1(bedrock_batch_job_create);
PG_FUNCTION_INFO_V1(bedrock_batch_job_get);
PG_FUNCTION_INFO_V1(bedrock_batch_job_stop);
PG_FUNCTION_INFO_V1(bedrock_batch_record_usage);

/* A control-plane request for operation, filled in. */
static void
control_request_init(AwsRequest *req, const char *operation, const char *method,
					 const char *path)
{
	memset(req, 0, sizeof(*req));
	req->operation = operation;
	req->service = "bedrock";
	req->method = method;
	req->base_url = bedrock_control_base_url();
	req->path = path;
}

/*
 * check_job_id
 *		A job id is the 12 lower-case letters and digits at the end of the
 *		job ARN; anything else is refused before it goes into a path.
 */
static void
check_job_id(const char *id)
{
	size_t		n = strlen(id);

	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
			n = 0;
	if (n != 12)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a batch inference job id", id),
				 errhint("A job id is the last 12 characters of the job ARN.")));
}

/*
 * response_jsonb
 *		The 2xx response of req as jsonb ({} for an empty body); a body that
 *		is not JSON raises, naming the operation.
 */
static Jsonb *
response_jsonb(const AwsRequest *req, const AwsResult *res)
{
	const char *why = NULL;
	Jsonb	   *jb;

	if (res->response.body_len == 0)
		return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	jb = json_parse_untrusted(res->response.body, res->response.body_len, &why);
	if (jb == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("AWS %s answered a body that is not valid JSON", req->operation),
				 errdetail("%s", why ? why : "unknown reason")));
	return jb;
}

/*
 * bedrock.batch_job_create(request jsonb) RETURNS jsonb
 *		CreateModelInvocationJob with request as the body; returns the
 *		response ({"jobArn": ...}).  A ServiceQuotaExceededException (too
 *		many jobs of the model in flight) is returned as {"error": {"code",
 *		"message"}} so that the caller can keep the job for later; every
 *		other failure raises.
 */
Datum
bedrock_batch_job_create(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = PG_GETARG_JSONB_P(0);
	char	   *text = JsonbToCString(NULL, &request->root, VARSIZE(request));
	char	   *utf8 = pg_server_to_any(text, strlen(text), PG_UTF8);
	AwsRequest	req;
	AwsResult	res;

	control_request_init(&req, "CreateModelInvocationJob", "POST", "/model-invocation-job");
	req.content_type = "application/json";
	req.body = utf8;
	req.body_len = strlen(utf8);
	aws_request_execute(&req, &res);
	if (!res.ok && res.error.code != NULL &&
		strcmp(res.error.code, "ServiceQuotaExceededException") == 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"error\": {\"code\": ");
		escape_json(&buf, res.error.code);
		appendStringInfoString(&buf, ", \"message\": ");
		escape_json(&buf, res.error.message);
		appendStringInfoString(&buf, "}}");
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
	}
	if (!res.ok)
		aws_request_raise(&req, &res);
	PG_RETURN_JSONB_P(response_jsonb(&req, &res));
}

/*
 * job_request
 *		Send operation on the job id (checked) at
 *		/model-invocation-job/{id}{suffix}; the outcome is in *res.
 */
static void
job_request(const char *operation, const char *method, const char *id,
			const char *suffix, AwsRequest *req, AwsResult *res)
{
	check_job_id(id);
	control_request_init(req, operation, method,
						 psprintf("/model-invocation-job/%s%s", id, suffix));
	aws_request_execute(req, res);
}

/*
 * bedrock.batch_job_get(job_id text) RETURNS jsonb
 *		GetModelInvocationJob: the job's description as Bedrock gives it.
 */
Datum
bedrock_batch_job_get(PG_FUNCTION_ARGS)
{
	AwsRequest	req;
	AwsResult	res;

	job_request("GetModelInvocationJob", "GET",
				text_to_cstring(PG_GETARG_TEXT_PP(0)), "", &req, &res);
	if (!res.ok)
		aws_request_raise(&req, &res);
	PG_RETURN_JSONB_P(response_jsonb(&req, &res));
}

/*
 * bedrock.batch_job_stop(job_id text) RETURNS boolean
 *		StopModelInvocationJob: true when Bedrock accepted it, false when
 *		the job had already ended (ConflictException); other failures raise.
 */
Datum
bedrock_batch_job_stop(PG_FUNCTION_ARGS)
{
	AwsRequest	req;
	AwsResult	res;

	job_request("StopModelInvocationJob", "POST",
				text_to_cstring(PG_GETARG_TEXT_PP(0)), "/stop", &req, &res);
	if (res.ok)
		PG_RETURN_BOOL(true);
	if (res.error.code != NULL && strcmp(res.error.code, "ConflictException") == 0)
		PG_RETURN_BOOL(false);
	aws_request_raise(&req, &res);
	PG_RETURN_BOOL(false);		/* not reached */
}

/*
 * bedrock.batch_record_usage(model text, job_id text, input_tokens bigint,
 *							  output_tokens bigint) RETURNS void
 *		Queue the usage row of one collected batch job for bedrock.usage_log:
 *		operation 'batch', the job id as request id, the caller as role.
 */
Datum
bedrock_batch_record_usage(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		in = PG_ARGISNULL(2) ? -1 : PG_GETARG_INT64(2);
	int64		out = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT64(3);
	UsageRecord rec;

	check_job_id(id);
	if (in < -1 || out < -1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token counts cannot be negative")));
	usage_record_init(&rec, "batch", model);
	rec.input_tokens = in;
	rec.output_tokens = out;
	rec.total_tokens = (in >= 0 && out >= 0) ? in + out : -1;
	rec.attempts = 1;
	rec.http_status = 200;
	text_copy_clipped(rec.request_id, sizeof(rec.request_id), id);
	usage_record_submit(&rec);
	PG_RETURN_VOID();
}
