/*
 * probe.h: the probe engine. For one instance it compiles all probes of a
 * machine into one agent batch, runs it over ONE SSH session, parses the
 * agent's JSON records (checking the run's nonce), and runs network probes
 * from the orchestrator side. It hands typed results back; it does not
 * score (that is orchestrator/grade).
 *
 * Layers, from the top: tl_probe_run_instance (a whole instance: every
 * machine's batch in parallel, network probes, cross-checks), then
 * tl_probe_run_machine (one batch over one SSH session) and
 * tl_probe_run_network (one check from the orchestrator), then the batch
 * itself (tl_probe_batch_compile / tl_probe_batch_parse), which tests and
 * the fuzzer use directly. The agent protocol is docs/agent-protocol.md.
 */
#ifndef TSSRLAB_PROBE_H
#define TSSRLAB_PROBE_H

#include "tssrlab/defs.h"
#include "tssrlab/ssh.h"

typedef enum {
	TL_PROBE_DONE = 0,    /* the probe ran; see ok/value */
	TL_PROBE_ERROR = 1,   /* could not run: unreachable, timeout, agent
				 failure. Never silently a fail. */
	TL_PROBE_TAMPERED = 2 /* evidence of tampering: wrong nonce, host key
				 mismatch, binary hash mismatch */
} tl_probe_status;

typedef struct tl_probe_result {
	const tl_probe *probe; /* borrowed from the scenario */
	tl_probe_status status;
	bool ok;         /* the kind's own verdict (status DONE only) */
	char *value;     /* the kind's value (may be empty) */
	int exit_code;   /* field "exit": exit status of evidence_cmd (for
			    command.run, of the command); -1 when none ran */
	int http_status; /* field "status" (http kinds), else -1 */
	char *evidence_cmd; /* what ran, e.g. /usr/bin/systemctl is-active nginx */
	char *evidence_out; /* trimmed output */
	char *error;        /* ERROR/TAMPERED: why, in words */
	bool flagged;       /* a claim contradicted from outside */
	char *flag;         /* why it was flagged */
	double ms;          /* time the probe took */
} tl_probe_result;

/* Frees r's strings and zeroes it (keeps nothing); r may be NULL. */
void tl_probe_result_clear(tl_probe_result *r);
/* Clears n results and frees the array; returns NULL. */
tl_probe_result *tl_probe_results_free(tl_probe_result *r, size_t n);
const char *tl_probe_status_name(tl_probe_status s);

/* ---- where probes run ---- */

/* The lab machine whose agent runs p (guest kinds: p->machine; network
 * kinds with "from": that machine), or NULL when the orchestrator runs it
 * (network kinds from "orchestrator"). Borrowed from p. */
const char *tl_probe_where(const tl_probe *p);

/* ---- a machine, as the engine reaches it ---- */

typedef enum {
	TL_AGENT_SH,         /* agents/linux/agent.sh under /bin/sh */
	TL_AGENT_POWERSHELL, /* agents/windows/agent.ps1 under powershell */
} tl_agent_flavour;

/* A service port of a machine as the orchestrator reaches it: in loopback
 * access mode, lab port 80 of srv may be 127.0.0.1:28080. */
typedef struct tl_probe_portmap {
	int lab_port;
	int host_port;
	bool udp;
} tl_probe_portmap;

typedef struct tl_probe_machine {
	const char *id;       /* lab machine id ("srv") */
	tl_ssh_target ssh;    /* management access; pinned_fp must be set */
	tl_agent_flavour agent;
	/* The image's hashes.json (absolute path -> sha256 of key binaries),
	 * or NULL: no binary check. */
	const char *hashes_path;
	/* Where the orchestrator reaches the machine's services (network
	 * probes): "127.0.0.1" in loopback mode. NULL: ssh.host. */
	const char *address;
	const tl_probe_portmap *ports; /* lab port -> host port; none: same */
	size_t n_ports;
	/* The lab, to resolve the address of the target of network probes
	 * run from this machine (its first static address). May be NULL. */
	const tl_lab *lab;
	int batch_timeout_s; /* 0: sum of the probes' timeouts + 30 s */
} tl_probe_machine;

/* Runs probes (all of which run on m's agent: see tl_probe_where) as one
 * batch over one SSH session. ret has n entries (need not be initialised),
 * filled in order; the caller owns their strings (tl_probe_result_clear).
 * A machine that cannot be reached gives TL_PROBE_ERROR results
 * (TL_PROBE_TAMPERED for a host key mismatch) and 0: only a misuse (a
 * probe that does not run there) returns -1 with err set, and the results
 * are then TL_PROBE_ERROR with the same message. Thread-safe. */
