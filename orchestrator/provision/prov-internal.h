/*
 * prov-internal.h: what the files of orchestrator/provision share and the
 * rest of tssrlab does not see.
 *
 * The data structures:
 *   - tl_prov_host: one libvirt host, its connection and its settings.
 *     Allocation never trusts memory alone: before placing anything, the
 *     host is scanned (every domain, network and volume libvirt holds), so
 *     objects created by a previous run or another process count; what this
 *     process is creating right now and libvirt does not show yet is held
 *     in the host's reservations (tl_prov_resv), under tl_prov.mu.
 *   - tl_prov_scan: one scan of a host: the tssrlab objects found (for
 *     list, destroy and reconcile) and the resources in use (capacity,
 *     ports, subnets, bridges, names) for allocation.
 *   - tl_prov_image: an image resolved on a host (base disk path, format,
 *     size, kernel and initrd paths), cached per host under tl_prov.mu.
 */
#ifndef TSSRLAB_PROV_INTERNAL_H
#define TSSRLAB_PROV_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tssrlab/provision.h"

/* libvirt handles freed at scope end. */
TL_DEFINE_FREEP(virConnect, virConnectClose)
TL_DEFINE_FREEP(virDomain, virDomainFree)
TL_DEFINE_FREEP(virNetwork, virNetworkFree)
TL_DEFINE_FREEP(virStoragePool, virStoragePoolFree)
TL_DEFINE_FREEP(virStorageVol, virStorageVolFree)

#define TL_PROV_XML_LIMIT     (256u * 1024u)
#define TL_PROV_VOLUME_SUFFIX ".qcow2"
/* PCI slots: the loopback NIC sits at 0x10 (so it is eth0), lab NICs
 * follow; libvirt's own devices take the low slots. */
#define TL_PROV_MGMT_SLOT      0x10
#define TL_PROV_FIRST_NIC_SLOT 0x11
#define TL_PROV_MAX_NICS       (0x1f - TL_PROV_FIRST_NIC_SLOT + 1)

typedef struct tl_prov_image {
	char *id;
	char *folder; /* resolved image folder (ID-HASH) */
	char *disk;   /* base disk path */
	char *disk_format;
	unsigned long long disk_capacity;
	tl_boot_method boot;
	char *kernel, *initrd, *cmdline; /* paths; kernel boot only */
	char *disk_bus;
	char *login_user;
	int login_port;
} tl_prov_image;

typedef struct tl_prov_resv {
	struct tl_prov_resv *next;
	char *session, *instance;
	int vcpus, memory_mib;
	int *ports;
	size_t n_ports;
	uint32_t *subnets; /* base addresses */
	int *prefixes;
	size_t n_subnets;
	char **bridges;
	size_t n_bridges;
} tl_prov_resv;

typedef struct tl_prov_host {
	tl_prov *prov;
	char *name, *uri;
	tl_prov_accel accel;
	int max_vcpus, max_memory_mib, max_instances;
	char *bind_address, *connect_address;
	int port_min, port_max;
	char *pool_name, *pool_path, *images_dir, *console_log_dir;
	char *warm_dir; /* "" when warm starts are off */
	uint32_t subnet_base;
	int subnet_prefix;
	bool local; /* the host is this machine: ports can be test-bound */
	virConnectPtr conn;
	/* protected by prov->mu */
	int port_next;
	uint32_t subnet_start; /* first subnet slot tried (random, but 0 on
				  libvirt's test driver: stable names) */
	tl_prov_resv *resv;
	tl_prov_image *images;
	size_t n_images;
} tl_prov_host;

struct tl_prov {
	char *key_path;
	char *lock_path; /* "" when none */
	int ready_timeout_s, ssh_timeout_s, workers;
	tl_prov_host **hosts;
	size_t n_hosts;
	/* protects every host's resv, images and port_next */
	pthread_mutex_t mu;
};

