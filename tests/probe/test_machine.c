/*
 * test_machine.c: the probe engine end to end against a real OpenSSH sshd
 * on 127.0.0.1 (sshd-fixture.sh): one batch over one session with the
 * fixed agent command, an unreachable machine, a machine without a pinned
 * key, a batch past its timeout, the image hashes of the host's own
 * binaries, a whole instance with network probes and the cross-checks
 * that flag a claim contradicted from outside. It also measures a batch
 * of 20 probes against 20 separate SSH connections (printed, not
 * asserted: shared machines are noisy).
 */
#include "probe_test.h"
#include "probes.h"

static tl_probe_machine M;
static int SSH_PORT;

static void init(void)
{
	M = (tl_probe_machine){
	    .id = "srv",
	    .ssh = pt_target(),
	    .agent = TL_AGENT_SH,
	    .address = "127.0.0.1",
	};
	SSH_PORT = M.ssh.port;
}

static void clear(tl_probe_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tl_probe_result_clear(&r[i]);
}

TL_TEST(test_batch_over_ssh)
{
	const tl_probe *p[6] = {
	    pr_make("file.exists", "srv", NULL,
		    "{\"path\":\"/etc/passwd\",\"type\":\"file\"}", 5),
	    pr_make("sysctl.value", "srv", NULL, "{\"key\":\"kernel.ostype\"}",
		    5),
	    pr_make("user.exists", "srv", NULL, "{\"name\":\"root\"}", 5),
	    pr_make("process.running", "srv", NULL, "{\"name\":\"sshd\"}", 5),
	    pr_makef("port.listening", "srv", NULL, 5, "{\"port\":%d}",
		     SSH_PORT),
	    pr_make("command.run", "srv", NULL,
		    "{\"command\":\"echo $0 $HOME; exit 4\"}", 5),
	};
	tl_probe_result r[6];
	tl_error err = {{0}};
	CHECK(tl_probe_run_machine(&M, p, 6, r, &err) == 0);
	for (int i = 0; i < 6; i++) {
		CHECK(r[i].status == TL_PROBE_DONE);
		CHECK(r[i].probe == p[i]);
		if (r[i].status != TL_PROBE_DONE)
			fprintf(stderr, "  probe %d: %s\n", i,
				r[i].error ? r[i].error : "");
	}
	CHECK(r[0].ok);
	CHECK_STR(r[1].value, "Linux");
	CHECK_CONTAINS(r[2].value, "root:0:0:");
	CHECK(r[3].ok);
	CHECK(r[4].ok);
	/* the command ran under the agent's clean environment */
	CHECK_STR(r[5].value, "/bin/sh /root");
	CHECK(r[5].exit_code == 4 && !r[5].ok);
	clear(r, 6);
}

TL_TEST(test_unreachable)
{
	tl_probe_machine m = M;
	m.ssh.port = pt_closed_port();
	m.ssh.connect_timeout_s = 30;
	const tl_probe *p[2] = {
	    pr_make("sysctl.value", "srv", NULL, "{\"key\":\"a.b\"}", 5),
	    pr_make("file.exists", "srv", NULL, "{\"path\":\"/\"}", 5),
	};
	tl_probe_result r[2];
	tl_error err;
	double t0 = pt_now_ms();
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(pt_now_ms() - t0 < 20000); /* refused: no waiting */
	for (int i = 0; i < 2; i++) {
		CHECK(r[i].status == TL_PROBE_ERROR);
		CHECK_CONTAINS(r[i].error, "machine srv: ");
		CHECK_CONTAINS(r[i].error, "cannot connect");
	}
	clear(r, 2);

	/* no pinned key: we do not grade a machine we cannot identify */
	m = M;
	m.ssh.pinned_fp = NULL;
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[0].error, "no host key was recorded");
	clear(r, 2);

	/* a Windows kind sent to a Linux machine is a caller's bug */
	const tl_probe *w =
	    pr_make("win.service", "srv", NULL, "{\"name\":\"DNS\"}", 5);
	CHECK(tl_probe_run_machine(&M, &w, 1, r, &err) < 0);
	CHECK_CONTAINS(err.msg, "does not run on srv");
	CHECK(r[0].status == TL_PROBE_ERROR); /* still a well-formed result */
	clear(r, 1);
}

