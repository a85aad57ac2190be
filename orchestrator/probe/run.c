/*
 * run.c: running probes against machines.
 *
 * tl_probe_run_machine is the heart of grading one machine: compile its
 * probes into one batch, send it over ONE SSH session with the fixed agent
 * command, parse what comes back. Failures of the session become results
 * (an unreachable machine is an error for each of its probes, a host key
 * that changed is tampering), so that a grading run always has one result
 * per probe and never turns "could not check" into "failed".
 *
 * tl_probe_run_instance runs a whole scenario on one instance: one thread
 * per machine batch (a dead or slow machine costs only its own timeouts),
 * one for the network probes the orchestrator runs itself, and then the
 * cross-checks that compare what machines claim with what is seen from
 * outside.
 */
#include <pthread.h>
#include <string.h>

#include "probe-internal.h"

#define TL_BATCH_SLACK_S 30

static void prefix_errors(tl_probe_result *ret, size_t n, const char *id)
{
	if (!id)
		return;
	for (size_t i = 0; i < n; i++) {
		if (ret[i].status == TL_PROBE_DONE || !ret[i].error)
			continue;
		char *e = tl_xasprintf("machine %s: %s", id, ret[i].error);
		free(ret[i].error);
		ret[i].error = e;
	}
}

/* The first line of a remote stderr, for messages. */
static char *first_line(const char *s)
{
	if (!s)
		return tl_xstrdup("");
	size_t n = strcspn(s, "\n");
	return tl_xstrndup(s, n > 200 ? 200 : n);
}

int tl_probe_run_machine(const tl_probe_machine *m,
			 const tl_probe *const *probes, size_t n,
			 tl_probe_result *ret, tl_error *err)
{
	for (size_t i = 0; i < n; i++) {
		memset(&ret[i], 0, sizeof ret[i]);
		ret[i].probe = probes[i];
		ret[i].exit_code = ret[i].http_status = -1;
	}
	if (n == 0)
		return 0;
	tl_probe_batch_opts o = {
	    .agent = m->agent,
	    .hash = m->hashes_path != NULL,
	    .lab = m->lab,
	    .machine = m->id,
	};
	tl_probe_batch b;
	if (tl_probe_batch_compile(&b, probes, n, &o, err) < 0) {
		tl_error_prefix(err, "machine %s", m->id ? m->id : "?");
		/* still one well-formed result per probe */
		tl_probe_results_set(ret, n, probes, TL_PROBE_ERROR,
				     err ? err->msg : "cannot compile the batch");
		return -1;
	}

	TL_AUTO(tl_probe_hashes) hashes = NULL;
	char *msg = NULL;
	tl_error e = {{0}};
	if (!m->ssh.pinned_fp) {
		msg = tl_xstrdup("no host key was recorded for it: refusing to "
				 "grade a machine whose identity cannot be "
				 "checked");
		tl_probe_results_set(ret, n, probes, TL_PROBE_ERROR, msg);
		goto out;
	}
	if (m->hashes_path &&
	    !(hashes = tl_probe_hashes_load(m->hashes_path, &e))) {
		msg = tl_xasprintf("cannot read the image's hashes: %s", e.msg);
		tl_probe_results_set(ret, n, probes, TL_PROBE_ERROR, msg);
		goto out;
	}
	if (b.n_sent == 0) {
		tl_probe_batch_parse(&b, NULL, 0, hashes, ret);
		goto out;
	}
	int timeout = m->batch_timeout_s > 0 ? m->batch_timeout_s
					     : b.timeout_s + TL_BATCH_SLACK_S;
	/* what a genuine agent prints at most, with room for its tools */
	size_t limit =
	    b.n_sent * (2 * (8192 + b.value_cap + b.output_cap) + 512) +
	    (256u << 10);
	tl_ssh_result r;
	int rc = tl_ssh_run(&m->ssh, tl_probe_agent_command(m->agent), b.script,
			    b.script_len, timeout, limit, &r, &e);
	switch (rc) {
	case TL_SSH_OK:
		if (r.out_truncated) {
			msg = tl_xasprintf("the agent printed more than %zu "
					   "bytes: not our agent",
					   limit);
			tl_probe_results_set(ret, n, probes, TL_PROBE_TAMPERED,
					     msg);
			break;
		}
		tl_probe_batch_parse(&b, r.out, r.out_len, hashes, ret);
		if (ret[0].status == TL_PROBE_ERROR && r.err && *r.err &&
		    ret[0].error && strstr(ret[0].error, "agent")) {
			/* say what the shell said when the agent failed */
			char *l = first_line(r.err);
			for (size_t i = 0; i < n; i++) {
				if (ret[i].status != TL_PROBE_ERROR ||
				    b.not_sent[i])
					continue;
				char *x = tl_xasprintf("%s (stderr: %s)",
						       ret[i].error, l);
				free(ret[i].error);
				ret[i].error = x;
			}
			free(l);
		}
		break;
	case TL_SSH_HOSTKEY_MISMATCH:
		tl_probe_results_set(ret, n, probes, TL_PROBE_TAMPERED, e.msg);
		break;
	case TL_SSH_TIMEOUT:
		msg = tl_xasprintf("the batch of %zu probes did not finish "
				   "within %d s: %s",
				   b.n_sent, timeout, e.msg);
		tl_probe_results_set(ret, n, probes, TL_PROBE_ERROR, msg);
		break;
	default:
		tl_probe_results_set(ret, n, probes, TL_PROBE_ERROR, e.msg);
		break;
	}
	if (rc != TL_SSH_OK)
		for (size_t i = 0; i < n; i++)
			ret[i].ms = r.ms;
	tl_ssh_result_clear(&r);
out:
	prefix_errors(ret, n, m->id);
	free(msg);
	tl_probe_batch_clear(&b);
	return 0;
}

