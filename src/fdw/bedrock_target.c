/*-------------------------------------------------------------------------
 *
 * bedrock_target.c
 *	  Choose where a Bedrock call goes and whose AWS identity signs it:
 *	  the foreign server named by options.server or bedrock.server, with
 *	  the calling role's user mapping on it (or PUBLIC's), else the
 *	  bedrock.* settings exactly as without the foreign data wrapper.
 *
 * A server option that is not set falls back to the corresponding
 * setting.  The identity is one of three: the settings' (a server that
 * names no credential_source or role_arn, and a mapping without a role or
 * keys), the mapping's static keys (read from the catalog at signing time
 * and wiped once used), or an identity fetched by the credentials worker
 * into the shared identity cache (identity_cache.c): roles assumed, with
 * session tags.
 *
 * The last lookup is kept per backend, and forgotten when any foreign
 * server or user mapping changes (syscache callbacks).
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/bedrock_target.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_user_mapping.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "bedrock_fdw.h"
#include "bedrock_target.h"
#include "credential_cache.h"
#include "secret_wipe.h"

#define BEDROCK_FDW_NAME "bedrock_fdw"

char	   *bedrock_server = NULL;
int			bedrock_max_identities = 100;

/* the last lookup, in TopMemoryContext; NULL after any catalog change */
static MemoryContext target_cxt = NULL;
static BedrockTarget *last_target = NULL;
static IdentitySpec *cached_spec = NULL;
static char *last_server_name = NULL;
static bool callbacks_registered = false;

/*
 * Without shared_preload_libraries, each backend fetches the identities it
 * uses itself and keeps them here (TopMemoryContext).
 */
typedef struct PrivateIdentity
{
	IdentityKey key;
	IdentitySpec spec;
	AwsCredentials creds;
	TimestampTz fetched_at;
} PrivateIdentity;

static List *private_identities = NIL;

/*
 * check_server_name
 *		bedrock.server is a server name or empty; whether the server exists
 *		is checked when a call uses it (it may be set per role before the
 *		server is created).
 */