TL_TEST(test_batch_timeout)
{
	tl_probe_machine m = M;
	m.batch_timeout_s = 2;
	const tl_probe *p[1] = {
	    pr_make("command.run", "srv", NULL, "{\"command\":\"sleep 8\"}",
		    20),
	};
	tl_probe_result r[1];
	tl_error err;
	CHECK(tl_probe_run_machine(&m, p, 1, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[0].error, "did not finish within 2 s");
	clear(r, 1);
}

/* The host's own binaries, hashed here: a genuine run passes the check. */
TL_TEST(test_hashes_genuine)
{
	char *hp = tl_xasprintf("%s/hashes.json", pt_tmpdir());
	CHECK(
	    pt_sh("{ printf '{'; sep=; for f in /bin/sh /usr/bin/stat "
		  "/usr/bin/od /usr/bin/awk /usr/sbin/ip /bin/ls; do "
		  "h=$(sha256sum \"$f\" | cut -d' ' -f1); printf '%%s\"%%s\": "
		  "\"%%s\"' \"$sep\" \"$f\" \"$h\"; sep=,; done; echo '}'; } "
		  "> %s",
		  hp) == 0);
	tl_probe_machine m = M;
	m.hashes_path = hp;
	const tl_probe *p[2] = {
	    pr_make("file.mode", "srv", NULL, "{\"path\":\"/etc/passwd\"}", 5),
	    pr_make("net.interface", "srv", NULL, "{\"name\":\"lo\"}", 5),
	};
	tl_probe_result r[2];
	tl_error err;
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_DONE);
	CHECK_STR(r[0].value, "644");
	CHECK(r[1].status == TL_PROBE_DONE && r[1].ok);
	if (r[0].status != TL_PROBE_DONE)
		fprintf(stderr, "  %s\n", r[0].error);
	clear(r, 2);
	m.hashes_path = "/nonexistent/hashes.json";
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[0].error, "cannot read the image's hashes");
	clear(r, 2);
	free(hp);
}

/* One scenario, one instance: srv is the fixture's sshd. */
static void scenario(tl_scenario *s, tl_task *t, tl_criterion *c,
		     tl_probe *probes, size_t n)
{
	*c = (tl_criterion){.id = "c1", .probes = probes, .n_probes = n};
	*t = (tl_task){.id = "t1", .criteria = c, .n_criteria = 1};
	*s = (tl_scenario){.id = "sc", .tasks = t, .n_tasks = 1};
}

