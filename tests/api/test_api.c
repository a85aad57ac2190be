/*
 * test_api.c: the API over real HTTP. Starts tssrlabd (test backend) on
 * 127.0.0.1 with a free port and a temp state dir, then checks: the role
 * matrix of every endpoint (401 without or with a wrong token, 403 for a
 * role the endpoint does not allow, and never 401/403 for one it does),
 * body validation naming the field, and a session's life — create, list,
 * show with progress, grade, results, grid (JSON and CSV), trainee
 * isolation and self-check, events, extend, end by its time window, final
 * runs, manual scores, freeze, destroy.
 * usage: test_api TSSRLABD   (TSSRLAB_DATADIR: the definitions)
 */
#include <pthread.h>

#include "daemon_fixture.h"
#include "tl_test.h"
#include "tssrlab/store.h"

static const char *exe;
static fx F;
static char tok_trainer[128], tok_eval[128], tok_alice[128], tok_bob[128];

static bool any_failed_before;

static char *token_for(const char *name, const char *role)
{
	char body[256];
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"role\":\"%s\"}", name,
		 role);
	long st;
	json_t *j = fx_json(&F, "POST", "/api/v1/tokens", F.admin, body, &st);
	char *t = j && json_string_value(json_object_get(j, "token"))
		      ? strdup(json_string_value(json_object_get(j, "token")))
		      : NULL;
	json_decref(j);
	return t;
}

static void trainee_token(const char *session, const char *slug, char *ret,
			  size_t cap)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/sessions/%s/trainees/%s/token",
		 session, slug);
	long st;
	json_t *j = fx_json(&F, "POST", path, tok_trainer, NULL, &st);
	CHECK(st == 201);
	snprintf(ret, cap, "%s",
		 json_string_value(json_object_get(j, "token")) ?: "");
	json_decref(j);
}

static bool all_settled(const json_t *s)
{
	return fx_count_state(s, "ready") + fx_count_state(s, "failed") ==
	       json_array_size(json_object_get(s, "instances"));
}

static bool graded_all_ready(const json_t *s)
{
	const json_t *p = json_object_get(s, "progress");
	return json_integer_value(json_object_get(p, "instances_graded")) ==
	       json_integer_value(json_object_get(p, "instances_ready"));
}

static bool ended(const json_t *s)
{
	return !strcmp(json_string_value(json_object_get(s, "state")) ?: "",
		       "ended");
}

static bool destroyed(const json_t *s)
{
	return !strcmp(json_string_value(json_object_get(s, "state")) ?: "",
		       "destroyed");
}

TL_TEST(start)
{
	CHECK(fx_start(&F, exe, NULL) == 0);
	CHECK(strncmp(F.admin, "tlk_", 4) == 0);
	char *t = token_for("tina", "trainer");
	char *e = token_for("eve", "evaluator");
	CHECK(t && e);
	snprintf(tok_trainer, sizeof tok_trainer, "%s", t ?: "");
	snprintf(tok_eval, sizeof tok_eval, "%s", e ?: "");
	free(t);
	free(e);
	/* the token file is readable by root only */
	char path[320];
	snprintf(path, sizeof path, "%s/state/admin.token", F.dir);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 077) == 0);
}

TL_TEST(health_and_metrics)
{
	long st;
	json_t *j = fx_json(&F, "GET", "/healthz", NULL, NULL, &st);
	CHECK(st == 200);
	CHECK_STR(json_string_value(json_object_get(j, "status")), "ok");
	json_decref(j);
	fx_resp r;
	fx_http(&F, "GET", "/metrics", NULL, NULL, 0, &r);
	CHECK(r.status == 200);
	CHECK_CONTAINS(r.body, "# TYPE tssrlab_http_requests_total counter");
	CHECK_CONTAINS(r.body, "tssrlab_jobs_running ");
	fx_resp_clear(&r);
	j = fx_json(&F, "GET", "/api/v1/nosuch", F.admin, NULL, &st);
	CHECK(st == 404);
	CHECK(json_string_value(json_object_get(j, "error")) != NULL);
	json_decref(j);
	j = fx_json(&F, "PUT", "/api/v1/sessions", F.admin, "{}", &st);
	CHECK(st == 405);
	json_decref(j);
}

