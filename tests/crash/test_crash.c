/*
 * test_crash.c: faults the daemon must survive, each on a real tssrlabd
 * (test backend, temp state dir, 127.0.0.1):
 *   - kill -9 during provisioning: after restart no instance is half made
 *     (every ready instance has all its machines, in the store and in the
 *     backend; the cut jobs were rolled back and redone), no orphan;
 *   - kill -9 during grading: after restart every instance has exactly one
 *     run of that grading (none lost, none stored twice);
 *   - clients that disconnect mid-request (in the headers, in the body,
 *     before reading the answer, an event stream): the daemon serves on;
 *   - 1,000 concurrent requests on loopback: all answered 200;
 *   - a full disk for the state dir (a small tmpfs mounted for the test;
 *     where mounting is not allowed, SQLite's max_page_count): writes
 *     answered 507 with a message, reads still served, nothing half
 *     written, and writes work again once space is freed.
 * usage: test_crash TSSRLABD   (TSSRLAB_DATADIR: the definitions)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "daemon_fixture.h"
#include "tl_test.h"
#include "tssrlab/store.h"

static const char *exe;
static fx F;
static bool failed_any;

/* Definitions: the shipped tree plus a two-machine scenario, so that a
 * half-made instance (one machine of two) can exist. */
static int make_defs(fx *f)
{
	const char *src = getenv("TSSRLAB_DATADIR");
	if (!src)
		return -1;
	char cmd[2048];
	snprintf(
	    cmd, sizeof cmd,
	    "set -e; d='%s/defs'; mkdir -p \"$d/scenarios\"; "
	    "cp -r '%s/labs' \"$d/\"; "
	    "cp -r '%s/scenarios/referential' \"$d/scenarios/\"; "
	    "cat > \"$d/scenarios/crash-pair.json\" <<'JSON'\n"
	    "{\"id\": \"crash-pair\", \"title\": \"Deux machines\", "
	    "\"briefing\": \"test\", \"lab\": \"tiny-pair\", "
	    "\"duration_min\": 60, \"competences\": [\"cp9\"], "
	    "\"tasks\": [{\"id\": \"t1\", \"title\": \"T1\", \"criteria\": "
	    "[{\"id\": \"a-up\", \"label\": \"alpha\", \"ref\": \"cp9.1\", "
	    "\"weight\": 1, \"probes\": [{\"kind\": \"file.exists\", "
	    "\"machine\": \"alpha\", \"args\": {\"path\": \"/etc/x\"}}]}, "
	    "{\"id\": \"b-up\", \"label\": \"beta\", \"ref\": \"cp9.1\", "
	    "\"weight\": 2, \"probes\": [{\"kind\": \"file.exists\", "
	    "\"machine\": \"beta\", \"args\": {\"path\": \"/etc/y\"}}]}]}]}\n"
	    "JSON\n",
	    f->dir, src, src);
	if (system(cmd) != 0)
		return -1;
	snprintf(f->defs, sizeof f->defs, "%s/defs", f->dir);
	return 0;
}

static int count_files(const char *dir, const char *prefix)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "ls '%s' 2>/dev/null | grep -c '^%s' || true",
		 dir, prefix);
	FILE *p = popen(cmd, "r");
	int n = 0;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

static json_t *store_rows(fx *f, const char *state)
{
	char db[320];
	snprintf(db, sizeof db, "%s/state/state.db", f->dir);
	tl_error err;
	tl_store *st = tl_store_open(db, NULL, &err);
	if (!st)
		return NULL;
	json_t *rows = NULL;
	tl_store_jobs_in_state(st, state, &rows, &err);
	tl_store_close(st);
	return rows;
}

static bool all_ready(const json_t *s)
{
	return fx_count_state(s, "ready") ==
	       json_array_size(json_object_get(s, "instances"));
}

static bool all_graded(const json_t *s)
{
	const json_t *p = json_object_get(s, "progress");
	return json_integer_value(json_object_get(p, "instances_graded")) ==
	       json_integer_value(json_object_get(p, "instances_total"));
}

static void create(fx *f, const char *id, const char *scenario, int n)
{
	char body[4096];
	int len = snprintf(body, sizeof body,
			   "{\"id\":\"%s\",\"scenario\":\"%s\",\"trainees\":[",
			   id, scenario);
	for (int i = 0; i < n; i++)
		len += snprintf(body + len, sizeof body - (size_t)len,
				"%s{\"id\":\"t%d\",\"name\":\"T %d\"}",
				i ? "," : "", i, i);
	snprintf(body + len, sizeof body - (size_t)len, "]}");
	long st;
	json_t *j = fx_json(f, "POST", "/api/v1/sessions", f->admin, body, &st);
	CHECK(st == 201);
	json_decref(j);
}