TL_TEST(test_instance_and_crosscheck)
{
	tl_probe probes[5] = {
	    *pr_make("service.active", "srv", NULL, "{\"name\":\"ssh\"}", 5),
	    *pr_makef("port.listening", "srv", NULL, 5, "{\"port\":%d}",
		      SSH_PORT),
	    *pr_make("tcp.connect", "srv", NULL, "{\"port\":22}", 3),
	    *pr_makef("tcp.connect", "srv", NULL, 3, "{\"port\":%d}", SSH_PORT),
	    *pr_make("sysctl.value", "srv", NULL, "{\"key\":\"kernel.ostype\"}",
		     5),
	};
	tl_scenario s;
	tl_task t;
	tl_criterion c;
	scenario(&s, &t, &c, probes, 5);
	CHECK(tl_probe_scenario_count(&s) == 5);
	if (access("/run/systemd/system", F_OK) == 0) {
		printf("  (systemd runs here: the service check differs)\n");
		return;
	}

	/* lab ports 22 and SSH_PORT both reach the sshd: all agree */
	tl_probe_portmap ports[2] = {{22, SSH_PORT, false},
				     {SSH_PORT, SSH_PORT, false}};
	tl_probe_machine m = M;
	m.ports = ports;
	m.n_ports = 2;
	tl_probe_result r[5];
	tl_error err;
	CHECK(tl_probe_run_instance(&s, &m, 1, r, &err) == 0);
	for (int i = 0; i < 5; i++) {
		CHECK(r[i].status == TL_PROBE_DONE && r[i].ok);
		CHECK(!r[i].flagged);
		CHECK(r[i].probe == &probes[i]);
	}
	CHECK_STR(r[2].value, "open");
	CHECK_CONTAINS(r[2].evidence_cmd, "lab port 22 of srv");
	clear(r, 5);

	/* from outside, nothing answers: "ssh is active" and "the port
	 * listens" are claims contradicted by a client, flagged */
	int closed = pt_closed_port();
	ports[0].host_port = closed;
	ports[1].host_port = closed;
	CHECK(tl_probe_run_instance(&s, &m, 1, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_DONE && r[0].ok && r[0].flagged);
	CHECK_CONTAINS(r[0].flag, "service ssh is reported active on srv");
	CHECK_CONTAINS(r[0].flag, "failed");
	CHECK(r[1].flagged);
	CHECK_CONTAINS(r[1].flag, "is reported listening on srv");
	CHECK(!r[2].ok && !r[3].ok && !r[4].flagged);
	clear(r, 5);

	/* a lab port that is not forwarded: the outside probe cannot run,
	 * and an error is not evidence: nothing flagged */
	m.n_ports = 1;
	ports[0].host_port = SSH_PORT;
	CHECK(tl_probe_run_instance(&s, &m, 1, r, &err) == 0);
	CHECK(r[3].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[3].error, "is not forwarded");
	CHECK(!r[1].flagged);
	clear(r, 5);

	/* an instance that lacks a machine is a caller's bug */
	tl_probe_machine other = M;
	other.id = "cli";
	CHECK(tl_probe_run_instance(&s, &other, 1, r, &err) < 0);
	CHECK_CONTAINS(err.msg, "does not list");
}

/* Two machines, one dead: the live one's results are not held back
 * beyond its own work, the dead one errors quickly. */
TL_TEST(test_instance_dead_machine)
{
	tl_probe probes[2] = {
	    *pr_make("sysctl.value", "srv", NULL, "{\"key\":\"kernel.ostype\"}",
		     5),
	    *pr_make("sysctl.value", "dead", NULL,
		     "{\"key\":\"kernel.ostype\"}", 5),
	};
	tl_scenario s;
	tl_task t;
	tl_criterion c;
	scenario(&s, &t, &c, probes, 2);
	tl_probe_machine ms[2] = {M, M};
	ms[1].id = "dead";
	ms[1].ssh.port = pt_closed_port();
	tl_probe_result r[2];
	tl_error err;
	CHECK(tl_probe_run_instance(&s, ms, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_DONE);
	CHECK_STR(r[0].value, "Linux");
	CHECK(r[1].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[1].error, "machine dead:");
	clear(r, 2);
}

/* 20 checks: one batch over one session, vs the same checks as one plain
 * script over one session (the floor), vs one SSH connection each. */
TL_TEST(test_measure_batch_vs_connections)
{
	static const char *const one[20] = {
	    "test -f /etc/passwd",
	    "stat -c %a /etc/passwd",
	    "stat -c %U:%G /etc/passwd",
	    "getent passwd root",
	    "getent group root",
	    "cat /proc/sys/kernel/ostype",
	    "cat /proc/sys/net/ipv4/ip_forward",
	    "test -d /tmp",
	    "grep -E root /etc/passwd",
	    "sha256sum /etc/hostname",
	    "ip -o link show dev lo",
	    "ip addr show dev lo",
	    "ss -Hlnt",
	    "id -Gn root",
	    "echo hi",
	    "test -e /etc/shadow",
	    "stat -c %a /tmp",
	    "head -c 100 /etc/hostname",
	    "grep -c . /proc/mounts",
	    "ip route show",
	};
	const tl_probe *p[20] = {
	    pr_make("file.exists", "srv", NULL, "{\"path\":\"/etc/passwd\"}",
		    5),
	    pr_make("file.mode", "srv", NULL, "{\"path\":\"/etc/passwd\"}", 5),
	    pr_make("file.owner", "srv", NULL, "{\"path\":\"/etc/passwd\"}", 5),
	    pr_make("user.exists", "srv", NULL, "{\"name\":\"root\"}", 5),
	    pr_make("group.members", "srv", NULL, "{\"name\":\"root\"}", 5),
	    pr_make("sysctl.value", "srv", NULL, "{\"key\":\"kernel.ostype\"}",
		    5),
	    pr_make("sysctl.value", "srv", NULL,
		    "{\"key\":\"net.ipv4.ip_forward\"}", 5),
	    pr_make("file.exists", "srv", NULL,
		    "{\"path\":\"/tmp\",\"type\":\"dir\"}", 5),
	    pr_make("file.content", "srv", NULL,
		    "{\"path\":\"/etc/passwd\",\"regex\":\"root\"}", 5),
	    pr_make("file.checksum", "srv", NULL,
		    "{\"path\":\"/etc/hostname\"}", 5),
	    pr_make("net.interface", "srv", NULL, "{\"name\":\"lo\"}", 5),
	    pr_make("net.address", "srv", NULL,
		    "{\"address\":\"127.0.0.1/8\",\"interface\":\"lo\"}", 5),
	    pr_makef("port.listening", "srv", NULL, 5, "{\"port\":%d}",
		     SSH_PORT),
	    pr_make("user.exists", "srv", NULL,
		    "{\"name\":\"root\",\"groups\":[\"root\"]}", 5),
	    pr_make("command.run", "srv", NULL, "{\"command\":\"echo hi\"}", 5),
	    pr_make("file.exists", "srv", NULL, "{\"path\":\"/etc/shadow\"}",
		    5),
	    pr_make("file.mode", "srv", NULL, "{\"path\":\"/tmp\"}", 5),
	    pr_make("file.content", "srv", NULL, "{\"path\":\"/etc/hostname\"}",
		    5),
	    pr_make("mount.present", "srv", NULL, "{\"target\":\"/proc\"}", 5),
	    pr_make("net.route", "srv", NULL,
		    "{\"destination\":\"127.0.0.0/8\"}", 5),
	};
	tl_probe_result r[20];
	tl_error err;
	/* warm up sshd (key loading) before measuring either way */
	tl_ssh_result sr;
	tl_ssh_run(&M.ssh, "true", NULL, 0, 10, 0, &sr, &err);
	tl_ssh_result_clear(&sr);

	/* the floor: the same checks as one shell script over one session */
	tl_buf script;
	tl_buf_init(&script, 0);
	for (int i = 0; i < 20; i++)
		tl_buf_printf(&script, "%s >/dev/null 2>&1\n", one[i]);
	/* shared machines are noisy: the best of 5, interleaved */
	double batch = 1e9, floor = 1e9, separate = 1e9;
	for (int round = 0; round < 5; round++) {
		double t0 = pt_now_ms();
		CHECK(tl_probe_run_machine(&M, p, 20, r, &err) == 0);
		double b = pt_now_ms() - t0;
		size_t done = 0;
		for (int i = 0; i < 20; i++)
			done += r[i].status == TL_PROBE_DONE;
		CHECK(done == 20);
		clear(r, 20);

		t0 = pt_now_ms();
		CHECK(tl_ssh_run(&M.ssh, "sh -s", script.data, script.len, 30,
				 0, &sr, &err) == TL_SSH_OK);
		double f = pt_now_ms() - t0;
		tl_ssh_result_clear(&sr);

		t0 = pt_now_ms();
		int ok = 0;
		for (int i = 0; round < 2 && i < 20; i++) {
			ok += tl_ssh_run(&M.ssh, one[i], NULL, 0, 10, 0, &sr,
					 &err) == TL_SSH_OK;
			tl_ssh_result_clear(&sr);
		}
		double sp = pt_now_ms() - t0;
		if (round < 2) {
			CHECK(ok == 20);
			separate = sp < separate ? sp : separate;
		}
		batch = b < batch ? b : batch;
		floor = f < floor ? f : floor;
	}
	tl_buf_clear(&script);
	printf("measure: 20 probes in one batch %.0f ms, the same checks as "
	       "one script over one session %.0f ms, 20 separate SSH "
	       "connections %.0f ms: ratio_vs_floor=%.2f "
	       "speedup_vs_separate=%.1f\n",
	       batch, floor, separate, batch / floor, separate / batch);
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_batch_over_ssh), T(test_unreachable), T(test_batch_timeout),
	 T(test_hashes_genuine), T(test_instance_and_crosscheck),
	 T(test_instance_dead_machine), T(test_measure_batch_vs_connections))
#undef main

int main(int argc, char **argv)
{
	init();
	return tl_main_(argc, argv);
}
