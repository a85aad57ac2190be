/*
 * batch.c: creating a whole class of instances with a fixed pool of
 * worker threads.
 *
 * Everything is placed first, in one planning pass (all or nothing: a
 * class that does not fit is refused before any object exists). Then the
 * workers go over the planned instances twice, taking them one at a time
 * from a shared index: first preparing every instance (networks, overlays,
 * domain definitions), then booting them (start, readiness,
 * personalisation). Under TCG a booting guest takes all the CPU it can
 * get; preparing the whole class before the first guest starts keeps the
 * orchestration work off a starved CPU, so the last guest starts seconds
 * earlier (and a class that cannot be prepared fails before any guest
 * runs). Workers share the host's libvirt connection (thread safe, with
 * per-thread errors, so each failure carries its own libvirt message).
 * Progress events from all workers go through one lock, so the caller's
 * callback never runs twice at once.
 *
 * Planning looks at libvirt (what other processes created) plus this
 * process's reservations, which libvirt cannot show until the objects
 * exist. So that two processes on one machine (a daemon and `tssrlab
 * demo`, two test suites) never plan the same ports or subnets, the
 * placement lock (an flock on tl_prov_config.lock_path) is held from
 * planning until the first pass has defined every object of the call:
 * seconds, not the guests' boot. It orders the processes of this machine
 * only; a remote host shared by two orchestrator machines is not covered.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "prov-internal.h"

typedef struct batch {
	tl_prov *p;
	const tl_prov_request *reqs;
	tl_prov_job *jobs;
	size_t n;
	int pass;	    /* 1: prepare, 2: boot; set between passes */
	pthread_mutex_t mu; /* protects next */
	size_t next;
	tl_prov_run run;
} batch;

static void batch_one(batch *b, size_t i)
{
	tl_prov_job *j = &b->jobs[i];
	if (b->pass == 1) {
		if (tl_prov_run_step(&b->run, j->inst, NULL,
				     TL_PROV_PHASE_PLACED, NULL)) {
			tl_error_set(&j->err,
				     "instance %s/%s: cancelled by the caller "
				     "before creation",
				     j->inst->session, j->inst->instance);
			j->rc = -1;
		} else {
			tl_prov_job_prepare(j, &b->run);
		}
	} else if (j->rc == 0) {
		tl_prov_job_boot(b->p, j, &b->run);
		if (j->rc == 0)
			tl_prov_run_step(&b->run, j->inst, NULL,
					 TL_PROV_PHASE_DONE, NULL);
	}
	/* a failure is reported when it happens, once */
	if (j->rc < 0 && !j->ended) {
		j->ended = true;
		tl_prov_run_step(&b->run, j->inst, NULL, TL_PROV_PHASE_FAILED,
				 j->err.msg);
		tl_prov_release(b->p, j->inst);
	}
}

static void *batch_worker(void *arg)
{
	batch *b = arg;
	for (;;) {
		pthread_mutex_lock(&b->mu);
		size_t i = b->next++;
		pthread_mutex_unlock(&b->mu);
		if (i >= b->n)
			return NULL;
		batch_one(b, i);
	}
}

static void batch_pass(batch *b, int pass)
{
	b->pass = pass;
	b->next = 0;
	size_t nthreads =
	    (size_t)b->p->workers < b->n ? (size_t)b->p->workers : b->n;
	pthread_t *threads = tl_xcalloc(nthreads, sizeof *threads);
	size_t started = 0;
	for (size_t t = 1; t < nthreads; t++) {
		if (pthread_create(&threads[t], NULL, batch_worker, b) != 0)
			break; /* fewer workers: the others share the work */
		started = t;
	}
	batch_worker(b); /* this thread works too */
	for (size_t t = 1; t <= started; t++)
		pthread_join(threads[t], NULL);
	free(threads);
}

/* Takes the placement lock (blocking); the fd to close, -2 when there is
 * no lock, -1 on error. */
static int placement_lock(const tl_prov *p, tl_error *err)
{
	if (!*p->lock_path)
		return -2;
	/* read-only is enough for flock, and lets an unprivileged process
	 * share a lock file root created */
	int fd = open(p->lock_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return tl_error_set(err,
				    "placement lock %s: %s (a folder where "
				    "every process creating instances can "
				    "create or open it)",
				    p->lock_path, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		tl_error_set(err, "placement lock %s: flock: %s", p->lock_path,
			     strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void placement_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* Builds the warm templates the requests' machines will want, before the
 * placement lock (a build is a boot: up to minutes under TCG). A failure
 * only means cold boots: logged, not returned. */
static void warm_templates(tl_prov *p, const tl_prov_request *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const tl_prov_request *r = &reqs[i];
		if (!r->lab || (r->flags & (TL_PROV_NO_START | TL_PROV_NO_READY |
					    TL_PROV_NO_PERSONALISE)))
			continue;
		for (size_t hi = 0; hi < p->n_hosts; hi++) {
			tl_prov_host *h = p->hosts[hi];
			if (r->host && strcmp(r->host, h->name))
				continue;
			for (size_t k = 0; k < r->lab->n_machines; k++) {
				const tl_lab_machine *lm = &r->lab->machines[k];
				if (!tl_prov_warm_enabled(h, lm->image,
							  r->access))
					continue;
				tl_error e = {{0}};
				if (tl_prov_warm_ensure(p, h, lm, &e) < 0)
					tl_log(TL_LOG_WARN, "warm.template",
					       "host=%s machine=%s "
					       "fallback=cold_boot "
					       "error=\"%s\"",
					       h->name, lm->id, e.msg);
			}
		}
	}
}

int tl_prov_create_many(tl_prov *p, const tl_prov_request *reqs, size_t n,
			tl_prov_progress_fn fn, void *ud, tl_prov_outcome *ret,
			tl_error *err)
{
	memset(ret, 0, n * sizeof *ret);
	if (n == 0)
		return 0;
	warm_templates(p, reqs, n);
	int lock = placement_lock(p, err);
	if (lock == -1)
		return -1;
	tl_prov_instance **plans = tl_xcalloc(n, sizeof *plans);
	if (tl_prov_plan_all(p, reqs, n, plans, err) < 0) {
		placement_unlock(lock);
		free(plans);
		return -1;
	}
	batch b = {.p = p, .reqs = reqs, .n = n};
	b.jobs = tl_xcalloc(n, sizeof *b.jobs);
	for (size_t i = 0; i < n; i++)
		tl_prov_job_init(&b.jobs[i], plans[i], &reqs[i]);
	free(plans);
	tl_prov_run_init(&b.run, fn, ud);
	for (size_t i = 0; i < n; i++)
		b.run.total += tl_prov_run_steps(&reqs[i]);
	pthread_mutex_init(&b.mu, NULL);

	batch_pass(&b, 1);
	/* everything is defined: libvirt shows it to the other processes */
	placement_unlock(lock);
	batch_pass(&b, 2);

	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		tl_prov_job *j = &b.jobs[i];
		if (j->rc == 0) {
			tl_prov_release(p, j->inst);
			ret[i].instance = j->inst;
		} else {
			ret[i].error = j->err;
			tl_prov_instance_free(j->inst);
			failed++;
		}
		tl_prov_job_fini(j);
	}
	free(b.jobs);
	pthread_mutex_destroy(&b.mu);
	tl_prov_run_fini(&b.run);
	return failed;
}
