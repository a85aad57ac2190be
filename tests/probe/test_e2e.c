/*
 * test_e2e.c: the probe engine against a real "tiny" guest (busybox,
 * dropbear, no systemd, under TCG), booted by e2e-tiny.sh and reached
 * through a QEMU port forward on 127.0.0.1. First contact records the
 * host key as provisioning would; then batches run pinned, with the
 * image's hashes.json: kinds that work on such an image, kinds it cannot
 * answer (an error saying why), the wget fallback of http.local against
 * busybox httpd, a binary replaced by the trainee (tampered), a wrong pin
 * (tampered), and a dead machine (error, quickly). It prints the time of
 * a 20-probe batch next to 20 separate SSH connections.
 */
#include "probe_test.h"
#include "probes.h"

static tl_probe_machine M;
static char *FP;

static void clear(tl_probe_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tl_probe_result_clear(&r[i]);
}

static int gsh(const char *cmd, char **ret_out)
{
	tl_ssh_result r;
	tl_error err;
	int rc = tl_ssh_run(&M.ssh, cmd, NULL, 0, 30, 0, &r, &err);
	if (rc != TL_SSH_OK)
		fprintf(stderr, "  ssh %s: %s\n", cmd, err.msg);
	int st = rc == TL_SSH_OK ? r.exit_status : -1;
	if (ret_out)
		*ret_out = tl_xstrdup(r.out);
	tl_ssh_result_clear(&r);
	return st;
}

TL_TEST(test_first_contact)
{
	tl_ssh_target t = M.ssh;
	t.pinned_fp = NULL;
	tl_ssh_result r;
	tl_error err;
	CHECK(tl_ssh_run(&t, "cat /etc/hostname", NULL, 0, 30, 0, &r, &err) ==
	      TL_SSH_OK);
	CHECK(r.host_fp && !strncmp(r.host_fp, "SHA256:", 7));
	FP = tl_xstrdup(r.host_fp);
	M.ssh.pinned_fp = FP;
	printf("  guest %s, host key %s\n", r.out ? strtok(r.out, "\n") : "?",
	       FP);
	tl_ssh_result_clear(&r);
}

