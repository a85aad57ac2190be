/*
 * provision.h: turning a lab definition into running, isolated copies of
 * it (instances) on one or several libvirt hosts, and taking them back.
 *
 * The contract between orchestrator/provision (the only module that talks
 * to libvirt) and the daemon. A tl_prov holds the configured hosts, each
 * with one shared libvirt connection (libvirt connections are thread
 * safe; its errors are per thread, so every failure is reported with the
 * libvirt message of the thread that saw it).
 *
 * An instance is one trainee's copy of a lab inside a session. For it the
 * provisioner creates, on the host with the most free capacity:
 *   - one isolated libvirt network per lab network, with a bridge name and
 *     a subnet unique on that host (allocated here, recorded in the
 *     network's metadata);
 *   - one qcow2 overlay volume per machine in the host's storage pool,
 *     backed by the image's base disk (a linked clone, never a copy);
 *   - one domain per machine, tagged with tssrlab metadata (namespace
 *     TL_PROV_XMLNS: session, instance, machine, ports, ...).
 * Every object is named "tl+<session>+<instance>+<object>" ('+' never
 * appears in ids), so that what libvirt holds can always be traced back to
 * an instance: that is how destroy, reconcile and the rollback of a failed
 * creation find everything, even after the daemon was killed.
 *
 * Access modes: TL_PROV_ACCESS_LOOPBACK gives each machine a QEMU user-mode
 * NIC (first NIC, eth0) with its SSH port and declared service ports
 * forwarded from the host's bind address; TL_PROV_ACCESS_BRIDGED attaches
 * the lab networks only (the orchestrator reaches machines through them).
 *
 * After creation each machine is waited for (SSH banner, then a login with
 * the management key) and personalised: hostname, fresh SSH host keys whose
 * SHA-256 fingerprint is returned for pinning, the trainee's account with a
 * generated password.
 *
 * Ownership: the caller owns every tl_prov_instance it gets and frees it
 * with tl_prov_instance_free (which does not touch libvirt). Instances must
 * be freed before the tl_prov they came from.
 */
#ifndef TSSRLAB_PROVISION_H
#define TSSRLAB_PROVISION_H

#include <stdbool.h>
#include <stddef.h>

#include "tssrlab/base.h"
#include "tssrlab/defs.h"
#include "tssrlab/ssh.h"

/* XML namespace of the metadata tssrlab puts in domains and networks. */
#define TL_PROV_XMLNS "https://tssrlab.example/xmlns/1"
/* Prefix of every libvirt object name tssrlab creates for an instance. */
#define TL_PROV_NAME_PREFIX "tl+"

typedef enum { TL_PROV_ACCEL_TCG, TL_PROV_ACCEL_KVM } tl_prov_accel;
typedef enum { TL_PROV_ACCESS_LOOPBACK, TL_PROV_ACCESS_BRIDGED } tl_prov_access;

/* ---- hosts ---- */

/* One libvirt host. Strings are copied by tl_prov_host_add. Zero / NULL
 * fields take the default written next to them. */
typedef struct tl_prov_host_config {
	const char *name; /* short name in reports and requests; default: uri */
	const char *uri;  /* "qemu:///system", "qemu+ssh://h/system",
			     "test:///abs/fixture.xml" */
	tl_prov_accel accel;	  /* domain type: kvm, or qemu (TCG) */
	int max_vcpus;		  /* 0: 16 x the node's CPUs (overcommit) */
	int max_memory_mib;	  /* 0: 90% of the node's memory */
	int max_instances;	  /* 0: no limit */
	const char *bind_address; /* port forwards listen here; "127.0.0.1" */
	const char *connect_address; /* where the orchestrator reaches the
					forwards; default bind_address, or
					127.0.0.1 when that is 0.0.0.0 */
	int port_min, port_max;	     /* forwarded host ports; 20000..29999 */
	const char *pool_name;	     /* overlay pool; "tssrlab" */
	const char *pool_path;	     /* "/var/lib/tssrlab/pool"; created
					through libvirt when missing */
	const char *images_dir;	 /* built images; "/var/lib/tssrlab/images" */
	const char *subnet_pool; /* instance subnets; "10.200.0.0/16" */
	const char *console_log_dir; /* serial console logs on the host;
					NULL: none */
	const char *warm_dir; /* warm-start templates (a booted machine's
				 memory and disk, restored instead of a
				 cold boot; local qemu hosts only):
				 NULL: "/var/lib/tssrlab/warm"; "": off */
} tl_prov_host_config;

