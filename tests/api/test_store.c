/*
 * test_store.c: the store on its own — schema and migrations, WAL, the
 * append-only audit log, frozen runs that never change, a run stored with
 * its job in one transaction, jobs claimed one instance at a time, and a
 * full database (max_page_count, the way SQLite says "disk full") answered
 * with TL_STORE_FULL and a file still consistent afterwards.
 */
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tl_test.h"
#include "tssrlab/store.h"

static char dir[256];

static char *db_path(const char *name)
{
	return tl_xasprintf("%s/%s", dir, name);
}

static int rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb;
	(void)f;
	(void)w;
	return remove(p);
}

static tl_store *fresh(const char *name, long max_pages)
{
	char *p = db_path(name);
	unlink(p);
	tl_store_opts o = {.max_pages = max_pages};
	tl_error err;
	tl_store *st = tl_store_open(p, &o, &err);
	if (!st)
		fprintf(stderr, "  %s\n", err.msg);
	free(p);
	return st;
}

static tl_error last_err;

static int one_session(tl_store *st, const char *id, size_t n)
{
	tl_store_trainee tr[64];
	char names[64][16];
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "t%zu", i);
		tr[i].slug = names[i];
		tr[i].name = names[i];
	}
	return tl_store_session_create(st, id, "linux-web-01", 0, 100, "test",
				       tr, n, &last_err);
}

TL_TEST(open_migrate_reopen)
{
	tl_store *st = fresh("a.db", 0);
	CHECK(st != NULL);
	CHECK(tl_store_schema_version(st) == tl_store_schema_latest());
	CHECK(one_session(st, "s1", 3) == 0);
	tl_store_close(st);
	/* reopening applies nothing and keeps the data */
	char *p = db_path("a.db");
	tl_error err;
	st = tl_store_open(p, NULL, &err);
	CHECK(st != NULL);
	json_t *s = NULL;
	CHECK(tl_store_session_get(st, "s1", &s, &err) == 0);
	CHECK(json_array_size(json_object_get(s, "instances")) == 3);
	json_decref(s);
	tl_store_close(st);
	/* WAL mode */
	sqlite3 *db;
	sqlite3_open(p, &db);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL);
	CHECK(sqlite3_step(q) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	/* a file from a newer tssrlabd is refused */
	sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0)", NULL,
		     NULL, NULL);
	sqlite3_close(db);
	st = tl_store_open(p, NULL, &err);
	CHECK(st == NULL);
	CHECK_CONTAINS(err.msg, "newer");
	free(p);
}

TL_TEST(session_conflicts)
{
	tl_store *st = fresh("b.db", 0);
	tl_error err;
	CHECK(one_session(st, "s1", 2) == 0);
	CHECK(one_session(st, "s1", 2) == TL_STORE_CONFLICT);
	/* a failed create leaves nothing behind (one transaction) */
	tl_store_trainee dup[] = {{"x", "X"}, {"x", "Y"}};
	CHECK(tl_store_session_create(st, "s2", "sc", 0, 1, "t", dup, 2,
				      &err) == TL_STORE_CONFLICT);
	json_t *s = NULL;
	CHECK(tl_store_session_get(st, "s2", &s, &err) == TL_STORE_NOTFOUND);
	json_t *jobs = NULL;
	CHECK(tl_store_jobs_in_state(st, "queued", &jobs, &err) == 0);
	CHECK(json_array_size(jobs) == 2); /* s1's two provision jobs */
	json_decref(jobs);
	tl_store_close(st);
}

