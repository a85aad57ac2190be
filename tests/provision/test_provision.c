/*
 * test_provision.c: the provisioner on libvirt's test driver (suite
 * "provision"): the XML it generates, naming and allocation of bridges,
 * subnets and ports, placement over two hosts and refusal when capacity
 * is short, rollback when creation fails midway, teardown, reconcile, and
 * the lifecycle calls. No daemon, no guest: each test has its own
 * in-process hypervisor (prov_fixture.h), so tests share no state.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "prov_fixture.h"
#include "tl_test.h"

/* A provisioner with one host on a fresh fixture. */
static tl_prov *one_host(fx *f, const char *extra, tl_prov_host_config *hc)
{
	fx_init(f, extra);
	tl_error err = {{0}};
	tl_prov_config cfg = {.workers = 4, .ready_timeout_s = 1};
	tl_prov *p = tl_prov_new(&cfg, &err);
	tl_prov_host_config def = fx_host(f, "h1");
	if (!hc)
		hc = &def;
	else if (!hc->uri) {
		hc->uri = def.uri;
		hc->images_dir = def.images_dir;
		hc->pool_path = def.pool_path;
		if (!hc->name)
			hc->name = "h1";
	}
	if (!p || tl_prov_host_add(p, hc, &err) < 0) {
		fprintf(stderr, "  setup: %s\n", err.msg);
		exit(99);
	}
	return p;
}

static tl_prov_request req_of(const char *session, const char *instance,
			      const char *lab)
{
	tl_prov_request r = {0};
	r.session = session;
	r.instance = instance;
	r.lab = fx_lab(lab);
	r.access = TL_PROV_ACCESS_LOOPBACK;
	r.flags = TL_PROV_NO_READY;
	return r;
}

static size_t count_objects(tl_prov *p, const char *session,
			    tl_prov_obj_kind kind)
{
	tl_prov_report r;
	tl_error err = {{0}};
	if (tl_prov_list(p, session, &r, &err) < 0) {
		fprintf(stderr, "  list: %s\n", err.msg);
		return (size_t)-1;
	}
	size_t n = 0;
	for (size_t i = 0; i < r.n; i++)
		n += r.items[i].kind == kind;
	tl_prov_report_clear(&r);
	return n;
}

static size_t count_all(tl_prov *p, const char *session)
{
	return count_objects(p, session, TL_PROV_OBJ_DOMAIN) +
	       count_objects(p, session, TL_PROV_OBJ_NETWORK) +
	       count_objects(p, session, TL_PROV_OBJ_VOLUME);
}

/* ------------------------------------------------------------------ */

TL_TEST(xml_loopback_domain)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	tl_prov_request r = req_of("s1", "jean-dupont", "tiny-pair");
	tl_error err = {{0}};
	TL_AUTO(tl_prov_instance) inst = tl_prov_instance_plan(p, &r, &err);
	CHECK(inst != NULL);
	if (!inst) {
		fprintf(stderr, "  %s\n", err.msg);
		fx_fini(&f);
		return;
	}
	CHECK(inst->n_machines == 2 && inst->n_networks == 1);
	tl_prov_machine *a = tl_prov_instance_machine(inst, "alpha");
	CHECK(a != NULL);
	const char *x = a->domain_xml;
	CHECK_STR(a->domain, "tl+s1+jean-dupont+alpha");
	CHECK_CONTAINS(x, "<domain type='qemu'");
	CHECK_CONTAINS(x, "<name>tl+s1+jean-dupont+alpha</name>");
	CHECK_CONTAINS(x, "xmlns:tl='" TL_PROV_XMLNS "'");
	CHECK_CONTAINS(x,
		       "session='s1' instance='jean-dupont' machine='alpha'");
	CHECK_CONTAINS(x, "lab='tiny-pair' image='tiny'");
	CHECK_CONTAINS(x, "<memballoon model='none'/>");
	CHECK_CONTAINS(x, "<memory unit='MiB'>192</memory>");
	char want[1024];
	snprintf(want, sizeof want, "<kernel>%s/vmlinuz</kernel>", f.tiny);
	CHECK_CONTAINS(x, want);
	snprintf(want, sizeof want, "<initrd>%s/initrd.img</initrd>", f.tiny);
	CHECK_CONTAINS(x, want);
	CHECK_CONTAINS(x, "pci=noacpi tssrlab.hostname=alpha</cmdline>");
	CHECK_CONTAINS(x, "<serial type='pty'>");
	CHECK_CONTAINS(x, "<graphics type='vnc' port='-1' autoport='yes' "
			  "listen='127.0.0.1'>");
	CHECK_CONTAINS(x, "<feature policy='require' name='rdrand'/>");
	snprintf(want, sizeof want, "<source file='%s/%s'/>", f.pool,
		 a->volume);
	CHECK_CONTAINS(x, want);
	/* loopback access: user networking with SSH forwarded, eth0 */
	CHECK(a->n_forwards == 1 && a->forwards[0].guest_port == 22);
	CHECK(a->ssh_port == a->forwards[0].host_port);
	CHECK_STR(a->ssh_host, "127.0.0.1");
	snprintf(want, sizeof want, "hostfwd=tcp:127.0.0.1:%d-:22'/>",
		 a->ssh_port);
	CHECK_CONTAINS(x, want);
	CHECK_CONTAINS(x, "<qemu:arg value='user,id=tlmgmt,restrict=on,");
	CHECK_CONTAINS(x, "bus=pci.0,addr=0x10'/>");
	/* the lab NIC, after it */
	CHECK_CONTAINS(x, "<source network='tl+s1+jean-dupont+lan'/>");
	CHECK_CONTAINS(x, "slot='0x11'");
	CHECK(a->n_nics == 1 && !strncmp(a->nics[0].mac, "52:54:00:", 9));
	CHECK_STR(a->nics[0].address, "10.200.0.10/24");

	/* the overlay: a linked clone of the base disk */
	CHECK_STR(a->volume, "tl+s1+jean-dupont+alpha.qcow2");
	snprintf(want, sizeof want,
		 "<backingStore>\n    <path>%s/disk.qcow2</path>\n"
		 "    <format type='qcow2'/>\n  </backingStore>",
		 f.tiny);
	CHECK_CONTAINS(a->volume_xml, want);
	CHECK_CONTAINS(a->volume_xml, "<target>\n    <format type='qcow2'/>");
	CHECK_CONTAINS(a->volume_xml,
		       "<capacity unit='bytes'>67108864</capacity>");

	/* the network: isolated, no host address (no DHCP, loopback) */
	tl_prov_net *n = &inst->networks[0];
	CHECK_STR(n->name, "tl+s1+jean-dupont+lan");
	CHECK_STR(n->subnet, "10.200.0.0/24");
	CHECK_STR(n->bridge, "tl0ac80000");
	CHECK(strlen(n->bridge) <= 15);
	CHECK(n->host_address == NULL);
	CHECK_CONTAINS(n->xml,
		       "<bridge name='tl0ac80000' stp='off' delay='0'/>");
	CHECK_CONTAINS(n->xml, "cidr='192.168.60.0/24' subnet='10.200.0.0/24'");
	CHECK(!strstr(n->xml, "<forward"));
	CHECK(!strstr(n->xml, "<ip "));
	/* trainee machine and password */
	CHECK(a->trainee);
	CHECK(!tl_prov_instance_machine(inst, "beta")->trainee);
	CHECK(inst->trainee_password && strlen(inst->trainee_password) == 12);
	CHECK_STR(inst->trainee_user, "stagiaire");
	/* a plan creates nothing */
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