TL_TEST(kill_during_provisioning)
{
	CHECK(fx_prepare(&F, exe, "test_provision_ms = 3000") == 0);
	CHECK(make_defs(&F) == 0);
	CHECK(fx_launch(&F) == 0);
	create(&F, "p1", "crash-pair", 4);
	/* wait until an instance is half made: its first machine exists,
	 * its second not yet */
	char bdir[320];
	snprintf(bdir, sizeof bdir, "%s/state/test-backend", F.dir);
	double deadline = fx_now() + 20;
	while (count_files(bdir, "i") < 1 && fx_now() < deadline)
		fx_sleep_ms(20);
	int half = count_files(bdir, "i");
	CHECK(half >= 1 && half < 8);
	fx_stop(&F, SIGKILL);
	/* restart, quicker this time */
	CHECK(fx_restart(&F, "test_provision_ms = 100") == 0);
	json_t *s = fx_wait_session(&F, "p1", F.admin, all_ready, 30);
	CHECK(all_ready(s));
	size_t i;
	json_t *inst;
	json_array_foreach (json_object_get(s, "instances"), i, inst) {
		/* whole: both machines, in the store and in the backend */
		CHECK(json_array_size(json_object_get(inst, "machines")) == 2);
		char prefix[32];
		snprintf(
		    prefix, sizeof prefix, "i%lld-",
		    (long long)json_integer_value(json_object_get(inst, "id")));
		CHECK(count_files(bdir, prefix) == 2);
	}
	json_decref(s);
	CHECK(count_files(bdir, "i") == 8); /* nothing else: no orphan */
	json_t *rb = store_rows(&F, "rolled_back");
	CHECK(json_array_size(rb) >= 1);
	json_decref(rb);
	json_t *running = store_rows(&F, "running");
	CHECK(json_array_size(running) == 0);
	json_decref(running);
}

static int runs_of(fx *f, const char *session, const char *trainee,
		   const char *kind)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/sessions/%s/instances/%s/history",
		 session, trainee);
	json_t *h = fx_json(f, "GET", path, f->admin, NULL, NULL);
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach (h, i, r)
		n += !strcmp(
		    json_string_value(json_object_get(r, "kind")) ?: "", kind);
	json_decref(h);
	return n;
}

TL_TEST(kill_during_grading)
{
	fx_stop(&F, SIGTERM);
	CHECK(fx_restart(&F, "test_grade_ms = 1500\nworkers = 2") == 0);
	long st;
	json_t *j = fx_json(&F, "POST", "/api/v1/sessions/p1/grade", F.admin,
			    NULL, &st);
	CHECK(st == 202);
	CHECK(json_array_size(json_object_get(j, "jobs")) == 4);
	json_decref(j);
	/* two workers: two gradings finish, the next two are cut */
	double deadline = fx_now() + 20;
	int done = 0;
	while (fx_now() < deadline) {
		done = runs_of(&F, "p1", "t0", "trainer") +
		       runs_of(&F, "p1", "t1", "trainer") +
		       runs_of(&F, "p1", "t2", "trainer") +
		       runs_of(&F, "p1", "t3", "trainer");
		if (done >= 2)
			break;
		fx_sleep_ms(20);
	}
	fx_sleep_ms(300);
	fx_stop(&F, SIGKILL);
	json_t *running = store_rows(&F, "running");
	CHECK(json_array_size(running) >= 1); /* some were cut */
	json_decref(running);
	CHECK(fx_restart(&F, "test_grade_ms = 50") == 0);
	json_t *s = fx_wait_session(&F, "p1", F.admin, all_graded, 30);
	CHECK(all_graded(s));
	json_decref(s);
	/* wait for every grading job to end, then: one run each */
	deadline = fx_now() + 20;
	for (;;) {
		json_t *q = store_rows(&F, "queued"),
		       *r = store_rows(&F, "running");
		size_t n = json_array_size(q) + json_array_size(r);
		json_decref(q);
		json_decref(r);
		if (n == 0 || fx_now() > deadline)
			break;
		fx_sleep_ms(50);
	}
	for (int i = 0; i < 4; i++) {
		char t[8];
		snprintf(t, sizeof t, "t%d", i);
		int n = runs_of(&F, "p1", t, "trainer");
		if (n != 1)
			fprintf(stderr, "  %s has %d runs\n", t, n);
		CHECK(n == 1);
	}
}

