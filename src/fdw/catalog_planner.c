/*-------------------------------------------------------------------------
 *
 * catalog_planner.c
 *	  Planning a scan of a Bedrock catalog foreign table: which resource
 *	  it reads, how its columns map to the resource's, and which WHERE
 *	  clauses become query parameters of the list operation (pushdown).
 *
 * Pushed clauses stay in the plan's qual list: the service's filtering
 * narrows what comes over the network, and the executor still checks
 * every row, so that a filter the service applies differently (byProvider
 * ignores case) never changes a result.  A clause is pushed when it is
 *
 *		col = value					(EQUALS and SUBSTRING columns)
 *		col LIKE '%literal%'		(SUBSTRING columns; a constant pattern)
 *		value = ANY (col)			(CONTAINS columns, text[])
 *		col @> ARRAY[value]			(CONTAINS columns; a constant array)
 *
 * with value a constant or an external parameter; a constant the service
 * would refuse is not pushed at all, a parameter is checked at run time.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_planner.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "bedrock_fdw.h"
#include "catalog_fdw.h"
#include "catalog_resources.h"

/* rows we guess a list returns before any filter */
#define CATALOG_ROWS_GUESS 100.0
/* cost of one list request, in units of seq_page_cost */
#define CATALOG_REQUEST_COST 1000.0

/* What GetForeignRelSize works out, for the later steps (baserel->fdw_private). */
typedef struct CatalogRelInfo
{
	const CatalogResource *resource;
	List	   *columns;		/* IntList: per attribute, column index */
	List	   *filter_params;	/* String per pushed filter */
	List	   *filter_exprs;	/* its value expression */
} CatalogRelInfo;

/*
 * map_columns
 *		Per attribute of the foreign table, the index of the resource's
 *		column of the same name (-1 for dropped attributes); raises, naming
 *		it, for a column the resource does not have.
 */
static List *
map_columns(Oid relid, const CatalogResource *res)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *columns = NIL;
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		int			col;

		if (att->attisdropped)
		{
			columns = lappend_int(columns, -1);
			continue;
		}
		col = catalog_column_lookup(res, NameStr(att->attname));
		if (col < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("column \"%s\" of foreign table \"%s\" is not a column of resource %s",
							NameStr(att->attname), RelationGetRelationName(rel),
							res->name),
					 errhint("IMPORT FOREIGN SCHEMA bedrock creates the tables with the columns each resource has; see docs/catalog.md.")));
		columns = lappend_int(columns, col);
	}
	table_close(rel, AccessShareLock);
	return columns;
}

/* e without the binary-compatible casts (varchar to text) around it */
static Expr *
strip_relabel(Expr *e)
{
	while (e != NULL && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	return e;
}

/*
 * column_of
 *		The resource column a Var of this relation stands for, or NULL when
 *		e is not such a Var.
 */
static const CatalogColumn *
column_of(Expr *e, RelOptInfo *baserel, CatalogRelInfo *info)
{
	Var		   *var = (Var *) strip_relabel(e);
	int			col;

	if (var == NULL || !IsA(var, Var) || var->varno != baserel->relid ||
		var->varlevelsup != 0 || var->varattno <= 0 ||
		var->varattno > list_length(info->columns))
		return NULL;
	col = list_nth_int(info->columns, var->varattno - 1);
	if (col < 0)
		return NULL;
	return &info->resource->columns[col];
}

/*
 * filter_value
 *		e when it is a value a filter can take: a text constant or an
 *		external parameter (under binary-compatible casts); else NULL.
 */
static Expr *
filter_value(Expr *e)
{
	Expr	   *v = strip_relabel(e);

	if (v == NULL)
		return NULL;
	if (IsA(v, Const) &&
		(exprType((Node *) v) == TEXTOID || exprType((Node *) v) == VARCHAROID))
		return v;
	if (IsA(v, Param) && ((Param *) v)->paramkind == PARAM_EXTERN &&
		(exprType((Node *) v) == TEXTOID || exprType((Node *) v) == VARCHAROID))
		return e;
	return NULL;
}

/*
 * like_substring
 *		For a constant LIKE pattern '%literal%' whose literal has no
 *		wildcard or escape, the literal as a text Const; else NULL.
 */
static Expr *
like_substring(Expr *e)
{
	Const	   *c = (Const *) strip_relabel(e);
	char	   *pattern;
	size_t		len;

	if (c == NULL || !IsA(c, Const) || c->constisnull || c->consttype != TEXTOID)
		return NULL;
	pattern = TextDatumGetCString(c->constvalue);
	len = strlen(pattern);
	if (len < 3 || pattern[0] != '%' || pattern[len - 1] != '%')
		return NULL;
	pattern[len - 1] = '\0';
	if (strpbrk(pattern + 1, "%_\\") != NULL)
		return NULL;
	return (Expr *) makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
							  CStringGetTextDatum(pattern + 1), false, false);
}

/*
 * single_element
 *		For a constant one-element text[] array, that element as a text
 *		Const; else NULL.
 */
static Expr *
single_element(Expr *e)
{
	Const	   *c = (Const *) strip_relabel(e);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (c == NULL || !IsA(c, Const) || c->constisnull || c->consttype != TEXTARRAYOID)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(c->constvalue), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, &nulls, &n);
	if (n != 1 || nulls[0])
		return NULL;
	return (Expr *) makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
							  elems[0], false, false);
}

