/*
 * grader.c: how a stored grading run becomes what the API shows.
 *
 * A run keeps what was measured — each probe's status, verdict, value and
 * evidence — inside each criterion's stored JSON. The score is derived:
 * for a run not yet frozen it is computed again by tl_grade_compute from
 * that evidence and the current manual scores (so a jury score entered
 * later counts); a frozen run is shown exactly as stored, whatever the
 * definitions or manual scores became since. Trainees see a self-check
 * only as far as the scenario's self_check setting allows.
 */
#include <string.h>

#include "tssrlabd.h"

static const json_t *find_criterion(const json_t *criteria, const char *id)
{
	size_t i;
	json_t *c;
	json_array_foreach (criteria, i, c) {
		const char *cid =
		    json_string_value(json_object_get(c, "criterion"));
		if (cid && !strcmp(cid, id))
			return c;
	}
	return NULL;
}

static char *dup_field(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? tl_xstrdup(s) : NULL;
}

tl_probe_result *tl_grader_results_from_run(const tl_scenario *s,
					    const json_t *criteria,
					    size_t *ret_n)
{
	size_t n = tl_scenario_count_probes(s);
	tl_probe_result *r = tl_xcalloc(n ? n : 1, sizeof *r);
	size_t pi = 0;
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++) {
			const tl_criterion *cr = &s->tasks[t].criteria[c];
			const json_t *row = find_criterion(criteria, cr->id);
			const json_t *ev = json_object_get(
			    json_object_get(row, "evidence"), "evidence");
			for (size_t k = 0; k < cr->n_probes; k++, pi++) {
				tl_probe_result *x = &r[pi];
				x->probe = &cr->probes[k];
				x->exit_code = -1;
				x->http_status = -1;
				const json_t *e = json_array_get(ev, k);
				if (!e) {
					x->status = TL_PROBE_ERROR;
					x->error = tl_xstrdup(
					    "not measured in this run");
					continue;
				}
				const char *st = json_string_value(
				    json_object_get(e, "status"));
				x->status = !st || !strcmp(st, "error")
						? TL_PROBE_ERROR
					    : !strcmp(st, "tampered")
						? TL_PROBE_TAMPERED
						: TL_PROBE_DONE;
				x->ok = json_is_true(json_object_get(e, "ok"));
				x->value = dup_field(e, "value");
				x->evidence_cmd = dup_field(e, "command");
				x->evidence_out = dup_field(e, "output");
				x->error = dup_field(e, "error");
				x->flag = dup_field(e, "flag");
				x->flagged = x->flag != NULL;
				if (json_is_integer(json_object_get(e, "exit")))
					x->exit_code = (int)json_integer_value(
					    json_object_get(e, "exit"));
				if (json_is_integer(
					json_object_get(e, "http_status")))
					x->http_status =
					    (int)json_integer_value(
						json_object_get(e,
								"http_status"));
				x->ms =
				    json_number_value(json_object_get(e, "ms"));
			}
		}
	*ret_n = n;
	return r;
}

tl_manual_score *tl_grader_manual(const json_t *rows, size_t *ret_n)
{
	size_t n = json_array_size(rows);
	tl_manual_score *m = tl_xcalloc(n ? n : 1, sizeof *m);
	for (size_t i = 0; i < n; i++) {
		const json_t *row = json_array_get(rows, i);
		m[i].criterion =
		    json_string_value(json_object_get(row, "criterion"));
		m[i].fraction =
		    json_number_value(json_object_get(row, "fraction"));
		m[i].comment =
		    json_string_value(json_object_get(row, "comment"));
	}
	*ret_n = n;
	return m;
}

static void copy_meta(json_t *view, const json_t *run)
{
	static const char *keys[] = {"id",	"instance", "kind",
				     "started", "finished", "frozen"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		json_t *v = json_object_get(run, keys[i]);
		if (v)
			json_object_set(view, keys[i], v);
	}
}

