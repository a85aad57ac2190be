/*
 * scan.c: what a host holds, read from libvirt itself.
 *
 * tssrlab keeps no private list of what it created: libvirt is the truth.
 * A scan walks every domain (ours carry the TL_PROV_XMLNS metadata), every
 * network (ours carry it too; everyone's addresses and bridge names count
 * for allocation) and every volume of the host's pool (ours are named
 * "tl+session+instance+machine.qcow2"). From that one pass come the
 * inventory (list, destroy, reconcile) and the resources in use
 * (placement and allocation).
 *
 * Removal goes in dependency order: domains (which use the volumes and
 * networks), then volumes, then networks. A missing object counts as
 * removed, so removal can be retried after a crash at any point.
 */
#include <stdio.h>
#include <string.h>

#include "prov-internal.h"

#define GROW(arr, n)                                                           \
	(arr = tl_xrealloc(arr, ((n) + 1) * sizeof *(arr)), &(arr)[(n)++])

static void add_str(char ***arr, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*arr)[i], s))
			return;
	*GROW(*arr, *n) = tl_xstrdup(s);
}

static void add_obj(tl_prov_scan *s, tl_prov_obj_kind kind, const char *name,
		    const char *session, const char *instance,
		    const char *object, bool active)
{
	tl_prov_obj *o = GROW(s->objs, s->n_objs);
	o->kind = kind;
	o->name = tl_xstrdup(name);
	o->session = tl_xstrdup(session);
	o->instance = tl_xstrdup(instance);
	o->object = tl_xstrdup(object ? object : "");
	o->active = active;
}

static int attr_int(const char *tag, const char *attr)
{
	TL_AUTOFREE char *v = tl_prov_xml_attr(tag, attr);
	return v ? atoi(v) : 0;
}

/* "22:20001,80:20002" -> host ports added to the scan */
static void add_forward_ports(tl_prov_scan *s, const char *fw)
{
	for (const char *p = fw; p && *p;) {
		const char *colon = strchr(p, ':');
		if (!colon)
			break;
		int port = atoi(colon + 1);
		if (port > 0)
			*GROW(s->ports, s->n_ports) = port;
		p = strchr(colon, ',');
		if (p)
			p++;
	}
}

static void add_subnet(tl_prov_scan *s, uint32_t base, int prefix)
{
	uint32_t m = prefix ? 0xffffffffu << (32 - prefix) : 0;
	tl_prov_subnet *sn = GROW(s->subnets, s->n_subnets);
	sn->base = base & m;
	sn->prefix = prefix;
}

static int netmask_prefix(uint32_t m)
{
	int p = 0;
	while (p < 32 && (m & (0x80000000u >> p)))
		p++;
	return p;
}

/* Every IPv4 <ip> and the <bridge> of a network, ours or not. */
static void scan_network_resources(tl_prov_scan *s, const char *xml)
{
	for (const char *p = strstr(xml, "<ip "); p;
	     p = strstr(p + 1, "<ip ")) {
		TL_AUTOFREE char *family = tl_prov_xml_attr(p, "family");
		if (family && strcmp(family, "ipv4"))
			continue;
		TL_AUTOFREE char *addr = tl_prov_xml_attr(p, "address");
		TL_AUTOFREE char *prefix = tl_prov_xml_attr(p, "prefix");
		TL_AUTOFREE char *mask = tl_prov_xml_attr(p, "netmask");
		uint32_t a, m;
		if (!addr || !tl_prov_ip_parse(addr, &a))
			continue;
		int pfx = 24;
		if (prefix)
			pfx = atoi(prefix);
		else if (mask && tl_prov_ip_parse(mask, &m))
			pfx = netmask_prefix(m);
		add_subnet(s, a, pfx);
	}
	const char *br = strstr(xml, "<bridge ");
	if (br) {
		TL_AUTOFREE char *name = tl_prov_xml_attr(br, "name");
		if (name)
			add_str(&s->bridges, &s->n_bridges, name);
	}
}

