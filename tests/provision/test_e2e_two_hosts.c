/*
 * test_e2e_two_hosts.c: the provisioner driving two libvirt hosts, one of
 * them through libvirt's own remote protocol over SSH (suite
 * "provision-e2e").
 *
 * A private OpenSSH sshd is started on 127.0.0.1 (free port, its own host
 * key, config and authorised key in a temp folder; the system sshd and
 * root's ~/.ssh are never touched: libvirt's ssh is a wrapper that keeps
 * known_hosts in the folder). The provisioner gets two hosts:
 *   a = qemu:///system
 *   b = qemu+ssh://root@127.0.0.1:PORT/system?keyfile=...&no_verify=1&
 *       no_tty=1&command=<wrapper>   (virt-ssh-helper on the far side)
 * Both reach the same libvirtd (there is one machine), so they are given
 * disjoint port ranges and subnet pools, as two real machines would never
 * clash. Host a is given 192 MiB more memory than b (vCPUs do not bind):
 * placement puts each instance where the most capacity is left, so the
 * first of a batch of two lands on a and the second on b (whichever the
 * order, the two never share a host). Checked: each instance's host, SSH
 * on every forwarded port, b's domains seen through the SSH connection,
 * destroy through it, nothing of the session left; then with the sshd
 * stopped, creation on b fails naming the host and leaves nothing,
 * placement falls back to a, and adding b fails naming it.
 *
 * Skips (77) without root, sshd/ssh/ssh-keygen, virt-ssh-helper or nc,
 * libvirtd, the tiny image or the management key. Session
 * "twohosts-<pid>"; leftovers of killed runs are removed at start.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e_common.h"
#include "tl_test.h"

#define SSHD "/usr/sbin/sshd"

static tl_prov *prov;
static tl_defs *defs;
static tl_prov_instance *inst[2];
static const char *const names[2] = {"anna", "bruno"};
static char session[64];
static char fx_dir[64];
static pid_t fx_sshd = -1;
static int fx_port;
static char uri_b[1024];
static int node_mem90; /* the default memory limit of a host: 90% */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool have_cmd(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode);
}

/* A TCP port on 127.0.0.1 nobody listens on right now. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Whether an SSH banner comes from 127.0.0.1:port. */
static bool ssh_banner(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char buf[8] = {0};
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
		  recv(fd, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "SSH-", 4);
	close(fd);
	return ok;
}

/* ---- the private sshd ---- */

static bool fx_start(void)
{
	char cmd[1024];
	snprintf(fx_dir, sizeof fx_dir, "/tmp/tl-twohosts.XXXXXX");
	if (!mkdtemp(fx_dir))
		return false;
	chmod(fx_dir, 0755);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && ssh-keygen -q -t ed25519 -N '' -C tl-2h-host -f "
		 "host && ssh-keygen -q -t ed25519 -N '' -C tl-2h-client -f "
		 "client && cp client.pub authorized_keys && mkdir -p "
		 "/run/sshd",
		 fx_dir);
	if (system(cmd) != 0)
		return false;
	/* libvirt runs this as its ssh (URI parameter command=): the host
	 * key goes to a known_hosts of the folder, not root's */
	char path[256], text[1024];
	snprintf(path, sizeof path, "%s/ssh", fx_dir);
	snprintf(text, sizeof text,
		 "#!/bin/sh\nexec ssh -o UserKnownHostsFile=%s/known_hosts "
		 "-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 "
		 "\"$@\"\n",
		 fx_dir);
	if (write_file(path, text, 0755) < 0)
		return false;
	for (int attempt = 0; attempt < 5; attempt++) {
		int port = free_port();
		if (port < 0)
			return false;
		snprintf(path, sizeof path, "%s/sshd.conf", fx_dir);
		snprintf(text, sizeof text,
			 "ListenAddress 127.0.0.1\nPort %d\nHostKey %s/host\n"
			 "PidFile %s/sshd.pid\n"
			 "AuthorizedKeysFile %s/authorized_keys\n"
			 "StrictModes no\nPubkeyAuthentication yes\n"
			 "PasswordAuthentication no\n"
			 "KbdInteractiveAuthentication no\nUsePAM no\n"
			 "PermitRootLogin prohibit-password\nPrintMotd no\n"
			 "X11Forwarding no\nAllowTcpForwarding no\n"
			 "MaxStartups 64\nMaxSessions 64\nLogLevel INFO\n",
			 port, fx_dir, fx_dir, fx_dir);
		if (write_file(path, text, 0644) < 0)
			return false;
		char logp[256];
		snprintf(logp, sizeof logp, "%s/sshd.log", fx_dir);
		pid_t pid = fork();
		if (pid < 0)
			return false;
		if (pid == 0) {
			/* dies with the test, whatever kills it */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			int fd =
			    open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0) {
				dup2(fd, 2);
				close(fd);
			}
			execl(SSHD, SSHD, "-D", "-e", "-f", path, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 50; i++) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				pid = -1;
				break;
			}
			if (ssh_banner(port)) {
				fx_sshd = pid;
				fx_port = port;
				return true;
			}
			usleep(100000);
		}
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
		fprintf(stderr, "  sshd did not start on port %d (try %d)\n",
			port, attempt + 1);
	}
	return false;
}

