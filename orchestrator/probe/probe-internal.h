/*
 * probe-internal.h: what the files of orchestrator/probe share and nobody
 * else sees: the embedded agents, the flat form of a probe's arguments,
 * the PowerShell half of the batch compiler, hex decoding, and result
 * helpers.
 */
#ifndef TL_PROBE_INTERNAL_H
#define TL_PROBE_INTERNAL_H

#include "tssrlab/probe.h"

/* Generated at build time from agents/ (embed.py). */
extern const char tl_agent_sh[];
extern const size_t tl_agent_sh_len;
extern const char tl_agent_ps1[];
extern const size_t tl_agent_ps1_len;

/* A probe's arguments in the order of its kind's table: argv[i] is the
 * text of argument i ("" when absent; lists joined by '\n'; booleans "1"
 * or "0"); lists[i] is the list itself (NULL when not a list). */
typedef struct tl_probe_argv {
	const tl_probe_kind *kind;
	size_t n;
	char *argv[TL_PROBE_MAX_ARGS];
	bool present[TL_PROBE_MAX_ARGS];
	json_t *lists[TL_PROBE_MAX_ARGS]; /* borrowed from the probe */
} tl_probe_argv;

void tl_probe_argv_init(tl_probe_argv *a, const tl_probe *p);
void tl_probe_argv_clear(tl_probe_argv *a);
/* The text of the argument called name, or NULL when absent. */
const char *tl_probe_argv_get(const tl_probe_argv *a, const char *name);

/* PowerShell: appends the call line of probe p (index i) to script. */
int tl_pwsh_probe_line(tl_buf *script, size_t i, const tl_probe *p,
		       tl_error *err);
/* Appends s as a PowerShell single-quoted string ('' for '). */
void tl_pwsh_quote(tl_buf *b, const char *s);

/* Decodes lowercase or uppercase hex; returns the length, or -1 when the
 * text is not hex. ret must hold strlen(hex)/2 + 1 bytes. */
long tl_hex_decode(const char *hex, size_t len, char *ret);

/* Checks one tool the agent reported (name, path, sha256: may be empty)
 * against the image's hashes. Returns 0 (known and matching, or unknown),
 * or -1 with *ret_why (new string) when the image has another binary. */
int tl_probe_hashes_check(const tl_probe_hashes *h, const char *name,
			  const char *path, const char *sha, char **ret_why);
size_t tl_probe_hashes_count(const tl_probe_hashes *h);

/* Makes guest text safe to store and show: NUL bytes and bytes that are
 * not valid UTF-8 become '?', in place (results end up in JSON, which
 * must be UTF-8). len is the text's length; s[len] must be NUL. */
void tl_probe_text_clean(char *s, size_t len);

/* Sets every result to status with the same message. */
void tl_probe_results_set(tl_probe_result *ret, size_t n,
			  const tl_probe *const *probes, tl_probe_status status,
			  const char *msg);

/* Cross-checks results of one instance (see tl_probe_run_instance). */
void tl_probe_crosscheck(const tl_probe *const *probes, tl_probe_result *ret,
			 size_t n);

#endif
