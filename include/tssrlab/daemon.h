/*
 * daemon.h: the contracts of tssrlabd that other rooms plug into — its
 * configuration file and the backend interface through which its job
 * layer creates, sets up, grades, stops, resets and destroys instances.
 *
 * Backends (after libvirt's drivers): a tl_backend is a table of function
 * pointers with a private state. The real one drives the provisioner
 * (include/tssrlab/provision.h) and grades through the probe engine
 * (include/tssrlab/probe.h); the "test" backend fakes machines as files
 * under the state dir (so a crashed daemon finds its "domains" again, as
 * libvirt would) and fakes probe results deterministically, for fast API
 * and crash tests — as libvirt's test:///default is to QEMU. Grading
 * scores are always computed by tl_grade_compute, whatever the backend.
 *
 * Every backend call may block (it runs on a job worker, never on an HTTP
 * thread) and may be called from several workers at once for different
 * instances; never twice at once for the same instance.
 */
#ifndef TSSRLAB_DAEMON_H
#define TSSRLAB_DAEMON_H

#include <jansson.h>
#include <stdint.h>

#include "tssrlab/base.h"
#include "tssrlab/defs.h"
#include "tssrlab/probe.h"

/* ---- configuration (docs/daemon.md lists every key) ---- */

typedef struct tl_config {
	char *file;	   /* where it was read from (NULL: defaults only) */
	char *state_dir;   /* /var/lib/tssrlab */
	char *db;	   /* state.db, relative to state_dir unless absolute */
	char *definitions; /* NULL: tl_defs_default_root() */
	char *listen;	   /* 127.0.0.1 */
	int port;	   /* 8640; 0 picks a free port (tests) */
	char *port_file; /* where the bound port is written (tests), or NULL */
	char *tls_cert, *tls_key; /* PEM files; both or neither */
	int http_threads;	  /* libmicrohttpd's pool: 4 */
	int max_connections;	  /* 1024 */
	int connection_timeout_s; /* 30 */
	size_t max_body;	  /* 1 MiB */
	int workers;		  /* job workers: 4 */
	char *pid_file;		  /* state_dir/tssrlabd.pid */
	char *log_file;		  /* daemon mode: state_dir/tssrlabd.log */
	char *log_level;	  /* info */
	char *admin_token_file;	  /* state_dir/admin.token (0600) */
	char *backend;		  /* "libvirt" | "test" */
	char *libvirt_uri;	  /* qemu:///system */
	char *accel;		  /* kvm | tcg: a host setting (tools/setup
				     tries a KVM boot and writes it) */
	char *reconcile;	  /* "on": start-up removes orphans */
	char *solutions;	  /* "on": admins may apply reference
				     solutions (demo, scenario proofs) */
	char *web_root;		  /* the web interface's built files; NULL: the
				     build's web/site when run from a build,
				     else the installed data dir's */
	char *access_address;	  /* 127.0.0.1: where forwards bind */
	char *access;		  /* "loopback" | "bridged" */
	char *images_dir;	  /* built images (NULL: provisioner's) */
	char *warm_dir; /* warm-start templates (NULL: provisioner's; "off") */
	char *pool_path;	  /* overlay pool (NULL: provisioner's) */
	int ready_timeout_s;	  /* per machine, until SSH answers: 300 */
	char *provision_wait;	  /* "ssh" (wait, personalise) | "none"
				     (start only: libvirt's test driver) */
	char *ssh_key;	       /* management key: state_dir/keys/mgmt_ed25519 */
	int tick_ms;	       /* session window check period: 1000 */
	long db_max_pages;     /* 0: no limit (tests simulate a full disk) */
	int test_provision_ms; /* test backend: time to "boot" (200) */
	int test_grade_ms;     /* test backend: time to "grade" (100) */
	int test_machine_port; /* test backend: first fake SSH port */
} tl_config;

/* Fills cfg with the defaults (a working single-machine setup). */
void tl_config_defaults(tl_config *cfg);
/* Reads a "key = value" file over the defaults. Unknown keys, bad values
 * and missing files are errors ("file:line: ..."). path may be NULL:
 * defaults only. Returns 0 or -1 with err set; cfg is cleared on error. */
