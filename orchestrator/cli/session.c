/*
 * session.c: `tssrlab session create|list|show|grade|end`, a client of
 * tssrlabd's API. Tables for people, --json for scripts (the API's JSON as
 * it came), and with --wait a progress bar on a terminal while machines
 * are provisioned or instances graded (plain lines when not a terminal).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"

static void usage(FILE *f)
{
	fputs(
	    "usage: tssrlab session COMMAND [OPTIONS]\n\n"
	    "  create --scenario ID (--trainee ID:NAME)... [--trainees FILE]\n"
	    "         [--id ID] [--duration MIN] [--wait]\n"
	    "                       start a session (FILE: one \"id,name\" "
	    "a line)\n"
	    "  list                 every session\n"
	    "  show ID              one session: progress and instances\n"
	    "  grade ID [--trainee ID] [--wait]\n"
	    "                       grade every instance (or one)\n"
	    "  end ID [--wait]      end now: final grading, machines stopped\n"
	    "  extend ID MINUTES    give more time\n"
	    "  destroy ID           remove the session's machines\n\n"
	    "options everywhere: --server URL (TSSRLAB_SERVER, "
	    "default " TL_CLIENT_DEFAULT_SERVER ")\n"
	    "                    --token TOKEN (TSSRLAB_TOKEN), --json,\n"
	    "                    --cacert FILE (TSSRLAB_CACERT) for https\n"
	    "Exit status: 0 ok, 1 refused as invalid, 2 usage, 3 failed.\n",
	    f);
}

typedef struct args {
	tl_client c;
	const char *pos[4];
	int npos;
	const char *scenario, *id, *trainee_file, *trainee_one;
	json_t *trainees;
	long duration;
	bool wait;
} args;

static int parse(args *a, int argc, char **argv, int from)
{
	a->trainees = json_array();
	for (int i = from; i < argc; i++) {
		int r = tl_client_option(&a->c, argc, argv, &i);
		if (r < 0)
			return TL_EXIT_USAGE;
		if (r > 0)
			continue;
		const char *o = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(o, "--wait"))
			a->wait = true;
		else if (!strcmp(o, "--scenario") && has)
			a->scenario = argv[++i];
		else if (!strcmp(o, "--id") && has)
			a->id = argv[++i];
		else if (!strcmp(o, "--trainees") && has)
			a->trainee_file = argv[++i];
		else if (!strcmp(o, "--duration") && has)
			a->duration = strtol(argv[++i], NULL, 10);
		else if (!strcmp(o, "--trainee") && has) {
			const char *v = argv[++i];
			a->trainee_one = v;
			const char *colon = strchr(v, ':');
			char *slug = colon ? tl_xstrndup(v, (size_t)(colon - v))
					   : tl_xstrdup(v);
			json_array_append_new(
			    a->trainees,
			    json_pack("{s:s,s:s}", "id", slug, "name",
				      colon ? colon + 1 : slug));
			free(slug);
		} else if (o[0] == '-' && o[1]) {
			fprintf(stderr, "%s: unknown option %s\n", a->c.prog,
				o);
			return TL_EXIT_USAGE;
		} else if (a->npos < 4)
			a->pos[a->npos++] = o;
		else
			return TL_EXIT_USAGE;
	}
	return TL_EXIT_OK;
}

static int read_trainees(args *a)
{
	tl_error err;
	char *text = tl_file_read(a->trainee_file, 1u << 20, NULL, &err);
	if (!text) {
		fprintf(stderr, "%s: %s\n", a->c.prog, err.msg);
		return TL_EXIT_INVALID;
	}
	int lineno = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (!*line || *line == '#')
			continue;
		char *comma = strchr(line, ',');
		if (!comma) {
			fprintf(stderr,
				"%s: %s:%d: expected \"id,name\", got \"%s\"\n",
				a->c.prog, a->trainee_file, lineno, line);
			free(text);
			return TL_EXIT_INVALID;
		}
		*comma = '\0';
		json_array_append_new(
		    a->trainees,
		    json_pack("{s:s,s:s}", "id", line, "name", comma + 1));
	}
	free(text);
	return TL_EXIT_OK;
}

static long num(const json_t *o, const char *k)
{
	return (long)json_integer_value(json_object_get(o, k));
}

static int get_session(args *a, const char *id, json_t **ret)
{
	char path[256];
	snprintf(path, sizeof path, "/sessions/%s", id);
	return tl_client_call(&a->c, "GET", path, NULL, ret);
}

/* Polls the session until done(progress) says so; draws the bar. */
static int wait_for(args *a, const char *id, const char *label,
		    const char *done_key, const char *total_key,
		    bool (*finished)(const json_t *s))
{
	bool tty = tl_client_tty();
	long last = -1;
	for (;;) {
		json_t *s = NULL;
		int rc = get_session(a, id, &s);
		if (rc)
			return rc;
		json_t *p = json_object_get(s, "progress");
		long done = num(p, done_key), total = num(p, total_key);
		if (tty)
			tl_client_progress(label, done, total);
		else if (done != last && !a->c.json)
			fprintf(stderr, "%s: %ld/%ld\n", label, done, total);
		last = done;
		bool fin = finished(s);
		json_decref(s);
		if (fin)
			break;
		tl_sleep_ms(500);
	}
	if (tty)
		tl_client_progress_end();
	return TL_EXIT_OK;
}