/* ---- clients that go away ---- */

static int raw_connect(fx *f)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)f->port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void raw_send_close(fx *f, const char *data, bool read_some)
{
	int fd = raw_connect(f);
	if (fd < 0)
		return;
	ssize_t w = send(fd, data, strlen(data), MSG_NOSIGNAL);
	(void)w;
	if (read_some) {
		char buf[64];
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		(void)r;
	}
	close(fd);
}

TL_TEST(client_disconnects)
{
	char req[1024];
	for (int i = 0; i < 50; i++) {
		/* in the middle of the headers */
		raw_send_close(&F, "GET /api/v1/sessions HTTP/1.1\r\nHost: x",
			       false);
		/* in the middle of a body */
		snprintf(req, sizeof req,
			 "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\n"
			 "Authorization: Bearer %s\r\nContent-Length: 5000\r\n"
			 "\r\n{\"scenario\":\"crash-pair\",\"trainees\":[",
			 F.admin);
		raw_send_close(&F, req, false);
		/* a whole request, then gone before the answer */
		snprintf(req, sizeof req,
			 "GET /api/v1/sessions/p1/grid HTTP/1.1\r\nHost: x\r\n"
			 "Authorization: Bearer %s\r\n\r\n",
			 F.admin);
		raw_send_close(&F, req, false);
		/* an event stream, read a little, gone */
		snprintf(req, sizeof req,
			 "GET /api/v1/events HTTP/1.1\r\nHost: x\r\n"
			 "Authorization: Bearer %s\r\n\r\n",
			 F.admin);
		raw_send_close(&F, req, true);
	}
	long st;
	json_t *j = fx_json(&F, "GET", "/healthz", NULL, NULL, &st);
	CHECK(st == 200);
	json_decref(j);
	create(&F, "after-disconnects", "crash-pair", 1);
	/* nothing half-created by the cut POSTs */
	j = fx_json(&F, "GET", "/api/v1/sessions", F.admin, NULL, &st);
	CHECK(st == 200 && json_array_size(j) == 2);
	json_decref(j);
}

TL_TEST(thousand_concurrent)
{
	enum { N = 1000 };
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)N);
	CURL *h[N];
	fx_resp r[N];
	char url[256], auth[256];
	snprintf(url, sizeof url, "%s/api/v1/sessions/p1/grid", F.base);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", F.admin);
	struct curl_slist *hd = curl_slist_append(NULL, auth);
	for (int i = 0; i < N; i++) {
		memset(&r[i], 0, sizeof r[i]);
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, fx_write);
		curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &r[i]);
		curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(h[i], CURLOPT_FORBID_REUSE, 1L);
		curl_multi_add_handle(m, h[i]);
	}
	int running = 1;
	double t0 = fx_now();
	while (running && fx_now() - t0 < 120) {
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	int ok = 0;
	for (int i = 0; i < N; i++) {
		long code = 0;
		curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code);
		ok += code == 200 && r[i].body && strstr(r[i].body, "\"rows\"");
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
		fx_resp_clear(&r[i]);
	}
	curl_slist_free_all(hd);
	curl_multi_cleanup(m);
	if (ok != N)
		fprintf(stderr, "  %d of %d answered 200\n", ok, N);
	CHECK(ok == N);
	int st = fx_stop(&F, SIGTERM);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	failed_any |= tl_test_failures_ > 0;
	fx_cleanup(&F, failed_any);
}

/* ---- a full disk ---- */

static char mnt[300];