static int scan_domains(tl_prov_host *h, tl_prov_scan *s, tl_error *err)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(h->conn, &doms, 0);
	if (n < 0)
		return tl_prov_lv_error(err, "host %s: cannot list domains",
					h->name);
	for (int i = 0; i < n; i++) {
		TL_AUTO(virDomain) dom = doms[i];
		const char *name = virDomainGetName(dom);
		if (!name)
			continue;
		add_str(&s->names, &s->n_names, name);
		TL_AUTOFREE char *meta = virDomainGetMetadata(
		    dom, VIR_DOMAIN_METADATA_ELEMENT, TL_PROV_XMLNS, 0);
		if (!meta) {
			virResetLastError();
			continue;
		}
		TL_AUTOFREE char *se = tl_prov_xml_attr(meta, "session");
		TL_AUTOFREE char *in = tl_prov_xml_attr(meta, "instance");
		TL_AUTOFREE char *ma = tl_prov_xml_attr(meta, "machine");
		if (!se || !in)
			continue;
		add_obj(s, TL_PROV_OBJ_DOMAIN, name, se, in, ma,
			virDomainIsActive(dom) == 1);
		s->vcpus += attr_int(meta, "vcpus");
		s->memory_mib += attr_int(meta, "memory_mib");
		TL_AUTOFREE char *key = tl_xasprintf("%s/%s", se, in);
		add_str(&s->instances, &s->n_instances, key);
		TL_AUTOFREE char *fw = tl_prov_xml_attr(meta, "forwards");
		add_forward_ports(s, fw);
	}
	free(doms);
	return 0;
}

static int scan_networks(tl_prov_host *h, tl_prov_scan *s, tl_error *err)
{
	virNetworkPtr *nets = NULL;
	int n = virConnectListAllNetworks(h->conn, &nets, 0);
	if (n < 0)
		return tl_prov_lv_error(err, "host %s: cannot list networks",
					h->name);
	for (int i = 0; i < n; i++) {
		TL_AUTO(virNetwork) net = nets[i];
		const char *name = virNetworkGetName(net);
		TL_AUTOFREE char *xml = virNetworkGetXMLDesc(net, 0);
		if (!name || !xml) {
			virResetLastError();
			continue;
		}
		add_str(&s->names, &s->n_names, name);
		scan_network_resources(s, xml);
		const char *meta = tl_prov_xml_meta_tag(xml);
		if (!meta)
			continue;
		TL_AUTOFREE char *se = tl_prov_xml_attr(meta, "session");
		TL_AUTOFREE char *in = tl_prov_xml_attr(meta, "instance");
		TL_AUTOFREE char *id = tl_prov_xml_attr(meta, "network");
		TL_AUTOFREE char *subnet = tl_prov_xml_attr(meta, "subnet");
		TL_AUTOFREE char *bridge = tl_prov_xml_attr(meta, "bridge");
		if (!se || !in)
			continue;
		add_obj(s, TL_PROV_OBJ_NETWORK, name, se, in, id,
			virNetworkIsActive(net) == 1);
		uint32_t base;
		int prefix;
		if (subnet && tl_prov_cidr_parse(subnet, &base, &prefix))
			add_subnet(s, base, prefix);
		if (bridge && *bridge)
			add_str(&s->bridges, &s->n_bridges, bridge);
	}
	free(nets);
	return 0;
}

static int scan_volumes(tl_prov_host *h, tl_prov_scan *s, tl_error *err)
{
	TL_AUTO(virStoragePool) pool = tl_prov_pool_get(h, err);
	if (!pool)
		return -1;
	virStorageVolPtr *vols = NULL;
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	if (n < 0)
		return tl_prov_lv_error(err,
					"host %s: cannot list volumes of "
					"pool \"%s\"",
					h->name, h->pool_name);
	for (int i = 0; i < n; i++) {
		TL_AUTO(virStorageVol) vol = vols[i];
		const char *name = virStorageVolGetName(vol);
		if (!name)
			continue;
		add_str(&s->names, &s->n_names, name);
		TL_AUTOFREE char *se = NULL, *in = NULL, *ma = NULL;
		if (tl_prov_name_parse(name, TL_PROV_VOLUME_SUFFIX, &se, &in,
				       &ma))
			add_obj(s, TL_PROV_OBJ_VOLUME, name, se, in, ma, true);
	}
	free(vols);
	return 0;
}

