/*
 * test_defs.c: the definitions loader, as a trainer meets it: the shipped
 * tree validates, and each kind of mistake in a scenario file is reported
 * with its file, line, column and JSON path, all of them in one run.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../orchestrator/defs/defs-internal.h"
#include "tl_test.h"
#include "tssrlab/defs.h"

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/tl-defs-XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
	}
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads the shipped tree plus one extra file; returns all diagnostics as
 * one string (caller frees), and whether loading succeeded. */
static char *load_with(const char *name, const char *text, bool *ok)
{
	const char *p = write_tmp(name, text);
	const char *extra[] = {p};
	tl_diags d = {0};
	tl_defs *defs = tl_defs_load(TL_SOURCE_ROOT, extra, 1, &d);
	*ok = defs != NULL;
	tl_buf b;
	tl_buf_init(&b, 0);
	for (size_t i = 0; i < d.n; i++) {
		char *s = tl_diag_format(&d.items[i]);
		tl_buf_printf(&b, "%s\n", s);
		free(s);
	}
	tl_diags_clear(&d);
	tl_defs_free(defs);
	unlink(p);
	return tl_buf_steal(&b);
}

/* A valid scenario on the shipped lab "linux-single"; tests break it. */
static const char *good =
	"{\n"
	"  \"id\": \"t-good\",\n"
	"  \"title\": \"Essai\",\n"
	"  \"briefing\": \"Installer nginx.\",\n"
	"  \"lab\": \"linux-single\",\n"
	"  \"competences\": [\"cp9\"],\n"
	"  \"tasks\": [\n"
	"    {\"id\": \"web\", \"title\": \"Web\", \"criteria\": [\n"
	"      {\"id\": \"nginx-up\", \"label\": \"nginx tourne\", \"ref\": \"cp9.1\",\n"
	"       \"weight\": 2,\n"
	"       \"probes\": [{\"kind\": \"service.active\", \"machine\": \"srv\",\n"
	"                    \"args\": {\"name\": \"nginx\"}}]}\n"
	"    ]}\n"
	"  ]\n"
	"}\n";

static char *variant(const char *from, const char *to)
{
	const char *at = strstr(good, from);
	if (!at)
		abort();
	return tl_xasprintf("%.*s%s%s", (int)(at - good), good, to,
			    at + strlen(from));
}

TL_TEST(shipped_tree_is_valid)
{
	tl_diags d = {0};
	tl_defs *defs = tl_defs_load(TL_SOURCE_ROOT, NULL, 0, &d);
	for (size_t i = 0; i < d.n; i++) {
		char *s = tl_diag_format(&d.items[i]);
		fprintf(stderr, "  %s\n", s);
		free(s);
	}
	CHECK(defs != NULL);
	CHECK(d.n == 0);
	if (defs) {
		CHECK(defs->ref.n_blocks == 4);
		CHECK(tl_defs_competence(defs, "cp1") != NULL);
		CHECK(tl_defs_image(defs, "tiny") != NULL);
		CHECK(defs->n_scenarios >= 1);
	}
	tl_defs_free(defs);
	tl_diags_clear(&d);
}

TL_TEST(good_scenario_loads)
{
	bool ok;
	char *out = load_with("good.json", good, &ok);
	CHECK(ok);
	CHECK_STR(out, "");
	free(out);
}

