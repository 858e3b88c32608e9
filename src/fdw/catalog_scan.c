/*-------------------------------------------------------------------------
 *
 * catalog_scan.c
 *	  Executing a scan of a Bedrock catalog foreign table: one signed GET
 *	  of the resource's list operation per page, the pushed filters as
 *	  query parameters, nextToken followed to the end, and one row per list
 *	  entry with each column converted by its type's input function.
 *
 * A page is fetched only when the rows of the one before are used up,
 * and lives in its own memory context until then.  The network is
 * untrusted: a body goes through json_parse_untrusted, a page whose shape
 * is not the operation's is a MalformedResponse error, the number of pages
 * and rows a scan may read is capped, and a service that hands back the
 * token it was given is stopped.  Interrupts are checked once per page
 * here and throughout every request by aws_request_execute.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/fdw/catalog_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "executor/executor.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "aws_request.h"
#include "bedrock_fdw.h"
#include "catalog_fdw.h"
#include "catalog_resources.h"

/* what one scan may read: a page cap and a row cap */
#define CATALOG_MAX_PAGES 1000
#define CATALOG_MAX_ROWS 100000
/* maxResults asked of paginated operations (the service's maximum) */
#define CATALOG_PAGE_SIZE 1000

typedef struct CatalogScanState
{
	const CatalogResource *resource;
	CatalogEndpoint endpoint;
	int			natts;
	int		   *column_of_att;	/* per attribute: column index, -1 none */
	FmgrInfo   *in_functions;	/* per attribute: the type's input */
	Oid		   *typioparams;
	int32	   *typmods;
	List	   *filter_params;	/* String per pushed filter */
	List	   *filter_states;	/* ExprState per pushed filter */

	MemoryContext page_cxt;		/* the current page, its request and token */
	AwsRequest	req;			/* the current page's request */
	AwsResult	result;			/* and its response */
	JsonbContainer *entries;	/* the page's list, NULL before the first */
	int			nentries;
	int			next_entry;
	char	   *next_token;		/* NULL: this is the last page */
	bool		started;		/* a page was asked for since (re)start */

	/* for EXPLAIN ANALYZE, over every (re)scan */
	int64		requests;
	int64		rows;
	int64		scan_rows;		/* rows of this (re)scan, for the cap */
	int			scan_pages;		/* pages of this (re)scan, for the cap */

	/* for the conversion error context */
	const char *table_name;
	const char *current_column;
} CatalogScanState;

/*
 * conversion_error_callback
 *		Names the column and table whose value a type's input refused.
 */
static void
conversion_error_callback(void *arg)
{
	CatalogScanState *st = arg;

	if (st->current_column != NULL)
		errcontext("column \"%s\" of foreign table \"%s\" (resource %s)",
				   st->current_column, st->table_name, st->resource->name);
}

/* Append s to buf percent-encoded as a query component (UTF-8 in, RFC 3986). */
static void
append_query_encoded(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			appendStringInfoChar(buf, (char) *p);
		else
			appendStringInfo(buf, "%%%c%c", hex[*p >> 4], hex[*p & 0x0F]);
	}
}

static void
append_query_param(StringInfo buf, const char *name, const char *server_value)
{
	if (buf->len > 0)
		appendStringInfoChar(buf, '&');
	appendStringInfoString(buf, name);
	appendStringInfoChar(buf, '=');
	append_query_encoded(buf, server_to_utf8(server_value, strlen(server_value)));
}

/*
 * build_query
 *		The list request's query string: each pushed filter whose value
 *		(evaluated now: parameters change between executions) is one the
 *		service accepts, then maxResults and the page's nextToken.
 */
static char *
build_query(ForeignScanState *node, CatalogScanState *st)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	StringInfoData buf;
	ListCell   *lp;
	ListCell   *le;

	initStringInfo(&buf);
	forboth(lp, st->filter_params, le, st->filter_states)
	{
		const char *param = strVal(lfirst(lp));
		bool		isnull;
		Datum		d = ExecEvalExpr((ExprState *) lfirst(le), econtext, &isnull);
		char	   *value;
		int			c;

		if (isnull)
			continue;
		value = TextDatumGetCString(d);
		for (c = 0; c < st->resource->ncolumns; c++)
		{
			const CatalogColumn *col = &st->resource->columns[c];

			if (col->filter_param != NULL && strcmp(col->filter_param, param) == 0)
			{
				if (catalog_filter_value_ok(col, value))
					append_query_param(&buf, param, value);
				break;
			}
		}
	}
	if (st->resource->paginated)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, '&');
		appendStringInfo(&buf, "maxResults=%d", CATALOG_PAGE_SIZE);
		if (st->next_token != NULL)
		{
			appendStringInfoString(&buf, "&nextToken=");
			append_query_encoded(&buf, st->next_token);
		}
	}
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * forget_page
 *		Drop the current page, its request and its token.
 */
