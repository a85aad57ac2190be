/*
 * buf.c: tl_buf, a growable byte buffer with a hard ceiling. Anything read
 * from outside (agent output, HTTP bodies, files) goes through one, so a
 * hostile peer can make us truncate but never exhaust memory.
 */
#include <stdio.h>
#include <string.h>

#include "tssrlab/base.h"

void tl_buf_init(tl_buf *b, size_t limit)
{
	memset(b, 0, sizeof *b);
	b->limit = limit;
}

static void reserve(tl_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = tl_xrealloc(b->data, cap);
	b->cap = cap;
}

int tl_buf_append(tl_buf *b, const void *data, size_t n)
{
	int rc = 0;
	if (b->limit && b->len + n > b->limit) {
		n = b->limit > b->len ? b->limit - b->len : 0;
		b->truncated = true;
		rc = -1;
	}
	reserve(b, n);
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return rc;
}

int tl_buf_puts(tl_buf *b, const char *s)
{
	return tl_buf_append(b, s, strlen(s));
}

int tl_buf_printf(tl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	int rc = tl_buf_append(b, s, (size_t)n);
	free(s);
	return rc;
}

int tl_buf_shell_quote(tl_buf *b, const char *s)
{
	int rc = tl_buf_puts(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			rc |= tl_buf_puts(b, "'\\''");
		else
			rc |= tl_buf_append(b, p, 1);
	}
	rc |= tl_buf_puts(b, "'");
	return rc ? -1 : 0;
}

char *tl_buf_steal(tl_buf *b)
{
	if (!b->data) {
		b->data = tl_xmalloc(1);
		b->data[0] = '\0';
	}
	char *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	b->truncated = false;
	return p;
}

void tl_buf_clear(tl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->truncated = false;
}
