/*
 * coverage.c: which scenarios cover which competence of the referential,
 * and the referential as JSON for `tssrlab referential --json` and the API.
 * A competence is covered by a scenario when one of the scenario's criteria
 * is tied to one of the competence's referential criteria; competences that
 * only a jury can judge count as "jury" instead.
 */
#include <string.h>

#include "defs-internal.h"

static bool scenario_covers(const tl_scenario *s, const tl_ref_competence *c)
{
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t k = 0; k < s->tasks[t].n_criteria; k++) {
			const tl_ref_criterion *r = s->tasks[t].criteria[k].refc;
			if (r && r->competence == c)
				return true;
		}
	return false;
}

size_t tl_defs_covering(const tl_defs *d, const tl_ref_competence *c,
			const tl_scenario **ret, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n_scenarios; i++)
		if (scenario_covers(&d->scenarios[i], c)) {
			if (ret && n < max)
				ret[n] = &d->scenarios[i];
			n++;
		}
	return n;
}

static const char *eval_name(tl_evaluation e)
{
	return e == TL_EVAL_JURY ? "jury" : e == TL_EVAL_MIXED ? "mixed"
							       : "practical";
}

json_t *tl_defs_referential_json(const tl_defs *d)
{
	const tl_referential *r = &d->ref;
	json_t *blocks = json_array();
	size_t total = 0, covered = 0, jury = 0;
	for (size_t i = 0; i < r->n_blocks; i++) {
		const tl_ref_block *b = &r->blocks[i];
		json_t *comps = json_array();
		for (size_t j = 0; j < b->n_competences; j++) {
			const tl_ref_competence *c = &b->competences[j];
			json_t *crits = json_array();
			for (size_t k = 0; k < c->n_criteria; k++)
				json_array_append_new(
					crits,
					json_pack("{s:s,s:s,s:s,s:s}", "id",
						  c->criteria[k].id, "label",
						  c->criteria[k].label, "source",
						  c->criteria[k].source,
						  "evaluation",
						  eval_name(c->criteria[k]
								    .evaluation)));
			json_t *scen = json_array();
			for (size_t s = 0; s < d->n_scenarios; s++)
				if (scenario_covers(&d->scenarios[s], c))
					json_array_append_new(
						scen,
						json_string(d->scenarios[s].id));
			const char *status;
			total++;
			if (json_array_size(scen) > 0) {
				status = "covered";
				covered++;
			} else if (c->evaluation == TL_EVAL_JURY) {
				status = "jury";
				jury++;
			} else {
				status = "uncovered";
			}
			json_array_append_new(
				comps,
				json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "id",
					  c->id, "label", c->label,
					  "evaluation", eval_name(c->evaluation),
					  "criteria", crits, "scenarios", scen,
					  "coverage", status));
		}
		json_array_append_new(
			blocks, json_pack("{s:s,s:s,s:s,s:s?,s:o}", "id", b->id,
					  "kind", b->kind, "label", b->label,
					  "rncp_block", b->rncp_block,
					  "competences", comps));
	}
	return json_pack(
		"{s:{s:s,s:s,s:s,s:s?,s:s,s:i,s:s,s:s},s:o,s:{s:I,s:I,s:I,s:I}}",
		"title", "id", r->id, "label", r->label, "rncp", r->rncp,
		"code", r->code, "level", r->level, "eu_level", r->eu_level,
		"nsf", r->nsf, "version", r->version, "blocks", blocks,
		"coverage", "competences", (json_int_t)total, "covered",
		(json_int_t)covered, "jury", (json_int_t)jury, "uncovered",
		(json_int_t)(total - covered - jury));
}
