/*
 * grading.c: grading runs and their criterion results, manual scores,
 * and the session grid. A run is stored whole, with its results and the
 * end of the job that produced it, in one transaction: a run is never half
 * written, and a grading job cut by a crash and run again cannot store a
 * second copy (jobs are unique per run). Triggers (schema.c) refuse any
 * change to a frozen run.
 */
#include <stdio.h>
#include <time.h>

#include "store-internal.h"

int tl_store_run_put(tl_store *st, int64_t instance, const char *kind,
		     int64_t job, int64_t started, int64_t finished,
		     double score, double max, const json_t *totals,
		     const json_t *criteria, int64_t *ret_id, tl_error *err)
{
	tl_store_lock(st);
	bool own;
	int rc = tl_store_own_begin(st, &own, err);
	if (rc < 0)
		goto out;
	rc = tl_store_exec(st, NULL, err,
			   "INSERT INTO grading_runs (instance, kind, job, "
			   "started, finished, score, max, totals) VALUES "
			   "(?,?,nullif(?,0),?,?,?,?,?)",
			   "itiiiddj", instance, kind, job, started, finished,
			   score, max, totals);
	int64_t run = (int64_t)sqlite3_last_insert_rowid(st->db);
	size_t i;
	json_t *c;
	json_array_foreach (criteria, i, c) {
		if (rc < 0)
			break;
		rc = tl_store_exec(
		    st, NULL, err,
		    "INSERT INTO criterion_results (run, criterion, state, "
		    "score, evidence) VALUES (?,?,?,?,?)",
		    "ittdj", run,
		    json_string_value(json_object_get(c, "criterion")),
		    json_string_value(json_object_get(c, "state")),
		    json_number_value(json_object_get(c, "score")),
		    json_object_get(c, "evidence"));
	}
	if (rc == 0 && job > 0)
		rc = tl_store_exec(st, NULL, err,
				   "UPDATE jobs SET state = 'done', "
				   "finished_at = ? WHERE id = ?",
				   "ii", (int64_t)time(NULL), job);
	rc = tl_store_own_end(st, own, rc, err);
	if (rc == 0 && ret_id)
		*ret_id = run;
out:
	tl_store_unlock(st);
	return rc;
}

#define RUN_COLS                                                               \
	"id, instance, kind, started, finished, score, max, frozen, totals "   \
	"AS "                                                                  \
	"totals_json "

static int with_criteria(tl_store *st, json_t *run, bool evidence,
			 tl_error *err)
{
	json_t *c = NULL;
	int rc = tl_store_rows(
	    st, &c, err,
	    evidence ? "SELECT criterion, state, score, evidence AS "
		       "evidence_json FROM criterion_results WHERE run = ? "
		       "ORDER BY rowid"
		     : "SELECT criterion, state, score FROM "
		       "criterion_results WHERE run = ? ORDER BY rowid",
	    "i", json_integer_value(json_object_get(run, "id")));
	if (rc < 0)
		return rc;
	json_object_set_new(run, "criteria", c);
	json_object_set_new(
	    run, "frozen",
	    json_boolean(json_integer_value(json_object_get(run, "frozen"))));
	return 0;
}

static int run_one(tl_store *st, json_t **ret, tl_error *err, const char *sql,
		   const char *types, int64_t instance, const char *kind)
{
	tl_store_lock(st);
	json_t *run = NULL;
	int rc = kind ? tl_store_row(st, &run, err, sql, types, instance, kind)
		      : tl_store_row(st, &run, err, sql, types, instance);
	if (rc == 0)
		rc = with_criteria(st, run, true, err);
	tl_store_unlock(st);
	if (rc < 0) {
		json_decref(run);
		if (rc == TL_STORE_NOTFOUND)
			tl_error_set(err, "no grading run yet");
		return rc;
	}
	*ret = run;
	return 0;
}

int tl_store_run_latest(tl_store *st, int64_t instance, const char *kind,
			json_t **ret, tl_error *err)
{
	if (kind)
		return run_one(st, ret, err,
			       "SELECT " RUN_COLS "FROM grading_runs WHERE "
			       "instance = ? AND kind = ? ORDER BY id DESC "
			       "LIMIT 1",
			       "it", instance, kind);
	return run_one(st, ret, err,
		       "SELECT " RUN_COLS "FROM grading_runs WHERE instance = "
		       "? ORDER BY id DESC LIMIT 1",
		       "i", instance, NULL);
}

/* frozen first, then final, then any trainer run (self-checks are the
 * trainee's own and never make a report) */
#define REPORT_ORDER                                                           \
	"ORDER BY frozen DESC, kind = 'final' DESC, id DESC LIMIT 1"

int tl_store_run_report(tl_store *st, int64_t instance, json_t **ret,
			tl_error *err)
{
	return run_one(st, ret, err,
		       "SELECT " RUN_COLS "FROM grading_runs WHERE instance = "
		       "? AND kind != 'self' " REPORT_ORDER,
		       "i", instance, NULL);
}

int tl_store_run_history(tl_store *st, int64_t instance, const char *kind,
			 json_t **ret, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_rows(st, ret, err,
			       "SELECT " RUN_COLS "FROM grading_runs WHERE "
			       "instance = ? AND (? IS NULL OR kind = ?) "
			       "ORDER BY id DESC",
			       "itt", instance, kind, kind);
	tl_store_unlock(st);
	size_t i;
	json_t *r;
	if (rc == 0)
		json_array_foreach (*ret, i, r)
			json_object_set_new(r, "frozen",
					    json_boolean(json_integer_value(
						json_object_get(r, "frozen"))));
	return rc;
}

