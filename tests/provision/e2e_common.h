/*
 * e2e_common.h: what the provisioner's end-to-end tests share (suite
 * "provision-e2e", real TCG guests on qemu:///system).
 *
 * Each run uses its own session id ("e2e-<pid>") in a storage pool kept
 * for these tests ("tssrlab-e2e", left defined: runs may overlap), so
 * that "nothing of tssrlab is left" can be checked exactly with virsh
 * while other work runs on the same libvirtd. Cleanup runs at exit, whatever
 * the result; a run killed before its cleanup (meson's timeout) is cleaned by
 * the next one: stale e2e sessions whose process is gone are destroyed at
 * start. Tests skip (exit 77) with the reason when libvirtd, an image, the
 * management key or the SSH engine is missing.
 */
#ifndef TL_E2E_COMMON_H
#define TL_E2E_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tssrlab/defs.h"
#include "tssrlab/provision.h"
#include "tssrlab/ssh.h"

#define E2E_URI	      "qemu:///system"
#define E2E_POOL      "tssrlab-e2e"
#define E2E_POOL_PATH "/var/lib/tssrlab/e2e-pool"
#define E2E_KEY	      "/var/lib/tssrlab/keys/mgmt_ed25519"

static char e2e_session[64];
static char e2e_logs[128];

static inline const char *e2e_images_dir(void)
{
	const char *d = getenv("TSSRLAB_IMAGE_DIR");
	return d && *d ? d : "/var/lib/tssrlab/images";
}

static inline void e2e_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	fflush(stdout);
	exit(77);
}

/* Skips unless the image's files are there. */
static inline void e2e_need_image(const char *id)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/disk.qcow2", e2e_images_dir(), id);
	if (access(path, R_OK) != 0) {
		char why[700];
		snprintf(why, sizeof why,
			 "image %s is not built (%s missing; run "
			 "tools/build-image %s)",
			 id, path, id);
		e2e_skip(why);
	}
}

static inline tl_prov_host_config e2e_host(void)
{
	tl_prov_host_config hc = {0};
	hc.name = "local";
	hc.uri = E2E_URI;
	hc.accel = TL_PROV_ACCEL_TCG;
	hc.pool_name = E2E_POOL;
	hc.pool_path = E2E_POOL_PATH;
	hc.images_dir = e2e_images_dir();
	hc.console_log_dir = e2e_logs[0] ? e2e_logs : NULL;
	return hc;
}

/* A provisioner on qemu:///system, or exit 77 saying why not. */
static inline tl_prov *e2e_prov(int workers)
{
#ifndef TL_PROV_HAVE_SSH
	e2e_skip("tssrlab was built without the SSH probe engine (libssh)");
#endif
	if (access(E2E_KEY, R_OK) != 0)
		e2e_skip("no management key " E2E_KEY
			 " (tools/build-image creates it)");
	tl_error err = {{0}};
	tl_prov_config cfg = {.workers = workers,
			      .ready_timeout_s = 600,
			      .ssh_timeout_s = 120,
			      .key_path = E2E_KEY};
	tl_prov *p = tl_prov_new(&cfg, &err);
	tl_prov_host_config hc = e2e_host();
	if (!p || tl_prov_host_add(p, &hc, &err) < 0) {
		char why[TL_ERROR_MAX + 64];
		snprintf(why, sizeof why,
			 "libvirtd not available (tools/setup-libvirt): %s",
			 err.msg);
		tl_prov_free(p);
		e2e_skip(why);
	}
	return p;
}

static inline bool e2e_stale_session(const char *s)
{
	/* sessions of these tests and of the benchmarks: <tag>-<pid> */
	static const char *const tags[] = {"e2e-", "bench-", "bseq-",
					   "bgrading-", "twohosts-"};
	for (size_t i = 0; i < sizeof tags / sizeof *tags; i++) {
		size_t n = strlen(tags[i]);
		int pid;
		char tail;
		if (strncmp(s, tags[i], n) ||
		    sscanf(s + n, "%d%c", &pid, &tail) != 1)
			continue;
		return pid != getpid() && kill(pid, 0) != 0;
	}
	return false;
}

