/*
 * validate.c: `tssrlab validate [PATH...]` loads every definition (the
 * shipped tree, plus the given files or folders) and prints all errors as
 * file:line:column: json.path: message, or a one-line summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tssrlab/defs.h"

static void usage(FILE *f)
{
	fputs("usage: tssrlab validate [--root DIR] [--json] [PATH...]\n"
	      "\n"
	      "Loads the referential, images, labs and scenarios under the\n"
	      "definitions folder (default: the source tree when run from a\n"
	      "build, else the installed data dir; $TSSRLAB_DATADIR or --root\n"
	      "override it), plus each PATH (a definition file, or a folder of\n"
	      "them), resolves every reference and prints every error as\n"
	      "  file:line:column: json.path: message\n"
	      "Exit status: 0 valid, 1 invalid, 2 usage.\n",
	      f);
}

int tl_cli_validate(int argc, char **argv)
{
	static const struct option opts[] = {{"root", required_argument, 0, 'r'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *root = NULL;
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return TL_EXIT_OK;
		default:
			usage(stderr);
			return TL_EXIT_USAGE;
		}
	}
	if (!root)
		root = tl_defs_default_root();
	tl_diags diags = {0};
	tl_defs *defs = tl_defs_load(root, (const char *const *)argv + optind,
				     (size_t)(argc - optind), &diags);
	int rc;
	if (json) {
		json_t *out = json_object();
		json_object_set_new(out, "valid", json_boolean(defs != NULL));
		json_t *errs = json_array();
		for (size_t i = 0; i < diags.n; i++) {
			const tl_diag *d = &diags.items[i];
			json_array_append_new(
				errs, json_pack("{s:s,s:i,s:i,s:s,s:s}", "file",
						d->file, "line", d->line,
						"column", d->column, "path",
						d->path, "message",
						d->message));
		}
		json_object_set_new(out, "errors", errs);
		if (defs)
			json_object_set_new(
				out, "counts",
				json_pack("{s:I,s:I,s:I,s:I,s:I}", "images",
					  (json_int_t)defs->n_images, "labs",
					  (json_int_t)defs->n_labs, "scenarios",
					  (json_int_t)defs->n_scenarios,
					  "criteria",
					  (json_int_t)tl_defs_count_criteria(defs),
					  "probes",
					  (json_int_t)tl_defs_count_probes(defs)));
		char *s = json_dumps(out, JSON_INDENT(2));
		puts(s);
		free(s);
		json_decref(out);
	} else {
		for (size_t i = 0; i < diags.n; i++) {
			char *line = tl_diag_format(&diags.items[i]);
			fprintf(stderr, "%s\n", line);
			free(line);
		}
	}
	if (!defs) {
		if (!json)
			fprintf(stderr, "tssrlab: %zu error%s, nothing is valid\n",
				diags.n, diags.n == 1 ? "" : "s");
		rc = TL_EXIT_INVALID;
	} else {
		size_t comps = 0, rcrit = 0;
		for (size_t i = 0; i < defs->ref.n_blocks; i++) {
			comps += defs->ref.blocks[i].n_competences;
			for (size_t j = 0; j < defs->ref.blocks[i].n_competences;
			     j++)
				rcrit += defs->ref.blocks[i]
						 .competences[j]
						 .n_criteria;
		}
		if (!json)
			printf("ok: referential %s (%zu blocks, %zu "
			       "competences, %zu criteria), %zu images, %zu "
			       "labs, %zu scenarios, %zu criteria, %zu probes "
			       "(%s)\n",
			       defs->ref.id, defs->ref.n_blocks, comps, rcrit,
			       defs->n_images, defs->n_labs, defs->n_scenarios,
			       tl_defs_count_criteria(defs),
			       tl_defs_count_probes(defs), root);
		rc = TL_EXIT_OK;
	}
	tl_defs_free(defs);
	tl_diags_clear(&diags);
	return rc;
}