static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	int ppid = -1;
	char state;
	if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
		return -1;
	return ppid;
}

/* The processes our sshd started (per-connection servers, the sessions
 * and virt-ssh-helper under them), by walking /proc. */
static size_t fx_descendants(pid_t root, pid_t *ret, size_t max)
{
	size_t n = 0;
	for (bool grew = true; grew;) {
		grew = false;
		DIR *d = opendir("/proc");
		if (!d)
			break;
		struct dirent *e;
		while ((e = readdir(d)) && n < max) {
			char *end;
			long v = strtol(e->d_name, &end, 10);
			if (*end || v <= 0)
				continue;
			pid_t pid = (pid_t)v, pp = ppid_of(pid);
			bool ours = pp == root, seen = false;
			for (size_t i = 0; i < n && !ours; i++)
				ours = pp == ret[i];
			for (size_t i = 0; i < n && !seen; i++)
				seen = ret[i] == pid;
			if (ours && !seen) {
				ret[n++] = pid;
				grew = true;
			}
		}
		closedir(d);
	}
	return n;
}

/* Stops the sshd and every connection it serves: host b is gone. */
static void fx_stop(void)
{
	if (fx_sshd <= 0)
		return;
	pid_t kids[256];
	size_t n = fx_descendants(fx_sshd, kids, 256);
	kill(fx_sshd, SIGTERM);
	for (size_t i = 0; i < n; i++)
		kill(kids[i], SIGTERM);
	waitpid(fx_sshd, NULL, 0);
	fx_sshd = -1;
	for (int t = 0; t < 50; t++) {
		size_t alive = 0;
		for (size_t i = 0; i < n; i++)
			alive += kill(kids[i], 0) == 0 && ppid_of(kids[i]) >= 0;
		if (!alive)
			return;
		usleep(100000);
	}
	for (size_t i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
}

static void fx_remove(void)
{
	fx_stop();
	if (!fx_dir[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx_dir);
	free(e2e_sh(cmd));
	fx_dir[0] = '\0';
}

/* ---- hosts ---- */

static int node_memory_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long kib = 0;
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return (int)(kib / 1024);
}

static tl_prov_host_config host_a(void)
{
	tl_prov_host_config hc = e2e_host();
	hc.name = "a";
	hc.max_vcpus = 4096; /* memory decides */
	hc.max_memory_mib = node_mem90 + 192;
	hc.port_min = 20000;
	hc.port_max = 24999;
	hc.subnet_pool = "10.200.0.0/17";
	return hc;
}

static tl_prov_host_config host_b(void)
{
	tl_prov_host_config hc = e2e_host();
	hc.name = "b";
	hc.uri = uri_b;
	hc.max_vcpus = 4096;
	hc.max_memory_mib = node_mem90;
	hc.port_min = 25000;
	hc.port_max = 29999;
	hc.subnet_pool = "10.200.128.0/17";
	return hc;
}

/* What virsh shows of the session through a URI: domains, networks and
 * volumes of the e2e and default pools. Empty when nothing. New string. */
static char *leftovers(const char *uri)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "{ virsh -q -c '%s' list --all --name; "
		 "virsh -q -c '%s' net-list --all --name; "
		 "for p in " E2E_POOL " tssrlab; do virsh -q -c '%s' vol-list "
		 "--pool $p 2>/dev/null | awk '{print $1}'; done; } 2>&1 | "
		 "grep -F 'tl+%s+' || true",
		 uri, uri, uri, session);
	return e2e_sh(cmd);
}