/* ---- host.c ---- */
/* Fills err with "what: libvirt message" (the calling thread's error). */
int tl_prov_lv_error(tl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
tl_prov_host *tl_prov_host_find(tl_prov *p, const char *name);
/* Resolves an image on a host (cached); call with prov->mu held. */
const tl_prov_image *tl_prov_image_resolve(tl_prov_host *h, const tl_image *im,
					   tl_error *err);
virStoragePoolPtr tl_prov_pool_get(tl_prov_host *h, tl_error *err);

/* ---- names.c ---- */
bool tl_prov_id_valid(const char *s);
bool tl_prov_hostname_valid(const char *s);
bool tl_prov_user_valid(const char *s);
/* "tl+S+I+obj" (suffix appended when not NULL). New string. */
char *tl_prov_name(const char *session, const char *instance, const char *obj,
		   const char *suffix);
/* Splits a tssrlab name; false when it is not one. Strings are new. */
bool tl_prov_name_parse(const char *name, const char *suffix,
			char **ret_session, char **ret_instance,
			char **ret_obj);
/* 52:54:00:xx:xx:xx from a hash of the words; ret holds 18 bytes. */
void tl_prov_mac(const char *a, const char *b, const char *c, unsigned n,
		 char ret[18]);
/* A password of n characters from an unambiguous alphabet. New string. */
char *tl_prov_password(size_t n, tl_error *err);
bool tl_prov_cidr_parse(const char *s, uint32_t *ret_addr, int *ret_prefix);
/* "a.b.c.d" into ret (16 bytes). */
void tl_prov_ip_format(uint32_t a, char ret[16]);
bool tl_prov_ip_parse(const char *s, uint32_t *ret);
bool tl_prov_subnets_overlap(uint32_t a, int pa, uint32_t b, int pb);

/* ---- xml.c ---- */
/* printf into b where every %s argument is XML-escaped. */
int tl_prov_xml_printf(tl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Attribute attr of the start tag at tag ('<' ...), decoded. New string or
 * NULL. */
char *tl_prov_xml_attr(const char *tag, const char *attr);
/* The start tag of our metadata element inside a libvirt XML document
 * (found by the namespace), or NULL. Borrowed pointer into xml. */
const char *tl_prov_xml_meta_tag(const char *xml);
char *tl_prov_xml_pool(const char *name, const char *path, tl_error *err);
char *tl_prov_xml_volume(const tl_prov_machine *m, const char *base_format,
			 tl_error *err);
char *tl_prov_xml_network(const tl_prov_instance *inst, const tl_prov_net *n,
			  const tl_prov_machine *ms, size_t n_machines,
			  tl_error *err);
char *tl_prov_xml_domain(const tl_prov_host *h, const tl_prov_instance *inst,
			 const tl_prov_machine *m, const tl_prov_image *img,
			 tl_error *err);

/* ---- scan.c ---- */
typedef struct tl_prov_obj {
	tl_prov_obj_kind kind;
	char *name, *session, *instance, *object;
	bool active;
} tl_prov_obj;

typedef struct tl_prov_subnet {
	uint32_t base;
	int prefix;
} tl_prov_subnet;

typedef struct tl_prov_scan {
	tl_prov_obj *objs;
	size_t n_objs;
	int vcpus, memory_mib;
	char **instances; /* "session/instance" with at least one domain */
	size_t n_instances;
	int *ports;
	size_t n_ports;
	tl_prov_subnet *subnets;
	size_t n_subnets;
	char **bridges;
	size_t n_bridges;
	char **names; /* every domain, network and volume name seen */
	size_t n_names;
} tl_prov_scan;

int tl_prov_scan_host(tl_prov_host *h, tl_prov_scan *ret, tl_error *err);
void tl_prov_scan_clear(tl_prov_scan *s);
/* Adds the host's reservations to a scan (prov->mu held). */
void tl_prov_scan_add_resv(tl_prov_host *h, tl_prov_scan *s);
bool tl_prov_scan_has_instance(const tl_prov_scan *s, const char *session,
			       const char *instance);
bool tl_prov_scan_has_name(const tl_prov_scan *s, const char *name);
/* Removes objects (domains first, then volumes, then networks) for which
 * keep() is false; adds an item per object to report (may be NULL).
 * Returns the number of failures. */
size_t tl_prov_purge(tl_prov_host *h, const tl_prov_scan *s,
		     bool (*keep)(void *ud, const tl_prov_obj *o), void *ud,
		     tl_prov_report *report, tl_error *err);
void tl_prov_report_add(tl_prov_report *r, const char *host,
			const tl_prov_obj *o, tl_prov_action action,
			const char *message);
/* Destroys and undefines a domain / network, deletes a volume, by name;
 * a missing object is not an error. */
int tl_prov_domain_remove(tl_prov_host *h, const char *name, tl_error *err);
int tl_prov_network_remove(tl_prov_host *h, const char *name, tl_error *err);
int tl_prov_volume_remove(tl_prov_host *h, const char *name, tl_error *err);
/* Rebuilds an instance from the libvirt objects of (session, instance). */
tl_prov_instance *tl_prov_adopt(tl_prov_host *h, const char *session,
				const char *instance, tl_error *err);

/* ---- placement.c ---- */
/* Places and plans every request (all or nothing): on success ret[i] are
 * new instances whose resources stay reserved on their host until
 * tl_prov_release. */
int tl_prov_plan_all(tl_prov *p, const tl_prov_request *reqs, size_t n,
		     tl_prov_instance **ret, tl_error *err);
void tl_prov_release(tl_prov *p, tl_prov_instance *inst);

/* ---- instance.c ---- */
typedef struct tl_prov_run tl_prov_run; /* progress of one call */
/* Creating one planned instance: prepare, then boot. On failure each
 * stage removes what the job created, sets rc -1 and err. */
typedef struct tl_prov_job {
	tl_prov_instance *inst;
	const tl_prov_request *req;
	const char **networks, **volumes, **domains; /* created, by name */
	size_t n_networks, n_volumes, n_domains;
	double *started; /* per machine, just before its start */
	int rc;
	bool ended; /* its failure was reported */
	tl_error err;
} tl_prov_job;
void tl_prov_job_init(tl_prov_job *j, tl_prov_instance *inst,
		      const tl_prov_request *req);
void tl_prov_job_fini(tl_prov_job *j);
/* Networks, overlays, domain definitions. */
int tl_prov_job_prepare(tl_prov_job *j, tl_prov_run *run);
/* Starts, readiness and personalisation, as the request's flags allow. */
int tl_prov_job_boot(tl_prov *p, tl_prov_job *j, tl_prov_run *run);
/* Progress plumbing shared with batch.c. */
struct tl_prov_run {
	tl_prov_progress_fn fn;
	void *ud;
	pthread_mutex_t mu; /* serialises fn and done */
	size_t done, total;
	double t0;
};
void tl_prov_run_init(tl_prov_run *run, tl_prov_progress_fn fn, void *ud);
void tl_prov_run_fini(tl_prov_run *run);
size_t tl_prov_run_steps(const tl_prov_request *req);
/* Reports one step; returns non-zero when the caller cancels. */
int tl_prov_run_step(tl_prov_run *run, const tl_prov_instance *inst,
		     const char *object, tl_prov_phase phase,
		     const char *message);
tl_prov_machine *tl_prov_machine_find(tl_prov_instance *inst, const char *id,
				      tl_error *err);

/* ---- personalise.c ---- */
/* Waits until m answers SSH (banner then a login running `true`), at most
 * timeout_s from started_ms. Pinned when m->host_fp is set; otherwise the
 * key seen is recorded in m->host_fp (first contact). Fails early when the
 * domain stops. */
int tl_prov_wait_ready(const tl_prov *p, tl_prov_host *h, tl_prov_machine *m,
		       double started_ms, int timeout_s, tl_error *err);
/* The guest's boot id over SSH (pinned), to tell a reboot happened. New
 * string or NULL. */
char *tl_prov_boot_id(const tl_prov *p, const tl_prov_machine *m,
		      tl_error *err);
/* Hostname, new host keys (m->host_fp), trainee account. */
int tl_prov_personalise_machine(const tl_prov *p, tl_prov_instance *inst,
				tl_prov_machine *m, tl_error *err);

/* ---- warm.c ---- */
/* Whether machines of im may start warm on h (image allows it, local
 * qemu host, templates folder set, loopback access). */
bool tl_prov_warm_enabled(const tl_prov_host *h, const tl_image *im,
			  tl_prov_access access);
/* Makes sure the template of lm's shape exists on h, building it when
 * missing (a boot, minutes under TCG; one builder per shape across
 * processes). Outside the placement lock. */
int tl_prov_warm_ensure(tl_prov *p, tl_prov_host *h, const tl_lab_machine *lm,
			tl_error *err);
/* The folder of the template for m's shape when it is built; new string
 * or NULL. */
char *tl_prov_warm_lookup(tl_prov_host *h, const tl_prov_image *img,
			  const tl_prov_machine *m);
/* First start of m (defined, m->warm_state set) from its template's
 * memory. On failure nothing runs and the caller boots it cold. */
int tl_prov_warm_start(tl_prov_host *h, tl_prov_machine *m, virDomainPtr dom,
		       tl_error *err);

#endif
