/*
 * trainee.c: `tssrlab trainee token SESSION TRAINEE`, a trainer hands a
 * trainee their login: a new token (the old one stops working), printed
 * once — the daemon keeps only its hash.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"

int tl_cli_trainee(int argc, char **argv)
{
	tl_client c;
	tl_client_init(&c, "tssrlab trainee token");
	const char *pos[3];
	int n = 0;
	for (int i = 1; i < argc; i++) {
		int r = tl_client_option(&c, argc, argv, &i);
		if (r < 0)
			return TL_EXIT_USAGE;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			puts("usage: tssrlab trainee token SESSION TRAINEE "
			     "[--json]\n\nPrints a new token for the trainee "
			     "(the previous one is revoked).\noptions: "
			     "--server URL, --token TOKEN (or TSSRLAB_SERVER, "
			     "TSSRLAB_TOKEN)");
			return TL_EXIT_OK;
		}
		if (n == 3 || argv[i][0] == '-') {
			fprintf(stderr, "usage: tssrlab trainee token SESSION "
					"TRAINEE [--json]\n");
			return TL_EXIT_USAGE;
		}
		pos[n++] = argv[i];
	}
	if (n != 3 || strcmp(pos[0], "token")) {
		fprintf(
		    stderr,
		    "usage: tssrlab trainee token SESSION TRAINEE [--json]\n");
		return TL_EXIT_USAGE;
	}
	char path[512];
	snprintf(path, sizeof path, "/sessions/%s/trainees/%s/token", pos[1],
		 pos[2]);
	json_t *r = NULL;
	int rc = tl_client_call(&c, "POST", path, NULL, &r);
	if (!rc) {
		if (c.json)
			tl_client_print_json(r);
		else
			printf("%s\n",
			       json_string_value(json_object_get(r, "token")));
	}
	json_decref(r);
	return rc;
}
