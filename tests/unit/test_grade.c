/*
 * test_grade.c: matchers and scoring on the shipped linux-web-01 scenario
 * with synthetic probe results: what a jury would read for a perfect, a
 * blank, a half-done, an unreachable and a tampered instance.
 */
#include <string.h>

#include "tl_test.h"
#include "tssrlab/grade.h"

static tl_defs *defs;
static const tl_scenario *sc;

static void load(void)
{
	if (defs)
		return;
	tl_diags d = {0};
	defs = tl_defs_load(TL_SOURCE_ROOT, NULL, 0, &d);
	tl_diags_clear(&d);
	if (!defs)
		abort();
	sc = tl_defs_scenario(defs, "linux-web-01");
	if (!sc)
		abort();
}

/* Results that make every probe of the scenario pass (ok + matching value). */
static tl_probe_result *results_all(bool pass, size_t *n)
{
	load();
	*n = tl_scenario_count_probes(sc);
	tl_probe_result *r = tl_xcalloc(*n, sizeof *r);
	size_t i = 0;
	for (size_t t = 0; t < sc->n_tasks; t++)
		for (size_t c = 0; c < sc->tasks[t].n_criteria; c++)
			for (size_t p = 0; p < sc->tasks[t].criteria[c].n_probes;
			     p++, i++) {
				const tl_probe *pr =
					&sc->tasks[t].criteria[c].probes[p];
				r[i].probe = pr;
				r[i].status = TL_PROBE_DONE;
				r[i].ok = pass;
				r[i].exit_code = r[i].http_status = -1;
				const char *v = "";
				if (pass && !strcmp(pr->kind_name, "sshd.setting"))
					v = "no";
				else if (pass && !strcmp(pr->kind_name, "file.owner"))
					v = "adminweb:adminweb";
				else if (pass && !strcmp(pr->kind_name, "file.mode"))
					v = "755";
				else if (pass && strstr(pr->kind_name, "http"))
					v = "<h1>Boulangerie Martin</h1>";
				else if (!pass && !strcmp(pr->kind_name, "sshd.setting"))
					v = "yes";
				r[i].value = (char *)v;
			}
	return r;
}

TL_TEST(perfect_scores_full_marks)
{
	size_t n;
	tl_probe_result *r = results_all(true, &n);
	tl_grade g;
	CHECK(tl_grade_compute(sc, r, n, NULL, 0, &g, NULL) == 0);
	CHECK(g.total.max > 0);
	CHECK(g.total.score == g.total.max);
	CHECK(g.total.fail == 0 && g.total.error == 0);
	CHECK(g.n_tasks == sc->n_tasks);
	CHECK(g.n_competences >= 2);
	CHECK(g.n_blocks >= 2);
	json_t *j = tl_grade_to_json(&g, r);
	json_t *tot = json_object_get(j, "total");
	CHECK(json_real_value(json_object_get(tot, "percent")) == 100.0);
	json_decref(j);
	tl_grade_clear(&g);
	free(r);
}

TL_TEST(blank_scores_zero)
{
	size_t n;
	tl_probe_result *r = results_all(false, &n);
	tl_grade g;
	CHECK(tl_grade_compute(sc, r, n, NULL, 0, &g, NULL) == 0);
	CHECK(g.total.score == 0);
	CHECK(g.total.pass == 0);
	CHECK(g.total.fail == g.n_criteria);
	for (size_t i = 0; i < g.n_criteria; i++)
		CHECK(g.criteria[i].reason != NULL);
	tl_grade_clear(&g);
	free(r);
}

