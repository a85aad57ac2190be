/*
 * tssrlabd-check.c: the daemon as built without SQLite or libmicrohttpd:
 * it can only check its definitions (`tssrlabd -n`). The real entry point
 * is tssrlabd.c; install libsqlite3-dev and libmicrohttpd-dev to build it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tssrlab/defs.h"

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
		default:
			fputs("usage: tssrlabd -n [-D DATADIR]\n", stderr);
			return 2;
		}
	}
	tl_diags diags = {0};
	tl_defs *defs =
	    tl_defs_load(root ? root : tl_defs_default_root(), NULL, 0, &diags);
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
	fputs("tssrlabd: built without SQLite/libmicrohttpd: only -n works\n",
	      stderr);
	return 3;
}
