/*
 * referential.c: `tssrlab referential` prints the TSSR framework — blocks
 * (CCP, CCS), competences, their criteria — with, per competence, the
 * scenarios that cover it, and a coverage total. `kinds` prints the probe
 * kind catalogue (as a table, or as the Markdown of docs/probe-kinds.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tssrlab/defs.h"

static tl_defs *load_or_report(const char *root)
{
	tl_diags diags = {0};
	tl_defs *defs = tl_defs_load(root, NULL, 0, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		char *line = tl_diag_format(&diags.items[i]);
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	if (!defs)
		fprintf(stderr, "tssrlab: definitions are invalid (run "
				"`tssrlab validate`)\n");
	tl_diags_clear(&diags);
	return defs;
}

int tl_cli_referential(int argc, char **argv)
{
	static const struct option opts[] = {{"root", required_argument, 0, 'r'},
					     {"json", no_argument, 0, 'j'},
					     {"criteria", no_argument, 0, 'c'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *root = NULL;
	bool json = false, criteria = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:jch", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			criteria = true;
			break;
		case 'h':
			puts("usage: tssrlab referential [--root DIR] [--json] "
			     "[--criteria]\n\n"
			     "Prints the TSSR title: its CCP and CCS, each "
			     "competence with the\nscenarios covering it "
			     "(\"jury\" when only the jury can evaluate it),\n"
			     "and the coverage total. --criteria also lists "
			     "performance criteria.");
			return TL_EXIT_OK;
		default:
			return TL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tssrlab referential: unexpected argument "
				"\"%s\"\n",
			argv[optind]);
		return TL_EXIT_USAGE;
	}
	tl_defs *defs = load_or_report(root ? root : tl_defs_default_root());
	if (!defs)
		return TL_EXIT_INVALID;
	json_t *j = tl_defs_referential_json(defs);
	if (json) {
		char *s = json_dumps(j, JSON_INDENT(2));
		puts(s);
		free(s);
	} else {
		json_t *t = json_object_get(j, "title");
		printf("%s — %s, niveau %s, NSF %s (%s)\n",
		       json_string_value(json_object_get(t, "label")),
		       json_string_value(json_object_get(t, "rncp")),
		       json_string_value(json_object_get(t, "level")),
		       json_string_value(json_object_get(t, "nsf")),
		       json_string_value(json_object_get(t, "version")));
		size_t bi;
		json_t *b;
		json_array_foreach(json_object_get(j, "blocks"), bi, b)
		{
			printf("\n%s %s — %s\n",
			       !strcmp(json_string_value(
					       json_object_get(b, "kind")),
				       "ccs")
				       ? "CCS"
				       : "CCP",
			       json_string_value(json_object_get(b, "id")),
			       json_string_value(json_object_get(b, "label")));
			size_t ci;
			json_t *cj;
			json_array_foreach(json_object_get(b, "competences"), ci,
					   cj)
			{
				const char *cov = json_string_value(
					json_object_get(cj, "coverage"));
				printf("  %-8s %s\n",
				       json_string_value(json_object_get(cj, "id")),
				       json_string_value(
					       json_object_get(cj, "label")));
				json_t *sc = json_object_get(cj, "scenarios");
				if (!strcmp(cov, "covered")) {
					printf("           covered by:");
					size_t si;
					json_t *sv;
					json_array_foreach(sc, si, sv)
						printf(" %s", json_string_value(sv));
					putchar('\n');
				} else if (!strcmp(cov, "jury")) {
					puts("           evaluated by the jury");
				} else {
					puts("           NOT COVERED by any "
					     "scenario");
				}
				if (criteria) {
					size_t ki;
					json_t *kj;
					json_array_foreach(
						json_object_get(cj, "criteria"),
						ki, kj)
						printf("           - %-10s %s%s\n",
						       json_string_value(
							       json_object_get(
								       kj, "id")),
						       json_string_value(
							       json_object_get(
								       kj,
								       "label")),
						       !strcmp(json_string_value(
								       json_object_get(
									       kj,
									       "evaluation")),
							       "jury")
							       ? " [jury]"
							       : "");
				}
			}
		}
		json_t *cv = json_object_get(j, "coverage");
		long long tot = json_integer_value(
			json_object_get(cv, "competences"));
		long long cov = json_integer_value(json_object_get(cv, "covered"));
		long long jury = json_integer_value(json_object_get(cv, "jury"));
		printf("\ncoverage: %lld/%lld competences covered by scenarios, "
		       "%lld evaluated by the jury, %lld not covered\n",
		       cov, tot, jury, tot - cov - jury);
	}
	json_decref(j);
	tl_defs_free(defs);
	return TL_EXIT_OK;
}

static const char *arg_type(tl_arg_type t)
{
	switch (t) {
	case TL_ARG_STRING:
		return "string";
	case TL_ARG_INT:
		return "integer";
	case TL_ARG_BOOL:
		return "boolean";
	case TL_ARG_STRLIST:
		return "list of strings";
	}
	return "?";
}

int tl_cli_kinds(int argc, char **argv)
{
	bool md = argc > 1 && !strcmp(argv[1], "--markdown");
	if (argc > 1 && !md) {
		puts("usage: tssrlab kinds [--markdown]\n\nLists the probe "
		     "kinds a scenario may use, with their arguments.");
		return strcmp(argv[1], "--help") ? TL_EXIT_USAGE : TL_EXIT_OK;
	}
	if (md)
		puts("# Probe kinds\n\nGenerated by `tssrlab kinds --markdown` "
		     "from orchestrator/defs/probekinds.c; do not edit.\n\n"
		     "Each probe yields a verdict (`ok`) and a `value`. "
		     "Without `expect`, the criterion trusts the verdict; with "
		     "`expect`, the matcher reads the value (or the field "
		     "named by `field`).\n");
	tl_probe_site last = (tl_probe_site)-1;
	for (const tl_probe_kind *k = tl_probe_kinds; k->name; k++) {
		if (md && k->site != last) {
			printf("\n## %s\n\n",
			       k->site == TL_SITE_LINUX ? "Linux guests (sh agent)"
			       : k->site == TL_SITE_WINDOWS
				       ? "Windows guests (PowerShell agent)"
				       : "Network side (orchestrator or another "
					 "lab machine)");
			last = k->site;
		}
		if (md) {
			printf("### `%s`\n\nVerdict: %s.  \nValue: %s.\n\n", k->name,
			       k->doc, k->value);
			for (size_t i = 0; i < TL_PROBE_MAX_ARGS && k->args[i].name;
			     i++)
				printf("- `%s` (%s%s%s%s): %s\n", k->args[i].name,
				       arg_type(k->args[i].type),
				       k->args[i].required ? ", required" : "",
				       k->args[i].choices ? ", one of " : "",
				       k->args[i].choices ? k->args[i].choices
							  : "",
				       k->args[i].doc);
			putchar('\n');
		} else {
			printf("%-20s %-8s %s (", k->name,
			       tl_probe_site_name(k->site), k->doc);
			for (size_t i = 0; i < TL_PROBE_MAX_ARGS && k->args[i].name;
			     i++)
				printf("%s%s%s", i ? ", " : "", k->args[i].name,
				       k->args[i].required ? "" : "?");
			puts(")");
		}
	}
	return TL_EXIT_OK;
}
