/*-------------------------------------------------------------------------
 *
 * json_schema.c
 *	  The subset of JSON Schema that bedrock_extract takes.
 *
 * json_schema_check refuses, before anything is sent, a schema that is
 * not an object schema or that uses a keyword outside the subset,
 * naming the keyword and where it is (a JSON path into the schema).
 * json_schema_validate checks an answer of the model against a checked
 * schema and names the first place where it does not conform, as a JSON
 * path into the answer ("$.parties[1].name: expected string, got
 * number").
 *
 * The subset: "type" (object, array, string, integer, number, boolean,
 * or a pair [T, "null"] for a nullable member), "properties",
 * "required", "enum", "items", "description", "title",
 * "additionalProperties" (a boolean: false refuses unknown members), and
 * "$schema" at the top (ignored).  An integer is a number without a
 * fractional part; a number that arrives as a string is not a number.
 * Both walks are recursive, bounded in depth (JSON_SCHEMA_MAX_DEPTH) and
 * check the stack.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/json_schema.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "compat.h"
#include "json_schema.h"

/* the types of the subset, as bits */
#define T_OBJECT	0x01
#define T_ARRAY		0x02
#define T_STRING	0x04
#define T_INTEGER	0x08
#define T_NUMBER	0x10
#define T_BOOLEAN	0x20
#define T_NULL		0x40

static const struct
{
	const char *name;
	int			bit;
}			type_names[] =
{
	{"object", T_OBJECT},
	{"array", T_ARRAY},
	{"string", T_STRING},
	{"integer", T_INTEGER},
	{"number", T_NUMBER},
	{"boolean", T_BOOLEAN},
	{"null", T_NULL},
};

typedef struct SchemaWalk
{
	const char *funcname;
	int			nodes;
} SchemaWalk;

/*
 * path_append_key
 *		Append .key to a JSON path, quoted when key is not a plain name;
 *		a key from an answer is clipped to 64 bytes (whole characters).
 */
static void
path_append_key(StringInfo path, const char *key, int len)
{
	int			clipped = pg_mbcliplen(key, len, 64);
	bool		plain = len > 0 && !isdigit((unsigned char) key[0]);

	for (int i = 0; i < clipped && plain; i++)
		plain = isalnum((unsigned char) key[i]) || key[i] == '_';
	if (plain)
		appendBinaryStringInfo(path, ".", 1);
	else
		appendStringInfoString(path, ".\"");
	for (int i = 0; i < clipped; i++)
	{
		if (!plain && (key[i] == '"' || key[i] == '\\'))
			appendStringInfoChar(path, '\\');
		appendStringInfoChar(path, key[i]);
	}
	if (clipped < len)
		appendStringInfoString(path, "...");
	if (!plain)
		appendStringInfoChar(path, '"');
}

static int
type_bit(const char *s, int len)
{
	for (int i = 0; i < lengthof(type_names); i++)
		if (strlen(type_names[i].name) == len && strncmp(type_names[i].name, s, len) == 0)
			return type_names[i].bit;
	return 0;
}

/* The name of a type bit (for a single bit). */
static const char *
type_name(int bit)
{
	for (int i = 0; i < lengthof(type_names); i++)
		if (type_names[i].bit == bit)
			return type_names[i].name;
	return "?";
}

static JsonbValue *
get_member(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

static bool
is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

pg_noreturn static void
schema_error(SchemaWalk *w, StringInfo path, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid schema for %s at %s: %s", w->funcname, path->data, what),
			 errhint("bedrock_fdw supports these JSON Schema keywords: %s.",
					 JSON_SCHEMA_KEYWORDS)));
}

/*
 * schema_types
 *		The type bits a schema node's "type" allows: one type name, or an
 *		array of a type name and "null".  0 when the node has no "type".
 */
static int
schema_types(SchemaWalk *w, JsonbContainer *node, StringInfo path)
{
	JsonbValue *t = get_member(node, "type");
	int			bits = 0;

	if (t == NULL)
		return 0;
	if (t->type == jbvString)
		bits = type_bit(t->val.string.val, t->val.string.len);
	else if (is_array(t) && JsonContainerSize(t->val.binary.data) == 2)
	{
		for (int i = 0; i < 2; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(t->val.binary.data, i);
			int			b = e->type == jbvString ?
				type_bit(e->val.string.val, e->val.string.len) : 0;

			if (b == 0 || (bits & b))
			{
				bits = 0;
				break;
			}
			bits |= b;
		}
		if (!(bits & T_NULL))
			bits = 0;
	}
	if (bits == 0 || bits == T_NULL)
		schema_error(w, path, "\"type\" must be one of object, array, string, integer, number, boolean, or a pair of one of these and \"null\"");
	return bits;
}