TL_TEST(jobs_one_per_instance)
{
	tl_store *st = fresh("c.db", 0);
	tl_error err;
	CHECK(one_session(st, "s1", 1) == 0);
	CHECK(tl_store_job_add(st, "grade", "s1", 1, "trainer", NULL, &err) ==
	      0);
	json_t *j1 = NULL, *j2 = NULL;
	CHECK(tl_store_job_claim(st, &j1, &err) == 0);
	CHECK_STR(json_string_value(json_object_get(j1, "kind")), "provision");
	/* the grade job waits: its instance has a job running */
	CHECK(tl_store_job_claim(st, &j2, &err) == TL_STORE_NOTFOUND);
	CHECK(tl_store_job_finish(st,
				  json_integer_value(json_object_get(j1, "id")),
				  "done", NULL, &err) == 0);
	CHECK(tl_store_job_claim(st, &j2, &err) == 0);
	CHECK_STR(json_string_value(json_object_get(j2, "kind")), "grade");
	CHECK(json_integer_value(json_object_get(j2, "attempts")) == 1);
	/* a requeued job is claimed again, counting its attempts */
	int64_t id2 = json_integer_value(json_object_get(j2, "id"));
	json_decref(j2);
	CHECK(tl_store_job_requeue(st, id2, &err) == 0);
	CHECK(tl_store_job_claim(st, &j2, &err) == 0);
	CHECK(json_integer_value(json_object_get(j2, "attempts")) == 2);
	/* the run ends the job in the same transaction, once */
	json_t *crit =
	    json_pack("[{s:s,s:s,s:f,s:{s:s}}]", "criterion", "c1", "state",
		      "pass", "score", 1.0, "evidence", "note", "x");
	CHECK(tl_store_run_put(st, 1, "trainer", id2, 1, 2, 1, 1, NULL, crit,
			       NULL, &err) == 0);
	CHECK(tl_store_run_put(st, 1, "trainer", id2, 1, 2, 1, 1, NULL, crit,
			       NULL, &err) == TL_STORE_CONFLICT);
	json_t *done = NULL;
	CHECK(tl_store_jobs_in_state(st, "done", &done, &err) == 0);
	CHECK(json_array_size(done) == 2);
	json_decref(done);
	json_t *run = NULL;
	CHECK(tl_store_run_latest(st, 1, NULL, &run, &err) == 0);
	CHECK_STR(json_string_value(json_object_get(
		      json_object_get(
			  json_array_get(json_object_get(run, "criteria"), 0),
			  "evidence"),
		      "note")),
		  "x");
	json_decref(run);
	json_decref(crit);
	json_decref(j1);
	json_decref(j2);
	tl_store_close(st);
}

TL_TEST(audit_append_only_and_frozen)
{
	tl_store *st = fresh("d.db", 0);
	tl_error err;
	CHECK(tl_store_audit(st, "me", "test", "x", NULL, &err) == 0);
	CHECK(one_session(st, "s1", 1) == 0);
	json_t *crit = json_pack("[{s:s,s:s,s:f,s:n}]", "criterion", "c1",
				 "state", "fail", "score", 0.0, "evidence");
	int64_t run = 0;
	CHECK(tl_store_run_put(st, 1, "final", 0, 1, 2, 0, 1, NULL, crit, &run,
			       &err) == 0);
	json_decref(crit);
	CHECK(tl_store_manual_put(st, 1, "jury", 0.5, "ok", "eve", &err) == 0);
	CHECK(tl_store_session_set_state(st, "s1", "ended", &err) == 0);
	CHECK(tl_store_session_freeze(st, "s1", NULL, &err) == 0);
	CHECK(tl_store_session_freeze(st, "s1", NULL, &err) ==
	      TL_STORE_CONFLICT);
	CHECK(tl_store_manual_put(st, 1, "jury", 1, "ok", "eve", &err) ==
	      TL_STORE_CONFLICT);
	tl_store_close(st);
	/* from outside the API too: the triggers hold */
	char *p = db_path("d.db");
	sqlite3 *db;
	sqlite3_open(p, &db);
	free(p);
	CHECK(sqlite3_exec(db, "UPDATE audit SET actor = 'x'", NULL, NULL,
			   NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL) !=
	      SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE grading_runs SET score = 9", NULL, NULL,
			   NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE criterion_results SET state = 'pass'",
			   NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db, "DELETE FROM criterion_results", NULL, NULL,
			   NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "INSERT INTO criterion_results VALUES (1, 'c2', "
			   "'pass', 1, NULL)",
			   NULL, NULL, NULL) != SQLITE_OK);
	sqlite3_close(db);
}