TL_TEST(session_flow_create)
{
	long st;
	json_t *j = fx_json(
	    &F, "POST", "/api/v1/sessions", tok_trainer,
	    "{\"id\":\"s1\",\"scenario\":\"linux-web-01\",\"trainees\":["
	    "{\"id\":\"alice\",\"name\":\"Alice Martin\"},"
	    "{\"id\":\"bob\",\"name\":\"Bob\"},"
	    "{\"id\":\"carol-fail\",\"name\":\"Carol\"}],"
	    "\"duration_min\":90}",
	    &st);
	CHECK(st == 201);
	CHECK_STR(json_string_value(json_object_get(j, "id")), "s1");
	CHECK(json_array_size(json_object_get(j, "instances")) == 3);
	json_decref(j);
	/* the same id again: 409 naming the field */
	j = fx_json(&F, "POST", "/api/v1/sessions", tok_trainer,
		    "{\"id\":\"s1\",\"scenario\":\"linux-web-01\",\"trainees\":"
		    "[{\"id\":\"x\",\"name\":\"X\"}]}",
		    &st);
	CHECK(st == 409);
	CHECK_STR(json_string_value(json_object_get(j, "field")), "id");
	json_decref(j);
	json_t *s = fx_wait_session(&F, "s1", tok_trainer, all_settled, 30);
	CHECK(fx_count_state(s, "ready") == 2);
	CHECK(fx_count_state(s, "failed") == 1);
	json_t *p = json_object_get(s, "progress");
	CHECK(json_integer_value(json_object_get(p, "machines_total")) == 3);
	CHECK(json_integer_value(json_object_get(p, "machines_ready")) == 2);
	/* the failed instance says why */
	size_t i;
	json_t *inst;
	json_array_foreach (json_object_get(s, "instances"), i, inst)
		if (!strcmp(json_string_value(json_object_get(inst, "state")),
			    "failed"))
			CHECK_CONTAINS(
			    json_string_value(json_object_get(inst, "error")),
			    "refuses");
	json_decref(s);
	j = fx_json(&F, "GET", "/api/v1/sessions", tok_eval, NULL, &st);
	CHECK(st == 200 && json_array_size(j) == 1);
	json_decref(j);
	trainee_token("s1", "alice", tok_alice, sizeof tok_alice);
	trainee_token("s1", "bob", tok_bob, sizeof tok_bob);
}

/* ---- role matrix ---- */

enum { RA = 1, RT = 2, RE = 4, RS = 8 }; /* RS: the trainee who owns it */

typedef struct {
	const char *method, *path, *body;
	int allowed;
	bool safe; /* may run with an allowed role on s1 */
} ep;

static const ep endpoints[] = {
    {"GET", "/api/v1/whoami", NULL, RA | RT | RE | RS, true},
    {"POST", "/api/v1/tokens", "{\"name\":\"z\",\"role\":\"trainer\"}", RA,
     true},
    {"GET", "/api/v1/audit", NULL, RA, true},
    {"GET", "/api/v1/jobs/1", NULL, RA | RT, true},
    {"GET", "/api/v1/referential", NULL, RA | RT | RE | RS, true},
    {"GET", "/api/v1/labs", NULL, RA | RT | RE, true},
    {"GET", "/api/v1/scenarios", NULL, RA | RT | RE | RS, true},
    {"GET", "/api/v1/scenarios/linux-web-01", NULL, RA | RT | RE | RS, true},
    {"POST", "/api/v1/sessions",
     "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":\"m\","
     "\"name\":\"M\"}]}",
     RA | RT, true},
    {"GET", "/api/v1/sessions", NULL, RA | RT | RE, true},
    {"GET", "/api/v1/sessions/s1", NULL, RA | RT | RE | RS, true},
    {"DELETE", "/api/v1/sessions/s1", NULL, RA | RT, false},
    {"POST", "/api/v1/sessions/s1/extend", "{\"minutes\":1}", RA | RT, true},
    {"POST", "/api/v1/sessions/s1/end", NULL, RA | RT, false},
    {"POST", "/api/v1/sessions/s1/grade", NULL, RA | RT, true},
    {"GET", "/api/v1/sessions/s1/grid", NULL, RA | RT | RE, true},
    {"GET", "/api/v1/sessions/s1/grid.csv", NULL, RA | RT | RE, true},
    {"POST", "/api/v1/sessions/s1/freeze", NULL, RA | RE, false},
    {"POST", "/api/v1/sessions/s1/trainees/alice/token", NULL, RA | RT, false},
    {"GET", "/api/v1/sessions/s1/instances/alice", NULL, RA | RT | RE | RS,
     true},
    {"POST", "/api/v1/sessions/s1/instances/alice/machines/srv/reset", NULL,
     RA | RT, true},
    {"POST", "/api/v1/sessions/s1/instances/alice/grade", NULL, RA | RT, true},
    {"POST", "/api/v1/sessions/s1/instances/alice/selfcheck", NULL, RA | RS,
     true},
    {"GET", "/api/v1/sessions/s1/instances/alice/results", NULL,
     RA | RT | RE | RS, true},
    {"GET", "/api/v1/sessions/s1/instances/alice/history", NULL,
     RA | RT | RE | RS, true},
    {"GET", "/api/v1/sessions/s1/instances/alice/report", NULL, RA | RT | RE,
     true},
    {"PUT", "/api/v1/sessions/s1/instances/alice/manual/droits-site",
     "{\"fraction\":0.5}", RA | RE, true},
};

