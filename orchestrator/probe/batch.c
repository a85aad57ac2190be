/*
 * batch.c: compiling a machine's probes into one agent batch.
 *
 * A batch is the text written on the SSH session's stdin: the embedded
 * agent (agents/linux/agent.sh or agents/windows/agent.ps1) followed by
 * one line per probe that calls the kind's function with its arguments,
 * quoted for the agent's language, and framed by a begin line carrying a
 * fresh random nonce and an end line carrying the count. Arguments are
 * taken from the probe's JSON in the order of the kind's table in
 * orchestrator/defs/probekinds.c; docs/agent-protocol.md is the contract.
 *
 * Network kinds run from a lab machine ("from": a machine id) become agent
 * calls too, with the target's lab address resolved here from the lab
 * definition, so the agent never needs to know the topology.
 */
#include <ctype.h>
#include <string.h>

#include "probe-internal.h"

/* ---- arguments in table order ---- */

static char *json_text(json_t *v, tl_arg_type type)
{
	switch (type) {
	case TL_ARG_INT:
		if (json_is_integer(v))
			return tl_xasprintf("%" JSON_INTEGER_FORMAT,
					    json_integer_value(v));
		break;
	case TL_ARG_BOOL:
		if (json_is_boolean(v))
			return tl_xstrdup(json_is_true(v) ? "1" : "0");
		break;
	case TL_ARG_STRLIST:
		if (json_is_array(v)) {
			tl_buf b;
			tl_buf_init(&b, 0);
			size_t i;
			json_t *e;
			json_array_foreach (v, i, e) {
				if (json_is_string(e))
					tl_buf_printf(&b, "%s%s", i ? "\n" : "",
						      json_string_value(e));
			}
			return tl_buf_steal(&b);
		}
		break;
	case TL_ARG_STRING:
		break;
	}
	if (json_is_string(v))
		return tl_xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return tl_xasprintf("%" JSON_INTEGER_FORMAT,
				    json_integer_value(v));
	return tl_xstrdup("");
}

void tl_probe_argv_init(tl_probe_argv *a, const tl_probe *p)
{
	memset(a, 0, sizeof *a);
	a->kind = p->kind;
	if (!p->kind)
		return;
	for (size_t i = 0; i < TL_PROBE_MAX_ARGS && p->kind->args[i].name;
	     i++) {
		const tl_probe_arg *d = &p->kind->args[i];
		json_t *v = p->args ? json_object_get(p->args, d->name) : NULL;
		a->present[i] = v != NULL && !json_is_null(v);
		a->argv[i] =
		    a->present[i] ? json_text(v, d->type) : tl_xstrdup("");
		if (d->type == TL_ARG_STRLIST && json_is_array(v))
			a->lists[i] = v;
		a->n = i + 1;
	}
}

void tl_probe_argv_clear(tl_probe_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->argv[i]);
	memset(a, 0, sizeof *a);
}

const char *tl_probe_argv_get(const tl_probe_argv *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->kind->args[i].name, name))
			return a->present[i] ? a->argv[i] : NULL;
	return NULL;
}

/* ---- the sh batch ---- */

static void sh_word(tl_buf *b, const char *s)
{
	tl_buf_puts(b, " ");
	tl_buf_shell_quote(b, s);
}

/* The first static address of a lab machine, without its prefix. */
static char *lab_address(const tl_lab *lab, const char *machine)
{
	if (!lab || !machine)
		return NULL;
	const tl_lab_machine *m = tl_lab_machine_find(lab, machine);
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_nics; i++)
		if (m->nics[i].address && *m->nics[i].address) {
			const char *a = m->nics[i].address;
			const char *slash = strchr(a, '/');
			return slash ? tl_xstrndup(a, (size_t)(slash - a))
				     : tl_xstrdup(a);
		}
	return NULL;
}

/* Appends the call line of a network kind run from a lab machine. Returns
 * NULL, or why it cannot be sent (new string). */