/* The type bit of a JSON value (an integral number is an integer). */
static int
value_type(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return T_NULL;
		case jbvString:
			return T_STRING;
		case jbvBool:
			return T_BOOLEAN;
		case jbvNumeric:
			{
				Datum		n = NumericGetDatum(v->val.numeric);
				Datum		t = DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0));

				return DatumGetBool(DirectFunctionCall2(numeric_eq, n, t)) ?
					T_INTEGER : T_NUMBER;
			}
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? T_ARRAY : T_OBJECT;
		default:
			return 0;
	}
}

/* Whether a value of type bit got is allowed by the bits allowed. */
static bool
type_allows(int allowed, int got)
{
	if (allowed & got)
		return true;
	/* an integer is a number */
	return got == T_INTEGER && (allowed & T_NUMBER);
}

static void check_node(SchemaWalk *w, JsonbContainer *node, StringInfo path,
					   int depth, bool top);

/* "properties" and "required" of an object node. */
static void
check_object_members(SchemaWalk *w, JsonbContainer *node, StringInfo path, int depth)
{
	JsonbValue *props = get_member(node, "properties");
	JsonbValue *req = get_member(node, "required");
	JsonbValue *addl = get_member(node, "additionalProperties");
	int			len = path->len;

	if (props != NULL)
	{
		JsonbIterator *it;
		JsonbValue	k;
		JsonbValue	v;
		JsonbIteratorToken tok;

		if (!is_object(props))
			schema_error(w, path, "\"properties\" must be an object");
		it = JsonbIteratorInit(props->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			(void) JsonbIteratorNext(&it, &v, true);
			appendStringInfoString(path, ".properties");
			path_append_key(path, k.val.string.val, k.val.string.len);
			if (!is_object(&v))
				schema_error(w, path, "a property's schema must be an object");
			check_node(w, v.val.binary.data, path, depth + 1, false);
			path->len = len;
			path->data[len] = '\0';
		}
	}
	if (req != NULL)
	{
		int			n;

		if (!is_array(req))
			schema_error(w, path, "\"required\" must be an array of property names");
		n = JsonContainerSize(req->val.binary.data);
		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(req->val.binary.data, i);

			if (e->type != jbvString)
				schema_error(w, path, "\"required\" must be an array of property names");
			if (props == NULL ||
				getKeyJsonValueFromContainer(props->val.binary.data, e->val.string.val,
											 e->val.string.len, NULL) == NULL)
				schema_error(w, path, psprintf("required member \"%.*s\" is not in \"properties\"",
											   Min(e->val.string.len, 64), e->val.string.val));
			for (int j = 0; j < i; j++)
			{
				JsonbValue *f = getIthJsonbValueFromContainer(req->val.binary.data, j);

				if (f->val.string.len == e->val.string.len &&
					memcmp(f->val.string.val, e->val.string.val, f->val.string.len) == 0)
					schema_error(w, path, psprintf("\"required\" names \"%.*s\" twice",
												   Min(e->val.string.len, 64), e->val.string.val));
			}
		}
	}
	if (addl != NULL && addl->type != jbvBool)
		schema_error(w, path, "\"additionalProperties\" must be true or false (a schema there is not supported)");
}

/* "enum": a non-empty array of scalars, each of the node's type. */
static void
check_enum(SchemaWalk *w, JsonbValue *e, int types, StringInfo path)
{
	int			n;

	if (!is_array(e) || (n = JsonContainerSize(e->val.binary.data)) == 0)
		schema_error(w, path, "\"enum\" must be a non-empty array");
	if (n > JSON_SCHEMA_MAX_ENUM)
		schema_error(w, path, psprintf("\"enum\" has %d values, more than the limit of %d",
									   n, JSON_SCHEMA_MAX_ENUM));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(e->val.binary.data, i);
		int			t = value_type(v);

		if (t == T_OBJECT || t == T_ARRAY)
			schema_error(w, path, "\"enum\" values must be strings, numbers, booleans or null");
		if (types != 0 && !type_allows(types, t))
			schema_error(w, path, psprintf("\"enum\" value %d is not of the node's \"type\"", i + 1));
	}
}

