/*
 * agent_output.c: reading what an agent printed, without trusting it.
 *
 * The agent's stdout is a sequence of JSON records, one per line
 * (docs/agent-protocol.md): start, one probe record per probe sent, one
 * bin record per tool used, end with the count. The guest is under the
 * trainee's control, so the parser assumes nothing:
 *   - every record must carry this run's nonce (a canned or replayed
 *     output has another one), and be one of the known types with the
 *     known fields and types (jansson, duplicate keys refused);
 *   - probe indexes must be ones we sent, each exactly once; the end
 *     record's count must be what we sent;
 *   - fields that carry guest bytes are hex, decoded here and held to the
 *     caps the batch asked for;
 *   - every tool reported is checked against the image's hashes.
 * One violation makes the whole batch TL_PROBE_TAMPERED with the reason:
 * a batch is trusted as a whole or not at all. Output that simply stops
 * (a killed agent, a dead machine) is an error, not tampering. Lines
 * before the start record are ignored: a login shell may print a banner.
 */
#include <string.h>

#include "probe-internal.h"

#define TL_FIELD_CAP_SMALL 4096 /* command, error message */

long tl_hex_decode(const char *hex, size_t len, char *ret)
{
	if (len % 2)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[i + (size_t)k];
			int d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return -1;
			v = v * 16 + d;
		}
		ret[i / 2] = (char)v;
	}
	ret[len / 2] = '\0';
	return (long)(len / 2);
}

typedef struct parser {
	const tl_probe_batch *b;
	const tl_probe_hashes *hashes;
	tl_probe_result *ret;
	bool *seen;
	bool started, ended;
	size_t n_probe_records, n_bins, noise;
	char *tamper; /* the first reason the batch cannot be trusted */
	char *abort;  /* the agent's own reason for giving up */
} parser;

