/*
 * bench_grading.c: grading speed against the tools trainers use, side by
 * side in one run (meson benchmark, suite "grading").
 *
 * Part 1: the 20 checks of scenario grading-debian (tests/bench/grading/
 * defs) on ONE debian12 guest, provisioned through the provisioner (lab
 * grading-debian, one machine, loopback access, host key pinned) and
 * prepared by tests/bench/grading/setup-guest.sh so that 15 checks pass
 * and 5 fail. Each round times, in turn:
 *
 *   tssrlab         tl_probe_run_instance of the scenario, as the daemon
 *                   grades (one libssh session, pinned key, the agent
 *                   batch with its nonce, absolute paths, the image's
 *                   hashes.json, caps and timeouts)
 *   floor           tests/bench/grading/checks.sh, the same 20 checks as
 *                   plain shell, in one script over one `ssh` (OpenSSH)
 *   ssh_per_check   the same 20 commands, one new `ssh` connection each
 *   testinfra       py.test with Debian's python3-testinfra, its ssh
 *                   backend with its defaults (tests/bench/grading/
 *                   test_grading.py)
 *   testinfra_mux   the same with a ControlPath in the ssh config, so
 *                   testinfra's ControlMaster=auto reuses one connection
 *   ansible         ansible-playbook tests/bench/grading/grading.yml with
 *                   Ansible's defaults (ControlPersist; no pipelining),
 *                   no fact gathering
 *   ansible_pipelining  the same with ANSIBLE_PIPELINING=1
 *
 * Every round starts cold for every tool (ssh masters of the previous
 * round are closed). A warm-up (tssrlab, the floor, the guest's python3)
 * fills the guest's caches first and is not counted; the figures are
 * medians of TSSRLAB_BENCH_RUNS rounds (default 3). Each tool's verdicts are
 * counted (*_passed=, expected 15) so that a tool that silently checks nothing
 * cannot look fast.
 *
 * Part 2: a session of 8 instances of lab grading-tiny (one tiny machine
 * each), scenario grading-tiny (20 probes each): all 8 graded at once by a
 * bounded pool of TSSRLAB_BENCH_GRADE_WORKERS threads (default 4, the
 * daemon's default number of workers) against one instance alone.
 *
 * Printed as key=value lines; ratio_vs_floor = tssrlab_ms / floor_ms,
 * speedup_vs_X = X_ms / tssrlab_ms, session8_vs_one = session8_ms /
 * one_ms. Skipped (77) when libvirtd, an image, the management key, the
 * SSH engine, or a peer tool (ssh, py.test with testinfra,
 * ansible-playbook) is missing. Everything is torn down at exit; a run
 * killed before that is cleaned by the next one (sessions bgrading-<pid>).
 *
 * Environment: TSSRLAB_BENCH_RUNS (counted rounds, default 3; fewer when
 * TSSRLAB_BENCH_BUDGET_S, default 1000, would be passed: shared machines
 * are slow at times),
 * TSSRLAB_BENCH_GRADE_WORKERS (default 4), TSSRLAB_BENCH_KEEP (leave the
 * guests running at exit, to look at them; the next run removes them).
 *
 *   bench_grading --print-batch   prints the agent batch of the debian
 *                                 scenario (to profile the agent by hand)
 *   bench_grading --clean         removes what killed runs left
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../provision/e2e_common.h"
#include "tssrlab/grade.h"
#include "tssrlab/probe.h"

#define BG_POOL	     "tssrlab-bgrading"
#define BG_POOL_PATH "/var/lib/tssrlab/bgrading-pool"
#define BG_TAG	     "bgrading-"
#define BG_SESSION_N 8
#define BG_EXPECT    15 /* checks of grading-debian that pass */

