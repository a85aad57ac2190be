/*
 * tssrlabd.c: the daemon's entry point. In this build it validates its
 * definitions (`tssrlabd -n`, after relayd's -n); the service loop (store,
 * API, jobs) is the daemon issue's work and is not wired in yet.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tssrlab/defs.h"

static void usage(FILE *f)
{
	fputs("usage: tssrlabd [-n] [-D DATADIR]\n"
	      "  -n          check the definitions and exit (\"configuration OK\")\n"
	      "  -D DATADIR  definitions folder (default: $TSSRLAB_DATADIR, the\n"
	      "              source tree when run from a build, else the\n"
	      "              installed data dir)\n",
	      f);
}

int main(int argc, char **argv)
{
	bool check = false;
	const char *root = NULL;
	int c;
	while ((c = getopt(argc, argv, "nD:h")) != -1) {
		switch (c) {
		case 'n':
			check = true;
			break;
		case 'D':
			root = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!root)
		root = tl_defs_default_root();
	tl_diags diags = {0};
	tl_defs *defs = tl_defs_load(root, NULL, 0, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		char *line = tl_diag_format(&diags.items[i]);
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	tl_diags_clear(&diags);
	if (!defs)
		return 1;
	tl_defs_free(defs);
	if (check) {
		puts("configuration OK");
		return 0;
	}
	fputs("tssrlabd: the service loop is not part of this build yet; only "
	      "-n is available\n",
	      stderr);
	return 3;
}
