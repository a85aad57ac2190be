/*
 * jobs.c: the job table. A job is written (state "queued") before anything
 * is done for it, marked "running" with an attempt counted when a worker
 * takes it, and ended "done", "failed" or "rolled_back". At start-up the
 * daemon reads the jobs still "running": they were cut by a crash, and are
 * resumed or rolled back (orchestrator/api/jobs.c decides which).
 */
#include <time.h>

#include "store-internal.h"

int tl_store_job_add(tl_store *st, const char *kind, const char *session,
		     int64_t instance, const char *target, int64_t *ret_id,
		     tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_exec(
	    st, NULL, err,
	    "INSERT INTO jobs (kind, session, instance, target, "
	    "created_at) VALUES (?,?,nullif(?,0),?,?)",
	    "ttiti", kind, session, instance, target, (int64_t)time(NULL));
	if (rc == 0 && ret_id)
		*ret_id = (int64_t)sqlite3_last_insert_rowid(st->db);
	tl_store_unlock(st);
	return rc;
}

int tl_store_job_claim(tl_store *st, json_t **ret, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_row(
	    st, ret, err,
	    "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
	    "started_at = ? WHERE id = (SELECT id FROM jobs q WHERE q.state = "
	    "'queued' AND (q.instance IS NULL OR q.instance NOT IN (SELECT "
	    "r.instance FROM jobs r WHERE r.state = 'running' AND "
	    "r.instance IS NOT NULL)) ORDER BY q.id LIMIT 1) RETURNING id, "
	    "kind, session, "
	    "instance, target, attempts",
	    "i", (int64_t)time(NULL));
	tl_store_unlock(st);
	return rc;
}

int tl_store_job_finish(tl_store *st, int64_t id, const char *state,
			const char *error, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_exec(st, NULL, err,
			       "UPDATE jobs SET state = ?, error = ?, "
			       "finished_at = ? WHERE id = ?",
			       "ttii", state, error, (int64_t)time(NULL), id);
	tl_store_unlock(st);
	return rc;
}

int tl_store_jobs_cancel(tl_store *st, const char *session,
			 const char *why, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_exec(st, NULL, err,
			       "UPDATE jobs SET state = 'failed', error = ?, "
			       "finished_at = ? WHERE session = ? AND state = "
			       "'queued'",
			       "tit", why, (int64_t)time(NULL), session);
	tl_store_unlock(st);
	return rc;
}

int tl_store_job_requeue(tl_store *st, int64_t id, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_exec(st, NULL, err,
			       "UPDATE jobs SET state = 'queued', started_at = "
			       "NULL WHERE id = ?",
			       "i", id);
	tl_store_unlock(st);
	return rc;
}

int tl_store_jobs_in_state(tl_store *st, const char *state, json_t **ret,
			   tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_rows(st, ret, err,
			       "SELECT id, kind, session, instance, target, "
			       "attempts, created_at, started_at FROM jobs "
			       "WHERE state = ? ORDER BY id",
			       "t", state);
	tl_store_unlock(st);
	return rc;
}

int tl_store_job_get(tl_store *st, int64_t id, json_t **ret, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_row(st, ret, err,
			      "SELECT id, kind, session, instance, target, "
			      "state, attempts, error, created_at, started_at, "
			      "finished_at FROM jobs WHERE id = ?",
			      "i", id);
	tl_store_unlock(st);
	return rc;
}

int tl_store_jobs_pending(tl_store *st, const char *session, int64_t instance,
			  const char *kind, int64_t *ret, tl_error *err)
{
	json_t *row = NULL;
	tl_store_lock(st);
	int rc = tl_store_row(st, &row, err,
			      "SELECT count(*) AS n FROM jobs WHERE session = "
			      "? AND state IN ('queued','running') AND (? = 0 "
			      "OR instance = ?) AND (? IS NULL OR kind = ?)",
			      "tiitt", session, instance, instance, kind, kind);
	tl_store_unlock(st);
	if (rc == 0)
		*ret = json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return rc;
}