/*
 * check_node
 *		Check one schema node at path (the whole schema when top).
 */
static void
check_node(SchemaWalk *w, JsonbContainer *node, StringInfo path, int depth,
		   bool top)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			types;
	JsonbValue *e;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (depth > JSON_SCHEMA_MAX_DEPTH)
		schema_error(w, path, psprintf("the schema nests deeper than %d levels",
									   JSON_SCHEMA_MAX_DEPTH));
	if (++w->nodes > JSON_SCHEMA_MAX_NODES)
		schema_error(w, path, psprintf("the schema has more than %d subschemas",
									   JSON_SCHEMA_MAX_NODES));

	/* every keyword is one we know */
	it = JsonbIteratorInit(node);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		static const char *const known[] = {"type", "properties", "required", "enum",
		"items", "description", "title", "additionalProperties"};
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &v, true);
		for (int i = 0; i < lengthof(known) && !ok; i++)
			ok = strlen(known[i]) == k.val.string.len &&
				strncmp(known[i], k.val.string.val, k.val.string.len) == 0;
		if (!ok && top && k.val.string.len == 7 &&
			strncmp(k.val.string.val, "$schema", 7) == 0)
			ok = true;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported JSON Schema keyword \"%.*s\" at %s in the schema of %s",
							Min(k.val.string.len, 64), k.val.string.val, path->data,
							w->funcname),
					 errhint("bedrock_fdw supports these JSON Schema keywords: %s.",
							 JSON_SCHEMA_KEYWORDS)));
		if ((strncmp(k.val.string.val, "description", k.val.string.len) == 0 ||
			 strncmp(k.val.string.val, "title", k.val.string.len) == 0) &&
			v.type != jbvString)
			schema_error(w, path, psprintf("\"%.*s\" must be a string",
										   k.val.string.len, k.val.string.val));
	}

	types = schema_types(w, node, path);
	e = get_member(node, "enum");
	if (types == 0 && e == NULL)
		schema_error(w, path, "a schema needs a \"type\" (or an \"enum\")");
	if (top && types != T_OBJECT)
		schema_error(w, path, "the schema must be an object schema: {\"type\": \"object\", \"properties\": {...}}");
	if (e != NULL)
		check_enum(w, e, types, path);

	if (!(types & T_OBJECT) &&
		(get_member(node, "properties") || get_member(node, "required") ||
		 get_member(node, "additionalProperties")))
		schema_error(w, path, "\"properties\", \"required\" and \"additionalProperties\" belong to a schema of type object");
	if (types & T_OBJECT)
		check_object_members(w, node, path, depth);
	e = get_member(node, "items");
	if (e != NULL)
	{
		int			len = path->len;

		if (!(types & T_ARRAY))
			schema_error(w, path, "\"items\" belongs to a schema of type array");
		appendStringInfoString(path, ".items");
		if (!is_object(e))
			schema_error(w, path, "\"items\" must be a schema (an object)");
		check_node(w, e->val.binary.data, path, depth + 1, false);
		path->len = len;
		path->data[len] = '\0';
	}
}

/*
 * json_schema_check
 *		Raise 22023 unless schema is an object schema of the supported
 *		subset within the bounds; the message names the keyword or the
 *		rule and the JSON path of the offending node in the schema.
 */
void
json_schema_check(Jsonb *schema, const char *funcname)
{
	SchemaWalk	w = {funcname, 0};
	StringInfoData path;

	initStringInfo(&path);
	appendStringInfoChar(&path, '$');
	if (JB_ROOT_IS_SCALAR(schema) || !JB_ROOT_IS_OBJECT(schema))
		schema_error(&w, &path, "the schema must be an object schema: {\"type\": \"object\", \"properties\": {...}}");
	check_node(&w, &schema->root, &path, 0, true);
}

/* Append the JSON of a scalar (for messages), clipped to 40 bytes of whole characters. */
static void
append_short_value(StringInfo out, const JsonbValue *v)
{
	const char *s;
	int			len;
	int			clipped;

	if (v->type == jbvString)
	{
		s = v->val.string.val;
		len = v->val.string.len;
	}
	else
	{
		s = JsonbToCString(NULL, &JsonbValueToJsonb((JsonbValue *) v)->root, 64);
		len = strlen(s);
	}
	clipped = pg_mbcliplen(s, len, 40);
	appendStringInfo(out, "%s%.*s%s%s", v->type == jbvString ? "\"" : "",
					 clipped, s, clipped < len ? "..." : "",
					 v->type == jbvString ? "\"" : "");
}

