/*-------------------------------------------------------------------------
 *
 * catalog_import.c
 *	  IMPORT FOREIGN SCHEMA bedrock: one CREATE FOREIGN TABLE per Bedrock
 *	  catalog resource, with the columns of catalog_resources.c.
 *
 * The remote schema is the catalog of the server's region, called
 * "bedrock"; nothing is asked of AWS to import it.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_import.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "catalog_fdw.h"
#include "catalog_resources.h"

#define CATALOG_REMOTE_SCHEMA "bedrock"

/*
 * wanted
 *		Whether IMPORT's LIMIT TO / EXCEPT list keeps the table.
 */
static bool
wanted(ImportForeignSchemaStmt *stmt, const char *table)
{
	ListCell   *lc;
	bool		listed = false;

	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		if (strcmp(rv->relname, table) == 0)
			listed = true;
	}
	switch (stmt->list_type)
	{
		case FDW_IMPORT_SCHEMA_LIMIT_TO:
			return listed;
		case FDW_IMPORT_SCHEMA_EXCEPT:
			return !listed;
		default:
			return true;
	}
}

/*
 * catalogImportForeignSchema
 *		The CREATE FOREIGN TABLE statements for IMPORT FOREIGN SCHEMA bedrock
 *		(the table names unqualified: the command puts them in the local
 *		schema).  Another remote schema, or any IMPORT option, is refused.
 */
List *
catalogImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	List	   *commands = NIL;
	ListCell   *lc;
	int			r;

	if (strcmp(stmt->remote_schema, CATALOG_REMOTE_SCHEMA) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("remote schema \"%s\" does not exist on server \"%s\"",
						stmt->remote_schema, server->servername),
				 errhint("The Bedrock catalog is remote schema \"%s\": IMPORT FOREIGN SCHEMA %s FROM SERVER %s INTO ...",
						 CATALOG_REMOTE_SCHEMA, CATALOG_REMOTE_SCHEMA,
						 quote_identifier(server->servername))));
	foreach(lc, stmt->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\" for IMPORT FOREIGN SCHEMA %s",
						def->defname, CATALOG_REMOTE_SCHEMA),
				 errhint("IMPORT FOREIGN SCHEMA %s takes no options.",
						 CATALOG_REMOTE_SCHEMA)));
	}

	for (r = 0; r < catalog_nresources; r++)
	{
		const CatalogResource *res = &catalog_resources[r];
		StringInfoData buf;
		int			c;

		if (!wanted(stmt, res->name))
			continue;
		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (", quote_identifier(res->name));
		for (c = 0; c < res->ncolumns; c++)
			appendStringInfo(&buf, "%s%s %s", c > 0 ? ", " : "",
							 quote_identifier(res->columns[c].name),
							 res->columns[c].sql_type);
		appendStringInfo(&buf, ") SERVER %s OPTIONS (resource %s)",
						 quote_identifier(server->servername),
						 quote_literal_cstr(res->name));
		commands = lappend(commands, buf.data);
	}
	return commands;
}