TL_TEST(test_kinds_on_tiny)
{
	/* a web page served by busybox httpd, for the wget path */
	CHECK(gsh("mkdir -p /data/www && echo 'Boulangerie Martin' > "
		  "/data/www/index.html && (busybox httpd -p 127.0.0.1:8080 "
		  "-h /data/www) && echo 'ERROR disk' >> /data/app.log",
		  NULL) == 0);
	char *busybox_sha =
	    pt_sh_out("jq -r '.\"/bin/busybox\"' \"$TL_E2E_HASHES\"");
	const tl_probe *p[] = {
	    pr_make("file.exists", "g", NULL,
		    "{\"path\":\"/etc/passwd\",\"type\":\"file\"}", 10),
	    pr_make("file.mode", "g", NULL, "{\"path\":\"/etc/shadow\"}", 10),
	    pr_make("file.owner", "g", NULL, "{\"path\":\"/etc/shadow\"}", 10),
	    pr_make("user.exists", "g", NULL,
		    "{\"name\":\"root\",\"shell\":\"/bin/sh\"}", 10),
	    pr_make("group.members", "g", NULL,
		    "{\"name\":\"wheel\",\"members\":[\"root\"]}", 10),
	    pr_make("process.running", "g", NULL, "{\"name\":\"dropbear\"}",
		    10),
	    pr_make("service.active", "g", NULL, "{\"name\":\"ssh\"}", 10),
	    pr_make("port.listening", "g", NULL, "{\"port\":22}", 10),
	    pr_make("sysctl.value", "g", NULL, "{\"key\":\"kernel.hostname\"}",
		    10),
	    pr_make("mount.present", "g", NULL,
		    "{\"target\":\"/data\",\"fstype\":\"ext4\"}", 10),
	    pr_make("net.interface", "g", NULL, "{\"name\":\"eth0\"}", 10),
	    pr_make("file.checksum", "g", NULL, "{\"path\":\"/bin/busybox\"}",
		    20),
	    pr_make("http.local", "g", NULL,
		    "{\"url\":\"http://127.0.0.1:8080/\",\"status\":200}", 10),
	    pr_make("log.line", "g", NULL,
		    "{\"regex\":\"^ERROR\",\"file\":\"/data/app.log\"}", 10),
	    pr_make("command.run", "g", NULL,
		    "{\"command\":\"cat /etc/hostname\"}", 10),
	    /* what this image cannot answer, and says so */
	    pr_make("package.installed", "g", NULL, "{\"name\":\"nginx\"}", 10),
	    pr_make("sshd.setting", "g", NULL,
		    "{\"key\":\"passwordauthentication\"}", 10),
	    pr_make("systemd.timer", "g", NULL, "{\"name\":\"backup\"}", 10),
	};
	size_t n = sizeof p / sizeof *p;
	tl_probe_result r[sizeof p / sizeof *p];
	tl_error err;
	double t0 = pt_now_ms();
	CHECK(tl_probe_run_machine(&M, p, n, r, &err) == 0);
	printf("  %zu kinds on tiny in one batch: %.0f ms\n", n,
	       pt_now_ms() - t0);
	for (size_t i = 0; i < 15; i++) {
		CHECK(r[i].status == TL_PROBE_DONE && r[i].ok);
		if (r[i].status != TL_PROBE_DONE || !r[i].ok)
			fprintf(stderr, "  %s: %s %s value \"%s\" out \"%s\"\n",
				p[i]->kind_name,
				tl_probe_status_name(r[i].status),
				r[i].error ? r[i].error : "", r[i].value,
				r[i].evidence_out ? r[i].evidence_out : "");
	}
	CHECK_STR(r[1].value, "600");
	CHECK_STR(r[2].value, "root:root");
	CHECK_CONTAINS(r[3].value, "root:0:0:/root:/bin/sh");
	CHECK_STR(r[6].value, "active");
	CHECK_CONTAINS(r[6].evidence_cmd, "no systemd");
	CHECK_CONTAINS(r[7].evidence_cmd, "/proc/net/tcp"); /* no ss here */
	CHECK_STR(r[8].value, "probe-e2e");
	CHECK_STR(r[11].value, busybox_sha);
	CHECK(r[12].http_status == 200);
	CHECK_CONTAINS(r[12].value, "Boulangerie Martin");
	CHECK_CONTAINS(r[12].evidence_cmd, "wget"); /* no curl here */
	CHECK_STR(r[14].value, "probe-e2e");
	CHECK(r[15].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[15].error, "no Debian package database");
	CHECK(r[16].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[16].error, "sshd: not found");
	CHECK(r[17].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[17].error, "systemd is not running");
	clear(r, n);
	free(busybox_sha);
}