static tl_prov *prov;
static tl_defs *defs;
static char session[64];
static char work[128]; /* temp folder: ssh configs, inventory, masters */
static char src[1024]; /* tests/bench/grading */
static int port;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	if (n <= 0)
		return -1;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0) {
		fprintf(stderr, "bench: cannot write %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	fclose(f);
}

/* ---- running peers ---- */

/* Runs argv (PATH lookup) in work with extra environment (NULL-ended
 * "K=V" list, may be NULL) and stdin from in (NULL: /dev/null); stdout
 * and stderr go to *ret_out (new string, may be NULL). Returns the exit
 * status (-1 when it did not exit) and the wall time in *ret_ms. */
static int spawn(char *const argv[], char *const env[], const char *in,
		 char **ret_out, double *ret_ms)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	double t0 = tl_now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = chdir(work) < 0
			     ? -1
			     : open(in ? in : "/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fds[1], 1) < 0 ||
		    dup2(fds[1], 2) < 0)
			_exit(126);
		close(fds[0]);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	tl_buf out;
	tl_buf_init(&out, 1u << 20);
	char chunk[8192];
	ssize_t n;
	while ((n = read(fds[0], chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		tl_buf_append(&out, chunk, (size_t)n);
	}
	close(fds[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (ret_ms)
		*ret_ms = tl_now_ms() - t0;
	char *o = tl_buf_steal(&out);
	if (ret_out)
		*ret_out = o;
	else
		free(o);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Closes the ssh control masters (ControlPersist) whose sockets are in
 * dir and removes dir: the next round starts cold. */
static void close_masters(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[512], opt[600];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			snprintf(opt, sizeof opt, "ControlPath=%s", path);
			char *argv[] = {"ssh",	"-o",  opt, "-O",
					"exit", "srv", NULL};
			spawn(argv, NULL, NULL, NULL, NULL);
		}
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int have_program(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* ---- the 20 checks as shell ---- */

static char *checks[32];
static int n_checks;

static void load_checks(void)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/checks.sh", src);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench: cannot read %s\n", path);
		exit(1);
	}
	char line[4096];
	while (fgets(line, sizeof line, f) && n_checks < 32) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		checks[n_checks++] = tl_xstrdup(line);
	}
	fclose(f);
}

static int run_floor(double *ms)
{
	char *argv[] = {"ssh", "-F", "ssh_config", "srv", "sh -s", NULL};
	char *out = NULL;
	int rc = spawn(argv, NULL, "floor.sh", &out, ms);
	int pass = 0;
	for (const char *p = out; p && (p = strstr(p, "ok ")); p += 3)
		if (p == out || p[-1] == '\n')
			pass++;
	if (rc != 0)
		fprintf(stderr, "bench: floor: exit %d: %.300s\n", rc, out);
	free(out);
	return rc == 0 ? pass : -1;
}

static int run_per_check(double *ms)
{
	int pass = 0;
	double t0 = tl_now_ms();
	for (int i = 0; i < n_checks; i++) {
		char *argv[] = {"ssh", "-F",	  "ssh_config",
				"srv", checks[i], NULL};
		int rc = spawn(argv, NULL, NULL, NULL, NULL);
		if (rc == 255)
			fprintf(stderr, "bench: ssh per check: ssh failed\n");
		pass += rc == 0;
	}
	*ms = tl_now_ms() - t0;
	return pass;
}

/* "N passed" / "N failed" in py.test's summary line. */
static int pytest_count(const char *out, const char *word)
{
	const char *p = out;
	const char *hit = NULL;
	while ((p = strstr(p, word))) {
		hit = p;
		p += strlen(word);
	}
	if (!hit)
		return 0;
	const char *q = hit - 1;
	while (q > out && q[-1] >= '0' && q[-1] <= '9')
		q--;
	return atoi(q);
}

static int run_testinfra(bool mux, double *ms)
{
	char hosts[64], cfg[64], test[1100];
	snprintf(hosts, sizeof hosts, "--hosts=ssh://root@127.0.0.1:%d", port);
	snprintf(cfg, sizeof cfg, "--ssh-config=%s",
		 mux ? "ssh_config_mux" : "ssh_config");
	snprintf(test, sizeof test, "%s/test_grading.py", src);
	char *argv[] = {"/usr/bin/python3",
			"-m",
			"pytest",
			"-q",
			"-p",
			"no:cacheprovider",
			"-c",
			"/dev/null",
			"--rootdir",
			work,
			hosts,
			cfg,
			"--ssh-identity-file=" E2E_KEY,
			test,
			NULL};
	char *env[] = {"PYTHONDONTWRITEBYTECODE=1", NULL};
	char *out = NULL;
	int rc = spawn(argv, env, NULL, &out, ms);
	int pass = pytest_count(out, " passed");
	int fail = pytest_count(out, " failed");
	if ((rc != 0 && rc != 1) || pass + fail != n_checks) {
		fprintf(stderr,
			"bench: testinfra: exit %d, %d passed, %d "
			"failed:\n%s\n",
			rc, pass, fail, out);
		pass = -1;
	}
	free(out);
	if (mux) {
		char dir[200];
		snprintf(dir, sizeof dir, "%s/mux", work);
		close_masters(dir);
		mkdir(dir, 0700);
	}
	return pass;
}

static int run_ansible(bool pipelining, double *ms)
{
	static int round;
	char cpdir[256], play[1100], envcp[300];
	snprintf(cpdir, sizeof cpdir, "%s/cp-%d", work, round++);
	snprintf(envcp, sizeof envcp, "ANSIBLE_SSH_CONTROL_PATH_DIR=%s", cpdir);
	snprintf(play, sizeof play, "%s/grading.yml", src);
	char *argv[] = {"ansible-playbook", "-i", "inventory", play, NULL};
	char *env[] = {"ANSIBLE_CONFIG=ansible.cfg",
		       "ANSIBLE_NOCOLOR=1",
		       "ANSIBLE_RETRY_FILES_ENABLED=0",
		       "ANSIBLE_LOCAL_TEMP=ansible-tmp",
		       "PYTHONDONTWRITEBYTECODE=1",
		       envcp,
		       pipelining ? "ANSIBLE_PIPELINING=1"
				  : "ANSIBLE_PIPELINING=0",
		       NULL};
	char *out = NULL;
	int rc = spawn(argv, env, NULL, &out, ms);
	/* srv : ok=20 changed=0 unreachable=0 failed=0 ... ignored=5 */
	const char *rec = out ? strstr(out, "PLAY RECAP") : NULL;
	const char *ok = rec ? strstr(rec, "ok=") : NULL;
	const char *ig = rec ? strstr(rec, "ignored=") : NULL;
	const char *un = rec ? strstr(rec, "unreachable=") : NULL;
	int pass = -1;
	if (rc == 0 && ok && ig && un && atoi(un + 12) == 0 &&
	    atoi(ok + 3) == n_checks)
		pass = n_checks - atoi(ig + 8);
	else
		fprintf(stderr, "bench: ansible-playbook: exit %d:\n%s\n", rc,
			out);
	free(out);
	close_masters(cpdir);
	return pass;
}

/* ---- tssrlab ---- */

/* How the daemon reaches a provisioned machine (backend_libvirt.c). */
typedef struct pmachine {
	tl_probe_machine pm;
	tl_probe_portmap map[8];
	char hashes[600];
} pmachine;

static void probe_machine(pmachine *x, const tl_prov_machine *m,
			  const tl_lab *lab)
{
	memset(x, 0, sizeof *x);
	x->pm.id = m->id;
	tl_prov_machine_ssh_target(prov, m, &x->pm.ssh);
	x->pm.agent = TL_AGENT_SH;
	snprintf(x->hashes, sizeof x->hashes, "%s/%s/hashes.json",
		 e2e_images_dir(), m->image_id);
	if (access(x->hashes, R_OK) == 0)
		x->pm.hashes_path = x->hashes;
	x->pm.address = m->ssh_host;
	for (size_t k = 0; k < m->n_forwards && k < 8; k++) {
		x->map[k].lab_port = m->forwards[k].guest_port;
		x->map[k].host_port = m->forwards[k].host_port;
		x->pm.n_ports++;
	}
	x->pm.ports = x->map;
	x->pm.lab = lab;
}

typedef struct grade_run {
	int pass, fail, error;
	double probes_ms; /* the probes' own time, as the agent measured it */
	char first_error[300];
} grade_run;

static double run_tssrlab(const tl_scenario *s, const pmachine *x, grade_run *g)
{
	size_t n = tl_probe_scenario_count(s);
	tl_probe_result *r = tl_xcalloc(n, sizeof *r);
	tl_error err = {{0}};
	double t0 = tl_now_ms();
	int rc = tl_probe_run_instance(s, &x->pm, 1, r, &err);
	double ms = tl_now_ms() - t0;
	memset(g, 0, sizeof *g);
	if (rc < 0) {
		g->error = (int)n;
		snprintf(g->first_error, sizeof g->first_error, "%.290s",
			 err.msg);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		g->probes_ms += r[i].ms;
		if (r[i].status != TL_PROBE_DONE) {
			if (!g->error++)
				snprintf(g->first_error, sizeof g->first_error,
					 "%s: %s", r[i].probe->kind_name,
					 r[i].error ? r[i].error : "?");
		} else if (tl_probe_result_passes(&r[i])) {
			g->pass++;
		} else {
			g->fail++;
		}
	}
	tl_probe_results_free(r, n);
	return ms;
}

/* ---- setup and teardown ---- */

/* Removes what runs killed before their cleanup left: their sessions
 * (bgrading-<pid>) and work folders (/tmp/tssrlab-bgrading-<pid>-*). */
static void clean_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int pid;
		if (sscanf(e->d_name, "tssrlab-" BG_TAG "%d-", &pid) != 1 ||
		    pid == getpid() || kill(pid, 0) == 0)
			continue;
		char cmd[400];
		snprintf(cmd, sizeof cmd, "rm -rf '/tmp/%.200s'", e->d_name);
		free(e2e_sh(cmd));
	}
	if (d)
		closedir(d);
	e2e_clean_stale(prov);
}

