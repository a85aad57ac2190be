/*
 * cli.h: the subcommands of `tssrlab`. Local commands (validate,
 * referential, kinds) read definitions directly; the others are clients of
 * tssrlabd's HTTP API. Each returns the process exit status.
 */
#ifndef TSSRLAB_CLI_H
#define TSSRLAB_CLI_H

/* Exit statuses scripts can rely on (documented in --help). */
enum {
	TL_EXIT_OK = 0,
	TL_EXIT_INVALID = 1, /* definitions or input rejected */
	TL_EXIT_USAGE = 2,   /* bad command line */
	TL_EXIT_FAILURE = 3, /* the operation failed (daemon, libvirt...) */
};

int tl_cli_validate(int argc, char **argv);
int tl_cli_referential(int argc, char **argv);
int tl_cli_kinds(int argc, char **argv);
int tl_cli_demo(int argc, char **argv);
/* Clients of tssrlabd's API (client.c, session.c, report.c, trainee.c). */
int tl_cli_session(int argc, char **argv);
int tl_cli_report(int argc, char **argv);
int tl_cli_trainee(int argc, char **argv);

#endif
