/*-------------------------------------------------------------------------
 *
 * catalog_fdw.h
 *	  The callbacks of bedrock_fdw's foreign tables over the Bedrock
 *	  catalog, grouped by the file that defines them, and what the planner
 *	  hands the executor.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_fdw.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CATALOG_FDW_H
#define BEDROCK_CATALOG_FDW_H

#include "postgres.h"

#include "foreign/fdwapi.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"

#include "credentials.h"

/*
 * ForeignScan.fdw_private: a list of these, in this order.  fdw_exprs
 * holds one value expression (a Const or a Param) per pushed filter, in
 * the order of CATALOG_PRIVATE_FILTERS.
 */
enum CatalogPrivateIndex
{
	CATALOG_PRIVATE_RESOURCE,	/* String: the resource's name */
	CATALOG_PRIVATE_COLUMNS,	/* IntList: per attribute (attnum - 1), the
								 * column's index in the resource, -1 if
								 * dropped */
	CATALOG_PRIVATE_FILTERS		/* List of String: the query parameter of
								 * each fdw_exprs entry */
};

/* Where a catalog scan sends its requests, and as whom (catalog_endpoint.c). */
typedef struct CatalogEndpoint
{
	char	   *region;			/* signing region */
	char	   *base_url;		/* control plane, no trailing '/' */
	const AwsCredentials *credentials;	/* NULL: the configured chain */
} CatalogEndpoint;

/* in catalog_endpoint.c */
extern void catalog_endpoint_for(Oid serverid, Oid userid, CatalogEndpoint *out);

/* in catalog_planner.c */
extern void catalogGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
									 Oid foreigntableid);
extern void catalogGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
								   Oid foreigntableid);
extern ForeignScan *catalogGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
										  Oid foreigntableid,
										  ForeignPath *best_path, List *tlist,
										  List *scan_clauses, Plan *outer_plan);

/* in catalog_scan.c */
extern void catalogBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *catalogIterateForeignScan(ForeignScanState *node);
extern void catalogReScanForeignScan(ForeignScanState *node);
extern void catalogEndForeignScan(ForeignScanState *node);
extern void catalogExplainForeignScan(ForeignScanState *node,
									  struct ExplainState *es);

/* in catalog_import.c */
extern List *catalogImportForeignSchema(ImportForeignSchemaStmt *stmt,
										Oid serverOid);

#endif							/* BEDROCK_CATALOG_FDW_H */