TL_TEST(syntax_error_is_located)
{
	char *bad = variant("\"weight\": 2,", "\"weight\": 2,,");
	bool ok;
	char *out = load_with("syntax.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "syntax.json:10:");
	CHECK_CONTAINS(out, "invalid JSON");
	free(out);
	free(bad);
}

TL_TEST(unknown_probe_kind_is_located)
{
	char *bad = variant("\"service.active\"", "\"servce.active\"");
	bool ok;
	char *out = load_with("kind.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "kind.json:11:28: tasks[0].criteria[0].probes[0]"
			    ".kind: unknown probe kind \"servce.active\"");
	free(out);
	free(bad);
}

TL_TEST(misspelled_field_is_located)
{
	char *bad = variant("\"weight\"", "\"weigth\"");
	bool ok;
	char *out = load_with("typo.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "typo.json:10:8: tasks[0].criteria[0].weigth: "
			    "unknown field \"weigth\" (did you mean "
			    "\"weight\"?)");
	free(out);
	free(bad);
}

TL_TEST(unknown_lab_is_located)
{
	char *bad = variant("\"linux-single\"", "\"no-such-lab\"");
	bool ok;
	char *out = load_with("lab.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "lab.json:5:10: lab: unknown lab \"no-such-lab\"");
	free(out);
	free(bad);
}

TL_TEST(all_errors_reported_in_one_run)
{
	char *a = variant("\"weight\": 2", "\"weight\": 0");
	char *b = tl_xstrdup(a);
	free(a);
	const char *at = strstr(b, "\"cp9.1\"");
	char *c = tl_xasprintf("%.*s\"cp9.99\"%s", (int)(at - b), b, at + 7);
	char *d = tl_xstrdup(c);
	at = strstr(d, "\"srv\"");
	char *e = tl_xasprintf("%.*s\"nosuch\"%s", (int)(at - d), d, at + 5);
	bool ok;
	char *out = load_with("many.json", e, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "weight must be greater than 0");
	CHECK_CONTAINS(out, "unknown referential criterion \"cp9.99\"");
	CHECK_CONTAINS(out, "unknown machine \"nosuch\"");
	free(out);
	free(b);
	free(c);
	free(d);
	free(e);
}

TL_TEST(bad_probe_arguments)
{
	char *bad = variant("{\"name\": \"nginx\"}", "{\"nam\": 3}");
	bool ok;
	char *out = load_with("args.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "unknown argument \"nam\" for probe kind "
			    "\"service.active\"");
	CHECK_CONTAINS(out, "missing required argument \"name\"");
	free(out);
	free(bad);
}

TL_TEST(empty_criteria_and_duplicates)
{
	char *bad = variant(
		"    ]}\n  ]",
		"    ]},\n    {\"id\": \"web\", \"title\": \"x\", \"criteria\": []}\n  ]");
	bool ok;
	char *out = load_with("dup.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "tasks[1].criteria: must not be empty");
	CHECK_CONTAINS(out, "duplicate task id \"web\"");
	free(out);
	free(bad);
}

TL_TEST(duplicate_scenario_id_and_wrong_type)
{
	char *bad = variant("\"t-good\"", "\"t-good\", \"duration_min\": \"90\"");
	bool ok;
	char *out = load_with("a.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "duration_min: expected an integer, got a string");
	free(out);
	free(bad);
}

TL_TEST(matchers_are_checked)
{
	char *bad = variant("\"args\": {\"name\": \"nginx\"}",
			    "\"args\": {\"name\": \"nginx\"}, \"expect\": "
			    "{\"regex\": \"(\"}");
	bool ok;
	char *out = load_with("re.json", bad, &ok);
	CHECK(!ok);
	CHECK_CONTAINS(out, "expect.regex: invalid regex");
	free(out);
	free(bad);
	/* a regex whose expansion would take gigabytes to compile (found
	 * by fuzz_defs), one that repeats an empty match and one with a
	 * back-reference are refused, named;
	 * what scenarios really write stays accepted (NULL: no error) */
	static const struct {
		const char *regex, *error;
	} regexes[] = {
	    {"((a{255}){255}){255}",
	     "expect.regex: regex \"((a{255}){255}){255}\": too large once "
	     "its repetitions are expanded"},
	    {"((a{,255}){,255}){,255}", "too large"},
	    /* light, but seconds then minutes of regcomp as 20 grows */
	    {"((a?)*|){3,20}", "a part that can match the empty string is "
			       "repeated"},
	    {"^(a+)\\\\1$", "back-references"},
	    {"^([0-9]{1,3}\\\\.){3}[0-9]{1,3}(/[0-9]{1,2})?$|"
	     "^[[:alnum:]_.-]{1,253}$",
	     NULL},
	};
	for (size_t i = 0; i < sizeof regexes / sizeof *regexes; i++) {
		char with[512];
		snprintf(with, sizeof with,
			 "\"args\": {\"name\": \"nginx\"}, \"expect\": "
			 "{\"regex\": \"%s\"}",
			 regexes[i].regex);
		bad = variant("\"args\": {\"name\": \"nginx\"}", with);
		out = load_with("re-cost.json", bad, &ok);
		CHECK(ok == !regexes[i].error);
		if (regexes[i].error)
			CHECK_CONTAINS(out, regexes[i].error);
		free(out);
		free(bad);
	}
	bad = variant("\"args\": {\"name\": \"nginx\"}",
		      "\"args\": {\"name\": \"nginx\"}, \"expect\": "
		      "{\"all\": [{\"contains\": \"act\"}, {\"not\": "
		      "{\"equals\": \"failed\"}}]}");
	out = load_with("re2.json", bad, &ok);
	CHECK(ok);
	free(out);
	free(bad);
}

TL_TEST(check_text_does_not_touch_base)
{
	tl_diags d = {0};
	tl_defs *defs = tl_defs_load(TL_SOURCE_ROOT, NULL, 0, &d);
	CHECK(defs != NULL);
	if (!defs)
		return;
	size_t n = defs->n_scenarios;
	CHECK(tl_defs_check_text(defs, "scenario", "x.json", good,
				 strlen(good), &d) == 0);
	CHECK(d.n == 0);
	CHECK(defs->n_scenarios == n);
	CHECK(tl_defs_check_text(defs, "lab", "y.json", "[]", 2, &d) < 0);
	CHECK(d.n == 1);
	tl_defs_free(defs);
	tl_diags_clear(&d);
}

TL_TEST(locate_walks_paths)
{
	const char *text = "{\"a\": [1, {\"b\": \"x\"}],\n \"c\": {\"d\": 2}}";
	tl_jpath p = {0};
	p.segs[0] = (tl_jseg){"a", 0};
	p.segs[1] = (tl_jseg){NULL, 1};
	p.segs[2] = (tl_jseg){"b", 0};
	int line, col;
	tl_json_locate(text, strlen(text), &p, 3, false, &line, &col);
	CHECK(line == 1 && col == 17);
	p.segs[0] = (tl_jseg){"c", 0};
	p.segs[1] = (tl_jseg){"d", 0};
	tl_json_locate(text, strlen(text), &p, 2, true, &line, &col);
	CHECK(line == 2 && col == 8);
	/* a path that does not exist stops at the deepest match */
	p.segs[1] = (tl_jseg){"zz", 0};
	tl_json_locate(text, strlen(text), &p, 2, false, &line, &col);
	CHECK(line == 2 && col == 7);
}

TL_TEST(buf_has_a_ceiling)
{
	tl_buf b;
	tl_buf_init(&b, 8);
	CHECK(tl_buf_puts(&b, "12345") == 0);
	CHECK(tl_buf_puts(&b, "67890") < 0);
	CHECK(b.truncated);
	CHECK_STR(b.data, "12345678");
	tl_buf_clear(&b);
	tl_buf_init(&b, 0);
	tl_buf_shell_quote(&b, "it's");
	CHECK_STR(b.data, "'it'\\''s'");
	tl_buf_clear(&b);
}

TL_TESTS(T(shipped_tree_is_valid), T(good_scenario_loads),
	 T(syntax_error_is_located), T(unknown_probe_kind_is_located),
	 T(misspelled_field_is_located), T(unknown_lab_is_located),
	 T(all_errors_reported_in_one_run), T(bad_probe_arguments),
	 T(empty_criteria_and_duplicates),
	 T(duplicate_scenario_id_and_wrong_type), T(matchers_are_checked),
	 T(check_text_does_not_touch_base), T(locate_walks_paths),
	 T(buf_has_a_ceiling))