static void cleanup(void)
{
	if (prov) {
		tl_error err = {{0}};
		/* host a sees every object b holds: same libvirtd */
		tl_prov_session_destroy(prov, session, NULL, &err);
		for (int i = 0; i < 2; i++)
			inst[i] = tl_prov_instance_free(inst[i]);
		char *left = leftovers(E2E_URI);
		if (*left)
			fprintf(stderr, "cleanup: left behind:\n%s", left);
		free(left);
		e2e_logs_drop(tl_test_failures_ == 0);
		prov = tl_prov_free(prov);
	}
	if (tl_test_failures_ && fx_dir[0]) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "tail -n 20 '%s/sshd.log' >&2",
			 fx_dir);
		free(e2e_sh(cmd));
	}
	fx_remove();
	tl_defs_free(defs);
	defs = NULL;
}

static int on_progress(void *ud, const tl_prov_progress *ev)
{
	(void)ud;
	if (ev->phase == TL_PROV_PHASE_PLACED && !ev->object)
		fprintf(stderr, "  %s placed (%.1f s)\n", ev->instance,
			ev->elapsed_ms / 1000);
	if (ev->phase == TL_PROV_PHASE_FAILED)
		fprintf(stderr, "  %s failed: %s\n", ev->instance, ev->message);
	return 0;
}

TL_TEST(setup)
{
#ifndef TL_PROV_HAVE_SSH
	e2e_skip("tssrlab was built without the SSH probe engine (libssh)");
#endif
	if (getuid() != 0)
		e2e_skip("needs root (the test sshd logs in root)");
	if (access(SSHD, X_OK) != 0)
		e2e_skip(SSHD " not found (apt-get install openssh-server)");
	if (!have_cmd("ssh") || !have_cmd("ssh-keygen"))
		e2e_skip("ssh or ssh-keygen not found (openssh-client)");
	if (!have_cmd("virt-ssh-helper") && !have_cmd("nc"))
		e2e_skip("neither virt-ssh-helper (libvirt-daemon) nor nc: "
			 "libvirt's ssh transport has nothing to run on the "
			 "remote side");
	if (!have_cmd("virsh"))
		e2e_skip("virsh not found (libvirt-clients)");
	e2e_need_image("tiny");
	if (access(E2E_KEY, R_OK) != 0)
		e2e_skip("no management key " E2E_KEY
			 " (tools/build-image creates it)");
	/* as tssrlabd does: when b's ssh goes away, libvirt's next write
	 * to its pipe must fail with EPIPE, not kill the process */
	signal(SIGPIPE, SIG_IGN);
	snprintf(session, sizeof session, "twohosts-%d", (int)getpid());
	snprintf(e2e_logs, sizeof e2e_logs, "/tmp/tssrlab-twohosts-%d",
		 (int)getpid());
	mkdir(e2e_logs, 0755);
	node_mem90 = node_memory_mib() * 9 / 10;

	tl_error err = {{0}};
	tl_prov_config cfg = {.workers = 4,
			      .ready_timeout_s = 600,
			      .ssh_timeout_s = 120,
			      .key_path = E2E_KEY};
	prov = tl_prov_new(&cfg, &err);
	tl_prov_host_config a = host_a();
	if (!prov || tl_prov_host_add(prov, &a, &err) < 0) {
		char why[TL_ERROR_MAX + 64];
		snprintf(why, sizeof why,
			 "libvirtd not available (tools/setup-libvirt): %s",
			 err.msg);
		prov = tl_prov_free(prov);
		e2e_skip(why);
	}
	atexit(cleanup);
	e2e_clean_stale(prov);

	if (!fx_start()) {
		fprintf(stderr, "  cannot start the test sshd\n");
		CHECK(!"sshd started");
		return;
	}
	snprintf(uri_b, sizeof uri_b,
		 "qemu+ssh://root@127.0.0.1:%d/system?keyfile=%s/client&"
		 "no_verify=1&no_tty=1&command=%s/ssh",
		 fx_port, fx_dir, fx_dir);
	fprintf(stderr, "  host b: %s\n", uri_b);
	tl_prov_host_config b = host_b();
	double t0 = now_s();
	int rc = tl_prov_host_add(prov, &b, &err);
	CHECK(rc == 0);
	if (rc < 0) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	fprintf(stderr, "  host b connected through ssh in %.2f s\n",
		now_s() - t0);
	CHECK(tl_prov_host_count(prov) == 2);
	tl_prov_host_usage u;
	CHECK(tl_prov_host_usage_get(prov, 1, &u, &err) == 0);
	CHECK(u.alive);
	CHECK_STR(u.name, "b");
	/* the connection really went through our sshd */
	char cmd[256];
	snprintf(cmd, sizeof cmd,
		 "grep -c 'Accepted publickey for root' '%s/sshd.log'", fx_dir);
	char *n = e2e_sh(cmd);
	CHECK(atoi(n) >= 1);
	free(n);

	tl_diags d = {0};
	defs = tl_defs_load(tl_defs_default_root(), NULL, 0, &d);
	CHECK(defs != NULL);
	tl_diags_clear(&d);
}

