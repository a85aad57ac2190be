/*
 * test_e2e_debian.c: one Debian 12 guest through the whole provisioner
 * (suite "provision-e2e"): the lab linux-single (debian12, a DHCP lab
 * network, port 80 declared) comes up under TCG, is personalised (OpenSSH
 * host keys regenerated and pinned, hostname srv-web, the trainee's
 * account made with useradd), runs systemd as PID 1 with ssh active, and
 * leaves nothing once destroyed. Skipped (77) when debian12 is not built.
 */
#include "e2e_common.h"
#include "tl_test.h"

static tl_prov *prov;
static tl_defs *defs;
static tl_prov_instance *inst;

static void cleanup(void)
{
	if (!prov)
		return;
	tl_error err = {{0}};
	tl_prov_session_destroy(prov, e2e_session, NULL, &err);
	inst = tl_prov_instance_free(inst);
	e2e_logs_drop(tl_test_failures_ == 0);
	prov = tl_prov_free(prov);
	tl_defs_free(defs);
	defs = NULL;
}

TL_TEST(setup)
{
	e2e_need_image("debian12");
	e2e_session_init("debian");
	prov = e2e_prov(1);
	atexit(cleanup);
	e2e_clean_stale(prov);
	tl_diags d = {0};
	defs = tl_defs_load(tl_defs_default_root(), NULL, 0, &d);
	CHECK(defs != NULL);
	tl_diags_clear(&d);
}

TL_TEST(debian_comes_up_personalised)
{
	if (!defs)
		return;
	tl_prov_request r = {.session = e2e_session,
			     .instance = "deb",
			     .lab = tl_defs_lab(defs, "linux-single"),
			     .trainee_user = "marie"};
	tl_error err = {{0}};
	inst = tl_prov_instance_create(prov, &r, NULL, NULL, &err);
	tl_lab lab;
	tl_lab_network nets[8];
	if (!inst && strstr(err.msg, "Failed to apply firewall rules") &&
	    r.lab->n_networks <= 8) {
		/* libvirtd started before iptables was installed keeps that
		 * failure for every network with a host address until it is
		 * restarted; the guest is what this test is about, so go on
		 * with the lab's DHCP turned off, and say so loudly */
		fprintf(stderr,
			"  WARNING: libvirtd cannot start networks with an "
			"address (%s); restart libvirtd after installing "
			"iptables. Going on without DHCP on the lab network.\n",
			err.msg);
		lab = *r.lab;
		memcpy(nets, lab.networks, lab.n_networks * sizeof *nets);
		for (size_t i = 0; i < lab.n_networks; i++)
			nets[i].dhcp = false;
		lab.networks = nets;
		/* machines' NICs point at the lab's networks by id only here */
		r.lab = &lab;
		inst = tl_prov_instance_create(prov, &r, NULL, NULL, &err);
	}
	CHECK(inst != NULL);
	if (!inst) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	tl_prov_machine *m = &inst->machines[0];
	fprintf(stderr, "  srv answered SSH %.1f s after its start, key %s\n",
		m->ready_ms / 1000, m->host_fp);
	CHECK_STR(m->os, "debian-openssh");
	CHECK(m->n_forwards == 2 && m->forwards[1].guest_port == 80);
	char *out = NULL;
	CHECK(e2e_run(prov, m, "cat /proc/1/comm", NULL, &out) == 0);
	CHECK_STR(out, "systemd");
	free(out);
	CHECK(e2e_run(prov, m, "systemctl is-active ssh", NULL, &out) == 0);
	CHECK_STR(out, "active");
	free(out);
	/* "running", or "degraded" when an unrelated unit failed */
	e2e_run(prov, m, "systemctl is-system-running --wait", NULL, &out);
	fprintf(stderr, "  systemctl is-system-running: %s\n", out);
	CHECK(out && (!strcmp(out, "running") || !strcmp(out, "degraded")));
	free(out);
	CHECK(e2e_run(prov, m, "hostname", NULL, &out) == 0);
	CHECK_STR(out, "srv-web");
	free(out);
	CHECK(e2e_run(prov, m,
		      "id -un marie && getent passwd marie | cut -d: -f7", NULL,
		      &out) == 0);
	CHECK_STR(out, "marie");
	free(out);
	/* the new ed25519 key is the one sshd serves (pinned login above)
	 * and the one on disk */
	CHECK(e2e_run(prov, m,
		      "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | "
		      "cut -d' ' -f2",
		      NULL, &out) == 0);
	CHECK_STR(out, m->host_fp);
	free(out);
}

TL_TEST(destroy_leaves_nothing)
{
	if (!inst)
		return;
	tl_error err = {{0}};
	CHECK(tl_prov_instance_destroy(prov, inst, &err) == 0);
	char *left = e2e_virsh_leftovers(e2e_session);
	CHECK_STR(left, "");
	free(left);
}

TL_TESTS(T(setup), T(debian_comes_up_personalised), T(destroy_leaves_nothing))