int tl_prov_scan_host(tl_prov_host *h, tl_prov_scan *ret, tl_error *err)
{
	memset(ret, 0, sizeof *ret);
	if (scan_domains(h, ret, err) < 0 || scan_networks(h, ret, err) < 0 ||
	    scan_volumes(h, ret, err) < 0) {
		tl_prov_scan_clear(ret);
		return -1;
	}
	return 0;
}

void tl_prov_scan_add_resv(tl_prov_host *h, tl_prov_scan *s)
{
	for (tl_prov_resv *r = h->resv; r; r = r->next) {
		TL_AUTOFREE char *key =
		    tl_xasprintf("%s/%s", r->session, r->instance);
		bool known = false;
		for (size_t i = 0; i < s->n_instances; i++)
			known = known || !strcmp(s->instances[i], key);
		/* an instance half-created counts once, with its full size */
		if (!known) {
			s->vcpus += r->vcpus;
			s->memory_mib += r->memory_mib;
			add_str(&s->instances, &s->n_instances, key);
		}
		for (size_t i = 0; i < r->n_ports; i++)
			*GROW(s->ports, s->n_ports) = r->ports[i];
		for (size_t i = 0; i < r->n_subnets; i++)
			add_subnet(s, r->subnets[i], r->prefixes[i]);
		for (size_t i = 0; i < r->n_bridges; i++)
			add_str(&s->bridges, &s->n_bridges, r->bridges[i]);
	}
}

bool tl_prov_scan_has_instance(const tl_prov_scan *s, const char *session,
			       const char *instance)
{
	for (size_t i = 0; i < s->n_objs; i++)
		if (!strcmp(s->objs[i].session, session) &&
		    !strcmp(s->objs[i].instance, instance))
			return true;
	TL_AUTOFREE char *key = tl_xasprintf("%s/%s", session, instance);
	for (size_t i = 0; i < s->n_instances; i++)
		if (!strcmp(s->instances[i], key))
			return true;
	return false;
}

bool tl_prov_scan_has_name(const tl_prov_scan *s, const char *name)
{
	for (size_t i = 0; i < s->n_names; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

void tl_prov_scan_clear(tl_prov_scan *s)
{
	for (size_t i = 0; i < s->n_objs; i++) {
		free(s->objs[i].name);
		free(s->objs[i].session);
		free(s->objs[i].instance);
		free(s->objs[i].object);
	}
	free(s->objs);
	for (size_t i = 0; i < s->n_instances; i++)
		free(s->instances[i]);
	free(s->instances);
	free(s->ports);
	free(s->subnets);
	for (size_t i = 0; i < s->n_bridges; i++)
		free(s->bridges[i]);
	free(s->bridges);
	for (size_t i = 0; i < s->n_names; i++)
		free(s->names[i]);
	free(s->names);
	memset(s, 0, sizeof *s);
}

/* ---- removal ---- */

int tl_prov_domain_remove(tl_prov_host *h, const char *name, tl_error *err)
{
	TL_AUTO(virDomain) dom = virDomainLookupByName(h->conn, name);
	if (!dom) {
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
			virResetLastError();
			return 0;
		}
		return tl_prov_lv_error(err, "domain %s", name);
	}
	if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 &&
	    virDomainIsActive(dom) == 1)
		return tl_prov_lv_error(err, "cannot power off domain %s",
					name);
	if (virDomainIsPersistent(dom) == 1 &&
	    virDomainUndefineFlags(
		dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
			 VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0 &&
	    virDomainUndefine(dom) < 0) {
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
			virResetLastError();
			return 0;
		}
		return tl_prov_lv_error(err, "cannot undefine domain %s", name);
	}
	return 0;
}

