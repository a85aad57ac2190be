/*
 * body.c: validation of request bodies against small declarative schemas
 * (api.h). The server caps the size before we see the bytes; here the
 * depth is capped before jansson builds anything (a body of 100,000 '['
 * must not cost 100,000 allocations), then jansson parses with duplicate
 * keys refused, and the schema walk checks types, ranges, required and
 * unknown fields, naming the field at fault. This is the parser the fuzz
 * target tests/fuzz/fuzz_api_body.c drives.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tssrlab/api.h"

static int fail(tl_api_error *err, int status, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(tl_api_error *err, int status, const char *field,
		const char *fmt, ...)
{
	err->status = status;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

bool tl_api_slug_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* Depth of nesting outside strings; stops counting past the cap. */
static bool depth_ok(const char *p, size_t len)
{
	int depth = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{') {
			if (++depth > TL_API_MAX_DEPTH)
				return false;
		} else if (c == ']' || c == '}')
			depth--;
	}
	return true;
}

static const char *type_name(tl_api_type t)
{
	switch (t) {
	case TL_API_STRING:
		return "a string";
	case TL_API_SLUG:
		return "an identifier ([a-z0-9][a-z0-9._-]*)";
	case TL_API_INT:
		return "an integer";
	case TL_API_NUMBER:
		return "a number";
	case TL_API_BOOL:
		return "true or false";
	case TL_API_ARRAY:
		return "an array";
	}
	return "?";
}

static int check_object(const json_t *o, const tl_api_schema *s,
			const char *path, tl_api_error *err);

static int check_value(const json_t *v, tl_api_type type, double min,
		       double max, const tl_api_field *f, const char *path,
		       tl_api_error *err)
{
	switch (type) {
	case TL_API_STRING:
	case TL_API_SLUG: {
		if (!json_is_string(v))
			return fail(err, 422, path, "%s must be %s", path,
				    type_name(type));
		size_t n = json_string_length(v);
		const char *s = json_string_value(v);
		if (strlen(s) != n)
			return fail(err, 422, path,
				    "%s must not contain NUL characters", path);
		if (n < (size_t)min || n > (size_t)max)
			return fail(err, 422, path,
				    "%s must be %.0f to %.0f bytes long (got "
				    "%zu)",
				    path, min, max, n);
		if (type == TL_API_SLUG && !tl_api_slug_ok(s, (size_t)max))
			return fail(err, 422, path, "%s: \"%.40s\" is not %s",
				    path, s, type_name(type));
		return 0;
	}
	case TL_API_INT:
	case TL_API_NUMBER: {
		if (type == TL_API_INT ? !json_is_integer(v)
				       : !json_is_number(v))
			return fail(err, 422, path, "%s must be %s", path,
				    type_name(type));
		double d = json_number_value(v);
		if (!isfinite(d) || d < min || d > max)
			return fail(err, 422, path,
				    "%s must be between %g and %g", path, min,
				    max);
		return 0;
	}
	case TL_API_BOOL:
		if (!json_is_boolean(v))
			return fail(err, 422, path, "%s must be %s", path,
				    type_name(type));
		return 0;
	case TL_API_ARRAY: {
		if (!json_is_array(v))
			return fail(err, 422, path, "%s must be %s", path,
				    type_name(type));
		size_t n = json_array_size(v);
		if (n < (size_t)min || n > (size_t)max)
			return fail(err, 422, path,
				    "%s must have %.0f to %.0f items (got %zu)",
				    path, min, max, n);
		size_t i;
		json_t *item;
		json_array_foreach (v, i, item) {
			char p[128];
			snprintf(p, sizeof p, "%s[%zu]", path, i);
			int rc = f->items ? check_object(item, f->items, p, err)
					  : check_value(item, f->item_type, 0,
							1024, f, p, err);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	}
	return fail(err, 500, path, "schema error");
}

static int check_object(const json_t *o, const tl_api_schema *s,
			const char *path, tl_api_error *err)
{
	if (!json_is_object(o))
		return fail(err, 422, path, "%s must be a JSON object",
			    *path ? path : "the body");
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)o, key, v) {
		const tl_api_field *f = NULL;
		for (const tl_api_field *k = s->fields; k->name; k++)
			if (!strcmp(k->name, key))
				f = k;
		char p[128];
		snprintf(p, sizeof p, "%s%s%.60s", path, *path ? "." : "", key);
		if (!f)
			return fail(err, 422, p, "unknown field \"%.60s\"",
				    key);
		if (check_value(v, f->type, f->min, f->max, f, p, err) < 0)
			return -1;
	}
	for (const tl_api_field *k = s->fields; k->name; k++) {
		if (!k->required || json_object_get(o, k->name))
			continue;
		char p[128];
		snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "",
			 k->name);
		return fail(err, 422, p, "missing field \"%s\"", k->name);
	}
	return 0;
}

