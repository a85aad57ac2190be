/*
 * store.h: the daemon's state in one SQLite file — the only module that
 * includes sqlite3.h (orchestrator/store/).
 *
 * What lives here: sessions and their trainees, one instance per trainee,
 * the machines of an instance (access, pinned host key, trainee password),
 * jobs (recorded before they start, so that a restart finds what was under
 * way), grading runs with one criterion result each (evidence as JSON),
 * manual scores of jury criteria, users with hashed tokens, and an
 * append-only audit log (a trigger refuses UPDATE and DELETE on it, and
 * others refuse any change to a frozen grading run or its results).
 *
 * The file is opened in WAL mode with a busy timeout; the schema is
 * versioned (table schema_version) and brought up to date at open by an
 * ordered array of migrations, each applied in one transaction. Every
 * query is prepared with bound parameters.
 *
 * Threads: one connection guarded by one recursive mutex; every function
 * is safe to call from any thread. tl_store_tx_begin/commit hold the mutex
 * across several calls so that they form one transaction.
 *
 * Errors: functions return 0 or a negative tl_store_status and fill err.
 * A full disk (SQLITE_FULL) gives TL_STORE_FULL with a message that says
 * so; the failed transaction is rolled back and the file stays consistent.
 *
 * Reads hand their rows back as jansson objects: every json_t ** out
 * parameter receives a NEW reference the caller owns (json_decref).
 * Times are Unix seconds.
 */
#ifndef TSSRLAB_STORE_H
#define TSSRLAB_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "tssrlab/base.h"

typedef struct tl_store tl_store;

typedef enum {
	TL_STORE_OK = 0,
	TL_STORE_ERR = -1,	/* any other failure (err says which) */
	TL_STORE_FULL = -2,	/* the disk or max_page_count is full */
	TL_STORE_CONFLICT = -3, /* a constraint: duplicate id, frozen run */
	TL_STORE_NOTFOUND = -4, /* no such row */
} tl_store_status;

typedef struct tl_store_opts {
	int busy_timeout_ms; /* 0: 5000 */
	/* >0: PRAGMA max_page_count, a hard ceiling on the file's size (a
	 * way to simulate a full disk where tmpfs cannot be mounted). */
	long max_pages;
} tl_store_opts;

/* Opens (creating when missing) the database at path, switches it to WAL
 * and applies pending migrations. opts may be NULL. Returns NULL with err
 * set on failure. The caller owns the store (tl_store_close). */
tl_store *tl_store_open(const char *path, const tl_store_opts *opts,
			tl_error *err);
void tl_store_close(tl_store *st);
TL_DEFINE_FREEP(tl_store, tl_store_close)

/* The schema version the file is at after open. */
int tl_store_schema_version(tl_store *st);
/* A counter that changes whenever this store writes anything: a view
 * computed at generation g is still current while the generation is g
 * (the API caches the session grid on it). */
uint64_t tl_store_generation(tl_store *st);
/* The number of migrations this build knows (the latest version). */
int tl_store_schema_latest(void);

/* Holds the store's lock and opens a write transaction (BEGIN IMMEDIATE)
 * until commit or rollback; calls in between are part of it. */
int tl_store_tx_begin(tl_store *st, tl_error *err);
int tl_store_tx_commit(tl_store *st, tl_error *err);
void tl_store_tx_rollback(tl_store *st);

/* ---- sessions, trainees, instances ---- */

typedef struct tl_store_trainee {
	const char *slug; /* [a-z0-9][a-z0-9-]* */
	const char *name; /* display name */
} tl_store_trainee;

/* Creates a session, its trainees and one instance per trainee (state
 * "pending"), and queues one "provision" job per instance — all in one
 * transaction. TL_STORE_CONFLICT when the id exists. */
int tl_store_session_create(tl_store *st, const char *id, const char *scenario,
			    int64_t window_start, int64_t window_end,
			    const char *created_by,
			    const tl_store_trainee *trainees, size_t n,
			    tl_error *err);
/* One session: id, scenario, state, created_by, created_at,
 * window_start, window_end, frozen, and instances (an array, each as
 * tl_store_instance_get gives it, without machines' passwords). */