json_t *tl_grader_view(const tl_scenario *s, const json_t *run,
		       const json_t *manual_rows)
{
	json_t *view = json_object();
	copy_meta(view, run);
	if (json_is_true(json_object_get(run, "frozen"))) {
		json_t *crits = json_array();
		size_t i;
		json_t *c;
		json_array_foreach (json_object_get(run, "criteria"), i, c) {
			json_t *ev = json_object_get(c, "evidence");
			json_t *o = json_is_object(ev) ? json_deep_copy(ev)
						       : json_object();
			json_object_set(o, "id",
					json_object_get(c, "criterion"));
			json_object_set(o, "state",
					json_object_get(c, "state"));
			json_object_set(o, "score",
					json_object_get(c, "score"));
			json_array_append_new(crits, o);
		}
		json_object_set_new(view, "criteria", crits);
		const json_t *totals = json_object_get(run, "totals");
		const char *k;
		json_t *v;
		json_object_foreach ((json_t *)totals, k, v)
			json_object_set(view, k, v);
		json_object_set(view, "score", json_object_get(run, "score"));
		json_object_set(view, "max", json_object_get(run, "max"));
		return view;
	}
	size_t n = 0, nm = 0;
	tl_probe_result *res =
	    tl_grader_results_from_run(s, json_object_get(run, "criteria"), &n);
	tl_manual_score *man = tl_grader_manual(manual_rows, &nm);
	tl_grade g;
	if (tl_grade_compute(s, res, n, man, nm, &g, NULL) == 0) {
		json_t *gj = tl_grade_to_json(&g, res);
		const char *k;
		json_t *v;
		json_object_foreach (gj, k, v)
			json_object_set(view, k, v);
		json_decref(gj);
		json_object_set_new(view, "score", json_real(g.total.score));
		json_object_set_new(view, "max", json_real(g.total.max));
		tl_grade_clear(&g);
	}
	free(man);
	tl_probe_results_free(res, n);
	return view;
}

static const tl_criterion *criterion_by_id(const tl_scenario *s, const char *id)
{
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++)
			if (!strcmp(s->tasks[t].criteria[c].id, id))
				return &s->tasks[t].criteria[c];
	return NULL;
}

void tl_grader_trainee_filter(const tl_scenario *s, json_t *view)
{
	json_t *crits = json_object_get(view, "criteria");
	json_t *out = json_array();
	bool hidden = false;
	size_t i;
	json_t *c;
	json_array_foreach (crits, i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		const tl_criterion *cr = id ? criterion_by_id(s, id) : NULL;
		tl_self_check level = !s->self_check_enabled || !cr
					  ? TL_SELF_HIDDEN
					  : cr->self_check;
		if (level == TL_SELF_HIDDEN) {
			hidden = true;
			continue;
		}
		json_t *o = json_pack("{s:O,s:O?,s:O?,s:O?}", "id",
				      json_object_get(c, "id"), "task",
				      json_object_get(c, "task"), "label",
				      json_object_get(c, "label"), "state",
				      json_object_get(c, "state"));
		const char *state =
		    json_string_value(json_object_get(c, "state"));
		if (level >= TL_SELF_HINT && cr->hint && state &&
		    strcmp(state, "pass"))
			json_object_set_new(o, "hint", json_string(cr->hint));
		if (level >= TL_SELF_EVIDENCE) {
			json_object_set(o, "evidence",
					json_object_get(c, "evidence"));
			json_object_set(o, "reason",
					json_object_get(c, "reason"));
		}
		json_array_append_new(out, o);
	}
	json_object_set_new(view, "criteria", out);
	json_object_del(view, "tasks");
	json_object_del(view, "competences");
	json_object_del(view, "blocks");
	if (hidden) {
		json_object_del(view, "total");
		json_object_del(view, "score");
		json_object_del(view, "max");
	}
}