TL_TEST(xml_kvm_and_bridged)
{
	fx f;
	tl_prov_host_config hc = {.accel = TL_PROV_ACCEL_KVM};
	TL_AUTO(tl_prov) p = one_host(&f, NULL, &hc);
	tl_prov_request r = req_of("s1", "i1", "tiny-pair");
	r.access = TL_PROV_ACCESS_BRIDGED;
	tl_error err = {{0}};
	TL_AUTO(tl_prov_instance) inst = tl_prov_instance_plan(p, &r, &err);
	CHECK(inst != NULL);
	if (!inst) {
		fprintf(stderr, "  %s\n", err.msg);
		fx_fini(&f);
		return;
	}
	tl_prov_machine *b = tl_prov_instance_machine(inst, "beta");
	CHECK_CONTAINS(b->domain_xml, "<domain type='kvm'");
	CHECK_CONTAINS(b->domain_xml, "<cpu mode='host-passthrough'");
	CHECK_CONTAINS(b->domain_xml, "access='bridged'");
	CHECK(!strstr(b->domain_xml, "<qemu:commandline>"));
	CHECK(!strstr(b->domain_xml, "hostfwd"));
	CHECK(b->n_forwards == 0);
	CHECK_CONTAINS(b->domain_xml, "<interface type='network'>");
	/* reached through the lab: its address moved into the subnet */
	CHECK_STR(b->ssh_host, "10.200.0.11");
	CHECK(b->ssh_port == 22);
	/* the host needs an address on the lab network to reach it */
	CHECK_STR(inst->networks[0].host_address, "10.200.0.254");
	CHECK_CONTAINS(inst->networks[0].xml,
		       "<ip address='10.200.0.254' prefix='24'>");
	CHECK(!strstr(inst->networks[0].xml, "<dhcp>"));
	CHECK(!strstr(inst->networks[0].xml, "<forward"));
	/* and libvirt's test driver accepts it all */
	r.flags = TL_PROV_NO_READY;
	TL_AUTO(tl_prov_instance)
	made = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(made != NULL);
	if (!made)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK(count_objects(p, "s1", TL_PROV_OBJ_DOMAIN) == 2);
	CHECK(tl_prov_instance_destroy(p, made, &err) == 0);
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

TL_TEST(xml_dhcp_network_and_ports)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	tl_prov_request r = req_of("s2", "marie", "linux-single");
	tl_error err = {{0}};
	TL_AUTO(tl_prov_instance) inst = tl_prov_instance_plan(p, &r, &err);
	CHECK(inst != NULL);
	if (!inst) {
		fprintf(stderr, "  %s\n", err.msg);
		fx_fini(&f);
		return;
	}
	tl_prov_machine *m = &inst->machines[0];
	CHECK_STR(m->hostname, "srv-web");
	char want[256];
	/* the image's own command line, then the hostname */
	snprintf(want, sizeof want,
		 "<cmdline>%s tssrlab.hostname=srv-web</cmdline>",
		 fx_image_def("debian12")->cmdline);
	CHECK_CONTAINS(m->domain_xml, want);
	CHECK_CONTAINS(m->domain_xml, "<memory unit='MiB'>512</memory>");
	CHECK(m->n_forwards == 2);
	CHECK(m->forwards[1].guest_port == 80);
	CHECK(m->forwards[0].host_port != m->forwards[1].host_port);
	snprintf(want, sizeof want,
		 "hostfwd=tcp:127.0.0.1:%d-:22,"
		 "hostfwd=tcp:127.0.0.1:%d-:80'/>",
		 m->forwards[0].host_port, m->forwards[1].host_port);
	CHECK_CONTAINS(m->domain_xml, want);
	snprintf(want, sizeof want, "forwards='22:%d,80:%d'",
		 m->forwards[0].host_port, m->forwards[1].host_port);
	CHECK_CONTAINS(m->domain_xml, want);
	/* base disk 3 GiB: the overlay has its size */
	CHECK(m->capacity == 3072ull << 20);
	const char *nx = inst->networks[0].xml;
	CHECK_CONTAINS(nx, "<dns enable='no'/>");
	CHECK_CONTAINS(nx, "<ip address='10.200.0.254' prefix='24'>");
	CHECK_CONTAINS(nx, "<range start='10.200.0.128' end='10.200.0.253'/>");
	snprintf(want, sizeof want,
		 "<host mac='%s' name='srv-web' "
		 "ip='10.200.0.10'/>",
		 m->nics[0].mac);
	CHECK_CONTAINS(nx, want);
	fx_fini(&f);
}

TL_TEST(create_and_inspect)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	tl_prov_request r = req_of("s1", "i1", "tiny-pair");
	tl_error err = {{0}};
	TL_AUTO(tl_prov_instance)
	inst = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(inst != NULL);
	if (!inst) {
		fprintf(stderr, "  %s\n", err.msg);
		fx_fini(&f);
		return;
	}
	CHECK(count_objects(p, "s1", TL_PROV_OBJ_DOMAIN) == 2);
	CHECK(count_objects(p, "s1", TL_PROV_OBJ_VOLUME) == 2);
	CHECK(count_objects(p, "s1", TL_PROV_OBJ_NETWORK) == 1);
	/* what libvirt holds */
	char *vx = tl_prov_object_xml(p, "h1", TL_PROV_OBJ_VOLUME,
				      "tl+s1+i1+alpha.qcow2", &err);
	char want[1024];
	snprintf(want, sizeof want, "<path>%s/disk.qcow2</path>", f.tiny);
	CHECK_CONTAINS(vx, "<backingStore>");
	CHECK_CONTAINS(vx, want);
	free(vx);
	char *dx = tl_prov_object_xml(p, "h1", TL_PROV_OBJ_DOMAIN,
				      "tl+s1+i1+beta", &err);
	CHECK_CONTAINS(dx, TL_PROV_XMLNS);
	CHECK_CONTAINS(dx, "machine=\"beta\"");
	CHECK_CONTAINS(dx, "<memballoon model='none'/>");
	free(dx);
	char *nx = tl_prov_object_xml(p, NULL, TL_PROV_OBJ_NETWORK,
				      "tl+s1+i1+lan", &err);
	CHECK_CONTAINS(nx, "<bridge name='tl0ac80000'");
	free(nx);
	tl_prov_state st;
	CHECK(tl_prov_machine_state(p, inst, "alpha", &st, &err) == 0);
	CHECK(st == TL_PROV_STATE_RUNNING);
	tl_prov_host_usage u;
	CHECK(tl_prov_host_usage_get(p, 0, &u, &err) == 0);
	CHECK(u.vcpus_used == 2 && u.memory_used_mib == 384 &&
	      u.instances_used == 1);
	CHECK(u.vcpus_max == 32); /* 2 CPUs x 16 */
	CHECK(tl_prov_instance_destroy(p, inst, &err) == 0);
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

