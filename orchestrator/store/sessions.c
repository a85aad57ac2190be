/*
 * sessions.c: sessions, their trainees, one instance per trainee, and the
 * machines of an instance. Creating a session writes everything it needs
 * — trainees, pending instances and their provisioning jobs — in one
 * transaction: after a crash either the whole session exists with its jobs
 * queued, or nothing of it does.
 */
#include <string.h>
#include <time.h>

#include "store-internal.h"

#define LOCKED(st, expr)                                                       \
	({                                                                     \
		tl_store_lock(st);                                             \
		int r_ = (expr);                                               \
		tl_store_unlock(st);                                           \
		r_;                                                            \
	})

int tl_store_session_create(tl_store *st, const char *id, const char *scenario,
			    int64_t window_start, int64_t window_end,
			    const char *created_by,
			    const tl_store_trainee *trainees, size_t n,
			    tl_error *err)
{
	tl_store_lock(st);
	bool own;
	int rc = tl_store_own_begin(st, &own, err);
	if (rc < 0)
		goto out;
	int64_t now = (int64_t)time(NULL);
	rc = tl_store_exec(st, NULL, err,
			   "INSERT INTO sessions (id, scenario, created_by, "
			   "created_at, window_start, window_end) "
			   "VALUES (?,?,?,?,?,?)",
			   "tttiii", id, scenario, created_by, now,
			   window_start, window_end);
	if (rc == TL_STORE_CONFLICT)
		tl_error_set(err, "session \"%s\" already exists", id);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = tl_store_exec(st, NULL, err,
				   "INSERT INTO trainees (session, slug, name) "
				   "VALUES (?,?,?)",
				   "ttt", id, trainees[i].slug,
				   trainees[i].name);
		if (rc == TL_STORE_CONFLICT)
			tl_error_set(err, "trainee \"%s\" listed twice",
				     trainees[i].slug);
		if (rc == 0)
			rc = tl_store_exec(st, NULL, err,
					   "INSERT INTO instances (session, "
					   "trainee) VALUES (?,?)",
					   "tt", id, trainees[i].slug);
		if (rc == 0)
			rc = tl_store_job_add(
			    st, "provision", id,
			    (int64_t)sqlite3_last_insert_rowid(st->db), NULL,
			    NULL, err);
	}
	rc = tl_store_own_end(st, own, rc, err);
out:
	tl_store_unlock(st);
	return rc;
}

#define INSTANCE_COLS                                                          \
	"i.id, i.session, i.trainee, t.name, i.state, i.error, i.host, "       \
	"s.scenario, s.state AS session_state, (SELECT count(*) FROM "         \
	"grading_runs r WHERE r.instance = i.id AND r.kind != 'self') AS "     \
	"runs "
#define INSTANCE_FROM                                                          \
	"FROM instances i JOIN trainees t ON t.session = i.session AND "       \
	"t.slug = i.trainee JOIN sessions s ON s.id = i.session "

static int attach_machines(tl_store *st, json_t *inst, bool secrets,
			   tl_error *err)
{
	json_t *m = NULL;
	int rc = tl_store_rows(
	    st, &m, err,
	    secrets ? "SELECT machine, access_host, access_port, "
		      "host_key_fp, user, password, state FROM machines "
		      "WHERE instance = ? ORDER BY machine"
		    : "SELECT machine, access_host, access_port, "
		      "host_key_fp, user, state FROM machines "
		      "WHERE instance = ? ORDER BY machine",
	    "i", json_integer_value(json_object_get(inst, "id")));
	if (rc < 0)
		return rc;
	json_object_set_new(inst, "machines", m);
	return 0;
}

