/*
 * http-internal.h: what http.c (the server: connections, bodies, auth,
 * routing) shares with routes.c (the handlers). A handler gets a parsed,
 * authenticated request whose role the route table already allowed, and
 * fills a response; it never touches libmicrohttpd except for the event
 * stream.
 */
#ifndef TL_HTTP_INTERNAL_H
#define TL_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "tssrlabd.h"

enum {
	TL_ROLE_ADMIN = 1,
	TL_ROLE_TRAINER = 2,
	TL_ROLE_EVALUATOR = 4,
	TL_ROLE_TRAINEE = 8,
	TL_ROLE_STAFF = TL_ROLE_ADMIN | TL_ROLE_TRAINER | TL_ROLE_EVALUATOR,
	TL_ROLE_ANY = TL_ROLE_STAFF | TL_ROLE_TRAINEE,
	TL_ROLE_PUBLIC = 16, /* no token needed */
};

#define TL_REQ_MAX_ARGS 4

typedef struct tl_req {
	tl_daemon *d;
	struct MHD_Connection *conn;
	const char *method;
	const char *arg[TL_REQ_MAX_ARGS]; /* the '*' segments of the route */
	json_t *body;	    /* validated body (POST/PUT), or NULL */
	tl_store_user user; /* who asks (authenticated routes) */
	int role;	    /* TL_ROLE_* of user */
} tl_req;

typedef struct tl_resp {
	int status;
	json_t *json; /* stolen */
	char *text;   /* or a text body (malloc'd), with ctype */
	size_t len;
	const char *ctype;
	struct MHD_Response *raw; /* or a ready response (event stream) */
	bool raw_headers; /* raw carries every header it needs (static files,
			     WebSocket upgrade) */
	/* called once the request is over, whatever happened (the console
	 * closes a display socket that was never handed over) */
	void (*on_end)(void *cls);
	void *on_end_cls;
} tl_resp;

typedef void (*tl_handler)(tl_req *r, tl_resp *out);

typedef struct tl_route {
	const char *method;
	const char *pattern; /* after /api/v1/, '*' matches one segment */
	int roles;
	const tl_api_schema *schema; /* body schema (POST/PUT) or NULL */
	tl_handler fn;
	const char *doc;
	/* the token may also come as ?access_token= (EventSource and
	 * WebSocket cannot send an Authorization header) */
	bool query_token;
} tl_route;

extern const tl_route tl_routes[];

/* Response helpers. */
void tl_resp_json(tl_resp *out, int status, json_t *j);
void tl_resp_error(tl_resp *out, int status, const char *field, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
/* Maps a store status to 404/409/507/500 with err's message. */
void tl_resp_store(tl_resp *out, int rc, const tl_error *err);
/* A query-string argument, or NULL. */
const char *tl_req_query(tl_req *r, const char *key);

/* GET .../machines/{m}/console: the WebSocket to a machine's screen
 * (console.c). */
void tl_console_handler(tl_req *r, tl_resp *out);
/* Serves a file of the web interface for a URL outside the API (web.c):
 * fills out and returns true, or returns false when there is no web
 * interface to serve (no web root): the caller answers 404. */
bool tl_web_serve(tl_daemon *d, struct MHD_Connection *conn, const char *url,
		  const char *method, tl_resp *out);

#endif
