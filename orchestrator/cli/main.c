/*
 * main.c: `tssrlab`, the command trainers, evaluators and scripts use.
 * Dispatches to one subcommand; see cli.h for the exit statuses.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tssrlab/defs.h"

#ifndef TL_VERSION
#define TL_VERSION "0"
#endif


static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{"validate", tl_cli_validate,
	 "check the referential, images, labs and scenarios"},
	{"referential", tl_cli_referential,
	 "show the TSSR title, its competences and their coverage"},
	{"kinds", tl_cli_kinds, "list the probe kinds scenarios may use"},
	{"demo", tl_cli_demo, "run the demo session (see README)"},
	{"session", tl_cli_session,
	 "create, list, show, grade and end sessions (tssrlabd)"},
	{"report", tl_cli_report,
	 "the grid, one trainee's report, manual scores, freeze"},
	{"trainee", tl_cli_trainee, "a trainee's login token"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tssrlab COMMAND [ARGS...]\n\n"
		   "tssrlab runs practical sessions of the TSSR title: labs "
		   "per trainee,\ngraded criterion by criterion against the "
		   "referential.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`tssrlab COMMAND --help` describes a command.\n"
		   "Exit status: 0 success, 1 invalid definitions or input, "
		   "2 usage error,\n3 the operation failed.\n"
		   "Definitions are read from %s\n(set TSSRLAB_DATADIR or "
		   "--root to change it).\n",
		tl_defs_default_root());
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return TL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return TL_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("tssrlab %s\n", TL_VERSION);
		return TL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "tssrlab: unknown command \"%s\" (try tssrlab --help)\n",
		argv[1]);
	return TL_EXIT_USAGE;
}