static bool overlaps(const char *a, const char *b)
{
	unsigned a1, a2, a3, a4, b1, b2, b3, b4;
	int pa, pb;
	sscanf(a, "%u.%u.%u.%u/%d", &a1, &a2, &a3, &a4, &pa);
	sscanf(b, "%u.%u.%u.%u/%d", &b1, &b2, &b3, &b4, &pb);
	uint32_t x = a1 << 24 | a2 << 16 | a3 << 8 | a4;
	uint32_t y = b1 << 24 | b2 << 16 | b3 << 8 | b4;
	int pm = pa < pb ? pa : pb;
	uint32_t m = 0xffffffffu << (32 - pm);
	return (x & m) == (y & m);
}

TL_TEST(allocation_unique_across_instances)
{
	fx f;
	tl_prov_host_config hc = {.port_min = 30100, .port_max = 30199};
	TL_AUTO(tl_prov) p = one_host(&f, NULL, &hc);
	tl_prov_request reqs[4] = {
	    req_of("s1", "a", "tiny-pair"), req_of("s1", "b", "tiny-pair"),
	    req_of("s1", "c", "linux-single"), req_of("s2", "a", "tiny-pair")};
	tl_prov_outcome out[4];
	tl_error err = {{0}};
	CHECK(tl_prov_create_many(p, reqs, 4, NULL, NULL, out, &err) == 0);
	const char *subnets[8], *bridges[8];
	int ports[16];
	size_t ns = 0, np = 0;
	for (size_t i = 0; i < 4; i++) {
		tl_prov_instance *inst = out[i].instance;
		CHECK(inst != NULL);
		if (!inst) {
			fprintf(stderr, "  %s\n", out[i].error.msg);
			continue;
		}
		for (size_t k = 0; k < inst->n_networks; k++) {
			subnets[ns] = inst->networks[k].subnet;
			bridges[ns++] = inst->networks[k].bridge;
			CHECK(strlen(inst->networks[k].bridge) <= 15);
		}
		for (size_t m = 0; m < inst->n_machines; m++)
			for (size_t k = 0; k < inst->machines[m].n_forwards;
			     k++) {
				int hp =
				    inst->machines[m].forwards[k].host_port;
				CHECK(hp >= 30100 && hp <= 30199);
				ports[np++] = hp;
			}
	}
	CHECK(ns == 4 && np == 8);
	for (size_t i = 0; i < ns; i++)
		for (size_t j = i + 1; j < ns; j++) {
			CHECK(!overlaps(subnets[i], subnets[j]));
			CHECK(strcmp(bridges[i], bridges[j]) != 0);
		}
	for (size_t i = 0; i < np; i++)
		for (size_t j = i + 1; j < np; j++)
			CHECK(ports[i] != ports[j]);
	/* the same allocation holds when seen from libvirt only: a new
	 * provisioner on the same host does not reuse them */
	tl_prov_request r5 = req_of("s3", "z", "tiny-pair");
	TL_AUTO(tl_prov_instance) five = tl_prov_instance_plan(p, &r5, &err);
	CHECK(five != NULL);
	for (size_t i = 0; five && i < ns; i++)
		CHECK(!overlaps(five->networks[0].subnet, subnets[i]));
	for (size_t i = 0; five && i < np; i++)
		for (size_t m = 0; m < five->n_machines; m++)
			CHECK(five->machines[m].ssh_port != ports[i]);
	for (size_t i = 0; i < 4; i++) {
		if (out[i].instance)
			CHECK(tl_prov_instance_destroy(p, out[i].instance,
						       &err) == 0);
		tl_prov_instance_free(out[i].instance);
	}
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

TL_TEST(allocation_avoids_what_is_taken)
{
	/* someone else's network on the first subnet of the pool, and a
	 * port of the range bound by someone else */
	const char *other =
	    "<network><name>other</name><bridge name='tl0ac80100'/>"
	    "<ip address='10.200.0.1' prefix='24'/></network>\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int bound = 0;
	for (int port = 31000; port < 31100 && !bound; port++) {
		sa.sin_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
		    listen(fd, 1) == 0)
			bound = port;
	}
	CHECK(bound != 0);
	fx f;
	tl_prov_host_config hc = {.port_min = bound, .port_max = bound + 5};
	TL_AUTO(tl_prov) p = one_host(&f, other, &hc);
	tl_prov_request r = req_of("s1", "i1", "tiny-pair");
	tl_error err = {{0}};
	TL_AUTO(tl_prov_instance) inst = tl_prov_instance_plan(p, &r, &err);
	CHECK(inst != NULL);
	if (inst) {
		/* 10.200.0.0/24 is taken, 10.200.1.0 has the bridge name */
		CHECK_STR(inst->networks[0].subnet, "10.200.2.0/24");
		CHECK_STR(inst->networks[0].bridge, "tl0ac80200");
		for (size_t m = 0; m < inst->n_machines; m++)
			CHECK(inst->machines[m].ssh_port != bound);
	}
	/* a host whose only port is taken: refused, with the reason */
	tl_prov_host_config hc2 = fx_host(&f, "h2");
	hc2.port_min = hc2.port_max = bound;
	CHECK(tl_prov_host_add(p, &hc2, &err) == 0);
	r.host = "h2";
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	char want[128];
	snprintf(want, sizeof want,
		 "host h2: no free TCP port left in %d..%d on 127.0.0.1", bound,
		 bound);
	CHECK_CONTAINS(err.msg, want);
	close(fd);
	fx_fini(&f);
}

