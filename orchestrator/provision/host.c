/*
 * host.c: the provisioner object and its libvirt hosts.
 *
 * A host is one libvirt connection (qemu:///system, qemu+ssh://..., or the
 * test driver) plus the settings placement and allocation need. Adding a
 * host connects to it, reads its size (virNodeGetInfo) for the default
 * capacity, and makes sure the storage pool that holds the overlays
 * exists and runs, creating it through libvirt when it does not.
 *
 * Images are resolved per host and cached: the image's folder is found
 * locally (images_dir/<id> is a symlink to <id>-<hash>, and overlays must
 * reference the hashed folder, which outlives a rebuild) and must be
 * visible to libvirt on the host as a directory pool, so that the base
 * disk is checked to exist there (virStorageVolLookupByPath) before
 * anything is created; remote hosts are expected to hold the same folder.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "prov-internal.h"

#define TL_PROV_DEFAULT_KEY "/var/lib/tssrlab/keys/mgmt_ed25519"

static void lv_silent(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static int lv_init_rc;

static void lv_init(void)
{
	lv_init_rc = virInitialize();
	/* errors reach callers through tl_error; libvirt must not print */
	virSetErrorFunc(NULL, lv_silent);
}

int tl_prov_lv_error(tl_error *err, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	const char *msg = virGetLastErrorMessage();
	return tl_error_set(err, "%s: libvirt: %s", what,
			    msg ? msg : "unknown error");
}

tl_prov *tl_prov_new(const tl_prov_config *cfg, tl_error *err)
{
	pthread_once(&lv_once, lv_init);
	if (lv_init_rc < 0) {
		tl_prov_lv_error(err, "cannot initialise libvirt");
		return NULL;
	}
	tl_prov_config none = {0};
	if (!cfg)
		cfg = &none;
	tl_prov *p = tl_xcalloc(1, sizeof *p);
	p->key_path =
	    tl_xstrdup(cfg->key_path ? cfg->key_path : TL_PROV_DEFAULT_KEY);
	p->lock_path =
	    tl_xstrdup(cfg->lock_path ? cfg->lock_path : TL_PROV_DEFAULT_LOCK);
	p->ready_timeout_s =
	    cfg->ready_timeout_s > 0 ? cfg->ready_timeout_s : 300;
	p->ssh_timeout_s = cfg->ssh_timeout_s > 0 ? cfg->ssh_timeout_s : 120;
	p->workers = cfg->workers > 0 ? cfg->workers : 4;
	if (p->workers > 64)
		p->workers = 64;
	pthread_mutex_init(&p->mu, NULL);
	return p;
}

static void resv_free(tl_prov_resv *r)
{
	free(r->session);
	free(r->instance);
	free(r->ports);
	free(r->subnets);
	free(r->prefixes);
	for (size_t i = 0; i < r->n_bridges; i++)
		free(r->bridges[i]);
	free(r->bridges);
	free(r);
}

static void image_clear(tl_prov_image *im)
{
	free(im->id);
	free(im->folder);
	free(im->disk);
	free(im->disk_format);
	free(im->kernel);
	free(im->initrd);
	free(im->cmdline);
	free(im->disk_bus);
	free(im->login_user);
}

static void host_free(tl_prov_host *h)
{
	if (!h)
		return;
	if (h->conn)
		virConnectClose(h->conn);
	while (h->resv) {
		tl_prov_resv *r = h->resv;
		h->resv = r->next;
		resv_free(r);
	}
	for (size_t i = 0; i < h->n_images; i++)
		image_clear(&h->images[i]);
	free(h->images);
	free(h->name);
	free(h->uri);
	free(h->bind_address);
	free(h->connect_address);
	free(h->pool_name);
	free(h->pool_path);
	free(h->images_dir);
	free(h->console_log_dir);
	free(h->warm_dir);
	free(h);
}

tl_prov *tl_prov_free(tl_prov *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_hosts; i++)
		host_free(p->hosts[i]);
	free(p->hosts);
	free(p->key_path);
	free(p->lock_path);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return NULL;
}