int tl_store_session_get(tl_store *st, const char *id, json_t **ret,
			 tl_error *err)
{
	tl_store_lock(st);
	json_t *s = NULL, *insts = NULL;
	int rc = tl_store_row(st, &s, err,
			      "SELECT id, scenario, state, created_by, "
			      "created_at, window_start, window_end, frozen "
			      "FROM sessions WHERE id = ?",
			      "t", id);
	if (rc == TL_STORE_NOTFOUND)
		tl_error_set(err, "no session \"%s\"", id);
	if (rc == 0)
		rc = tl_store_rows(st, &insts, err,
				   "SELECT " INSTANCE_COLS INSTANCE_FROM
				   "WHERE i.session = ? ORDER "
				   "BY i.id",
				   "t", id);
	/* the machines of every instance in one query */
	json_t *ms = NULL;
	if (rc == 0)
		rc = tl_store_rows(st, &ms, err,
				   "SELECT m.instance, m.machine, "
				   "m.access_host, m.access_port, "
				   "m.host_key_fp, m.user, m.state FROM "
				   "machines m JOIN instances i ON i.id = "
				   "m.instance WHERE i.session = ? ORDER BY "
				   "m.instance, m.machine",
				   "t", id);
	size_t k;
	json_t *inst;
	if (rc == 0) {
		size_t mi = 0;
		json_array_foreach (insts, k, inst) {
			json_int_t iid =
			    json_integer_value(json_object_get(inst, "id"));
			json_t *arr = json_array();
			for (; mi < json_array_size(ms); mi++) {
				json_t *m = json_array_get(ms, mi);
				if (json_integer_value(
					json_object_get(m, "instance")) != iid)
					break;
				json_object_del(m, "instance");
				json_array_append(arr, m);
			}
			json_object_set_new(inst, "machines", arr);
		}
	}
	json_decref(ms);
	tl_store_unlock(st);
	if (rc < 0) {
		json_decref(s);
		json_decref(insts);
		return rc;
	}
	json_object_set_new(
	    s, "frozen",
	    json_boolean(json_integer_value(json_object_get(s, "frozen"))));
	json_object_set_new(s, "instances", insts);
	*ret = s;
	return 0;
}

int tl_store_session_list(tl_store *st, json_t **ret, tl_error *err)
{
	return LOCKED(
	    st, tl_store_rows(st, ret, err,
			      "SELECT s.id, s.scenario, s.state, "
			      "s.created_by, s.created_at, s.window_start, "
			      "s.window_end, s.frozen, (SELECT count(*) "
			      "FROM instances i WHERE i.session = s.id) AS "
			      "trainees FROM sessions s ORDER BY "
			      "s.created_at DESC, s.id",
			      NULL));
}

static int set_one(tl_store *st, tl_error *err, const char *what,
		   const char *id, const char *sql, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	va_start(ap, types);
	tl_store_lock(st);
	int rc = tl_store_prepare(st, &s, sql, types, ap, err);
	va_end(ap);
	if (rc == 0) {
		int r = sqlite3_step(s);
		int changes = sqlite3_changes(st->db);
		if (r != SQLITE_DONE)
			rc = tl_store_fail(st, r, what, err);
		tl_store_done(st, s);
		if (changes > 0)
			st->generation++;
		if (r != SQLITE_DONE)
			;
		else if (changes == 0) {
			tl_error_set(err, "no %s \"%s\"", what, id);
			rc = TL_STORE_NOTFOUND;
		}
	}
	tl_store_unlock(st);
	return rc;
}

int tl_store_session_set_state(tl_store *st, const char *id, const char *state,
			       tl_error *err)
{
	return set_one(st, err, "session", id,
		       "UPDATE sessions SET state = ? WHERE id = ?", "tt",
		       state, id);
}

int tl_store_session_set_window_end(tl_store *st, const char *id,
				    int64_t window_end, tl_error *err)
{
	return set_one(st, err, "session", id,
		       "UPDATE sessions SET window_end = ? WHERE id = ?", "it",
		       window_end, id);
}

int tl_store_sessions_expired(tl_store *st, int64_t now, json_t **ret,
			      tl_error *err)
{
	json_t *rows = NULL;
	int rc = LOCKED(st, tl_store_rows(st, &rows, err,
					  "SELECT id FROM sessions WHERE state "
					  "= 'active' AND window_end <= ?",
					  "i", now));
	if (rc < 0)
		return rc;
	json_t *ids = json_array();
	size_t i;
	json_t *r;
	json_array_foreach (rows, i, r)
		json_array_append(ids, json_object_get(r, "id"));
	json_decref(rows);
	*ret = ids;
	return 0;
}

