/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  SQL functions that show which AWS identity bedrock_fdw uses:
 *	  bedrock_whoami() asks STS, bedrock_credentials() shows the cache.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/functions/identity.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "credential_cache.h"
#include "credentials.h"

PG_FUNCTION_INFO_V1(bedrock_whoami);
PG_FUNCTION_INFO_V1(bedrock_credentials);

/*
 * masked_key_id
 *		An access key id reduced to its first and last 4 characters
 *		("AKID****WXYZ": the prefix tells long-term AKIA from temporary ASIA
 *		keys), only "****" when it is too short to keep anything, or NULL
 *		when there is none.
 */
static char *
masked_key_id(const char *key_id)
{
	size_t		len = strlen(key_id);

	if (len == 0)
		return NULL;
	if (len < 16)
		return pstrdup("****");
	return psprintf("%.4s****%s", key_id, key_id + len - 4);
}

/*
 * bedrock_whoami
 *		SQL: bedrock_whoami() RETURNS jsonb.  What sts:GetCallerIdentity says
 *		of the credentials bedrock_chat would use now, with their source,
 *		expiration and masked access key id.
 */
Datum
bedrock_whoami(PG_FUNCTION_ARGS)
{
	AwsCredentials creds;
	StsIdentity identity;
	StringInfoData error;
	StringInfoData out;
	bool		ok;

	credentials_resolve(&creds);
	initStringInfo(&error);
	ok = sts_get_caller_identity(&creds, &identity, &error);
	if (!ok)
	{
		char		source[AWS_CREDENTIAL_SOURCE_MAXLEN];

		strlcpy(source, creds.source, sizeof(source));
		credentials_wipe(&creds);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not identify the AWS caller: %s", error.data),
				 errdetail("The credentials came from %s.", source),
				 errhint("Check the credentials and bedrock.sts_endpoint; STS must be reachable.")));
	}

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"account\": ");
	json_append_string(&out, identity.account);
	appendStringInfoString(&out, ", \"arn\": ");
	json_append_string(&out, identity.arn);
	appendStringInfoString(&out, ", \"user_id\": ");
	json_append_string(&out, identity.user_id);
	appendStringInfoString(&out, ", \"credential_source\": ");
	json_append_string(&out, creds.source);
	appendStringInfoString(&out, ", \"access_key_id\": ");
	json_append_string(&out, masked_key_id(creds.access_key_id));
	appendStringInfoString(&out, ", \"expiration\": ");
	if (creds.expiration != 0)
	{
		/* AWS's own form: ISO 8601 in UTC, whatever the session's TimeZone */
		pg_time_t	t = timestamptz_to_time_t(creds.expiration);
		char		buf[32];

		pg_strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", pg_gmtime(&t));
		json_append_string(&out, buf);
	}
	else
		appendStringInfoString(&out, "null");
	appendStringInfoChar(&out, '}');
	credentials_wipe(&creds);

	PG_RETURN_JSONB_P(json_text_to_jsonb(out.data));
}

/*
 * bedrock_credentials
 *		SQL: the state of the credential cache, one row: where the
 *		credentials come from, the masked key id, expiration, last refresh
 *		and error, counts, and the worker's pid.  Never a secret.
 */
Datum
bedrock_credentials(PG_FUNCTION_ARGS)
{
	CredentialCacheStatus st;
	AwsCredentials local;
	const char *cache = NULL;
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10];
	char	   *key;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (credential_cache_available())
		credential_cache_status(&st);
	else
		credentials_private_status(&st);

	/*
	 * Static settings and the environment are read on every call, never
	 * cached: show them as what signs, with cache "none".
	 */
	if (credentials_local(&local))
	{
		cache = "none";
		strlcpy(st.source, local.source, sizeof(st.source));
		strlcpy(st.access_key_id, local.access_key_id, sizeof(st.access_key_id));
		st.expiration = 0;
		st.last_refresh = 0;
		st.last_attempt = 0;
		st.last_error[0] = '\0';
		credentials_wipe(&local);
	}

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(cache != NULL ? cache : st.shared ? "worker" : "backend");
	nulls[1] = st.source[0] == '\0';
	values[1] = CStringGetTextDatum(st.source);
	key = masked_key_id(st.access_key_id);
	nulls[2] = key == NULL;
	values[2] = key ? CStringGetTextDatum(key) : (Datum) 0;
	nulls[3] = st.expiration == 0;
	values[3] = TimestampTzGetDatum(st.expiration);
	nulls[4] = st.last_refresh == 0;
	values[4] = TimestampTzGetDatum(st.last_refresh);
	nulls[5] = st.last_attempt == 0;
	values[5] = TimestampTzGetDatum(st.last_attempt);
	nulls[6] = st.last_error[0] == '\0';
	values[6] = CStringGetTextDatum(st.last_error);
	values[7] = Int64GetDatum(st.refresh_count);
	values[8] = Int64GetDatum(st.failure_count);
	nulls[9] = st.worker_pid == 0;
	values[9] = Int32GetDatum(st.worker_pid);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