static bool
scalar_equal(const JsonbValue *a, const JsonbValue *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type)
	{
		case jbvNull:
			return true;
		case jbvBool:
			return a->val.boolean == b->val.boolean;
		case jbvString:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case jbvNumeric:
			return DatumGetBool(DirectFunctionCall2(numeric_eq,
													NumericGetDatum(a->val.numeric),
													NumericGetDatum(b->val.numeric)));
		default:
			return false;
	}
}

/* The name of the type bits allowed, for a message: "string or null". */
static char *
types_text(int bits)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < lengthof(type_names); i++)
		if (bits & type_names[i].bit)
			appendStringInfo(&s, "%s%s", s.len ? " or " : "", type_names[i].name);
	return s.data;
}

/*
 * validate_node
 *		Whether value conforms to the (checked) schema node; if not, why
 *		gets "path: reason".
 */
static bool
validate_node(JsonbContainer *node, JsonbValue *value, StringInfo path,
			  StringInfo why, int depth)
{
	JsonbValue *t = get_member(node, "type");
	JsonbValue *e = get_member(node, "enum");
	int			allowed = 0;
	int			got = value_type(value);
	int			len = path->len;

	check_stack_depth();
	if (depth > JSON_SCHEMA_MAX_DEPTH)
	{
		appendStringInfo(why, "%s: nested deeper than the schema", path->data);
		return false;
	}
	if (t != NULL)
	{
		if (t->type == jbvString)
			allowed = type_bit(t->val.string.val, t->val.string.len);
		else
			for (int i = 0; i < 2; i++)
			{
				JsonbValue *x = getIthJsonbValueFromContainer(t->val.binary.data, i);

				allowed |= type_bit(x->val.string.val, x->val.string.len);
			}
		if (!type_allows(allowed, got))
		{
			appendStringInfo(why, "%s: expected %s, got %s", path->data,
							 types_text(allowed), type_name(got));
			if (got == T_STRING && (allowed & (T_INTEGER | T_NUMBER)))
			{
				appendStringInfoString(why, " ");
				append_short_value(why, value);
			}
			return false;
		}
	}
	/* a null that the type allows need not be in the enum */
	if (e != NULL && !(got == T_NULL && (allowed & T_NULL)))
	{
		int			n = JsonContainerSize(e->val.binary.data);
		bool		found = false;

		for (int i = 0; i < n && !found; i++)
			found = scalar_equal(getIthJsonbValueFromContainer(e->val.binary.data, i), value);
		if (!found)
		{
			appendStringInfo(why, "%s: ", path->data);
			append_short_value(why, value);
			appendStringInfoString(why, " is not one of the values of \"enum\"");
			return false;
		}
	}
	if (got == T_OBJECT)
	{
		JsonbContainer *obj = value->val.binary.data;
		JsonbValue *props = get_member(node, "properties");
		JsonbValue *req = get_member(node, "required");
		JsonbValue *addl = get_member(node, "additionalProperties");
		JsonbIterator *it;
		JsonbValue	k;
		JsonbValue	v;
		JsonbIteratorToken tok;

		if (req != NULL)
		{
			int			n = JsonContainerSize(req->val.binary.data);

			for (int i = 0; i < n; i++)
			{
				JsonbValue *r = getIthJsonbValueFromContainer(req->val.binary.data, i);

				if (getKeyJsonValueFromContainer(obj, r->val.string.val, r->val.string.len,
												 NULL) == NULL)
				{
					path_append_key(path, r->val.string.val, r->val.string.len);
					appendStringInfo(why, "%s: required member is missing", path->data);
					return false;
				}
			}
		}
		it = JsonbIteratorInit(obj);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			JsonbValue *ps;

			if (tok != WJB_KEY)
				continue;
			(void) JsonbIteratorNext(&it, &v, true);
			path_append_key(path, k.val.string.val, k.val.string.len);
			ps = props == NULL ? NULL :
				getKeyJsonValueFromContainer(props->val.binary.data, k.val.string.val,
											 k.val.string.len, NULL);
			if (ps == NULL)
			{
				if (addl != NULL && !addl->val.boolean)
				{
					appendStringInfo(why, "%s: member not in the schema", path->data);
					return false;
				}
			}
			else if (!validate_node(ps->val.binary.data, &v, path, why, depth + 1))
				return false;
			path->len = len;
			path->data[len] = '\0';
		}
	}
	else if (got == T_ARRAY)
	{
		JsonbValue *items = get_member(node, "items");
		int			n = JsonContainerSize(value->val.binary.data);

		for (int i = 0; i < n && items != NULL; i++)
		{
			JsonbValue *x = getIthJsonbValueFromContainer(value->val.binary.data, i);

			CHECK_FOR_INTERRUPTS();
			appendStringInfo(path, "[%d]", i);
			if (!validate_node(items->val.binary.data, x, path, why, depth + 1))
				return false;
			path->len = len;
			path->data[len] = '\0';
		}
	}
	return true;
}