/* The benchmark's storage pool goes when nothing is left in it. */
static void drop_pool(void)
{
	char *vols = e2e_sh("virsh -q -c " E2E_URI " vol-list --pool " BG_POOL
			    " 2>/dev/null");
	if (vols[strspn(vols, " \n")] == '\0')
		free(e2e_sh("virsh -q -c " E2E_URI " pool-destroy " BG_POOL
			    " >/dev/null 2>&1; virsh -q -c " E2E_URI
			    " pool-delete " BG_POOL
			    " >/dev/null 2>&1; virsh -q -c " E2E_URI
			    " pool-undefine " BG_POOL " >/dev/null 2>&1"));
	free(vols);
}

static void cleanup(void)
{
	if (prov && getenv("TSSRLAB_BENCH_KEEP")) {
		fprintf(stderr,
			"bench: TSSRLAB_BENCH_KEEP: session %s kept "
			"(the next run removes it)\n",
			session);
		prov = tl_prov_free(prov);
	}
	if (prov) {
		tl_error err = {{0}};
		if (tl_prov_session_destroy(prov, session, NULL, &err) < 0)
			fprintf(stderr, "bench: teardown: %s\n", err.msg);
	}
	if (work[0]) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "%s/mux", work);
		close_masters(cmd);
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
		free(e2e_sh(cmd));
		work[0] = '\0';
	}
	if (prov) {
		drop_pool();
		char *left =
		    e2e_sh("{ virsh -q -c " E2E_URI
			   " list --all --name; virsh -q -c " E2E_URI
			   " net-list --all --name; } | grep -F 'tl+" BG_TAG
			   "' || true");
		printf("leftovers=%s\n", left[0] ? "yes" : "none");
		if (left[0])
			fprintf(stderr, "bench: left behind:\n%s", left);
		free(left);
	}
	prov = tl_prov_free(prov);
	tl_defs_free(defs);
	defs = NULL;
	for (int i = 0; i < n_checks; i++)
		free(checks[i]);
	n_checks = 0;
}