static void
forget_page(CatalogScanState *st)
{
	MemoryContextReset(st->page_cxt);
	st->entries = NULL;
	st->nentries = 0;
	st->next_entry = 0;
	st->next_token = NULL;
}

/*
 * raise_failed
 *		aws_request_raise for the current page, with the hints that point
 *		at the control plane where the shared ones speak of model calls and
 *		bedrock.endpoint.
 */
static void
raise_failed(CatalogScanState *st)
{
	AwsError   *err = &st->result.error;

	if (strcmp(err->code, "AccessDeniedException") == 0)
		err->hint = psprintf("The IAM principal needs bedrock:%s, and no SCP or permissions boundary may deny it.",
							 st->resource->operation);
	else if (strcmp(err->code, AWS_CODE_MALFORMED_RESPONSE) == 0)
		err->hint = "The endpoint did not answer like the Bedrock control plane: check the server's control_endpoint option and bedrock.control_endpoint.";
	else if (strcmp(err->code, "ValidationException") == 0)
		err->hint = NULL;
	else if (err->transport == HTTP_FAILED_DNS ||
			 err->transport == HTTP_FAILED_CONNECT ||
			 err->transport == HTTP_FAILED_TLS)
		err->hint = psprintf("Check the control-plane endpoint (%s), set by the server's control_endpoint or region option, bedrock.control_endpoint or bedrock.region, and that this server can reach it.",
							 st->endpoint.base_url);
	else if (err->transport == HTTP_FAILED_TIMEOUT)
		err->hint = "Raise bedrock.timeout_ms if the control plane is slow to answer.";
	aws_request_raise(&st->req, &st->result);
}

/*
 * raise_malformed
 *		Raise MalformedResponse for the current page, a 2xx response whose
 *		body is not the operation's shape.
 */
static void
raise_malformed(CatalogScanState *st, const char *what)
{
	st->result.ok = false;
	aws_error_malformed(&st->result.response, what, &st->result.error);
	raise_failed(st);
}

/*
 * fetch_page
 *		Ask for the next page (the first one when nothing was fetched since
 *		the scan (re)started) and make it the current one.
 */
static void
fetch_page(ForeignScanState *node, CatalogScanState *st)
{
	const CatalogResource *res = st->resource;
	MemoryContext oldcxt;
	Jsonb	   *page;
	JsonbValue	v;
	const char *why;
	char	   *query;
	char	   *previous_token;

	CHECK_FOR_INTERRUPTS();
	if (st->scan_pages >= CATALOG_MAX_PAGES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Bedrock %s returned more than %d pages", res->operation,
						CATALOG_MAX_PAGES),
				 errhint("Narrow the scan with a WHERE clause the operation can filter on; see docs/catalog.md.")));

	/* in the caller's (per-tuple) context: the page's context is reset */
	query = build_query(node, st);
	previous_token = st->next_token ? pstrdup(st->next_token) : NULL;

	forget_page(st);
	st->started = true;

	oldcxt = MemoryContextSwitchTo(st->page_cxt);
	memset(&st->req, 0, sizeof(st->req));
	memset(&st->result, 0, sizeof(st->result));
	st->req.operation = res->operation;
	st->req.service = "bedrock";
	st->req.method = "GET";
	st->req.base_url = st->endpoint.base_url;
	st->req.path = res->path;
	st->req.query = query ? pstrdup(query) : NULL;
	st->req.region = st->endpoint.region;
	st->req.credentials = st->endpoint.credentials;

	aws_request_execute(&st->req, &st->result);
	st->requests++;
	st->scan_pages++;
	if (!st->result.ok)
		raise_failed(st);

	page = json_parse_untrusted(st->result.response.body,
								st->result.response.body_len, &why);
	if (page == NULL)
		raise_malformed(st, why);
	if (!JB_ROOT_IS_OBJECT(page))
		raise_malformed(st, "the response is not a JSON object");

	/* the list: absent or null means an empty page */
	if (json_get_key(&page->root, res->list_member, &v) != NULL && v.type != jbvNull)
	{
		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
			raise_malformed(st, psprintf("member \"%s\" of the response is not an array",
										 res->list_member));
		st->entries = v.val.binary.data;
		st->nentries = JsonContainerSize(st->entries);
	}

	if (res->paginated &&
		json_get_key(&page->root, "nextToken", &v) != NULL && v.type != jbvNull)
	{
		if (v.type != jbvString)
			raise_malformed(st, "member \"nextToken\" of the response is not a string");
		if (v.val.string.len > 0)
			st->next_token = pnstrdup(v.val.string.val, v.val.string.len);
	}
	if (st->next_token != NULL && previous_token != NULL &&
		strcmp(st->next_token, previous_token) == 0)
		raise_malformed(st, "the response repeats the pagination token of its request");
	MemoryContextSwitchTo(oldcxt);
}