TL_TEST(error_is_never_a_silent_fail)
{
	size_t n;
	tl_probe_result *r = results_all(true, &n);
	r[0].status = TL_PROBE_ERROR;
	r[0].error = "ssh: connection refused";
	r[n - 1].status = TL_PROBE_TAMPERED;
	r[n - 1].error = "nonce mismatch";
	tl_grade g;
	CHECK(tl_grade_compute(sc, r, n, NULL, 0, &g, NULL) == 0);
	CHECK(g.criteria[0].state == TL_CRIT_ERROR);
	CHECK_CONTAINS(g.criteria[0].reason, "connection refused");
	CHECK(g.criteria[g.n_criteria - 1].state == TL_CRIT_ERROR);
	CHECK_CONTAINS(g.criteria[g.n_criteria - 1].reason,
		       "tampering detected: nonce mismatch");
	CHECK(g.total.error == 2);
	CHECK(g.total.score < g.total.max);
	json_t *j = tl_grade_to_json(&g, r);
	json_t *c0 = json_array_get(json_object_get(j, "criteria"), 0);
	CHECK_STR(json_string_value(json_object_get(c0, "state")), "error");
	json_decref(j);
	tl_grade_clear(&g);
	free(r);
}

TL_TEST(flagged_claim_fails)
{
	size_t n;
	tl_probe_result *r = results_all(true, &n);
	r[0].flagged = true;
	r[0].flag = "service active but port 80 closed from the client";
	tl_grade g;
	CHECK(tl_grade_compute(sc, r, n, NULL, 0, &g, NULL) == 0);
	CHECK(g.criteria[0].state == TL_CRIT_FAIL);
	CHECK(g.criteria[0].flagged);
	CHECK_CONTAINS(g.criteria[0].reason, "port 80 closed");
	tl_grade_clear(&g);
	free(r);
}

TL_TEST(half_done_is_between)
{
	size_t n;
	tl_probe_result *r = results_all(true, &n);
	for (size_t i = n / 2; i < n; i++)
		r[i].ok = false, r[i].value = "";
	tl_grade g;
	CHECK(tl_grade_compute(sc, r, n, NULL, 0, &g, NULL) == 0);
	CHECK(g.total.score > 0 && g.total.score < g.total.max);
	tl_grade_clear(&g);
	free(r);
}

TL_TEST(wrong_result_count_is_refused)
{
	size_t n;
	tl_probe_result *r = results_all(true, &n);
	tl_grade g;
	tl_error err;
	CHECK(tl_grade_compute(sc, r, n - 1, NULL, 0, &g, &err) < 0);
	CHECK_CONTAINS(err.msg, "probes but the run has");
	free(r);
}

static tl_matcher leaf(tl_match_op op, const char *s, double num)
{
	return (tl_matcher){op, (char *)s, num, NULL, 0};
}

TL_TEST(matchers)
{
	tl_matcher m = leaf(TL_MATCH_EQUALS, "active", 0);
	CHECK(tl_match(&m, "active\n", false));
	CHECK(!tl_match(&m, "inactive", true));
	m = leaf(TL_MATCH_REGEX, "^adminweb:", 0);
	CHECK(tl_match(&m, "adminweb:www", false));
	CHECK(tl_match(&m, "x\nadminweb:www", false)); /* per line */
	CHECK(!tl_match(&m, "root:root", false));
	m = leaf(TL_MATCH_GE, NULL, 2);
	CHECK(tl_match(&m, " 3\n", false));
	CHECK(!tl_match(&m, "1", false));
	CHECK(!tl_match(&m, "three", false));
	CHECK(!tl_match(&m, "", false));
	tl_matcher kid = leaf(TL_MATCH_GE, NULL, 2);
	tl_matcher cnt = {TL_MATCH_COUNT, NULL, 0, &kid, 1};
	CHECK(tl_match(&cnt, "a\nb\n", false));
	CHECK(!tl_match(&cnt, "a\n\n  \n", false));
	tl_matcher two[2] = {leaf(TL_MATCH_TRUE, NULL, 0),
			     leaf(TL_MATCH_CONTAINS, "Martin", 0)};
	tl_matcher all = {TL_MATCH_ALL, NULL, 0, two, 2};
	CHECK(tl_match(&all, "Boulangerie Martin", true));
	CHECK(!tl_match(&all, "Boulangerie Martin", false));
	tl_matcher any = {TL_MATCH_ANY, NULL, 0, two, 2};
	CHECK(tl_match(&any, "nothing", true));
	tl_matcher not = {TL_MATCH_NOT, NULL, 0, &two[1], 1};
	CHECK(tl_match(&not, "nothing", false));
	CHECK(tl_match(&not, NULL, false));
}

