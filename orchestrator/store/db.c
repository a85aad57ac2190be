/*
 * db.c: opening the state database and the few helpers every query of the
 * store goes through.
 *
 * Open: WAL journal (readers never block the writer, and a kill -9 loses
 * at most the transaction under way), synchronous=NORMAL (safe with WAL),
 * foreign keys on, a busy timeout, then the migrations of schema.c that
 * the file lacks, each in one IMMEDIATE transaction together with its new
 * version number. A file newer than this build is refused rather than
 * guessed at.
 *
 * Errors: SQLITE_FULL becomes TL_STORE_FULL with a message saying the disk
 * is full; constraint failures (duplicate id, a trigger refusing to touch a
 * frozen run) become TL_STORE_CONFLICT. After any failure inside a
 * transaction it is rolled back, so the file keeps its last good state.
 */
#include <errno.h>
#include <string.h>

#include "store-internal.h"

void tl_store_lock(tl_store *st)
{
	pthread_mutex_lock(&st->lock);
}

void tl_store_unlock(tl_store *st)
{
	pthread_mutex_unlock(&st->lock);
}

int tl_store_fail(tl_store *st, int rc, const char *what, tl_error *err)
{
	int prim = rc & 0xff;
	const char *msg =
	    st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
	if (prim == SQLITE_FULL) {
		tl_error_set(err,
			     "%s: state database %s is full (disk or size "
			     "limit): nothing was written; free space in the "
			     "state dir",
			     what, st && st->path ? st->path : "?");
		return TL_STORE_FULL;
	}
	tl_error_set(err, "%s: %s", what, msg);
	if (prim == SQLITE_CONSTRAINT)
		return TL_STORE_CONFLICT;
	return TL_STORE_ERR;
}

static sqlite3_stmt *cached(tl_store *st, const char *sql, int *ret_rc)
{
	tl_store_stmt *free_slot = NULL;
	for (size_t i = 0; i < st->n_cache; i++) {
		tl_store_stmt *c = &st->cache[i];
		if (c->sql == sql && !c->busy) {
			c->busy = true;
			*ret_rc = SQLITE_OK;
			return c->stmt;
		}
	}
	if (st->n_cache < TL_STORE_STMT_CACHE)
		free_slot = &st->cache[st->n_cache];
	sqlite3_stmt *s = NULL;
	*ret_rc = sqlite3_prepare_v3(st->db, sql, -1,
				     free_slot ? SQLITE_PREPARE_PERSISTENT : 0,
				     &s, NULL);
	if (*ret_rc != SQLITE_OK || !free_slot)
		return s;
	st->n_cache++;
	free_slot->sql = sql;
	free_slot->stmt = s;
	free_slot->busy = true;
	return s;
}

void tl_store_done(tl_store *st, sqlite3_stmt *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < st->n_cache; i++)
		if (st->cache[i].stmt == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			st->cache[i].busy = false;
			return;
		}
	sqlite3_finalize(s);
}

int tl_store_prepare(tl_store *st, sqlite3_stmt **ret, const char *sql,
		     const char *types, va_list ap, tl_error *err)
{
	int rc;
	sqlite3_stmt *s = cached(st, sql, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return tl_store_fail(st, rc, "prepare", err);
	}
	for (int i = 0; types && types[i]; i++) {
		int idx = i + 1;
		switch (types[i]) {
		case 't': {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(s, idx, v, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, idx);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(s, idx, va_arg(ap, int64_t));
			break;
		case 'd':
			rc = sqlite3_bind_double(s, idx, va_arg(ap, double));
			break;
		case 'j': {
			const json_t *j = va_arg(ap, const json_t *);
			if (!j) {
				rc = sqlite3_bind_null(s, idx);
				break;
			}
			char *text =
			    json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
			rc = sqlite3_bind_text(s, idx, text ? text : "null", -1,
					       SQLITE_TRANSIENT);
			free(text);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
		}
		if (rc != SQLITE_OK) {
			tl_store_done(st, s);
			return tl_store_fail(st, rc, "bind", err);
		}
	}
	*ret = s;
	return 0;
}

int tl_store_exec(tl_store *st, int *ret_changes, tl_error *err,
		  const char *sql, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	va_start(ap, types);
	int rc = tl_store_prepare(st, &s, sql, types, ap, err);
	va_end(ap);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(s);
	int changes = sqlite3_changes(st->db);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		/* the message before reset clears it */
		int r = tl_store_fail(st, rc, "write", err);
		tl_store_done(st, s);
		return r;
	}
	tl_store_done(st, s);
	if (changes > 0)
		st->generation++;
	if (ret_changes)
		*ret_changes = changes;
	return 0;
}

static json_t *column_json(sqlite3_stmt *s, int i)
{
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(s, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(s, i));
	case SQLITE_NULL:
		return json_null();
	default: {
		const char *name = sqlite3_column_name(s, i);
		const char *text = (const char *)sqlite3_column_text(s, i);
		size_t nl = strlen(name);
		if (nl > 5 && !strcmp(name + nl - 5, "_json")) {
			json_t *j = json_loads(text ? text : "null",
					       JSON_DECODE_ANY, NULL);
			return j ? j : json_null();
		}
		return json_string(text ? text : "");
	}
	}
}