/* Runs cmd on m (pinned) with stdin; returns its exit status or -1. */
static int guest_run(const tl_prov_machine *m, const char *cmd, const char *in,
		     char **ret_out)
{
	tl_ssh_target t;
	tl_prov_machine_ssh_target(prov, m, &t);
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc = tl_ssh_run(&t, cmd, in, in ? strlen(in) : 0, 900, 0, &r, &err);
	int st = rc == TL_SSH_OK ? r.exit_status : -1;
	if (rc != TL_SSH_OK)
		fprintf(stderr, "bench: ssh %s: %s\n", cmd, err.msg);
	else if (st != 0)
		fprintf(stderr, "bench: %s: exit %d: %s%s\n", cmd, st, r.out,
			r.err);
	if (ret_out)
		*ret_out = tl_xstrdup(r.out ? r.out : "");
	tl_ssh_result_clear(&r);
	return st;
}

/* The peers' files in work: ssh configs (the guest's key pinned in a
 * known_hosts of our own), the floor script, ansible's inventory. */
static void write_peer_files(const tl_prov_machine *m)
{
	char path[300], *pub = NULL;
	if (guest_run(m, "cat /etc/ssh/ssh_host_ed25519_key.pub", NULL, &pub) !=
	    0) {
		fprintf(stderr, "bench: cannot read the guest's host key\n");
		exit(1);
	}
	char *sp = strchr(pub, ' ');
	char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	if (sp2)
		*sp2 = '\0';
	pub[strcspn(pub, "\n")] = '\0';
	char *text = tl_xasprintf("[127.0.0.1]:%d %s\n", port, pub);
	snprintf(path, sizeof path, "%s/known_hosts", work);
	write_file(path, text);
	free(text);
	free(pub);
	for (int mux = 0; mux < 2; mux++) {
		text = tl_xasprintf("Host srv 127.0.0.1\n"
				    "  HostName 127.0.0.1\n"
				    "  Port %d\n"
				    "  User root\n"
				    "  IdentityFile %s\n"
				    "  IdentitiesOnly yes\n"
				    "  UserKnownHostsFile %s/known_hosts\n"
				    "  GlobalKnownHostsFile /dev/null\n"
				    "  StrictHostKeyChecking yes\n"
				    "  BatchMode yes\n"
				    "  LogLevel ERROR\n"
				    "%s%s%s",
				    port, E2E_KEY, work,
				    mux ? "  ControlPath "
					: "  ControlMaster no\n",
				    mux ? work : "", mux ? "/mux/%C\n" : "");
		snprintf(path, sizeof path, "%s/%s", work,
			 mux ? "ssh_config_mux" : "ssh_config");
		write_file(path, text);
		free(text);
	}
	snprintf(path, sizeof path, "%s/mux", work);
	mkdir(path, 0700);
	tl_buf b;
	tl_buf_init(&b, 0);
	for (int i = 0; i < n_checks; i++)
		tl_buf_printf(&b,
			      "if { %s; } </dev/null >/dev/null 2>&1; then "
			      "echo 'ok %d'; else echo 'KO %d'; fi\n",
			      checks[i], i + 1, i + 1);
	snprintf(path, sizeof path, "%s/floor.sh", work);
	write_file(path, b.data);
	tl_buf_clear(&b);
	text = tl_xasprintf(
	    "srv ansible_host=127.0.0.1 ansible_port=%d ansible_user=root "
	    "ansible_ssh_private_key_file=%s "
	    "ansible_python_interpreter=/usr/bin/python3 "
	    "ansible_ssh_common_args='-F %s/ssh_config'\n",
	    port, E2E_KEY, work);
	snprintf(path, sizeof path, "%s/inventory", work);
	write_file(path, text);
	free(text);
	snprintf(path, sizeof path, "%s/ansible.cfg", work);
	write_file(path, "[defaults]\n");
}