TL_TEST(tokens)
{
	tl_store *st = fresh("e.db", 0);
	tl_error err;
	CHECK(one_session(st, "s1", 1) == 0);
	CHECK(tl_store_token_add(st, "s1/t0", "trainee", "s1", "t0", "h1",
				 &err) == 0);
	tl_store_user u;
	CHECK(tl_store_token_lookup(st, "h1", &u, &err) == 0);
	CHECK_STR(u.role, "trainee");
	CHECK_STR(u.trainee, "t0");
	CHECK(tl_store_token_lookup(st, "nope", &u, &err) == TL_STORE_NOTFOUND);
	CHECK(tl_store_token_revoke_trainee(st, "s1", "t0", &err) == 0);
	CHECK(tl_store_token_lookup(st, "h1", &u, &err) == TL_STORE_NOTFOUND);
	CHECK(tl_store_token_add(st, "x", "wizard", NULL, NULL, "h2", &err) <
	      0);
	tl_store_close(st);
}

/* A database at its size limit behaves as on a full disk: the write is
 * refused with TL_STORE_FULL and a message that says so, nothing of the
 * failed transaction is kept, and what was there before is intact. */
TL_TEST(full_database)
{
	tl_store *st = fresh("f.db", 40);
	CHECK(st != NULL);
	if (!st)
		return;
	tl_error err;
	int rc = 0, made = 0;
	char id[32];
	for (int i = 0; i < 2000 && rc == 0; i++) {
		snprintf(id, sizeof id, "s%d", i);
		rc = one_session(st, id, 20);
		made += rc == 0;
	}
	CHECK(rc == TL_STORE_FULL);
	CHECK_CONTAINS(last_err.msg, "is full");
	CHECK(made > 0);
	tl_error e2;
	one_session(st, "again", 20);
	CHECK(one_session(st, "again2", 20) == TL_STORE_FULL);
	CHECK(tl_store_audit(st, "me", "x", NULL, NULL, &e2) == 0 ||
	      tl_store_audit(st, "me", "x", NULL, NULL, &e2) == TL_STORE_FULL);
	json_t *s = NULL;
	/* the failed session is not half there */
	snprintf(id, sizeof id, "s%d", made);
	CHECK(tl_store_session_get(st, id, &s, &err) == TL_STORE_NOTFOUND);
	CHECK(tl_store_session_get(st, "s0", &s, &err) == 0);
	CHECK(json_array_size(json_object_get(s, "instances")) == 20);
	json_decref(s);
	tl_store_close(st);
	/* integrity after reopening without the limit */
	char *p = db_path("f.db");
	sqlite3 *db;
	sqlite3_open(p, &db);
	free(p);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL);
	CHECK(sqlite3_step(q) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(q, 0), "ok");
	sqlite3_finalize(q);
	sqlite3_prepare_v2(db,
			   "SELECT count(*) FROM instances i LEFT JOIN jobs j "
			   "ON j.instance = i.id WHERE j.id IS NULL",
			   -1, &q, NULL);
	CHECK(sqlite3_step(q) == SQLITE_ROW);
	CHECK(sqlite3_column_int(q, 0) == 0); /* no instance without its job */
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof dir, "%s/tssrlab-store-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

int tests_main(int argc, char **argv);
#define main tests_main
TL_TESTS(T(open_migrate_reopen), T(session_conflicts), T(jobs_one_per_instance),
	 T(audit_append_only_and_frozen), T(tokens), T(full_database))
#undef main

int main(int argc, char **argv)
{
	setup();
	int rc = tests_main(argc, argv);
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