/* For an allowed role on an unsafe endpoint, aim at a session that does
 * not exist: 404 proves the role passed without changing s1. */
static void nosuch_path(const char *path, char *ret, size_t cap)
{
	const char *p = strstr(path, "/s1");
	snprintf(ret, cap, "%.*s/nosuch%s", (int)(p - path), path, p + 3);
}

TL_TEST(role_matrix)
{
	struct {
		const char *name, *tok;
		int bit;
	} who[] = {
	    {"admin", F.admin, RA},	 {"trainer", tok_trainer, RT},
	    {"evaluator", tok_eval, RE}, {"alice", tok_alice, RS},
	    {"bob", tok_bob, 0}, /* a trainee, not the owner */
	};
	size_t n = sizeof endpoints / sizeof *endpoints;
	int checked = 0;
	for (size_t i = 0; i < n; i++) {
		const ep *e = &endpoints[i];
		size_t blen = e->body ? strlen(e->body) : 0;
		fx_resp r;
		fx_http(&F, e->method, e->path, NULL, e->body, blen, &r);
		if (r.status != 401)
			fprintf(stderr, "  %s %s without token: %ld\n",
				e->method, e->path, r.status);
		CHECK(r.status == 401);
		CHECK_CONTAINS(r.body, "\"error\"");
		fx_resp_clear(&r);
		fx_http(&F, e->method, e->path, "tlk_0000wrong", e->body, blen,
			&r);
		CHECK(r.status == 401);
		fx_resp_clear(&r);
		for (size_t k = 0; k < sizeof who / sizeof *who; k++) {
			bool allowed = e->allowed & who[k].bit;
			/* bob is a trainee: the route lets trainees in but
			 * alice's resources are not his */
			bool trainee_route = e->allowed & RS;
			char path[256];
			snprintf(path, sizeof path, "%s", e->path);
			if (allowed && !e->safe)
				nosuch_path(e->path, path, sizeof path);
			fx_http(&F, e->method, path, who[k].tok, e->body, blen,
				&r);
			/* bob is a trainee of s1 too: he may see the
			 * session and global routes, not alice's instance */
			bool bob_ok = who[k].bit == 0 && trainee_route &&
				      !strstr(e->path, "/alice");
			long want_denied = bob_ok ? 0 : !allowed ? 403 : 0;
			bool ok = want_denied
				      ? r.status == want_denied
				      : r.status != 401 && r.status != 403 &&
					    r.status < 500;
			if (!ok)
				fprintf(stderr,
					"  %s %s as %s: got %ld (%s), want "
					"%s\n",
					e->method, path, who[k].name, r.status,
					r.body ? r.body : "",
					want_denied ? "403" : "allowed");
			CHECK(ok);
			if (!allowed && want_denied == 403)
				CHECK_CONTAINS(r.body, "\"error\"");
			fx_resp_clear(&r);
			checked++;
		}
	}
	CHECK(checked == (int)n * 5);
}

/* ---- validation ---- */