/*
 * json_schema_validate
 *		Whether value (an answer of the model) conforms to schema (checked
 *		by json_schema_check); if not, why gets the first failure as
 *		"path: reason", the path a JSON path into the answer.
 */
bool
json_schema_validate(Jsonb *schema, JsonbValue *value, StringInfo why)
{
	StringInfoData path;

	initStringInfo(&path);
	appendStringInfoChar(&path, '$');
	return validate_node(&schema->root, value, &path, why, 0);
}

static void append_closed_node(StringInfo out, JsonbContainer *node);

/* Append a JSON string key and a colon. */
static void
append_key(StringInfo out, const JsonbValue *k)
{
	JsonbValue	copy = *k;

	appendStringInfoString(out, JsonbToCString(NULL, &JsonbValueToJsonb(&copy)->root, 0));
	appendStringInfoChar(out, ':');
}

/*
 * append_closed_node
 *		Append a (checked) schema node as JSON text, its subschemas
 *		("properties" members, "items") the same way, and
 *		"additionalProperties": false added to an object schema that does
 *		not say.
 */
static void
append_closed_node(StringInfo out, JsonbContainer *node)
{
	JsonbIterator *it = JsonbIteratorInit(node);
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		first = true;
	JsonbValue *t = get_member(node, "type");
	bool		object = false;

	check_stack_depth();
	if (t != NULL && t->type == jbvString)
		object = type_bit(t->val.string.val, t->val.string.len) == T_OBJECT;
	else if (t != NULL)
		for (int i = 0; i < JsonContainerSize(t->val.binary.data); i++)
		{
			JsonbValue *x = getIthJsonbValueFromContainer(t->val.binary.data, i);

			object |= type_bit(x->val.string.val, x->val.string.len) == T_OBJECT;
		}

	appendStringInfoChar(out, '{');
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &v, true);
		if (!first)
			appendStringInfoChar(out, ',');
		first = false;
		append_key(out, &k);
		if (k.val.string.len == 5 && strncmp(k.val.string.val, "items", 5) == 0)
			append_closed_node(out, v.val.binary.data);
		else if (k.val.string.len == 10 && strncmp(k.val.string.val, "properties", 10) == 0)
		{
			JsonbIterator *pit = JsonbIteratorInit(v.val.binary.data);
			JsonbValue	pk;
			JsonbValue	pv;
			bool		pfirst = true;

			appendStringInfoChar(out, '{');
			while ((tok = JsonbIteratorNext(&pit, &pk, true)) != WJB_DONE)
			{
				if (tok != WJB_KEY)
					continue;
				(void) JsonbIteratorNext(&pit, &pv, true);
				if (!pfirst)
					appendStringInfoChar(out, ',');
				pfirst = false;
				append_key(out, &pk);
				append_closed_node(out, pv.val.binary.data);
			}
			appendStringInfoChar(out, '}');
		}
		else if (v.type == jbvBinary)
			appendStringInfoString(out, JsonbToCString(NULL, v.val.binary.data, v.val.binary.len));
		else
			appendStringInfoString(out, JsonbToCString(NULL, &JsonbValueToJsonb(&v)->root, 0));
	}
	if (object && get_member(node, "additionalProperties") == NULL)
		appendStringInfo(out, "%s\"additionalProperties\":false", first ? "" : ",");
	appendStringInfoChar(out, '}');
}

/*
 * json_schema_closed_text
 *		The JSON text of a checked schema for structured output, where
 *		every object schema that does not say otherwise gets
 *		"additionalProperties": false (the models that take
 *		outputConfig want closed objects; an answer conforms either way).
 */
char *
json_schema_closed_text(Jsonb *schema)
{
	StringInfoData out;

	initStringInfo(&out);
	append_closed_node(&out, &schema->root);
	return out.data;
}

