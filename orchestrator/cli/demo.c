/*
 * demo.c: `tssrlab demo`, the README's main command. It validates the
 * definitions, then describes the demo session it runs: one scenario, two
 * simulated trainees (one applies the full reference solution, one half of
 * it), grading, the grid and the CSV export, then teardown.
 *
 * The daemon and provisioning are not wired into this build yet, so the
 * demo stops after validation and says what it will do; it never pretends
 * to have graded anything.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tssrlab/defs.h"

int tl_cli_demo(int argc, char **argv)
{
	const char *want = argc > 1 ? argv[1] : NULL;
	if (want && (!strcmp(want, "--help") || !strcmp(want, "-h"))) {
		puts("usage: tssrlab demo [SCENARIO]\n\nValidates the "
		     "definitions and runs the demo session of SCENARIO (default:"
		     "\nthe first runnable scenario).");
		return TL_EXIT_OK;
	}
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
	const tl_scenario *s = NULL;
	for (size_t i = 0; i < defs->n_scenarios && !s; i++)
		if (want ? !strcmp(defs->scenarios[i].id, want)
			 : defs->scenarios[i].runnable_here)
			s = &defs->scenarios[i];
	printf("definitions: ok (%zu images, %zu labs, %zu scenarios, %zu "
	       "criteria)\n",
	       defs->n_images, defs->n_labs, defs->n_scenarios,
	       tl_defs_count_criteria(defs));
	if (!s) {
		fprintf(stderr, "tssrlab demo: %s\n",
			want ? "no such scenario" : "no runnable scenario");
		tl_defs_free(defs);
		return TL_EXIT_INVALID;
	}
	printf("demo scenario: %s — %s (lab %s, %zu machine%s)\n", s->id,
	       s->title, s->lab->id, s->lab->n_machines,
	       s->lab->n_machines == 1 ? "" : "s");
	size_t nc = 0;
	for (size_t t = 0; t < s->n_tasks; t++)
		nc += s->tasks[t].n_criteria;
	printf("the demo session will:\n"
	       "  1. start tssrlabd on its default configuration\n"
	       "  2. create a session of %s for trainees demo-full and "
	       "demo-half\n"
	       "  3. provision one instance of lab %s per trainee\n"
	       "  4. apply the reference solution to demo-full, half of it to "
	       "demo-half\n"
	       "  5. grade both instances (%zu criteria) and print the grid per "
	       "criterion and competence\n"
	       "  6. write the CSV export and tear everything down\n",
	       s->id, s->lab->id, nc);
	puts("status: steps 1-6 need the daemon and the provisioner, which "
	     "this build does not include yet; stopping after validation.");
	tl_defs_free(defs);
	return TL_EXIT_OK;
}