size_t tl_prov_host_count(const tl_prov *p)
{
	return p ? p->n_hosts : 0;
}

tl_prov_host *tl_prov_host_find(tl_prov *p, const char *name)
{
	for (size_t i = 0; i < p->n_hosts; i++)
		if (!strcmp(p->hosts[i]->name, name))
			return p->hosts[i];
	return NULL;
}

/* Whether the URI names this machine (so that ports can be test-bound). */
static bool uri_is_local(const char *uri)
{
	if (!strncmp(uri, "test:", 5))
		return true;
	const char *s = strstr(uri, "://");
	if (!s)
		return true;
	s += 3;
	size_t n = strcspn(s, "/?");
	/* the host of [user@]host[:port]: qemu+ssh://root@127.0.0.1:2222/
	 * is this machine too */
	const char *at = memchr(s, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	const char *colon = memchr(s, ':', n);
	if (colon)
		n = (size_t)(colon - s);
	return n == 0 || (n == 9 && !strncmp(s, "localhost", 9)) ||
	       (n == 9 && !strncmp(s, "127.0.0.1", 9));
}

virStoragePoolPtr tl_prov_pool_get(tl_prov_host *h, tl_error *err)
{
	virStoragePoolPtr pool =
	    virStoragePoolLookupByName(h->conn, h->pool_name);
	if (!pool) {
		tl_prov_lv_error(err, "host %s: storage pool \"%s\"", h->name,
				 h->pool_name);
		return NULL;
	}
	return pool;
}

/* The <path> inside a pool's <target>. New string or NULL. */
static char *pool_target_path(virStoragePoolPtr pool)
{
	TL_AUTOFREE char *xml = virStoragePoolGetXMLDesc(pool, 0);
	if (!xml)
		return NULL;
	const char *t = strstr(xml, "<target>");
	const char *ps = t ? strstr(t, "<path>") : NULL;
	const char *pe = ps ? strstr(ps, "</path>") : NULL;
	if (!pe)
		return NULL;
	ps += strlen("<path>");
	return tl_xstrndup(ps, (size_t)(pe - ps));
}

/* Defines, builds and starts the overlay pool when it is missing. */
static int pool_ensure(tl_prov_host *h, tl_error *err)
{
	TL_AUTO(virStoragePool)
	pool = virStoragePoolLookupByName(h->conn, h->pool_name);
	if (!pool) {
		TL_AUTOFREE char *xml =
		    tl_prov_xml_pool(h->pool_name, h->pool_path, err);
		if (!xml)
			return -1;
		pool = virStoragePoolDefineXML(h->conn, xml, 0);
		if (!pool) {
			/* another process may have defined it meanwhile */
			pool =
			    virStoragePoolLookupByName(h->conn, h->pool_name);
			if (!pool)
				return tl_prov_lv_error(
				    err,
				    "host %s: cannot define storage "
				    "pool \"%s\" at %s",
				    h->name, h->pool_name, h->pool_path);
		} else if (virStoragePoolBuild(pool, 0) < 0) {
			tl_prov_lv_error(err,
					 "host %s: cannot build storage pool "
					 "\"%s\" (mkdir %s)",
					 h->name, h->pool_name, h->pool_path);
			virStoragePoolUndefine(pool);
			return -1;
		}
	}
	int active = virStoragePoolIsActive(pool);
	if (active < 0)
		return tl_prov_lv_error(err, "host %s: storage pool \"%s\"",
					h->name, h->pool_name);
	if (!active && virStoragePoolCreate(pool, 0) < 0 &&
	    virStoragePoolIsActive(pool) != 1)
		return tl_prov_lv_error(err,
					"host %s: cannot start storage pool "
					"\"%s\"",
					h->name, h->pool_name);
	virStoragePoolSetAutostart(pool, 1);
	/* an existing pool may live elsewhere than configured: its own path
	 * is where the overlays land */
	char *real = pool_target_path(pool);
	if (real) {
		free(h->pool_path);
		h->pool_path = real;
	}
	return 0;
}

int tl_prov_host_add(tl_prov *p, const tl_prov_host_config *hc, tl_error *err)
{
	if (!hc || !hc->uri || !*hc->uri)
		return tl_error_set(err, "host: no libvirt URI given");
	const char *name = hc->name && *hc->name ? hc->name : hc->uri;
	if (tl_prov_host_find(p, name))
		return tl_error_set(err, "host %s: added twice", name);
	tl_prov_host *h = tl_xcalloc(1, sizeof *h);
	h->prov = p;
	h->name = tl_xstrdup(name);
	h->uri = tl_xstrdup(hc->uri);
	h->accel = hc->accel;
	h->bind_address =
	    tl_xstrdup(hc->bind_address ? hc->bind_address : "127.0.0.1");
	uint32_t a;
	if (!tl_prov_ip_parse(h->bind_address, &a)) {
		tl_error_set(err,
			     "host %s: bind address \"%s\" is not an IPv4 "
			     "address",
			     name, h->bind_address);
		host_free(h);
		return -1;
	}
	if (hc->connect_address)
		h->connect_address = tl_xstrdup(hc->connect_address);
	else
		h->connect_address =
		    tl_xstrdup(a == 0 ? "127.0.0.1" : h->bind_address);
	h->port_min = hc->port_min > 0 ? hc->port_min : 20000;
	h->port_max = hc->port_max > 0 ? hc->port_max : 29999;
	if (h->port_min < 1024 || h->port_max > 65535 ||
	    h->port_min > h->port_max) {
		tl_error_set(err,
			     "host %s: port range %d..%d (expected within "
			     "1024..65535)",
			     name, h->port_min, h->port_max);
		host_free(h);
		return -1;
	}
	/* a random first port: several processes (a daemon, a demo, tests)
	 * that plan at the same moment rarely pick the same ports */
	unsigned rnd = 0;
	if (tl_random_bytes(&rnd, sizeof rnd, NULL) < 0)
		rnd = (unsigned)getpid();
	h->port_next = h->port_min +
		       (int)(rnd % (unsigned)(h->port_max - h->port_min + 1));
	h->subnet_start =
	    strncmp(hc->uri, "test:", 5) ? (rnd >> 8) & 0xffff : 0;
	h->pool_name = tl_xstrdup(hc->pool_name ? hc->pool_name : "tssrlab");
	h->pool_path =
	    tl_xstrdup(hc->pool_path ? hc->pool_path : "/var/lib/tssrlab/pool");
	h->images_dir = tl_xstrdup(hc->images_dir ? hc->images_dir
						  : "/var/lib/tssrlab/images");
	if (hc->console_log_dir)
		h->console_log_dir = tl_xstrdup(hc->console_log_dir);
	h->warm_dir = tl_xstrdup(hc->warm_dir ? hc->warm_dir
					      : "/var/lib/tssrlab/warm");
	const char *sp = hc->subnet_pool ? hc->subnet_pool : "10.200.0.0/16";
	if (!tl_prov_cidr_parse(sp, &h->subnet_base, &h->subnet_prefix) ||
	    h->subnet_prefix < 8 || h->subnet_prefix > 30) {
		tl_error_set(err,
			     "host %s: subnet pool \"%s\" (expected an IPv4 "
			     "prefix a.b.c.d/8..30)",
			     name, sp);
		host_free(h);
		return -1;
	}
	h->subnet_base &=
	    h->subnet_prefix ? 0xffffffffu << (32 - h->subnet_prefix) : 0;
	h->local = uri_is_local(h->uri);

	h->conn = virConnectOpen(h->uri);
	if (!h->conn) {
		tl_prov_lv_error(err, "host %s: cannot connect to %s", name,
				 h->uri);
		host_free(h);
		return -1;
	}
	virNodeInfo info;
	if (virNodeGetInfo(h->conn, &info) < 0) {
		tl_prov_lv_error(err, "host %s: cannot read node info", name);
		host_free(h);
		return -1;
	}
	h->max_vcpus = hc->max_vcpus > 0 ? hc->max_vcpus : (int)info.cpus * 16;
	h->max_memory_mib = hc->max_memory_mib > 0
				? hc->max_memory_mib
				: (int)(info.memory / 1024 * 9 / 10);
	h->max_instances = hc->max_instances > 0 ? hc->max_instances : 0;
	if (pool_ensure(h, err) < 0) {
		host_free(h);
		return -1;
	}
	p->hosts = tl_xrealloc(p->hosts, (p->n_hosts + 1) * sizeof *p->hosts);
	p->hosts[p->n_hosts++] = h;
	return 0;
}

int tl_prov_host_usage_get(tl_prov *p, size_t i, tl_prov_host_usage *ret,
			   tl_error *err)
{
	if (i >= p->n_hosts)
		return tl_error_set(err, "no host #%zu", i);
	tl_prov_host *h = p->hosts[i];
	memset(ret, 0, sizeof *ret);
	ret->name = h->name;
	ret->vcpus_max = h->max_vcpus;
	ret->memory_max_mib = h->max_memory_mib;
	ret->instances_max = h->max_instances;
	ret->alive = virConnectIsAlive(h->conn) == 1;
	tl_prov_scan s = {0};
	pthread_mutex_lock(&p->mu);
	int rc = tl_prov_scan_host(h, &s, err);
	if (rc == 0)
		tl_prov_scan_add_resv(h, &s);
	pthread_mutex_unlock(&p->mu);
	if (rc == 0) {
		ret->vcpus_used = s.vcpus;
		ret->memory_used_mib = s.memory_mib;
		ret->instances_used = (int)s.n_instances;
	}
	tl_prov_scan_clear(&s);
	return rc;
}

/* A running directory pool on folder, found by its target or created. */
static int images_pool_ensure(tl_prov_host *h, const char *folder,
			      tl_error *err)
{
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(h->conn, &pools, 0);
	if (n < 0)
		return tl_prov_lv_error(
		    err, "host %s: cannot list storage pools", h->name);
	const char *base = strrchr(folder, '/');
	base = base ? base + 1 : folder;
	/* "<id>-" of "<id>-<hash>": our pools on older builds of this image */
	const char *dash = strrchr(base, '-');
	TL_AUTOFREE char *older = tl_xasprintf(
	    "tssrlab-img-%.*s-", (int)(dash ? dash - base : 0), base);
	virStoragePoolPtr found = NULL;
	for (int i = 0; i < n; i++) {
		TL_AUTOFREE char *path = pool_target_path(pools[i]);
		const char *pname = virStoragePoolGetName(pools[i]);
		if (!found && path && !strcmp(path, folder)) {
			found = pools[i];
			continue;
		}
		/* a rebuild removed the folder of an older build: forget its
		 * pool (undefine only, files are never touched here) */
		if (dash && pname && !strncmp(pname, older, strlen(older)) &&
		    (virStoragePoolIsActive(pools[i]) != 1 ||
		     virStoragePoolRefresh(pools[i], 0) < 0)) {
			virStoragePoolDestroy(pools[i]);
			virStoragePoolUndefine(pools[i]);
			virResetLastError();
		}
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	TL_AUTO(virStoragePool) pool = found;
	if (!pool) {
		TL_AUTOFREE char *name = tl_xasprintf("tssrlab-img-%s", base);
		TL_AUTOFREE char *xml = tl_prov_xml_pool(name, folder, err);
		if (!xml)
			return -1;
		pool = virStoragePoolDefineXML(h->conn, xml, 0);
		if (!pool)
			pool = virStoragePoolLookupByName(h->conn, name);
		if (!pool)
			return tl_prov_lv_error(
			    err,
			    "host %s: cannot define storage "
			    "pool %s on %s",
			    h->name, name, folder);
		virStoragePoolSetAutostart(pool, 1);
	}
	if (virStoragePoolIsActive(pool) != 1 &&
	    virStoragePoolCreate(pool, 0) < 0 &&
	    virStoragePoolIsActive(pool) != 1)
		return tl_prov_lv_error(err,
					"host %s: cannot start the pool on %s",
					h->name, folder);
	/* the image may have been rebuilt into this folder since */
	virStoragePoolRefresh(pool, 0);
	return 0;
}

static int image_file_check(tl_prov_host *h, const char *image_id,
			    const char *path, const char *what, tl_error *err)
{
	TL_AUTO(virStorageVol) vol = virStorageVolLookupByPath(h->conn, path);
	if (!vol)
		return tl_prov_lv_error(err,
					"image %s: %s %s not found on host %s "
					"(build it: tools/build-image %s)",
					image_id, what, path, h->name,
					image_id);
	return 0;
}

const tl_prov_image *tl_prov_image_resolve(tl_prov_host *h, const tl_image *im,
					   tl_error *err)
{
	for (size_t i = 0; i < h->n_images; i++)
		if (!strcmp(h->images[i].id, im->id))
			return &h->images[i];
	if (!im->disk)
		return tl_error_set(err, "image %s: no base disk", im->id),
		       NULL;
	TL_AUTOFREE char *link = tl_xasprintf("%s/%s", h->images_dir, im->id);
	char real[PATH_MAX];
	if (!realpath(link, real)) {
		tl_error_set(err,
			     "image %s: not built: %s is missing (run "
			     "tools/build-image %s)",
			     im->id, link, im->id);
		return NULL;
	}
	tl_prov_image r = {0};
	r.id = tl_xstrdup(im->id);
	r.folder = tl_xstrdup(real);
	r.disk = tl_xasprintf("%s/%s", real, im->disk);
	r.boot = im->boot;
	r.disk_bus = tl_xstrdup(im->disk_bus ? im->disk_bus : "virtio");
	r.login_user = tl_xstrdup(im->login_user ? im->login_user : "root");
	r.login_port = im->login_port > 0 ? im->login_port : 22;
	if (im->boot == TL_BOOT_KERNEL) {
		if (!im->kernel) {
			tl_error_set(err,
				     "image %s: kernel boot without a kernel",
				     im->id);
			image_clear(&r);
			return NULL;
		}
		r.kernel = tl_xasprintf("%s/%s", real, im->kernel);
		if (im->initrd)
			r.initrd = tl_xasprintf("%s/%s", real, im->initrd);
		r.cmdline = tl_xstrdup(im->cmdline ? im->cmdline : "");
	}
	if (images_pool_ensure(h, real, err) < 0 ||
	    image_file_check(h, im->id, r.disk, "base disk", err) < 0 ||
	    (r.kernel &&
	     image_file_check(h, im->id, r.kernel, "kernel", err) < 0) ||
	    (r.initrd &&
	     image_file_check(h, im->id, r.initrd, "initrd", err) < 0)) {
		image_clear(&r);
		return NULL;
	}
	TL_AUTO(virStorageVol) vol = virStorageVolLookupByPath(h->conn, r.disk);
	virStorageVolInfo info;
	if (!vol || virStorageVolGetInfo(vol, &info) < 0) {
		tl_prov_lv_error(err, "image %s: base disk %s", im->id, r.disk);
		image_clear(&r);
		return NULL;
	}
	r.disk_capacity = info.capacity;
	TL_AUTOFREE char *vxml = virStorageVolGetXMLDesc(vol, 0);
	const char *t = vxml ? strstr(vxml, "<target>") : NULL;
	const char *f = t ? strstr(t, "<format ") : NULL;
	r.disk_format = f ? tl_prov_xml_attr(f, "type") : NULL;
	if (!r.disk_format)
		r.disk_format = tl_xstrdup("qcow2");
	h->images = tl_xrealloc(h->images, (h->n_images + 1) * sizeof r);
	h->images[h->n_images] = r;
	return &h->images[h->n_images++];
}
