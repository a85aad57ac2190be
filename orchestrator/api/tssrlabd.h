/*
 * tssrlabd.h: the daemon's own structures, shared by the files of
 * orchestrator/api/ and by nothing else (relayd.h's idea: one header that
 * declares the whole daemon). The daemon is one process: a libmicrohttpd
 * server (http.c, routes_*.c) in front, a fixed pool of job workers
 * (jobs.c) behind, the store (SQLite) as the one source of truth between
 * them, and an event hub (events.c) that streams progress to SSE clients.
 */
#ifndef TL_TSSRLABD_H
#define TL_TSSRLABD_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "tssrlab/api.h"
#include "tssrlab/daemon.h"
#include "tssrlab/defs.h"
#include "tssrlab/grade.h"
#include "tssrlab/store.h"

/* Loaded definitions, shared by requests and jobs; replaced whole by a
 * reload (SIGHUP) and freed when the last user lets go. */
typedef struct tl_defs_ref {
	tl_defs *defs;
	int refs; /* guarded by tl_daemon.defs_lock */
} tl_defs_ref;

typedef struct tl_events tl_events;
typedef struct tl_consoles tl_consoles;

/* A rendered session grid, valid while the store's generation and the
 * definitions are those it was rendered with (a class refreshing the
 * grid costs one rendering per change, not one per request). */
typedef struct tl_grid_cache {
	char session[64];
	bool csv;
	uint64_t generation;
	const tl_defs *defs;
	char *body; /* owned */
	size_t len;
} tl_grid_cache;
#define TL_GRID_CACHE 16

typedef struct tl_daemon {
	tl_config cfg;
	tl_store *store;
	tl_backend *backend;

	pthread_mutex_t defs_lock;
	tl_defs_ref *defs; /* guarded by defs_lock */

	/* jobs: workers sleep on jobs_cond; jobs_lock guards stopping */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	bool stopping;
	pthread_t *workers;
	int n_workers;
	pthread_t ticker;
	bool ticker_started;

	tl_events *events;
	tl_consoles *consoles;	   /* browser consoles (console.c) */
	pthread_mutex_t grid_lock; /* guards grid and grid_next */
	tl_grid_cache grid[TL_GRID_CACHE];
	unsigned grid_next;
	struct MHD_Daemon *mhd;
	int port; /* the bound port */

	/* metrics, updated atomically */
	atomic_long http_requests;
	atomic_long http_4xx;
	atomic_long http_5xx;
	atomic_long jobs_done;
	atomic_long jobs_failed;
	atomic_long store_full;
	atomic_int jobs_running;
	int64_t started;
} tl_daemon;

/* ---- definitions (defs_ref.c) ---- */
/* Takes a reference to the current definitions (release when done). */
tl_defs_ref *tl_daemon_defs_get(tl_daemon *d);
void tl_daemon_defs_put(tl_daemon *d, tl_defs_ref *ref);
/* Loads and validates definitions from cfg.definitions; on success swaps
 * them in, else keeps the old ones. Returns 0 or -1 with err (every
 * diagnostic, one per line). */
int tl_daemon_defs_reload(tl_daemon *d, tl_error *err);

/* ---- jobs (jobs.c) ---- */
int tl_jobs_start(tl_daemon *d, tl_error *err);
void tl_jobs_stop(tl_daemon *d);
/* Crash recovery: rolls back or resumes the jobs a crash cut, then lets
 * the backend reconcile what exists with the store. */
int tl_jobs_recover(tl_daemon *d, tl_error *err);
/* Wakes a worker: a job was queued. */
void tl_jobs_kick(tl_daemon *d);
/* Ends a session now: final grading of every ready instance, then its
 * machines are stopped. */
int tl_jobs_end_session(tl_daemon *d, const char *session, const char *actor,
			tl_error *err);
/* Queues one job and wakes a worker. */
int tl_jobs_queue(tl_daemon *d, const char *kind, const char *session,
		  int64_t instance, const char *target, int64_t *ret_id,
		  tl_error *err);

/* ---- grading views (grader.c) ---- */
/* From a run's stored criteria back to probe results in scenario order
 * (n = tl_probe_scenario_count): what was measured is kept, the score is
 * derived again. Returns a new array (tl_probe_results_free). */
tl_probe_result *tl_grader_results_from_run(const tl_scenario *s,
					    const json_t *criteria,
					    size_t *ret_n);
