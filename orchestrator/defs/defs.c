/*
 * defs.c: finding, reading and assembling the definition files.
 *
 * Files are gathered first and sorted by kind, then loaded in dependency
 * order (referential, images, labs, scenarios) so that pointers between
 * definitions are taken once the arrays they point into are final.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs-internal.h"

#define DEF_FILE_MAX (4u << 20) /* a definition file is at most 4 MiB */

enum kind { K_REFERENTIAL, K_IMAGE, K_LAB, K_SCENARIO, K_COUNT };
static const char *const kind_names[K_COUNT] = {"referential", "image", "lab",
						"scenario"};

typedef struct pending {
	char *path;
	enum kind kind;
	bool kind_known;
} pending;

typedef struct plist {
	pending *items;
	size_t n;
} plist;

static void plist_add(plist *pl, const char *path, enum kind k, bool known)
{
	char real[PATH_MAX];
	const char *key = realpath(path, real) ? real : path;
	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->items[i].path, key))
			return; /* already listed (e.g. extra path in root) */
	pl->items = tl_xrealloc(pl->items, (pl->n + 1) * sizeof *pl->items);
	pl->items[pl->n++] = (pending){tl_xstrdup(key), k, known};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every *.json directly inside dir (sorted, for stable output). */
static void scan_dir(plist *pl, const char *dir, enum kind k, bool known)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		size_t len = strlen(e->d_name);
		if (len > 5 && !strcmp(e->d_name + len - 5, ".json") &&
		    e->d_name[0] != '.') {
			names = tl_xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = tl_xasprintf("%s/%s", dir, e->d_name);
		}
	}
	closedir(dp);
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			plist_add(pl, names[i], k, known);
		free(names[i]);
	}
	free(names);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void scan_root(plist *pl, const char *root)
{
	TL_AUTOFREE char *a = tl_xasprintf("%s/scenarios/referential", root);
	TL_AUTOFREE char *b = tl_xasprintf("%s/labs/images", root);
	TL_AUTOFREE char *c = tl_xasprintf("%s/labs", root);
	TL_AUTOFREE char *d = tl_xasprintf("%s/scenarios", root);
	scan_dir(pl, a, K_REFERENTIAL, true);
	scan_dir(pl, b, K_IMAGE, true);
	scan_dir(pl, c, K_LAB, true);
	scan_dir(pl, d, K_SCENARIO, true);
}

/* Guesses a file's kind from its folder, then from its top-level fields. */
static bool guess_kind(const char *path, json_t *root, enum kind *k)
{
	if (strstr(path, "/referential/")) {
		*k = K_REFERENTIAL;
		return true;
	}
	if (strstr(path, "/images/")) {
		*k = K_IMAGE;
		return true;
	}
	if (json_object_get(root, "blocks"))
		*k = K_REFERENTIAL;
	else if (json_object_get(root, "boot") || json_object_get(root, "os"))
		*k = K_IMAGE;
	else if (json_object_get(root, "machines"))
		*k = K_LAB;
	else if (json_object_get(root, "tasks") ||
		 json_object_get(root, "briefing"))
		*k = K_SCENARIO;
	else
		return false;
	return true;
}

typedef struct parsed {
	char *path;
	char *text;
	size_t len;
	json_t *root;
	enum kind kind;
} parsed;

static void run_loader(tl_defs *defs, tl_diags *diags, parsed *p)
{
	ld l = {.diags = diags,
		.file = p->path,
		.text = p->text,
		.len = p->len,
		.defs = defs};
	switch (p->kind) {
	case K_REFERENTIAL:
		tl_load_referential(&l, p->root);
		break;
	case K_IMAGE:
		tl_load_image(&l, p->root);
		break;
	case K_LAB:
		tl_load_lab(&l, p->root);
		break;
	case K_SCENARIO:
		tl_load_scenario(&l, p->root);
		break;
	case K_COUNT:
		break;
	}
}