static int rows_va(tl_store *st, json_t **ret, bool one, tl_error *err,
		   const char *sql, const char *types, va_list ap)
{
	sqlite3_stmt *s;
	int rc = tl_store_prepare(st, &s, sql, types, ap, err);
	if (rc < 0)
		return rc;
	json_t *rows = json_array();
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *o = json_object();
		int n = sqlite3_column_count(s);
		for (int i = 0; i < n; i++) {
			const char *name = sqlite3_column_name(s, i);
			size_t nl = strlen(name);
			char key[64];
			snprintf(key, sizeof key, "%.*s",
				 (int)(nl > 5 && !strcmp(name + nl - 5, "_json")
					   ? nl - 5
					   : nl),
				 name);
			json_object_set_new(o, key, column_json(s, i));
		}
		json_array_append_new(rows, o);
		if (one)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		int r = tl_store_fail(st, rc, "query", err);
		tl_store_done(st, s);
		json_decref(rows);
		return r;
	}
	tl_store_done(st, s);
	if (one) {
		if (json_array_size(rows) == 0) {
			json_decref(rows);
			tl_error_set(err, "not found");
			return TL_STORE_NOTFOUND;
		}
		*ret = json_incref(json_array_get(rows, 0));
		json_decref(rows);
		return 0;
	}
	*ret = rows;
	return 0;
}

int tl_store_rows(tl_store *st, json_t **ret, tl_error *err, const char *sql,
		  const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = rows_va(st, ret, false, err, sql, types, ap);
	va_end(ap);
	return rc;
}

int tl_store_row(tl_store *st, json_t **ret, tl_error *err, const char *sql,
		 const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = rows_va(st, ret, true, err, sql, types, ap);
	va_end(ap);
	return rc;
}

static int exec_plain(tl_store *st, const char *sql, const char *what,
		      tl_error *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return tl_store_fail(st, rc, what, err);
	return 0;
}