/* ---- a whole instance ---- */

typedef struct job {
	const tl_probe_machine *m; /* NULL: the orchestrator's own probes */
	const tl_probe_machine *const *targets; /* per probe, network jobs */
	const tl_probe **probes;
	size_t *index; /* where each result goes in the instance's array */
	size_t n;
	tl_probe_result *ret;
	int rc;
	tl_error err;
} job;

static void *job_run(void *arg)
{
	job *j = arg;
	if (j->m) {
		j->rc = tl_probe_run_machine(j->m, j->probes, j->n, j->ret,
					     &j->err);
	} else {
		for (size_t i = 0; i < j->n; i++)
			tl_probe_run_network(j->targets[i], j->probes[i],
					     &j->ret[i]);
	}
	return NULL;
}

static const tl_probe_machine *find_machine(const tl_probe_machine *ms,
					    size_t n, const char *id)
{
	for (size_t i = 0; id && i < n; i++)
		if (ms[i].id && !strcmp(ms[i].id, id))
			return &ms[i];
	return NULL;
}

int tl_probe_run_instance(const tl_scenario *s,
			  const tl_probe_machine *machines, size_t n_machines,
			  tl_probe_result *ret, tl_error *err)
{
	size_t n = tl_probe_scenario_count(s);
	const tl_probe **all = tl_xcalloc(n ? n : 1, sizeof *all);
	size_t k = 0;
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++)
			for (size_t p = 0; p < s->tasks[t].criteria[c].n_probes;
			     p++)
				all[k++] = &s->tasks[t].criteria[c].probes[p];
	for (size_t i = 0; i < n; i++) {
		memset(&ret[i], 0, sizeof ret[i]);
		ret[i].probe = all[i];
		ret[i].exit_code = ret[i].http_status = -1;
	}

	/* one job per machine that runs probes, plus one for ours */
	job *jobs = tl_xcalloc(n_machines + 1, sizeof *jobs);
	const tl_probe_machine **targets =
	    tl_xcalloc(n ? n : 1, sizeof *targets);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		const char *where = tl_probe_where(all[i]);
		const tl_probe_machine *m =
		    find_machine(machines, n_machines, where);
		size_t slot = m ? (size_t)(m - machines) : n_machines;
		if (where && !m) {
			rc = tl_error_set(err,
					  "probe %zu (%s) runs on machine "
					  "\"%s\", which the instance does "
					  "not list",
					  i, all[i]->kind_name, where);
			goto out;
		}
		if (!where) {
			targets[i] =
			    find_machine(machines, n_machines, all[i]->machine);
			if (!targets[i]) {
				rc = tl_error_set(
				    err,
				    "probe %zu (%s) targets machine "
				    "\"%s\", which the instance "
				    "does not list",
				    i, all[i]->kind_name, all[i]->machine);
				goto out;
			}
		}
		job *j = &jobs[slot];
		j->m = m;
		j->probes =
		    tl_xrealloc(j->probes, (j->n + 1) * sizeof *j->probes);
		j->index = tl_xrealloc(j->index, (j->n + 1) * sizeof *j->index);
		j->probes[j->n] = all[i];
		j->index[j->n] = i;
		j->n++;
	}
	pthread_t *th = tl_xcalloc(n_machines + 1, sizeof *th);
	bool *started = tl_xcalloc(n_machines + 1, sizeof *started);
	for (size_t s_ = 0; s_ <= n_machines; s_++) {
		job *j = &jobs[s_];
		if (!j->n)
			continue;
		j->ret = tl_xcalloc(j->n, sizeof *j->ret);
		if (s_ == n_machines) {
			const tl_probe_machine **t =
			    tl_xcalloc(j->n, sizeof *t);
			for (size_t q = 0; q < j->n; q++)
				t[q] = targets[j->index[q]];
			j->targets = t;
		}
		started[s_] = pthread_create(&th[s_], NULL, job_run, j) == 0;
		if (!started[s_])
			job_run(j);
	}
	for (size_t s_ = 0; s_ <= n_machines; s_++) {
		job *j = &jobs[s_];
		if (!j->n)
			continue;
		if (started[s_])
			pthread_join(th[s_], NULL);
		if (j->rc < 0 && rc == 0) {
			*err = j->err;
			rc = -1;
		}
		/* results move into the instance's array */
		for (size_t q = 0; q < j->n; q++)
			ret[j->index[q]] = j->ret[q];
		free(j->ret);
		free((void *)j->targets);
	}
	free(th);
	free(started);
	if (rc == 0)
		tl_probe_crosscheck(all, ret, n);
out:
	for (size_t s_ = 0; s_ <= n_machines; s_++) {
		free(jobs[s_].probes);
		free(jobs[s_].index);
	}
	free(jobs);
	free(targets);
	free(all);
	return rc;
}