/* Destroys what earlier runs, killed before their cleanup, left. */
static inline void e2e_clean_stale(tl_prov *p)
{
	tl_prov_report r;
	tl_error err = {{0}};
	if (tl_prov_list(p, NULL, &r, &err) < 0)
		return;
	for (size_t i = 0; i < r.n; i++) {
		const char *s = r.items[i].session;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(r.items[j].session, s);
		if (seen || !e2e_stale_session(s))
			continue;
		fprintf(stderr, "  removing leftovers of session %s\n", s);
		tl_prov_session_destroy(p, s, NULL, &err);
	}
	tl_prov_report_clear(&r);
}

/* The 1-minute load average (benchmarks print it: on a shared host only
 * ratios measured in the same run mean something). */
static inline double e2e_load_avg(void)
{
	double l = 0;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = 0;
		fclose(f);
	}
	return l;
}

static inline void e2e_session_init(const char *tag)
{
	snprintf(e2e_session, sizeof e2e_session, "e2e-%d", (int)getpid());
	snprintf(e2e_logs, sizeof e2e_logs, "/tmp/tssrlab-%s-%d", tag,
		 (int)getpid());
	mkdir(e2e_logs, 0755);
}

/* Output of a shell command (at most 64 KiB). New string. */
static inline char *e2e_sh(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return strdup("");
	size_t cap = 65536, n = 0;
	char *out = calloc(1, cap + 1);
	size_t r;
	while ((r = fread(out + n, 1, cap - n, f)) > 0 && n < cap)
		n += r;
	out[n] = '\0';
	pclose(f);
	return out;
}

/* Whether a shell command exits 0. */
static inline bool e2e_sh_ok(const char *cmd)
{
	int st = system(cmd);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* What virsh shows of session (domains, networks, volumes of pool):
 * empty string when nothing. New string. */
static inline char *e2e_virsh_leftovers(const char *session)
{
	char cmd[1024];
	snprintf(
	    cmd, sizeof cmd,
	    "{ virsh -q -c " E2E_URI " list --all --name; "
	    "virsh -q -c " E2E_URI " net-list --all --name; "
	    "virsh -q -c " E2E_URI " vol-list --pool " E2E_POOL
	    " 2>/dev/null | awk '{print $1}'; } | grep -F 'tl+%s+' || true",
	    session);
	return e2e_sh(cmd);
}

/* Runs cmd on machine m (pinned to its key); returns the exit status or
 * -100 - tl_ssh_status; ret_out gets stdout (new string) when not NULL. */
static inline int e2e_run(tl_prov *p, const tl_prov_machine *m, const char *cmd,
			  const char *pin, char **ret_out)
{
	tl_ssh_target t;
	tl_prov_machine_ssh_target(p, m, &t);
	if (pin)
		t.pinned_fp = pin;
	tl_ssh_result r = {0};
	tl_error err = {{0}};
	int rc = tl_ssh_run(&t, cmd, NULL, 0, 60, 65536, &r, &err);
	int status = rc == TL_SSH_OK ? r.exit_status : -100 + rc;
	if (rc != TL_SSH_OK)
		fprintf(stderr, "  ssh %s: %s\n", m->id, err.msg);
	if (ret_out) {
		*ret_out = strdup(r.out ? r.out : "");
		(*ret_out)[strcspn(*ret_out, "\n")] = '\0';
	}
	tl_ssh_result_clear(&r);
	return status;
}

/* Removes the console logs when all went well, else says where they are. */
static inline void e2e_logs_drop(bool ok)
{
	if (!e2e_logs[0])
		return;
	if (!ok) {
		fprintf(stderr, "guest console logs kept in %s\n", e2e_logs);
		return;
	}
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", e2e_logs);
	free(e2e_sh(cmd));
}

#endif
