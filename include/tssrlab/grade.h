/*
 * grade.h: turning probe results into a score a jury can read.
 *
 * A grading run's results (one tl_probe_result per probe, in the
 * scenario's order: tasks, then criteria, then probes) are matched against
 * each probe's expectation, and each criterion gets a state:
 *   pass    every probe met its expectation;
 *   fail    at least one did not (a claim contradicted from outside is a
 *           fail, flagged);
 *   error   a probe could not run or tampering was detected: shown as
 *           such, never silently a fail;
 *   manual  a jury-evaluated criterion, scored by hand (or not yet).
 * Scores are weighted; totals are given per task, per competence, per
 * block (CCP/CCS) and overall, each as score / max.
 */
#ifndef TSSRLAB_GRADE_H
#define TSSRLAB_GRADE_H

#include <jansson.h>

#include "tssrlab/defs.h"
#include "tssrlab/probe.h"

typedef enum {
	TL_CRIT_PASS,
	TL_CRIT_FAIL,
	TL_CRIT_ERROR,
	TL_CRIT_MANUAL,
} tl_crit_state;

const char *tl_crit_state_name(tl_crit_state s);

/* A score the evaluator entered for a manual (jury) criterion. */
typedef struct tl_manual_score {
	const char *criterion; /* criterion id */
	double fraction;       /* 0..1 of the criterion's weight */
	const char *comment;
} tl_manual_score;

typedef struct tl_grade_criterion {
	const tl_task *task;
	const tl_criterion *criterion;
	tl_crit_state state;
	double score; /* 0..weight */
	bool scored;  /* false for a manual criterion not yet scored */
	bool flagged;
	char *reason; /* why it failed / errored, in words (may be NULL) */
	size_t first_probe; /* index of its first result in the run */
} tl_grade_criterion;

typedef struct tl_grade_total {
	const char *id;    /* task, competence or block id; "total" overall */
	const char *label;
	double score, max;
	size_t pass, fail, error, manual;
} tl_grade_total;

typedef struct tl_grade {
	const tl_scenario *scenario;
	tl_grade_criterion *criteria;
	size_t n_criteria;
	tl_grade_total *tasks;
	size_t n_tasks;
	tl_grade_total *competences;
	size_t n_competences;
	tl_grade_total *blocks;
	size_t n_blocks;
	tl_grade_total total;
} tl_grade;

/* Evaluates one matcher against a text value; matchers were validated at
 * load, so this cannot fail. */
bool tl_match(const tl_matcher *m, const char *value, bool verdict);

/* Does this probe result meet its probe's expectation? */
bool tl_probe_result_passes(const tl_probe_result *r);

/* Grades a run: results has one entry per probe of the scenario, in order
 * (tl_scenario_count_probes gives n). manual may be NULL. Fills ret (free
 * with tl_grade_clear). Returns -1 when n does not match the scenario. */
int tl_grade_compute(const tl_scenario *s, const tl_probe_result *results,
		     size_t n, const tl_manual_score *manual, size_t n_manual,
		     tl_grade *ret, tl_error *err);
void tl_grade_clear(tl_grade *g);

size_t tl_scenario_count_probes(const tl_scenario *s);

/* The grade as JSON (new reference). With results, each criterion carries
 * its evidence (command, output, value, error) per probe. */
json_t *tl_grade_to_json(const tl_grade *g, const tl_probe_result *results);

#endif