static int freeze_run(tl_store *st, int64_t run, const json_t *sc,
		      tl_error *err)
{
	int rc = 0;
	if (sc) {
		rc = tl_store_exec(
		    st, NULL, err,
		    "UPDATE grading_runs SET score = ?, max = ?, totals = "
		    "? WHERE id = ?",
		    "ddji", json_number_value(json_object_get(sc, "score")),
		    json_number_value(json_object_get(sc, "max")),
		    json_object_get(sc, "totals"), run);
		size_t i;
		json_t *c;
		json_array_foreach (json_object_get(sc, "criteria"), i, c) {
			if (rc < 0)
				break;
			rc = tl_store_exec(
			    st, NULL, err,
			    "UPDATE criterion_results SET state = ?, "
			    "score = ? WHERE run = ? AND criterion = ?",
			    "tdit",
			    json_string_value(json_object_get(c, "state")),
			    json_number_value(json_object_get(c, "score")), run,
			    json_string_value(json_object_get(c, "criterion")));
		}
	}
	if (rc == 0)
		rc = tl_store_exec(st, NULL, err,
				   "UPDATE grading_runs SET frozen = 1 WHERE "
				   "id = ?",
				   "i", run);
	return rc;
}

int tl_store_session_freeze(tl_store *st, const char *id, const json_t *scores,
			    tl_error *err)
{
	tl_store_lock(st);
	bool own;
	json_t *s = NULL, *runs = NULL;
	int rc = tl_store_own_begin(st, &own, err);
	if (rc < 0)
		goto out;
	rc = tl_store_row(st, &s, err,
			  "SELECT frozen FROM sessions WHERE id = ?", "t", id);
	if (rc == TL_STORE_NOTFOUND)
		tl_error_set(err, "no session \"%s\"", id);
	if (rc == 0 && json_integer_value(json_object_get(s, "frozen"))) {
		tl_error_set(err, "session \"%s\" is already frozen", id);
		rc = TL_STORE_CONFLICT;
	}
	if (rc == 0)
		rc = tl_store_exec(st, NULL, err,
				   "UPDATE sessions SET frozen = 1 WHERE id "
				   "= ?",
				   "t", id);
	/* per instance: its latest final run, else its latest run */
	if (rc == 0)
		rc = tl_store_rows(
		    st, &runs, err,
		    "SELECT coalesce((SELECT r.id FROM grading_runs r "
		    "WHERE r.instance = i.id AND r.kind = 'final' ORDER BY "
		    "r.id DESC LIMIT 1), (SELECT r.id FROM grading_runs r "
		    "WHERE r.instance = i.id AND r.kind != 'self' ORDER BY "
		    "r.id DESC LIMIT 1)) AS run FROM instances i WHERE "
		    "i.session = ?",
		    "t", id);
	size_t k;
	json_t *r;
	if (rc == 0)
		json_array_foreach (runs, k, r) {
			json_t *run = json_object_get(r, "run");
			if (!json_is_integer(run))
				continue;
			char key[32];
			snprintf(key, sizeof key, "%lld",
				 (long long)json_integer_value(run));
			rc = freeze_run(
			    st, json_integer_value(run),
			    scores ? json_object_get(scores, key) : NULL, err);
			if (rc < 0)
				break;
		}
	rc = tl_store_own_end(st, own, rc, err);
out:
	tl_store_unlock(st);
	json_decref(s);
	json_decref(runs);
	return rc;
}