TL_TEST(one_instance_per_host)
{
	if (!defs || tl_prov_host_count(prov) != 2)
		return;
	const tl_lab *lab = tl_defs_lab(defs, "tiny-pair");
	CHECK(lab != NULL);
	if (!lab)
		return;
	tl_prov_request reqs[2];
	for (int i = 0; i < 2; i++)
		reqs[i] = (tl_prov_request){
		    .session = session, .instance = names[i], .lab = lab};
	tl_prov_outcome out[2];
	tl_error err = {{0}};
	double t0 = now_s();
	int failed =
	    tl_prov_create_many(prov, reqs, 2, on_progress, NULL, out, &err);
	CHECK(failed == 0);
	if (failed < 0)
		fprintf(stderr, "  %s\n", err.msg);
	for (int i = 0; i < 2; i++) {
		inst[i] = failed < 0 ? NULL : out[i].instance;
		if (failed >= 0 && !inst[i])
			fprintf(stderr, "  %s: %s\n", names[i],
				out[i].error.msg);
	}
	if (!inst[0] || !inst[1])
		return;
	fprintf(stderr,
		"  2 instances (4 machines) ready in %.1f s: %s on "
		"%s, %s on %s\n",
		now_s() - t0, names[0], inst[0]->host, names[1], inst[1]->host);
	/* one on each host: the first where most memory is left (a), then
	 * b has more left than a. (Should another test start or stop a
	 * guest between the scans of a and b, the first may go to b: the
	 * second then goes to a, so only the split is asserted.) */
	CHECK(strcmp(inst[0]->host, inst[1]->host) != 0);
	CHECK(!strcmp(inst[0]->host, "a") || !strcmp(inst[0]->host, "b"));
	CHECK(!strcmp(inst[1]->host, "a") || !strcmp(inst[1]->host, "b"));

	/* every machine answers SSH on its forwarded port, personalised */
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < inst[i]->n_machines; k++) {
			tl_prov_machine *m = &inst[i]->machines[k];
			bool in_range =
			    !strcmp(inst[i]->host, "a")
				? m->ssh_port >= 20000 && m->ssh_port <= 24999
				: m->ssh_port >= 25000 && m->ssh_port <= 29999;
			CHECK(in_range);
			CHECK_STR(m->ssh_host, "127.0.0.1");
			char *o = NULL;
			CHECK(e2e_run(prov, m, "hostname", NULL, &o) == 0);
			CHECK_STR(o, m->hostname);
			free(o);
			fprintf(stderr, "  %s/%s on %s: ssh 127.0.0.1:%d, %s\n",
				names[i], m->id, inst[i]->host, m->ssh_port,
				m->host_fp ? m->host_fp : "(no key)");
		}

	/* b's domains, seen through the SSH connection: virsh with b's URI
	 * and the provisioner's own connection to b */
	tl_prov_instance *ib = !strcmp(inst[0]->host, "b") ? inst[0] : inst[1];
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "virsh -q -c '%s' list --name --state-running 2>&1", uri_b);
	char *listed = e2e_sh(cmd);
	for (size_t k = 0; k < ib->n_machines; k++) {
		CHECK_CONTAINS(listed, ib->machines[k].domain);
		char *xml = tl_prov_object_xml(prov, "b", TL_PROV_OBJ_DOMAIN,
					       ib->machines[k].domain, &err);
		CHECK_CONTAINS(xml, TL_PROV_XMLNS);
		CHECK_CONTAINS(xml, session);
		free(xml);
	}
	free(listed);
	for (size_t k = 0; k < ib->n_networks; k++) {
		char *xml = tl_prov_object_xml(prov, "b", TL_PROV_OBJ_NETWORK,
					       ib->networks[k].name, &err);
		CHECK_CONTAINS(xml, ib->networks[k].bridge);
		free(xml);
	}
}