/* Three queries whatever the session's size: the rows with their report
 * run's id, those runs, and all their criterion results. */
int tl_store_session_grid(tl_store *st, const char *session, json_t **ret,
			  tl_error *err)
{
	tl_store_lock(st);
	json_t *rows = NULL, *runs = NULL, *crits = NULL;
	json_t *ids = json_array();
	int rc = tl_store_rows(
	    st, &rows, err,
	    "SELECT i.id AS instance, i.trainee, t.name, i.state, (SELECT "
	    "r.id FROM grading_runs r WHERE r.instance = i.id AND r.kind "
	    "!= 'self' " REPORT_ORDER ") AS run FROM instances i JOIN "
	    "trainees t ON t.session = i.session AND t.slug = i.trainee "
	    "WHERE i.session = ? ORDER BY i.trainee",
	    "t", session);
	size_t k;
	json_t *row;
	if (rc == 0)
		json_array_foreach (rows, k, row)
			if (json_is_integer(json_object_get(row, "run")))
				json_array_append(ids,
						  json_object_get(row, "run"));
	if (rc == 0)
		rc = tl_store_rows(st, &runs, err,
				   "SELECT " RUN_COLS "FROM grading_runs WHERE "
				   "id IN (SELECT value FROM json_each(?))",
				   "j", ids);
	if (rc == 0)
		rc = tl_store_rows(st, &crits, err,
				   "SELECT run, criterion, state, score FROM "
				   "criterion_results WHERE run IN (SELECT "
				   "value FROM json_each(?)) ORDER BY run, "
				   "rowid",
				   "j", ids);
	tl_store_unlock(st);
	json_decref(ids);
	if (rc < 0) {
		json_decref(rows);
		json_decref(runs);
		json_decref(crits);
		return rc;
	}
	/* runs by id, each with its criteria in order */
	json_t *by_id = json_object();
	json_t *run;
	json_array_foreach (runs, k, run) {
		char key[32];
		snprintf(
		    key, sizeof key, "%lld",
		    (long long)json_integer_value(json_object_get(run, "id")));
		json_object_set_new(run, "frozen",
				    json_boolean(json_integer_value(
					json_object_get(run, "frozen"))));
		json_object_set_new(run, "criteria", json_array());
		json_object_set(by_id, key, run);
	}
	json_t *c;
	json_array_foreach (crits, k, c) {
		char key[32];
		snprintf(
		    key, sizeof key, "%lld",
		    (long long)json_integer_value(json_object_get(c, "run")));
		json_t *r = json_object_get(by_id, key);
		if (!r)
			continue;
		json_object_del(c, "run");
		json_array_append(json_object_get(r, "criteria"), c);
	}
	json_array_foreach (rows, k, row) {
		json_t *id = json_object_get(row, "run");
		if (!json_is_integer(id))
			continue;
		char key[32];
		snprintf(key, sizeof key, "%lld",
			 (long long)json_integer_value(id));
		json_t *r = json_object_get(by_id, key);
		json_object_set(row, "run", r ? r : json_null());
	}
	json_decref(by_id);
	json_decref(runs);
	json_decref(crits);
	*ret = rows;
	return 0;
}

/* One session's row alone (no instances): the cheap check handlers use. */
int tl_store_session_row(tl_store *st, const char *id, json_t **ret,
			 tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_row(st, ret, err,
			      "SELECT id, scenario, state, created_by, "
			      "created_at, window_start, window_end, frozen "
			      "FROM sessions WHERE id = ?",
			      "t", id);
	tl_store_unlock(st);
	if (rc == TL_STORE_NOTFOUND)
		tl_error_set(err, "no session \"%s\"", id);
	if (rc == 0)
		json_object_set_new(*ret, "frozen",
				    json_boolean(json_integer_value(
					json_object_get(*ret, "frozen"))));
	return rc;
}

int tl_store_manual_put(tl_store *st, int64_t instance, const char *criterion,
			double fraction, const char *comment, const char *by,
			tl_error *err)
{
	tl_store_lock(st);
	json_t *row = NULL;
	int rc = tl_store_row(st, &row, err,
			      "SELECT s.frozen FROM sessions s JOIN instances "
			      "i ON i.session = s.id WHERE i.id = ?",
			      "i", instance);
	if (rc == 0 && json_integer_value(json_object_get(row, "frozen"))) {
		tl_error_set(err, "the session is frozen: scores no longer "
				  "change");
		rc = TL_STORE_CONFLICT;
	}
	if (rc == 0)
		rc = tl_store_exec(st, NULL, err,
				   "INSERT OR REPLACE INTO manual_scores "
				   "(instance, criterion, fraction, comment, "
				   "by, at) VALUES (?,?,?,?,?,?)",
				   "itdtti", instance, criterion, fraction,
				   comment, by, (int64_t)time(NULL));
	tl_store_unlock(st);
	json_decref(row);
	return rc;
}

int tl_store_manual_list(tl_store *st, int64_t instance, json_t **ret,
			 tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_rows(st, ret, err,
			       "SELECT criterion, fraction, comment, by, at "
			       "FROM manual_scores WHERE instance = ? ORDER BY "
			       "criterion",
			       "i", instance);
	tl_store_unlock(st);
	return rc;
}