TL_TEST(full_disk)
{
	fx G;
	CHECK(fx_prepare(&G, exe, "") == 0);
	snprintf(mnt, sizeof mnt, "%s/state", G.dir);
	mkdir(mnt, 0700);
	/* TSSRLAB_TEST_NO_MOUNT=1 tries the fallback where mounting works */
	bool mounted =
	    !getenv("TSSRLAB_TEST_NO_MOUNT") &&
	    mount("tssrlab-test", mnt, "tmpfs", 0, "size=3m,mode=0700") == 0;
	if (mounted) {
		printf("  full disk: a 3 MiB tmpfs on the state dir\n");
		/* take most of the space up front */
		char cmd[400];
		snprintf(cmd, sizeof cmd,
			 "dd if=/dev/zero of='%s/filler' bs=64k count=36 "
			 "2>/dev/null",
			 mnt);
		CHECK(system(cmd) == 0);
	} else {
		printf("  full disk: no tmpfs (%s); simulated with "
		       "db_max_pages\n",
		       getenv("TSSRLAB_TEST_NO_MOUNT")
			   ? "TSSRLAB_TEST_NO_MOUNT is set"
			   : strerror(errno));
		snprintf(G.extra, sizeof G.extra, "db_max_pages = 120\n");
		fx_write_conf(&G);
	}
	CHECK(fx_launch(&G) == 0);
	long st = 0;
	int made = 0;
	char body[8192];
	for (int i = 0; i < 400; i++) {
		int len = snprintf(body, sizeof body,
				   "{\"id\":\"f%d\",\"scenario\":\"linux-web-"
				   "01\",\"trainees\":[",
				   i);
		for (int k = 0; k < 40; k++)
			len += snprintf(body + len, sizeof body - (size_t)len,
					"%s{\"id\":\"trainee-%d\",\"name\":\"A "
					"rather long display name %d\"}",
					k ? "," : "", k, k);
		snprintf(body + len, sizeof body - (size_t)len, "]}");
		json_t *j =
		    fx_json(&G, "POST", "/api/v1/sessions", G.admin, body, &st);
		if (st == 507) {
			CHECK_CONTAINS(
			    json_string_value(json_object_get(j, "error")),
			    "full");
			json_decref(j);
			break;
		}
		json_decref(j);
		if (st != 201)
			break;
		made++;
	}
	if (st != 507)
		fprintf(stderr, "  last status %ld after %d sessions\n", st,
			made);
	CHECK(st == 507);
	/* reads still work, the daemon is alive */
	json_t *j = fx_json(&G, "GET", "/api/v1/sessions", G.admin, NULL, &st);
	CHECK(st == 200);
	CHECK((int)json_array_size(j) == made);
	json_decref(j);
	j = fx_json(&G, "GET", "/healthz", NULL, NULL, &st);
	CHECK(st == 200);
	json_decref(j);
	/* free space: writes work again */
	if (mounted) {
		char p[400];
		snprintf(p, sizeof p, "%s/filler", mnt);
		unlink(p);
	} else {
		fx_stop(&G, SIGTERM);
		CHECK(fx_restart(&G, "db_max_pages = 0") == 0);
	}
	j = fx_json(&G, "POST", "/api/v1/sessions", G.admin,
		    "{\"id\":\"after\",\"scenario\":\"linux-web-01\","
		    "\"trainees\":[{\"id\":\"a\",\"name\":\"A\"}]}",
		    &st);
	CHECK(st == 201);
	json_decref(j);
	int code = fx_stop(&G, SIGTERM);
	CHECK(WIFEXITED(code) && WEXITSTATUS(code) == 0);
	/* the file is consistent: every session whole, with its jobs */
	char db[320];
	snprintf(db, sizeof db, "%s/state.db", mnt);
	tl_error err;
	tl_store *stp = tl_store_open(db, NULL, &err);
	CHECK(stp != NULL);
	if (stp) {
		json_t *list = NULL;
		CHECK(tl_store_session_list(stp, &list, &err) == 0);
		size_t i;
		json_t *s;
		json_array_foreach (list, i, s) {
			int64_t n =
			    json_integer_value(json_object_get(s, "trainees"));
			CHECK(n == 40 || n == 1);
		}
		CHECK((int)json_array_size(list) == made + 1);
		json_decref(list);
		tl_store_close(stp);
	}
	failed_any |= tl_test_failures_ > 0;
	fx_stop(&G, SIGKILL);
	if (mounted)
		umount2(mnt, MNT_DETACH);
	fx_cleanup(&G, failed_any);
	mnt[0] = '\0';
}

int tests_main(int argc, char **argv);
#define main tests_main
TL_TESTS(T(kill_during_provisioning), T(kill_during_grading),
	 T(client_disconnects), T(thousand_concurrent), T(full_disk))
#undef main

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_crash TSSRLABD\n");
		return 2;
	}
	exe = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = tests_main(1, argv);
	if (F.dir[0])
		fx_cleanup(&F, true);
	if (mnt[0])
		umount2(mnt, MNT_DETACH);
	curl_global_cleanup();
	return rc;
}