static char *sh_network_line(tl_buf *b, const tl_probe *p,
			     const tl_probe_argv *a,
			     const tl_probe_batch_opts *o)
{
	const char *name = p->kind->name;
	const char *explicit = tl_probe_argv_get(a, "address");
	char *target =
	    explicit ? tl_xstrdup(explicit) : lab_address(o->lab, p->machine);
	if (!target)
		return tl_xasprintf("machine \"%s\" has no static address in "
				    "the lab: probe %s from \"%s\" cannot "
				    "target it%s",
				    p->machine, name, p->from,
				    !strcmp(name, "ping")
					? " (give the probe an address)"
					: "");
	tl_buf_puts(b, name);
	if (!strcmp(name, "ping")) {
		sh_word(b, target);
	} else if (!strcmp(name, "tcp.connect")) {
		sh_word(b, target);
		sh_word(b, tl_probe_argv_get(a, "port"));
	} else if (!strcmp(name, "http.request")) {
		const char *tls = tl_probe_argv_get(a, "tls");
		const char *path = tl_probe_argv_get(a, "path");
		const char *status = tl_probe_argv_get(a, "status");
		const char *host = tl_probe_argv_get(a, "host");
		bool https = tls && !strcmp(tls, "1");
		bool v6 = strchr(target, ':') != NULL;
		char *url = tl_xasprintf(
		    "%s://%s%s%s:%s%s%s", https ? "https" : "http",
		    v6 ? "[" : "", target, v6 ? "]" : "",
		    tl_probe_argv_get(a, "port"),
		    path && *path != '/' ? "/" : "", path ? path : "/");
		sh_word(b, url);
		sh_word(b, status ? status : "");
		sh_word(b, host ? host : "");
		free(url);
	} else if (!strcmp(name, "dns.query")) {
		const char *type = tl_probe_argv_get(a, "type");
		const char *port = tl_probe_argv_get(a, "port");
		sh_word(b, tl_probe_argv_get(a, "name"));
		sh_word(b, type ? type : "A");
		sh_word(b, target);
		sh_word(b, port && strcmp(port, "53") ? port : "");
	}
	free(target);
	return NULL;
}

/* Appends "tl_p I T kind 'arg'..." for probe p. Returns NULL, or why the
 * probe is not sent (new string). */
static char *sh_probe_line(tl_buf *b, size_t i, const tl_probe *p,
			   const tl_probe_batch_opts *o)
{
	tl_probe_argv a;
	tl_probe_argv_init(&a, p);
	tl_buf line;
	tl_buf_init(&line, 0);
	tl_buf_printf(&line, "tl_p %zu %d ", i,
		      p->timeout_s > 0 ? p->timeout_s : 10);
	char *why = NULL;
	if (p->kind->site == TL_SITE_NETWORK) {
		why = sh_network_line(&line, p, &a, o);
	} else {
		tl_buf_puts(&line, p->kind->name);
		for (size_t k = 0; k < a.n; k++) {
			/* sshd -T prints keys in lowercase */
			if (!strcmp(p->kind->name, "sshd.setting"))
				for (char *c = a.argv[k]; *c; c++)
					*c = (char)tolower((unsigned char)*c);
			sh_word(&line, a.argv[k]);
		}
	}
	tl_buf_puts(&line, "\n");
	if (!why)
		tl_buf_append(b, line.data, line.len);
	tl_buf_clear(&line);
	tl_probe_argv_clear(&a);
	return why;
}

/* ---- the batch ---- */

const char *tl_probe_agent_command(tl_agent_flavour agent)
{
	if (agent == TL_AGENT_POWERSHELL)
		/* -EncodedCommand (base64 of UTF-16LE) of the bootstrap
		 *   [Console]::InputEncoding = [Text.Encoding]::UTF8;
		 *   $s = [Console]::In.ReadToEnd(); &
		 * ([scriptblock]::Create($s)) which runs the batch read from
		 * stdin; -NoProfile keeps the account's profile out
		 * (tests/probe/test_pwsh.c decodes it) */
		return "powershell -NoProfile -NonInteractive -ExecutionPolicy "
		       "Bypass -EncodedCommand "
		       "WwBDAG8AbgBzAG8AbABlAF0AOgA6AEkAbgBwAHUAdABFAG4AYwBvAGQ"
		       "A"
		       "aQBuAGcAIAA9ACAAWwBUAGUAeAB0AC4ARQBuAGMAbwBkAGkAbgBnAF0"
		       "A"
		       "OgA6AFUAVABGADgAOwAgACQAcwAgAD0AIABbAEMAbwBuAHMAbwBsAGU"
		       "A"
		       "XQA6ADoASQBuAC4AUgBlAGEAZABUAG8ARQBuAGQAKAApADsAIAAmACA"
		       "A"
		       "KABbAHMAYwByAGkAcAB0AGIAbABvAGMAawBdADoAOgBDAHIAZQBhAHQ"
		       "A"
		       "ZQAoACQAcwApACkA";
	return "exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "
	       "LC_ALL=C /bin/sh -s";
}