int tl_prov_network_remove(tl_prov_host *h, const char *name, tl_error *err)
{
	TL_AUTO(virNetwork) net = virNetworkLookupByName(h->conn, name);
	if (!net) {
		if (virGetLastErrorCode() == VIR_ERR_NO_NETWORK) {
			virResetLastError();
			return 0;
		}
		return tl_prov_lv_error(err, "network %s", name);
	}
	if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0 &&
	    virNetworkIsActive(net) == 1)
		return tl_prov_lv_error(err, "cannot stop network %s", name);
	if (virNetworkIsPersistent(net) == 1 && virNetworkUndefine(net) < 0) {
		if (virGetLastErrorCode() == VIR_ERR_NO_NETWORK) {
			virResetLastError();
			return 0;
		}
		return tl_prov_lv_error(err, "cannot undefine network %s",
					name);
	}
	return 0;
}

int tl_prov_volume_remove(tl_prov_host *h, const char *name, tl_error *err)
{
	TL_AUTO(virStoragePool) pool = tl_prov_pool_get(h, err);
	if (!pool)
		return -1;
	TL_AUTO(virStorageVol) vol = virStorageVolLookupByName(pool, name);
	if (!vol) {
		if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_VOL) {
			virResetLastError();
			return 0;
		}
		return tl_prov_lv_error(err, "volume %s", name);
	}
	if (virStorageVolDelete(vol, 0) < 0)
		return tl_prov_lv_error(err, "cannot delete volume %s", name);
	return 0;
}

size_t tl_prov_purge(tl_prov_host *h, const tl_prov_scan *s,
		     bool (*keep)(void *ud, const tl_prov_obj *o), void *ud,
		     tl_prov_report *report, tl_error *err)
{
	static const tl_prov_obj_kind order[] = {
	    TL_PROV_OBJ_DOMAIN, TL_PROV_OBJ_VOLUME, TL_PROV_OBJ_NETWORK};
	size_t failed = 0;
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < s->n_objs; i++) {
			const tl_prov_obj *o = &s->objs[i];
			if (o->kind != order[k] || (keep && keep(ud, o)))
				continue;
			tl_error e = {{0}};
			int rc = o->kind == TL_PROV_OBJ_DOMAIN
				     ? tl_prov_domain_remove(h, o->name, &e)
				 : o->kind == TL_PROV_OBJ_VOLUME
				     ? tl_prov_volume_remove(h, o->name, &e)
				     : tl_prov_network_remove(h, o->name, &e);
			if (rc < 0) {
				if (failed++ == 0)
					tl_error_set(err, "%s", e.msg);
				tl_prov_report_add(report, h->name, o,
						   TL_PROV_REMOVE_FAILED,
						   e.msg);
			} else {
				tl_prov_report_add(report, h->name, o,
						   TL_PROV_REMOVED, NULL);
			}
		}
	return failed;
}

/* ---- reports ---- */

void tl_prov_report_add(tl_prov_report *r, const char *host,
			const tl_prov_obj *o, tl_prov_action action,
			const char *message)
{
	if (!r)
		return;
	tl_prov_report_item *it = GROW(r->items, r->n);
	r->cap = r->n;
	it->host = tl_xstrdup(host);
	it->session = tl_xstrdup(o->session);
	it->instance = tl_xstrdup(o->instance);
	it->name = tl_xstrdup(o->name);
	it->kind = o->kind;
	it->action = action;
	it->message = message ? tl_xstrdup(message) : NULL;
	switch (action) {
	case TL_PROV_ADOPTED:
		r->n_adopted++;
		break;
	case TL_PROV_REMOVED:
		r->n_removed++;
		break;
	case TL_PROV_REMOVE_FAILED:
		r->n_failed++;
		break;
	case TL_PROV_SKIPPED:
		r->n_skipped++;
		break;
	case TL_PROV_LISTED:
		break;
	}
}

void tl_prov_report_clear(tl_prov_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].host);
		free(r->items[i].session);
		free(r->items[i].instance);
		free(r->items[i].name);
		free(r->items[i].message);
	}
	free(r->items);
	for (size_t i = 0; i < r->n_adopted_instances; i++)
		tl_prov_instance_free(r->adopted[i]);
	free(r->adopted);
	memset(r, 0, sizeof *r);
}

