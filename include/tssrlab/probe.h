/*
 * probe.h: the probe engine. For one instance it compiles all probes of a
 * machine into one agent batch, runs it over ONE SSH session, parses the
 * agent's JSON records (checking the run's nonce), and runs network probes
 * from the orchestrator side. It hands typed results back; it does not
 * score (that is orchestrator/grade).
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
	int exit_code;   /* field "exit" (command.run), else -1 */
	int http_status; /* field "status" (http kinds), else -1 */
	char *evidence_cmd; /* what ran, e.g. /usr/bin/systemctl is-active nginx */
	char *evidence_out; /* trimmed output */
	char *error;        /* ERROR/TAMPERED: why, in words */
	bool flagged;       /* a claim contradicted from outside */
	char *flag;         /* why it was flagged */
	double ms;          /* time the probe took */
} tl_probe_result;

void tl_probe_result_clear(tl_probe_result *r);

#endif
