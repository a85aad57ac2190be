/*
 * probes.h: building probes by hand for the probe engine's tests, as the
 * definitions loader would (kind resolved from the catalogue, arguments
 * as JSON, a timeout), and freeing them all at exit.
 */
#ifndef TL_TEST_PROBES_H
#define TL_TEST_PROBES_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tssrlab/probe.h"

static tl_probe **pr_all_;
static size_t pr_n_;

static void pr_free_all_(void)
{
	for (size_t i = 0; i < pr_n_; i++) {
		json_decref(pr_all_[i]->args);
		free(pr_all_[i]->machine);
		free(pr_all_[i]->from);
		free(pr_all_[i]->kind_name);
		free(pr_all_[i]);
	}
	free(pr_all_);
	pr_all_ = NULL;
	pr_n_ = 0;
}

/* A probe of kind on machine (from: NULL, or the machine it runs from for
 * network kinds), args as JSON text. Freed at exit. */
static inline tl_probe *pr_make(const char *kind, const char *machine,
				const char *from, const char *args,
				int timeout_s)
{
	tl_probe *p = tl_xcalloc(1, sizeof *p);
	p->kind_name = tl_xstrdup(kind);
	p->kind = tl_probe_kind_find(kind);
	if (!p->kind) {
		fprintf(stderr, "test bug: no probe kind %s\n", kind);
		abort();
	}
	p->machine = tl_xstrdup(machine);
	p->from = from ? tl_xstrdup(from) : NULL;
	json_error_t je;
	p->args = json_loads(args ? args : "{}", 0, &je);
	if (!p->args) {
		fprintf(stderr, "test bug: args %s: %s\n", args, je.text);
		abort();
	}
	p->timeout_s = timeout_s > 0 ? timeout_s : 10;
	if (!pr_all_)
		atexit(pr_free_all_);
	pr_all_ = tl_xrealloc(pr_all_, (pr_n_ + 1) * sizeof *pr_all_);
	pr_all_[pr_n_++] = p;
	return p;
}

/* Printf-style args. */
static inline tl_probe *pr_makef(const char *kind, const char *machine,
				 const char *from, int timeout_s,
				 const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static inline tl_probe *pr_makef(const char *kind, const char *machine,
				 const char *from, int timeout_s,
				 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	tl_probe *p = pr_make(kind, machine, from, s, timeout_s);
	free(s);
	return p;
}

/* A JSON string literal of s (for building args), new string. */
static inline char *pr_json_str(const char *s)
{
	json_t *j = json_string(s);
	char *out = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	return out;
}

#endif