int tl_store_session_get(tl_store *st, const char *id, json_t **ret,
			 tl_error *err);
/* One session's own fields, without its instances (cheap). */
int tl_store_session_row(tl_store *st, const char *id, json_t **ret,
			 tl_error *err);
/* Every session (without instances), newest first. */
int tl_store_session_list(tl_store *st, json_t **ret, tl_error *err);
/* Sets a session's state; "active" | "ending" | "ended" | "destroying" |
 * "destroyed". */
int tl_store_session_set_state(tl_store *st, const char *id, const char *state,
			       tl_error *err);
int tl_store_session_set_window_end(tl_store *st, const char *id,
				    int64_t window_end, tl_error *err);
/* Ids of sessions in state "active" whose window ended at or before now
 * (a new array of strings). */
int tl_store_sessions_expired(tl_store *st, int64_t now, json_t **ret,
			      tl_error *err);
/* Marks a session frozen and, in the same transaction, freezes for each
 * instance its latest "final" run (or its latest run when none is final)
 * after rewriting its criterion results and score from scores (an object
 * run id (string) -> {"score", "max", "totals", "criteria": [...]}, may be
 * NULL).
 * TL_STORE_CONFLICT when already frozen. */
int tl_store_session_freeze(tl_store *st, const char *id, const json_t *scores,
			    tl_error *err);

/* One instance by session and trainee slug: id, session, trainee, name,
 * state, error, host, scenario, session_state, runs (count of non-self
 * grading runs), machines (array: machine, access_host, access_port,
 * host_key_fp, user, password, state). */
int tl_store_instance_get(tl_store *st, const char *session,
			  const char *trainee, json_t **ret, tl_error *err);
int tl_store_instance_by_id(tl_store *st, int64_t id, json_t **ret,
			    tl_error *err);
/* Sets state ("pending" | "provisioning" | "ready" | "failed" |
 * "stopped" | "destroyed") and error (may be NULL). */
int tl_store_instance_set_state(tl_store *st, int64_t id, const char *state,
				const char *error, tl_error *err);
int tl_store_instance_set_host(tl_store *st, int64_t id, const char *host,
			       tl_error *err);
/* Replaces the machines of an instance with machines (array of objects
 * with the keys tl_store_instance_get lists). */
int tl_store_machines_put(tl_store *st, int64_t instance,
			  const json_t *machines, tl_error *err);
int tl_store_machines_delete(tl_store *st, int64_t instance, tl_error *err);
/* The instances that exist whole on a hypervisor ("ready" or "stopped"),
 * as an array of {id, session, trainee, scenario, machines}. */
int tl_store_instances_live(tl_store *st, json_t **ret, tl_error *err);

/* ---- jobs ---- */

/* Queues a job (state "queued"); instance may be 0 and target NULL.
 * ret_id may be NULL. */
int tl_store_job_add(tl_store *st, const char *kind, const char *session,
		     int64_t instance, const char *target, int64_t *ret_id,
		     tl_error *err);
/* Takes the oldest queued job whose instance has no job running (jobs of
 * one instance run one at a time, in order): marks it "running", counts an
 * attempt, stamps started_at, and returns it (id, kind, session, instance,
 * target, attempts). TL_STORE_NOTFOUND when none is queued. */
int tl_store_job_claim(tl_store *st, json_t **ret, tl_error *err);
/* Ends a job: "done" | "failed" | "rolled_back", with error (may be NULL). */
int tl_store_job_finish(tl_store *st, int64_t id, const char *state,
			const char *error, tl_error *err);
/* Ends every queued job of a session as "failed" with why (a session
 * being destroyed provisions and grades nothing more). */
int tl_store_jobs_cancel(tl_store *st, const char *session, const char *why,
			 tl_error *err);
/* Puts a job back in the queue (resume after a restart). */
int tl_store_job_requeue(tl_store *st, int64_t id, tl_error *err);
/* Jobs in a state ("running", "queued"), oldest first. */
int tl_store_jobs_in_state(tl_store *st, const char *state, json_t **ret,
			   tl_error *err);
/* One job as a row (id, kind, session, instance, target, state,
 * attempts, error, created_at, started_at, finished_at);
 * TL_STORE_NOTFOUND when there is none. */
