/*
 * bench_provision.c: a class of N instances x 2 tiny machines (lab
 * tiny-pair), until every machine answers SSH: tssrlab's worker pool and
 * linked clones against baselines run in the same process, one after the
 * other, on the same libvirtd (meson benchmark, suite "provision").
 *
 *   tssrlab     tl_prov_create_many, one worker per instance, overlays
 *               on the base image, readiness only (no personalisation,
 *               as the baselines have none); personalisation is timed
 *               apart afterwards.
 *   sequential  what a script does with plain virsh: for each machine in
 *               turn, a full copy of the base disk (qemu-img convert),
 *               virsh net-create for its instance's network, virsh
 *               create, then wait until it answers SSH, then the next.
 *   virsh-all   the same copies and virsh calls, all machines started one
 *               after the other first, then waited for (parallel boot
 *               without tssrlab), to show what parallel boot alone gives.
 * The baselines use the very XML tssrlab generates (planned, not created
 * by tssrlab: the plan call is outside their timing) and the same
 * readiness check (SSH banner, then a login running `true`).
 *
 * Printed as key=value lines. overhead_share is measured on the critical
 * path: the machine that answered last was asked to start at t_start
 * (time since the call began, spent placing, allocating and creating
 * networks, overlays and domains before that start) and answered at
 * t_total; overhead_share = t_start / t_total, i.e. the share of the
 * class's waiting time that was orchestration rather than guest boot
 * (QEMU start, kernel, init, sshd, and readiness polling latency).
 * overhead_share_mean is the same ratio averaged over all machines.
 * disk_per_instance_mib is the allocation libvirt reports for the
 * instance's overlays right after all machines answered SSH.
 *
 * Environment: TSSRLAB_BENCH_INSTANCES (default 8, at most 16).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../provision/e2e_common.h"

#define BENCH_POOL	"tssrlab-bench"
#define BENCH_POOL_PATH "/var/lib/tssrlab/bench-pool"
#define MAXI		16

static tl_prov *prov;
static tl_defs *defs;
static char session[64], seq_session[64], copies[128];
static int n_inst = 8;
static unsigned long long copy_bytes; /* full copies of the first baseline */

static void cleanup(void)
{
	if (prov) {
		tl_error err = {{0}};
		tl_prov_session_destroy(prov, session, NULL, &err);
		tl_prov_session_destroy(prov, seq_session, NULL, &err);
	}
	if (copies[0]) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", copies);
		free(e2e_sh(cmd));
	}
	char *vols = e2e_sh("virsh -q -c " E2E_URI
			    " vol-list --pool " BENCH_POOL " 2>/dev/null");
	if (vols[strspn(vols, " \n")] == '\0')
		free(e2e_sh("virsh -q -c " E2E_URI " pool-destroy " BENCH_POOL
			    " >/dev/null 2>&1; virsh -q -c " E2E_URI
			    " pool-delete " BENCH_POOL
			    " >/dev/null 2>&1; virsh -q "
			    "-c " E2E_URI " pool-undefine " BENCH_POOL
			    " >/dev/null 2>&1"));
	free(vols);
	prov = tl_prov_free(prov);
	tl_defs_free(defs);
	defs = NULL;
}

/* ---- tssrlab ---- */

typedef struct mtimes {
	char key[96]; /* instance/machine */
	double ready; /* since the call began */
} mtimes;

typedef struct timing {
	mtimes m[MAXI * 2];
	int n;
	double last[TL_PROV_PHASE_FAILED + 1]; /* latest event per phase */
} timing;

static mtimes *slot(timing *t, const tl_prov_progress *ev)
{
	char key[96];
	snprintf(key, sizeof key, "%.15s/%.64s", ev->instance, ev->object);
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->m[i].key, key))
			return &t->m[i];
	if (t->n >= MAXI * 2)
		return NULL;
	mtimes *m = &t->m[t->n++];
	snprintf(m->key, sizeof m->key, "%s", key);
	return m;
}

static int on_progress(void *ud, const tl_prov_progress *ev)
{
	timing *t = ud;
	if (ev->phase == TL_PROV_PHASE_FAILED)
		fprintf(stderr, "bench: failed: %s\n", ev->message);
	if (ev->elapsed_ms > t->last[ev->phase])
		t->last[ev->phase] = ev->elapsed_ms;
	if (ev->phase != TL_PROV_PHASE_READY || !ev->object)
		return 0;
	mtimes *m = slot(t, ev);
	if (m)
		m->ready = ev->elapsed_ms;
	return 0;
}