static void expect_field(const char *method, const char *path, const char *body,
			 long want, const char *field)
{
	long st;
	json_t *j = fx_json(&F, method, path, F.admin, body, &st);
	const char *got = json_string_value(json_object_get(j, "field"));
	bool ok = st == want && (!field || (got && !strcmp(got, field)));
	if (!ok)
		fprintf(stderr, "  %s %s %s: got %ld field=%s (%s)\n", method,
			path, body, st, got ? got : "-",
			json_string_value(json_object_get(j, "error")) ?: "");
	CHECK(ok);
	CHECK(json_string_value(json_object_get(j, "error")) != NULL);
	json_decref(j);
}

TL_TEST(validation)
{
	const char *S = "/api/v1/sessions";
	expect_field("POST", S, "{not json", 400, NULL);
	expect_field("POST", S, "[1,2]", 422, NULL);
	expect_field("POST", S,
		     "{\"trainees\":[{\"id\":\"a\",\"name\":\"A\"}]}", 422,
		     "scenario");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
		     "\"a\",\"name\":\"A\"}],\"colour\":\"red\"}",
		     422, "colour");
	expect_field(
	    "POST", S,
	    "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
	    "\"a\",\"name\":\"A\"},{\"id\":\"Bad Id\",\"name\":\"B\"}]}",
	    422, "trainees[1].id");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
		     "\"a\"}]}",
		     422, "trainees[0].name");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
		     "\"a\",\"name\":\"A\",\"age\":3}]}",
		     422, "trainees[0].age");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"trainees\":[],"
		     "\"duration_min\":5}",
		     422, "trainees");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
		     "\"a\",\"name\":\"A\"}],\"duration_min\":\"5\"}",
		     422, "duration_min");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
		     "\"a\",\"name\":\"A\"}],\"duration_min\":-5}",
		     422, "duration_min");
	expect_field("POST", S,
		     "{\"scenario\":\"nope\",\"trainees\":[{\"id\":\"a\","
		     "\"name\":\"A\"}]}",
		     422, "scenario");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
		     "\"a\",\"name\":\"A\"},{\"id\":\"a\",\"name\":\"B\"}]}",
		     422, "trainees[1].id");
	expect_field("POST", S,
		     "{\"scenario\":\"linux-web-01\",\"scenario\":\"x\","
		     "\"trainees\":[]}",
		     400, NULL);
	expect_field("POST", "/api/v1/sessions/s1/extend", "{\"minutes\":0}",
		     422, "minutes");
	expect_field("POST", "/api/v1/sessions/s1/extend", "{}", 422,
		     "minutes");
	expect_field("POST", "/api/v1/sessions/s1/end", "{\"now\":true}", 422,
		     "now");
	expect_field("PUT",
		     "/api/v1/sessions/s1/instances/alice/manual/droits-site",
		     "{\"fraction\":2}", 422, "fraction");
	expect_field("PUT",
		     "/api/v1/sessions/s1/instances/alice/manual/droits-site",
		     "{\"fraction\":true}", 422, "fraction");
	expect_field("POST", "/api/v1/tokens",
		     "{\"name\":\"t\",\"role\":\"trainee\"}", 422, "role");
	/* nesting past the cap is refused before parsing */
	char deep[200];
	memset(deep, '[', 100);
	deep[100] = '\0';
	expect_field("POST", S, deep, 400, NULL);
	/* a body over max_body: 413 */
	size_t big = (1u << 20) + 10;
	char *b = malloc(big + 1);
	memset(b, ' ', big);
	b[0] = '{';
	b[big - 1] = '}';
	b[big] = '\0';
	fx_resp r;
	fx_http(&F, "POST", S, F.admin, b, big, &r);
	CHECK(r.status == 413);
	CHECK_CONTAINS(r.body, "larger than");
	fx_resp_clear(&r);
	free(b);
	/* NUL inside a string */
	fx_http(&F, "POST", S, F.admin,
		"{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":\"a\","
		"\"name\":\"A\\u0000B\"}]}",
		strlen("{\"scenario\":\"linux-web-01\",\"trainees\":[{\"id\":"
		       "\"a\",\"name\":\"A\\u0000B\"}]}"),
		&r);
	CHECK(r.status == 422 || r.status == 400);
	fx_resp_clear(&r);
}

/* ---- grading, results, trainee isolation ---- */

