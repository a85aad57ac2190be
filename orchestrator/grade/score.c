/*
 * score.c: from probe results to criterion states and weighted totals per
 * task, competence, block (CCP/CCS) and overall. Pure computation over the
 * scenario and the results; storing and showing them is someone else's job.
 */
#include <string.h>

#include "tssrlab/grade.h"

const char *tl_crit_state_name(tl_crit_state s)
{
	switch (s) {
	case TL_CRIT_PASS:
		return "pass";
	case TL_CRIT_FAIL:
		return "fail";
	case TL_CRIT_ERROR:
		return "error";
	case TL_CRIT_MANUAL:
		return "manual";
	}
	return "?";
}

size_t tl_scenario_count_probes(const tl_scenario *s)
{
	size_t n = 0;
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++)
			n += s->tasks[t].criteria[c].n_probes;
	return n;
}

static tl_grade_total *total_for(tl_grade_total **arr, size_t *n,
				 const char *id, const char *label)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*arr)[i].id, id))
			return &(*arr)[i];
	*arr = tl_xrealloc(*arr, (*n + 1) * sizeof **arr);
	tl_grade_total *t = &(*arr)[(*n)++];
	memset(t, 0, sizeof *t);
	t->id = id;
	t->label = label;
	return t;
}

static void add(tl_grade_total *t, const tl_grade_criterion *gc)
{
	switch (gc->state) {
	case TL_CRIT_PASS:
		t->pass++;
		break;
	case TL_CRIT_FAIL:
		t->fail++;
		break;
	case TL_CRIT_ERROR:
		t->error++;
		break;
	case TL_CRIT_MANUAL:
		t->manual++;
		break;
	}
	/* a manual criterion counts once scored; until then it is neither
	 * earned nor lost */
	if (gc->state != TL_CRIT_MANUAL || gc->scored) {
		t->score += gc->score;
		t->max += gc->criterion->weight;
	}
}

static const tl_manual_score *find_manual(const tl_manual_score *m, size_t n,
					  const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].criterion && !strcmp(m[i].criterion, id))
			return &m[i];
	return NULL;
}

int tl_grade_compute(const tl_scenario *s, const tl_probe_result *results,
		     size_t n, const tl_manual_score *manual, size_t n_manual,
		     tl_grade *ret, tl_error *err)
{
	memset(ret, 0, sizeof *ret);
	if (n != tl_scenario_count_probes(s))
		return tl_error_set(err,
				    "scenario %s has %zu probes but the run "
				    "has %zu results",
				    s->id, tl_scenario_count_probes(s), n);
	ret->scenario = s;
	ret->total.id = "total";
	ret->total.label = s->title;
	size_t nc = 0;
	for (size_t t = 0; t < s->n_tasks; t++)
		nc += s->tasks[t].n_criteria;
	ret->criteria = tl_xcalloc(nc, sizeof *ret->criteria);
	size_t pi = 0;
	for (size_t t = 0; t < s->n_tasks; t++) {
		const tl_task *task = &s->tasks[t];
		tl_grade_total *tt = total_for(&ret->tasks, &ret->n_tasks,
					       task->id, task->title);
		for (size_t c = 0; c < task->n_criteria; c++) {
			const tl_criterion *cr = &task->criteria[c];
			tl_grade_criterion *gc =
				&ret->criteria[ret->n_criteria++];
			gc->task = task;
			gc->criterion = cr;
			gc->first_probe = pi;
			if (cr->manual) {
				gc->state = TL_CRIT_MANUAL;
				const tl_manual_score *m =
					find_manual(manual, n_manual, cr->id);
				if (m) {
					double f = m->fraction < 0   ? 0
						   : m->fraction > 1 ? 1
								     : m->fraction;
					gc->score = f * cr->weight;
					gc->scored = true;
				}
			} else {
				size_t passed = 0;
				bool error = false, flagged = false;
				tl_buf why;
				tl_buf_init(&why, 4096);
				for (size_t k = 0; k < cr->n_probes; k++) {
					const tl_probe_result *r =
						&results[pi + k];
					if (r->status != TL_PROBE_DONE) {
						error = true;
						tl_buf_printf(
							&why, "%s%s: %s%s",
							why.len ? "; " : "",
							cr->probes[k].kind_name,
							r->status == TL_PROBE_TAMPERED
								? "tampering detected: "
								: "",
							r->error ? r->error
								 : "did not run");
					} else if (tl_probe_result_passes(r)) {
						passed++;
					} else {
						if (r->flagged) {
							flagged = true;
							tl_buf_printf(
								&why,
								"%s%s: flagged: %s",
								why.len ? "; " : "",
								cr->probes[k].kind_name,
								r->flag ? r->flag
									: "contradicted "
									  "from outside");
						} else {
							tl_buf_printf(
								&why,
								"%s%s: expectation "
								"not met",
								why.len ? "; " : "",
								cr->probes[k].kind_name);
						}
					}
				}
				gc->scored = true;
				gc->flagged = flagged;
				if (error) {
					gc->state = TL_CRIT_ERROR;
					gc->score = 0;
				} else if (passed == cr->n_probes) {
					gc->state = TL_CRIT_PASS;
					gc->score = cr->weight;
				} else {
					gc->state = TL_CRIT_FAIL;
					gc->score = cr->partial
							    ? cr->weight * (double)passed /
								      (double)cr->n_probes
							    : 0;
				}
				gc->reason = why.len ? tl_buf_steal(&why) : NULL;
				tl_buf_clear(&why);
			}
			pi += cr->n_probes;
			add(tt, gc);
			add(&ret->total, gc);
			if (cr->refc) {
				const tl_ref_competence *comp =
					cr->refc->competence;
				add(total_for(&ret->competences,
					      &ret->n_competences, comp->id,
					      comp->label),
				    gc);
				add(total_for(&ret->blocks, &ret->n_blocks,
					      comp->block->id,
					      comp->block->label),
				    gc);
			}
		}
	}
	return 0;
}