static bool
check_server_name(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A server name has at most %d bytes.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

/*
 * bedrock_target_define_gucs
 *		bedrock.server and, while shared_preload_libraries is processed,
 *		bedrock.max_identities; from bedrock_define_gucs.
 */
void
bedrock_target_define_gucs(void)
{
	DefineCustomStringVariable("bedrock.server",
							   "Foreign server of bedrock_fdw that Bedrock calls go through unless their options name one.",
							   "Empty means no server: the bedrock.* settings decide the endpoint and the AWS identity.",
							   &bedrock_server,
							   "",
							   PGC_USERSET,
							   0,
							   check_server_name, NULL, NULL);

	/* sizes shared memory: only while preloading (PGC_POSTMASTER) */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("bedrock.max_identities",
							"Most AWS identities (server, user mapping and role) whose credentials the credentials worker keeps.",
							NULL,
							&bedrock_max_identities,
							100, 1, 10000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

/* Forget the last lookup, wiping what it held. */
static void
wipe_target_cache(void)
{
	if (cached_spec != NULL)
		explicit_bzero(cached_spec, sizeof(IdentitySpec));
	last_target = NULL;
	cached_spec = NULL;
	if (target_cxt != NULL)
		MemoryContextReset(target_cxt);
}

static void
forget_last_target(Datum arg, int cacheid, uint32 hashvalue)
{
	wipe_target_cache();
}

/* The value of option name in list, or NULL. */
static char *
option_value(List *list, const char *name)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

/*
 * find_user_mapping
 *		The user mapping of userid on serverid, else PUBLIC's, as a palloc'd
 *		option list and its oid; InvalidOid when neither exists.
 */
static Oid
find_user_mapping(Oid userid, Oid serverid, List **options)
{
	HeapTuple	tp;
	Oid			umid;
	Datum		datum;
	bool		isnull;

	tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(userid),
						 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		return InvalidOid;
	umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;
	datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp, Anum_pg_user_mapping_umoptions,
							&isnull);
	*options = isnull ? NIL : untransformRelOptions(datum);
	ReleaseSysCache(tp);
	return umid;
}

/* The CredentialSource of a validated credential_source option. */
static int
credential_source_number(const char *name)
{
	int			source = credential_source_from_name(name);

	if (source < 0)
		elog(ERROR, "unknown credential_source \"%s\"", name);
	return source;
}

/* Fill role from role_arn, external_id, role_session_name, duration options. */
static void
fill_role(IdentityRole *role, List *opts, bool server, const char *role_name)
{
	const char *arn = option_value(opts, "role_arn");
	const char *ext = option_value(opts, "external_id");
	const char *session = option_value(opts, "role_session_name");
	const char *duration = server ? option_value(opts, "role_duration_seconds") : NULL;

	if (arn == NULL)
		return;
	strlcpy(role->role_arn, arn, sizeof(role->role_arn));
	if (ext != NULL)
		strlcpy(role->external_id, ext, sizeof(role->external_id));
	if (session != NULL)
		strlcpy(role->session_name, session, sizeof(role->session_name));
	else if (!server)
	{
		/* CloudTrail names the PostgreSQL role in the assumed-role ARN */
		char	   *name = psprintf("pg-%s", role_name);

		for (char *p = name; *p; p++)
			if (!isalnum((unsigned char) *p) && strchr("_+=,.@-", *p) == NULL)
				*p = '_';
		strlcpy(role->session_name, name, sizeof(role->session_name));
	}
	role->duration_seconds = duration ? atoi(duration) : bedrock_role_duration_seconds;
	/* a chained role session lasts at most an hour */
	if (!server)
		role->duration_seconds = Min(role->duration_seconds, 3600);
	role->tag_session = !server;
}

/*
 * base_url
 *		The server's option name, else the setting's URL (fallback()).
 */
static char *
base_url(List *opts, const char *name, char *(*fallback) (void))
{
	const char *v = option_value(opts, name);
	size_t		len;

	if (v == NULL)
		return fallback();
	len = strlen(v);
	/* validated like the settings: a trailing '/' is dropped */
	return (len > 0 && v[len - 1] == '/') ? pnstrdup(v, len - 1) : pstrdup(v);
}

/*
 * settings_target
 *		The target without a server: the bedrock.* settings.
 */
static BedrockTarget *
settings_target(Oid userid)
{
	BedrockTarget *t = palloc0(sizeof(BedrockTarget));

	t->serverid = InvalidOid;
	t->userid = userid;
	t->umid = InvalidOid;
	t->region = pstrdup(bedrock_region);
	t->runtime_url = bedrock_runtime_base_url();
	t->control_url = bedrock_control_base_url();
	t->s3_url = bedrock_s3_base_url();
	t->sts_url = bedrock_sts_base_url();
	t->identity = TARGET_IDENTITY_SETTINGS;
	return t;
}

/*
 * server_target
 *		The target of server for userid: checks USAGE and finds the user
 *		mapping, raising 42501 / 28000 with a hint otherwise.
 */
static BedrockTarget *
server_target(ForeignServer *server, Oid userid)
{
	BedrockTarget *t = palloc0(sizeof(BedrockTarget));
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	List	   *sopts = server->options;
	List	   *uopts = NIL;
	const char *source;
	char	   *role_name = GetUserNameFromId(userid, false);
	char	   *region;
	char	   *saved_region;
	AclResult	aclresult;

	if (strcmp(fdw->fdwname, BEDROCK_FDW_NAME) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" is not a server of the bedrock_fdw foreign data wrapper",
						server->servername),
				 errdetail("Its foreign data wrapper is \"%s\".", fdw->fdwname)));

	aclresult = BedrockForeignServerAclcheck(server->serverid, userid, ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for foreign server %s", server->servername),
				 errdetail("Role \"%s\" has no USAGE privilege on the server.", role_name),
				 errhint("GRANT USAGE ON FOREIGN SERVER %s TO %s;",
						 quote_identifier(server->servername),
						 quote_identifier(role_name))));

	t->umid = find_user_mapping(userid, server->serverid, &uopts);
	if (!OidIsValid(t->umid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("no user mapping for role \"%s\" on server \"%s\"",
						role_name, server->servername),
				 errdetail("The user mapping decides the AWS identity of the role's calls; there is none for the role or for PUBLIC."),
				 errhint("CREATE USER MAPPING FOR %s SERVER %s OPTIONS (role_arn '...'), or FOR PUBLIC.",
						 quote_identifier(role_name),
						 quote_identifier(server->servername))));

	t->serverid = server->serverid;
	t->server_name = pstrdup(server->servername);
	t->userid = userid;

	/* the URLs of a server that names only its region are the region's */
	region = option_value(sopts, "region");
	t->region = pstrdup(region ? region : bedrock_region);
	saved_region = bedrock_region;
	bedrock_region = t->region;
	PG_TRY();
	{
		t->runtime_url = base_url(sopts, "endpoint", bedrock_runtime_base_url);
		t->control_url = base_url(sopts, "control_endpoint", bedrock_control_base_url);
		t->s3_url = base_url(sopts, "s3_endpoint", bedrock_s3_base_url);
		t->sts_url = base_url(sopts, "sts_endpoint", bedrock_sts_base_url);
	}
	PG_FINALLY();
	{
		bedrock_region = saved_region;
	}
	PG_END_TRY();

	t->inference_profile = option_value(uopts, "inference_profile");
	t->guardrail_identifier = option_value(sopts, "guardrail_identifier");
	t->guardrail_version = option_value(sopts, "guardrail_version");
	t->service_tier = option_value(sopts, "service_tier");

	source = option_value(sopts, "credential_source");
	if (option_value(uopts, "access_key_id") != NULL)
		t->identity = TARGET_IDENTITY_STATIC;
	else if (source == NULL && option_value(sopts, "role_arn") == NULL &&
			 option_value(uopts, "role_arn") == NULL && region == NULL &&
			 option_value(sopts, "sts_endpoint") == NULL)
		t->identity = TARGET_IDENTITY_SETTINGS;
	else
	{
		IdentitySpec *spec = palloc0(sizeof(IdentitySpec));
		char	   *dbname = get_database_name(MyDatabaseId);

		t->identity = TARGET_IDENTITY_FETCHED;
		spec->credential_source = source ? credential_source_number(source) : -1;
		strlcpy(spec->region, t->region, sizeof(spec->region));
		strlcpy(spec->sts_url, t->sts_url, sizeof(spec->sts_url));
		fill_role(&spec->server_role, sopts, true, role_name);
		fill_role(&spec->mapping_role, uopts, false, role_name);
		strlcpy(spec->database_name, dbname ? dbname : "", sizeof(spec->database_name));
		strlcpy(spec->role_name, role_name, sizeof(spec->role_name));
		t->spec = spec;
	}

	/* the option lists held the mapping's secrets: wipe them */
	{
		ListCell   *lc;

		foreach(lc, uopts)
		{
			DefElem    *def = (DefElem *) lfirst(lc);

			if (fdw_option_is_secret(def->defname))
				explicit_bzero(defGetString(def), strlen(defGetString(def)));
		}
	}
	/* the strings kept in t must not be the wiped ones */
	if (t->inference_profile)
		t->inference_profile = pstrdup(t->inference_profile);
	return t;
}