static tl_prov *new_prov(void)
{
	tl_error err = {{0}};
	tl_prov_config cfg = {.workers = BG_SESSION_N,
			      .ready_timeout_s = 600,
			      .ssh_timeout_s = 120,
			      .key_path = E2E_KEY};
	tl_prov *p = tl_prov_new(&cfg, &err);
	tl_prov_host_config hc = e2e_host();
	hc.pool_name = BG_POOL;
	hc.pool_path = BG_POOL_PATH;
	hc.console_log_dir = NULL;
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

static void load_defs(void)
{
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/defs", src);
	const char *extra[] = {dir};
	tl_diags d = {0};
	defs = tl_defs_load(tl_defs_default_root(), extra, 1, &d);
	if (!defs) {
		fprintf(stderr, "bench: invalid definitions:\n");
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  %s\n", d.items[i].message);
		exit(1);
	}
	tl_diags_clear(&d);
}

static int print_batch(void)
{
	load_defs();
	const tl_scenario *s = tl_defs_scenario(defs, "grading-debian");
	if (!s) {
		fprintf(stderr, "bench: no scenario grading-debian\n");
		return 1;
	}
	size_t n = tl_probe_scenario_count(s);
	const tl_probe **p = tl_xcalloc(n, sizeof *p);
	size_t k = 0;
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++)
			for (size_t q = 0; q < s->tasks[t].criteria[c].n_probes;
			     q++)
				p[k++] = &s->tasks[t].criteria[c].probes[q];
	tl_probe_batch b;
	tl_probe_batch_opts o = {.agent = TL_AGENT_SH,
				 .nonce = "0123456789abcdef0123456789abcdef",
				 .hash = true};
	tl_error err = {{0}};
	if (tl_probe_batch_compile(&b, p, n, &o, &err) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return 1;
	}
	fwrite(b.script, 1, b.script_len, stdout);
	tl_probe_batch_clear(&b);
	free(p);
	tl_defs_free(defs);
	return 0;
}

/* ---- part 2: a session ---- */

typedef struct pool {
	const tl_scenario *s;
	pmachine *x;
	int n, next, workers;
	pthread_mutex_t lock;
	grade_run g[BG_SESSION_N];
} pool;

static void *pool_worker(void *arg)
{
	pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int i = p->next < p->n ? p->next++ : -1;
		pthread_mutex_unlock(&p->lock);
		if (i < 0)
			return NULL;
		run_tssrlab(p->s, &p->x[i], &p->g[i]);
	}
}

