/*-------------------------------------------------------------------------
 *
 * usage_log_guard.c
 *	  What the usage writer checks before it touches bedrock.usage_log, and
 *	  the least privilege it touches it with.
 *
 * The writer is started as the bootstrap superuser, in a database whose
 * owner (and anyone with CREATE there) could have made objects of their
 * own.  So before every transaction that writes the table it
 *
 *	- finds bedrock.usage_log and locks it (a locked table cannot be
 *	  renamed, dropped or replaced until the transaction ends, so the name
 *	  the SQL uses afterwards resolves to the table checked);
 *	- checks through pg_depend that the table is a member of extension
 *	  bedrock_fdw: a table someone created under that name is refused;
 *	- refuses a table with any trigger or rule that the extension did not
 *	  create (it creates none): a trigger of someone granted TRIGGER on the
 *	  table would otherwise run as the table's owner;
 *	- becomes the table's owner (the role that created the extension, or
 *	  the one a superuser gave the table to) with SECURITY_RESTRICTED_OPERATION,
 *	  as VACUUM and REFRESH MATERIALIZED VIEW do, and pins search_path to
 *	  pg_catalog, pg_temp for the transaction.  What else could run code on
 *	  an insert or delete (index expressions, constraints, defaults,
 *	  policies) can only be made by that owner, and so runs as that owner.
 *
 * A refusal is a reason, reported by the writer; the records wait.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage_log_guard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "rewrite/prs2lock.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "usage_log_guard.h"

/* the search_path of everything the writer runs */
#define SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * foreign_attachment
 *		A trigger or rule on rel that extension extoid did not create, as a
 *		description of the problem; NULL when there is none.
 */
static char *
foreign_attachment(Relation rel, Oid extoid)
{
	int			i;

	if (rel->trigdesc != NULL)
	{
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *trig = &rel->trigdesc->triggers[i];

			if (getExtensionOfObject(TriggerRelationId, trig->tgoid) != extoid)
				return psprintf("bedrock.usage_log in database \"%s\" has trigger \"%s\", which extension bedrock_fdw did not create",
								get_database_name(MyDatabaseId), trig->tgname);
		}
	}
	if (rel->rd_rules != NULL)
	{
		for (i = 0; i < rel->rd_rules->numLocks; i++)
		{
			if (getExtensionOfObject(RewriteRelationId, rel->rd_rules->rules[i]->ruleId) != extoid)
				return psprintf("bedrock.usage_log in database \"%s\" has a rule that extension bedrock_fdw did not create",
								get_database_name(MyDatabaseId));
		}
	}
	return NULL;
}

/*
 * usage_log_guard_enter
 *		Inside a transaction: lock bedrock.usage_log in lockmode and check
 *		that the writer may write it (see the file header).  When it may,
 *		become its owner with search_path pinned, fill *guard and return
 *		NULL; usage_log_guard_leave undoes both (so does an abort).  When it
 *		may not, return why (palloc'd, a sentence fragment naming the
 *		problem) and leave the user and settings as they were.
 */
char *
usage_log_guard_enter(LOCKMODE lockmode, UsageLogGuard *guard)
{
	Oid			extoid;
	Oid			relid;
	Relation	rel;
	char	   *problem = NULL;

	relid = RangeVarGetRelidExtended(makeRangeVar("bedrock", "usage_log", -1),
									 lockmode, RVR_MISSING_OK, NULL, NULL);
	if (!OidIsValid(relid))
		return psprintf("no bedrock.usage_log in the database named by bedrock.database (\"%s\")",
						get_database_name(MyDatabaseId));

	extoid = get_extension_oid("bedrock_fdw", true);
	if (!OidIsValid(extoid) ||
		getExtensionOfObject(RelationRelationId, relid) != extoid)
		return psprintf("bedrock.usage_log in database \"%s\" is not a member of extension bedrock_fdw",
						get_database_name(MyDatabaseId));

	rel = table_open(relid, NoLock);	/* locked above */
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		problem = psprintf("bedrock.usage_log in database \"%s\" is not a plain table",
						   get_database_name(MyDatabaseId));
	else
		problem = foreign_attachment(rel, extoid);
	guard->owner = rel->rd_rel->relowner;
	table_close(rel, NoLock);
	if (problem != NULL)
		return problem;

	GetUserIdAndSecContext(&guard->saved_userid, &guard->saved_sec_context);
	SetUserIdAndSecContext(guard->owner,
						   guard->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	guard->nest_level = NewGUCNestLevel();
	(void) set_config_option("search_path", SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return NULL;
}

/*
 * usage_log_guard_leave
 *		Undo usage_log_guard_enter: settings, then user.
 */
void
usage_log_guard_leave(UsageLogGuard *guard)
{
	AtEOXact_GUC(false, guard->nest_level);
	SetUserIdAndSecContext(guard->saved_userid, guard->saved_sec_context);
}

/*
 * usage_pin_search_path
 *		For the life of the calling worker, override whatever search_path
 *		the database or role settings gave it (ALTER DATABASE ... SET is its
 *		owner's to choose) with pg_catalog, pg_temp.
 */
void
usage_pin_search_path(void)
{
	SetConfigOption("search_path", SAFE_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);
}