/* A deep copy of t in cxt. */
static BedrockTarget *
copy_target(const BedrockTarget *t, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	BedrockTarget *c = palloc(sizeof(BedrockTarget));

#define COPY_STR(f) (c->f = t->f ? pstrdup(t->f) : NULL)
	memcpy(c, t, sizeof(BedrockTarget));
	COPY_STR(server_name);
	COPY_STR(region);
	COPY_STR(runtime_url);
	COPY_STR(control_url);
	COPY_STR(s3_url);
	COPY_STR(sts_url);
	COPY_STR(inference_profile);
	COPY_STR(guardrail_identifier);
	COPY_STR(guardrail_version);
	COPY_STR(service_tier);
#undef COPY_STR
	if (t->spec)
	{
		c->spec = palloc(sizeof(IdentitySpec));
		memcpy(c->spec, t->spec, sizeof(IdentitySpec));
	}
	MemoryContextSwitchTo(old);
	return c;
}

/*
 * bedrock_target_lookup
 *		The target of a call for userid.  server_name NULL: options.server
 *		absent, so bedrock.server, else no server (the settings).  Checks
 *		USAGE on the server and finds the user mapping (the role's, else
 *		PUBLIC's); raises 42704 for an unknown server, 42501 / 28000 with a
 *		hint otherwise.  The result is palloc'd in the current memory
 *		context.
 */
