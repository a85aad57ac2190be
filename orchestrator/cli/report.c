/*
 * report.c: `tssrlab report SESSION`, the evaluator's view: the grid of
 * trainees x criteria (a table, --csv as the API exports it, or --json),
 * one trainee's report with the evidence behind each criterion
 * (--trainee), a manual score for a jury criterion (--score), and
 * --freeze, after which results never change.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"

static void usage(FILE *f)
{
	fputs("usage: tssrlab report SESSION [--csv|--json]\n"
	      "       tssrlab report SESSION --trainee ID [--json]\n"
	      "       tssrlab report SESSION --trainee ID --score CRITERION "
	      "FRACTION [--comment TEXT]\n"
	      "       tssrlab report SESSION --freeze\n\n"
	      "The grid: one line per trainee, one column per criterion\n"
	      "(P pass, F fail, E error, M manual, . not graded).\n"
	      "options: --server URL, --token TOKEN (or TSSRLAB_SERVER, "
	      "TSSRLAB_TOKEN)\n"
	      "Exit status: 0 ok, 1 refused as invalid, 2 usage, 3 failed.\n",
	      f);
}

static char mark(const char *state)
{
	if (!state)
		return '.';
	return !strcmp(state, "pass")	  ? 'P'
	       : !strcmp(state, "fail")	  ? 'F'
	       : !strcmp(state, "error")  ? 'E'
	       : !strcmp(state, "manual") ? 'M'
					  : '?';
}

static void print_grid(const json_t *g)
{
	const json_t *crits = json_object_get(g, "criteria");
	printf("session %s (%s), %s%s\n\n", tl_client_str(g, "session"),
	       tl_client_str(g, "scenario"), tl_client_str(g, "state"),
	       json_is_true(json_object_get(g, "frozen")) ? ", frozen" : "");
	size_t i;
	json_t *c;
	json_array_foreach (crits, i, c)
		printf("  %2zu %-24s %s\n", i + 1, tl_client_str(c, "id"),
		       tl_client_str(c, "label"));
	printf("\n%-16s %-11s ", "TRAINEE", "SCORE");
	json_array_foreach (crits, i, c)
		printf("%zu", (i + 1) % 10);
	printf("\n");
	json_t *row;
	json_array_foreach (json_object_get(g, "rows"), i, row) {
		json_t *run = json_object_get(row, "run");
		char score[32] = "-";
		if (json_is_object(run))
			snprintf(
			    score, sizeof score, "%g/%g",
			    json_number_value(json_object_get(run, "score")),
			    json_number_value(json_object_get(run, "max")));
		printf("%-16s %-11s ", tl_client_str(row, "trainee"), score);
		size_t k;
		json_t *cc;
		json_t *cells = json_object_get(row, "cells");
		json_array_foreach (crits, k, cc)
			putchar(mark(json_string_value(json_object_get(
			    json_object_get(cells, tl_client_str(cc, "id")),
			    "state"))));
		printf("%s\n", strcmp(tl_client_str(row, "state"), "failed")
				   ? ""
				   : "  (failed)");
	}
}

static void print_report(const json_t *r)
{
	json_t *run = json_object_get(r, "run");
	printf("%s (%s), session %s, scenario %s\n", tl_client_str(r, "name"),
	       tl_client_str(r, "trainee"), tl_client_str(r, "session"),
	       tl_client_str(r, "scenario"));
	if (!json_is_object(run)) {
		printf("not graded yet\n");
		return;
	}
	printf("run %lld (%s%s): %g / %g\n\n",
	       (long long)json_integer_value(json_object_get(run, "id")),
	       tl_client_str(run, "kind"),
	       json_is_true(json_object_get(run, "frozen")) ? ", frozen" : "",
	       json_number_value(json_object_get(run, "score")),
	       json_number_value(json_object_get(run, "max")));
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(run, "criteria"), i, c) {
		printf("[%c] %-22s %g/%g  %s\n",
		       mark(json_string_value(json_object_get(c, "state"))),
		       tl_client_str(c, "id"),
		       json_number_value(json_object_get(c, "score")),
		       json_number_value(json_object_get(c, "weight")),
		       tl_client_str(c, "label"));
		if (json_string_value(json_object_get(c, "reason")))
			printf("      why: %s\n", tl_client_str(c, "reason"));
		size_t k;
		json_t *e;
		json_array_foreach (json_object_get(c, "evidence"), k, e) {
			printf("      %s on %s: %s", tl_client_str(e, "kind"),
			       tl_client_str(e, "machine"),
			       tl_client_str(e, "status"));
			if (json_string_value(json_object_get(e, "command")))
				printf(" `%s`", tl_client_str(e, "command"));
			if (json_string_value(json_object_get(e, "value")))
				printf(" -> %.60s", tl_client_str(e, "value"));
			if (json_string_value(json_object_get(e, "error")))
				printf(" (%s)", tl_client_str(e, "error"));
			putchar('\n');
		}
	}
	json_t *tot;
	json_array_foreach (json_object_get(run, "competences"), i, tot)
		printf("%s %-10s %g/%g\n", i ? "   " : "\ncompetences",
		       tl_client_str(tot, "id"),
		       json_number_value(json_object_get(tot, "score")),
		       json_number_value(json_object_get(tot, "max")));
}

int tl_cli_report(int argc, char **argv)
{
	tl_client c;
	tl_client_init(&c, "tssrlab report");
	const char *session = NULL, *trainee = NULL, *crit = NULL,
		   *fraction = NULL, *comment = NULL;
	bool csv = false, freeze = false;
	for (int i = 1; i < argc; i++) {
		int r = tl_client_option(&c, argc, argv, &i);
		if (r < 0)
			return TL_EXIT_USAGE;
		if (r > 0)
			continue;
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return TL_EXIT_OK;
		} else if (!strcmp(o, "--csv"))
			csv = true;
		else if (!strcmp(o, "--freeze"))
			freeze = true;
		else if (!strcmp(o, "--trainee") && i + 1 < argc)
			trainee = argv[++i];
		else if (!strcmp(o, "--comment") && i + 1 < argc)
			comment = argv[++i];
		else if (!strcmp(o, "--score") && i + 2 < argc) {
			crit = argv[++i];
			fraction = argv[++i];
		} else if (o[0] != '-' && !session)
			session = o;
		else {
			usage(stderr);
			return TL_EXIT_USAGE;
		}
	}
	if (!session || (crit && !trainee)) {
		usage(stderr);
		return TL_EXIT_USAGE;
	}
	char path[512];
	json_t *r = NULL;
	int rc;
	if (freeze) {
		snprintf(path, sizeof path, "/sessions/%s/freeze", session);
		rc = tl_client_call(&c, "POST", path, NULL, &r);
		if (!rc)
			c.json
			    ? tl_client_print_json(r)
			    : (void)printf(
				  "session %s frozen%s\n", session,
				  json_is_true(json_object_get(r, "teardown"))
				      ? "; its machines are "
					"being removed"
				      : "");
	} else if (crit) {
		char *end;
		double f = strtod(fraction, &end);
		if (*end) {
			fprintf(stderr, "tssrlab report: FRACTION must be a "
					"number between 0 and 1\n");
			return TL_EXIT_USAGE;
		}
		json_t *body = json_pack("{s:f}", "fraction", f);
		if (comment)
			json_object_set_new(body, "comment",
					    json_string(comment));
		snprintf(path, sizeof path,
			 "/sessions/%s/instances/%s/manual/%s", session,
			 trainee, crit);
		rc = tl_client_call(&c, "PUT", path, body, &r);
		json_decref(body);
		if (!rc)
			c.json ? tl_client_print_json(r)
			       : (void)printf("%s: %s scored %g\n", trainee,
					      crit, f);
	} else if (trainee) {
		snprintf(path, sizeof path, "/sessions/%s/instances/%s/report",
			 session, trainee);
		rc = tl_client_call(&c, "GET", path, NULL, &r);
		if (!rc)
			c.json ? tl_client_print_json(r) : print_report(r);
	} else {
		snprintf(path, sizeof path, "/sessions/%s/grid%s", session,
			 csv ? ".csv" : "");
		rc = tl_client_call(&c, "GET", path, NULL, &r);
		if (!rc)
			csv || c.json ? tl_client_print_json(r) : print_grid(r);
	}
	json_decref(r);
	return rc;
}
