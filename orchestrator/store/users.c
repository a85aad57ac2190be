/*
 * users.c: users, their tokens (only the SHA-256 of a token is kept: a
 * stolen database hands out no working token), the append-only audit log,
 * and the counts /metrics shows.
 */
#include <string.h>
#include <time.h>

#include "store-internal.h"

int tl_store_token_add(tl_store *st, const char *name, const char *role,
		       const char *session, const char *trainee,
		       const char *token_hash, tl_error *err)
{
	tl_store_lock(st);
	bool own;
	int64_t now = (int64_t)time(NULL);
	int changed = 0;
	int rc = tl_store_own_begin(st, &own, err);
	if (rc < 0)
		goto out;
	/* ON CONFLICT, not OR IGNORE: only the uniqueness of (name, role)
	 * may be ignored, never the CHECK on the role */
	rc = tl_store_exec(st, NULL, err,
			   "INSERT INTO users (name, role, session, trainee, "
			   "created_at) VALUES (?,?,?,?,?) ON CONFLICT (name, "
			   "role) DO NOTHING",
			   "tttti", name, role, session, trainee, now);
	if (rc == 0)
		rc = tl_store_exec(st, &changed, err,
				   "INSERT INTO tokens (hash, user, "
				   "created_at) SELECT ?, id, ? FROM users "
				   "WHERE name = ? AND role = ?",
				   "titt", token_hash, now, name, role);
	if (rc == 0 && changed != 1)
		rc = tl_error_set(err, "user %s (%s) could not be created",
				  name, role);
	rc = tl_store_own_end(st, own, rc, err);
out:
	tl_store_unlock(st);
	return rc;
}

static void copy(char *dst, size_t cap, json_t *v)
{
	const char *s = json_string_value(v);
	snprintf(dst, cap, "%s", s ? s : "");
}

int tl_store_token_lookup(tl_store *st, const char *token_hash,
			  tl_store_user *ret, tl_error *err)
{
	json_t *row = NULL;
	tl_store_lock(st);
	int rc = tl_store_row(st, &row, err,
			      "SELECT u.id, u.name, u.role, u.session, "
			      "u.trainee FROM tokens k JOIN users u ON u.id = "
			      "k.user WHERE k.hash = ? AND k.revoked = 0",
			      "t", token_hash);
	tl_store_unlock(st);
	if (rc < 0)
		return rc;
	memset(ret, 0, sizeof *ret);
	ret->id = json_integer_value(json_object_get(row, "id"));
	copy(ret->name, sizeof ret->name, json_object_get(row, "name"));
	copy(ret->role, sizeof ret->role, json_object_get(row, "role"));
	copy(ret->session, sizeof ret->session,
	     json_object_get(row, "session"));
	copy(ret->trainee, sizeof ret->trainee,
	     json_object_get(row, "trainee"));
	json_decref(row);
	return 0;
}

int tl_store_token_revoke_trainee(tl_store *st, const char *session,
				  const char *trainee, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_exec(st, NULL, err,
			       "UPDATE tokens SET revoked = 1 WHERE user IN "
			       "(SELECT id FROM users WHERE role = 'trainee' "
			       "AND session = ? AND trainee = ?)",
			       "tt", session, trainee);
	tl_store_unlock(st);
	return rc;
}

int tl_store_user_count(tl_store *st, const char *role, int64_t *ret,
			tl_error *err)
{
	json_t *row = NULL;
	tl_store_lock(st);
	int rc = tl_store_row(st, &row, err,
			      "SELECT count(*) AS n FROM users WHERE role = ?",
			      "t", role);
	tl_store_unlock(st);
	if (rc == 0)
		*ret = json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return rc;
}

int tl_store_audit(tl_store *st, const char *actor, const char *action,
		   const char *target, const char *detail, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_exec(st, NULL, err,
			       "INSERT INTO audit (at, actor, action, target, "
			       "detail) VALUES (?,?,?,?,?)",
			       "itttt", (int64_t)time(NULL), actor, action,
			       target, detail);
	tl_store_unlock(st);
	return rc;
}

int tl_store_audit_list(tl_store *st, int limit, json_t **ret, tl_error *err)
{
	tl_store_lock(st);
	int rc = tl_store_rows(st, ret, err,
			       "SELECT id, at, actor, action, target, detail "
			       "FROM audit ORDER BY id DESC LIMIT ?",
			       "i", (int64_t)limit);
	tl_store_unlock(st);
	return rc;
}

static int count_by(tl_store *st, json_t *out, const char *key, const char *sql,
		    tl_error *err)
{
	json_t *rows = NULL;
	int rc = tl_store_rows(st, &rows, err, sql, NULL);
	if (rc < 0)
		return rc;
	json_t *o = json_object();
	size_t i;
	json_t *r;
	json_array_foreach (rows, i, r)
		json_object_set(o, json_string_value(json_object_get(r, "k")),
				json_object_get(r, "n"));
	json_object_set_new(out, key, o);
	json_decref(rows);
	return 0;
}

int tl_store_counts(tl_store *st, json_t **ret, tl_error *err)
{
	json_t *out = json_object();
	tl_store_lock(st);
	int rc = count_by(st, out, "sessions",
			  "SELECT state AS k, count(*) AS n FROM sessions "
			  "GROUP BY state",
			  err);
	if (rc == 0)
		rc = count_by(st, out, "instances",
			      "SELECT state AS k, count(*) AS n FROM instances "
			      "GROUP BY state",
			      err);
	if (rc == 0)
		rc = count_by(st, out, "jobs",
			      "SELECT kind || ':' || state AS k, count(*) AS n "
			      "FROM jobs GROUP BY kind, state",
			      err);
	if (rc == 0)
		rc = count_by(st, out, "runs",
			      "SELECT kind AS k, count(*) AS n FROM "
			      "grading_runs GROUP BY kind",
			      err);
	tl_store_unlock(st);
	if (rc < 0) {
		json_decref(out);
		return rc;
	}
	*ret = out;
	return 0;
}