const char *tl_prov_obj_kind_name(tl_prov_obj_kind kind)
{
	switch (kind) {
	case TL_PROV_OBJ_DOMAIN:
		return "domain";
	case TL_PROV_OBJ_NETWORK:
		return "network";
	case TL_PROV_OBJ_VOLUME:
		return "volume";
	}
	return "?";
}

const char *tl_prov_action_name(tl_prov_action action)
{
	switch (action) {
	case TL_PROV_LISTED:
		return "listed";
	case TL_PROV_ADOPTED:
		return "adopted";
	case TL_PROV_REMOVED:
		return "removed";
	case TL_PROV_REMOVE_FAILED:
		return "remove-failed";
	case TL_PROV_SKIPPED:
		return "skipped";
	}
	return "?";
}

/* ---- adoption ---- */

static void parse_forwards(tl_prov_machine *m, const char *fw)
{
	for (const char *p = fw; p && *p;) {
		const char *colon = strchr(p, ':');
		if (!colon)
			break;
		tl_prov_forward *f = GROW(m->forwards, m->n_forwards);
		f->guest_port = atoi(p);
		f->host_port = atoi(colon + 1);
		p = strchr(colon, ',');
		if (p)
			p++;
	}
}

static void parse_nics(tl_prov_machine *m, const char *s)
{
	for (const char *p = s; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		TL_AUTOFREE char *one = tl_xstrndup(p, len);
		char *bar1 = strchr(one, '|');
		char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
		if (bar2) {
			*bar1 = *bar2 = '\0';
			tl_prov_nic *n = GROW(m->nics, m->n_nics);
			n->network = tl_xstrdup(one);
			n->mac = tl_xstrdup(bar1 + 1);
			n->address = bar2[1] ? tl_xstrdup(bar2 + 1) : NULL;
		}
		p = end ? end + 1 : NULL;
	}
}

static char *attr_dup(const char *tag, const char *attr)
{
	char *v = tl_prov_xml_attr(tag, attr);
	return v ? v : tl_xstrdup("");
}

static int adopt_domain(tl_prov_host *h, tl_prov_instance *inst,
			const char *name, int *ret_index, tl_error *err)
{
	TL_AUTO(virDomain) dom = virDomainLookupByName(h->conn, name);
	if (!dom)
		return tl_prov_lv_error(err, "domain %s", name);
	TL_AUTOFREE char *meta = virDomainGetMetadata(
	    dom, VIR_DOMAIN_METADATA_ELEMENT, TL_PROV_XMLNS, 0);
	if (!meta)
		return tl_prov_lv_error(err, "domain %s: metadata", name);
	tl_prov_machine *m = GROW(inst->machines, inst->n_machines);
	memset(m, 0, sizeof *m);
	m->id = attr_dup(meta, "machine");
	m->hostname = attr_dup(meta, "hostname");
	m->image_id = attr_dup(meta, "image");
	m->domain = tl_xstrdup(name);
	m->volume = attr_dup(meta, "volume");
	m->volume_path = attr_dup(meta, "volume_path");
	m->base_disk = attr_dup(meta, "base");
	TL_AUTOFREE char *cap = tl_prov_xml_attr(meta, "capacity");
	m->capacity = cap ? strtoull(cap, NULL, 10) : 0;
	m->vcpus = attr_int(meta, "vcpus");
	m->memory_mib = attr_int(meta, "memory_mib");
	m->trainee = attr_int(meta, "trainee") != 0;
	m->login_user = attr_dup(meta, "login_user");
	m->login_port = attr_int(meta, "login_port");
	m->ssh_host = attr_dup(meta, "ssh_host");
	m->ssh_port = attr_int(meta, "ssh_port");
	TL_AUTOFREE char *fw = tl_prov_xml_attr(meta, "forwards");
	parse_forwards(m, fw);
	TL_AUTOFREE char *nics = tl_prov_xml_attr(meta, "nics");
	parse_nics(m, nics);
	m->domain_xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	TL_AUTOFREE char *fmt = tl_prov_xml_attr(meta, "base_format");
	m->volume_xml = tl_prov_xml_volume(m, fmt, err);
	*ret_index = attr_int(meta, "index");
	if (!inst->lab_id) {
		inst->lab_id = attr_dup(meta, "lab");
		TL_AUTOFREE char *acc = tl_prov_xml_attr(meta, "access");
		inst->access = acc && !strcmp(acc, "bridged")
				   ? TL_PROV_ACCESS_BRIDGED
				   : TL_PROV_ACCESS_LOOPBACK;
		TL_AUTOFREE char *tu = tl_prov_xml_attr(meta, "trainee_user");
		if (tu && *tu)
			inst->trainee_user = TL_TAKE_PTR(tu);
	}
	return m->domain_xml && m->volume_xml ? 0 : -1;
}