TL_TEST(test_measure_on_tcg)
{
	static const char *const one[20] = {
	    "test -f /etc/passwd",
	    "stat -c %a /etc/shadow",
	    "stat -c %U:%G /etc/shadow",
	    "getent passwd root",
	    "grep ^wheel: /etc/group",
	    "pidof dropbear",
	    "cat /proc/sys/kernel/hostname",
	    "grep ' /data ' /proc/mounts",
	    "ip -o link show dev eth0",
	    "cat /proc/net/tcp",
	    "test -d /tmp",
	    "stat -c %a /tmp",
	    "id -Gn root",
	    "cat /etc/hostname",
	    "test -e /etc/group",
	    "stat -c %a /etc/passwd",
	    "grep -c . /proc/mounts",
	    "ip addr show dev lo",
	    "cat /proc/sys/kernel/ostype",
	    "head -c 100 /etc/passwd",
	};
	const tl_probe *p[20] = {
	    pr_make("file.exists", "g", NULL, "{\"path\":\"/etc/passwd\"}", 10),
	    pr_make("file.mode", "g", NULL, "{\"path\":\"/etc/shadow\"}", 10),
	    pr_make("file.owner", "g", NULL, "{\"path\":\"/etc/shadow\"}", 10),
	    pr_make("user.exists", "g", NULL, "{\"name\":\"root\"}", 10),
	    pr_make("group.members", "g", NULL, "{\"name\":\"wheel\"}", 10),
	    pr_make("process.running", "g", NULL, "{\"name\":\"dropbear\"}",
		    10),
	    pr_make("sysctl.value", "g", NULL, "{\"key\":\"kernel.hostname\"}",
		    10),
	    pr_make("mount.present", "g", NULL, "{\"target\":\"/data\"}", 10),
	    pr_make("net.interface", "g", NULL, "{\"name\":\"eth0\"}", 10),
	    pr_make("port.listening", "g", NULL, "{\"port\":22}", 10),
	    pr_make("file.exists", "g", NULL,
		    "{\"path\":\"/tmp\",\"type\":\"dir\"}", 10),
	    pr_make("file.mode", "g", NULL, "{\"path\":\"/tmp\"}", 10),
	    pr_make("user.exists", "g", NULL,
		    "{\"name\":\"root\",\"groups\":[\"root\"]}", 10),
	    pr_make("command.run", "g", NULL,
		    "{\"command\":\"cat /etc/hostname\"}", 10),
	    pr_make("file.exists", "g", NULL, "{\"path\":\"/etc/group\"}", 10),
	    pr_make("file.mode", "g", NULL, "{\"path\":\"/etc/passwd\"}", 10),
	    pr_make("file.content", "g", NULL,
		    "{\"path\":\"/proc/mounts\",\"regex\":\"ext4\"}", 10),
	    pr_make("net.address", "g", NULL,
		    "{\"address\":\"127.0.0.1/8\",\"interface\":\"lo\"}", 10),
	    pr_make("sysctl.value", "g", NULL, "{\"key\":\"kernel.ostype\"}",
		    10),
	    pr_make("file.content", "g", NULL, "{\"path\":\"/etc/passwd\"}",
		    10),
	};
	tl_probe_result r[20];
	tl_error err;
	tl_ssh_result sr;
	tl_probe_machine nohash = M;
	nohash.hashes_path = NULL;
	/* the floor: the same checks as one shell script over one session */
	tl_buf script;
	tl_buf_init(&script, 0);
	for (int i = 0; i < 20; i++)
		tl_buf_printf(&script, "%s >/dev/null 2>&1\n", one[i]);
	double best_batch = 1e9, best_hash = 1e9, best_sep = 1e9;
	double best_floor = 1e9;
	for (int round = 0; round < 3; round++) {
		double t0 = pt_now_ms();
		CHECK(tl_ssh_run(&M.ssh, "sh -s", script.data, script.len, 30,
				 0, &sr, &err) == TL_SSH_OK);
		tl_ssh_result_clear(&sr);
		double f = pt_now_ms() - t0;
		best_floor = f < best_floor ? f : best_floor;

		t0 = pt_now_ms();
		CHECK(tl_probe_run_machine(&nohash, p, 20, r, &err) == 0);
		double b = pt_now_ms() - t0;
		for (int i = 0; i < 20; i++)
			CHECK(r[i].status == TL_PROBE_DONE);
		clear(r, 20);
		t0 = pt_now_ms();
		CHECK(tl_probe_run_machine(&M, p, 20, r, &err) == 0);
		double h = pt_now_ms() - t0;
		CHECK(r[0].status == TL_PROBE_DONE);
		clear(r, 20);
		t0 = pt_now_ms();
		for (int i = 0; i < 20; i++) {
			tl_ssh_run(&M.ssh, one[i], NULL, 0, 30, 0, &sr, &err);
			tl_ssh_result_clear(&sr);
		}
		double s = pt_now_ms() - t0;
		best_batch = b < best_batch ? b : best_batch;
		best_hash = h < best_hash ? h : best_hash;
		best_sep = s < best_sep ? s : best_sep;
	}
	tl_buf_clear(&script);
	printf("measure (tiny, TCG, best of 3): 20 probes in one batch %.0f ms "
	       "(%.0f ms with the hash check); the same checks as one script "
	       "over one session (floor) %.0f ms; 20 separate SSH connections "
	       "%.0f ms\n"
	       "measure: ratio_vs_floor=%.2f ratio_vs_floor_hashed=%.2f "
	       "speedup_vs_separate=%.1f\n",
	       best_batch, best_hash, best_floor, best_sep,
	       best_batch / best_floor, best_hash / best_floor,
	       best_sep / best_batch);
}