TL_TEST(placement_two_hosts_and_refusal)
{
	fx fa, fb;
	fx_init(&fa, NULL);
	fx_init(&fb, NULL);
	tl_error err = {{0}};
	TL_AUTO(tl_prov) p = tl_prov_new(NULL, &err);
	tl_prov_host_config a = fx_host(&fa, "small");
	a.max_vcpus = 4;
	a.max_memory_mib = 1024;
	tl_prov_host_config b = fx_host(&fb, "big");
	b.max_vcpus = 8;
	b.max_memory_mib = 4096;
	b.max_instances = 3;
	CHECK(tl_prov_host_add(p, &a, &err) == 0);
	CHECK(tl_prov_host_add(p, &b, &err) == 0);
	CHECK(tl_prov_host_count(p) == 2);
	/* tiny-pair: 2 vCPUs, 384 MiB. The scarcest free share once placed:
	 *  1st: small min(2/4, 640/1024) = .5   big min(6/8, .., 2/3) = .67 ->
	 * big 2nd: small .5                        big min(4/8, .., 1/3) = .33
	 * -> small 3rd: small min(0/4, ..) = 0          big .33 -> big 4th:
	 * small 0 (fits)                  big min(2/8, .., 0/3) = 0   -> small
	 * (first) 5th: small: 6 vCPUs > 4              big 0 (fits) -> big 6th:
	 * small: no                       big: a 4th instance > 3     ->
	 * refused */
	const char *want[] = {"big", "small", "big", "small", "big"};
	tl_prov_instance *made[5] = {0};
	char id[8];
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "t%d", i);
		tl_prov_request r = req_of("s1", id, "tiny-pair");
		made[i] = tl_prov_instance_create(p, &r, NULL, NULL, &err);
		CHECK(made[i] != NULL);
		if (!made[i]) {
			fprintf(stderr, "  %s\n", err.msg);
			continue;
		}
		CHECK_STR(made[i]->host, want[i]);
	}
	size_t before = count_all(p, NULL);
	CHECK(before == 5 * 5);
	tl_prov_request r = req_of("s1", "t5", "tiny-pair");
	tl_prov_instance *no = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(no == NULL);
	CHECK_CONTAINS(err.msg, "not enough capacity for instance s1/t5 "
				"(needs 2 vCPUs, 384 MiB); host small: 0/4 "
				"vCPUs, 256/1024 MiB free; host big: 2/8 "
				"vCPUs, 2944/4096 MiB, 0/3 instances free");
	CHECK(count_all(p, NULL) == before);
	/* pinned to a host */
	tl_prov_instance_destroy(p, made[0], &err);
	r.host = "small";
	no = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(no == NULL);
	CHECK_CONTAINS(err.msg, "host small:");
	CHECK(!strstr(err.msg, "host big"));
	r.host = "big";
	tl_prov_instance *pinned =
	    tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(pinned && !strcmp(pinned->host, "big"));
	tl_prov_instance_free(pinned);
	CHECK(tl_prov_session_destroy(p, "s1", NULL, &err) == 0);
	CHECK(count_all(p, NULL) == 0);
	for (int i = 0; i < 5; i++)
		tl_prov_instance_free(made[i]);
	fx_fini(&fa);
	fx_fini(&fb);
}

TL_TEST(batch_refused_before_anything_is_created)
{
	fx f;
	tl_prov_host_config hc = {.max_memory_mib = 1200};
	TL_AUTO(tl_prov) p = one_host(&f, NULL, &hc);
	/* 4 x 384 MiB = 1536 > 1200: the class does not fit */
	tl_prov_request reqs[4] = {
	    req_of("s1", "a", "tiny-pair"), req_of("s1", "b", "tiny-pair"),
	    req_of("s1", "c", "tiny-pair"), req_of("s1", "d", "tiny-pair")};
	tl_prov_outcome out[4];
	tl_error err = {{0}};
	CHECK(tl_prov_create_many(p, reqs, 4, NULL, NULL, out, &err) == -1);
	CHECK_CONTAINS(err.msg, "not enough capacity for instance s1/d");
	for (int i = 0; i < 4; i++)
		CHECK(out[i].instance == NULL);
	CHECK(count_all(p, NULL) == 0);
	/* three fit */
	CHECK(tl_prov_create_many(p, reqs, 3, NULL, NULL, out, &err) == 0);
	CHECK(count_objects(p, "s1", TL_PROV_OBJ_DOMAIN) == 6);
	for (int i = 0; i < 3; i++)
		tl_prov_instance_free(out[i].instance);
	CHECK(tl_prov_session_destroy(p, "s1", NULL, &err) == 0);
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

/* ---- failures midway ---- */

typedef struct cancel_at {
	tl_prov_phase phase;
	const char *object;
	tl_prov *p; /* destroy_session: pull objects away */
	const char *destroy_session;
	int failed_events;
	char failed_msg[TL_ERROR_MAX];
	tl_prov_phase last;
} cancel_at;

static int on_progress_cancel(void *ud, const tl_prov_progress *ev)
{
	cancel_at *c = ud;
	c->last = ev->phase;
	if (ev->phase == TL_PROV_PHASE_FAILED) {
		c->failed_events++;
		snprintf(c->failed_msg, sizeof c->failed_msg, "%s",
			 ev->message ? ev->message : "");
	}
	if (ev->phase != c->phase || !ev->object ||
	    strcmp(ev->object, c->object))
		return 0;
	if (c->destroy_session) {
		/* another actor removes objects under the creator's feet:
		 * the next libvirt call fails with libvirt's own message */
		tl_error e = {{0}};
		tl_prov_session_destroy(c->p, c->destroy_session, NULL, &e);
		return 0;
	}
	return 1;
}

TL_TEST(failure_midway_leaves_nothing)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	tl_error err = {{0}};
	/* cancelled after each kind of step */
	struct {
		tl_prov_phase phase;
		const char *object;
	} at[] = {{TL_PROV_PHASE_NETWORK, "lan"},
		  {TL_PROV_PHASE_VOLUME, "beta"},
		  {TL_PROV_PHASE_DEFINED, "alpha"},
		  {TL_PROV_PHASE_STARTED, "beta"}};
	for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
		cancel_at c = {.phase = at[i].phase, .object = at[i].object};
		tl_prov_request r = req_of("s1", "i1", "tiny-pair");
		tl_prov_instance *inst = tl_prov_instance_create(
		    p, &r, on_progress_cancel, &c, &err);
		CHECK(inst == NULL);
		CHECK_CONTAINS(err.msg, "cancelled by the caller after phase");
		CHECK(c.failed_events == 1 && c.last == TL_PROV_PHASE_FAILED);
		CHECK(count_all(p, NULL) == 0);
		tl_prov_instance_free(inst);
	}
	/* a libvirt error midway: the domains vanish once defined, so
	 * starting them fails; the error carries libvirt's message */
	cancel_at c = {.phase = TL_PROV_PHASE_DEFINED,
		       .object = "beta",
		       .p = p,
		       .destroy_session = "s1"};
	tl_prov_request r = req_of("s1", "i2", "tiny-pair");
	tl_prov_instance *inst =
	    tl_prov_instance_create(p, &r, on_progress_cancel, &c, &err);
	CHECK(inst == NULL);
	CHECK_CONTAINS(err.msg, "machine alpha: cannot start domain "
				"tl+s1+i2+alpha: libvirt: ");
	CHECK_CONTAINS(err.msg, "Domain not found");
	CHECK_CONTAINS(c.failed_msg, "libvirt: ");
	CHECK(count_all(p, NULL) == 0);
	/* a machine that never answers SSH: the test driver's guests have no
	 * SSH, readiness times out (1 s here), everything is removed */
	r = req_of("s1", "i3", "tiny-pair");
	r.flags = 0;
	inst = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(inst == NULL);
	CHECK(strstr(err.msg, "machine alpha (domain tl+s1+i3+alpha): no SSH "
			      "answer on 127.0.0.1:") ||
	      strstr(err.msg, "built without the SSH probe engine"));
	CHECK_CONTAINS(err.msg, "(limit 1 s)");
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