static double grade_all(pool *p)
{
	pthread_t th[BG_SESSION_N];
	int w = p->workers < p->n ? p->workers : p->n;
	p->next = 0;
	double t0 = tl_now_ms();
	for (int i = 0; i < w; i++)
		pthread_create(&th[i], NULL, pool_worker, p);
	for (int i = 0; i < w; i++)
		pthread_join(th[i], NULL);
	return tl_now_ms() - t0;
}

static int session_part(int runs, int budget_s)
{
	const tl_lab *lab = tl_defs_lab(defs, "grading-tiny");
	const tl_scenario *s = tl_defs_scenario(defs, "grading-tiny");
	tl_prov_request reqs[BG_SESSION_N];
	char ids[BG_SESSION_N][16];
	for (int i = 0; i < BG_SESSION_N; i++) {
		snprintf(ids[i], sizeof ids[i], "t%d", i);
		reqs[i] = (tl_prov_request){
		    .session = session, .instance = ids[i], .lab = lab};
	}
	tl_prov_outcome out[BG_SESSION_N];
	tl_error err = {{0}};
	double t0 = tl_now_ms();
	int failed = tl_prov_create_many(prov, reqs, BG_SESSION_N, NULL, NULL,
					 out, &err);
	printf("session_provision_s=%.1f\n", (tl_now_ms() - t0) / 1000);
	if (failed != 0) {
		fprintf(stderr, "bench: session: %d failed %s\n", failed,
			failed < 0 ? err.msg : out[0].error.msg);
		for (int i = 0; failed > 0 && i < BG_SESSION_N; i++)
			tl_prov_instance_free(out[i].instance);
		return 1;
	}
	pool p = {.s = s, .n = BG_SESSION_N, .workers = 4};
	const char *w = getenv("TSSRLAB_BENCH_GRADE_WORKERS");
	if (w && atoi(w) > 0)
		p.workers = atoi(w) > BG_SESSION_N ? BG_SESSION_N : atoi(w);
	pthread_mutex_init(&p.lock, NULL);
	pmachine x[BG_SESSION_N];
	for (int i = 0; i < BG_SESSION_N; i++)
		probe_machine(&x[i], &out[i].instance->machines[0], lab);
	p.x = x;
	printf("session_instances=%d\ngrade_workers=%d\n", BG_SESSION_N,
	       p.workers);
	fflush(stdout);
	double one[16], all[16];
	int n = 0, bad = 0;
	grade_run g1;
	/* round 0 warms every guest and is not counted */
	double t_part = tl_now_ms();
	for (int r = 0; r <= runs; r++) {
		if (r > 1 && tl_now_ms() - t_part > budget_s * 1000.0 / 3)
			break;
		double a = run_tssrlab(s, &x[0], &g1);
		double b = grade_all(&p);
		int errors = g1.error;
		for (int i = 0; i < BG_SESSION_N; i++)
			errors += p.g[i].error;
		if (errors) {
			bad++;
			fprintf(stderr,
				"bench: session round %d: %d errors "
				"(%s%s)\n",
				r, errors, g1.first_error,
				p.g[BG_SESSION_N - 1].first_error);
		}
		fprintf(stderr,
			"bench: session round %d: one %.0f ms, all %d "
			"%.0f ms\n",
			r, a, BG_SESSION_N, b);
		if (r > 0) {
			one[n] = a;
			all[n++] = b;
		}
	}
	pthread_mutex_destroy(&p.lock);
	double m1 = median(one, n), m8 = median(all, n);
	printf("session_rounds=%d\n", n);
	printf("one_passed=%d\none_ms=%.0f\nsession8_ms=%.0f\n"
	       "session8_vs_one=%.2f\nsession_rounds_with_errors=%d\n",
	       g1.pass, m1, m8, m8 / m1, bad);
	for (int i = 0; i < BG_SESSION_N; i++)
		tl_prov_instance_free(out[i].instance);
	return bad ? 1 : 0;
}

/* meson's timeout sends SIGTERM: tear down before going (best effort) */
static void on_signal(int sig)
{
	fprintf(stderr, "bench: signal %d: tearing down\n", sig);
	exit(1);
}

/* ---- part 1 ---- */

enum { T_TSSRLAB, T_FLOOR, T_PERCHECK, T_TI, T_TIMUX, T_ANS, T_ANSPIPE, NT };
static const char *const tname[NT] = {
    "tssrlab",	     "floor",	"ssh_per_check",     "testinfra",
    "testinfra_mux", "ansible", "ansible_pipelining"};

