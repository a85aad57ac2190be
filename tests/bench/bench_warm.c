/*
 * bench_warm.c: warm starts against cold boots, in the same run (meson
 * benchmark, suite "provision"). One instance of the lab vpn-sites (three
 * debian12 machines, two shapes) is created, personalised and destroyed,
 * alternately with warm starts off (a provisioner whose templates folder
 * is "") and on (the default folder), ROUNDS times each. A round's time is
 * the whole tl_prov_create_many call: placement, networks, overlays,
 * starts, readiness and personalisation of every machine, i.e. until the
 * lab is the trainee's. The templates are built before the first round
 * (template_build_s, 0 when they were already there) and are not part of
 * the warm rounds.
 *
 * Printed as key=value lines: cold_s and warm_s (medians), per-round
 * times, speedup_warm_vs_cold = cold_s / warm_s, and the load average
 * (a shared host makes absolute times move; the ratio is measured in one
 * run). Skipped (77) without libvirtd, the debian12 image or the SSH
 * engine.
 *
 * Environment: TSSRLAB_BENCH_ROUNDS (default 2, at most 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../provision/e2e_common.h"

#define MAXR 5

static tl_prov *cold, *warm;
static tl_defs *defs;

static void cleanup(void)
{
	tl_error err = {{0}};
	if (warm)
		tl_prov_session_destroy(warm, e2e_session, NULL, &err);
	cold = tl_prov_free(cold);
	warm = tl_prov_free(warm);
	tl_defs_free(defs);
	defs = NULL;
}

static tl_prov *prov_with(const char *warm_dir)
{
	tl_error err = {{0}};
	tl_prov_config cfg = {.workers = 1,
			      .ready_timeout_s = 900,
			      .ssh_timeout_s = 300,
			      .key_path = E2E_KEY};
	tl_prov *p = tl_prov_new(&cfg, &err);
	tl_prov_host_config hc = e2e_host();
	hc.warm_dir = warm_dir;
	if (!p || tl_prov_host_add(p, &hc, &err) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		tl_prov_free(p);
		return NULL;
	}
	return p;
}

/* One instance created (personalised) and destroyed; seconds of the
 * creation, -1 on failure. */
static double round_once(tl_prov *p, const tl_lab *lab, const char *name,
			 bool *all_warm)
{
	tl_prov_request r = {.session = e2e_session,
			     .instance = name,
			     .lab = lab,
			     .trainee_user = "stagiaire"};
	tl_prov_outcome out;
	tl_error err = {{0}};
	double t0 = tl_now_ms();
	int rc = tl_prov_create_many(p, &r, 1, NULL, NULL, &out, &err);
	double s = (tl_now_ms() - t0) / 1000.0;
	if (rc != 0 || !out.instance) {
		fprintf(stderr, "bench: %s: %s\n", name,
			rc < 0 ? err.msg : out.error.msg);
		return -1;
	}
	*all_warm = true;
	for (size_t i = 0; i < out.instance->n_machines; i++)
		*all_warm = *all_warm && out.instance->machines[i].warm_started;
	tl_prov_instance_destroy(p, out.instance, &err);
	tl_prov_instance_free(out.instance);
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(void)
{
	e2e_need_image("debian12");
	e2e_session_init("bwarm");
	/* readiness of the environment first (exits 77 when missing) */
	tl_prov *probe = e2e_prov(1);
	tl_prov_free(probe);
	atexit(cleanup);
	int rounds = 2;
	const char *env = getenv("TSSRLAB_BENCH_ROUNDS");
	if (env && atoi(env) > 0)
		rounds = atoi(env) > MAXR ? MAXR : atoi(env);
	tl_diags d = {0};
	defs = tl_defs_load(tl_defs_default_root(), NULL, 0, &d);
	tl_diags_clear(&d);
	const tl_lab *lab = defs ? tl_defs_lab(defs, "vpn-sites") : NULL;
	cold = prov_with("");
	warm = prov_with(NULL);
	if (!lab || !cold || !warm) {
		fprintf(stderr, "bench: setup failed\n");
		return 1;
	}
	e2e_clean_stale(warm);
	printf("load_avg_start=%.2f\n", e2e_load_avg());
	/* the templates, outside the rounds */
	double t0 = tl_now_ms();
	for (size_t i = 0; i < lab->n_machines; i++) {
		tl_error err = {{0}};
		if (tl_prov_warm_prepare(warm, &lab->machines[i], &err) < 0) {
			fprintf(stderr, "bench: template: %s\n", err.msg);
			return 1;
		}
	}
	printf("template_build_s=%.1f\n", (tl_now_ms() - t0) / 1000.0);
	double c[MAXR], w[MAXR];
	for (int k = 0; k < rounds; k++) {
		char name[32];
		bool all_warm = false;
		snprintf(name, sizeof name, "cold%d", k);
		c[k] = round_once(cold, lab, name, &all_warm);
		if (c[k] < 0 || all_warm)
			return 1;
		snprintf(name, sizeof name, "warm%d", k);
		w[k] = round_once(warm, lab, name, &all_warm);
		if (w[k] < 0 || !all_warm) {
			fprintf(stderr, "bench: the warm round booted cold\n");
			return 1;
		}
		printf("round=%d cold_s=%.1f warm_s=%.1f\n", k + 1, c[k], w[k]);
		fflush(stdout);
	}
	double mc = median(c, rounds), mw = median(w, rounds);
	printf("machines=%zu rounds=%d\n", lab->n_machines, rounds);
	printf("cold_s=%.1f\nwarm_s=%.1f\n", mc, mw);
	printf("speedup_warm_vs_cold=%.2f\n", mc / mw);
	printf("load_avg_end=%.2f\n", e2e_load_avg());
	return 0;
}
