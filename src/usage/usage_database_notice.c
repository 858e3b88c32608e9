/*-------------------------------------------------------------------------
 *
 * usage_database_notice.c
 *	  Tell whoever creates the extension outside bedrock.database where the
 *	  usage of its calls goes.
 *
 * The usage writer stores every call's record in the one database that
 * bedrock.database names.  Created in another database, the extension
 * works, but its bedrock.usage_log and usage views stay empty, which a
 * first user cannot guess.  An extension script cannot say so (CREATE
 * EXTENSION hides its NOTICEs), so a ProcessUtility hook, installed when
 * the library is preloaded (the only case where bedrock.database exists),
 * raises a NOTICE once CREATE EXTENSION bedrock_fdw has succeeded.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/usage/usage_database_notice.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "bedrock_fdw.h"
#include "usage.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * notice_usage_database
 *		The NOTICE itself, when this database is not bedrock.database.
 */
static void
notice_usage_database(void)
{
	char	   *here = get_database_name(MyDatabaseId);

	if (bedrock_database == NULL || here == NULL ||
		strcmp(here, bedrock_database) == 0)
		return;
	ereport(NOTICE,
			(errmsg("usage of calls made from database \"%s\" is recorded in database \"%s\"",
					here, bedrock_database),
			 errdetail("bedrock.database is \"%s\": bedrock.usage_log and the usage views in database \"%s\" stay empty.",
					   bedrock_database, here),
			 errhint("Query usage in database \"%s\" (the extension must exist there too), or set bedrock.database and restart the server.",
					 bedrock_database)));
}

/*
 * usage_notice_process_utility
 *		Run the statement as usual; after a successful CREATE EXTENSION
 *		bedrock_fdw, say where usage goes.
 */
static void
usage_notice_process_utility(PlannedStmt *pstmt, const char *queryString,
							 bool readOnlyTree, ProcessUtilityContext context,
							 ParamListInfo params, QueryEnvironment *queryEnv,
							 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		creates_us = IsA(parsetree, CreateExtensionStmt) &&
		strcmp(((CreateExtensionStmt *) parsetree)->extname, "bedrock_fdw") == 0;

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (creates_us)
		notice_usage_database();
}

/*
 * usage_database_notice_init
 *		Install the hook; called from _PG_init while preloading.
 */
void
usage_database_notice_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = usage_notice_process_utility;
}