TL_TEST(refusals_create_nothing)
{
	/* a foreign domain already uses a name the instance needs */
	const char *foreign = "<domain type='test'><name>tl+s1+i1+beta</name>"
			      "<memory>65536</memory><os><type>hvm</type></os>"
			      "</domain>\n";
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, foreign, NULL);
	tl_error err = {{0}};
	tl_prov_request r = req_of("s1", "i1", "tiny-pair");
	TL_AUTO(tl_prov_instance)
	inst = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(inst == NULL);
	CHECK_CONTAINS(err.msg, "a libvirt object named \"tl+s1+i1+beta\" "
				"already exists");
	CHECK(count_all(p, NULL) == 0);
	/* the foreign domain is untouched */
	char *x = tl_prov_object_xml(p, "h1", TL_PROV_OBJ_DOMAIN,
				     "tl+s1+i1+beta", &err);
	CHECK(x != NULL);
	free(x);

	/* bad ids */
	r = req_of("s1", "Jean", "tiny-pair");
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "instance id \"Jean\"");
	r = req_of("s+1", "i2", "tiny-pair");
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "session id \"s+1\"");
	r = req_of("s1", "i2", "tiny-pair");
	r.trainee_user = "Root Admin";
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "trainee user");
	r.trainee_user = NULL;
	r.host = "nowhere";
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "unknown host \"nowhere\"");

	/* an unknown image, a hostname that would reach the kernel command
	 * line, an image that is not built, a lab network larger than the
	 * subnet pool */
	tl_lab_network net = {.id = "lan", .cidr = "192.168.60.0/24"};
	tl_lab_nic nic = {.network = "lan", .net = &net};
	tl_lab_machine m = {.id = "m1",
			    .hostname = "m1",
			    .image_id = "nope",
			    .vcpus = 1,
			    .memory_mib = 128,
			    .nics = &nic,
			    .n_nics = 1,
			    .trainee = true};
	tl_lab lab = {.id = "hand",
		      .networks = &net,
		      .n_networks = 1,
		      .machines = &m,
		      .n_machines = 1};
	r = req_of("s1", "i2", "tiny-pair");
	r.lab = &lab;
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "machine m1: unknown image \"nope\"");
	m.image = fx_image_def("tiny");
	m.hostname = "m1 init=/bin/sh";
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "hostname \"m1 init=/bin/sh\"");
	m.hostname = "m1";
	tl_image ghost = *fx_image_def("tiny");
	ghost.id = "ghost";
	m.image = &ghost;
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "image ghost: not built");
	m.image = fx_image_def("tiny");
	net.cidr = "10.0.0.0/8";
	CHECK(tl_prov_instance_plan(p, &r, &err) == NULL);
	CHECK_CONTAINS(err.msg, "a /8 lab network does not fit in the subnet "
				"pool /16");
	net.cidr = "192.168.60.0/24";
	/* the same instance twice */
	r = req_of("s1", "i2", "tiny-pair");
	TL_AUTO(tl_prov_instance)
	once = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(once != NULL);
	size_t n = count_all(p, NULL);
	CHECK(tl_prov_instance_create(p, &r, NULL, NULL, &err) == NULL);
	CHECK_CONTAINS(err.msg, "instance s1/i2 already exists on host h1");
	CHECK(count_all(p, NULL) == n);
	fx_fini(&f);
}

TL_TEST(teardown_leaves_nothing)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	tl_prov_request reqs[3] = {req_of("s1", "a", "tiny-pair"),
				   req_of("s1", "b", "linux-single"),
				   req_of("s2", "a", "tiny-pair")};
	tl_prov_outcome out[3];
	tl_error err = {{0}};
	CHECK(tl_prov_create_many(p, reqs, 3, NULL, NULL, out, &err) == 0);
	CHECK(count_all(p, NULL) == 5 + 3 + 5);
	CHECK(tl_prov_instance_destroy(p, out[0].instance, &err) == 0);
	CHECK(count_all(p, "s1") == 3);
	CHECK(count_all(p, "s2") == 5);
	/* destroying twice is harmless */
	CHECK(tl_prov_instance_destroy(p, out[0].instance, &err) == 0);
	tl_prov_report rep;
	CHECK(tl_prov_session_destroy(p, "s1", &rep, &err) == 0);
	CHECK(rep.n_removed == 3 && rep.n_failed == 0);
	/* domains before volumes before networks */
	CHECK(rep.n == 3 && rep.items[0].kind == TL_PROV_OBJ_DOMAIN &&
	      rep.items[1].kind == TL_PROV_OBJ_VOLUME &&
	      rep.items[2].kind == TL_PROV_OBJ_NETWORK);
	tl_prov_report_clear(&rep);
	CHECK(count_all(p, "s1") == 0);
	CHECK(count_all(p, "s2") == 5);
	CHECK(tl_prov_instance_destroy(p, out[2].instance, &err) == 0);
	CHECK(count_all(p, NULL) == 0);
	for (int i = 0; i < 3; i++)
		tl_prov_instance_free(out[i].instance);
	fx_fini(&f);
}