TL_TEST(test_replaced_binary)
{
	/* the trainee puts scripts in place of getent (a program on this
	 * image) and id (a busybox applet) that claim an account exists */
	CHECK(
	    gsh("cp /usr/bin/getent /data/getent.real && rm -f /usr/bin/getent "
		"/usr/bin/id && printf '#!/bin/sh\\necho "
		"adminweb:x:1000:1000::/home/adminweb:/bin/sh\\n' > "
		"/usr/bin/getent && printf '#!/bin/sh\\necho adminweb wheel "
		"sudo\\n' > /usr/bin/id && chmod 755 /usr/bin/getent "
		"/usr/bin/id",
		NULL) == 0);
	const tl_probe *p[3] = {
	    pr_make("user.exists", "g", NULL, "{\"name\":\"adminweb\"}", 10),
	    pr_make("user.exists", "g", NULL,
		    "{\"name\":\"root\",\"groups\":[\"sudo\"]}", 10),
	    pr_make("sysctl.value", "g", NULL, "{\"key\":\"kernel.ostype\"}",
		    10),
	};
	tl_probe_result r[3];
	tl_error err;
	/* without the image's hashes, the fake getent is believed... */
	tl_probe_machine nohash = M;
	nohash.hashes_path = NULL;
	CHECK(tl_probe_run_machine(&nohash, p, 3, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_DONE && r[0].ok);
	/* ...but not the fake id: busybox runs its own applet, no file */
	CHECK(r[1].status == TL_PROBE_DONE && !r[1].ok);
	clear(r, 3);
	/* with them, the run is tampered */
	CHECK(tl_probe_run_machine(&M, p, 3, r, &err) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(r[i].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "/usr/bin/getent");
	clear(r, 3);
	gsh("cp /data/getent.real /usr/bin/getent && rm -f /usr/bin/id && ln "
	    "-s "
	    "/bin/busybox /usr/bin/id",
	    NULL);
}

TL_TEST(test_wrong_pin_then_dead)
{
	const tl_probe *p = pr_make("sysctl.value", "g", NULL,
				    "{\"key\":\"kernel.ostype\"}", 10);
	tl_probe_result r;
	tl_error err;
	tl_probe_machine m = M;
	m.ssh.pinned_fp = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	CHECK(tl_probe_run_machine(&m, &p, 1, &r, &err) == 0);
	CHECK(r.status == TL_PROBE_TAMPERED);
	tl_probe_result_clear(&r);

	/* the machine goes away */
	const char *dom = getenv("TL_E2E_DOMAIN");
	CHECK(dom &&
	      pt_sh("virsh -c qemu:///system destroy %s >/dev/null", dom) == 0);
	double t0 = pt_now_ms();
	CHECK(tl_probe_run_machine(&M, &p, 1, &r, &err) == 0);
	double ms = pt_now_ms() - t0;
	CHECK(r.status == TL_PROBE_ERROR);
	printf("  dead machine: error after %.0f ms: %s\n", ms,
	       r.error ? r.error : "");
	tl_probe_result_clear(&r);
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_first_contact), T(test_kinds_on_tiny), T(test_measure_on_tcg),
	 T(test_replaced_binary), T(test_wrong_pin_then_dead))
#undef main

int main(int argc, char **argv)
{
	if (!getenv("TL_E2E_PORT")) {
		fprintf(stderr,
			"SKIP: run me through tests/probe/e2e-tiny.sh\n");
		return 77;
	}
	M = (tl_probe_machine){
	    .id = "tiny",
	    .ssh = {.host = "127.0.0.1",
		    .port = atoi(getenv("TL_E2E_PORT")),
		    .user = "root",
		    .key_path = getenv("TL_E2E_KEY"),
		    .connect_timeout_s = 10},
	    .agent = TL_AGENT_SH,
	    .hashes_path = getenv("TL_E2E_HASHES"),
	};
	int rc = tl_main_(argc, argv);
	free(FP);
	return rc;
}