int tl_api_body_parse(const char *data, size_t len, const tl_api_schema *schema,
		      json_t **ret, tl_api_error *err)
{
	memset(err, 0, sizeof *err);
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\n' ||
			   data[i] == '\r' || data[i] == '\t'))
		i++;
	json_t *o;
	if (i == len) {
		o = json_object();
	} else {
		if (!depth_ok(data, len))
			return fail(err, 400, "",
				    "the body nests deeper than %d levels",
				    TL_API_MAX_DEPTH);
		json_error_t je;
		o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
		if (!o)
			return fail(err, 400, "",
				    "invalid JSON at line %d column %d: %s",
				    je.line, je.column, je.text);
	}
	if (check_object(o, schema, "", err) < 0) {
		json_decref(o);
		return -1;
	}
	*ret = o;
	return 0;
}

/* ---- the schemas ---- */

static const tl_api_field trainee_fields[] = {
    {"id", TL_API_SLUG, true, 1, 63, 0, NULL},
    {"name", TL_API_STRING, true, 1, 200, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
static const tl_api_schema trainee_schema = {"trainee", trainee_fields};

static const tl_api_field session_create_fields[] = {
    {"id", TL_API_SLUG, false, 1, 63, 0, NULL},
    {"scenario", TL_API_SLUG, true, 1, 63, 0, NULL},
    {"trainees", TL_API_ARRAY, true, 1, 200, 0, &trainee_schema},
    {"duration_min", TL_API_INT, false, 1, 7 * 24 * 60, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
const tl_api_schema tl_api_schema_session_create = {"session create",
						    session_create_fields};

static const tl_api_field extend_fields[] = {
    {"minutes", TL_API_INT, true, 1, 24 * 60, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
const tl_api_schema tl_api_schema_session_extend = {"session extend",
						    extend_fields};

static const tl_api_field empty_fields[] = {{NULL, 0, 0, 0, 0, 0, NULL}};
const tl_api_schema tl_api_schema_empty = {"empty", empty_fields};

static const tl_api_field grade_fields[] = {
    {"kind", TL_API_SLUG, false, 1, 16, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
const tl_api_schema tl_api_schema_grade = {"grade", grade_fields};

static const tl_api_field manual_fields[] = {
    {"fraction", TL_API_NUMBER, true, 0, 1, 0, NULL},
    {"comment", TL_API_STRING, false, 0, 2000, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
const tl_api_schema tl_api_schema_manual = {"manual score", manual_fields};

static const tl_api_field token_fields[] = {
    {"name", TL_API_SLUG, true, 1, 63, 0, NULL},
    {"role", TL_API_SLUG, true, 1, 16, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
const tl_api_schema tl_api_schema_token = {"token", token_fields};

static const tl_api_field solution_fields[] = {
    {"part", TL_API_SLUG, true, 1, 8, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
const tl_api_schema tl_api_schema_solution = {"solution", solution_fields};

const tl_api_schema *const tl_api_schemas[] = {
    &tl_api_schema_session_create,
    &tl_api_schema_session_extend,
    &tl_api_schema_empty,
    &tl_api_schema_grade,
    &tl_api_schema_manual,
    &tl_api_schema_token,
    &tl_api_schema_solution,
    NULL,
};
