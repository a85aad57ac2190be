/*
 * daemon_fixture.h: starts a real tssrlabd for a test — a fresh temp state
 * dir, a config with the test backend, a free port on 127.0.0.1 (port = 0,
 * read back from port_file) — and talks HTTP to it with libcurl. Also
 * kills it (-9 for crash tests), restarts it on the same state dir, and
 * removes everything at the end, also when a check failed.
 * Header-only: each test program includes it once.
 */
#ifndef TL_DAEMON_FIXTURE_H
#define TL_DAEMON_FIXTURE_H

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct fx {
	char dir[256];
	char conf[320];
	char log[320];
	char defs[320];	  /* definitions folder, "" = $TSSRLAB_DATADIR */
	char extra[1024]; /* config lines added to the test defaults */
	const char *exe;
	pid_t pid;
	int port;
	char base[128];
	char admin[128];
} fx;

static inline void fx_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline double fx_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int fx_read_line(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *ok = fgets(buf, (int)cap, f);
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* Starts (or restarts) the daemon on f->dir; waits until it listens. */
static inline int fx_launch(fx *f)
{
	char portfile[320];
	snprintf(portfile, sizeof portfile, "%s/port", f->dir);
	unlink(portfile);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		const char *root =
		    f->defs[0] ? f->defs : getenv("TSSRLAB_DATADIR");
		if (root)
			execl(f->exe, f->exe, "-f", "-c", f->conf, "-D", root,
			      (char *)NULL);
		else
			execl(f->exe, f->exe, "-f", "-c", f->conf,
			      (char *)NULL);
		_exit(127);
	}
	f->pid = pid;
	char line[64];
	double deadline = fx_now() + 30;
	while (fx_now() < deadline) {
		if (fx_read_line(portfile, line, sizeof line) == 0) {
			f->port = atoi(line);
			snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d",
				 f->port);
			char tok[320];
			snprintf(tok, sizeof tok, "%s/state/admin.token",
				 f->dir);
			fx_read_line(tok, f->admin, sizeof f->admin);
			return 0;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			f->pid = 0;
			fprintf(stderr, "  tssrlabd exited during start-up\n");
			return -1;
		}
		fx_sleep_ms(20);
	}
	fprintf(stderr, "  tssrlabd did not listen within 30 s\n");
	return -1;
}

/* (Re)writes the config: the test defaults, then f->extra. */
static inline int fx_write_conf(fx *f)
{
	FILE *c = fopen(f->conf, "we");
	if (!c)
		return -1;
	fprintf(c,
		"# written by daemon_fixture.h\n"
		"state_dir = %s/state\n"
		"listen = 127.0.0.1\n"
		"port = 0\n"
		"port_file = %s/port\n"
		"backend = test\n"
		"accel = tcg\n"
		"workers = 4\n"
		"tick_ms = 100\n"
		"test_provision_ms = 100\n"
		"test_grade_ms = 50\n"
		"%s\n",
		f->dir, f->dir, f->extra);
	return fclose(c);
}

/* Makes the temp dir and the config, without starting anything. */
static inline int fx_prepare(fx *f, const char *exe, const char *extra)
{
	memset(f, 0, sizeof *f);
	f->exe = exe;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof f->dir, "%s/tssrlab-test-XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->conf, sizeof f->conf, "%s/tssrlabd.conf", f->dir);
	snprintf(f->log, sizeof f->log, "%s/tssrlabd.log", f->dir);
	snprintf(f->extra, sizeof f->extra, "%s", extra ? extra : "");
	return fx_write_conf(f);
}

/* A temp dir with a config (the test backend + extra lines), then start. */
static inline int fx_start(fx *f, const char *exe, const char *extra)
{
	if (fx_prepare(f, exe, extra) < 0)
		return -1;
	return fx_launch(f);
}

/* Restarts on the same state dir with other extra config lines. */
static inline int fx_restart(fx *f, const char *extra)
{
	snprintf(f->extra, sizeof f->extra, "%s", extra ? extra : "");
	if (fx_write_conf(f) < 0)
		return -1;
	return fx_launch(f);
}

/* Sends sig and waits for the daemon; returns its wait status. */
static inline int fx_stop(fx *f, int sig)
{
	if (f->pid <= 0)
		return 0;
	kill(f->pid, sig);
	int st = 0;
	double deadline = fx_now() + 60;
	while (waitpid(f->pid, &st, WNOHANG) == 0) {
		if (fx_now() > deadline) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, &st, 0);
			break;
		}
		fx_sleep_ms(10);
	}
	f->pid = 0;
	return st;
}

static inline int fx_rm(const char *p, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Stops the daemon if needed and removes the temp dir; prints the log's
 * tail when keep_log (a failure happened). */
static inline void fx_cleanup(fx *f, bool show_log)
{
	fx_stop(f, SIGKILL);
	if (show_log && f->log[0]) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", f->log);
		int rc = system(cmd);
		(void)rc;
	}
	if (f->dir[0])
		nftw(f->dir, fx_rm, 16, FTW_DEPTH | FTW_PHYS);
	f->dir[0] = '\0';
}

/* ---- HTTP ---- */

typedef struct fx_resp {
	long status;
	char *body;
	size_t len;
} fx_resp;

static inline size_t fx_write(char *p, size_t size, size_t n, void *ud)
{
	fx_resp *r = ud;
	size_t add = size * n;
	if (r->len + add > (64u << 20))
		return 0;
	r->body = realloc(r->body, r->len + add + 1);
	memcpy(r->body + r->len, p, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static inline void fx_resp_clear(fx_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* One request; body may be NULL; token may be NULL (no header). Returns
 * the HTTP status (0 when the request failed). */
static inline long fx_http(fx *f, const char *method, const char *path,
			   const char *token, const char *body, size_t body_len,
			   fx_resp *ret)
{
	memset(ret, 0, sizeof *ret);
	CURL *c = curl_easy_init();
	char url[512];
	snprintf(url, sizeof url, "%s%s", f->base, path);
	struct curl_slist *h = NULL;
	char auth[256];
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ret);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return ret->status;
}

/* Request with a string body, answer parsed as JSON (NULL when not JSON). */
static json_t *fx_json(fx *f, const char *method, const char *path,
		       const char *token, const char *body, long *ret_status)
{
	fx_resp r;
	fx_http(f, method, path, token, body, body ? strlen(body) : 0, &r);
	if (ret_status)
		*ret_status = r.status;
	json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
	fx_resp_clear(&r);
	return j;
}

/* Waits until the session's JSON satisfies pred (polling), up to secs. */
static json_t *fx_wait_session(fx *f, const char *id, const char *token,
			       bool (*pred)(const json_t *), double secs)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/sessions/%s", id);
	double deadline = fx_now() + secs;
	for (;;) {
		json_t *s = fx_json(f, "GET", path, token, NULL, NULL);
		if (s && pred(s))
			return s;
		if (fx_now() > deadline)
			return s;
		json_decref(s);
		fx_sleep_ms(50);
	}
}

static inline size_t fx_count_state(const json_t *s, const char *state)
{
	size_t n = 0, i;
	json_t *inst;
	json_array_foreach (json_object_get(s, "instances"), i, inst)
		n += !strcmp(json_string_value(json_object_get(inst, "state"))
				 ?: "",
			     state);
	return n;
}

#endif