TL_TEST(grading_and_grid)
{
	long st;
	json_t *j = fx_json(&F, "POST", "/api/v1/sessions/s1/grade",
			    tok_trainer, NULL, &st);
	CHECK(st == 202);
	CHECK(json_array_size(json_object_get(j, "jobs")) == 2);
	json_decref(j);
	json_t *s =
	    fx_wait_session(&F, "s1", tok_trainer, graded_all_ready, 30);
	CHECK(graded_all_ready(s));
	json_decref(s);
	j = fx_json(&F, "GET", "/api/v1/sessions/s1/instances/alice/results",
		    tok_eval, NULL, &st);
	CHECK(st == 200);
	json_t *crits = json_object_get(j, "criteria");
	CHECK(json_array_size(crits) == 6);
	CHECK(json_array_size(
		  json_object_get(json_array_get(crits, 0), "evidence")) == 1);
	CHECK(json_object_get(j, "competences") != NULL);
	double score = json_number_value(json_object_get(j, "score"));
	json_decref(j);
	/* the grid agrees with the results */
	j = fx_json(&F, "GET", "/api/v1/sessions/s1/grid", tok_eval, NULL, &st);
	CHECK(st == 200);
	CHECK(json_array_size(json_object_get(j, "criteria")) == 6);
	CHECK(json_array_size(json_object_get(j, "rows")) == 3);
	json_t *row = json_array_get(json_object_get(j, "rows"), 0);
	CHECK_STR(json_string_value(json_object_get(row, "trainee")), "alice");
	CHECK(json_number_value(json_object_get(json_object_get(row, "run"),
						"score")) == score);
	CHECK(json_object_size(json_object_get(row, "cells")) == 6);
	json_decref(j);
	fx_resp r;
	fx_http(&F, "GET", "/api/v1/sessions/s1/grid?format=csv", tok_eval,
		NULL, 0, &r);
	CHECK(r.status == 200);
	CHECK(!strncmp(r.body ?: "", "trainee,name,state,run", 22));
	CHECK_CONTAINS(r.body, "\r\nalice,Alice Martin,ready,");
	CHECK_CONTAINS(r.body, "droits-site");
	fx_resp_clear(&r);
	/* the report carries evidence and history */
	j = fx_json(&F, "GET", "/api/v1/sessions/s1/instances/bob/report",
		    tok_eval, NULL, &st);
	CHECK(st == 200);
	CHECK(json_array_size(json_object_get(j, "history")) >= 1);
	CHECK(json_is_object(json_object_get(j, "run")));
	CHECK(json_object_get(json_object_get(j, "instance"), "machines"));
	json_decref(j);
}

static bool self_done(fx *f, const char *tok)
{
	double deadline = fx_now() + 20;
	while (fx_now() < deadline) {
		long st;
		json_t *h = fx_json(
		    f, "GET", "/api/v1/sessions/s1/instances/alice/history",
		    tok, NULL, &st);
		size_t n = json_array_size(h);
		json_decref(h);
		if (n > 0)
			return true;
		fx_sleep_ms(50);
	}
	return false;
}

