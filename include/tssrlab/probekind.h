/*
 * probekind.h: the catalogue of probe kinds — the contract between the
 * definitions (which validate a probe's arguments at load) and the probe
 * engine (which turns each kind into an agent call or a network check).
 *
 * A probe yields a result with a verdict `ok` (the kind's own claim, e.g.
 * "the service is active") and a string `value` (e.g. "active", a mode
 * "640", the lines of a listing). A criterion's probe either trusts the
 * verdict (no "expect") or applies a matcher to the value (docs/formats.md).
 */
#ifndef TSSRLAB_PROBEKIND_H
#define TSSRLAB_PROBEKIND_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	TL_ARG_STRING,
	TL_ARG_INT,
	TL_ARG_BOOL,
	TL_ARG_STRLIST,
} tl_arg_type;

typedef struct tl_probe_arg {
	const char *name;
	tl_arg_type type;
	bool required;
	const char *choices; /* "tcp|udp": allowed values of a string, or NULL */
	const char *doc;
} tl_probe_arg;

typedef enum {
	TL_SITE_LINUX,   /* runs in a Linux guest through the sh agent */
	TL_SITE_WINDOWS, /* runs in a Windows guest through the PowerShell agent */
	TL_SITE_NETWORK, /* runs from the orchestrator or from another machine */
} tl_probe_site;

#define TL_PROBE_MAX_ARGS 6

typedef struct tl_probe_kind {
	const char *name; /* "service.active" */
	tl_probe_site site;
	const char *doc;   /* one line: what the verdict means */
	const char *value; /* what `value` holds */
	tl_probe_arg args[TL_PROBE_MAX_ARGS];
} tl_probe_kind;

/* The catalogue, terminated by an entry with name == NULL. */
extern const tl_probe_kind tl_probe_kinds[];

const tl_probe_kind *tl_probe_kind_find(const char *name);
const tl_probe_arg *tl_probe_kind_arg(const tl_probe_kind *k,
				      const char *name);
const char *tl_probe_site_name(tl_probe_site site);

#endif