/* What a host holds and may hold, as placement sees it. */
typedef struct tl_prov_host_usage {
	const char *name; /* borrowed from the tl_prov */
	bool alive;
	int vcpus_used, vcpus_max;
	int memory_used_mib, memory_max_mib;
	int instances_used, instances_max; /* max 0: no limit */
} tl_prov_host_usage;

/* ---- the provisioner ---- */

typedef struct tl_prov_config {
	const char *key_path; /* management key; NULL:
				 /var/lib/tssrlab/keys/mgmt_ed25519 */
	int ready_timeout_s;  /* per machine, from its start; 0: 300 */
	int ssh_timeout_s;    /* per personalisation command; 0: 120 */
	int workers;	      /* tl_prov_create_many threads; 0: 4 */
	/* Placement lock, shared by every process of this machine that
	 * creates instances (a daemon, `tssrlab demo`, tests): held from
	 * planning until every object of the call is defined, so that two
	 * processes never pick the same ports or subnets. NULL:
	 * TL_PROV_DEFAULT_LOCK; "": no lock (one process per machine). */
	const char *lock_path;
} tl_prov_config;

#define TL_PROV_DEFAULT_LOCK "/run/lock/tssrlab-placement.lock"

typedef struct tl_prov tl_prov;

/* New provisioner without hosts (cfg may be NULL). Calls virInitialize and
 * silences libvirt's default error printing (errors reach the caller
 * through tl_error). Caller owns the result (tl_prov_free). */
tl_prov *tl_prov_new(const tl_prov_config *cfg, tl_error *err);
/* Closes the connections; p may be NULL. Returns NULL. */
tl_prov *tl_prov_free(tl_prov *p);
TL_DEFINE_FREEP(tl_prov, tl_prov_free)

/* Connects to a host and makes sure its storage pool exists and runs
 * (defined, built and started through libvirt when missing). Hosts are
 * added before any instance is created. */
int tl_prov_host_add(tl_prov *p, const tl_prov_host_config *hc, tl_error *err);
/* Number of hosts added. */
size_t tl_prov_host_count(const tl_prov *p);
/* Current usage of host i, counted from libvirt (every tssrlab domain
 * there) plus what is being created in this process. */
int tl_prov_host_usage_get(tl_prov *p, size_t i, tl_prov_host_usage *ret,
			   tl_error *err);

/* ---- instances ---- */

enum {
	TL_PROV_NO_START = 1 << 0,	 /* define everything, start nothing */
	TL_PROV_NO_READY = 1 << 1,	 /* start, do not wait for SSH */
	TL_PROV_NO_PERSONALISE = 1 << 2, /* wait for SSH, change nothing */
};

typedef struct tl_prov_request {
	const char *session;  /* [a-z0-9][a-z0-9._-]{0,63}, no '+' */
	const char *instance; /* the trainee's slug, same rule */
	const tl_lab *lab;    /* borrowed for the duration of the call */
	tl_prov_access access;
	const char *trainee_user; /* account on trainee machines; "stagiaire" */
	const char *host;	  /* NULL: placement; else a host name */
	unsigned flags;		  /* TL_PROV_NO_* */
} tl_prov_request;

typedef struct tl_prov_forward {
	int guest_port;
	int host_port;
} tl_prov_forward;

typedef struct tl_prov_nic {
	char *network; /* lab network id */
	char *mac;
	char *address; /* the lab address moved into the instance subnet
			  ("10.200.0.10/24"), NULL when the lab gives none */
} tl_prov_nic;