static bool provisioned(const json_t *s)
{
	const json_t *p = json_object_get(s, "progress");
	return num(p, "instances_ready") + num(p, "instances_failed") >=
	       num(p, "instances_total");
}

static bool ended(const json_t *s)
{
	const char *st = tl_client_str(s, "state");
	return strcmp(st, "active") && strcmp(st, "ending");
}

static void print_session(const json_t *s)
{
	char start[32], end[32];
	tl_client_time(num(s, "window_start"), start, sizeof start);
	tl_client_time(num(s, "window_end"), end, sizeof end);
	const json_t *p = json_object_get(s, "progress");
	printf("session   %s\nscenario  %s\nstate     %s%s\nwindow    %s "
	       "-> %s\n",
	       tl_client_str(s, "id"), tl_client_str(s, "scenario"),
	       tl_client_str(s, "state"),
	       json_is_true(json_object_get(s, "frozen")) ? " (frozen)" : "",
	       start, end);
	if (p)
		printf("progress  machines %ld/%ld ready, instances %ld/%ld "
		       "ready, %ld failed, %ld graded\n",
		       num(p, "machines_ready"), num(p, "machines_total"),
		       num(p, "instances_ready"), num(p, "instances_total"),
		       num(p, "instances_failed"), num(p, "instances_graded"));
	printf("\n%-16s %-24s %-12s %-5s %s\n", "TRAINEE", "NAME", "STATE",
	       "RUNS", "ACCESS");
	size_t i;
	json_t *inst;
	json_array_foreach (json_object_get(s, "instances"), i, inst) {
		char access[256] = "";
		size_t k, len = 0;
		json_t *m;
		json_array_foreach (json_object_get(inst, "machines"), k, m)
			len += (size_t)snprintf(
			    access + len,
			    len < sizeof access ? sizeof access - len : 0,
			    "%s%s=%s:%ld", k ? " " : "",
			    tl_client_str(m, "machine"),
			    tl_client_str(m, "access_host"),
			    num(m, "access_port"));
		printf("%-16s %-24.24s %-12s %-5ld %s\n",
		       tl_client_str(inst, "trainee"),
		       tl_client_str(inst, "name"),
		       tl_client_str(inst, "state"), num(inst, "runs"), access);
		if (!strcmp(tl_client_str(inst, "state"), "failed"))
			printf("  error: %s\n", tl_client_str(inst, "error"));
	}
}

static int cmd_create(args *a)
{
	if (!a->scenario) {
		fprintf(stderr, "%s: --scenario is required\n", a->c.prog);
		return TL_EXIT_USAGE;
	}
	if (a->trainee_file && read_trainees(a))
		return TL_EXIT_INVALID;
	if (json_array_size(a->trainees) == 0) {
		fprintf(stderr,
			"%s: give trainees with --trainee ID:NAME or "
			"--trainees FILE\n",
			a->c.prog);
		return TL_EXIT_USAGE;
	}
	json_t *body = json_pack("{s:s,s:O}", "scenario", a->scenario,
				 "trainees", a->trainees);
	if (a->id)
		json_object_set_new(body, "id", json_string(a->id));
	if (a->duration > 0)
		json_object_set_new(body, "duration_min",
				    json_integer(a->duration));
	json_t *s = NULL;
	int rc = tl_client_call(&a->c, "POST", "/sessions", body, &s);
	json_decref(body);
	if (rc)
		return rc;
	char id[128];
	snprintf(id, sizeof id, "%s", tl_client_str(s, "id"));
	json_decref(s);
	if (!a->c.json)
		printf("session %s created\n", id);
	if (!a->wait) {
		if (a->c.json) {
			rc = get_session(a, id, &s);
			if (!rc)
				tl_client_print_json(s);
			json_decref(s);
		}
		return rc;
	}
	rc = wait_for(a, id, "machines ready", "machines_ready",
		      "machines_total", provisioned);
	if (rc)
		return rc;
	rc = get_session(a, id, &s);
	if (rc)
		return rc;
	if (a->c.json)
		tl_client_print_json(s);
	else
		print_session(s);
	long failed = num(json_object_get(s, "progress"), "instances_failed");
	json_decref(s);
	return failed ? TL_EXIT_FAILURE : TL_EXIT_OK;
}

