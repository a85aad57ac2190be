/*
 * client.h: what the API client commands of `tssrlab` share (session.c,
 * report.c, trainee.c): where the daemon is and with which token, one
 * request helper over libcurl, how an answer maps to an exit status, and
 * small output helpers (tables, a progress bar on a terminal).
 */
#ifndef TSSRLAB_CLI_CLIENT_H
#define TSSRLAB_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "tssrlab/base.h"

#define TL_CLIENT_DEFAULT_SERVER "http://127.0.0.1:8640"

typedef struct tl_client {
	char server[512]; /* --server, $TSSRLAB_SERVER, or the default */
	char token[256];  /* --token or $TSSRLAB_TOKEN (may be empty) */
	char cacert[512]; /* --cacert or $TSSRLAB_CACERT: the daemon's CA
			     (https with a self-signed certificate) */
	bool json;	  /* --json: print the API's JSON */
	const char *prog; /* "tssrlab session" (messages) */
} tl_client;

/* Fills c from the environment. */
void tl_client_init(tl_client *c, const char *prog);
/* Handles --server, --token, --cacert and --json at argv[*i] (with a value
 * after the first two); returns 1 when it took the option, 0 when it is not one
 * of them, -1 on a missing value. */
int tl_client_option(tl_client *c, int argc, char **argv, int *i);

/* One request to /api/v1 + path. body (may be NULL) is sent as JSON. On
 * success (2xx) returns 0 and *ret the answer (a new reference; a JSON
 * string for a non-JSON body such as CSV). Otherwise prints the server's
 * error (with the field at fault) and returns the exit status: 1 for a
 * request the server refused as invalid (400, 404, 409, 413, 422, 429),
 * 3 for anything else (cannot connect, 401, 403, 5xx). */
int tl_client_call(tl_client *c, const char *method, const char *path,
		   const json_t *body, json_t **ret);

/* The string member k of o, or "-" when o has none. */
const char *tl_client_str(const json_t *o, const char *k);

/* Is stderr a terminal (progress bars go there)? */
bool tl_client_tty(void);
/* Draws "label [#####.....] done/total" in place on stderr. */
void tl_client_progress(const char *label, long done, long total);
/* Ends a progress line. */
void tl_client_progress_end(void);
/* Prints a JSON value indented on stdout. */
void tl_client_print_json(const json_t *j);
/* A time as "YYYY-MM-DD HH:MM" (local), in ret (>= 20 bytes). */
void tl_client_time(long long t, char *ret, size_t cap);

#endif