BedrockTarget *
bedrock_target_lookup(const char *server_name, Oid userid)
{
	ForeignServer *server;
	BedrockTarget *t;

	if (server_name == NULL)
		server_name = bedrock_server;
	if (server_name == NULL || server_name[0] == '\0')
		return settings_target(userid);

	if (!callbacks_registered)
	{
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, forget_last_target, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, forget_last_target, (Datum) 0);
		CacheRegisterSyscacheCallback(FOREIGNDATAWRAPPEROID, forget_last_target, (Datum) 0);
		callbacks_registered = true;
	}
	/* USAGE can change with a GRANT, which no callback sees: checked anew */
	if (last_target != NULL && last_target->userid == userid &&
		strcmp(last_server_name, server_name) == 0 &&
		BedrockForeignServerAclcheck(last_target->serverid, userid, ACL_USAGE) == ACLCHECK_OK)
		return copy_target(last_target, CurrentMemoryContext);

	server = GetForeignServerByName(server_name, false);
	t = server_target(server, userid);

	/* keep it for the next call (the old copy's external ids wiped) */
	if (target_cxt == NULL)
		target_cxt = AllocSetContextCreate(TopMemoryContext, "bedrock_fdw target",
										   ALLOCSET_SMALL_SIZES);
	else
		wipe_target_cache();
	last_server_name = MemoryContextStrdup(target_cxt, server_name);
	last_target = copy_target(t, target_cxt);
	cached_spec = last_target->spec;
	return t;
}

/*
 * static_credentials
 *		The user mapping's access_key_id / secret_access_key /
 *		session_token, read from the catalog now, into *out; the copies of
 *		the option list are wiped.
 */
static void
static_credentials(const BedrockTarget *target, AwsCredentials *out)
{
	HeapTuple	tp = SearchSysCache1(USERMAPPINGOID, ObjectIdGetDatum(target->umid));
	Datum		datum;
	bool		isnull;
	List	   *opts;
	ListCell   *lc;

	if (!HeapTupleIsValid(tp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the user mapping of server \"%s\" was dropped", target->server_name)));
	datum = SysCacheGetAttr(USERMAPPINGOID, tp, Anum_pg_user_mapping_umoptions, &isnull);
	opts = isnull ? NIL : untransformRelOptions(datum);
	ReleaseSysCache(tp);
	PG_TRY();
	{
		credentials_fill(out, "user_mapping", option_value(opts, "access_key_id"),
						 option_value(opts, "secret_access_key"),
						 option_value(opts, "session_token"), 0);
	}
	PG_FINALLY();
	{
		foreach(lc, opts)
		{
			char	   *v = defGetString((DefElem *) lfirst(lc));

			explicit_bzero(v, strlen(v));
		}
	}
	PG_END_TRY();
}

static void
identity_key(const BedrockTarget *target, IdentityKey *key)
{
	key->dbid = MyDatabaseId;
	key->serverid = target->serverid;
	key->umid = target->umid;
	key->userid = target->userid;
}

/*
 * private_credentials
 *		Without the worker: this backend's own copy of the identity's
 *		credentials, fetched now when missing or due for refresh.
 */
