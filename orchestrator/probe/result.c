/*
 * result.c: probe results and where probes run. A result owns its strings;
 * the probe it answers is borrowed from the scenario. Helpers here set a
 * whole batch to one outcome (an unreachable machine, a tampered run) so
 * that every caller words those cases the same way.
 */
#include <string.h>

#include "probe-internal.h"

void tl_probe_result_clear(tl_probe_result *r)
{
	if (!r)
		return;
	free(r->value);
	free(r->evidence_cmd);
	free(r->evidence_out);
	free(r->error);
	free(r->flag);
	memset(r, 0, sizeof *r);
	r->exit_code = -1;
	r->http_status = -1;
}

tl_probe_result *tl_probe_results_free(tl_probe_result *r, size_t n)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++)
		tl_probe_result_clear(&r[i]);
	free(r);
	return NULL;
}

const char *tl_probe_status_name(tl_probe_status s)
{
	switch (s) {
	case TL_PROBE_DONE:
		return "done";
	case TL_PROBE_ERROR:
		return "error";
	case TL_PROBE_TAMPERED:
		return "tampered";
	}
	return "?";
}

const char *tl_probe_where(const tl_probe *p)
{
	if (!p->kind || p->kind->site != TL_SITE_NETWORK)
		return p->machine;
	if (!p->from || !strcmp(p->from, "orchestrator"))
		return NULL;
	return p->from;
}

size_t tl_probe_scenario_count(const tl_scenario *s)
{
	size_t n = 0;
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++)
			n += s->tasks[t].criteria[c].n_probes;
	return n;
}

void tl_probe_text_clean(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		size_t n = c < 0x80		? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;
		bool ok = n > 0 && i + n <= len && c != 0;
		for (size_t k = 1; ok && k < n; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok && n == 2)
			ok = c >= 0xc2; /* no overlong forms */
		if (ok && n == 3) {
			unsigned v = (c & 0x0fu) << 12 |
				     (p[i + 1] & 0x3fu) << 6 |
				     (p[i + 2] & 0x3fu);
			ok = v >= 0x800 && (v < 0xd800 || v > 0xdfff);
		}
		if (ok && n == 4) {
			unsigned v =
			    (c & 0x07u) << 18 | (p[i + 1] & 0x3fu) << 12 |
			    (p[i + 2] & 0x3fu) << 6 | (p[i + 3] & 0x3fu);
			ok = v >= 0x10000 && v <= 0x10ffff;
		}
		if (!ok) {
			p[i++] = '?';
			continue;
		}
		i += n;
	}
}

void tl_probe_results_set(tl_probe_result *ret, size_t n,
			  const tl_probe *const *probes, tl_probe_status status,
			  const char *msg)
{
	for (size_t i = 0; i < n; i++) {
		tl_probe_result_clear(&ret[i]);
		ret[i].probe = probes ? probes[i] : NULL;
		ret[i].status = status;
		ret[i].value = tl_xstrdup("");
		ret[i].error = tl_xstrdup(msg);
	}
}