void tl_grade_clear(tl_grade *g)
{
	for (size_t i = 0; i < g->n_criteria; i++)
		free(g->criteria[i].reason);
	free(g->criteria);
	free(g->tasks);
	free(g->competences);
	free(g->blocks);
	memset(g, 0, sizeof *g);
}

static json_t *total_json(const tl_grade_total *t)
{
	return json_pack("{s:s,s:s?,s:f,s:f,s:f,s:I,s:I,s:I,s:I}", "id", t->id,
			 "label", t->label, "score", t->score, "max", t->max,
			 "percent", t->max > 0 ? 100.0 * t->score / t->max : 0.0,
			 "pass", (json_int_t)t->pass, "fail",
			 (json_int_t)t->fail, "error", (json_int_t)t->error,
			 "manual", (json_int_t)t->manual);
}

json_t *tl_grade_to_json(const tl_grade *g, const tl_probe_result *results)
{
	json_t *crits = json_array();
	for (size_t i = 0; i < g->n_criteria; i++) {
		const tl_grade_criterion *gc = &g->criteria[i];
		const tl_criterion *c = gc->criterion;
		json_t *o = json_pack(
			"{s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:b,s:b}", "id", c->id,
			"task", gc->task->id, "label", c->label, "ref", c->ref,
			"state", tl_crit_state_name(gc->state), "score",
			gc->score, "weight", c->weight, "scored", gc->scored,
			"flagged", gc->flagged);
		if (c->refc)
			json_object_set_new(
				o, "competence",
				json_string(c->refc->competence->id));
		if (gc->reason)
			json_object_set_new(o, "reason",
					    json_string(gc->reason));
		if (results && c->n_probes) {
			json_t *ev = json_array();
			for (size_t k = 0; k < c->n_probes; k++) {
				const tl_probe_result *r =
					&results[gc->first_probe + k];
				json_t *e = json_pack(
					"{s:s,s:s,s:s,s:b,s:b}", "kind",
					c->probes[k].kind_name, "machine",
					c->probes[k].machine, "status",
					r->status == TL_PROBE_DONE ? "done"
					: r->status == TL_PROBE_ERROR
						? "error"
						: "tampered",
					"ok", r->ok, "passed",
					tl_probe_result_passes(r));
				if (r->value)
					json_object_set_new(
						e, "value",
						json_string(r->value));
				if (r->evidence_cmd)
					json_object_set_new(
						e, "command",
						json_string(r->evidence_cmd));
				if (r->evidence_out)
					json_object_set_new(
						e, "output",
						json_string(r->evidence_out));
				if (r->exit_code >= 0)
					json_object_set_new(
						e, "exit",
						json_integer(r->exit_code));
				if (r->http_status >= 0)
					json_object_set_new(
						e, "http_status",
						json_integer(r->http_status));
				if (r->error)
					json_object_set_new(
						e, "error", json_string(r->error));
				if (r->flag)
					json_object_set_new(e, "flag",
							    json_string(r->flag));
				json_object_set_new(e, "ms", json_real(r->ms));
				json_array_append_new(ev, e);
			}
			json_object_set_new(o, "evidence", ev);
		}
		json_array_append_new(crits, o);
	}
	json_t *tasks = json_array(), *comps = json_array(),
	       *blocks = json_array();
	for (size_t i = 0; i < g->n_tasks; i++)
		json_array_append_new(tasks, total_json(&g->tasks[i]));
	for (size_t i = 0; i < g->n_competences; i++)
		json_array_append_new(comps, total_json(&g->competences[i]));
	for (size_t i = 0; i < g->n_blocks; i++)
		json_array_append_new(blocks, total_json(&g->blocks[i]));
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "scenario",
			 g->scenario->id, "criteria", crits, "tasks", tasks,
			 "competences", comps, "blocks", blocks, "total",
			 total_json(&g->total));
}