/*
 * scalar_text
 *		A scalar member as the text its column's input function reads.
 */
static char *
scalar_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		default:
			return NULL;
	}
}

/* Append s to buf as a double-quoted array element. */
static void
append_array_element(StringInfo buf, const char *s, int len)
{
	int			i;

	appendStringInfoChar(buf, '"');
	for (i = 0; i < len; i++)
	{
		if (s[i] == '"' || s[i] == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, s[i]);
	}
	appendStringInfoChar(buf, '"');
}

/*
 * array_text
 *		An array member (of strings, or of objects whose element_member is a
 *		string) as an array literal; NULL when its shape is not that.
 */
static char *
array_text(const CatalogColumn *col, JsonbValue *v)
{
	StringInfoData buf;
	JsonbContainer *arr;
	int			n;
	int			i;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return NULL;
	arr = v->val.binary.data;
	n = JsonContainerSize(arr);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(arr, i);
		JsonbValue	member;

		if (elem != NULL && col->kind == CATALOG_MEMBER_ARRAY)
		{
			if (elem->type != jbvBinary ||
				json_get_key(elem->val.binary.data, col->element_member, &member) == NULL)
				return NULL;
			elem = &member;
		}
		if (elem == NULL || elem->type != jbvString)
			return NULL;
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		append_array_element(&buf, elem->val.string.val, elem->val.string.len);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * store_entry
 *		Fill slot from one list entry.
 */
static void
store_entry(ForeignScanState *node, CatalogScanState *st, JsonbContainer *entry,
			TupleTableSlot *slot)
{
	ErrorContextCallback errcallback;
	int			i;

	errcallback.callback = conversion_error_callback;
	errcallback.arg = st;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	ExecClearTuple(slot);
	for (i = 0; i < st->natts; i++)
	{
		const CatalogColumn *col;
		JsonbValue	v;
		char	   *text;

		slot->tts_isnull[i] = true;
		slot->tts_values[i] = (Datum) 0;
		if (st->column_of_att[i] < 0)
			continue;
		col = &st->resource->columns[st->column_of_att[i]];
		if (catalog_column_value(col, entry, &v) == NULL)
			continue;
		text = (col->kind == CATALOG_SCALAR) ? scalar_text(&v) : array_text(col, &v);
		if (text == NULL)
		{
			error_context_stack = errcallback.previous;
			raise_malformed(st, psprintf("member \"%s\" of an entry does not have the shape of column \"%s\"",
										 col->path[0], col->name));
		}
		st->current_column = col->name;
		slot->tts_values[i] = InputFunctionCall(&st->in_functions[i], text,
												st->typioparams[i], st->typmods[i]);
		slot->tts_isnull[i] = false;
		st->current_column = NULL;
	}
	error_context_stack = errcallback.previous;
	ExecStoreVirtualTuple(slot);
}

/*
 * catalogBeginForeignScan
 *		Set up the column conversions, the filters' expressions and where
 *		requests go; nothing is sent before the first row is asked for.
 */
void
catalogBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	Relation	rel = node->ss.ss_currentRelation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	CatalogScanState *st = palloc0(sizeof(CatalogScanState));
	List	   *columns;
	Oid			userid;
	int			i;

	st->resource = catalog_resource_lookup(strVal(list_nth(fsplan->fdw_private,
														   CATALOG_PRIVATE_RESOURCE)));
	if (st->resource == NULL)
		elog(ERROR, "catalog scan of an unknown resource");
	columns = list_nth(fsplan->fdw_private, CATALOG_PRIVATE_COLUMNS);
	st->filter_params = list_nth(fsplan->fdw_private, CATALOG_PRIVATE_FILTERS);
	st->filter_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	st->table_name = RelationGetRelationName(rel);
	node->fdw_state = st;

	/* the table may have changed since planning: the plan is then redone */
	st->natts = tupdesc->natts;
	if (list_length(columns) != st->natts)
		elog(ERROR, "catalog scan plan does not match foreign table \"%s\"",
			 st->table_name);
	st->column_of_att = palloc(sizeof(int) * st->natts);
	st->in_functions = palloc0(sizeof(FmgrInfo) * st->natts);
	st->typioparams = palloc0(sizeof(Oid) * st->natts);
	st->typmods = palloc0(sizeof(int32) * st->natts);
	for (i = 0; i < st->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		Oid			infunc;

		st->column_of_att[i] = list_nth_int(columns, i);
		if (att->attisdropped)
		{
			st->column_of_att[i] = -1;
			continue;
		}
		getTypeInputInfo(att->atttypid, &infunc, &st->typioparams[i]);
		fmgr_info(infunc, &st->in_functions[i]);
		st->typmods[i] = att->atttypmod;
	}

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

#if PG_VERSION_NUM >= 160000
	userid = OidIsValid(fsplan->checkAsUser) ? fsplan->checkAsUser : GetUserId();
#else
	{
		RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, node->ss.ps.state);

		userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	}