TL_TEST(destroy_both_leaves_nothing)
{
	if (!prov)
		return;
	tl_error err = {{0}};
	for (int i = 0; i < 2; i++) {
		if (!inst[i])
			continue;
		/* the one on b is destroyed through the SSH connection */
		int rc = tl_prov_instance_destroy(prov, inst[i], &err);
		CHECK(rc == 0);
		if (rc < 0)
			fprintf(stderr, "  destroy %s: %s\n", names[i],
				err.msg);
		inst[i] = tl_prov_instance_free(inst[i]);
	}
	char *left = leftovers(E2E_URI);
	CHECK_STR(left, "");
	free(left);
	if (fx_sshd > 0) {
		left = leftovers(uri_b);
		CHECK_STR(left, "");
		free(left);
	}
}

TL_TEST(unreachable_host_b)
{
	if (!defs || tl_prov_host_count(prov) != 2)
		return;
	fx_stop();
	const tl_lab *lab = tl_defs_lab(defs, "tiny-pair");
	tl_error err = {{0}};
	/* creation placed on b: fails, naming the host */
	tl_prov_request req = {
	    .session = session, .instance = "carla", .lab = lab, .host = "b"};
	double t0 = now_s();
	tl_prov_instance *i =
	    tl_prov_instance_create(prov, &req, NULL, NULL, &err);
	CHECK(i == NULL);
	i = tl_prov_instance_free(i);
	fprintf(stderr, "  creation on b (%.1f s): %s\n", now_s() - t0,
		err.msg);
	CHECK_CONTAINS(err.msg, "host b");
	CHECK_CONTAINS(err.msg, "unreachable");
	char *left = leftovers(E2E_URI);
	CHECK_STR(left, "");
	free(left);
	tl_prov_host_usage u;
	tl_prov_host_usage_get(prov, 1, &u, &err);
	CHECK(!u.alive);

	/* placement leaves the dead host out */
	req.host = NULL;
	tl_prov_instance *planned = tl_prov_instance_plan(prov, &req, &err);
	CHECK(planned != NULL);
	if (planned)
		CHECK_STR(planned->host, "a");
	else
		fprintf(stderr, "  plan: %s\n", err.msg);
	tl_prov_instance_free(planned);

	/* and a host that cannot be reached cannot be added */
	tl_prov *p2 = tl_prov_new(NULL, &err);
	tl_prov_host_config b = host_b();
	t0 = now_s();
	CHECK(p2 && tl_prov_host_add(p2, &b, &err) < 0);
	fprintf(stderr, "  adding b (%.1f s): %s\n", now_s() - t0, err.msg);
	CHECK_CONTAINS(err.msg, "host b");
	tl_prov_free(p2);
}

TL_TESTS(T(setup), T(one_instance_per_host), T(destroy_both_leaves_nothing),
	 T(unreachable_host_b))