int tl_config_load(const char *path, tl_config *cfg, tl_error *err);
/* The database path (state_dir joined with db unless db is absolute). A
 * new string. */
char *tl_config_db_path(const tl_config *cfg);
void tl_config_clear(tl_config *cfg);

/* ---- backends ---- */

/* One instance as the job layer hands it to a backend (all borrowed). */
typedef struct tl_backend_instance {
	int64_t id;
	const char *session;
	const char *trainee;
	const tl_scenario *scenario;
	/* The machines the store holds for it (array of objects: machine,
	 * access_host, access_port, host_key_fp, user, password), or NULL
	 * before creation. */
	const json_t *machines;
} tl_backend_instance;

typedef struct tl_backend tl_backend;
struct tl_backend {
	const char *name;
	void *priv;
	/* Creates every machine of the instance's lab, waits until each
	 * answers, personalises it (recording host key fingerprints) and
	 * returns the machines (new array, keys as in .machines) and the
	 * hypervisor host it runs on (new string). All or nothing: on
	 * failure everything created for the instance is removed. */
	int (*create)(tl_backend *b, const tl_backend_instance *inst,
		      json_t **ret_machines, char **ret_host, tl_error *err);
	/* Runs the scenario's setup steps on a created instance. */
	int (*setup)(tl_backend *b, const tl_backend_instance *inst,
		     tl_error *err);
	/* Runs every probe of the scenario; ret has
	 * tl_probe_scenario_count(scenario) entries (caller clears). Machines
	 * that cannot be reached give TL_PROBE_ERROR results, not -1. */
	int (*grade)(tl_backend *b, const tl_backend_instance *inst,
		     tl_probe_result *ret, tl_error *err);
	/* Runs a shell script as root on one machine of a ready instance
	 * (reference solutions). *ret_output receives the tail of what it
	 * printed (new string). A non-zero exit is -1 with its output. */
	int (*run)(tl_backend *b, const tl_backend_instance *inst,
		   const char *machine, const char *script, int timeout_s,
		   char **ret_output, tl_error *err);
	/* Stops the instance's machines (kept, not removed). */
	int (*stop)(tl_backend *b, const tl_backend_instance *inst,
		    tl_error *err);
	/* Puts one machine back to its initial state (new overlay). When
	 * its access changed (a new host key), *ret_machines receives the
	 * instance's machines anew (new array), else NULL. */
	int (*reset)(tl_backend *b, const tl_backend_instance *inst,
		     const char *machine, json_t **ret_machines, tl_error *err);
	/* Removes everything of the instance; idempotent (nothing left is
	 * success), so that it can roll back a half-made instance. */
	int (*destroy)(tl_backend *b, const tl_backend_instance *inst,
		       tl_error *err);
	/* At start-up: adopts what belongs to the live (complete) instances
	 * and removes whatever carries tssrlab's tag and belongs to no live
	 * instance; sets *ret_removed to the count removed. */
	int (*reconcile)(tl_backend *b, const tl_backend_instance *live,
			 size_t n_live, size_t *ret_removed, tl_error *err);
	/* A socket connected to one machine's screen (VNC, RFB protocol)
	 * for the browser console; *ret_fd is the caller's to close. Unlike
	 * the others this is called from an HTTP thread, possibly while a
	 * job of the same instance runs: it must be quick and must not
	 * change the instance. */
	int (*console_fd)(tl_backend *b, const tl_backend_instance *inst,
			  const char *machine, int *ret_fd, tl_error *err);
	void (*free)(tl_backend *b);
};

/* The test backend: machines are files under state_dir/test-backend/,
 * boots take test_provision_ms, grading test_grade_ms; probe results are
 * a pure function of the trainee and the probe's index. */
tl_backend *tl_backend_test_new(const tl_config *cfg, tl_error *err);
/* The real backend: provisioning through include/tssrlab/provision.h,
 * grading through the probe engine. Built when orchestrator/provision is. */
tl_backend *tl_backend_libvirt_new(const tl_config *cfg, tl_error *err);
/* The backend the configuration names (NULL with err when it is not built
 * in). Caller frees with b->free(b). */
tl_backend *tl_backend_new(const tl_config *cfg, tl_error *err);

#endif