static void tampered(parser *ps, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tampered(parser *ps, size_t line, const char *fmt, ...)
{
	if (ps->tamper)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	ps->tamper = tl_xasprintf("agent output line %zu: %s", line, msg);
	free(msg);
}

/* A hex field decoded (new string) or NULL when missing, not hex, or past
 * cap; *ret_len gets the decoded length. */
static char *hex_field(json_t *rec, const char *key, size_t cap,
		       size_t *ret_len, const char **why)
{
	json_t *v = json_object_get(rec, key);
	if (!json_is_string(v)) {
		*why = "missing or not a string";
		return NULL;
	}
	size_t len = json_string_length(v);
	if (len / 2 > cap) {
		*why = "longer than the cap the batch asked for";
		return NULL;
	}
	char *out = tl_xmalloc(len / 2 + 1);
	long n = tl_hex_decode(json_string_value(v), len, out);
	if (n < 0) {
		free(out);
		*why = "not hex";
		return NULL;
	}
	*ret_len = (size_t)n;
	return out;
}

static void rtrim(char *s, const char *chars)
{
	size_t n = strlen(s);
	while (n > 0 && strchr(chars, s[n - 1]))
		s[--n] = '\0';
}

/* Up to size-1 bytes of guest text, for a message: only printable ASCII
 * (others become '?'), never past len. */
static void printable(char *ret, size_t size, const char *text, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;
	for (size_t i = 0; i < n; i++)
		ret[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
	ret[n] = '\0';
}

static bool get_int(json_t *rec, const char *key, long long lo, long long hi,
		    long long *ret)
{
	json_t *v = json_object_get(rec, key);
	if (!json_is_integer(v))
		return false;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return false;
	*ret = x;
	return true;
}

static void probe_record(parser *ps, size_t line, json_t *rec)
{
	const tl_probe_batch *b = ps->b;
	long long idx, x, h, ms;
	if (!get_int(rec, "i", 0, (long long)b->n - 1, &idx)) {
		tampered(ps, line,
			 "probe index missing or out of range (the "
			 "batch had %zu probes)",
			 b->n);
		return;
	}
	size_t i = (size_t)idx;
	if (b->not_sent[i]) {
		tampered(ps, line,
			 "a result for probe %zu, which was not "
			 "sent",
			 i);
		return;
	}
	if (ps->seen[i]) {
		tampered(ps, line, "a second result for probe %zu", i);
		return;
	}
	const char *s = json_string_value(json_object_get(rec, "s"));
	json_t *ok = json_object_get(rec, "ok");
	const char *tr = json_string_value(json_object_get(rec, "tr"));
	if (!s || (strcmp(s, "done") && strcmp(s, "error")) ||
	    !json_is_boolean(ok) || !tr || strspn(tr, "cvom!") != strlen(tr) ||
	    !get_int(rec, "x", -1, 65535, &x) ||
	    !get_int(rec, "h", -1, 999, &h) ||
	    !get_int(rec, "ms", 0, 86400000LL, &ms) ||
	    json_object_size(rec) != 14) {
		tampered(ps, line, "probe %zu: malformed record", i);
		return;
	}
	static const char *const keys[] = {"c", "v", "o", "m"};
	size_t caps[] = {TL_FIELD_CAP_SMALL, b->value_cap, b->output_cap,
			 TL_FIELD_CAP_SMALL};
	char *f[4] = {NULL};
	size_t flen[4] = {0};
	for (int k = 0; k < 4; k++) {
		const char *why = NULL;
		f[k] = hex_field(rec, keys[k], caps[k], &flen[k], &why);
		if (!f[k]) {
			tampered(ps, line, "probe %zu: field \"%s\" %s", i,
				 keys[k], why);
			for (int j = 0; j < k; j++)
				free(f[j]);
			return;
		}
		/* NULs and broken UTF-8 become '?': nothing is silently
		 * cut, and every result can go into JSON */
		tl_probe_text_clean(f[k], flen[k]);
	}
	ps->seen[i] = true;
	ps->n_probe_records++;
	tl_probe_result *r = &ps->ret[i];
	r->status = strcmp(s, "done") ? TL_PROBE_ERROR : TL_PROBE_DONE;
	r->ok = r->status == TL_PROBE_DONE && json_is_true(ok);
	r->exit_code = (int)x;
	r->http_status = (int)h;
	r->ms = (double)ms;
	rtrim(f[1], "\r\n");
	rtrim(f[2], " \t\r\n");
	r->value = f[1];
	r->evidence_cmd = f[0];
	if (strchr(tr, 'v') || strchr(tr, 'o')) {
		tl_buf o;
		tl_buf_init(&o, 0);
		tl_buf_puts(&o, f[2]);
		if (strchr(tr, 'o'))
			tl_buf_printf(&o, "%s[output cut at %zu bytes]",
				      *f[2] ? "\n" : "", b->output_cap);
		if (strchr(tr, 'v'))
			tl_buf_printf(&o, "%s[value cut at %zu bytes]",
				      o.len ? "\n" : "", b->value_cap);
		free(f[2]);
		f[2] = tl_buf_steal(&o);
	}
	r->evidence_out = f[2];
	if (strchr(tr, '!')) {
		r->status = TL_PROBE_ERROR;
		r->ok = false;
		free(f[3]);
		r->error = tl_xstrdup("the agent's output for this probe is "
				      "incomplete (od or awk failed on the "
				      "machine)");
	} else if (r->status == TL_PROBE_ERROR && *f[3]) {
		r->error = f[3];
	} else if (r->status == TL_PROBE_ERROR) {
		free(f[3]);
		r->error = tl_xstrdup("the agent could not run this probe (no "
				      "reason given)");
	} else {
		free(f[3]);
	}
}

static void bin_record(parser *ps, size_t line, json_t *rec)
{
	const char *name = json_string_value(json_object_get(rec, "name"));
	const char *path = json_string_value(json_object_get(rec, "p"));
	const char *sha = json_string_value(json_object_get(rec, "sha256"));
	if (!name || !path || !sha || path[0] != '/' ||
	    (*sha &&
	     (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)) ||
	    json_object_size(rec) != 6) {
		tampered(ps, line, "malformed tool record");
		return;
	}
	ps->n_bins++;
	char *why = NULL;
	if (tl_probe_hashes_check(ps->hashes, name, path, sha, &why) < 0) {
		tampered(ps, line, "%s", why);
		free(why);
	}
}

static void record(parser *ps, size_t line, const char *text, size_t len)
{
	json_error_t je;
	json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	json_t *tl = rec ? json_object_get(rec, "tl") : NULL;
	if (!json_is_object(rec) || !tl) {
		/* A login shell's banner may come before the agent starts;
		 * afterwards only the agent writes. */
		if (ps->started) {
			char shown[64];
			printable(shown, sizeof shown, text, len);
			tampered(ps, line, "not an agent record: \"%s\"",
				 shown);
		} else
			ps->noise++;
		json_decref(rec);
		return;
	}
	const char *nonce = json_string_value(json_object_get(rec, "n"));
	const char *t = json_string_value(json_object_get(rec, "t"));
	if (!json_is_integer(tl) || json_integer_value(tl) != 1) {
		tampered(ps, line, "unknown record version");
	} else if (!nonce || strcmp(nonce, ps->b->nonce)) {
		tampered(ps, line,
			 "the record carries nonce \"%.40s\", not this run's: "
			 "canned or replayed output",
			 nonce ? nonce : "(none)");
	} else if (!t) {
		tampered(ps, line, "record without a type");
	} else if (ps->ended) {
		tampered(ps, line, "a record after the end record");
	} else if (!strcmp(t, "start")) {
		long long proto;
		if (ps->started)
			tampered(ps, line, "a second start record");
		else if (!get_int(rec, "proto", 1, 1, &proto))
			tampered(ps, line, "unknown agent protocol");
		ps->started = true;
	} else if (!ps->started) {
		tampered(ps, line, "a \"%s\" record before the start", t);
	} else if (!strcmp(t, "probe")) {
		probe_record(ps, line, rec);
	} else if (!strcmp(t, "bin")) {
		bin_record(ps, line, rec);
	} else if (!strcmp(t, "end")) {
		long long count;
		if (!get_int(rec, "count", 0, (long long)ps->b->n, &count) ||
		    (size_t)count != ps->n_probe_records ||
		    (size_t)count != ps->b->n_sent)
			tampered(ps, line,
				 "the end record counts %s probes; %zu were "
				 "sent and %zu results came",
				 json_is_integer(json_object_get(rec, "count"))
				     ? "other"
				     : "no",
				 ps->b->n_sent, ps->n_probe_records);
		ps->ended = true;
	} else if (!strcmp(t, "abort")) {
		const char *why =
		    json_string_value(json_object_get(rec, "why"));
		if (!ps->abort)
			ps->abort =
			    tl_xstrndup(why ? why : "no reason given", 512);
		ps->ended = true;
	} else {
		tampered(ps, line, "unknown record type \"%.20s\"", t);
	}
	json_decref(rec);
}

void tl_probe_batch_parse(const tl_probe_batch *b, const char *out, size_t len,
			  const tl_probe_hashes *hashes, tl_probe_result *ret)
{
	for (size_t i = 0; i < b->n; i++) {
		memset(&ret[i], 0, sizeof ret[i]);
		ret[i].probe = b->probes[i];
		ret[i].exit_code = -1;
		ret[i].http_status = -1;
	}
	parser ps = {.b = b, .hashes = hashes, .ret = ret};
	ps.seen = tl_xcalloc(b->n ? b->n : 1, sizeof *ps.seen);
	/* the longest line a genuine agent can print */
	size_t max_line =
	    2 * (2 * TL_FIELD_CAP_SMALL + b->value_cap + b->output_cap) + 1024;
	size_t pos = 0, line = 0;
	bool partial = false;
	while (pos < len && !ps.tamper) {
		const char *nl = memchr(out + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (out + pos)) : len - pos;
		line++;
		if (!nl) {
			/* a last line without its newline: the output was cut
			 */
			partial = true;
			break;
		}
		if (l > max_line)
			tampered(&ps, line,
				 "a line of %zu bytes, longer than "
				 "any record",
				 l);
		else
			record(&ps, line, out + pos, l);
		pos += l + 1;
	}

	const char *error = NULL;
	char *msg = NULL;
	if (ps.tamper) {
		tl_probe_results_set(ret, b->n, b->probes, TL_PROBE_TAMPERED,
				     ps.tamper);
	} else if (ps.abort) {
		msg = tl_xasprintf("the agent could not run: %s", ps.abort);
		error = msg;
	} else if (!ps.started) {
		error = ps.noise ? "the machine printed something, but the "
				   "agent never started (is /bin/sh or "
				   "/usr/bin/env missing?)"
				 : "no output from the agent";
	} else if (!ps.ended) {
		msg = tl_xasprintf("the agent's output stopped before its end "
				   "record (%zu of %zu results%s): nothing "
				   "of this batch is trusted",
				   ps.n_probe_records, b->n_sent,
				   partial ? ", last line cut" : "");
		error = msg;
	} else if (b->hash && tl_probe_hashes_count(hashes) > 0 &&
		   ps.n_bins == 0) {
		tl_probe_results_set(ret, b->n, b->probes, TL_PROBE_TAMPERED,
				     "the agent reported no tools although "
				     "the integrity check was asked for");
	}
	if (error)
		tl_probe_results_set(ret, b->n, b->probes, TL_PROBE_ERROR,
				     error);
	if (!ps.tamper && !error)
		for (size_t i = 0; i < b->n; i++)
			if (b->not_sent[i]) {
				tl_probe_result_clear(&ret[i]);
				ret[i].probe = b->probes[i];
				ret[i].status = TL_PROBE_ERROR;
				ret[i].value = tl_xstrdup("");
				ret[i].error = tl_xstrdup(b->not_sent[i]);
			}
	free(msg);
	free(ps.tamper);
	free(ps.abort);
	free(ps.seen);
}
