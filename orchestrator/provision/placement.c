/*
 * placement.c: deciding where each instance goes and what it gets, before
 * anything is created.
 *
 * Planning is all or nothing and happens under tl_prov.mu (and, across
 * the processes of this machine, the placement lock of batch.c): every
 * host is scanned (libvirt's view plus this process's reservations), every
 * request is placed on the host where, once placed, the scarcest of its
 * free vCPUs, memory and instance slots is largest (as a share of the
 * host's limits), and then given its resources:
 *   - a subnet per lab network, of the lab network's size, taken from the
 *     host's subnet pool so that it overlaps no network libvirt knows on
 *     that host; its bridge is "tl" + the subnet's base address in hex
 *     (unique because subnets do not overlap; 10 characters);
 *   - host ports for SSH and the declared service ports (loopback access),
 *     unused by any tssrlab domain and, on a local host, free to bind;
 *   - names, MAC addresses, NIC addresses (the lab's address plan moved
 *     into the instance's subnet, same host part) and the XML of every
 *     object.
 * When one request cannot be placed the whole call fails and nothing is
 * reserved. What was planned stays reserved on its host until
 * tl_prov_release (end of creation, success or not), because libvirt does
 * not show it until it is created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prov-internal.h"

#define GROW(arr, n)                                                           \
	(arr = tl_xrealloc(arr, ((n) + 1) * sizeof *(arr)), &(arr)[(n)++])

static int req_check(tl_prov *p, const tl_prov_request *r, tl_error *err)
{
	if (!tl_prov_id_valid(r->session))
		return tl_error_set(err,
				    "session id \"%s\": expected lowercase "
				    "letters, digits, '.', '_' or '-' (at most "
				    "64)",
				    r->session ? r->session : "");
	if (!tl_prov_id_valid(r->instance))
		return tl_error_set(err,
				    "instance id \"%s\": expected lowercase "
				    "letters, digits, '.', '_' or '-' (at most "
				    "64)",
				    r->instance ? r->instance : "");
	const char *who_s = r->session, *who_i = r->instance;
	if (!r->lab || r->lab->n_machines == 0)
		return tl_error_set(err, "instance %s/%s: no lab or no machine",
				    who_s, who_i);
	const tl_lab *lab = r->lab;
	if (r->trainee_user && !tl_prov_user_valid(r->trainee_user))
		return tl_error_set(
		    err,
		    "instance %s/%s: trainee user \"%s\" is not "
		    "a valid login name",
		    who_s, who_i, r->trainee_user);
	if (r->host && !tl_prov_host_find(p, r->host))
		return tl_error_set(err, "instance %s/%s: unknown host \"%s\"",
				    who_s, who_i, r->host);
	for (size_t i = 0; i < lab->n_networks; i++) {
		const tl_lab_network *n = &lab->networks[i];
		uint32_t a;
		int pfx;
		if (!tl_prov_id_valid(n->id))
			return tl_error_set(err, "lab %s: network id \"%s\"",
					    lab->id, n->id ? n->id : "");
		if (!n->cidr || !tl_prov_cidr_parse(n->cidr, &a, &pfx) ||
		    pfx < 8 || pfx > 30)
			return tl_error_set(err,
					    "lab %s: network %s: cidr \"%s\" "
					    "(expected a.b.c.d/8..30)",
					    lab->id, n->id,
					    n->cidr ? n->cidr : "");
	}
	for (size_t i = 0; i < lab->n_machines; i++) {
		const tl_lab_machine *m = &lab->machines[i];
		if (!tl_prov_id_valid(m->id))
			return tl_error_set(err, "lab %s: machine id \"%s\"",
					    lab->id, m->id ? m->id : "");
		const char *hn = m->hostname ? m->hostname : m->id;
		if (!tl_prov_hostname_valid(hn))
			return tl_error_set(
			    err,
			    "lab %s: machine %s: hostname \"%s\" "
			    "(expected letters, digits and '-')",
			    lab->id, m->id, hn);
		if (!m->image)
			return tl_error_set(err,
					    "lab %s: machine %s: unknown image "
					    "\"%s\"",
					    lab->id, m->id,
					    m->image_id ? m->image_id : "");
		if (m->vcpus < 0 || m->vcpus > 256 || m->memory_mib < 0 ||
		    m->memory_mib > (1 << 22))
			return tl_error_set(err,
					    "lab %s: machine %s: %d vCPUs, %d "
					    "MiB",
					    lab->id, m->id, m->vcpus,
					    m->memory_mib);
		if (m->n_nics > TL_PROV_MAX_NICS)
			return tl_error_set(err,
					    "lab %s: machine %s: %zu NICs (at "
					    "most %d)",
					    lab->id, m->id, m->n_nics,
					    TL_PROV_MAX_NICS);
		for (size_t k = 0; k < m->n_nics; k++)
			if (!m->nics[k].net)
				return tl_error_set(
				    err,
				    "lab %s: machine %s: NIC %zu on "
				    "unknown network \"%s\"",
				    lab->id, m->id, k,
				    m->nics[k].network ? m->nics[k].network
						       : "");
		for (size_t k = 0; k < m->n_ports; k++)
			if (m->ports[k] < 1 || m->ports[k] > 65535)
				return tl_error_set(
				    err, "lab %s: machine %s: port %d", lab->id,
				    m->id, m->ports[k]);
	}
	return 0;
}

static int machine_vcpus(const tl_lab_machine *m)
{
	return m->vcpus > 0 ? m->vcpus : 1;
}

static int machine_memory(const tl_lab_machine *m)
{
	if (m->memory_mib > 0)
		return m->memory_mib;
	return m->image && m->image->min_memory_mib > 0
		   ? m->image->min_memory_mib
		   : 256;
}

static void lab_needs(const tl_lab *lab, int *vcpus, int *mem)
{
	*vcpus = *mem = 0;
	for (size_t i = 0; i < lab->n_machines; i++) {
		*vcpus += machine_vcpus(&lab->machines[i]);
		*mem += machine_memory(&lab->machines[i]);
	}
}

/* The smallest free share left on h after placing (vcpus, mem); < 0 when
 * it does not fit. */