typedef struct tl_prov_machine {
	char *id; /* lab machine id */
	char *hostname;
	char *image_id;
	char *domain; /* libvirt domain name */
	char *volume; /* overlay volume name in the host's pool */
	char *volume_path;
	char *base_disk; /* the image's base disk, the overlay's backing file */
	unsigned long long capacity; /* overlay virtual size, bytes */
	int vcpus, memory_mib;
	bool trainee;	  /* the trainee's account is created here */
	char *login_user; /* management login (the image's) */
	int login_port;
	char *ssh_host; /* where the orchestrator reaches its SSH */
	int ssh_port;
	tl_prov_forward *forwards; /* loopback: [0] is SSH, then lab ports */
	size_t n_forwards;
	tl_prov_nic *nics;
	size_t n_nics;
	char *host_fp; /* pinned host key "SHA256:..."; NULL until personalised
			  (set it from the store after adoption) */
	char *os;      /* guest flavour found by personalisation */
	char *domain_xml; /* generated XML (adopted: libvirt's, inactive) */
	char *volume_xml;
	double ready_ms; /* last start until SSH answered */
	char *warm_state; /* the warm template's memory state restored by the
			     first start (base_disk is then the template's
			     disk); NULL: cold boot */
	bool warm_started; /* the first start restored it */
} tl_prov_machine;

typedef struct tl_prov_net {
	char *id;	    /* lab network id */
	char *name;	    /* libvirt network name */
	char *bridge;	    /* at most 15 characters, unique on the host */
	char *lab_cidr;	    /* the lab's plan, "192.168.60.0/24" */
	char *subnet;	    /* allocated on the host, unique, "10.200.0.0/24" */
	char *host_address; /* host's address on it, NULL when it has none */
	bool dhcp;
	char *xml;
} tl_prov_net;

struct tl_prov_host;

typedef struct tl_prov_instance {
	char *session, *instance, *lab_id;
	char *host; /* the host's name */
	tl_prov_access access;
	tl_prov_machine *machines;
	size_t n_machines;
	tl_prov_net *networks;
	size_t n_networks;
	char *trainee_user;
	char *trainee_password; /* generated; NULL when no trainee machine or
				   adopted (the store keeps it) */
	struct tl_prov_host *where; /* internal */
} tl_prov_instance;

typedef enum {
	TL_PROV_PHASE_PLACED,	    /* host chosen, resources allocated */
	TL_PROV_PHASE_NETWORK,	    /* one network defined and started */
	TL_PROV_PHASE_VOLUME,	    /* one overlay created */
	TL_PROV_PHASE_DEFINED,	    /* one domain defined */
	TL_PROV_PHASE_STARTED,	    /* one domain started */
	TL_PROV_PHASE_READY,	    /* one machine answered SSH */
	TL_PROV_PHASE_PERSONALISED, /* one machine personalised */
	TL_PROV_PHASE_DONE,	    /* the instance is complete */
	TL_PROV_PHASE_FAILED,	    /* the instance failed, all removed */
} tl_prov_phase;

typedef struct tl_prov_progress {
	const char *session, *instance;
	const char *object; /* machine or network id; NULL: the instance */
	tl_prov_phase phase;
	size_t done, total;  /* steps over the whole call */
	double elapsed_ms;   /* since the call began */
	const char *message; /* FAILED: the error */
} tl_prov_progress;

/* Called from worker threads, one call at a time. Returning non-zero
 * cancels that instance's creation (everything created is removed). */
typedef int (*tl_prov_progress_fn)(void *ud, const tl_prov_progress *ev);

/* Name of a phase ("placed", "network", ...). Static string. */
const char *tl_prov_phase_name(tl_prov_phase phase);

/* Plans an instance without creating anything: placement, names, bridges,
 * subnets, ports, MACs and the XML of every object. Nothing stays
 * reserved. Caller owns the result. */
tl_prov_instance *tl_prov_instance_plan(tl_prov *p, const tl_prov_request *req,
					tl_error *err);

/* Creates one instance (placement, networks, overlays, domains, start,
 * readiness, personalisation, as flags allow). On failure returns NULL,
 * every object created for it is removed and err carries the libvirt (or
 * SSH) message. Caller owns the result. fn may be NULL. */