/*
 * match_clause
 *		If clause is one that the list operation can filter on, the column
 *		it filters and (in *value) the value expression to send; else NULL.
 */
static const CatalogColumn *
match_clause(Expr *clause, RelOptInfo *baserel, CatalogRelInfo *info,
			 Expr **value)
{
	*value = NULL;
	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;
		Expr	   *left = linitial(op->args);
		Expr	   *right = lsecond(op->args);
		const CatalogColumn *col;

		if (op->opfuncid == F_TEXTEQ)
		{
			if ((col = column_of(left, baserel, info)) != NULL)
				*value = filter_value(right);
			else if ((col = column_of(right, baserel, info)) != NULL)
				*value = filter_value(left);
			if (col != NULL && *value != NULL &&
				(col->filter_match == CATALOG_FILTER_EQUALS ||
				 col->filter_match == CATALOG_FILTER_SUBSTRING))
				return col;
		}
		else if (op->opfuncid == F_TEXTLIKE)
		{
			if ((col = column_of(left, baserel, info)) != NULL &&
				col->filter_match == CATALOG_FILTER_SUBSTRING &&
				(*value = like_substring(right)) != NULL)
				return col;
		}
		else if (op->opfuncid == F_ARRAYCONTAINS)
		{
			if ((col = column_of(left, baserel, info)) != NULL &&
				col->filter_match == CATALOG_FILTER_CONTAINS &&
				(*value = single_element(right)) != NULL)
				return col;
		}
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;
		const CatalogColumn *col;

		if (saop->useOr && saop->opfuncid == F_TEXTEQ &&
			list_length(saop->args) == 2 &&
			(col = column_of(lsecond(saop->args), baserel, info)) != NULL &&
			col->filter_match == CATALOG_FILTER_CONTAINS &&
			(*value = filter_value(linitial(saop->args))) != NULL)
			return col;
	}
	*value = NULL;
	return NULL;
}

/*
 * already_pushed
 *		Whether a filter for that query parameter is pushed already (two
 *		clauses on one parameter: the first is sent, both are checked).
 */
static bool
already_pushed(CatalogRelInfo *info, const char *param)
{
	ListCell   *lc;

	foreach(lc, info->filter_params)
	{
		if (strcmp(strVal(lfirst(lc)), param) == 0)
			return true;
	}
	return false;
}

/*
 * catalogGetForeignRelSize
 *		Resolve the resource and the column map (raising for a column the
 *		resource lacks), choose the pushed filters, and guess the row count.
 */
void
catalogGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
						 Oid foreigntableid)
{
	CatalogRelInfo *info = palloc0(sizeof(CatalogRelInfo));
	ListCell   *lc;

	info->resource = catalog_resource_for_table(foreigntableid);
	info->columns = map_columns(foreigntableid, info->resource);

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Expr	   *value;
		const CatalogColumn *col = match_clause(ri->clause, baserel, info, &value);

		if (col == NULL || already_pushed(info, col->filter_param))
			continue;
		/* a constant the service refuses is filtered here only */
		if (IsA(value, Const))
		{
			Const	   *c = (Const *) value;

			if (c->constisnull ||
				!catalog_filter_value_ok(col, TextDatumGetCString(c->constvalue)))
				continue;
		}
		info->filter_params = lappend(info->filter_params, makeString(pstrdup(col->filter_param)));
		info->filter_exprs = lappend(info->filter_exprs, value);
	}
	baserel->fdw_private = info;

	/*
	 * Every clause is checked here, pushed or not: the selectivity of them
	 * all is the share of the list that comes out of the scan.
	 */
	baserel->rows = clamp_row_est(CATALOG_ROWS_GUESS *
								  clauselist_selectivity(root, baserel->baserestrictinfo,
														 0, JOIN_INNER, NULL));
}

/*
 * catalogGetForeignPaths
 *		One path: a scan of the whole (filtered) list, one request per page.
 */
void
catalogGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
					   Oid foreigntableid)
{
	CatalogRelInfo *info = baserel->fdw_private;
	Cost		startup = CATALOG_REQUEST_COST;
	Cost		total;

	/* fewer rows come over the network when filters are pushed */
	total = startup +
		CATALOG_ROWS_GUESS * pow(0.5, list_length(info->filter_params)) *
		(cpu_tuple_cost * 10 +
		 cpu_operator_cost * list_length(baserel->baserestrictinfo));
	add_path(baserel, (Path *)
			 BedrockCreateForeignScanPath(root, baserel, baserel->rows,
										  startup, total, NIL));
}

/*
 * catalogGetForeignPlan
 *		The scan node: every clause checked locally, the pushed filters'
 *		values in fdw_exprs, the resource, column map and filter parameters
 *		in fdw_private.
 */
ForeignScan *
catalogGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
					  Oid foreigntableid, ForeignPath *best_path,
					  List *tlist, List *scan_clauses, Plan *outer_plan)
{
	CatalogRelInfo *info = baserel->fdw_private;
	List	   *fdw_private;

	scan_clauses = extract_actual_clauses(scan_clauses, false);
	fdw_private = list_make3(makeString(pstrdup(info->resource->name)),
							 info->columns, info->filter_params);
	return make_foreignscan(tlist, scan_clauses, baserel->relid,
							info->filter_exprs, fdw_private, NIL, NIL,
							outer_plan);
}
