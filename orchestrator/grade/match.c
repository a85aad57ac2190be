/*
 * match.c: evaluating a probe's expectation (a tree of matchers) against
 * the value the probe returned. The value is untrusted text from a guest:
 * matching never allocates in proportion to it beyond what regexec needs,
 * and a number that does not parse simply does not compare.
 */
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "tssrlab/grade.h"

static bool as_number(const char *s, double *out)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (!*s)
		return false;
	char *end;
	double v = strtod(s, &end);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (*end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	bool content = false;
	for (; *s; s++) {
		if (*s == '\n') {
			n += content;
			content = false;
		} else if (*s != '\r' && *s != ' ' && *s != '\t') {
			content = true;
		}
	}
	return n + content;
}

/* Compares with trailing newlines ignored: agents print "active\n". */
static bool equals_trimmed(const char *value, const char *want)
{
	size_t n = strlen(value);
	while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == '\r'))
		n--;
	return strlen(want) == n && !strncmp(value, want, n);
}

bool tl_match(const tl_matcher *m, const char *value, bool verdict)
{
	if (!value)
		value = "";
	double v;
	switch (m->op) {
	case TL_MATCH_EQUALS:
		return equals_trimmed(value, m->str);
	case TL_MATCH_CONTAINS:
		return strstr(value, m->str) != NULL;
	case TL_MATCH_REGEX: {
		regex_t re;
		if (regcomp(&re, m->str, REG_EXTENDED | REG_NOSUB | REG_NEWLINE))
			return false;
		bool ok = regexec(&re, value, 0, NULL, 0) == 0;
		regfree(&re);
		return ok;
	}
	case TL_MATCH_LT:
		return as_number(value, &v) && v < m->num;
	case TL_MATCH_LE:
		return as_number(value, &v) && v <= m->num;
	case TL_MATCH_GT:
		return as_number(value, &v) && v > m->num;
	case TL_MATCH_GE:
		return as_number(value, &v) && v >= m->num;
	case TL_MATCH_COUNT: {
		char buf[32];
		snprintf(buf, sizeof buf, "%zu", count_lines(value));
		return tl_match(&m->children[0], buf, verdict);
	}
	case TL_MATCH_ALL:
		for (size_t i = 0; i < m->n_children; i++)
			if (!tl_match(&m->children[i], value, verdict))
				return false;
		return true;
	case TL_MATCH_ANY:
		for (size_t i = 0; i < m->n_children; i++)
			if (tl_match(&m->children[i], value, verdict))
				return true;
		return false;
	case TL_MATCH_NOT:
		return !tl_match(&m->children[0], value, verdict);
	case TL_MATCH_TRUE:
		return verdict;
	}
	return false;
}

bool tl_probe_result_passes(const tl_probe_result *r)
{
	if (r->status != TL_PROBE_DONE || r->flagged)
		return false;
	const tl_probe *p = r->probe;
	if (!p || !p->expect)
		return r->ok;
	char num[32];
	const char *value = r->value;
	if (p->field && !strcmp(p->field, "exit")) {
		snprintf(num, sizeof num, "%d", r->exit_code);
		value = num;
	} else if (p->field && !strcmp(p->field, "status")) {
		snprintf(num, sizeof num, "%d", r->http_status);
		value = num;
	}
	return tl_match(p->expect, value, r->ok);
}
