/*-------------------------------------------------------------------------
 *
 * catalog_handler.c
 *	  bedrock_fdw_handler, the foreign data wrapper's handler: the routine
 *	  table of the read-only foreign tables over the Bedrock catalog.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_handler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "catalog_fdw.h"

PG_FUNCTION_INFO_V1(bedrock_fdw_handler);

/*
 * catalogPlanForeignModify
 *		Refuses INSERT, UPDATE and DELETE on a catalog table: the catalog is
 *		read through the list operations, and AWS's own APIs change it.
 */
static List *
catalogPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
						 Index resultRelation, int subplan_index)
{
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("foreign table \"%s\" is read-only", get_rel_name(rte->relid)),
			 errdetail("The foreign tables of bedrock_fdw show the Bedrock catalog; they cannot change it."),
			 errhint("Change guardrails, inference profiles and jobs with the AWS console, CLI or SDKs; the tables show the change on the next scan.")));
	return NIL;
}

/*
 * bedrock_fdw_handler
 *		The FdwRoutine of bedrock_fdw: scans, EXPLAIN and IMPORT FOREIGN
 *		SCHEMA; modifications refused at plan time.
 */
Datum
bedrock_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = catalogGetForeignRelSize;
	routine->GetForeignPaths = catalogGetForeignPaths;
	routine->GetForeignPlan = catalogGetForeignPlan;
	routine->BeginForeignScan = catalogBeginForeignScan;
	routine->IterateForeignScan = catalogIterateForeignScan;
	routine->ReScanForeignScan = catalogReScanForeignScan;
	routine->EndForeignScan = catalogEndForeignScan;
	routine->ExplainForeignScan = catalogExplainForeignScan;
	routine->ImportForeignSchema = catalogImportForeignSchema;
	routine->PlanForeignModify = catalogPlanForeignModify;

	PG_RETURN_POINTER(routine);
}