int tl_store_instance_get(tl_store *st, const char *session,
			  const char *trainee, json_t **ret, tl_error *err)
{
	tl_store_lock(st);
	json_t *inst = NULL;
	int rc = tl_store_row(st, &inst, err,
			      "SELECT " INSTANCE_COLS INSTANCE_FROM
			      "WHERE i.session = ? AND i.trainee = ?",
			      "tt", session, trainee);
	if (rc == TL_STORE_NOTFOUND)
		tl_error_set(err, "no trainee \"%s\" in session \"%s\"",
			     trainee, session);
	if (rc == 0)
		rc = attach_machines(st, inst, true, err);
	tl_store_unlock(st);
	if (rc < 0) {
		json_decref(inst);
		return rc;
	}
	*ret = inst;
	return 0;
}

int tl_store_instance_by_id(tl_store *st, int64_t id, json_t **ret,
			    tl_error *err)
{
	tl_store_lock(st);
	json_t *inst = NULL;
	int rc = tl_store_row(
	    st, &inst, err,
	    "SELECT " INSTANCE_COLS INSTANCE_FROM "WHERE i.id = ?", "i", id);
	if (rc == TL_STORE_NOTFOUND)
		tl_error_set(err, "no instance %lld", (long long)id);
	if (rc == 0)
		rc = attach_machines(st, inst, true, err);
	tl_store_unlock(st);
	if (rc < 0) {
		json_decref(inst);
		return rc;
	}
	*ret = inst;
	return 0;
}

int tl_store_instance_set_state(tl_store *st, int64_t id, const char *state,
				const char *error, tl_error *err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	return set_one(st, err, "instance", ids,
		       "UPDATE instances SET state = ?, error = ? WHERE id = ?",
		       "tti", state, error, id);
}

int tl_store_instance_set_host(tl_store *st, int64_t id, const char *host,
			       tl_error *err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	return set_one(st, err, "instance", ids,
		       "UPDATE instances SET host = ? WHERE id = ?", "ti", host,
		       id);
}

int tl_store_machines_put(tl_store *st, int64_t instance,
			  const json_t *machines, tl_error *err)
{
	tl_store_lock(st);
	bool own;
	int rc = tl_store_own_begin(st, &own, err);
	if (rc < 0)
		goto out;
	rc = tl_store_exec(st, NULL, err,
			   "DELETE FROM machines WHERE instance = ?", "i",
			   instance);
	size_t i;
	json_t *m;
	json_array_foreach (machines, i, m) {
		if (rc < 0)
			break;
		rc = tl_store_exec(
		    st, NULL, err,
		    "INSERT INTO machines (instance, machine, "
		    "access_host, access_port, host_key_fp, user, "
		    "password, state) VALUES (?,?,?,?,?,?,?,?)",
		    "ittitttt", instance,
		    json_string_value(json_object_get(m, "machine")),
		    json_string_value(json_object_get(m, "access_host")),
		    (int64_t)json_integer_value(
			json_object_get(m, "access_port")),
		    json_string_value(json_object_get(m, "host_key_fp")),
		    json_string_value(json_object_get(m, "user")),
		    json_string_value(json_object_get(m, "password")),
		    json_object_get(m, "state")
			? json_string_value(json_object_get(m, "state"))
			: "ready");
	}
	rc = tl_store_own_end(st, own, rc, err);
out:
	tl_store_unlock(st);
	return rc;
}

int tl_store_machines_delete(tl_store *st, int64_t instance, tl_error *err)
{
	return LOCKED(st, tl_store_exec(st, NULL, err,
					"DELETE FROM machines WHERE instance "
					"= ?",
					"i", instance));
}

int tl_store_instances_live(tl_store *st, json_t **ret, tl_error *err)
{
	tl_store_lock(st);
	json_t *rows = NULL;
	int rc = tl_store_rows(st, &rows, err,
			       "SELECT " INSTANCE_COLS INSTANCE_FROM
			       "WHERE i.state IN ('ready','stopped') ORDER BY "
			       "i.id",
			       NULL);
	size_t k;
	json_t *inst;
	if (rc == 0)
		json_array_foreach (rows, k, inst) {
			if ((rc = attach_machines(st, inst, true, err)) < 0)
				break;
		}
	tl_store_unlock(st);
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	*ret = rows;
	return 0;
}