static int cmd_list(args *a)
{
	json_t *list = NULL;
	int rc = tl_client_call(&a->c, "GET", "/sessions", NULL, &list);
	if (rc)
		return rc;
	if (a->c.json) {
		tl_client_print_json(list);
		json_decref(list);
		return TL_EXIT_OK;
	}
	printf("%-36s %-18s %-10s %-8s %-16s %s\n", "ID", "SCENARIO", "STATE",
	       "TRAINEES", "ENDS", "FROZEN");
	size_t i;
	json_t *s;
	json_array_foreach (list, i, s) {
		char end[32];
		tl_client_time(num(s, "window_end"), end, sizeof end);
		printf("%-36s %-18s %-10s %-8ld %-16s %s\n",
		       tl_client_str(s, "id"), tl_client_str(s, "scenario"),
		       tl_client_str(s, "state"), num(s, "trainees"), end,
		       json_is_true(json_object_get(s, "frozen")) ? "yes"
								  : "no");
	}
	if (json_array_size(list) == 0)
		printf("(no session)\n");
	json_decref(list);
	return TL_EXIT_OK;
}

static int cmd_show(args *a)
{
	json_t *s = NULL;
	int rc = get_session(a, a->pos[0], &s);
	if (rc)
		return rc;
	if (a->c.json)
		tl_client_print_json(s);
	else
		print_session(s);
	json_decref(s);
	return TL_EXIT_OK;
}

/* The run id per trainee in the grid (0: none), as an object. */
static int grid_runs(args *a, json_t **ret, json_t **ret_grid)
{
	char path[256];
	snprintf(path, sizeof path, "/sessions/%s/grid", a->pos[0]);
	json_t *g = NULL;
	int rc = tl_client_call(&a->c, "GET", path, NULL, &g);
	if (rc)
		return rc;
	json_t *runs = json_object();
	size_t i;
	json_t *row;
	json_array_foreach (json_object_get(g, "rows"), i, row) {
		if (a->trainee_one &&
		    strcmp(tl_client_str(row, "trainee"), a->trainee_one))
			continue;
		if (strcmp(tl_client_str(row, "state"), "ready"))
			continue;
		json_object_set_new(
		    runs, tl_client_str(row, "trainee"),
		    json_integer(json_integer_value(
			json_object_get(json_object_get(row, "run"), "id"))));
	}
	*ret = runs;
	if (ret_grid)
		*ret_grid = g;
	else
		json_decref(g);
	return TL_EXIT_OK;
}

static void print_scores(const json_t *g)
{
	printf("%-16s %-8s %s\n", "TRAINEE", "RUN", "SCORE");
	size_t i;
	json_t *row;
	json_array_foreach (json_object_get(g, "rows"), i, row) {
		json_t *run = json_object_get(row, "run");
		if (json_is_object(run))
			printf("%-16s %-8lld %g/%g\n",
			       tl_client_str(row, "trainee"),
			       (long long)json_integer_value(
				   json_object_get(run, "id")),
			       json_number_value(json_object_get(run, "score")),
			       json_number_value(json_object_get(run, "max")));
		else
			printf("%-16s %-8s -\n", tl_client_str(row, "trainee"),
			       "-");
	}
}