static void
private_credentials(const BedrockTarget *target, AwsCredentials *out)
{
	IdentityKey key;
	ListCell   *lc;
	PrivateIdentity *pi = NULL;
	TimestampTz now = GetCurrentTimestamp();
	StringInfoData error;

	identity_key(target, &key);
	foreach(lc, private_identities)
	{
		PrivateIdentity *p = lfirst(lc);

		if (memcmp(&p->key, &key, sizeof(key)) == 0)
		{
			pi = p;
			break;
		}
	}
	if (pi != NULL && memcmp(&pi->spec, target->spec, sizeof(IdentitySpec)) == 0 &&
		(pi->creds.expiration == 0 ||
		 now < credentials_refresh_time(&pi->creds, pi->fetched_at)))
	{
		memcpy(out, &pi->creds, sizeof(AwsCredentials));
		return;
	}
	initStringInfo(&error);
	if (identity_fetch(target->spec, out, &error) != CREDENTIALS_FETCHED)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("no AWS credentials for server \"%s\"", target->server_name),
				 errdetail("%s.", error.data),
				 errhint("Check the role_arn and external_id of the server and the user mapping, and the trust policy of the roles; see docs/fdw.md.")));
	if (pi == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		pi = palloc0(sizeof(PrivateIdentity));
		private_identities = lappend(private_identities, pi);
		MemoryContextSwitchTo(old);
	}
	pi->key = key;
	memcpy(&pi->spec, target->spec, sizeof(IdentitySpec));
	memcpy(&pi->creds, out, sizeof(AwsCredentials));
	pi->fetched_at = now;
}

/*
 * bedrock_target_credentials
 *		The credentials that sign target's next request, into *out: the
 *		settings' chain, the user mapping's static keys, or the identity's
 *		entry of the shared cache (filled by the worker; without it, this
 *		backend fetches).  Raises 28000 when there are none.  What signs is
 *		masked in every log line from now on.
 */
void
bedrock_target_credentials(const BedrockTarget *target, AwsCredentials *out)
{
	if (target == NULL || target->identity == TARGET_IDENTITY_SETTINGS)
	{
		credentials_resolve(out);
		return;
	}
	if (target->identity == TARGET_IDENTITY_STATIC)
		static_credentials(target, out);
	else if (credential_cache_available())
	{
		IdentityKey key;
		StringInfoData error;

		identity_key(target, &key);
		initStringInfo(&error);
		if (!identity_cache_get(&key, target->spec, target->server_name, out, &error))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("no valid AWS credentials for server \"%s\"", target->server_name),
					 errdetail("%s.", error.data),
					 errhint("SELECT * FROM bedrock.credentials shows the state of every identity; see docs/fdw.md for the trust policy the roles need.")));
	}
	else
		private_credentials(target, out);
	log_redact_remember(out->secret_access_key);
	log_redact_remember(out->session_token);
}

/*
 * bedrock_target_report_rejected
 *		Bedrock refused target's credentials of generation as expired or
 *		invalid: fetch new ones before the next attempt.
 */
void
bedrock_target_report_rejected(const BedrockTarget *target,
							   const AwsCredentials *used)
{
	if (target == NULL || target->identity == TARGET_IDENTITY_SETTINGS)
	{
		credentials_report_rejected(used);
		return;
	}
	if (target->identity == TARGET_IDENTITY_FETCHED)
	{
		IdentityKey key;

		identity_key(target, &key);
		if (credential_cache_available())
			identity_cache_report_rejected(&key, used->generation);
		else
		{
			ListCell   *lc;

			foreach(lc, private_identities)
			{
				PrivateIdentity *p = lfirst(lc);

				if (memcmp(&p->key, &key, sizeof(key)) == 0)
					memset(&p->spec, 0, sizeof(p->spec));	/* refetch */
			}
		}
	}
}

/*
 * bedrock_target_model_path_id
 *		The model id to put in the request path: the user mapping's
 *		inference_profile in place of an on-demand model id (not an ARN),
 *		which is how AWS attributes the cost to the profile's tags.
 */
const char *
bedrock_target_model_path_id(const BedrockTarget *target, const char *model)
{
	if (target != NULL && target->inference_profile != NULL &&
		strncmp(model, "arn:", 4) != 0)
		return target->inference_profile;
	return model;
}