int main(int argc, char **argv)
{
	const char *root = getenv("TSSRLAB_DATADIR");
	snprintf(src, sizeof src, "%s/tests/bench/grading",
		 root && *root ? root : tl_defs_default_root());
	if (argc > 1 && !strcmp(argv[1], "--print-batch"))
		return print_batch();
	if (argc > 1 && !strcmp(argv[1], "--clean")) {
		/* only what dead runs of this benchmark left */
		prov = new_prov();
		clean_stale();
		drop_pool();
		prov = tl_prov_free(prov);
		return 0;
	}
	int runs = 3;
	const char *env = getenv("TSSRLAB_BENCH_RUNS");
	if (env && atoi(env) > 0)
		runs = atoi(env) > 15 ? 15 : atoi(env);
	e2e_need_image("debian12");
	e2e_need_image("tiny");
#ifndef TL_PROV_HAVE_SSH
	e2e_skip("tssrlab was built without the SSH probe engine (libssh)");
#endif
	if (access(E2E_KEY, R_OK) != 0)
		e2e_skip("no management key " E2E_KEY);
	if (!have_program("ssh"))
		e2e_skip("no OpenSSH client (apt-get install openssh-client)");
	if (system("/usr/bin/python3 -c 'import testinfra, pytest' "
		   ">/dev/null 2>&1") != 0)
		e2e_skip("testinfra is not importable by /usr/bin/python3 "
			 "(apt-get install python3-testinfra python3-pytest; "
			 "tools/setup installs them)");
	if (!have_program("ansible-playbook"))
		e2e_skip("no ansible-playbook (apt-get install ansible; "
			 "tools/setup installs it)");
	load_checks();
	if (n_checks != 20) {
		fprintf(stderr, "bench: checks.sh has %d checks, not 20\n",
			n_checks);
		return 1;
	}
	load_defs();
	const tl_scenario *s = tl_defs_scenario(defs, "grading-debian");
	const tl_lab *lab = tl_defs_lab(defs, "grading-debian");
	if (!s || !lab || !tl_defs_lab(defs, "grading-tiny") ||
	    !tl_defs_scenario(defs, "grading-tiny") ||
	    tl_probe_scenario_count(s) != 20) {
		fprintf(stderr, "bench: fixtures missing in %s/defs\n", src);
		return 1;
	}

	snprintf(session, sizeof session, BG_TAG "%d", (int)getpid());
	double t_start = tl_now_ms();
	prov = new_prov();
	atexit(cleanup);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	clean_stale();
	snprintf(work, sizeof work, "/tmp/tssrlab-" BG_TAG "%d-XXXXXX",
		 (int)getpid());
	if (!mkdtemp(work)) {
		work[0] = '\0';
		fprintf(stderr, "bench: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	printf("runs=%d\nload_avg_at_start=%.2f\n", runs, e2e_load_avg());
	fflush(stdout);

	/* one debian12 guest, personalised and pinned */
	tl_prov_request req = {
	    .session = session, .instance = "deb", .lab = lab};
	tl_error err = {{0}};
	double t0 = tl_now_ms();
	tl_prov_instance *inst =
	    tl_prov_instance_create(prov, &req, NULL, NULL, &err);
	if (!inst) {
		fprintf(stderr, "bench: debian12 guest: %s\n", err.msg);
		return 1;
	}
	printf("debian_provision_s=%.1f\n", (tl_now_ms() - t0) / 1000);
	tl_prov_machine *m = &inst->machines[0];
	port = m->ssh_port;
	char path[1100];
	snprintf(path, sizeof path, "%s/setup-guest.sh", src);
	size_t len = 0;
	char *setup = tl_file_read(path, 1u << 20, &len, &err);
	/* the guest finishes booting first (no unit still starting while
	 * the graders run) */
	if (guest_run(m, "timeout 600 systemctl is-system-running --wait", NULL,
		      NULL) < 0 ||
	    !setup || guest_run(m, "sh -s", setup, NULL) != 0) {
		fprintf(stderr, "bench: preparing the guest failed %s\n",
			setup ? "" : err.msg);
		return 1;
	}
	free(setup);
	write_peer_files(m);
	pmachine x;
	probe_machine(&x, m, lab);

	/* a shared machine may be slow: rounds stop when the next one would
	 * end past the budget (at least one counted round) */
	int budget_s = 1100, done = 0;
	const char *b = getenv("TSSRLAB_BENCH_BUDGET_S");
	if (b && atoi(b) > 0)
		budget_s = atoi(b);
	double t[NT][16], t_part = t_start, t_round = 0, probes[16];
	int passed[NT], bad = 0;
	for (int r = 0; r <= runs; r++) {
		if (r > 1 &&
		    tl_now_ms() - t_part + t_round > budget_s * 1000.0) {
			fprintf(stderr,
				"bench: time budget (%d s) spent: %d rounds "
				"counted of %d\n",
				budget_s, done, runs);
			break;
		}
		double ms[NT], t_r = tl_now_ms();
		grade_run g;
		if (r == 0) {
			/* warm-up: the guest's caches (the tools, the files,
			 * python3 for ansible's modules), not counted */
			run_tssrlab(s, &x, &g);
			run_floor(&ms[0]);
			char *argv_py[] = {"ssh",
					   "-F",
					   "ssh_config",
					   "srv",
					   "/usr/bin/python3 -c 'import json, "
					   "subprocess, os'",
					   NULL};
			spawn(argv_py, NULL, NULL, NULL, NULL);
			fprintf(stderr, "bench: warm-up %.0f ms\n",
				tl_now_ms() - t_r);
			continue;
		}
		ms[T_TSSRLAB] = run_tssrlab(s, &x, &g);
		probes[r - 1] = g.probes_ms;
		passed[T_TSSRLAB] = g.error ? -1 : g.pass;
		if (g.error)
			fprintf(stderr, "bench: tssrlab: %d errors: %s\n",
				g.error, g.first_error);
		passed[T_FLOOR] = run_floor(&ms[T_FLOOR]);
		passed[T_PERCHECK] = run_per_check(&ms[T_PERCHECK]);
		passed[T_TI] = run_testinfra(false, &ms[T_TI]);
		passed[T_TIMUX] = run_testinfra(true, &ms[T_TIMUX]);
		passed[T_ANS] = run_ansible(false, &ms[T_ANS]);
		passed[T_ANSPIPE] = run_ansible(true, &ms[T_ANSPIPE]);
		fprintf(stderr, "bench: round %d:", r);
		for (int k = 0; k < NT; k++) {
			fprintf(stderr, " %s %.0f ms (%d/20)", tname[k], ms[k],
				passed[k]);
			if (passed[k] != BG_EXPECT)
				bad++;
			t[k][r - 1] = ms[k];
		}
		fprintf(stderr, "\n");
		done++;
		t_round = tl_now_ms() - t_r;
	}
	double med[NT];
	for (int k = 0; k < NT; k++) {
		med[k] = median(t[k], done);
		printf("%s_ms=%.0f\n", tname[k], med[k]);
	}
	/* where tssrlab's time goes: the probes themselves (the agent's
	 * clock, 10 ms steps), the rest being the session and the agent's
	 * fixed work (start, folder, encoding, hashes) */
	printf("tssrlab_probes_ms=%.0f\n", median(probes, done));
	for (int k = 0; k < NT; k++)
		printf("%s_passed=%d\n", tname[k], passed[k]);
	printf("rounds=%d\nchecks=%d\nexpected_passed=%d\n"
	       "verdicts_disagree=%d\n",
	       done, n_checks, BG_EXPECT, bad);
	printf("ratio_vs_floor=%.2f\n", med[T_TSSRLAB] / med[T_FLOOR]);
	printf("speedup_vs_ssh_per_check=%.2f\n",
	       med[T_PERCHECK] / med[T_TSSRLAB]);
	printf("speedup_vs_testinfra=%.2f\n", med[T_TI] / med[T_TSSRLAB]);
	printf("speedup_vs_testinfra_mux=%.2f\n",
	       med[T_TIMUX] / med[T_TSSRLAB]);
	printf("speedup_vs_ansible=%.2f\n", med[T_ANS] / med[T_TSSRLAB]);
	printf("speedup_vs_ansible_pipelining=%.2f\n",
	       med[T_ANSPIPE] / med[T_TSSRLAB]);
	fflush(stdout);
	if (tl_prov_instance_destroy(prov, inst, &err) < 0)
		fprintf(stderr, "bench: destroy: %s\n", err.msg);
	tl_prov_instance_free(inst);

	int rc = 0;
	if (tl_now_ms() - t_start > 1500 * 1000.0) {
		fprintf(stderr, "bench: no time left for the session part "
				"(meson's timeout is 1800 s): skipped\n");
		printf("session8_ms=skipped\n");
	} else {
		rc = session_part(runs, budget_s);
	}
	printf("load_avg_at_end=%.2f\n", e2e_load_avg());
	return bad || rc ? 1 : 0;
}
