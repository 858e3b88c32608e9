/*-------------------------------------------------------------------------
 *
 * catalog_resources.h
 *	  The Bedrock catalog behind bedrock_fdw's foreign tables: for each
 *	  resource (foundation_models, inference_profiles, guardrails,
 *	  model_invocation_jobs) its list operation, its columns and where each
 *	  column's value is in a list entry, and the filters the operation
 *	  accepts.  The planner, the scan and IMPORT FOREIGN SCHEMA all read
 *	  this one table.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_resources.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_CATALOG_RESOURCES_H
#define BEDROCK_CATALOG_RESOURCES_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

/* How a column's value sits in a list entry. */
typedef enum CatalogValueKind
{
	CATALOG_SCALAR,				/* a string, boolean or number */
	CATALOG_STRING_ARRAY,		/* an array of strings */
	CATALOG_MEMBER_ARRAY		/* an array of objects: one member of each */
} CatalogValueKind;

/* How a WHERE clause on a column becomes a query parameter. */
typedef enum CatalogFilterMatch
{
	CATALOG_FILTER_NONE,
	CATALOG_FILTER_EQUALS,		/* col = value */
	CATALOG_FILTER_CONTAINS,	/* value = ANY (col), col @> ARRAY[value] */
	CATALOG_FILTER_SUBSTRING	/* col = value, col LIKE '%value%' */
} CatalogFilterMatch;

#define CATALOG_PATH_DEPTH 3

typedef struct CatalogColumn
{
	const char *name;			/* column name */
	const char *sql_type;		/* type IMPORT FOREIGN SCHEMA gives it */
	const char *path[CATALOG_PATH_DEPTH];	/* member names, NULL-ended */
	CatalogValueKind kind;
	const char *element_member; /* CATALOG_MEMBER_ARRAY: the member */
	const char *filter_param;	/* query parameter, or NULL */
	CatalogFilterMatch filter_match;
	const char *const *filter_values;	/* values the API accepts
										 * (NULL-ended), or NULL */
	bool		(*filter_check) (const char *value);	/* else this says */
} CatalogColumn;

typedef struct CatalogResource
{
	const char *name;			/* the resource option's value, the table */
	const char *operation;		/* "ListFoundationModels" */
	const char *path;			/* "/foundation-models" */
	const char *list_member;	/* "modelSummaries" */
	bool		paginated;		/* maxResults and nextToken */
	const CatalogColumn *columns;
	int			ncolumns;
} CatalogResource;

/* in catalog_resources.c */
extern const CatalogResource catalog_resources[];
extern const int catalog_nresources;
extern const CatalogResource *catalog_resource_lookup(const char *name);
extern const CatalogResource *catalog_resource_for_table(Oid relid);
extern int	catalog_column_lookup(const CatalogResource *res, const char *name);
extern bool catalog_filter_value_ok(const CatalogColumn *col, const char *value);
extern JsonbValue *catalog_column_value(const CatalogColumn *col,
										JsonbContainer *entry,
										JsonbValue *result);

#endif							/* BEDROCK_CATALOG_RESOURCES_H */
