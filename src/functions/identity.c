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
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
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
 *		of the credentials bedrock_chat would use now (through bedrock.server
 *		when set, as the current role), with their source, expiration and
 *		masked access key id, and the server's name when there is one.
 */
Datum
bedrock_whoami(PG_FUNCTION_ARGS)
{
	AwsCredentials creds;
	StsIdentity identity;
	StringInfoData error;
	StringInfoData out;
	bool		ok;
	BedrockTarget *target = bedrock_target_lookup(NULL, GetUserId());

	bedrock_target_credentials(target, &creds);
	initStringInfo(&error);
	ok = sts_get_caller_identity_at(&creds, target->sts_url, target->region,
									&identity, &error);
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
	if (target->server_name != NULL)
	{
		appendStringInfoString(&out, ", \"server\": ");
		json_append_string(&out, target->server_name);
	}
	appendStringInfoChar(&out, '}');
	credentials_wipe(&creds);

	PG_RETURN_JSONB_P(json_text_to_jsonb(out.data));
}

#define CREDENTIALS_COLUMNS 13

/*
 * nullable_text
 *		A text Datum of s, or a NULL when s is empty.
 */
static Datum
nullable_text(const char *s, bool *isnull)
{
	*isnull = s == NULL || s[0] == '\0';
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

static Datum
nullable_time(TimestampTz t, bool *isnull)
{
	*isnull = t == 0;
	return TimestampTzGetDatum(t);
}

/*
 * settings_row
 *		The row of the settings' identity: the shared cache (or this
 *		backend's), or the static settings and environment, read on every
 *		call and never cached (cache "none").
 */
static void
settings_row(Datum *values, bool *nulls)
{
	CredentialCacheStatus st;
	AwsCredentials local;
	const char *cache = NULL;

	if (credential_cache_available())
		credential_cache_status(&st);
	else
		credentials_private_status(&st);

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

	values[0] = CStringGetTextDatum(cache != NULL ? cache : st.shared ? "worker" : "backend");
	values[1] = nullable_text(st.source, &nulls[1]);
	values[2] = nullable_text(masked_key_id(st.access_key_id), &nulls[2]);
	values[3] = nullable_time(st.expiration, &nulls[3]);
	values[4] = nullable_time(st.last_refresh, &nulls[4]);
	values[5] = nullable_time(st.last_attempt, &nulls[5]);
	values[6] = nullable_text(st.last_error, &nulls[6]);
	values[7] = Int64GetDatum(st.refresh_count);
	values[8] = Int64GetDatum(st.failure_count);
	nulls[9] = st.worker_pid == 0;
	values[9] = Int32GetDatum(st.worker_pid);
	nulls[10] = nulls[11] = nulls[12] = true;
}

/*
 * identity_row
 *		The row of one foreign server identity of the shared cache.
 */
static void
identity_row(const IdentityStatus *st, int worker_pid, Datum *values, bool *nulls)
{
	values[0] = CStringGetTextDatum("worker");
	values[1] = nullable_text(st->source, &nulls[1]);
	values[2] = nullable_text(masked_key_id(st->access_key_id), &nulls[2]);
	values[3] = nullable_time(st->expiration, &nulls[3]);
	values[4] = nullable_time(st->last_refresh, &nulls[4]);
	values[5] = nullable_time(st->last_attempt, &nulls[5]);
	values[6] = nullable_text(st->last_error, &nulls[6]);
	values[7] = Int64GetDatum(st->refresh_count);
	values[8] = Int64GetDatum(st->failure_count);
	nulls[9] = worker_pid == 0;
	values[9] = Int32GetDatum(worker_pid);
	values[10] = DirectFunctionCall1(namein, CStringGetDatum(st->server_name));
	values[11] = DirectFunctionCall1(namein, CStringGetDatum(st->role_name));
	values[12] = nullable_text(st->principal_arn, &nulls[12]);
}

/*
 * bedrock_credentials
 *		SQL: the state of the credential caches: one row for the settings'
 *		identity (where the credentials come from, the masked key id,
 *		expiration, last refresh and error, counts, the worker's pid), then
 *		one per foreign server identity in the shared cache, with its
 *		server, role and IAM principal.  Never a secret.
 */
Datum
bedrock_credentials(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[CREDENTIALS_COLUMNS];
	bool		nulls[CREDENTIALS_COLUMNS];
	IdentityStatus *ids;
	int			n;
	int			worker_pid;

	InitMaterializedSRF(fcinfo, 0);

	memset(nulls, 0, sizeof(nulls));
	settings_row(values, nulls);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	worker_pid = nulls[9] ? 0 : DatumGetInt32(values[9]);
	n = identity_cache_status(&ids);
	for (int i = 0; i < n; i++)
	{
		memset(nulls, 0, sizeof(nulls));
		identity_row(&ids[i], worker_pid, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}