static int cmd_grade(args *a)
{
	char path[256];
	json_t *before = NULL, *r = NULL;
	int rc = grid_runs(a, &before, NULL);
	if (rc)
		return rc;
	if (a->trainee_one)
		snprintf(path, sizeof path, "/sessions/%s/instances/%s/grade",
			 a->pos[0], a->trainee_one);
	else
		snprintf(path, sizeof path, "/sessions/%s/grade", a->pos[0]);
	rc = tl_client_call(&a->c, "POST", path, NULL, &r);
	if (rc) {
		json_decref(before);
		return rc;
	}
	size_t n = json_array_size(json_object_get(r, "jobs"));
	if (a->c.json && !a->wait)
		tl_client_print_json(r);
	else if (!a->c.json)
		printf("%zu grading job%s queued\n", n, n == 1 ? "" : "s");
	json_decref(r);
	if (!a->wait) {
		json_decref(before);
		return TL_EXIT_OK;
	}
	/* done when every instance graded has a run newer than before */
	bool tty = tl_client_tty();
	long total = (long)json_object_size(before), last = -1;
	json_t *g = NULL;
	for (int polls = 0;; polls++) {
		json_t *now = NULL;
		json_decref(g);
		g = NULL;
		if ((rc = grid_runs(a, &now, &g)))
			break;
		long done = 0;
		const char *k;
		json_t *v;
		json_object_foreach (before, k, v)
			done += json_integer_value(json_object_get(now, k)) >
				json_integer_value(v);
		json_decref(now);
		if (tty)
			tl_client_progress("instances graded", done, total);
		else if (done != last && !a->c.json)
			fprintf(stderr, "instances graded: %ld/%ld\n", done,
				total);
		last = done;
		if (done >= total)
			break;
		if (polls > 2400) { /* 20 minutes */
			fprintf(stderr, "%s: gave up waiting\n", a->c.prog);
			rc = TL_EXIT_FAILURE;
			break;
		}
		tl_sleep_ms(500);
	}
	if (tty)
		tl_client_progress_end();
	json_decref(before);
	if (!rc) {
		if (a->c.json)
			tl_client_print_json(g);
		else
			print_scores(g);
	}
	json_decref(g);
	return rc;
}

static int cmd_simple(args *a, const char *method, const char *suffix,
		      json_t *body, const char *done_msg)
{
	char path[256];
	snprintf(path, sizeof path, "/sessions/%s%s", a->pos[0], suffix);
	json_t *r = NULL;
	int rc = tl_client_call(&a->c, method, path, body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (a->c.json && !a->wait)
		tl_client_print_json(r);
	else if (!a->c.json)
		printf("session %s: %s\n", a->pos[0], done_msg);
	json_decref(r);
	return TL_EXIT_OK;
}

int tl_cli_session(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? TL_EXIT_USAGE : TL_EXIT_OK;
	}
	const char *cmd = argv[1];
	args a = {0};
	char prog[64];
	snprintf(prog, sizeof prog, "tssrlab session %s", cmd);
	tl_client_init(&a.c, prog);
	int rc = parse(&a, argc, argv, 2);
	if (rc) {
		json_decref(a.trainees);
		return rc;
	}
	int need = !strcmp(cmd, "create") || !strcmp(cmd, "list") ? 0
		   : !strcmp(cmd, "extend")			  ? 2
								  : 1;
	if (a.npos != need) {
		usage(stderr);
		json_decref(a.trainees);
		return TL_EXIT_USAGE;
	}
	if (!strcmp(cmd, "create"))
		rc = cmd_create(&a);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(&a);
	else if (!strcmp(cmd, "show"))
		rc = cmd_show(&a);
	else if (!strcmp(cmd, "grade"))
		rc = cmd_grade(&a);
	else if (!strcmp(cmd, "end")) {
		rc = cmd_simple(&a, "POST", "/end", NULL,
				"ending (final grading, then machines "
				"stopped)");
		if (!rc && a.wait) {
			rc = wait_for(&a, a.pos[0], "instances graded",
				      "instances_graded", "instances_total",
				      ended);
			json_t *s = NULL;
			if (!rc && !(rc = get_session(&a, a.pos[0], &s))) {
				if (a.c.json)
					tl_client_print_json(s);
				else
					print_session(s);
			}
			json_decref(s);
		}
	} else if (!strcmp(cmd, "extend")) {
		char *end;
		long m = strtol(a.pos[1], &end, 10);
		if (*end || m <= 0) {
			fprintf(stderr,
				"%s: MINUTES must be a positive "
				"number\n",
				prog);
			rc = TL_EXIT_USAGE;
		} else
			rc = cmd_simple(
			    &a, "POST", "/extend",
			    json_pack("{s:I}", "minutes", (json_int_t)m),
			    "extended");
	} else if (!strcmp(cmd, "destroy"))
		rc = cmd_simple(&a, "DELETE", "", NULL,
				"destroying its machines");
	else {
		fprintf(stderr, "tssrlab session: unknown command \"%s\"\n",
			cmd);
		usage(stderr);
		rc = TL_EXIT_USAGE;
	}
	json_decref(a.trainees);
	return rc;
}