/* Parses text; on a syntax error adds a located diagnostic. */
static json_t *parse_text(const char *file, const char *text, size_t len,
			  tl_diags *diags)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		tl_diags_add(diags, file, jerr.line > 0 ? jerr.line : 1,
			     jerr.column > 0 ? jerr.column : 1, "",
			     "invalid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		tl_diags_add(diags, file, 1, 1, "",
			     "expected a JSON object at the top level, got %s",
			     ld_json_type(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

tl_defs *tl_defs_load(const char *root, const char *const *extra,
		      size_t n_extra, tl_diags *diags)
{
	size_t before = diags->n;
	plist pl = {0};
	if (root) {
		if (!is_dir(root))
			tl_diags_add(diags, root, 0, 0, "",
				     "definitions folder not found");
		else
			scan_root(&pl, root);
	}
	for (size_t i = 0; i < n_extra; i++) {
		const char *p = extra[i];
		if (is_dir(p)) {
			TL_AUTOFREE char *sub = tl_xasprintf("%s/labs", p);
			TL_AUTOFREE char *sub2 = tl_xasprintf("%s/scenarios", p);
			if (is_dir(sub) || is_dir(sub2))
				scan_root(&pl, p);
			else
				scan_dir(&pl, p, K_SCENARIO, false);
		} else if (access(p, R_OK) == 0) {
			plist_add(&pl, p, K_SCENARIO, false);
		} else {
			tl_diags_add(diags, p, 0, 0, "", "cannot read: %s",
				     strerror(errno));
		}
	}

	parsed *ps = tl_xcalloc(pl.n, sizeof *ps);
	size_t np = 0;
	for (size_t i = 0; i < pl.n; i++) {
		tl_error err;
		size_t len = 0;
		char *text = tl_file_read(pl.items[i].path, DEF_FILE_MAX, &len,
					  &err);
		if (!text) {
			tl_diags_add(diags, pl.items[i].path, 0, 0, "", "%s",
				     err.msg);
			continue;
		}
		json_t *j = parse_text(pl.items[i].path, text, len, diags);
		if (!j) {
			free(text);
			continue;
		}
		enum kind k = pl.items[i].kind;
		if (!pl.items[i].kind_known && !guess_kind(pl.items[i].path, j, &k)) {
			tl_diags_add(diags, pl.items[i].path, 1, 1, "",
				     "cannot tell what this file defines (a "
				     "referential has \"blocks\", an image "
				     "\"boot\", a lab \"machines\", a scenario "
				     "\"tasks\")");
			json_decref(j);
			free(text);
			continue;
		}
		ps[np++] = (parsed){tl_xstrdup(pl.items[i].path), text, len, j,
				    k};
	}

	tl_defs *defs = tl_xcalloc(1, sizeof *defs);
	defs->root = tl_xstrdup(root ? root : "");
	for (int k = 0; k < K_COUNT; k++)
		for (size_t i = 0; i < np; i++)
			if ((int)ps[i].kind == k)
				run_loader(defs, diags, &ps[i]);
	if (!defs->ref.file && diags->n == before)
		tl_diags_add(diags, root ? root : "<definitions>", 0, 0, "",
			     "no referential found (expected "
			     "scenarios/referential/*.json)");

	for (size_t i = 0; i < np; i++) {
		free(ps[i].path);
		free(ps[i].text);
		json_decref(ps[i].root);
	}
	free(ps);
	for (size_t i = 0; i < pl.n; i++)
		free(pl.items[i].path);
	free(pl.items);

	if (diags->n > before) {
		tl_defs_free(defs);
		return NULL;
	}
	return defs;
}

int tl_defs_check_text(const tl_defs *base, const char *kind,
		       const char *name, const char *text, size_t len,
		       tl_diags *diags)
{
	size_t before = diags->n;
	enum kind k = K_COUNT;
	for (int i = 0; i < K_COUNT; i++)
		if (!strcmp(kind, kind_names[i]))
			k = (enum kind)i;
	if (k == K_COUNT) {
		tl_diags_add(diags, name, 0, 0, "", "unknown kind \"%s\"",
			     kind);
		return -1;
	}
	json_t *j = parse_text(name, text, len, diags);
	if (!j)
		return -1;
	/* A scratch copy of base's tables: the new definition resolves its
	 * references against them and is then thrown away. Only the arrays
	 * are shallow-copied; entries stay owned by base. */
	tl_defs scratch = {0};
	if (base) {
		scratch.ref = base->ref;
		scratch.ref.file = NULL; /* allow loading a referential */
		if (k == K_REFERENTIAL)
			memset(&scratch.ref, 0, sizeof scratch.ref);
		scratch.images = base->images;
		scratch.n_images = base->n_images;
		scratch.labs = base->labs;
		scratch.n_labs = base->n_labs;
		scratch.scenarios = base->scenarios;
		scratch.n_scenarios = base->n_scenarios;
	}
	/* Copy arrays so the loader's GROW does not realloc base's memory. */
	size_t sz_im = scratch.n_images * sizeof *scratch.images;
	size_t sz_lab = scratch.n_labs * sizeof *scratch.labs;
	size_t sz_sc = scratch.n_scenarios * sizeof *scratch.scenarios;
	tl_image *im0 = scratch.images;
	tl_lab *lab0 = scratch.labs;
	tl_scenario *sc0 = scratch.scenarios;
	scratch.images = sz_im ? memcpy(tl_xmalloc(sz_im), im0, sz_im) : NULL;
	scratch.labs = sz_lab ? memcpy(tl_xmalloc(sz_lab), lab0, sz_lab) : NULL;
	scratch.scenarios =
		sz_sc ? memcpy(tl_xmalloc(sz_sc), sc0, sz_sc) : NULL;
	size_t n_im = scratch.n_images, n_lab = scratch.n_labs,
	       n_sc = scratch.n_scenarios;
	parsed p = {(char *)name, (char *)text, len, j, k};
	run_loader(&scratch, diags, &p);
	/* Free only what the loader added. */
	for (size_t i = n_im; i < scratch.n_images; i++)
		tl_image_clear(&scratch.images[i]);
	for (size_t i = n_lab; i < scratch.n_labs; i++)
		tl_lab_clear(&scratch.labs[i]);
	for (size_t i = n_sc; i < scratch.n_scenarios; i++)
		tl_scenario_clear(&scratch.scenarios[i]);
	free(scratch.images);
	free(scratch.labs);
	free(scratch.scenarios);
	if (k == K_REFERENTIAL)
		tl_referential_clear(&scratch.ref);
	json_decref(j);
	return diags->n > before ? -1 : 0;
}

void tl_defs_free(tl_defs *d)
{
	if (!d)
		return;
	tl_referential_clear(&d->ref);
	for (size_t i = 0; i < d->n_images; i++)
		tl_image_clear(&d->images[i]);
	free(d->images);
	for (size_t i = 0; i < d->n_labs; i++)
		tl_lab_clear(&d->labs[i]);
	free(d->labs);
	for (size_t i = 0; i < d->n_scenarios; i++)
		tl_scenario_clear(&d->scenarios[i]);
	free(d->scenarios);
	free(d->root);
	free(d);
}

const tl_image *tl_defs_image(const tl_defs *d, const char *id)
{
	for (size_t i = 0; i < d->n_images; i++)
		if (d->images[i].id && !strcmp(d->images[i].id, id))
			return &d->images[i];
	return NULL;
}

const tl_lab *tl_defs_lab(const tl_defs *d, const char *id)
{
	for (size_t i = 0; i < d->n_labs; i++)
		if (d->labs[i].id && !strcmp(d->labs[i].id, id))
			return &d->labs[i];
	return NULL;
}

const tl_scenario *tl_defs_scenario(const tl_defs *d, const char *id)
{
	for (size_t i = 0; i < d->n_scenarios; i++)
		if (d->scenarios[i].id && !strcmp(d->scenarios[i].id, id))
			return &d->scenarios[i];
	return NULL;
}

const tl_ref_competence *tl_defs_competence(const tl_defs *d, const char *id)
{
	for (size_t i = 0; i < d->ref.n_blocks; i++)
		for (size_t j = 0; j < d->ref.blocks[i].n_competences; j++) {
			const tl_ref_competence *c =
				&d->ref.blocks[i].competences[j];
			if (c->id && !strcmp(c->id, id))
				return c;
		}
	return NULL;
}

const tl_ref_criterion *tl_defs_ref_criterion(const tl_defs *d, const char *id)
{
	for (size_t i = 0; i < d->ref.n_blocks; i++)
		for (size_t j = 0; j < d->ref.blocks[i].n_competences; j++) {
			const tl_ref_competence *c =
				&d->ref.blocks[i].competences[j];
			for (size_t k = 0; k < c->n_criteria; k++)
				if (c->criteria[k].id &&
				    !strcmp(c->criteria[k].id, id))
					return &c->criteria[k];
		}
	return NULL;
}

const tl_lab_machine *tl_lab_machine_find(const tl_lab *lab, const char *id)
{
	for (size_t i = 0; i < lab->n_machines; i++)
		if (lab->machines[i].id && !strcmp(lab->machines[i].id, id))
			return &lab->machines[i];
	return NULL;
}

size_t tl_defs_count_criteria(const tl_defs *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n_scenarios; i++)
		for (size_t t = 0; t < d->scenarios[i].n_tasks; t++)
			n += d->scenarios[i].tasks[t].n_criteria;
	return n;
}

size_t tl_defs_count_probes(const tl_defs *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n_scenarios; i++)
		for (size_t t = 0; t < d->scenarios[i].n_tasks; t++)
			for (size_t c = 0;
			     c < d->scenarios[i].tasks[t].n_criteria; c++)
				n += d->scenarios[i].tasks[t].criteria[c].n_probes;
	return n;
}

#ifndef TL_SOURCE_ROOT
#define TL_SOURCE_ROOT ""
#endif
#ifndef TL_BUILD_ROOT
#define TL_BUILD_ROOT ""
#endif
#ifndef TL_DATADIR
#define TL_DATADIR "/usr/local/share/tssrlab"
#endif

const char *tl_defs_default_root(void)
{
	const char *env = getenv("TSSRLAB_DATADIR");
	if (env && *env)
		return env;
	/* A binary running from its build folder reads the source tree. */
	static char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	static const char build_root[] = TL_BUILD_ROOT;
	if (n > 0 && build_root[0] != '\0') {
		exe[n] = '\0';
		size_t bl = strlen(TL_BUILD_ROOT);
		if (!strncmp(exe, TL_BUILD_ROOT, bl) && exe[bl] == '/' &&
		    is_dir(TL_SOURCE_ROOT))
			return TL_SOURCE_ROOT;
	}
	return TL_DATADIR;
}