TL_TEST(manual_criteria_count_once_scored)
{
	/* a jury criterion on a scenario built from text */
	load();
	const char *text =
		"{\"id\": \"t-manual\", \"title\": \"M\", \"briefing\": \"b\","
		" \"lab\": \"linux-single\", \"competences\": [\"cp9\"],"
		" \"tasks\": [{\"id\": \"t\", \"title\": \"T\", \"criteria\": ["
		"  {\"id\": \"a\", \"label\": \"A\", \"ref\": \"cp9.1\", \"weight\": 2,"
		"   \"partial\": true, \"probes\": ["
		"    {\"kind\": \"file.exists\", \"machine\": \"srv\", \"args\": {\"path\": \"/a\"}},"
		"    {\"kind\": \"file.exists\", \"machine\": \"srv\", \"args\": {\"path\": \"/b\"}}]},"
		"  {\"id\": \"oral\", \"label\": \"Explique\", \"ref\": \"cp9.1\", \"weight\": 3,"
		"   \"manual\": true}]}]}";
	FILE *f = fopen("/tmp/tl-grade-manual.json", "w");
	fputs(text, f);
	fclose(f);
	const char *extra[] = {"/tmp/tl-grade-manual.json"};
	tl_diags d = {0};
	tl_defs *defs2 = tl_defs_load(TL_SOURCE_ROOT, extra, 1, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "  %s\n", d.items[i].message);
	tl_diags_clear(&d);
	remove("/tmp/tl-grade-manual.json");
	CHECK(defs2 != NULL);
	if (!defs2)
		return;
	const tl_scenario *s2 = tl_defs_scenario(defs2, "t-manual");
	tl_probe_result r[2] = {
		{.probe = &s2->tasks[0].criteria[0].probes[0],
		 .status = TL_PROBE_DONE, .ok = true, .exit_code = -1,
		 .http_status = -1},
		{.probe = &s2->tasks[0].criteria[0].probes[1],
		 .status = TL_PROBE_DONE, .ok = false, .exit_code = -1,
		 .http_status = -1},
	};
	tl_grade g;
	CHECK(tl_grade_compute(s2, r, 2, NULL, 0, &g, NULL) == 0);
	CHECK(g.criteria[0].state == TL_CRIT_FAIL);
	CHECK(g.criteria[0].score == 1.0); /* partial: 1 of 2 probes */
	CHECK(g.criteria[1].state == TL_CRIT_MANUAL && !g.criteria[1].scored);
	CHECK(g.total.max == 2.0); /* unscored manual not counted yet */
	tl_grade_clear(&g);
	tl_manual_score ms = {"oral", 0.5, "clair"};
	CHECK(tl_grade_compute(s2, r, 2, &ms, 1, &g, NULL) == 0);
	CHECK(g.total.max == 5.0 && g.total.score == 2.5);
	tl_grade_clear(&g);
	tl_defs_free(defs2);
}

static void cleanup(void)
{
	tl_defs_free(defs);
}

TL_TEST(zz_cleanup)
{
	cleanup();
	defs = NULL;
}

TL_TESTS(T(perfect_scores_full_marks), T(blank_scores_zero),
	 T(error_is_never_a_silent_fail), T(flagged_claim_fails),
	 T(half_done_is_between), T(wrong_result_count_is_refused),
	 T(matchers), T(manual_criteria_count_once_scored), T(zz_cleanup))