int tl_store_job_get(tl_store *st, int64_t id, json_t **ret, tl_error *err);
/* Number of jobs of a session not yet finished (queued or running),
 * optionally of one instance (0: any) and of one kind (NULL: any). */
int tl_store_jobs_pending(tl_store *st, const char *session, int64_t instance,
			  const char *kind, int64_t *ret, tl_error *err);

/* ---- grading ---- */

/* Stores a finished grading run and its criterion results in one
 * transaction, and when job > 0 marks that job "done" in it too, so a
 * run is never stored twice nor lost. kind: "self" | "trainer" | "final".
 * totals: any JSON (per task, competence, block), may be NULL.
 * criteria: array of {criterion, state, score, evidence (any JSON)}. */
int tl_store_run_put(tl_store *st, int64_t instance, const char *kind,
		     int64_t job, int64_t started, int64_t finished,
		     double score, double max, const json_t *totals,
		     const json_t *criteria, int64_t *ret_id, tl_error *err);
/* The latest run of an instance, of one kind (NULL: any kind), with its
 * criteria (evidence included): id, instance, kind, started, finished,
 * score, max, frozen, totals, criteria. NOTFOUND when there is none. */
int tl_store_run_latest(tl_store *st, int64_t instance, const char *kind,
			json_t **ret, tl_error *err);
/* The run to report for an instance: the frozen one, else the latest
 * final run, else the latest run. NOTFOUND when there is none. */
int tl_store_run_report(tl_store *st, int64_t instance, json_t **ret,
			tl_error *err);
/* Every run of an instance, newest first, without criteria; kind may be
 * NULL (any). */
int tl_store_run_history(tl_store *st, int64_t instance, const char *kind,
			 json_t **ret, tl_error *err);
/* The session's grid: one row per instance (trainee, name, instance,
 * state, and run: the report run with criteria {criterion: {state, score}}
 * without evidence, or null). */
int tl_store_session_grid(tl_store *st, const char *session, json_t **ret,
			  tl_error *err);

/* A manual score for a jury criterion (replaces an earlier one);
 * TL_STORE_CONFLICT once the session is frozen. */
int tl_store_manual_put(tl_store *st, int64_t instance, const char *criterion,
			double fraction, const char *comment, const char *by,
			tl_error *err);
/* Manual scores of an instance: array of {criterion, fraction, comment,
 * by, at}. */
int tl_store_manual_list(tl_store *st, int64_t instance, json_t **ret,
			 tl_error *err);

/* ---- users, tokens, audit ---- */

typedef struct tl_store_user {
	int64_t id;
	char name[128];
	char role[16];	  /* "admin" | "trainer" | "evaluator" | "trainee" */
	char session[64]; /* trainee only, else empty */
	char trainee[64]; /* trainee only, else empty */
} tl_store_user;

/* Creates a user (or finds the one of that name and role) and gives it a
 * new token, stored as token_hash (hex SHA-256; the token itself is never
 * stored). */
int tl_store_token_add(tl_store *st, const char *name, const char *role,
		       const char *session, const char *trainee,
		       const char *token_hash, tl_error *err);
/* The user a token hash belongs to (NOTFOUND when unknown or revoked). */
int tl_store_token_lookup(tl_store *st, const char *token_hash,
			  tl_store_user *ret, tl_error *err);
/* Revokes every token of a trainee of a session (before a new one). */
int tl_store_token_revoke_trainee(tl_store *st, const char *session,
				  const char *trainee, tl_error *err);
/* Number of users with a role. */
int tl_store_user_count(tl_store *st, const char *role, int64_t *ret,
			tl_error *err);

/* Appends to the audit log (actor, action, target, detail may be NULL). */
int tl_store_audit(tl_store *st, const char *actor, const char *action,
		   const char *target, const char *detail, tl_error *err);
/* The last limit audit entries, newest first. */
int tl_store_audit_list(tl_store *st, int limit, json_t **ret, tl_error *err);

/* Counts for /metrics: sessions by state, instances by state, jobs by
 * state, runs, as {"sessions": {state: n}, ...}. */
int tl_store_counts(tl_store *st, json_t **ret, tl_error *err);

#endif
