/*
 * locate.c: finds where a JSON value sits in its source text.
 *
 * jansson gives line and column for syntax errors only; once a document is
 * parsed, values carry no position. To report a semantic error (unknown
 * field, dangling reference) as file:line:column we walk the already-valid
 * text along the value's path (object keys and array indexes) and return
 * the position of the value, or of its key. The text has been accepted by
 * jansson, so this walker only needs to skip well-formed JSON; it still
 * never reads past the end on any input (it is fuzzed with the loader).
 */
#include <string.h>

#include "defs-internal.h"

typedef struct cursor {
	const char *s;
	size_t len, i;
} cursor;

static void skip_ws(cursor *c)
{
	while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
				 c->s[c->i] == '\n' || c->s[c->i] == '\r'))
		c->i++;
}

/* Skips a string starting at its opening quote; copies the raw (undecoded
 * except for \" and \\) content into out when given. */
static int skip_string(cursor *c, char *out, size_t outsz)
{
	if (c->i >= c->len || c->s[c->i] != '"')
		return -1;
	c->i++;
	size_t o = 0;
	while (c->i < c->len && c->s[c->i] != '"') {
		char ch = c->s[c->i];
		if (ch == '\\' && c->i + 1 < c->len) {
			c->i++;
			ch = c->s[c->i];
			if (ch != '"' && ch != '\\' && ch != '/')
				ch = '\x01'; /* other escapes never match */
		}
		if (out && o + 1 < outsz)
			out[o++] = ch;
		c->i++;
	}
	if (out)
		out[o] = '\0';
	if (c->i >= c->len)
		return -1;
	c->i++;
	return 0;
}

static int skip_value(cursor *c)
{
	skip_ws(c);
	if (c->i >= c->len)
		return -1;
	char ch = c->s[c->i];
	if (ch == '"')
		return skip_string(c, NULL, 0);
	if (ch == '{' || ch == '[') {
		int depth = 0;
		while (c->i < c->len) {
			ch = c->s[c->i];
			if (ch == '"') {
				if (skip_string(c, NULL, 0) < 0)
					return -1;
				continue;
			}
			if (ch == '{' || ch == '[')
				depth++;
			else if (ch == '}' || ch == ']') {
				depth--;
				if (depth == 0) {
					c->i++;
					return 0;
				}
			}
			c->i++;
		}
		return -1;
	}
	while (c->i < c->len && !strchr(",}] \t\r\n", c->s[c->i]))
		c->i++;
	return 0;
}

static void position(const char *s, size_t upto, int *line, int *col)
{
	int l = 1, cl = 1;
	for (size_t i = 0; i < upto; i++) {
		if (s[i] == '\n') {
			l++;
			cl = 1;
		} else if (((unsigned char)s[i] & 0xC0) != 0x80) {
			cl++; /* count characters, not UTF-8 continuation bytes */
		}
	}
	*line = l;
	*col = cl;
}

void tl_json_locate(const char *text, size_t len, const tl_jpath *path,
		    int depth, bool want_key, int *line, int *col)
{
	cursor c = {text, len, 0};
	size_t found = 0;
	skip_ws(&c);
	found = c.i;
	for (int d = 0; d < depth; d++) {
		skip_ws(&c);
		if (c.i >= c.len)
			break;
		const tl_jseg *seg = &path->segs[d];
		if (seg->key) {
			if (c.s[c.i] != '{')
				break;
			c.i++;
			bool hit = false;
			for (;;) {
				skip_ws(&c);
				if (c.i >= c.len || c.s[c.i] == '}')
					break;
				size_t key_at = c.i;
				char key[256];
				if (skip_string(&c, key, sizeof key) < 0)
					goto done;
				skip_ws(&c);
				if (c.i >= c.len || c.s[c.i] != ':')
					goto done;
				c.i++;
				skip_ws(&c);
				if (strcmp(key, seg->key) == 0) {
					found = (want_key && d == depth - 1)
							? key_at
							: c.i;
					hit = true;
					break;
				}
				if (skip_value(&c) < 0)
					goto done;
				skip_ws(&c);
				if (c.i < c.len && c.s[c.i] == ',')
					c.i++;
			}
			if (!hit)
				break;
		} else {
			if (c.s[c.i] != '[')
				break;
			c.i++;
			size_t idx = 0;
			bool hit = false;
			for (;;) {
				skip_ws(&c);
				if (c.i >= c.len || c.s[c.i] == ']')
					break;
				if (idx == seg->index) {
					found = c.i;
					hit = true;
					break;
				}
				if (skip_value(&c) < 0)
					goto done;
				skip_ws(&c);
				if (c.i < c.len && c.s[c.i] == ',')
					c.i++;
				idx++;
			}
			if (!hit)
				break;
		}
	}
done:
	position(text, found < len ? found : len, line, col);
}