static bool live_s1a_s2c(void *ud, const char *session, const char *instance)
{
	int *calls = ud;
	(*calls)++;
	return (!strcmp(session, "s1") && !strcmp(instance, "a")) ||
	       (!strcmp(session, "s2") && !strcmp(instance, "c"));
}

TL_TEST(reconcile_removes_orphans_keeps_live)
{
	/* what a creator killed right after its first steps leaves: a
	 * network and one overlay of s7/y, no domain */
	const char *orphans =
	    "<pool type='dir'><name>tssrlab</name>"
	    "<capacity unit='GiB'>100</capacity><allocation>0</allocation>"
	    "<available unit='GiB'>100</available>"
	    "<target><path>/srv/tl-test-pool</path></target>"
	    "<volume type='file'><name>tl+s7+y+alpha.qcow2</name>"
	    "<capacity unit='MiB'>64</capacity><target>"
	    "<path>/srv/tl-test-pool/tl+s7+y+alpha.qcow2</path>"
	    "<format type='qcow2'/></target></volume></pool>\n"
	    "<network><name>tl+s7+y+lan</name><metadata>"
	    "<tl:network xmlns:tl='" TL_PROV_XMLNS "' session='s7' "
	    "instance='y' network='lan' subnet='10.200.9.0/24' "
	    "bridge='tl0ac80900'/></metadata>"
	    "<bridge name='tl0ac80900'/></network>\n";
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, orphans, NULL);
	tl_prov_request reqs[4] = {
	    req_of("s1", "a", "tiny-pair"), req_of("s1", "b", "tiny-pair"),
	    req_of("s2", "c", "linux-single"), req_of("s9", "x", "tiny-pair")};
	reqs[3].flags = TL_PROV_NO_START; /* half done: defined, not started */
	tl_prov_outcome out[4];
	tl_error err = {{0}};
	CHECK(tl_prov_create_many(p, reqs, 4, NULL, NULL, out, &err) == 0);
	/* the pool the fixture brought is the one used */
	CHECK(out[0].instance &&
	      !strncmp(out[0].instance->machines[0].volume_path,
		       "/srv/tl-test-pool/", 18));
	/* and the orphan network's subnet is not handed out again */
	for (int i = 0; i < 4; i++)
		CHECK(out[i].instance &&
		      strcmp(out[i].instance->networks[0].subnet,
			     "10.200.9.0/24"));
	size_t total = count_all(p, NULL);
	CHECK(total == 5 + 5 + 3 + 5 + 2);

	tl_prov_report rep;
	int calls = 0;
	CHECK(tl_prov_reconcile(p, live_s1a_s2c, &calls, &rep, &err) == 0);
	CHECK(calls == 5); /* asked once per instance */
	CHECK(rep.n_adopted == 5 + 3);
	CHECK(rep.n_removed == 5 + 5 + 2);
	CHECK(rep.n_failed == 0);
	CHECK(rep.n_adopted_instances == 2);
	CHECK(count_all(p, "s1") == 5);
	CHECK(count_all(p, "s2") == 3);
	CHECK(count_all(p, "s9") == 0);
	CHECK(count_all(p, "s7") == 0);
	/* adopted instances are rebuilt from libvirt alone */
	for (size_t i = 0; i < rep.n_adopted_instances; i++) {
		tl_prov_instance *ad = rep.adopted[i];
		tl_prov_instance *orig = !strcmp(ad->session, "s1")
					     ? out[0].instance
					     : out[2].instance;
		CHECK_STR(ad->instance, orig->instance);
		CHECK_STR(ad->lab_id, orig->lab_id);
		CHECK_STR(ad->host, "h1");
		CHECK_STR(ad->trainee_user, "stagiaire");
		CHECK(ad->n_machines == orig->n_machines);
		CHECK(ad->n_networks == orig->n_networks);
		for (size_t m = 0; m < ad->n_machines && m < orig->n_machines;
		     m++) {
			tl_prov_machine *x = &ad->machines[m],
					*o = &orig->machines[m];
			CHECK_STR(x->id, o->id);
			CHECK_STR(x->domain, o->domain);
			CHECK_STR(x->volume, o->volume);
			CHECK_STR(x->volume_path, o->volume_path);
			CHECK_STR(x->base_disk, o->base_disk);
			CHECK_STR(x->hostname, o->hostname);
			CHECK(x->ssh_port == o->ssh_port);
			CHECK(x->n_forwards == o->n_forwards);
			for (size_t k = 0;
			     k < x->n_forwards && k < o->n_forwards; k++)
				CHECK(x->forwards[k].host_port ==
				      o->forwards[k].host_port);
			CHECK(x->n_nics == o->n_nics);
			if (x->n_nics && o->n_nics) {
				CHECK_STR(x->nics[0].mac, o->nics[0].mac);
				CHECK_STR(x->nics[0].address,
					  o->nics[0].address);
			}
			CHECK(x->trainee == o->trainee);
			CHECK_STR(x->volume_xml, o->volume_xml);
		}
		if (ad->n_networks && orig->n_networks) {
			CHECK_STR(ad->networks[0].bridge,
				  orig->networks[0].bridge);
			CHECK_STR(ad->networks[0].subnet,
				  orig->networks[0].subnet);
			CHECK(ad->networks[0].dhcp == orig->networks[0].dhcp);
		}
	}
	/* the adopted instance can be managed: reset one machine */
	if (rep.n_adopted_instances) {
		tl_prov_instance *ad = rep.adopted[0];
		CHECK(tl_prov_machine_reset(p, ad, ad->machines[0].id,
					    TL_PROV_NO_READY, &err) == 0);
	}
	tl_prov_report_clear(&rep);
	/* a second reconcile finds nothing to do */
	calls = 0;
	CHECK(tl_prov_reconcile(p, live_s1a_s2c, &calls, &rep, &err) == 0);
	CHECK(rep.n_removed == 0 && rep.n_adopted == 8);
	tl_prov_report_clear(&rep);
	/* and with nothing live, everything goes */
	const char *none[] = {"s3/none"};
	CHECK(tl_prov_reconcile_ids(p, none, 1, &rep, &err) == 0);
	CHECK(rep.n_removed == 8);
	tl_prov_report_clear(&rep);
	CHECK(count_all(p, NULL) == 0);
	for (int i = 0; i < 4; i++)
		tl_prov_instance_free(out[i].instance);
	fx_fini(&f);
}