tl_prov_instance *tl_prov_instance_create(tl_prov *p,
					  const tl_prov_request *req,
					  tl_prov_progress_fn fn, void *ud,
					  tl_error *err);

typedef struct tl_prov_outcome {
	tl_prov_instance *instance; /* owned by the caller; NULL on failure */
	tl_error error;
} tl_prov_outcome;

/* Creates n instances with the worker pool. Every instance is placed
 * first: when they do not all fit, returns -1 and creates nothing. Then
 * all are prepared (networks, overlays, definitions) before any boots
 * (start, readiness, personalisation). Fills ret[0..n) and returns the
 * number of failed instances (each failed one left nothing behind). */
int tl_prov_create_many(tl_prov *p, const tl_prov_request *reqs, size_t n,
			tl_prov_progress_fn fn, void *ud, tl_prov_outcome *ret,
			tl_error *err);

/* Removes everything of the instance from its host (domains, overlays,
 * networks), found by name and metadata, so also what inst does not list.
 * inst stays owned by the caller. */
int tl_prov_instance_destroy(tl_prov *p, tl_prov_instance *inst, tl_error *err);
/* Frees inst (libvirt is not touched); inst may be NULL. Returns NULL. */
tl_prov_instance *tl_prov_instance_free(tl_prov_instance *inst);
TL_DEFINE_FREEP(tl_prov_instance, tl_prov_instance_free)

/* The machine with that id, or NULL. Borrowed. */
tl_prov_machine *tl_prov_instance_machine(tl_prov_instance *inst,
					  const char *id);
/* Waits until every machine answers SSH and personalises it (hostname,
 * new host keys pinned in host_fp, trainee account). Sets
 * trainee_password when NULL. */
int tl_prov_instance_personalise(tl_prov *p, tl_prov_instance *inst,
				 tl_error *err);

/* An SSH target for a machine: borrowed strings from p and m; the host
 * key is pinned when m->host_fp is set. */
void tl_prov_machine_ssh_target(const tl_prov *p, const tl_prov_machine *m,
				tl_ssh_target *ret);

/* Builds, on every host where lm may start warm, the warm template of its
 * shape when missing (creation does it too, on demand: this is for
 * building ahead, e.g. benchmarks). -1 when there is no such host or a
 * build failed. */
int tl_prov_warm_prepare(tl_prov *p, const tl_lab_machine *lm, tl_error *err);

/* Removes, on every host with warm starts, the templates backing no
 * volume of any pool that either no machine can start from any more
 * (their image was rebuilt or removed, or QEMU or libvirt changed: see
 * each template's "shape" file) and were not chosen for idle_s seconds,
 * or were not chosen for unused_s seconds (when > 0), whatever their
 * shape file says. Creation does it after building a template, with
 * idle_s 3600 and unused_s 14 days. Number removed; what is kept and why
 * is logged (event warm.prune). */
int tl_prov_warm_prune(tl_prov *p, int idle_s, int unused_s);

/* ---- lifecycle of one machine ---- */

typedef enum {
	TL_PROV_STATE_UNKNOWN,
	TL_PROV_STATE_RUNNING,
	TL_PROV_STATE_PAUSED,
	TL_PROV_STATE_STOPPING,
	TL_PROV_STATE_STOPPED,
	TL_PROV_STATE_CRASHED,
} tl_prov_state;

/* The machine's domain state as libvirt reports it, in ret. */
int tl_prov_machine_state(tl_prov *p, tl_prov_instance *inst,
			  const char *machine, tl_prov_state *ret,
			  tl_error *err);
/* Starts a stopped machine; with wait, until it answers SSH (pinned). */
int tl_prov_machine_start(tl_prov *p, tl_prov_instance *inst,
			  const char *machine, bool wait, tl_error *err);
/* Stops a machine: ACPI shutdown, then power off after grace_s (0: power
 * off at once). */
int tl_prov_machine_stop(tl_prov *p, tl_prov_instance *inst,
			 const char *machine, int grace_s, tl_error *err);