TL_TEST(trainee_view)
{
	long st;
	/* alice sees her instance with her password, not bob's */
	json_t *j = fx_json(&F, "GET", "/api/v1/sessions/s1/instances/alice",
			    tok_alice, NULL, &st);
	CHECK(st == 200);
	CHECK(json_string_value(json_object_get(
		  json_array_get(json_object_get(j, "machines"), 0),
		  "password")) != NULL);
	json_decref(j);
	j = fx_json(&F, "GET", "/api/v1/sessions/s1/instances/bob", tok_alice,
		    NULL, &st);
	CHECK(st == 403);
	json_decref(j);
	j = fx_json(&F, "GET", "/api/v1/sessions/s1", tok_alice, NULL, &st);
	CHECK(st == 200);
	CHECK(json_array_size(json_object_get(j, "instances")) == 1);
	CHECK(json_object_get(j, "progress") == NULL);
	json_decref(j);
	/* the scenario without probes nor solutions */
	fx_resp r;
	fx_http(&F, "GET", "/api/v1/scenarios/linux-web-01", tok_alice, NULL, 0,
		&r);
	CHECK(r.status == 200);
	CHECK(strstr(r.body ?: "", "probes") == NULL);
	CHECK(strstr(r.body ?: "", "solution") == NULL);
	CHECK(strstr(r.body ?: "", "srv.sh") == NULL);
	CHECK_CONTAINS(r.body, "briefing");
	fx_resp_clear(&r);
	fx_http(&F, "GET", "/api/v1/scenarios/linux-web-01", tok_eval, NULL, 0,
		&r);
	CHECK(strstr(r.body ?: "", "solution") == NULL);
	CHECK_CONTAINS(r.body, "probes");
	fx_resp_clear(&r);
	/* trainer runs are not shown to the trainee: only her own
	 * self-checks, filtered */
	j = fx_json(&F, "GET", "/api/v1/sessions/s1/instances/alice/history",
		    tok_alice, NULL, &st);
	CHECK(st == 200);
	size_t i;
	json_t *h;
	json_array_foreach (j, i, h)
		CHECK_STR(json_string_value(json_object_get(h, "kind")),
			  "self");
	json_decref(j);
	/* one grading at a time per instance: retry while one runs (429) */
	double deadline = fx_now() + 20;
	do {
		j = fx_json(&F, "POST",
			    "/api/v1/sessions/s1/instances/alice/selfcheck",
			    tok_alice, NULL, &st);
		json_decref(j);
		if (st == 429)
			fx_sleep_ms(50);
	} while (st == 429 && fx_now() < deadline);
	CHECK(st == 202);
	CHECK(self_done(&F, tok_alice));
	fx_http(&F, "GET", "/api/v1/sessions/s1/instances/alice/results",
		tok_alice, NULL, 0, &r);
	CHECK(r.status == 200);
	CHECK_CONTAINS(r.body, "\"kind\":\"self\"");
	CHECK(strstr(r.body ?: "", "evidence") == NULL); /* detail: hint */
	CHECK(strstr(r.body ?: "", "competences") == NULL);
	fx_resp_clear(&r);
	/* bob cannot self-check alice */
	j = fx_json(&F, "POST", "/api/v1/sessions/s1/instances/alice/selfcheck",
		    tok_bob, NULL, &st);
	CHECK(st == 403);
	json_decref(j);
}

typedef struct {
	char *buf;
	size_t len;
	char url[256];
	char auth[256];
} sse_cap;

static size_t sse_write(char *p, size_t s, size_t n, void *ud)
{
	sse_cap *c = ud;
	c->buf = realloc(c->buf, c->len + s * n + 1);
	memcpy(c->buf + c->len, p, s * n);
	c->len += s * n;
	c->buf[c->len] = '\0';
	return s * n;
}

static void *sse_thread(void *arg)
{
	sse_cap *c = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, c->auth);
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2500L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_perform(h);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return NULL;
}

TL_TEST(events_stream)
{
	sse_cap staff = {0}, alice = {0};
	snprintf(staff.url, sizeof staff.url, "%s/api/v1/events?session=s1",
		 F.base);
	snprintf(staff.auth, sizeof staff.auth, "Authorization: Bearer %s",
		 tok_trainer);
	snprintf(alice.url, sizeof alice.url, "%s/api/v1/events", F.base);
	snprintf(alice.auth, sizeof alice.auth, "Authorization: Bearer %s",
		 tok_alice);
	pthread_t t1, t2;
	pthread_create(&t1, NULL, sse_thread, &staff);
	pthread_create(&t2, NULL, sse_thread, &alice);
	fx_sleep_ms(400);
	long st;
	json_t *j = fx_json(&F, "POST", "/api/v1/sessions/s1/grade",
			    tok_trainer, NULL, &st);
	CHECK(st == 202);
	json_decref(j);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_CONTAINS(staff.buf, "event: graded");
	CHECK_CONTAINS(staff.buf, "\"trainee\":\"bob\"");
	CHECK_CONTAINS(alice.buf, "event: graded");
	CHECK(strstr(alice.buf ?: "", "\"trainee\":\"bob\"") == NULL);
	free(staff.buf);
	free(alice.buf);
}