int tl_probe_run_machine(const tl_probe_machine *m,
			 const tl_probe *const *probes, size_t n,
			 tl_probe_result *ret, tl_error *err);

/* Runs one network probe (tcp.connect, http.request, dns.query) from the
 * orchestrator against machine target, through its address and port map.
 * Fills ret (caller clears it). Never fails: problems are in ret. */
void tl_probe_run_network(const tl_probe_machine *target, const tl_probe *p,
			  tl_probe_result *ret);

/* Runs every probe of scenario s on one instance: machines lists how to
 * reach each lab machine (by id). Machine batches run in parallel, one
 * thread each, so a slow or dead machine costs only its own timeout.
 * Afterwards claims are cross-checked from outside (a port or service
 * said to be up while a connection from outside failed is flagged). ret
 * has one entry per probe in scenario order (tasks, criteria, probes);
 * returns -1 only on misuse (a probe's machine missing from machines). */
int tl_probe_run_instance(const tl_scenario *s,
			  const tl_probe_machine *machines, size_t n_machines,
			  tl_probe_result *ret, tl_error *err);
/* The number of probes of s (the size of run_instance's ret). */
size_t tl_probe_scenario_count(const tl_scenario *s);

/* ---- batches (the layer under run_machine; tests and fuzzers) ---- */

#define TL_PROBE_VALUE_CAP 32768 /* default cap of a value, bytes */
#define TL_PROBE_OUTPUT_CAP 8192 /* default cap of evidence output */

typedef struct tl_probe_batch_opts {
	tl_agent_flavour agent;
	const char *nonce; /* 32 hex digits; NULL: a fresh random one */
	bool hash;         /* ask the agent for its tools' SHA-256 */
	size_t value_cap, output_cap; /* 0: the defaults above */
	const tl_lab *lab; /* to resolve targets of network probes */
	const char *machine; /* the machine it runs on (messages) */
} tl_probe_batch_opts;

typedef struct tl_probe_batch {
	tl_agent_flavour agent;
	char nonce[33];
	const tl_probe *const *probes; /* borrowed, n entries */
	size_t n;
	size_t n_sent; /* probes actually in the script */
	/* Per probe: why it was not sent (resolved before running, e.g. a
	 * network target without a lab address), or NULL. */
	char **not_sent;
	size_t value_cap, output_cap;
	bool hash;
	int timeout_s; /* sum of the sent probes' timeouts */
	char *script;  /* the agent followed by the batch: the SSH stdin */
	size_t script_len;
} tl_probe_batch;

/* Compiles probes into a script for the agent (the probes stay borrowed).
 * Returns 0, or -1 with err when a probe cannot run on this agent. */
int tl_probe_batch_compile(tl_probe_batch *b, const tl_probe *const *probes,
			   size_t n, const tl_probe_batch_opts *o,
			   tl_error *err);
void tl_probe_batch_clear(tl_probe_batch *b);

/* The fixed command the SSH session runs for a flavour (static string). */
const char *tl_probe_agent_command(tl_agent_flavour agent);
/* The agent's text, embedded at build time (static, NUL-terminated). */
const char *tl_probe_agent_text(tl_agent_flavour agent, size_t *ret_len);

/* Image hashes (hashes.json): absolute path -> sha256. */
typedef struct tl_probe_hashes tl_probe_hashes;
/* Loads a hashes.json (caller frees with tl_probe_hashes_free). */
tl_probe_hashes *tl_probe_hashes_load(const char *path, tl_error *err);
tl_probe_hashes *tl_probe_hashes_from_json(const char *text, size_t len,
					   tl_error *err);
void tl_probe_hashes_free(tl_probe_hashes *h);
TL_DEFINE_FREEP(tl_probe_hashes, tl_probe_hashes_free)

/* Parses the agent's output for batch b into ret (b->n entries, caller
 * clears them). Checks the nonce on every record, the probe indexes, the
 * final count, and each reported tool against hashes (may be NULL); any
 * inconsistency makes every result TL_PROBE_TAMPERED with the reason.
 * Output that ends early gives TL_PROBE_ERROR results. Never fails. */
void tl_probe_batch_parse(const tl_probe_batch *b, const char *out,
			  size_t len, const tl_probe_hashes *hashes,
			  tl_probe_result *ret);

#endif
