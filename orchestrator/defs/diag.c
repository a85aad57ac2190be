/*
 * diag.c: located diagnostics, "file:line:column: json.path: message",
 * and the loader's JSON path stack and typed field getters. Getters report
 * every problem they see and let the loader go on, so that one run of
 * `tssrlab validate` lists all the errors of a file.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "defs-internal.h"

void tl_diags_add(tl_diags *d, const char *file, int line, int column,
		  const char *path, const char *fmt, ...)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->items = tl_xrealloc(d->items, d->cap * sizeof *d->items);
	}
	tl_diag *g = &d->items[d->n++];
	g->file = tl_xstrdup(file ? file : "<input>");
	g->line = line;
	g->column = column;
	g->path = tl_xstrdup(path ? path : "");
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&g->message, fmt, ap) < 0)
		abort();
	va_end(ap);
}

char *tl_diag_format(const tl_diag *d)
{
	if (d->line > 0)
		return tl_xasprintf("%s:%d:%d: %s%s%s", d->file, d->line,
				    d->column, d->path, *d->path ? ": " : "",
				    d->message);
	return tl_xasprintf("%s: %s%s%s", d->file, d->path,
			    *d->path ? ": " : "", d->message);
}

void tl_diags_clear(tl_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].path);
		free(d->items[i].message);
	}
	free(d->items);
	memset(d, 0, sizeof *d);
}

void ld_push_key(ld *l, const char *key)
{
	if (l->path.depth < TL_JPATH_MAX)
		l->path.segs[l->path.depth] = (tl_jseg){key, 0};
	l->path.depth++;
}

void ld_push_index(ld *l, size_t index)
{
	if (l->path.depth < TL_JPATH_MAX)
		l->path.segs[l->path.depth] = (tl_jseg){NULL, index};
	l->path.depth++;
}

void ld_pop(ld *l)
{
	if (l->path.depth > 0)
		l->path.depth--;
}

static void path_string(const ld *l, int depth, tl_buf *b)
{
	if (depth > TL_JPATH_MAX)
		depth = TL_JPATH_MAX;
	for (int i = 0; i < depth; i++) {
		const tl_jseg *s = &l->path.segs[i];
		if (s->key)
			tl_buf_printf(b, "%s%s", i ? "." : "", s->key);
		else
			tl_buf_printf(b, "[%zu]", s->index);
	}
}

static void emit(ld *l, int depth, bool want_key, const char *msg)
{
	int line = 0, col = 0;
	int d = depth > TL_JPATH_MAX ? TL_JPATH_MAX : depth;
	if (l->text)
		tl_json_locate(l->text, l->len, &l->path, d, want_key, &line,
			       &col);
	tl_buf b;
	tl_buf_init(&b, 0);
	path_string(l, depth, &b);
	tl_diags_add(l->diags, l->file, line, col, b.data ? b.data : "", "%s",
		     msg);
	tl_buf_clear(&b);
}

void ld_err(ld *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	emit(l, l->path.depth, false, msg);
	free(msg);
}

void ld_err_key(ld *l, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	ld_push_key(l, key);
	emit(l, l->path.depth, true, msg);
	ld_pop(l);
	free(msg);
}

const char *ld_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* Levenshtein distance, capped, for "did you mean" hints on typos. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

void ld_check_fields(ld *l, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		const char *best = NULL;
		size_t bestd = 3;
		for (const char *const *a = allowed; *a; a++) {
			if (strcmp(*a, key) == 0) {
				ok = true;
				break;
			}
			size_t dd = distance(*a, key);
			if (dd < bestd) {
				bestd = dd;
				best = *a;
			}
		}
		if (ok)
			continue;
		tl_buf b;
		tl_buf_init(&b, 0);
		for (const char *const *a = allowed; *a; a++)
			tl_buf_printf(&b, "%s%s", a == allowed ? "" : ", ", *a);
		if (best)
			ld_err_key(l, key,
				   "unknown field \"%s\" (did you mean \"%s\"?)",
				   key, best);
		else
			ld_err_key(l, key,
				   "unknown field \"%s\" (expected one of: %s)",
				   key, b.data ? b.data : "");
		tl_buf_clear(&b);
	}
}

static json_t *field(ld *l, json_t *obj, const char *key, bool required)
{
	json_t *v = json_object_get(obj, key);
	if (!v && required) {
		tl_buf b;
		tl_buf_init(&b, 0);
		path_string(l, l->path.depth, &b);
		ld_err(l, "missing required field \"%s\"", key);
		tl_buf_clear(&b);
	}
	return v;
}

bool ld_str(ld *l, json_t *obj, const char *key, bool required, char **out)
{
	json_t *v = field(l, obj, key, required);
	if (!v)
		return false;
	ld_push_key(l, key);
	bool ok = json_is_string(v);
	if (!ok)
		ld_err(l, "expected a string, got %s", ld_json_type(v));
	else if (json_string_length(v) == 0 && required) {
		ld_err(l, "must not be empty");
		ok = false;
	} else if (strlen(json_string_value(v)) != json_string_length(v)) {
		ld_err(l, "must not contain NUL characters");
		ok = false;
	} else {
		free(*out);
		*out = tl_xstrdup(json_string_value(v));
	}
	ld_pop(l);
	return ok;
}

bool ld_int(ld *l, json_t *obj, const char *key, bool required, int min,
	    int max, int *out)
{
	json_t *v = field(l, obj, key, required);
	if (!v)
		return false;
	ld_push_key(l, key);
	bool ok = false;
	if (!json_is_integer(v))
		ld_err(l, "expected an integer, got %s", ld_json_type(v));
	else if (json_integer_value(v) < min || json_integer_value(v) > max)
		ld_err(l, "%lld is out of range (expected %d to %d)",
		       (long long)json_integer_value(v), min, max);
	else {
		*out = (int)json_integer_value(v);
		ok = true;
	}
	ld_pop(l);
	return ok;
}

bool ld_num(ld *l, json_t *obj, const char *key, bool required, double *out)
{
	json_t *v = field(l, obj, key, required);
	if (!v)
		return false;
	ld_push_key(l, key);
	bool ok = json_is_number(v);
	if (!ok)
		ld_err(l, "expected a number, got %s", ld_json_type(v));
	else
		*out = json_number_value(v);
	ld_pop(l);
	return ok;
}

bool ld_bool(ld *l, json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return false;
	ld_push_key(l, key);
	bool ok = json_is_boolean(v);
	if (!ok)
		ld_err(l, "expected true or false, got %s", ld_json_type(v));
	else
		*out = json_is_true(v);
	ld_pop(l);
	return ok;
}

bool ld_strlist(ld *l, json_t *obj, const char *key, bool required,
		char ***out, size_t *n)
{
	json_t *v = field(l, obj, key, required);
	if (!v)
		return false;
	ld_push_key(l, key);
	bool ok = true;
	if (!json_is_array(v)) {
		ld_err(l, "expected an array of strings, got %s",
		       ld_json_type(v));
		ld_pop(l);
		return false;
	}
	size_t count = json_array_size(v);
	char **list = tl_xcalloc(count + 1, sizeof *list);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		json_t *e = json_array_get(v, i);
		ld_push_index(l, i);
		if (!json_is_string(e)) {
			ld_err(l, "expected a string, got %s", ld_json_type(e));
			ok = false;
		} else {
			list[k++] = tl_xstrdup(json_string_value(e));
		}
		ld_pop(l);
	}
	ld_pop(l);
	if (*out) {
		for (size_t i = 0; i < *n; i++)
			free((*out)[i]);
		free(*out);
	}
	*out = list;
	*n = k;
	return ok;
}

json_t *ld_array(ld *l, json_t *obj, const char *key, bool required,
		 bool nonempty)
{
	json_t *v = field(l, obj, key, required);
	if (!v)
		return NULL;
	ld_push_key(l, key);
	if (!json_is_array(v)) {
		ld_err(l, "expected an array, got %s", ld_json_type(v));
		v = NULL;
	} else if (nonempty && json_array_size(v) == 0) {
		ld_err(l, "must not be empty");
		v = NULL;
	}
	ld_pop(l);
	return v;
}

json_t *ld_object(ld *l, json_t *obj, const char *key, bool required)
{
	json_t *v = field(l, obj, key, required);
	if (!v)
		return NULL;
	if (!json_is_object(v)) {
		ld_push_key(l, key);
		ld_err(l, "expected an object, got %s", ld_json_type(v));
		ld_pop(l);
		return NULL;
	}
	return v;
}

bool ld_check_id(ld *l, json_t *obj, const char *key, char **out)
{
	if (!ld_str(l, obj, key, true, out))
		return false;
	const char *s = *out;
	size_t n = strlen(s);
	bool ok = n <= 64 && (islower((unsigned char)s[0]) ||
			      isdigit((unsigned char)s[0]));
	for (size_t i = 0; ok && i < n; i++)
		ok = islower((unsigned char)s[i]) ||
		     isdigit((unsigned char)s[i]) || strchr("._-", s[i]);
	if (!ok) {
		ld_push_key(l, key);
		ld_err(l,
		       "invalid id \"%s\" (expected lowercase letters, digits, "
		       "'.', '_' or '-', starting with a letter or digit, at "
		       "most 64 characters)",
		       s);
		ld_pop(l);
	}
	return ok;
}