TL_TEST(reset_and_extend)
{
	long st;
	json_t *j =
	    fx_json(&F, "POST",
		    "/api/v1/sessions/s1/instances/alice/machines/srv/reset",
		    tok_trainer, NULL, &st);
	CHECK(st == 202);
	json_decref(j);
	j = fx_json(&F, "POST",
		    "/api/v1/sessions/s1/instances/alice/machines/nope/reset",
		    tok_trainer, NULL, &st);
	CHECK(st == 404);
	json_decref(j);
	json_t *before =
	    fx_json(&F, "GET", "/api/v1/sessions/s1", tok_trainer, NULL, NULL);
	j = fx_json(&F, "POST", "/api/v1/sessions/s1/extend", tok_trainer,
		    "{\"minutes\":30}", &st);
	CHECK(st == 200);
	CHECK(json_integer_value(json_object_get(j, "window_end")) ==
	      json_integer_value(json_object_get(before, "window_end")) + 1800);
	json_decref(j);
	json_decref(before);
}

/* Jobs can be followed; reference solutions are refused unless the
 * daemon's configuration enables them, and then admins only; the test
 * backend, which has no machines, says it cannot run them. */
TL_TEST(jobs_and_solutions)
{
	long st;
	json_t *j = fx_json(
	    &F, "POST", "/api/v1/sessions/s1/instances/alice/machines/srv/reset",
	    tok_trainer, NULL, &st);
	CHECK(st == 202);
	char path[64];
	snprintf(path, sizeof path, "/api/v1/jobs/%lld",
		 (long long)json_integer_value(json_object_get(j, "job")));
	json_decref(j);
	j = fx_json(&F, "GET", path, tok_trainer, NULL, &st);
	CHECK(st == 200);
	CHECK(!strcmp(json_string_value(json_object_get(j, "kind")) ?: "",
		      "reset"));
	CHECK(!strcmp(json_string_value(json_object_get(j, "target")) ?: "",
		      "srv"));
	json_decref(j);
	j = fx_json(&F, "GET", path, tok_eval, NULL, &st);
	CHECK(st == 403);
	json_decref(j);
	j = fx_json(&F, "GET", "/api/v1/jobs/999999", F.admin, NULL, &st);
	CHECK(st == 404);
	json_decref(j);
	j = fx_json(&F, "GET", "/api/v1/jobs/x1", F.admin, NULL, &st);
	CHECK(st == 404);
	json_decref(j);

	const char *sol = "/api/v1/sessions/s1/instances/alice/solution";
	fx_resp r;
	fx_http(&F, "POST", sol, F.admin, "{\"part\":\"full\"}", 15, &r);
	CHECK(r.status == 403);
	CHECK_CONTAINS(r.body, "solutions = off");
	fx_resp_clear(&r);
	fx_http(&F, "POST", sol, tok_trainer, "{\"part\":\"full\"}", 15, &r);
	CHECK(r.status == 403);
	fx_resp_clear(&r);
	fx_http(&F, "POST", sol, tok_alice, "{\"part\":\"full\"}", 15, &r);
	CHECK(r.status == 403);
	fx_resp_clear(&r);
	fx_http(&F, "POST", sol, F.admin, "{\"parts\":\"full\"}", 16, &r);
	CHECK(r.status == 422);
	CHECK_CONTAINS(r.body, "parts");
	fx_resp_clear(&r);
}

/* The window ends: as if time passed, the test moves window_end into the
 * past through the store (a second writer on the WAL file). */
TL_TEST(window_end_final_grading)
{
	char db[320];
	snprintf(db, sizeof db, "%s/state/state.db", F.dir);
	tl_error err;
	tl_store *st = tl_store_open(db, NULL, &err);
	CHECK(st != NULL);
	if (st) {
		CHECK(tl_store_session_set_window_end(st, "s1", time(NULL) - 1,
						      &err) == 0);
		tl_store_close(st);
	}
	json_t *s = fx_wait_session(&F, "s1", tok_trainer, ended, 30);
	CHECK(ended(s));
	CHECK(fx_count_state(s, "stopped") == 2);
	json_decref(s);
	long code;
	json_t *j =
	    fx_json(&F, "GET", "/api/v1/sessions/s1/instances/alice/history",
		    tok_eval, NULL, &code);
	CHECK(code == 200);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(j, 0), "kind")),
	    "final");
	json_decref(j);
	/* grading after the end is refused */
	j = fx_json(&F, "POST", "/api/v1/sessions/s1/grade", tok_trainer, NULL,
		    &code);
	CHECK(code == 409);
	json_decref(j);
	/* the machines were stopped, not removed (kept for the jury) */
	char dir[320];
	snprintf(dir, sizeof dir, "%s/state/test-backend/i1-srv.json", F.dir);
	CHECK(access(dir, F_OK) == 0);
}