const char *tl_probe_agent_text(tl_agent_flavour agent, size_t *ret_len)
{
	if (agent == TL_AGENT_POWERSHELL) {
		if (ret_len)
			*ret_len = tl_agent_ps1_len;
		return tl_agent_ps1;
	}
	if (ret_len)
		*ret_len = tl_agent_sh_len;
	return tl_agent_sh;
}

void tl_probe_batch_clear(tl_probe_batch *b)
{
	if (!b)
		return;
	if (b->not_sent)
		for (size_t i = 0; i < b->n; i++)
			free(b->not_sent[i]);
	free(b->not_sent);
	free(b->script);
	memset(b, 0, sizeof *b);
}

static bool runs_on(const tl_probe *p, tl_agent_flavour agent)
{
	switch (p->kind->site) {
	case TL_SITE_LINUX:
		return agent == TL_AGENT_SH;
	case TL_SITE_WINDOWS:
		return agent == TL_AGENT_POWERSHELL;
	case TL_SITE_NETWORK:
		/* from a lab machine; the PowerShell agent has none yet */
		return tl_probe_where(p) != NULL && agent == TL_AGENT_SH;
	}
	return false;
}

int tl_probe_batch_compile(tl_probe_batch *b, const tl_probe *const *probes,
			   size_t n, const tl_probe_batch_opts *o,
			   tl_error *err)
{
	static const tl_probe_batch_opts defaults = {0};
	if (!o)
		o = &defaults;
	memset(b, 0, sizeof *b);
	b->agent = o->agent;
	b->probes = probes;
	b->n = n;
	b->value_cap = o->value_cap ? o->value_cap : TL_PROBE_VALUE_CAP;
	b->output_cap = o->output_cap ? o->output_cap : TL_PROBE_OUTPUT_CAP;
	b->hash = o->hash && o->agent == TL_AGENT_SH;
	b->not_sent = tl_xcalloc(n ? n : 1, sizeof *b->not_sent);
	const char *where = o->machine ? o->machine : "this machine";

	for (size_t i = 0; i < n; i++) {
		const tl_probe *p = probes[i];
		if (!p || !p->kind) {
			tl_error_set(err, "probe %zu has no resolved kind", i);
			goto fail;
		}
		if (!runs_on(p, o->agent)) {
			tl_error_set(err,
				     "probe %zu (%s) does not run on %s's %s "
				     "agent",
				     i, p->kind->name, where,
				     o->agent == TL_AGENT_SH ? "sh"
							     : "PowerShell");
			goto fail;
		}
	}

	if (o->nonce) {
		size_t l = strlen(o->nonce);
		if (l != 32 || strspn(o->nonce, "0123456789abcdef") != l) {
			tl_error_set(err,
				     "nonce \"%s\": expected 32 lowercase "
				     "hex digits",
				     o->nonce);
			goto fail;
		}
		memcpy(b->nonce, o->nonce, 33);
	} else {
		unsigned char raw[16];
		if (tl_random_bytes(raw, sizeof raw, err) < 0)
			goto fail;
		tl_hex_encode(raw, sizeof raw, b->nonce);
	}

	size_t alen;
	const char *agent = tl_probe_agent_text(o->agent, &alen);
	tl_buf s;
	tl_buf_init(&s, 0);
	tl_buf_append(&s, agent, alen);
	if (o->agent == TL_AGENT_SH)
		tl_buf_printf(&s, "\ntl_begin %s %zu %zu %d\n", b->nonce,
			      b->value_cap, b->output_cap, b->hash ? 1 : 0);
	else
		tl_buf_printf(&s, "\nTl-Begin '%s' %zu %zu\n", b->nonce,
			      b->value_cap, b->output_cap);
	for (size_t i = 0; i < n; i++) {
		const tl_probe *p = probes[i];
		if (o->agent == TL_AGENT_SH) {
			b->not_sent[i] = sh_probe_line(&s, i, p, o);
		} else if (tl_pwsh_probe_line(&s, i, p, err) < 0) {
			tl_buf_clear(&s);
			goto fail;
		}
		if (!b->not_sent[i]) {
			b->n_sent++;
			b->timeout_s += p->timeout_s > 0 ? p->timeout_s : 10;
		}
	}
	tl_buf_printf(&s,
		      o->agent == TL_AGENT_SH ? "tl_end %zu\n" : "Tl-End %zu\n",
		      b->n_sent);
	b->script_len = s.len;
	b->script = tl_buf_steal(&s);
	return 0;
fail:
	tl_probe_batch_clear(b);
	return -1;
}