TL_TEST(adopt_live_leaves_the_rest_alone)
{
	/* another process's instance in the middle of its creation (s7/y: a
	 * network and an overlay, no domain yet), and an instance of
	 * another session (s9/x): `reconcile = off` (a demo or a test beside
	 * a daemon) adopts its own live instances and must neither remove
	 * nor fail on the others */
	const char *half =
	    "<pool type='dir'><name>tssrlab</name>"
	    "<capacity unit='GiB'>100</capacity><allocation>0</allocation>"
	    "<available unit='GiB'>100</available>"
	    "<target><path>/srv/tl-test-pool</path></target>"
	    "<volume type='file'><name>tl+s7+y+alpha.qcow2</name>"
	    "<capacity unit='MiB'>64</capacity><target>"
	    "<path>/srv/tl-test-pool/tl+s7+y+alpha.qcow2</path>"
	    "<format type='qcow2'/></target></volume></pool>\n"
	    "<network><name>tl+s7+y+lan</name><metadata>"
	    "<tl:network xmlns:tl='" TL_PROV_XMLNS "' session='s7' "
	    "instance='y' network='lan' subnet='10.200.9.0/24' "
	    "bridge='tl0ac80900'/></metadata>"
	    "<bridge name='tl0ac80900'/></network>\n";
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, half, NULL);
	tl_prov_request reqs[3] = {req_of("s1", "a", "tiny-pair"),
				   req_of("s2", "c", "linux-single"),
				   req_of("s9", "x", "tiny-pair")};
	tl_prov_outcome out[3];
	tl_error err = {{0}};
	CHECK(tl_prov_create_many(p, reqs, 3, NULL, NULL, out, &err) == 0);
	size_t total = count_all(p, NULL);
	tl_prov_report rep;
	int calls = 0;
	CHECK(tl_prov_adopt_live(p, live_s1a_s2c, &calls, &rep, &err) == 0);
	CHECK_STR(err.msg, "");
	CHECK(rep.n_adopted_instances == 2);
	CHECK(rep.n_removed == 0 && rep.n_failed == 0);
	CHECK(count_all(p, NULL) == total);
	CHECK(count_all(p, "s7") == 2);
	CHECK(count_all(p, "s9") == 5);
	tl_prov_report_clear(&rep);
	for (int i = 0; i < 3; i++)
		tl_prov_instance_free(out[i].instance);
	fx_fini(&f);
}

TL_TEST(lifecycle_on_the_test_driver)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	tl_prov_request r = req_of("s1", "i1", "tiny-pair");
	tl_error err = {{0}};
	TL_AUTO(tl_prov_instance)
	inst = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(inst != NULL);
	if (!inst) {
		fx_fini(&f);
		return;
	}
	tl_prov_state st;
	CHECK(tl_prov_machine_stop(p, inst, "alpha", 0, &err) == 0);
	CHECK(tl_prov_machine_state(p, inst, "alpha", &st, &err) == 0 &&
	      st == TL_PROV_STATE_STOPPED);
	CHECK(tl_prov_machine_state(p, inst, "beta", &st, &err) == 0 &&
	      st == TL_PROV_STATE_RUNNING);
	CHECK(tl_prov_machine_start(p, inst, "alpha", false, &err) == 0);
	CHECK(tl_prov_machine_state(p, inst, "alpha", &st, &err) == 0 &&
	      st == TL_PROV_STATE_RUNNING);
	CHECK(tl_prov_machine_reboot(p, inst, "alpha", false, &err) == 0);
	/* graceful stop: the test driver shuts down at once */
	CHECK(tl_prov_machine_stop(p, inst, "beta", 5, &err) == 0);
	CHECK(tl_prov_machine_state(p, inst, "beta", &st, &err) == 0 &&
	      st == TL_PROV_STATE_STOPPED);
	/* reset: the overlay is deleted and made again, the domain runs */
	inst->machines[0].host_fp = tl_xstrdup("SHA256:old");
	CHECK(tl_prov_machine_reset(p, inst, "alpha", TL_PROV_NO_READY, &err) ==
	      0);
	CHECK(inst->machines[0].host_fp == NULL);
	CHECK(tl_prov_machine_state(p, inst, "alpha", &st, &err) == 0 &&
	      st == TL_PROV_STATE_RUNNING);
	CHECK(count_objects(p, "s1", TL_PROV_OBJ_VOLUME) == 2);
	/* unknown machine */
	CHECK(tl_prov_machine_start(p, inst, "gamma", false, &err) < 0);
	CHECK_CONTAINS(err.msg, "no machine \"gamma\"");
	CHECK(tl_prov_instance_destroy(p, inst, &err) == 0);
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

typedef struct seen {
	int events;
	size_t last_done, total;
	tl_prov_phase first, last;
	int per_phase[TL_PROV_PHASE_FAILED + 1];
	bool monotonic;
} seen;

static int on_progress_count(void *ud, const tl_prov_progress *ev)
{
	seen *s = ud;
	if (s->events == 0)
		s->first = ev->phase;
	if (ev->done < s->last_done)
		s->monotonic = false;
	s->events++;
	s->last = ev->phase;
	s->last_done = ev->done;
	s->total = ev->total;
	s->per_phase[ev->phase]++;
	return 0;
}

TL_TEST(progress_reports_every_step)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	tl_prov_request reqs[3] = {req_of("s1", "a", "tiny-pair"),
				   req_of("s1", "b", "tiny-pair"),
				   req_of("s1", "c", "linux-single")};
	tl_prov_outcome out[3];
	seen s = {.monotonic = true};
	tl_error err = {{0}};
	CHECK(tl_prov_create_many(p, reqs, 3, on_progress_count, &s, out,
				  &err) == 0);
	/* per instance: placed, networks, 2 steps per machine, started per
	 * machine, done */
	size_t want = (1 + 1 + 3 * 2 + 1) * 2 + (1 + 1 + 3 * 1 + 1);
	CHECK(s.total == want);
	CHECK(s.last_done == want);
	CHECK(s.events == (int)want);
	CHECK(s.monotonic);
	CHECK(s.per_phase[TL_PROV_PHASE_PLACED] == 3);
	CHECK(s.per_phase[TL_PROV_PHASE_DONE] == 3);
	CHECK(s.per_phase[TL_PROV_PHASE_VOLUME] == 5);
	CHECK(s.per_phase[TL_PROV_PHASE_STARTED] == 5);
	CHECK(s.per_phase[TL_PROV_PHASE_FAILED] == 0);
	CHECK(s.last == TL_PROV_PHASE_DONE);
	CHECK_STR(tl_prov_phase_name(TL_PROV_PHASE_PERSONALISED),
		  "personalised");
	for (int i = 0; i < 3; i++)
		tl_prov_instance_free(out[i].instance);
	CHECK(tl_prov_session_destroy(p, "s1", NULL, &err) == 0);
	fx_fini(&f);
}