static unsigned long long vol_allocation(const char *name)
{
	tl_error err = {{0}};
	char *x =
	    tl_prov_object_xml(prov, NULL, TL_PROV_OBJ_VOLUME, name, &err);
	unsigned long long a = 0;
	const char *p = x ? strstr(x, "<allocation unit='bytes'>") : NULL;
	if (p)
		a = strtoull(p + strlen("<allocation unit='bytes'>"), NULL, 10);
	free(x);
	return a;
}

typedef struct pers_arg {
	tl_prov_instance *inst;
	int rc;
	tl_error err;
} pers_arg;

static void *personalise_one(void *arg)
{
	pers_arg *a = arg;
	a->rc = tl_prov_instance_personalise(prov, a->inst, &a->err);
	return NULL;
}

/* ---- baselines ---- */

static int wait_ssh(const char *host, int port, int timeout_s)
{
	double deadline = tl_now_ms() + timeout_s * 1000.0;
	while (tl_now_ms() < deadline) {
		tl_error e = {{0}};
		if (tl_ssh_wait_banner(host, port, 1, &e) < 0)
			continue;
		tl_ssh_target t = {.host = host,
				   .port = port,
				   .user = "root",
				   .key_path = E2E_KEY,
				   .connect_timeout_s = 10};
		tl_ssh_result r = {0};
		int rc = tl_ssh_run(&t, "true", NULL, 0, 10, 4096, &r, &e);
		int st = r.exit_status;
		tl_ssh_result_clear(&r);
		if (rc == TL_SSH_OK && st == 0)
			return 0;
		struct timespec ts = {0, 250000000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
		n++;
	char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1);
	char *o = out;
	for (const char *p = s;;) {
		const char *q = strstr(p, from);
		if (!q) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
		p = q + fl;
	}
	return out;
}

static int run_cmd(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "bench: failed (%d): %s\n", rc, cmd);
	return rc;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool copy_counted; /* set after the first baseline */

/* One machine of the baseline: full copy, virsh create. */
static int baseline_start(const tl_prov_machine *m, int i, int k)
{
	char copy[512], xmlf[256], cmd[1400];
	snprintf(copy, sizeof copy, "%s/i%d-%s.qcow2", copies, i, m->id);
	snprintf(cmd, sizeof cmd, "qemu-img convert -O qcow2 '%s' '%s'",
		 m->base_disk, copy);
	if (run_cmd(cmd))
		return -1;
	struct stat st;
	if (stat(copy, &st) == 0 && !copy_counted)
		copy_bytes += (unsigned long long)st.st_blocks * 512;
	char *xml = replace_all(m->domain_xml, m->volume_path, copy);
	snprintf(xmlf, sizeof xmlf, "%s/i%d-%d.xml", copies, i, k);
	write_file(xmlf, xml);
	free(xml);
	snprintf(cmd, sizeof cmd,
		 "virsh -q -c " E2E_URI " create '%s' >/dev/null", xmlf);
	return run_cmd(cmd);
}

static int baseline_network(const tl_prov_instance *inst, int i)
{
	for (size_t n = 0; n < inst->n_networks; n++) {
		char xmlf[256], cmd[512];
		snprintf(xmlf, sizeof xmlf, "%s/net-i%d-%zu.xml", copies, i, n);
		write_file(xmlf, inst->networks[n].xml);
		snprintf(cmd, sizeof cmd,
			 "virsh -q -c " E2E_URI " net-create '%s' >/dev/null",
			 xmlf);
		if (run_cmd(cmd))
			return -1;
	}
	return 0;
}

/* The whole baseline; all_first: start everything, then wait. Returns the
 * time in ms excluding the plan calls, or -1. */
static double baseline(const tl_lab *lab, bool all_first)
{
	double spent = 0;
	tl_prov_instance *plans[MAXI] = {0};
	int rc = 0;
	for (int i = 0; i < n_inst && rc == 0; i++) {
		char id[16];
		snprintf(id, sizeof id, "i%d", i);
		tl_prov_request r = {
		    .session = seq_session, .instance = id, .lab = lab};
		tl_error err = {{0}};
		/* planned after the previous instance exists in libvirt: its
		 * ports and subnet are taken into account */
		plans[i] = tl_prov_instance_plan(prov, &r, &err);
		if (!plans[i]) {
			fprintf(stderr, "bench: plan: %s\n", err.msg);
			rc = -1;
			break;
		}
		double t0 = tl_now_ms();
		rc = baseline_network(plans[i], i);
		for (size_t k = 0; rc == 0 && k < plans[i]->n_machines; k++) {
			tl_prov_machine *m = &plans[i]->machines[k];
			rc = baseline_start(m, i, (int)k);
			if (rc == 0 && !all_first &&
			    wait_ssh(m->ssh_host, m->ssh_port, 300) < 0) {
				fprintf(stderr, "bench: %s/%s: no SSH\n", id,
					m->id);
				rc = -1;
			}
		}
		spent += tl_now_ms() - t0;
	}
	if (all_first && rc == 0) {
		double t0 = tl_now_ms();
		for (int i = 0; i < n_inst && rc == 0; i++)
			for (size_t k = 0; k < plans[i]->n_machines; k++) {
				tl_prov_machine *m = &plans[i]->machines[k];
				if (wait_ssh(m->ssh_host, m->ssh_port, 300) <
				    0) {
					rc = -1;
					break;
				}
			}
		spent += tl_now_ms() - t0;
	}
	tl_error err = {{0}};
	tl_prov_session_destroy(prov, seq_session, NULL, &err);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -f '%s'/*", copies);
	free(e2e_sh(cmd));
	for (int i = 0; i < n_inst; i++)
		tl_prov_instance_free(plans[i]);
	return rc == 0 ? spent : -1;
}

int main(void)
{
	const char *env = getenv("TSSRLAB_BENCH_INSTANCES");
	if (env && atoi(env) > 0)
		n_inst = atoi(env) > MAXI ? MAXI : atoi(env);
	e2e_need_image("tiny");
#ifndef TL_PROV_HAVE_SSH
	e2e_skip("tssrlab was built without the SSH probe engine (libssh)");
#endif
	if (access(E2E_KEY, R_OK) != 0)
		e2e_skip("no management key " E2E_KEY);
	snprintf(session, sizeof session, "bench-%d", (int)getpid());
	snprintf(seq_session, sizeof seq_session, "bseq-%d", (int)getpid());
	tl_error err = {{0}};
	tl_prov_config cfg = {
	    .workers = n_inst, .ready_timeout_s = 600, .key_path = E2E_KEY};
	prov = tl_prov_new(&cfg, &err);
	tl_prov_host_config hc = e2e_host();
	hc.pool_name = BENCH_POOL;
	hc.pool_path = BENCH_POOL_PATH;
	hc.console_log_dir = NULL;
	if (!prov || tl_prov_host_add(prov, &hc, &err) < 0) {
		char why[TL_ERROR_MAX + 64];
		snprintf(why, sizeof why, "libvirtd not available: %s",
			 err.msg);
		prov = tl_prov_free(prov);
		e2e_skip(why);
	}
	atexit(cleanup);
	e2e_clean_stale(prov);
	snprintf(copies, sizeof copies, "/var/lib/tssrlab/bench-copies-%d",
		 (int)getpid());
	mkdir(copies, 0755);
	tl_diags d = {0};
	defs = tl_defs_load(tl_defs_default_root(), NULL, 0, &d);
	tl_diags_clear(&d);
	const tl_lab *lab = defs ? tl_defs_lab(defs, "tiny-pair") : NULL;
	if (!lab) {
		fprintf(stderr, "bench: no lab tiny-pair\n");
		return 1;
	}
	printf(
	    "instances=%d\nmachines=%d\nworkers=%d\nload_avg_at_start=%.2f\n",
	    n_inst, n_inst * (int)lab->n_machines, n_inst, e2e_load_avg());
	fflush(stdout);

	/* 1. tssrlab */
	tl_prov_request reqs[MAXI];
	char ids[MAXI][16];
	for (int i = 0; i < n_inst; i++) {
		snprintf(ids[i], sizeof ids[i], "i%d", i);
		reqs[i] = (tl_prov_request){.session = session,
					    .instance = ids[i],
					    .lab = lab,
					    .flags = TL_PROV_NO_PERSONALISE};
	}
	tl_prov_outcome out[MAXI];
	timing t = {0};
	double t0 = tl_now_ms();
	int failed = tl_prov_create_many(prov, reqs, (size_t)n_inst,
					 on_progress, &t, out, &err);
	double wall = tl_now_ms() - t0;
	if (failed != 0) {
		fprintf(stderr, "bench: tssrlab: %d failed %s\n", failed,
			failed < 0 ? err.msg : "");
		return 1;
	}
	/* disk right after SSH answered */
	unsigned long long disk = 0;
	for (int i = 0; i < n_inst; i++)
		for (size_t k = 0; k < out[i].instance->n_machines; k++)
			disk +=
			    vol_allocation(out[i].instance->machines[k].volume);
	/* each machine was asked to start ready_ms before it answered
	 * (ready_ms runs from just before virDomainCreate) */
	double last_ready = 0, last_start = 0, share_sum = 0;
	int n_m = 0;
	for (int i = 0; i < n_inst; i++)
		for (size_t k = 0; k < out[i].instance->n_machines; k++) {
			tl_prov_machine *m = &out[i].instance->machines[k];
			char key[96];
			snprintf(key, sizeof key, "%.15s/%.64s", ids[i], m->id);
			for (int j = 0; j < t.n; j++) {
				if (strcmp(t.m[j].key, key))
					continue;
				double ready = t.m[j].ready;
				double start = ready - m->ready_ms;
				share_sum += start / ready;
				n_m++;
				if (ready > last_ready) {
					last_ready = ready;
					last_start = start;
				}
			}
		}
	printf("time_tssrlab_all_ssh_s=%.2f\n", last_ready / 1000);
	printf("time_tssrlab_call_s=%.2f\n", wall / 1000);
	/* where the orchestration time goes: when the last of each step ended
	 */
	static const tl_prov_phase steps[] = {
	    TL_PROV_PHASE_NETWORK, TL_PROV_PHASE_VOLUME, TL_PROV_PHASE_DEFINED,
	    TL_PROV_PHASE_STARTED};
	for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
		printf("t_last_%s_s=%.2f\n", tl_prov_phase_name(steps[i]),
		       t.last[steps[i]] / 1000);
	printf("overhead_s=%.2f\n", last_start / 1000);
	printf("overhead_share=%.4f\n", last_start / last_ready);
	printf("overhead_share_mean=%.4f\n", n_m ? share_sum / n_m : 0);
	printf("disk_per_instance_mib=%.2f\n",
	       (double)disk / n_inst / 1048576.0);
	fflush(stdout);

	/* personalisation, all instances at once (timed apart) */
	pthread_t th[MAXI];
	pers_arg pa[MAXI];
	t0 = tl_now_ms();
	for (int i = 0; i < n_inst; i++) {
		pa[i] = (pers_arg){.inst = out[i].instance};
		pthread_create(&th[i], NULL, personalise_one, &pa[i]);
	}
	int pfail = 0;
	for (int i = 0; i < n_inst; i++) {
		pthread_join(th[i], NULL);
		if (pa[i].rc < 0) {
			pfail++;
			fprintf(stderr, "bench: personalise: %s\n",
				pa[i].err.msg);
		}
	}
	printf("time_personalise_all_s=%.2f\n", (tl_now_ms() - t0) / 1000);
	printf("personalise_failures=%d\n", pfail);
	fflush(stdout);
	tl_prov_session_destroy(prov, session, NULL, &err);
	for (int i = 0; i < n_inst; i++)
		tl_prov_instance_free(out[i].instance);

	/* 2. sequential virsh with full copies */
	double seq = baseline(lab, false);
	copy_counted = true;
	/* 3. the same, all started first */
	double all = baseline(lab, true);
	if (seq < 0 || all < 0) {
		fprintf(stderr, "bench: baseline failed\n");
		return 1;
	}
	printf("time_sequential_virsh_s=%.2f\n", seq / 1000);
	printf("time_virsh_parallel_boot_s=%.2f\n", all / 1000);
	printf("baseline_disk_per_instance_mib=%.2f\n",
	       (double)copy_bytes / n_inst / 1048576.0);
	printf("speedup_vs_sequential=%.2f\n", seq / last_ready);
	printf("speedup_vs_virsh_parallel_boot=%.2f\n", all / last_ready);
	printf("load_avg_at_end=%.2f\n", e2e_load_avg());
	return 0;
}