/* ACPI reboot; with wait, until SSH answers again (pinned). */
int tl_prov_machine_reboot(tl_prov *p, tl_prov_instance *inst,
			   const char *machine, bool wait, tl_error *err);
/* Back to the initial state: power off, delete and recreate the overlay,
 * start, and (unless flags say otherwise) wait and personalise again
 * (new host key in host_fp, same trainee password). */
int tl_prov_machine_reset(tl_prov *p, tl_prov_instance *inst,
			  const char *machine, unsigned flags, tl_error *err);
/* A socket connected to the machine's VNC display (console.c): through
 * libvirt (virDomainOpenGraphicsFD), else 127.0.0.1 and the port of the
 * live XML when the host is this machine. The caller owns *ret_fd
 * (close it). The machine must be running. */
int tl_prov_machine_console_fd(tl_prov *p, tl_prov_instance *inst,
			       const char *machine, int *ret_fd, tl_error *err);

/* ---- inventory, sessions, reconcile ---- */

typedef enum {
	TL_PROV_OBJ_DOMAIN,
	TL_PROV_OBJ_NETWORK,
	TL_PROV_OBJ_VOLUME,
} tl_prov_obj_kind;

typedef enum {
	TL_PROV_LISTED,	 /* tl_prov_list: found */
	TL_PROV_ADOPTED, /* reconcile: belongs to a live instance, kept */
	TL_PROV_REMOVED,
	TL_PROV_REMOVE_FAILED,
	TL_PROV_SKIPPED, /* being created by this process right now */
} tl_prov_action;

typedef struct tl_prov_report_item {
	char *host, *session, *instance;
	char *name; /* libvirt object name */
	tl_prov_obj_kind kind;
	tl_prov_action action;
	char *message; /* REMOVE_FAILED: why */
} tl_prov_report_item;

typedef struct tl_prov_report {
	tl_prov_report_item *items;
	size_t n, cap;
	size_t n_adopted, n_removed, n_failed, n_skipped;
	/* reconcile: the live instances rebuilt from libvirt, owned */
	tl_prov_instance **adopted;
	size_t n_adopted_instances;
} tl_prov_report;

void tl_prov_report_clear(tl_prov_report *r);
const char *tl_prov_obj_kind_name(tl_prov_obj_kind kind);
const char *tl_prov_action_name(tl_prov_action action);

/* Every tssrlab object on every host (session NULL) or of one session. */
int tl_prov_list(tl_prov *p, const char *session, tl_prov_report *ret,
		 tl_error *err);
/* Removes every object of the session on every host. */
int tl_prov_session_destroy(tl_prov *p, const char *session,
			    tl_prov_report *ret, tl_error *err);

/* Whether (session, instance) is live in the store. */
typedef bool (*tl_prov_live_fn)(void *ud, const char *session,
				const char *instance);
/* Lists tssrlab objects on every host; objects of live instances are
 * adopted (rebuilt as tl_prov_instance in ret->adopted), the others are
 * removed, objects of instances this process is creating are skipped.
 * Returns 0 when every orphan was removed. */
int tl_prov_reconcile(tl_prov *p, tl_prov_live_fn live, void *ud,
		      tl_prov_report *ret, tl_error *err);
/* Adopts the live instances as tl_prov_reconcile does and touches nothing
 * else: the objects of other instances, which may belong to another
 * process on the same host (a daemon, `tssrlab demo`, tests) and be in
 * the middle of their creation or teardown, are neither removed nor read
 * beyond the scan. */
int tl_prov_adopt_live(tl_prov *p, tl_prov_live_fn live, void *ud,
		       tl_prov_report *ret, tl_error *err);
/* The same with the live set as "session/instance" strings. */
int tl_prov_reconcile_ids(tl_prov *p, const char *const *live, size_t n_live,
			  tl_prov_report *ret, tl_error *err);

/* libvirt's XML of one object on a host (for inspection and tests).
 * Caller owns the string. */
char *tl_prov_object_xml(tl_prov *p, const char *host, tl_prov_obj_kind kind,
			 const char *name, tl_error *err);

#endif