static double fit_score(const tl_prov_host *h, const tl_prov_scan *s, int vcpus,
			int mem)
{
	double fv = (double)(h->max_vcpus - s->vcpus - vcpus) / h->max_vcpus;
	double fm = (double)(h->max_memory_mib - s->memory_mib - mem) /
		    h->max_memory_mib;
	double fi = h->max_instances > 0
			? (double)(h->max_instances - (int)s->n_instances - 1) /
			      h->max_instances
			: 1.0;
	double f = fv < fm ? fv : fm;
	return f < fi ? f : fi;
}

static int port_free(const char *addr, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1; /* cannot tell: let QEMU find out */
	int one = 1;
	/* as QEMU's hostfwd does, so that TIME_WAIT does not count */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static int port_alloc(tl_prov_host *h, tl_prov_scan *s, int *ret, tl_error *err)
{
	int range = h->port_max - h->port_min + 1;
	for (int tries = 0; tries < range; tries++) {
		int port = h->port_next;
		h->port_next = port >= h->port_max ? h->port_min : port + 1;
		bool used = false;
		for (size_t i = 0; i < s->n_ports && !used; i++)
			used = s->ports[i] == port;
		if (used || (h->local && !port_free(h->bind_address, port)))
			continue;
		*GROW(s->ports, s->n_ports) = port;
		*ret = port;
		return 0;
	}
	return tl_error_set(err,
			    "host %s: no free TCP port left in %d..%d on %s",
			    h->name, h->port_min, h->port_max, h->bind_address);
}

static int subnet_alloc(tl_prov_host *h, tl_prov_scan *s, int prefix,
			uint32_t *ret_base, char **ret_bridge, tl_error *err)
{
	if (prefix < h->subnet_prefix)
		return tl_error_set(
		    err,
		    "host %s: a /%d lab network does not fit in "
		    "the subnet pool /%d",
		    h->name, prefix, h->subnet_prefix);
	uint64_t count = 1ull << (prefix - h->subnet_prefix);
	for (uint64_t slot = 0; slot < count; slot++) {
		/* from a random slot: the placement lock (batch.c) orders
		 * the processes of this machine; two orchestrator machines
		 * sharing a remote host rarely pick the same bridge */
		uint64_t k = (slot + h->subnet_start) % count;
		uint32_t base = h->subnet_base + (uint32_t)(k << (32 - prefix));
		bool used = false;
		for (size_t i = 0; i < s->n_subnets && !used; i++)
			used = tl_prov_subnets_overlap(base, prefix,
						       s->subnets[i].base,
						       s->subnets[i].prefix);
		char bridge[16];
		snprintf(bridge, sizeof bridge, "tl%08x", base);
		for (size_t i = 0; i < s->n_bridges && !used; i++)
			used = !strcmp(s->bridges[i], bridge);
		if (used)
			continue;
		tl_prov_subnet *sn = GROW(s->subnets, s->n_subnets);
		sn->base = base;
		sn->prefix = prefix;
		*GROW(s->bridges, s->n_bridges) = tl_xstrdup(bridge);
		*ret_base = base;
		*ret_bridge = tl_xstrdup(bridge);
		return 0;
	}
	char pool[16];
	tl_prov_ip_format(h->subnet_base, pool);
	return tl_error_set(err, "host %s: no free /%d subnet left in %s/%d",
			    h->name, prefix, pool, h->subnet_prefix);
}

static tl_prov_resv *resv_new(const tl_prov_instance *inst)
{
	tl_prov_resv *r = tl_xcalloc(1, sizeof *r);
	r->session = tl_xstrdup(inst->session);
	r->instance = tl_xstrdup(inst->instance);
	for (size_t i = 0; i < inst->n_machines; i++) {
		const tl_prov_machine *m = &inst->machines[i];
		r->vcpus += m->vcpus;
		r->memory_mib += m->memory_mib;
		for (size_t k = 0; k < m->n_forwards; k++)
			*GROW(r->ports, r->n_ports) = m->forwards[k].host_port;
	}
	for (size_t i = 0; i < inst->n_networks; i++) {
		uint32_t base = 0;
		int prefix = 24;
		tl_prov_cidr_parse(inst->networks[i].subnet, &base, &prefix);
		r->subnets = tl_xrealloc(r->subnets, (r->n_subnets + 1) *
							 sizeof *r->subnets);
		r->prefixes = tl_xrealloc(r->prefixes, (r->n_subnets + 1) *
							   sizeof *r->prefixes);
		r->subnets[r->n_subnets] = base;
		r->prefixes[r->n_subnets++] = prefix;
		*GROW(r->bridges, r->n_bridges) =
		    tl_xstrdup(inst->networks[i].bridge);
	}
	return r;
}

static int name_free(const tl_prov_host *h, const tl_prov_scan *s,
		     const char *name, tl_error *err)
{
	if (tl_prov_scan_has_name(s, name))
		return tl_error_set(err,
				    "host %s: a libvirt object named \"%s\" "
				    "already exists",
				    h->name, name);
	return 0;
}

/* The lab address moved into the allocated subnet (same host part). */
static char *nic_address(const char *lab_addr, uint32_t subnet, int prefix)
{
	uint32_t a;
	int p;
	if (!lab_addr || !tl_prov_cidr_parse(lab_addr, &a, &p))
		return NULL;
	uint32_t hostmask = prefix >= 32 ? 0 : (0xffffffffu >> prefix);
	char ip[16];
	tl_prov_ip_format(subnet | (a & hostmask), ip);
	return tl_xasprintf("%s/%d", ip, prefix);
}

static int plan_networks(tl_prov_host *h, tl_prov_scan *s,
			 tl_prov_instance *inst, const tl_lab *lab,
			 tl_error *err)
{
	inst->networks = tl_xcalloc(lab->n_networks ? lab->n_networks : 1,
				    sizeof *inst->networks);
	for (size_t i = 0; i < lab->n_networks; i++) {
		const tl_lab_network *ln = &lab->networks[i];
		tl_prov_net *n = &inst->networks[inst->n_networks++];
		n->id = tl_xstrdup(ln->id);
		n->name =
		    tl_prov_name(inst->session, inst->instance, ln->id, NULL);
		n->lab_cidr = tl_xstrdup(ln->cidr);
		n->dhcp = ln->dhcp;
		if (name_free(h, s, n->name, err) < 0)
			return -1;
		uint32_t a = 0, base = 0;
		int prefix = 24;
		tl_prov_cidr_parse(ln->cidr, &a, &prefix);
		if (subnet_alloc(h, s, prefix, &base, &n->bridge, err) < 0)
			return tl_error_prefix(err, "network %s", ln->id), -1;
		char ip[16];
		tl_prov_ip_format(base, ip);
		n->subnet = tl_xasprintf("%s/%d", ip, prefix);
	}
	return 0;
}

/* The host's own address on a network: the highest one no NIC uses. */
static void plan_host_addresses(tl_prov_instance *inst)
{
	for (size_t i = 0; i < inst->n_networks; i++) {
		tl_prov_net *n = &inst->networks[i];
		if (!n->dhcp && inst->access != TL_PROV_ACCESS_BRIDGED)
			continue;
		uint32_t base = 0;
		int prefix = 24;
		tl_prov_cidr_parse(n->subnet, &base, &prefix);
		uint32_t size = 1u << (32 - prefix);
		for (uint32_t cand = base + size - 2; cand > base; cand--) {
			char ip[16];
			tl_prov_ip_format(cand, ip);
			TL_AUTOFREE char *with =
			    tl_xasprintf("%s/%d", ip, prefix);
			bool used = false;
			for (size_t m = 0; m < inst->n_machines && !used; m++)
				for (size_t k = 0;
				     k < inst->machines[m].n_nics && !used; k++)
					used =
					    inst->machines[m].nics[k].address &&
					    !strcmp(inst->machines[m]
							.nics[k]
							.address,
						    with);
			if (!used) {
				n->host_address = tl_xstrdup(ip);
				break;
			}
		}
	}
}

static const tl_prov_net *net_of(const tl_prov_instance *inst, const char *id)
{
	for (size_t i = 0; i < inst->n_networks; i++)
		if (!strcmp(inst->networks[i].id, id))
			return &inst->networks[i];
	return NULL;
}

static int plan_machine(tl_prov_host *h, tl_prov_scan *s,
			tl_prov_instance *inst, const tl_lab_machine *lm,
			tl_prov_machine *m, bool warm_ok, tl_error *err)
{
	const tl_prov_image *img = tl_prov_image_resolve(h, lm->image, err);
	if (!img)
		return tl_error_prefix(err, "machine %s", lm->id), -1;
	m->id = tl_xstrdup(lm->id);
	m->hostname = tl_xstrdup(lm->hostname ? lm->hostname : lm->id);
	m->image_id = tl_xstrdup(lm->image->id);
	m->domain = tl_prov_name(inst->session, inst->instance, lm->id, NULL);
	m->volume = tl_prov_name(inst->session, inst->instance, lm->id,
				 TL_PROV_VOLUME_SUFFIX);
	m->volume_path = tl_xasprintf("%s/%s", h->pool_path, m->volume);
	if (name_free(h, s, m->domain, err) < 0 ||
	    name_free(h, s, m->volume, err) < 0)
		return -1;
	m->base_disk = tl_xstrdup(img->disk);
	m->capacity = img->disk_capacity;
	unsigned long long want = (unsigned long long)lm->disk_gib << 30;
	if (want > m->capacity)
		m->capacity = want;
	m->vcpus = machine_vcpus(lm);
	m->memory_mib = machine_memory(lm);
	m->trainee = lm->trainee;
	m->login_user = tl_xstrdup(img->login_user);
	m->login_port = img->login_port;

	m->nics = tl_xcalloc(lm->n_nics ? lm->n_nics : 1, sizeof *m->nics);
	for (size_t k = 0; k < lm->n_nics; k++) {
		tl_prov_nic *nic = &m->nics[m->n_nics++];
		nic->network = tl_xstrdup(lm->nics[k].network);
		/* deterministic, and unique inside the instance (a bridge
		 * never joins two instances) */
		char mac[18];
		for (unsigned salt = (unsigned)k;; salt += 1000) {
			tl_prov_mac(inst->session, inst->instance, lm->id, salt,
				    mac);
			bool dup = false;
			for (size_t j = 0; j <= (size_t)(m - inst->machines);
			     j++) {
				const tl_prov_machine *o = &inst->machines[j];
				for (size_t q = 0; q < o->n_nics && !dup; q++)
					dup = o->nics[q].mac &&
					      !strcmp(o->nics[q].mac, mac);
			}
			if (!dup)
				break;
		}
		nic->mac = tl_xstrdup(mac);
		const tl_prov_net *n = net_of(inst, lm->nics[k].network);
		if (!n)
			return tl_error_set(err,
					    "machine %s: NIC %zu on unknown "
					    "network \"%s\"",
					    lm->id, k, lm->nics[k].network);
		uint32_t base = 0;
		int prefix = 24;
		tl_prov_cidr_parse(n->subnet, &base, &prefix);
		nic->address = nic_address(lm->nics[k].address, base, prefix);
	}

	if (inst->access == TL_PROV_ACCESS_LOOPBACK) {
		m->forwards = tl_xcalloc(lm->n_ports + 1, sizeof *m->forwards);
		m->forwards[m->n_forwards].guest_port = m->login_port;
		if (port_alloc(h, s, &m->forwards[m->n_forwards++].host_port,
			       err) < 0)
			return -1;
		for (size_t k = 0; k < lm->n_ports; k++) {
			if (lm->ports[k] == m->login_port)
				continue;
			m->forwards[m->n_forwards].guest_port = lm->ports[k];
			if (port_alloc(h, s,
				       &m->forwards[m->n_forwards++].host_port,
				       err) < 0)
				return -1;
		}
		m->ssh_host = tl_xstrdup(h->connect_address);
		m->ssh_port = m->forwards[0].host_port;
	} else {
		/* reached through the lab: the first NIC with an address */
		for (size_t k = 0; k < m->n_nics && !m->ssh_host; k++)
			if (m->nics[k].address)
				m->ssh_host = tl_xstrndup(
				    m->nics[k].address,
				    strcspn(m->nics[k].address, "/"));
		m->ssh_port = m->login_port;
	}
	/* a warm start when the shape's template is built (batch.c builds
	 * the missing ones before planning) and the machine will be
	 * personalised (which makes a restored template the machine) */
	const char *base_format = img->disk_format;
	if (warm_ok && tl_prov_warm_enabled(h, lm->image, inst->access)) {
		TL_AUTOFREE char *dir = tl_prov_warm_lookup(h, img, m);
		if (dir) {
			free(m->base_disk);
			m->base_disk = tl_xasprintf("%s/disk.qcow2", dir);
			m->warm_state = tl_xasprintf("%s/state", dir);
			base_format = "qcow2";
		}
	}
	m->volume_xml = tl_prov_xml_volume(m, base_format, err);
	m->domain_xml = tl_prov_xml_domain(h, inst, m, img, err);
	return m->volume_xml && m->domain_xml ? 0 : -1;
}

/* Builds one placed instance on h; s is the host's scan, updated with
 * what this instance takes. */
static tl_prov_instance *plan_instance(tl_prov_host *h, tl_prov_scan *s,
				       const tl_prov_request *req,
				       tl_error *err)
{
	const tl_lab *lab = req->lab;
	TL_AUTO(tl_prov_instance) inst = tl_xcalloc(1, sizeof *inst);
	inst->session = tl_xstrdup(req->session);
	inst->instance = tl_xstrdup(req->instance);
	inst->lab_id = tl_xstrdup(lab->id ? lab->id : "");
	inst->host = tl_xstrdup(h->name);
	inst->access = req->access;
	inst->where = h;
	inst->trainee_user =
	    tl_xstrdup(req->trainee_user ? req->trainee_user : "stagiaire");
	if (plan_networks(h, s, inst, lab, err) < 0)
		return NULL;
	inst->machines = tl_xcalloc(lab->n_machines, sizeof *inst->machines);
	/* networks' XML last: DHCP host entries and the host's address need
	 * every machine's NICs */
	for (size_t i = 0; i < lab->n_machines; i++) {
		inst->n_machines++;
		if (plan_machine(h, s, inst, &lab->machines[i],
				 &inst->machines[i],
				 !(req->flags &
				   (TL_PROV_NO_START | TL_PROV_NO_READY |
				    TL_PROV_NO_PERSONALISE)),
				 err) < 0)
			return NULL;
	}
	plan_host_addresses(inst);
	for (size_t i = 0; i < inst->n_networks; i++) {
		tl_prov_net *n = &inst->networks[i];
		n->xml = tl_prov_xml_network(inst, n, inst->machines,
					     inst->n_machines, err);
		if (!n->xml)
			return NULL;
	}
	bool any_trainee = false;
	for (size_t i = 0; i < inst->n_machines; i++)
		any_trainee = any_trainee || inst->machines[i].trainee;
	if (any_trainee) {
		inst->trainee_password = tl_prov_password(12, err);
		if (!inst->trainee_password)
			return NULL;
	}
	return TL_TAKE_PTR(inst);
}

static void capacity_error(tl_prov *p, tl_prov_scan *scans, bool *ok,
			   const tl_error *why, const tl_prov_request *req,
			   int vcpus, int mem, tl_error *err)
{
	tl_buf b;
	tl_buf_init(&b, TL_ERROR_MAX);
	for (size_t i = 0; i < p->n_hosts; i++) {
		const tl_prov_host *h = p->hosts[i];
		if (req->host && strcmp(req->host, h->name))
			continue;
		if (!ok[i]) {
			tl_buf_printf(&b, "; host %s: unreachable (%s)",
				      h->name, why[i].msg);
			continue;
		}
		tl_buf_printf(&b, "; host %s: %d/%d vCPUs, %d/%d MiB", h->name,
			      h->max_vcpus - scans[i].vcpus, h->max_vcpus,
			      h->max_memory_mib - scans[i].memory_mib,
			      h->max_memory_mib);
		if (h->max_instances > 0)
			tl_buf_printf(&b, ", %d/%d instances",
				      h->max_instances -
					  (int)scans[i].n_instances,
				      h->max_instances);
		tl_buf_puts(&b, " free");
	}
	tl_error_set(err,
		     "not enough capacity for instance %s/%s (needs %d vCPUs, "
		     "%d MiB)%s",
		     req->session, req->instance, vcpus, mem,
		     b.data ? b.data : "");
	tl_buf_clear(&b);
}

void tl_prov_release(tl_prov *p, tl_prov_instance *inst)
{
	if (!inst || !inst->where)
		return;
	tl_prov_host *h = inst->where;
	pthread_mutex_lock(&p->mu);
	for (tl_prov_resv **pr = &h->resv; *pr; pr = &(*pr)->next) {
		tl_prov_resv *r = *pr;
		if (!strcmp(r->session, inst->session) &&
		    !strcmp(r->instance, inst->instance)) {
			*pr = r->next;
			free(r->session);
			free(r->instance);
			free(r->ports);
			free(r->subnets);
			free(r->prefixes);
			for (size_t i = 0; i < r->n_bridges; i++)
				free(r->bridges[i]);
			free(r->bridges);
			free(r);
			break;
		}
	}
	pthread_mutex_unlock(&p->mu);
}

int tl_prov_plan_all(tl_prov *p, const tl_prov_request *reqs, size_t n,
		     tl_prov_instance **ret, tl_error *err)
{
	for (size_t i = 0; i < n; i++) {
		ret[i] = NULL;
		if (req_check(p, &reqs[i], err) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(reqs[i].session, reqs[j].session) &&
			    !strcmp(reqs[i].instance, reqs[j].instance))
				return tl_error_set(err,
						    "instance %s/%s requested "
						    "twice",
						    reqs[i].session,
						    reqs[i].instance);
	}
	if (p->n_hosts == 0)
		return tl_error_set(err, "no libvirt host configured");

	tl_prov_scan *scans = tl_xcalloc(p->n_hosts, sizeof *scans);
	bool *ok = tl_xcalloc(p->n_hosts, sizeof *ok);
	tl_error *why = tl_xcalloc(p->n_hosts, sizeof *why);
	tl_prov_host **chosen = tl_xcalloc(n ? n : 1, sizeof *chosen);
	int rc = -1;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n_hosts; i++) {
		tl_prov_host *h = p->hosts[i];
		if (virConnectIsAlive(h->conn) != 1) {
			tl_error_set(&why[i], "libvirt connection to %s closed",
				     h->uri);
			continue;
		}
		if (tl_prov_scan_host(h, &scans[i], &why[i]) < 0)
			continue;
		tl_prov_scan_add_resv(h, &scans[i]);
		ok[i] = true;
	}
	/* 1. placement of every request, before anything else */
	for (size_t r = 0; r < n; r++) {
		const tl_prov_request *req = &reqs[r];
		for (size_t i = 0; i < p->n_hosts; i++)
			if (ok[i] &&
			    tl_prov_scan_has_instance(&scans[i], req->session,
						      req->instance)) {
				tl_error_set(err,
					     "instance %s/%s already exists on "
					     "host %s",
					     req->session, req->instance,
					     p->hosts[i]->name);
				goto out;
			}
		for (size_t i = 0; req->host && i < p->n_hosts; i++)
			if (!ok[i] && !strcmp(req->host, p->hosts[i]->name)) {
				tl_error_set(err,
					     "instance %s/%s: host %s is "
					     "unreachable: %s",
					     req->session, req->instance,
					     req->host, why[i].msg);
				goto out;
			}
		int vcpus, mem;
		lab_needs(req->lab, &vcpus, &mem);
		double best = -1;
		size_t bi = 0;
		for (size_t i = 0; i < p->n_hosts; i++) {
			if (!ok[i] ||
			    (req->host && strcmp(req->host, p->hosts[i]->name)))
				continue;
			double sc =
			    fit_score(p->hosts[i], &scans[i], vcpus, mem);
			if (sc >= 0 && sc > best) {
				best = sc;
				bi = i;
			}
		}
		if (best < 0) {
			capacity_error(p, scans, ok, why, req, vcpus, mem, err);
			goto out;
		}
		chosen[r] = p->hosts[bi];
		scans[bi].vcpus += vcpus;
		scans[bi].memory_mib += mem;
		TL_AUTOFREE char *key =
		    tl_xasprintf("%s/%s", req->session, req->instance);
		scans[bi].instances = tl_xrealloc(
		    scans[bi].instances,
		    (scans[bi].n_instances + 1) * sizeof *scans[bi].instances);
		scans[bi].instances[scans[bi].n_instances++] = TL_TAKE_PTR(key);
	}
	/* 2. resources and XML */
	for (size_t r = 0; r < n; r++) {
		size_t hi = 0;
		while (p->hosts[hi] != chosen[r])
			hi++;
		ret[r] = plan_instance(chosen[r], &scans[hi], &reqs[r], err);
		if (!ret[r]) {
			tl_error_prefix(err, "instance %s/%s", reqs[r].session,
					reqs[r].instance);
			goto out;
		}
	}
	/* 3. reserve until created */
	for (size_t r = 0; r < n; r++) {
		tl_prov_resv *rv = resv_new(ret[r]);
		rv->next = chosen[r]->resv;
		chosen[r]->resv = rv;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&p->mu);
	if (rc < 0)
		for (size_t r = 0; r < n; r++)
			ret[r] = tl_prov_instance_free(ret[r]);
	for (size_t i = 0; i < p->n_hosts; i++)
		tl_prov_scan_clear(&scans[i]);
	free(scans);
	free(ok);
	free(why);
	free(chosen);
	return rc;
}

tl_prov_instance *tl_prov_instance_plan(tl_prov *p, const tl_prov_request *req,
					tl_error *err)
{
	tl_prov_instance *inst = NULL;
	if (tl_prov_plan_all(p, req, 1, &inst, err) < 0)
		return NULL;
	tl_prov_release(p, inst);
	return inst;
}