TL_TEST(xml_escaping_round_trip)
{
	fx f;
	TL_AUTO(tl_prov) p = one_host(&f, NULL, NULL);
	/* a hand-made lab whose id breaks XML if pasted as is */
	tl_lab_network net = {.id = "lan", .cidr = "172.16.0.0/24"};
	tl_lab_nic nic = {
	    .network = "lan", .net = &net, .address = "172.16.0.200/24"};
	int ports[] = {8080};
	tl_lab_machine m = {.id = "m1",
			    .hostname = "m1.lab",
			    .image_id = "tiny",
			    .image = fx_image_def("tiny"),
			    .vcpus = 2,
			    .memory_mib = 128,
			    .nics = &nic,
			    .n_nics = 1,
			    .ports = ports,
			    .n_ports = 1};
	tl_lab lab = {.id = "x'<&\">y",
		      .networks = &net,
		      .n_networks = 1,
		      .machines = &m,
		      .n_machines = 1};
	tl_prov_request r = req_of("s1", "i1", "tiny-pair");
	r.lab = &lab;
	tl_error err = {{0}};
	TL_AUTO(tl_prov_instance)
	inst = tl_prov_instance_create(p, &r, NULL, NULL, &err);
	CHECK(inst != NULL);
	if (!inst) {
		fprintf(stderr, "  %s\n", err.msg);
		fx_fini(&f);
		return;
	}
	CHECK_CONTAINS(inst->machines[0].domain_xml,
		       "lab='x&apos;&lt;&amp;&quot;&gt;y'");
	CHECK(!strstr(inst->machines[0].domain_xml, "x'<"));
	CHECK(inst->trainee_password == NULL); /* no trainee machine */
	CHECK_STR(inst->machines[0].nics[0].address, "10.200.0.200/24");
	const char *live[] = {"s1/i1"};
	tl_prov_report rep;
	CHECK(tl_prov_reconcile_ids(p, live, 1, &rep, &err) == 0);
	CHECK(rep.n_adopted_instances == 1);
	if (rep.n_adopted_instances) {
		tl_prov_instance *ad = rep.adopted[0];
		CHECK_STR(ad->lab_id, "x'<&\">y");
		CHECK(ad->machines[0].vcpus == 2);
		CHECK(ad->machines[0].n_forwards == 2);
		CHECK(ad->machines[0].forwards[1].guest_port == 8080);
		CHECK(ad->trainee_user == NULL || !ad->machines[0].trainee);
	}
	tl_prov_report_clear(&rep);
	CHECK(tl_prov_session_destroy(p, "s1", NULL, &err) == 0);
	CHECK(count_all(p, NULL) == 0);
	fx_fini(&f);
}

typedef struct lock_run {
	tl_prov *p;
	tl_prov_request req;
	tl_prov_outcome out;
	tl_error err;
	int rc;
	volatile int done;
} lock_run;

static void *create_in_thread(void *arg)
{
	lock_run *r = arg;
	r->rc =
	    tl_prov_create_many(r->p, &r->req, 1, NULL, NULL, &r->out, &r->err);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Another process holds the placement lock: planning waits for it (two
 * processes on one machine never plan the same ports or subnets), then
 * goes on. A lock that cannot be opened refuses the call and creates
 * nothing. */
TL_TEST(placement_waits_for_another_process)
{
	fx f;
	fx_init(&f, NULL);
	char lock_path[256];
	snprintf(lock_path, sizeof lock_path, "%s/placement.lock", f.dir);
	tl_error err = {{0}};
	tl_prov_config cfg = {
	    .workers = 2, .ready_timeout_s = 1, .lock_path = lock_path};
	TL_AUTO(tl_prov) p = tl_prov_new(&cfg, &err);
	tl_prov_host_config hc = fx_host(&f, "h1");
	CHECK(p && tl_prov_host_add(p, &hc, &err) == 0);

	int held[2], release[2];
	CHECK(pipe(held) == 0 && pipe(release) == 0);
	pid_t child = fork();
	if (child == 0) {
		char c = 0;
		int fd = open(lock_path, O_RDONLY | O_CREAT, 0644);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		if (write(held[1], "x", 1) != 1 || read(release[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	char c = 0;
	CHECK(read(held[0], &c, 1) == 1); /* the child holds the lock */

	lock_run r = {.p = p, .req = req_of("s1", "a", "tiny-pair")};
	pthread_t t;
	CHECK(pthread_create(&t, NULL, create_in_thread, &r) == 0);
	/* on the test driver a creation takes milliseconds: still waiting
	 * after half a second means it waits for the lock */
	tl_sleep_ms(500);
	CHECK(!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST));
	CHECK(count_all(p, "s1") == 0);
	CHECK(write(release[1], "x", 1) == 1);
	pthread_join(t, NULL);
	int status = -1;
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	CHECK(r.rc == 0);
	if (r.rc != 0)
		fprintf(stderr, "  %s\n", r.out.error.msg);
	tl_prov_instance_free(r.out.instance);
	CHECK(count_all(p, "s1") > 0);
	CHECK(tl_prov_session_destroy(p, "s1", NULL, &err) == 0);
	close(held[0]), close(held[1]), close(release[0]), close(release[1]);

	/* a lock nobody can create: refused, nothing created */
	tl_prov_config bad = {.workers = 2,
			      .ready_timeout_s = 1,
			      .lock_path = "/nonexistent-tssrlab-dir/p.lock"};
	TL_AUTO(tl_prov) q = tl_prov_new(&bad, &err);
	CHECK(q && tl_prov_host_add(q, &hc, &err) == 0);
	tl_prov_request req = req_of("s2", "a", "tiny-pair");
	tl_prov_outcome out = {0};
	tl_error e2 = {{0}};
	CHECK(tl_prov_create_many(q, &req, 1, NULL, NULL, &out, &e2) == -1);
	CHECK_CONTAINS(e2.msg,
		       "placement lock /nonexistent-tssrlab-dir/p.lock");
	CHECK(count_all(q, "s2") == 0);
	fx_fini(&f);
}

TL_TESTS(T(xml_loopback_domain), T(xml_kvm_and_bridged),
	 T(xml_dhcp_network_and_ports), T(create_and_inspect),
	 T(allocation_unique_across_instances),
	 T(allocation_avoids_what_is_taken), T(placement_two_hosts_and_refusal),
	 T(batch_refused_before_anything_is_created),
	 T(failure_midway_leaves_nothing), T(refusals_create_nothing),
	 T(teardown_leaves_nothing), T(reconcile_removes_orphans_keeps_live),
	 T(adopt_live_leaves_the_rest_alone),
	 T(lifecycle_on_the_test_driver), T(progress_reports_every_step),
	 T(xml_escaping_round_trip), T(placement_waits_for_another_process))
