/*
 * defs-internal.h: shared between the files of orchestrator/defs only.
 * The loader context (`ld`) carries the file being read, its text, the JSON
 * path of the value being looked at, and the diagnostics list.
 */
#ifndef TSSRLAB_DEFS_INTERNAL_H
#define TSSRLAB_DEFS_INTERNAL_H

#include "tssrlab/defs.h"

#define TL_JPATH_MAX 24

typedef struct tl_jseg {
	const char *key; /* NULL for an array index */
	size_t index;
} tl_jseg;

typedef struct tl_jpath {
	tl_jseg segs[TL_JPATH_MAX];
	int depth;
} tl_jpath;

void tl_json_locate(const char *text, size_t len, const tl_jpath *path,
		    int depth, bool want_key, int *line, int *col);

typedef struct ld {
	tl_diags *diags;
	const char *file;
	const char *text;
	size_t len;
	tl_jpath path;
	tl_defs *defs; /* what is loaded so far, for references */
	size_t errors_before;
} ld;

void ld_push_key(ld *l, const char *key);
void ld_push_index(ld *l, size_t index);
void ld_pop(ld *l);
/* Error located at the current path's value. */
void ld_err(ld *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Error located at key `key` of the current object (for unknown fields). */
void ld_err_key(ld *l, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports every key of obj not in allowed (NULL-terminated). */
void ld_check_fields(ld *l, json_t *obj, const char *const *allowed);
/* Typed getters: push the key, check the type, report, pop. They return
 * false when the field is absent (and required: reported) or ill-typed. */
bool ld_str(ld *l, json_t *obj, const char *key, bool required, char **out);
bool ld_int(ld *l, json_t *obj, const char *key, bool required, int min,
	    int max, int *out);
bool ld_num(ld *l, json_t *obj, const char *key, bool required, double *out);
bool ld_bool(ld *l, json_t *obj, const char *key, bool *out);
bool ld_strlist(ld *l, json_t *obj, const char *key, bool required,
		char ***out, size_t *n);
/* Returns the array (borrowed) or NULL; reports absence when required and a
 * wrong type always; an empty array is reported when nonempty is set. */
json_t *ld_array(ld *l, json_t *obj, const char *key, bool required,
		 bool nonempty);
json_t *ld_object(ld *l, json_t *obj, const char *key, bool required);
/* Checks that an id is a slug: [a-z0-9][a-z0-9._-]*, at most 64 chars. */
bool ld_check_id(ld *l, json_t *obj, const char *key, char **out);

const char *ld_json_type(const json_t *v);

/* Per-kind loaders (load.c): each adds to l->defs. */
void tl_load_referential(ld *l, json_t *root);
void tl_load_image(ld *l, json_t *root);
void tl_load_lab(ld *l, json_t *root);
void tl_load_scenario(ld *l, json_t *root);

void tl_referential_clear(tl_referential *r);
void tl_image_clear(tl_image *im);
void tl_lab_clear(tl_lab *lab);
void tl_scenario_clear(tl_scenario *s);

#endif
