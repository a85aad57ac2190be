/*
 * demo.c: `tssrlab demo`, the README's main command, and the scenario
 * proofs that CI runs on real guests.
 *
 * The demo starts tssrlabd (its default configuration, with a state dir of
 * its own, a free port and reference solutions enabled), creates a session
 * of one scenario for two simulated trainees, grades the untouched labs,
 * applies the full reference solution to demo-full and half of it to
 * demo-half, grades again, prints the grid per criterion and per
 * competence, writes the CSV export, destroys the session and stops the
 * daemon. Everything goes through the daemon's HTTP API, as a trainer's
 * and an evaluator's tools do.
 *
 * --proof runs the proof of each scenario named (concurrently, one
 * session each, one instance per session): untouched lab -> every trainee
 * criterion fails (the "given" ones pass), half solution -> some pass and
 * some fail, full solution -> every probe-graded criterion passes. No
 * criterion may be in error at any step.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "tssrlab/defs.h"

#define DEMO_STATE_DIR "/var/lib/tssrlab/demo"
#define HOST_CONFIG    "/etc/tssrlab/tssrlabd.conf"
#define DEMO_KEY       "/var/lib/tssrlab/keys/mgmt_ed25519"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

typedef struct opts {
	bool proof;
	bool keep;
	const char *csv_dir;
	const char *state_dir;
	int workers;
	const char *scen[64];
	size_t n_scen;
} opts;

static void usage(FILE *f)
{
	fputs(
	    "usage: tssrlab demo [SCENARIO] [--csv DIR] [--state-dir DIR] "
	    "[--keep]\n"
	    "       tssrlab demo --proof SCENARIO... [--workers N]\n\n"
	    "Starts tssrlabd (the host's configuration " HOST_CONFIG
	    ", state in\n" DEMO_STATE_DIR ",\n"
	    "a free port on 127.0.0.1, reference solutions enabled), runs a "
	    "session of\n"
	    "SCENARIO (default: linux-web-01) for trainees demo-full (the "
	    "reference\n"
	    "solution) and demo-half (half of it): provisioning, grading of "
	    "the\n"
	    "untouched labs, solutions, grading, the grid per criterion and "
	    "per\n"
	    "competence, the CSV export (DIR/tssrlab-demo-SCENARIO.csv, "
	    "default .),\n"
	    "then teardown. Exit 0 when the scores are as the solutions "
	    "promise.\n\n"
	    "--proof: one instance per scenario, all scenarios at once: "
	    "untouched ->\n"
	    "every trainee criterion fails, half solution -> in between, full "
	    "solution\n"
	    "-> every criterion passes; no criterion in error. Exit 0 when "
	    "every proof\n"
	    "holds.\n"
	    "--keep: leave the session and the daemon's state (no teardown).\n"
	    "--workers N: the daemon's job workers (default 4).\n"
	    "Environment: TSSRLABD (the daemon binary), TSSRLAB_DATADIR "
	    "(definitions).\n"
	    "Exit statuses: 0 ok, 1 invalid definitions, 2 usage, 3 failure "
	    "(daemon,\n"
	    "provisioning, a proof that does not hold).\n",
	    f);
}

static double num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* ---- the daemon ---- */

typedef struct daemon_proc {
	pid_t pid;
	char dir[512];
	char conf[600];
	char log[600];
	char server[64];
	char token[128];
} daemon_proc;

/* The daemon binary: $TSSRLABD, else next to this program (a build:
 * api/tssrlabd; installed: the same bin folder), else from PATH. */
static char *daemon_binary(void)
{
	const char *env = getenv("TSSRLABD");
	if (env && *env)
		return tl_xstrdup(env);
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			const char *cand[] = {"api/tssrlabd", "tssrlabd"};
			for (size_t i = 0; i < 2; i++) {
				char *p = tl_xasprintf("%s/%s", self, cand[i]);
				if (access(p, X_OK) == 0)
					return p;
				free(p);
			}
		}
	}
	return tl_xstrdup("tssrlabd");
}

static void log_tail(const daemon_proc *dp)
{
	FILE *f = fopen(dp->log, "r");
	if (!f)
		return;
	char line[1024];
	char *lines[12] = {0};
	size_t n = 0;
	while (fgets(line, sizeof line, f)) {
		free(lines[n % 12]);
		lines[n % 12] = tl_xstrdup(line);
		n++;
	}
	fclose(f);
	fprintf(stderr, "--- last lines of %s ---\n", dp->log);
	for (size_t i = n > 12 ? n - 12 : 0; i < n; i++)
		fputs(lines[i % 12], stderr);
	for (size_t i = 0; i < 12; i++)
		free(lines[i]);
}