TL_TEST(manual_and_freeze)
{
	long st;
	/* a probe-graded criterion takes no manual score */
	json_t *j = fx_json(
	    &F, "PUT", "/api/v1/sessions/s1/instances/alice/manual/droits-site",
	    tok_eval, "{\"fraction\":0.5}", &st);
	CHECK(st == 422);
	json_decref(j);
	j = fx_json(&F, "GET", "/api/v1/sessions/s1/instances/bob/report",
		    tok_eval, NULL, &st);
	double before = json_number_value(
	    json_object_get(json_object_get(j, "run"), "score"));
	json_decref(j);
	j = fx_json(&F, "POST", "/api/v1/sessions/s1/freeze", tok_eval, NULL,
		    &st);
	CHECK(st == 200);
	CHECK(json_is_true(json_object_get(j, "frozen")));
	json_decref(j);
	j = fx_json(&F, "POST", "/api/v1/sessions/s1/freeze", tok_eval, NULL,
		    &st);
	CHECK(st == 409);
	json_decref(j);
	j = fx_json(&F, "GET", "/api/v1/sessions/s1/instances/bob/report",
		    tok_eval, NULL, &st);
	json_t *run = json_object_get(j, "run");
	CHECK(json_is_true(json_object_get(run, "frozen")));
	CHECK_STR(json_string_value(json_object_get(run, "kind")), "final");
	CHECK(json_number_value(json_object_get(run, "score")) == before);
	json_decref(j);
	/* frozen: the session's machines are removed */
	json_t *s = fx_wait_session(&F, "s1", tok_trainer, destroyed, 30);
	CHECK(destroyed(s));
	CHECK(fx_count_state(s, "destroyed") == 3);
	json_decref(s);
	char dir[320];
	snprintf(dir, sizeof dir, "%s/state/test-backend/i1-srv.json", F.dir);
	CHECK(access(dir, F_OK) != 0);
	/* the store refuses to change a frozen run, even from outside */
	char db[320];
	snprintf(db, sizeof db, "%s/state/state.db", F.dir);
	tl_error err;
	tl_store *stp = tl_store_open(db, NULL, &err);
	CHECK(stp != NULL);
	if (stp) {
		CHECK(tl_store_manual_put(stp, 2, "x", 1, NULL, "t", &err) ==
		      TL_STORE_CONFLICT);
		tl_store_close(stp);
	}
	/* the audit log tells who did what */
	j = fx_json(&F, "GET", "/api/v1/audit?limit=500", F.admin, NULL, &st);
	bool saw_freeze = false, saw_create = false;
	size_t i;
	json_t *a;
	json_array_foreach (j, i, a) {
		const char *act =
		    json_string_value(json_object_get(a, "action"));
		const char *who =
		    json_string_value(json_object_get(a, "actor"));
		saw_freeze |=
		    !strcmp(act, "session.freeze") && !strcmp(who, "eve");
		saw_create |=
		    !strcmp(act, "session.create") && !strcmp(who, "tina");
	}
	CHECK(saw_freeze && saw_create);
	json_decref(j);
}

TL_TEST(graceful_stop)
{
	int st = fx_stop(&F, SIGTERM);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	any_failed_before = tl_test_failures_ > 0;
	fx_cleanup(&F, any_failed_before);
}

static void setup(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_api TSSRLABD\n");
		exit(2);
	}
	exe = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int tests_main(int argc, char **argv);
#define main tests_main
TL_TESTS(T(start), T(health_and_metrics), T(session_flow_create),
	 T(role_matrix), T(validation), T(grading_and_grid), T(trainee_view),
	 T(events_stream), T(reset_and_extend), T(jobs_and_solutions), T(window_end_final_grading),
	 T(manual_and_freeze), T(graceful_stop))
#undef main

int main(int argc, char **argv)
{
	setup(argc, argv);
	int rc = tests_main(1, argv);
	if (F.dir[0])
		fx_cleanup(&F, true);
	curl_global_cleanup();
	return rc;
}