static int adopt_network(tl_prov_host *h, tl_prov_instance *inst,
			 const char *name, tl_error *err)
{
	TL_AUTO(virNetwork) net = virNetworkLookupByName(h->conn, name);
	TL_AUTOFREE char *xml = net ? virNetworkGetXMLDesc(net, 0) : NULL;
	const char *meta = tl_prov_xml_meta_tag(xml);
	if (!meta)
		return tl_prov_lv_error(err, "network %s", name);
	tl_prov_net *n = GROW(inst->networks, inst->n_networks);
	memset(n, 0, sizeof *n);
	n->id = attr_dup(meta, "network");
	n->name = tl_xstrdup(name);
	n->bridge = attr_dup(meta, "bridge");
	n->lab_cidr = attr_dup(meta, "cidr");
	n->subnet = attr_dup(meta, "subnet");
	TL_AUTOFREE char *ha = tl_prov_xml_attr(meta, "host_address");
	n->host_address = ha && *ha ? TL_TAKE_PTR(ha) : NULL;
	n->dhcp = attr_int(meta, "dhcp") != 0;
	n->xml = TL_TAKE_PTR(xml);
	return 0;
}

tl_prov_instance *tl_prov_adopt(tl_prov_host *h, const char *session,
				const char *instance, tl_error *err)
{
	tl_prov_scan s;
	if (tl_prov_scan_host(h, &s, err) < 0)
		return NULL;
	TL_AUTO(tl_prov_instance) inst = tl_xcalloc(1, sizeof *inst);
	inst->session = tl_xstrdup(session);
	inst->instance = tl_xstrdup(instance);
	inst->host = tl_xstrdup(h->name);
	inst->where = h;
	int *index = NULL;
	int rc = 0;
	for (size_t i = 0; i < s.n_objs && rc == 0; i++) {
		const tl_prov_obj *o = &s.objs[i];
		if (strcmp(o->session, session) ||
		    strcmp(o->instance, instance))
			continue;
		if (o->kind == TL_PROV_OBJ_DOMAIN) {
			index = tl_xrealloc(index, (inst->n_machines + 1) *
						       sizeof *index);
			rc = adopt_domain(h, inst, o->name,
					  &index[inst->n_machines], err);
		} else if (o->kind == TL_PROV_OBJ_NETWORK) {
			rc = adopt_network(h, inst, o->name, err);
		}
	}
	tl_prov_scan_clear(&s);
	/* back to the lab's machine order (insertion sort: a handful) */
	for (size_t i = 1; rc == 0 && i < inst->n_machines; i++)
		for (size_t j = i; j > 0 && index[j - 1] > index[j]; j--) {
			tl_prov_machine t = inst->machines[j];
			inst->machines[j] = inst->machines[j - 1];
			inst->machines[j - 1] = t;
			int ti = index[j];
			index[j] = index[j - 1];
			index[j - 1] = ti;
		}
	free(index);
	if (rc < 0)
		return NULL;
	if (!inst->lab_id)
		inst->lab_id = tl_xstrdup("");
	return TL_TAKE_PTR(inst);
}