static int run_capture(char *const argv[], const char *log, char *out,
		       size_t cap)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	ssize_t r;
	while (len + 1 < cap && (r = read(p[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int daemon_start(daemon_proc *dp, const opts *o)
{
	snprintf(dp->dir, sizeof dp->dir, "%s", o->state_dir);
	if (mkdir(dp->dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "tssrlab demo: %s: %s\n", dp->dir,
			strerror(errno));
		return -1;
	}
	snprintf(dp->conf, sizeof dp->conf, "%s/tssrlabd.conf", dp->dir);
	snprintf(dp->log, sizeof dp->log, "%s/tssrlabd.log", dp->dir);
	char portf[600];
	snprintf(portf, sizeof portf, "%s/port", dp->dir);
	unlink(portf);
	FILE *f = fopen(dp->conf, "w");
	if (!f) {
		fprintf(stderr, "tssrlab demo: %s: %s\n", dp->conf,
			strerror(errno));
		return -1;
	}
	/* the host's configuration (its accelerator, its access address),
	 * then what keeps the demo out of a real daemon's way: its own
	 * state, a free port, no reconcile of objects that are not its
	 * own; and the solutions it applies (later keys win) */
	FILE *host = fopen(HOST_CONFIG, "r");
	if (host) {
		fprintf(f, "# from %s\n", HOST_CONFIG);
		char line[1024];
		while (fgets(line, sizeof line, host))
			fputs(line, f);
		fclose(host);
	}
	fprintf(f,
		"\n# written by `tssrlab demo`: the configuration above "
		"except these keys\n"
		"state_dir = %s\nport = 0\nport_file = %s\nssh_key = %s\n"
		"reconcile = off\nsolutions = on\nworkers = %d\n"
		"# guests under software emulation boot slowly when many "
		"start at once\nready_timeout = 900\n",
		dp->dir, portf, DEMO_KEY, o->workers);
	fclose(f);
	TL_AUTOFREE char *bin = daemon_binary();
	char *init[] = {bin, "-c", dp->conf, "--init-admin", NULL};
	if (run_capture(init, dp->log, dp->token, sizeof dp->token) < 0 ||
	    strncmp(dp->token, "tlk_", 4)) {
		fprintf(stderr, "tssrlab demo: %s --init-admin failed\n", bin);
		log_tail(dp);
		return -1;
	}
	dp->pid = fork();
	if (dp->pid < 0)
		return -1;
	if (dp->pid == 0) {
		int fd = open(dp->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(bin, bin, "-f", "-c", dp->conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1200; i++) { /* definitions, store, recovery */
		int st;
		if (waitpid(dp->pid, &st, WNOHANG) == dp->pid) {
			fprintf(stderr,
				"tssrlab demo: tssrlabd (%s) exited during "
				"start-up\n",
				bin);
			dp->pid = 0;
			log_tail(dp);
			return -1;
		}
		FILE *pf = fopen(portf, "r");
		int port = 0;
		if (pf) {
			if (fscanf(pf, "%d", &port) != 1)
				port = 0;
			fclose(pf);
		}
		if (port > 0) {
			snprintf(dp->server, sizeof dp->server,
				 "http://127.0.0.1:%d", port);
			return 0;
		}
		tl_sleep_ms(100);
	}
	fprintf(stderr, "tssrlab demo: tssrlabd did not listen in 120 s\n");
	log_tail(dp);
	return -1;
}

static void daemon_stop(daemon_proc *dp)
{
	if (dp->pid <= 0)
		return;
	kill(dp->pid, SIGTERM);
	for (int i = 0; i < 600; i++) {
		int st;
		if (waitpid(dp->pid, &st, WNOHANG) == dp->pid) {
			dp->pid = 0;
			return;
		}
		tl_sleep_ms(100);
	}
	kill(dp->pid, SIGKILL);
	waitpid(dp->pid, NULL, 0);
	dp->pid = 0;
}

/* ---- one scenario's run ---- */

typedef struct step {
	const char *name; /* "untouched", "half", "full" */
	json_t *cells;	  /* trainee -> {criterion: {state, score}} */
	json_t *runs;	  /* trainee -> run object */
} step;

typedef struct run {
	const opts *o;
	const daemon_proc *dp;
	const tl_scenario *s;
	tl_client c;
	char session[64];
	const char *trainees[2];
	size_t n_trainees;
	step steps[3];
	size_t n_steps;
	json_t *grid; /* the last grid */
	bool created;
	bool ok;
	char why[512];
} run;

static void say(const run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const run *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (r->o->proof)
		printf("[%s] %s\n", r->s->id, line);
	else
		printf("%s\n", line);
	fflush(stdout);
}

static int fail(run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
	r->ok = false;
	say(r, "FAILED: %s", r->why);
	return -1;
}

static int call(run *r, const char *method, const char *path,
		const json_t *body, json_t **ret)
{
	json_t *dummy = NULL;
	int rc = tl_client_call(&r->c, method, path, body, ret ? ret : &dummy);
	json_decref(dummy);
	if (rc)
		return fail(r, "%s %s: the daemon refused (see above)", method,
			    path);
	return 0;
}

static json_t *session_get(run *r)
{
	char path[128];
	snprintf(path, sizeof path, "/sessions/%s", r->session);
	json_t *s = NULL;
	return call(r, "GET", path, NULL, &s) ? NULL : s;
}

static int wait_ready(run *r)
{
	bool tty = tl_client_tty() && !r->o->proof;
	long last = -1;
	time_t t0 = time(NULL);
	for (;;) {
		if (interrupted)
			return fail(r, "interrupted");
		json_t *s = session_get(r);
		if (!s)
			return -1;
		json_t *p = json_object_get(s, "progress");
		long ready = (long)json_integer_value(
			 json_object_get(p, "machines_ready")),
		     total = (long)json_integer_value(
			 json_object_get(p, "machines_total"));
		long ir = (long)json_integer_value(
			 json_object_get(p, "instances_ready")),
		     ifail = (long)json_integer_value(
			 json_object_get(p, "instances_failed")),
		     it = (long)json_integer_value(
			 json_object_get(p, "instances_total"));
		if (tty)
			tl_client_progress("machines ready", ready, total);
		else if (ready != last)
			say(r, "machines ready: %ld/%ld (%lds)", ready, total,
			    (long)(time(NULL) - t0));
		last = ready;
		if (ifail) {
			size_t i;
			json_t *in;
			const char *err = "?", *who = "?";
			json_array_foreach (json_object_get(s, "instances"), i,
					    in)
				if (!strcmp(tl_client_str(in, "state"),
					    "failed"))
					err = tl_client_str(in, "error"),
					who = tl_client_str(in, "trainee");
			if (tty)
				tl_client_progress_end();
			fail(r, "the instance of %s failed: %s", who, err);
			json_decref(s);
			return -1;
		}
		json_decref(s);
		if (ir >= it)
			break;
		tl_sleep_ms(1000);
	}
	if (tty)
		tl_client_progress_end();
	say(r, "lab ready: %zu instance%s in %lds", r->n_trainees,
	    r->n_trainees == 1 ? "" : "s", (long)(time(NULL) - t0));
	return 0;
}

static int wait_job(run *r, long long job, const char *what)
{
	char path[64];
	snprintf(path, sizeof path, "/jobs/%lld", job);
	for (;;) {
		if (interrupted)
			return fail(r, "interrupted");
		json_t *j = NULL;
		if (call(r, "GET", path, NULL, &j))
			return -1;
		const char *st = tl_client_str(j, "state");
		if (!strcmp(st, "done")) {
			json_decref(j);
			return 0;
		}
		if (strcmp(st, "queued") && strcmp(st, "running")) {
			fail(r, "%s: job %s: %s", what, st,
			     tl_client_str(j, "error"));
			json_decref(j);
			return -1;
		}
		json_decref(j);
		tl_sleep_ms(500);
	}
}

/* Grades every instance and waits for the runs; keeps the grid. */
static int grade(run *r, const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/sessions/%s/grade", r->session);
	json_t *ans = NULL;
	if (call(r, "POST", path, NULL, &ans))
		return -1;
	json_t *jobs = json_incref(json_object_get(ans, "jobs"));
	json_decref(ans);
	time_t t0 = time(NULL);
	size_t i;
	json_t *j;
	json_array_foreach (jobs, i, j) {
		long long id = (long long)json_integer_value(
		    json_is_object(j) ? json_object_get(j, "job") : j);
		if (wait_job(r, id, "grading")) {
			json_decref(jobs);
			return -1;
		}
	}
	json_decref(jobs);
	snprintf(path, sizeof path, "/sessions/%s/grid", r->session);
	json_decref(r->grid);
	r->grid = NULL;
	if (call(r, "GET", path, NULL, &r->grid))
		return -1;
	step *st = &r->steps[r->n_steps++];
	st->name = name;
	st->cells = json_object();
	st->runs = json_object();
	json_t *row;
	json_array_foreach (json_object_get(r->grid, "rows"), i, row) {
		json_object_set(st->cells, tl_client_str(row, "trainee"),
				json_object_get(row, "cells"));
		json_t *rn = json_object_get(row, "run");
		json_object_set(st->runs, tl_client_str(row, "trainee"), rn);
		say(r, "graded (%s) %-10s %g/%g in %lds", name,
		    tl_client_str(row, "trainee"), num(rn, "score"),
		    num(rn, "max"), (long)(time(NULL) - t0));
	}
	return 0;
}

static int solve(run *r, const char *trainee, const char *part)
{
	char path[192];
	snprintf(path, sizeof path, "/sessions/%s/instances/%s/solution",
		 r->session, trainee);
	json_t *body = json_pack("{s:s}", "part", part), *ans = NULL;
	int rc = call(r, "POST", path, body, &ans);
	json_decref(body);
	if (rc)
		return -1;
	long long job =
	    (long long)json_integer_value(json_object_get(ans, "job"));
	json_decref(ans);
	time_t t0 = time(NULL);
	if (wait_job(r, job, part))
		return -1;
	say(r, "%s solution applied to %s in %lds", part, trainee,
	    (long)(time(NULL) - t0));
	return 0;
}

/* The expected outcome of a step for one trainee. */
typedef enum { WANT_NONE, WANT_SOME, WANT_ALL } want;

static int check(run *r, const step *st, const char *trainee, want w)
{
	json_t *cells = json_object_get(st->cells, trainee);
	size_t pass = 0, total = 0;
	for (size_t t = 0; t < r->s->n_tasks; t++)
		for (size_t k = 0; k < r->s->tasks[t].n_criteria; k++) {
			const tl_criterion *c = &r->s->tasks[t].criteria[k];
			if (c->manual)
				continue;
			const char *state = json_string_value(json_object_get(
			    json_object_get(cells, c->id), "state"));
			state = state ? state : "not graded";
			if (!strcmp(state, "error"))
				return fail(r,
					    "%s, %s: criterion %s is in "
					    "error (grading could not "
					    "judge it)",
					    st->name, trainee, c->id);
			bool ok = !strcmp(state, "pass");
			if (c->given) {
				if (!ok)
					return fail(r,
						    "%s, %s: criterion %s is "
						    "given by the setup but "
						    "%s",
						    st->name, trainee, c->id,
						    state);
				continue;
			}
			total++;
			pass += ok;
			if (w == WANT_NONE && ok)
				return fail(r,
					    "%s, %s: criterion %s passes on "
					    "an untouched lab",
					    st->name, trainee, c->id);
			if (w == WANT_ALL && !ok)
				return fail(r,
					    "%s, %s: criterion %s is %s "
					    "after the reference solution",
					    st->name, trainee, c->id, state);
		}
	if (w == WANT_SOME && (pass == 0 || pass == total))
		return fail(r,
			    "%s, %s: %zu of %zu trainee criteria pass: a half "
			    "solution must land in between",
			    st->name, trainee, pass, total);
	return 0;
}

static void print_grid(run *r)
{
	const step *st = &r->steps[r->n_steps - 1];
	printf("\nGrid per criterion (%s, after the solutions)\n", r->s->id);
	printf("  %-24s %-10s", "criterion", "ref");
	for (size_t i = 0; i < r->n_trainees; i++)
		printf(" %-10s", r->trainees[i]);
	printf("\n");
	for (size_t t = 0; t < r->s->n_tasks; t++)
		for (size_t k = 0; k < r->s->tasks[t].n_criteria; k++) {
			const tl_criterion *c = &r->s->tasks[t].criteria[k];
			printf("  %-24.24s %-10s", c->id, c->ref);
			for (size_t i = 0; i < r->n_trainees; i++) {
				const json_t *cell = json_object_get(
				    json_object_get(st->cells, r->trainees[i]),
				    c->id);
				const char *state = json_string_value(
				    json_object_get(cell, "state"));
				printf(" %-4s %4g ", state ? state : "-",
				       num(cell, "score"));
			}
			printf("\n");
		}
	printf("  %-35s", "total");
	for (size_t i = 0; i < r->n_trainees; i++) {
		const json_t *rn = json_object_get(st->runs, r->trainees[i]);
		char buf[32];
		snprintf(buf, sizeof buf, "%g/%g", num(rn, "score"),
			 num(rn, "max"));
		printf(" %-10s", buf);
	}
	printf("\n\nPer competence\n  %-10s %-50s", "competence", "");
	for (size_t i = 0; i < r->n_trainees; i++)
		printf(" %-10s", r->trainees[i]);
	printf("\n");
	json_t *res[2] = {NULL, NULL};
	for (size_t i = 0; i < r->n_trainees; i++) {
		char path[192];
		snprintf(path, sizeof path, "/sessions/%s/instances/%s/results",
			 r->session, r->trainees[i]);
		if (call(r, "GET", path, NULL, &res[i]))
			goto out;
	}
	size_t n;
	json_t *comp;
	json_array_foreach (json_object_get(res[0], "competences"), n, comp) {
		printf("  %-10s %-50.50s", tl_client_str(comp, "id"),
		       tl_client_str(comp, "label"));
		for (size_t i = 0; i < r->n_trainees; i++) {
			json_t *ci = json_array_get(
			    json_object_get(res[i], "competences"), n);
			char buf[32];
			snprintf(buf, sizeof buf, "%g/%g", num(ci, "score"),
				 num(ci, "max"));
			printf(" %-10s", buf);
		}
		printf("\n");
	}
out:
	for (size_t i = 0; i < 2; i++)
		json_decref(res[i]);
}

static int write_csv(run *r)
{
	char path[192];
	snprintf(path, sizeof path, "/sessions/%s/grid.csv", r->session);
	json_t *csv = NULL;
	if (call(r, "GET", path, NULL, &csv))
		return -1;
	TL_AUTOFREE char *file =
	    tl_xasprintf("%s/tssrlab-demo-%s.csv", r->o->csv_dir, r->s->id);
	FILE *f = fopen(file, "w");
	const char *text = json_string_value(csv);
	size_t len = json_string_length(csv);
	int rc = 0;
	if (!f || fwrite(text, 1, len, f) != len)
		rc = fail(r, "%s: %s", file, strerror(errno));
	if (f && fclose(f) != 0 && !rc)
		rc = fail(r, "%s: %s", file, strerror(errno));
	json_decref(csv);
	if (!rc)
		say(r, "CSV export written: %s (%zu bytes)", file, len);
	return rc;
}

static int teardown(run *r)
{
	char path[128];
	snprintf(path, sizeof path, "/sessions/%s", r->session);
	bool was = interrupted;
	interrupted = 0; /* teardown is not interruptible */
	if (call(r, "DELETE", path, NULL, NULL)) {
		interrupted = was;
		return -1;
	}
	time_t t0 = time(NULL);
	int rc = 0;
	for (;;) {
		json_t *s = session_get(r);
		if (!s) {
			rc = -1;
			break;
		}
		bool done = !strcmp(tl_client_str(s, "state"), "destroyed");
		json_decref(s);
		if (done)
			break;
		if (time(NULL) - t0 > 600) {
			rc = fail(r, "teardown did not finish in 600 s");
			break;
		}
		tl_sleep_ms(500);
	}
	interrupted = was;
	if (!rc)
		say(r,
		    "session %s destroyed: machines, networks and disks "
		    "removed (%lds)",
		    r->session, (long)(time(NULL) - t0));
	return rc;
}

static void *run_main(void *arg)
{
	run *r = arg;
	r->ok = true;
	tl_client_init(&r->c, "tssrlab demo");
	snprintf(r->c.server, sizeof r->c.server, "%s", r->dp->server);
	snprintf(r->c.token, sizeof r->c.token, "%s", r->dp->token);
	/* a new id each run: ids of destroyed sessions stay taken */
	snprintf(r->session, sizeof r->session, "%s-%s-%ld",
		 r->o->proof ? "proof" : "demo", r->s->id,
		 (long)(time(NULL) % 100000000));
	json_t *tr = json_array();
	for (size_t i = 0; i < r->n_trainees; i++)
		json_array_append_new(
		    tr,
		    json_pack("{s:s,s:s}", "id", r->trainees[i], "name",
			      !strcmp(r->trainees[i], "demo-full")
				  ? "Stagiaire modèle (solution complète)"
			      : !strcmp(r->trainees[i], "demo-half")
				  ? "Stagiaire à mi-parcours (demi-solution)"
				  : "Preuve du scénario"));
	json_t *body = json_pack("{s:s,s:s,s:o}", "id", r->session, "scenario",
				 r->s->id, "trainees", tr);
	int rc = call(r, "POST", "/sessions", body, NULL);
	json_decref(body);
	if (rc)
		goto out;
	r->created = true;
	say(r,
	    "session %s created: scenario %s, lab %s, %zu machine%s per "
	    "trainee",
	    r->session, r->s->id, r->s->lab->id, r->s->lab->n_machines,
	    r->s->lab->n_machines == 1 ? "" : "s");
	if (wait_ready(r) || grade(r, "untouched"))
		goto out;
	for (size_t i = 0; i < r->n_trainees; i++)
		if (check(r, &r->steps[0], r->trainees[i], WANT_NONE))
			goto out;
	if (r->o->proof) {
		if (solve(r, r->trainees[0], "half") || grade(r, "half") ||
		    check(r, &r->steps[1], r->trainees[0], WANT_SOME) ||
		    solve(r, r->trainees[0], "full") || grade(r, "full") ||
		    check(r, &r->steps[2], r->trainees[0], WANT_ALL))
			goto out;
		say(r, "proof holds: untouched 0, half in between, full 100%%");
	} else {
		if (solve(r, "demo-full", "full") ||
		    solve(r, "demo-half", "half") || grade(r, "solutions") ||
		    check(r, &r->steps[1], "demo-full", WANT_ALL) ||
		    check(r, &r->steps[1], "demo-half", WANT_SOME))
			goto out;
		print_grid(r);
		printf("\n");
		write_csv(r);
	}
out:
	if (r->created && !r->o->keep && teardown(r))
		r->ok = false;
	return NULL;
}

static int parse(opts *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(TL_EXIT_OK);
		} else if (!strcmp(a, "--proof")) {
			o->proof = true;
		} else if (!strcmp(a, "--keep")) {
			o->keep = true;
		} else if ((!strcmp(a, "--csv") || !strcmp(a, "--state-dir") ||
			    !strcmp(a, "--workers")) &&
			   i + 1 < argc) {
			const char *v = argv[++i];
			if (!strcmp(a, "--csv"))
				o->csv_dir = v;
			else if (!strcmp(a, "--state-dir"))
				o->state_dir = v;
			else {
				char *end;
				long n = strtol(v, &end, 10);
				if (*end || n < 1 || n > 64) {
					fprintf(stderr,
						"tssrlab demo: --workers: "
						"expected 1..64, got "
						"\"%s\"\n",
						v);
					return -1;
				}
				o->workers = (int)n;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "tssrlab demo: unknown option %s\n", a);
			usage(stderr);
			return -1;
		} else if (o->n_scen < sizeof o->scen / sizeof *o->scen) {
			o->scen[o->n_scen++] = a;
		}
	}
	if (!o->proof && o->n_scen > 1) {
		fputs("tssrlab demo: one scenario at a time (several with "
		      "--proof)\n",
		      stderr);
		return -1;
	}
	return 0;
}

int tl_cli_demo(int argc, char **argv)
{
	opts o = {.csv_dir = ".", .state_dir = DEMO_STATE_DIR, .workers = 4};
	if (parse(&o, argc, argv) < 0)
		return TL_EXIT_USAGE;
	tl_diags diags = {0};
	tl_defs *defs = tl_defs_load(tl_defs_default_root(), NULL, 0, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		char *line = tl_diag_format(&diags.items[i]);
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	tl_diags_clear(&diags);
	if (!defs) {
		fputs("tssrlab demo: the definitions are invalid\n", stderr);
		return TL_EXIT_INVALID;
	}
	printf("definitions: ok (%zu images, %zu labs, %zu scenarios, %zu "
	       "criteria)\n",
	       defs->n_images, defs->n_labs, defs->n_scenarios,
	       tl_defs_count_criteria(defs));
	if (!o.n_scen)
		o.scen[o.n_scen++] = tl_defs_scenario(defs, "linux-web-01")
					 ? "linux-web-01"
					 : NULL;
	size_t n = o.n_scen;
	run *runs = tl_xcalloc(n, sizeof *runs);
	int rc = TL_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		const tl_scenario *s =
		    o.scen[i] ? tl_defs_scenario(defs, o.scen[i]) : NULL;
		if (!s) {
			fprintf(stderr, "tssrlab demo: no scenario \"%s\"\n",
				o.scen[i] ? o.scen[i] : "linux-web-01");
			rc = TL_EXIT_INVALID;
		} else if (!s->runnable_here) {
			fprintf(stderr,
				"tssrlab demo: scenario %s needs a "
				"user-supplied image; it cannot run here\n",
				s->id);
			rc = TL_EXIT_INVALID;
		} else if (!s->n_solutions || (!s->partial_solution)) {
			fprintf(stderr,
				"tssrlab demo: scenario %s has no reference "
				"solution and half solution\n",
				s->id);
			rc = TL_EXIT_INVALID;
		}
		runs[i].s = s;
		runs[i].o = &o;
		if (o.proof) {
			runs[i].trainees[0] = "proof";
			runs[i].n_trainees = 1;
		} else {
			runs[i].trainees[0] = "demo-full";
			runs[i].trainees[1] = "demo-half";
			runs[i].n_trainees = 2;
		}
	}
	if (rc) {
		free(runs);
		tl_defs_free(defs);
		return rc;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	daemon_proc dp = {0};
	time_t t0 = time(NULL);
	if (daemon_start(&dp, &o) < 0) {
		rc = TL_EXIT_FAILURE;
		goto out;
	}
	printf("tssrlabd: started on %s (host configuration; state in %s, "
	       "log %s)\n",
	       dp.server, dp.dir, dp.log);
	{
		/* sessions an interrupted demo left behind in this state */
		run clean = {.o = &o, .dp = &dp, .s = runs[0].s};
		tl_client_init(&clean.c, "tssrlab demo");
		snprintf(clean.c.server, sizeof clean.c.server, "%s",
			 dp.server);
		snprintf(clean.c.token, sizeof clean.c.token, "%s", dp.token);
		json_t *list = NULL;
		if (!call(&clean, "GET", "/sessions", NULL, &list)) {
			size_t i;
			json_t *s;
			json_array_foreach (list, i, s) {
				if (!strcmp(tl_client_str(s, "state"),
					    "destroyed"))
					continue;
				snprintf(clean.session, sizeof clean.session,
					 "%s", tl_client_str(s, "id"));
				printf("removing %s, left by an earlier "
				       "demo\n",
				       clean.session);
				teardown(&clean);
			}
		}
		json_decref(list);
	}
	pthread_t *th = tl_xcalloc(n, sizeof *th);
	for (size_t i = 0; i < n; i++) {
		runs[i].dp = &dp;
		if (n == 1)
			run_main(&runs[i]);
		else
			pthread_create(&th[i], NULL, run_main, &runs[i]);
	}
	for (size_t i = 0; n > 1 && i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += !runs[i].ok;
	if (bad)
		log_tail(&dp);
	if (!o.keep)
		daemon_stop(&dp);
	else
		printf("tssrlabd kept running on %s (pid %d), admin token: "
		       "%s\n",
		       dp.server, (int)dp.pid, dp.token);
	printf("\n%s: %zu scenario%s, %zu ok, %zu failed, %lds%s\n",
	       o.proof ? "proofs" : "demo", n, n == 1 ? "" : "s", n - bad, bad,
	       (long)(time(NULL) - t0),
	       o.keep ? " (session and daemon kept)"
		      : ", everything torn down");
	for (size_t i = 0; i < n; i++)
		if (!runs[i].ok)
			printf("  %s: %s\n", runs[i].s->id, runs[i].why);
	rc = bad ? TL_EXIT_FAILURE : TL_EXIT_OK;
out:
	for (size_t i = 0; i < n; i++) {
		json_decref(runs[i].grid);
		for (size_t k = 0; k < runs[i].n_steps; k++) {
			json_decref(runs[i].steps[k].cells);
			json_decref(runs[i].steps[k].runs);
		}
	}
	free(runs);
	tl_defs_free(defs);
	return rc;
}
