/*-------------------------------------------------------------------------
 *
 * identity_fetch.c
 *	  Fetch the credentials of one (server, user mapping) identity: the
 *	  server's identity (its credential_source and role_arn, else the
 *	  settings' whole chain), then the user mapping's role assumed on top
 *	  of it, with session tags that name the database and the PostgreSQL
 *	  role, so that CloudTrail shows who called.
 *
 * The credentials worker runs this for every identity in the shared
 * cache; a backend runs it itself only when the library is not preloaded.
 * Like the credential providers, it returns CREDENTIALS_FAILED with a
 * message (never a secret) for a failure of a service and raises only for
 * interrupts and internal failures.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/identity_fetch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "credentials.h"

/* the session tag keys: visible in CloudTrail and usable in IAM conditions */
#define TAG_DATABASE	"postgres_database"
#define TAG_ROLE		"postgres_role"

/*
 * tag_value
 *		A name as a session tag value: the characters STS accepts in tag
 *		values (letters, digits, spaces and _.:/=+-@), others replaced by
 *		'_', at most 256 characters.
 */
static char *
tag_value(const char *name)
{
	char	   *v = pnstrdup(name, 256);

	for (char *p = v; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (!(isalnum(c) || c == ' ' || strchr("_.:/=+-@", c) != NULL))
			*p = '_';
	}
	return v;
}

/*
 * assume
 *		AssumeRole role on top of source into *out.
 */
static CredentialFetchStatus
assume(const IdentitySpec *spec, const IdentityRole *role,
	   const AwsCredentials *source, AwsCredentials *out, StringInfo error)
{
	StsAssumeRoleParams p = {0};

	p.role_arn = role->role_arn;
	p.external_id = role->external_id;
	p.session_name = role->session_name;
	p.duration_seconds = role->duration_seconds;
	p.sts_url = spec->sts_url;
	p.region = spec->region;
	if (role->tag_session)
		p.tags = list_make4(TAG_DATABASE, tag_value(spec->database_name),
							TAG_ROLE, tag_value(spec->role_name));
	return sts_assume_role_with(source, &p, out, error);
}

/*
 * identity_fetch
 *		The credentials of spec's identity into *out, with the IAM principal
 *		that they sign as.  CREDENTIALS_FETCHED or CREDENTIALS_FAILED with
 *		the reason in error; intermediate credentials are wiped.
 */
CredentialFetchStatus
identity_fetch(const IdentitySpec *spec, AwsCredentials *out, StringInfo error)
{
	AwsCredentials base;
	AwsCredentials server;
	CredentialFetchStatus st;
	bool		server_role = spec->server_role.role_arn[0] != '\0';
	bool		mapping_role = spec->mapping_role.role_arn[0] != '\0';

	/* the server's identity */
	if (spec->credential_source < 0 && !server_role)
		st = credentials_fetch(&base, error);
	else
		st = credentials_fetch_base(spec->credential_source < 0
									? CREDENTIAL_SOURCE_AUTO : spec->credential_source,
									&base, error);
	if (st != CREDENTIALS_FETCHED)
	{
		credentials_wipe(&base);
		return CREDENTIALS_FAILED;
	}
	if (server_role)
	{
		st = assume(spec, &spec->server_role, &base, &server, error);
		credentials_wipe(&base);
		if (st != CREDENTIALS_FETCHED)
		{
			credentials_wipe(&server);
			appendStringInfoString(error, " (the server's role_arn)");
			return CREDENTIALS_FAILED;
		}
	}
	else
	{
		memcpy(&server, &base, sizeof(AwsCredentials));
		credentials_wipe(&base);
	}

	/* the user mapping's role on top */
	if (mapping_role)
	{
		st = assume(spec, &spec->mapping_role, &server, out, error);
		credentials_wipe(&server);
		if (st != CREDENTIALS_FETCHED)
		{
			appendStringInfoString(error, " (the user mapping's role_arn)");
			return CREDENTIALS_FAILED;
		}
	}
	else
	{
		memcpy(out, &server, sizeof(AwsCredentials));
		credentials_wipe(&server);
	}

	/* no role assumed here: learn the principal, at the cost of that column */
	if (out->principal_arn[0] == '\0')
	{
		StsIdentity identity;
		StringInfoData why;

		initStringInfo(&why);
		if (sts_get_caller_identity_at(out, spec->sts_url, spec->region, &identity, &why))
			strlcpy(out->principal_arn, identity.arn, sizeof(out->principal_arn));
	}
	return CREDENTIALS_FETCHED;
}