static void rollback_if_open(tl_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int tl_store_own_begin(tl_store *st, bool *ret_own, tl_error *err)
{
	*ret_own = false;
	if (st->tx_depth > 0)
		return 0;
	int rc = exec_plain(st, "BEGIN IMMEDIATE", "begin", err);
	if (rc == 0)
		*ret_own = true;
	return rc;
}

int tl_store_own_end(tl_store *st, bool own, int rc, tl_error *err)
{
	if (!own)
		return rc;
	if (rc < 0) {
		rollback_if_open(st);
		return rc;
	}
	int c = exec_plain(st, "COMMIT", "commit", err);
	if (c < 0)
		rollback_if_open(st);
	return c;
}

int tl_store_tx_begin(tl_store *st, tl_error *err)
{
	tl_store_lock(st);
	if (st->tx_depth > 0) {
		st->tx_depth++;
		return 0;
	}
	int rc = exec_plain(st, "BEGIN IMMEDIATE", "begin", err);
	if (rc < 0) {
		tl_store_unlock(st);
		return rc;
	}
	st->tx_depth = 1;
	return 0;
}

int tl_store_tx_commit(tl_store *st, tl_error *err)
{
	int rc = 0;
	if (--st->tx_depth == 0) {
		rc = exec_plain(st, "COMMIT", "commit", err);
		if (rc < 0)
			rollback_if_open(st);
	}
	tl_store_unlock(st);
	return rc;
}

void tl_store_tx_rollback(tl_store *st)
{
	if (--st->tx_depth == 0)
		rollback_if_open(st);
	tl_store_unlock(st);
}

static int read_version(tl_store *st, int *ret, tl_error *err)
{
	json_t *row = NULL;
	int rc =
	    tl_store_row(st, &row, err,
			 "SELECT max(version) AS v FROM schema_version", NULL);
	if (rc < 0)
		return rc;
	*ret = (int)json_integer_value(json_object_get(row, "v"));
	json_decref(row);
	return 0;
}

static int migrate(tl_store *st, tl_error *err)
{
	int rc = exec_plain(st,
			    "CREATE TABLE IF NOT EXISTS schema_version ("
			    " version INTEGER NOT NULL, applied_at INTEGER)",
			    "schema_version", err);
	if (rc < 0)
		return rc;
	int v = 0;
	if ((rc = read_version(st, &v, err)) < 0)
		return rc;
	if (v > (int)tl_store_n_migrations)
		return tl_error_set(err,
				    "%s: schema version %d is newer than this "
				    "tssrlabd knows (%zu): upgrade tssrlabd",
				    st->path, v, tl_store_n_migrations);
	for (size_t i = (size_t)v; i < tl_store_n_migrations; i++) {
		if ((rc = exec_plain(st, "BEGIN IMMEDIATE", "migrate", err)) <
		    0)
			return rc;
		rc = exec_plain(st, tl_store_migrations[i], "migrate", err);
		if (rc == 0)
			rc = tl_store_exec(st, NULL, err,
					   "INSERT INTO schema_version VALUES "
					   "(?, strftime('%s','now'))",
					   "i", (int64_t)(i + 1));
		if (rc == 0)
			rc = exec_plain(st, "COMMIT", "migrate", err);
		if (rc < 0) {
			rollback_if_open(st);
			tl_error_prefix(err, "migration %zu", i + 1);
			return rc;
		}
	}
	return 0;
}

tl_store *tl_store_open(const char *path, const tl_store_opts *opts,
			tl_error *err)
{
	tl_store *st = tl_xcalloc(1, sizeof *st);
	st->path = tl_xstrdup(path);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->lock, &a);
	pthread_mutexattr_destroy(&a);
	/* NOMUTEX: our own lock serialises every use of the connection */
	int rc = sqlite3_open_v2(path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		tl_error_set(
		    err, "%s: cannot open the state database: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		tl_store_close(st);
		return NULL;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, opts && opts->busy_timeout_ms > 0
					 ? opts->busy_timeout_ms
					 : 5000);
	if (exec_plain(st, "PRAGMA journal_mode=WAL", "WAL", err) < 0 ||
	    exec_plain(st, "PRAGMA synchronous=NORMAL", "synchronous", err) <
		0 ||
	    exec_plain(st, "PRAGMA foreign_keys=ON", "foreign_keys", err) < 0)
		goto fail;
	if (opts && opts->max_pages > 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA max_page_count=%ld",
			 opts->max_pages);
		if (exec_plain(st, sql, "max_page_count", err) < 0)
			goto fail;
	}
	if (migrate(st, err) < 0)
		goto fail;
	return st;
fail:
	tl_error_prefix(err, "%s", path);
	tl_store_close(st);
	return NULL;
}

void tl_store_close(tl_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_cache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	if (st->db)
		sqlite3_close_v2(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

int tl_store_schema_version(tl_store *st)
{
	int v = -1;
	tl_store_lock(st);
	read_version(st, &v, NULL);
	tl_store_unlock(st);
	return v;
}

uint64_t tl_store_generation(tl_store *st)
{
	tl_store_lock(st);
	uint64_t g = st->generation;
	tl_store_unlock(st);
	return g;
}

int tl_store_schema_latest(void)
{
	return (int)tl_store_n_migrations;
}
