/*
 * defs.h: the definitions every other module reads — the TSSR referential,
 * images, labs and scenarios — loaded from JSON and validated as a whole.
 *
 * Loading never stops at the first problem: every error is collected as a
 * tl_diag (file, line, column, JSON path, message) so that a trainer fixes
 * a whole file in one pass. A tl_defs is only handed out when there are no
 * errors; it is immutable afterwards and may be shared between threads.
 * References are resolved at load: scenario -> lab -> images, criterion ->
 * referential criterion, probe kind -> tl_probe_kind with checked arguments.
 * The file format is documented in docs/formats.md.
 */
#ifndef TSSRLAB_DEFS_H
#define TSSRLAB_DEFS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tssrlab/base.h"
#include "tssrlab/probekind.h"

/* ---- diagnostics ---- */
typedef struct tl_diag {
	char *file;
	int line;   /* 1-based; 0 when unknown */
	int column; /* 1-based; 0 when unknown */
	char *path; /* JSON path, e.g. tasks[0].criteria[2].probes[0].kind */
	char *message;
} tl_diag;

typedef struct tl_diags {
	tl_diag *items;
	size_t n;
	size_t cap;
} tl_diags;

void tl_diags_add(tl_diags *d, const char *file, int line, int column,
		  const char *path, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Formats one diagnostic as "file:line:column: path: message" (new string). */
char *tl_diag_format(const tl_diag *d);
void tl_diags_clear(tl_diags *d);

/* ---- referential ---- */
typedef enum {
	TL_EVAL_PRACTICAL, /* machine state can show it: probes */
	TL_EVAL_JURY,      /* only a jury can judge it: manual score */
	TL_EVAL_MIXED,     /* competence with both kinds of criteria */
} tl_evaluation;

struct tl_ref_competence;
struct tl_ref_block;

typedef struct tl_ref_criterion {
	char *id; /* "cp5.2" */
	char *label;
	char *source; /* "official" | "derived" */
	tl_evaluation evaluation;
	struct tl_ref_competence *competence; /* back reference */
} tl_ref_criterion;

typedef struct tl_ref_competence {
	char *id; /* "cp5" */
	char *label;
	tl_evaluation evaluation;
	tl_ref_criterion *criteria;
	size_t n_criteria;
	struct tl_ref_block *block; /* back reference */
} tl_ref_competence;

typedef struct tl_ref_block {
	char *id;   /* "ccp2", "ccs-linux" */
	char *kind; /* "ccp" | "ccs" */
	char *label;
	char *rncp_block;
	tl_ref_competence *competences;
	size_t n_competences;
} tl_ref_block;

typedef struct tl_referential {
	char *file;
	char *id, *label, *rncp, *code, *level, *nsf, *version, *arrete;
	int eu_level;
	tl_ref_block *blocks;
	size_t n_blocks;
} tl_referential;

/* ---- images ---- */
typedef enum { TL_OS_LINUX, TL_OS_WINDOWS } tl_os;
typedef enum { TL_BOOT_KERNEL, TL_BOOT_DISK } tl_boot_method;

typedef struct tl_image {
	char *file;
	char *id;
	char *description;
	tl_os os;
	char *recipe; /* relative to the images folder; NULL if user supplied */
	bool user_supplied;
	tl_boot_method boot;
	char *kernel, *initrd, *cmdline; /* TL_BOOT_KERNEL only */
	char *disk;     /* base disk file name inside the built image folder */
	char *disk_bus; /* "virtio" (default) | "sata" | "ide" */
	char *login_user;
	int login_port;
	char *login_shell; /* "sh" | "powershell" */
	int min_memory_mib;
	bool warm_start; /* machines may start from a restored booted template */
	char **packages;
	size_t n_packages;
} tl_image;

/* ---- labs ---- */
typedef struct tl_lab_network {
	char *id;
	char *cidr; /* IPv4 prefix inside the lab, e.g. "192.168.10.0/24" */
	bool dhcp;  /* libvirt's dnsmasq serves DHCP on it */
	bool isolated; /* always true for now: no route out of the lab */
} tl_lab_network;

typedef struct tl_lab_nic {
	char *network;                     /* lab network id */
	const tl_lab_network *net;         /* resolved */
	char *address;                     /* optional "192.168.10.10/24" */
} tl_lab_nic;

typedef struct tl_lab_machine {
	char *id;
	char *hostname;
	char *image_id;
	const tl_image *image; /* resolved */
	int vcpus;
	int memory_mib;
	int disk_gib; /* overlay virtual size; 0 = base disk's size */
	tl_lab_nic *nics;
	size_t n_nics;
	int *ports; /* TCP service ports to expose in loopback access mode */
	size_t n_ports;
	bool trainee; /* the trainee logs in to this machine */
} tl_lab_machine;

typedef struct tl_lab {
	char *file;
	char *id;
	char *title;
	char *description;
	tl_lab_network *networks;
	size_t n_networks;
	tl_lab_machine *machines;
	size_t n_machines;
} tl_lab;

/* ---- scenarios ---- */
typedef enum {
	TL_MATCH_EQUALS,
	TL_MATCH_REGEX,
	TL_MATCH_CONTAINS,
	TL_MATCH_LT,
	TL_MATCH_LE,
	TL_MATCH_GT,
	TL_MATCH_GE,
	TL_MATCH_COUNT, /* number of lines of the value, compared by a child */
	TL_MATCH_ALL,
	TL_MATCH_ANY,
	TL_MATCH_NOT,
	TL_MATCH_TRUE, /* the probe's own verdict (ok) */
} tl_match_op;

typedef struct tl_matcher {
	tl_match_op op;
	char *str;    /* equals/regex/contains */
	double num;   /* lt/le/gt/ge */
	struct tl_matcher *children; /* all/any: n; not/count: 1 */
	size_t n_children;
} tl_matcher;

typedef struct tl_probe {
	char *kind_name;
	const tl_probe_kind *kind; /* resolved */
	char *machine; /* where it runs (guest kinds) or the target (network kinds) */
	char *from;    /* network kinds: "orchestrator" (default) or a machine id */
	json_t *args;  /* validated against kind->args; owned */
	char *field;   /* which result field the matcher reads (default "value") */
	tl_matcher *expect; /* NULL = the kind's own verdict */
	int timeout_s;
} tl_probe;

typedef enum {
	TL_SELF_HIDDEN,   /* not shown in self-check */
	TL_SELF_STATUS,   /* pass/fail only */
	TL_SELF_HINT,     /* pass/fail and the hint when failing */
	TL_SELF_EVIDENCE, /* everything, evidence included */
} tl_self_check;

typedef struct tl_criterion {
	char *id;
	char *label;
	char *ref; /* referential criterion id */
	const tl_ref_criterion *refc; /* resolved */
	double weight;
	bool manual; /* evaluated by the jury: no probes, scored by hand */
	bool partial; /* partial credit: score in proportion of probes passed */
	tl_probe *probes;
	size_t n_probes;
	char *hint;
	tl_self_check self_check;
	bool given; /* true when setup already satisfies it (incident "nothing
		       else broken" checks): excluded from the "blank = 0" proof */
} tl_criterion;

typedef struct tl_task {
	char *id;
	char *title;
	char *description;
	tl_criterion *criteria;
	size_t n_criteria;
} tl_task;

typedef struct tl_setup_step {
	char *machine;
	char *label;
	char *run;  /* shell text run as root on the machine */
	int timeout_s;
} tl_setup_step;

typedef struct tl_solution {
	char *machine;
	char *script; /* path relative to the scenario file's folder */
} tl_solution;

typedef struct tl_scenario {
	char *file;
	char *id;
	char *title;
	char *briefing;
	char *lab_id;
	const tl_lab *lab; /* resolved */
	int duration_min;
	char **competences; /* referential competence ids */
	size_t n_competences;
	tl_setup_step *setup;
	size_t n_setup;
	tl_task *tasks;
	size_t n_tasks;
	tl_self_check self_check; /* default for criteria that do not say */
	bool self_check_enabled;
	tl_solution *solutions;
	size_t n_solutions;
	char *partial_solution_machine; /* optional: half solution for proofs */
	char *partial_solution;
	bool runnable_here; /* false for scenarios on user-supplied images */
} tl_scenario;

/* ---- the whole set ---- */
typedef struct tl_defs {
	char *root; /* folder the definitions were loaded from */
	tl_referential ref;
	tl_image *images;
	size_t n_images;
	tl_lab *labs;
	size_t n_labs;
	tl_scenario *scenarios;
	size_t n_scenarios;
} tl_defs;

/* Where definitions live: $TSSRLAB_DATADIR, else the source tree the binary
 * was built from (development), else the installed data dir. Returns a
 * static string. */
const char *tl_defs_default_root(void);

/* Loads and validates everything below root (scenarios/referential/<file>.json,
 * labs/images/<file>.json, labs/<file>.json, scenarios/<file>.json). Extra paths (files or
 * folders) are loaded as well, files by their kind (guessed from the folder
 * or a top-level field). Returns NULL and fills diags when anything is
 * wrong; the caller owns the result (tl_defs_free). */
tl_defs *tl_defs_load(const char *root, const char *const *extra,
		      size_t n_extra, tl_diags *diags);
void tl_defs_free(tl_defs *defs);
TL_DEFINE_FREEP(tl_defs, tl_defs_free)

/* Loads definitions from one JSON text, for the fuzzer and tests: kind is
 * "referential", "image", "lab" or "scenario"; references are resolved
 * against base (may be NULL). Returns 0 when no diagnostic was added. */
int tl_defs_check_text(const tl_defs *base, const char *kind,
		       const char *name, const char *text, size_t len,
		       tl_diags *diags);

const tl_image *tl_defs_image(const tl_defs *d, const char *id);
const tl_lab *tl_defs_lab(const tl_defs *d, const char *id);
const tl_scenario *tl_defs_scenario(const tl_defs *d, const char *id);
const tl_ref_competence *tl_defs_competence(const tl_defs *d, const char *id);
const tl_ref_criterion *tl_defs_ref_criterion(const tl_defs *d,
					      const char *id);
const tl_lab_machine *tl_lab_machine_find(const tl_lab *lab, const char *id);

/* Scenarios that cover a competence: those with at least one criterion
 * tied to one of its referential criteria. Fills up to max pointers into
 * ret (may be NULL) and returns the total count. */
size_t tl_defs_covering(const tl_defs *d, const tl_ref_competence *c,
			const tl_scenario **ret, size_t max);
/* The referential with coverage as JSON (new reference): blocks,
 * competences with their criteria, "scenarios" per competence, totals. */
json_t *tl_defs_referential_json(const tl_defs *d);

/* Counts for the validate summary. */
size_t tl_defs_count_criteria(const tl_defs *d);
size_t tl_defs_count_probes(const tl_defs *d);

#endif