#endif
	catalog_endpoint_for(GetForeignTable(RelationGetRelid(rel))->serverid, userid,
						 &st->endpoint);
	st->page_cxt = AllocSetContextCreate(node->ss.ps.state->es_query_cxt,
										 "bedrock_fdw catalog page",
										 ALLOCSET_DEFAULT_SIZES);
}

/*
 * catalogIterateForeignScan
 *		The next entry as a row, fetching pages as they are needed; an empty
 *		slot at the end of the last page.
 */
TupleTableSlot *
catalogIterateForeignScan(ForeignScanState *node)
{
	CatalogScanState *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	for (;;)
	{
		if (st->entries != NULL && st->next_entry < st->nentries)
		{
			JsonbValue *entry = getIthJsonbValueFromContainer(st->entries,
															  st->next_entry++);

			if (entry == NULL || entry->type != jbvBinary ||
				!JsonContainerIsObject(entry->val.binary.data))
				raise_malformed(st, psprintf("an entry of member \"%s\" is not an object",
											 st->resource->list_member));
			if (++st->scan_rows > CATALOG_MAX_ROWS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("Bedrock %s returned more than %d rows",
								st->resource->operation, CATALOG_MAX_ROWS),
						 errhint("Narrow the scan with a WHERE clause the operation can filter on; see docs/catalog.md.")));
			st->rows++;
			store_entry(node, st, entry->val.binary.data, slot);
			return slot;
		}
		if (st->started && st->next_token == NULL)
			return ExecClearTuple(slot);
		fetch_page(node, st);
	}
}

/*
 * catalogReScanForeignScan
 *		Start over from the first page (a parameter may have changed).
 */
void
catalogReScanForeignScan(ForeignScanState *node)
{
	CatalogScanState *st = node->fdw_state;

	forget_page(st);
	st->started = false;
	st->scan_rows = 0;
	st->scan_pages = 0;
}

/*
 * catalogEndForeignScan
 *		Wipe the credentials the scan signed with; the rest is memory,
 *		which goes with the query.
 */
void
catalogEndForeignScan(ForeignScanState *node)
{
	CatalogScanState *st = node->fdw_state;

	if (st != NULL && st->endpoint.credentials != NULL)
	{
		credentials_wipe((AwsCredentials *) st->endpoint.credentials);
		st->endpoint.credentials = NULL;
	}

	if (st != NULL && st->page_cxt != NULL)
	{
		MemoryContextDelete(st->page_cxt);
		st->page_cxt = NULL;
	}
}

/*
 * catalogExplainForeignScan
 *		The list operation, the filters sent to it ("byProvider=Anthropic";
 *		a parameter as $n, sent when its value is one the service accepts),
 *		and with ANALYZE the requests made and rows received.
 */
void
catalogExplainForeignScan(ForeignScanState *node, struct ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	CatalogScanState *st = node->fdw_state;
	List	   *params = list_nth(fsplan->fdw_private, CATALOG_PRIVATE_FILTERS);
	ListCell   *lp;
	ListCell   *le;

	ExplainPropertyText("Remote operation", st->resource->operation, es);
	if (params != NIL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		forboth(lp, params, le, fsplan->fdw_exprs)
		{
			Node	   *value = (Node *) lfirst(le);

			while (IsA(value, RelabelType))
				value = (Node *) ((RelabelType *) value)->arg;
			if (buf.len > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfo(&buf, "%s=", strVal(lfirst(lp)));
			if (IsA(value, Const))
				appendStringInfoString(&buf,
									   TextDatumGetCString(((Const *) value)->constvalue));
			else
				appendStringInfo(&buf, "$%d", ((Param *) value)->paramid);
		}
		ExplainPropertyText("Remote filter", buf.data, es);
	}
	if (es->analyze)
	{
		ExplainPropertyInteger("Remote requests", NULL, st->requests, es);
		ExplainPropertyInteger("Remote rows", NULL, st->rows, es);
	}
}
