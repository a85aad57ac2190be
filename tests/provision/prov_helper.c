/*
 * prov_helper.c: a provisioner process for the crash test.
 *
 *   prov_helper URI POOL POOL_PATH IMAGES_DIR SESSION N LAB
 *
 * Creates N instances of LAB in SESSION with one worker per instance and
 * prints each progress event on stdout as "<phase> <instance> <object>",
 * flushed, so that test_e2e_kill can SIGKILL it at a chosen moment and
 * check that reconcile leaves nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tssrlab/defs.h"
#include "tssrlab/provision.h"

static int on_progress(void *ud, const tl_prov_progress *ev)
{
	(void)ud;
	printf("%s %s %s %.0f\n", tl_prov_phase_name(ev->phase),
	       ev->instance ? ev->instance : "-", ev->object ? ev->object : "-",
	       ev->elapsed_ms);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: prov_helper URI POOL POOL_PATH "
				"IMAGES_DIR SESSION N LAB\n");
		return 2;
	}
	int n = atoi(argv[6]);
	if (n < 1 || n > 16)
		return 2;
	tl_diags diags = {0};
	TL_AUTO(tl_defs)
	defs = tl_defs_load(tl_defs_default_root(), NULL, 0, &diags);
	const tl_lab *lab = defs ? tl_defs_lab(defs, argv[7]) : NULL;
	if (!lab) {
		fprintf(stderr, "prov_helper: no lab %s\n", argv[7]);
		tl_diags_clear(&diags);
		return 1;
	}
	tl_error err = {{0}};
	tl_prov_config cfg = {.workers = n};
	TL_AUTO(tl_prov) p = tl_prov_new(&cfg, &err);
	tl_prov_host_config hc = {.name = "local",
				  .uri = argv[1],
				  .pool_name = argv[2],
				  .pool_path = argv[3],
				  .images_dir = argv[4]};
	if (!p || tl_prov_host_add(p, &hc, &err) < 0) {
		fprintf(stderr, "prov_helper: %s\n", err.msg);
		return 1;
	}
	tl_prov_request reqs[16];
	char ids[16][16];
	tl_prov_outcome out[16];
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], sizeof ids[i], "k%d", i);
		reqs[i] = (tl_prov_request){
		    .session = argv[5], .instance = ids[i], .lab = lab};
	}
	int failed = tl_prov_create_many(p, reqs, (size_t)n, on_progress, NULL,
					 out, &err);
	if (failed < 0)
		fprintf(stderr, "prov_helper: %s\n", err.msg);
	for (int i = 0; i < n; i++) {
		if (!out[i].instance && failed >= 0)
			fprintf(stderr, "prov_helper: %s\n", out[i].error.msg);
		tl_prov_instance_free(out[i].instance);
	}
	return failed == 0 ? 0 : 1;
}