/* Manual scores rows (store) as tl_manual_score (borrowing the rows). */
tl_manual_score *tl_grader_manual(const json_t *rows, size_t *ret_n);
/* The grade of a run as the API shows it: stored values when frozen,
 * else recomputed from its evidence and the current manual scores.
 * Returns a new object: run fields + "criteria", "tasks",
 * "competences", "blocks", "total". */
json_t *tl_grader_view(const tl_scenario *s, const json_t *run,
		       const json_t *manual_rows);
/* Limits a view to what the scenario lets a trainee see in a self-check:
 * hidden criteria dropped, hints only for "hint", evidence only for
 * "evidence". Modifies view in place. */
void tl_grader_trainee_filter(const tl_scenario *s, json_t *view);

/* ---- events (events.c) ---- */
tl_events *tl_events_new(void);
/* Ends every stream (before the HTTP server stops). */
void tl_events_close(tl_events *ev);
void tl_events_free(tl_events *ev);
/* Sends an event to every subscriber of session (and, for a trainee's
 * stream, only when it is about their instance: instance 0 = everyone
 * of the session). data is stolen. */
void tl_events_publish(tl_events *ev, const char *session, int64_t instance,
		       const char *type, json_t *data);
size_t tl_events_clients(tl_events *ev);
/* Sends a comment line to every subscriber: keeps proxies from closing
 * idle streams and lets a vanished client be noticed. */
void tl_events_heartbeat(tl_events *ev);

/* ---- consoles: WebSocket to a machine's VNC display (console.c) ---- */
tl_consoles *tl_consoles_new(void);
/* Ends every console bridge and waits (5 s at most) for them: before
 * the HTTP server stops. */
void tl_consoles_close(tl_consoles *h);
void tl_consoles_free(tl_consoles *h);
size_t tl_consoles_count(tl_consoles *h);

enum {
	TL_WS_CONT = 0x0,
	TL_WS_TEXT = 0x1,
	TL_WS_BINARY = 0x2,
	TL_WS_CLOSE = 0x8,
	TL_WS_PING = 0x9,
	TL_WS_PONG = 0xa,
};
typedef struct tl_ws_frame {
	bool fin;
	int opcode; /* TL_WS_* */
	size_t header_len, payload_len;
} tl_ws_frame;
/* One client-to-server WebSocket frame at the start of buf[0..len).
 * Returns its whole size once complete (its payload, at
 * buf + header_len, unmasked in place), 0 when more bytes are needed, -1
 * when it breaks RFC 6455 for a client frame: not masked, reserved bits,
 * unknown opcode, a control frame fragmented or over 125 bytes, a
 * payload over max_payload. */
ssize_t tl_ws_frame_parse(uint8_t *buf, size_t len, size_t max_payload,
			  tl_ws_frame *ret);
/* A server frame's header (FIN set, unmasked) into out; its size. */
size_t tl_ws_frame_header(uint8_t out[10], int opcode, size_t len);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (24 base64 characters):
 * base64(SHA-1(key + GUID)) in ret. -1 when the key is malformed. */
int tl_ws_accept_key(const char *key, char ret[29]);

/* ---- web interface: static files (web.c) ---- */
/* The folder the web interface is served from: cfg.web_root, else the
 * build's web/site when this binary runs from its build folder, else the
 * installed data dir's. Static string or cfg's. */
const char *tl_web_root(const tl_config *cfg);

/* ---- HTTP (http.c) ---- */
int tl_http_start(tl_daemon *d, tl_error *err);
void tl_http_stop(tl_daemon *d);

/* ---- auth (auth.c) ---- */
/* A new random token ("tlk_" + 48 hex digits) in ret (>= 64 bytes). */
int tl_auth_token_new(char *ret, size_t cap, tl_error *err);
/* The hex SHA-256 of a token into ret (65 bytes). */
int tl_auth_token_hash(const char *token, char ret[65], tl_error *err);
/* Creates a token for a user; the token is written to ret. */
int tl_auth_issue(tl_daemon *d, const char *name, const char *role,
		  const char *session, const char *trainee, char *ret,
		  size_t cap, tl_error *err);
/* First start: when no admin exists, creates one and writes its token to
 * cfg.admin_token_file (mode 0600). Sets *ret_created. */
int tl_auth_bootstrap(tl_daemon *d, bool *ret_created, tl_error *err);

#endif
