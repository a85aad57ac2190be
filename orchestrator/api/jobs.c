/*
 * jobs.c: the job layer — a fixed pool of workers that provision, set up,
 * grade, stop, reset and tear down instances through the backend, and a
 * ticker that closes sessions whose time window ended.
 *
 * A job is a row in the store before anything is done for it; a worker
 * claims the oldest queued job whose instance has none running (so one
 * instance's jobs run one at a time, in order), runs it, and records how
 * it ended. A grading run is stored in the same transaction that ends its
 * job: a run is never lost nor stored twice.
 *
 * After a crash (tl_jobs_recover, before the workers start): a provision
 * or setup job that was running is rolled back — the backend removes
 * whatever exists of the instance, which goes back to "pending" — and
 * provisioning is queued again; any other running job (grade, stop,
 * reset, teardown: idempotent or atomic) is queued again as it was. Then
 * the backend reconciles: anything tagged as tssrlab's that belongs to no
 * live instance is removed.
 */
#include <string.h>
#include <time.h>

#include "tssrlabd.h"

#define ERRLEN 400

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void log_store(tl_daemon *d, int rc, const char *what,
		      const tl_error *err)
{
	if (rc == TL_STORE_FULL)
		atomic_fetch_add(&d->store_full, 1);
	tl_log(rc == TL_STORE_FULL ? TL_LOG_ERROR : TL_LOG_WARN, "store.error",
	       "what=%s error=\"%s\"", what, err->msg);
}

void tl_jobs_kick(tl_daemon *d)
{
	pthread_mutex_lock(&d->jobs_lock);
	pthread_cond_broadcast(&d->jobs_cond);
	pthread_mutex_unlock(&d->jobs_lock);
}

int tl_jobs_queue(tl_daemon *d, const char *kind, const char *session,
		  int64_t instance, const char *target, int64_t *ret_id,
		  tl_error *err)
{
	int rc = tl_store_job_add(d->store, kind, session, instance, target,
				  ret_id, err);
	if (rc == 0)
		tl_jobs_kick(d);
	return rc;
}

/* ---- progress events ---- */

static void publish_instance(tl_daemon *d, const json_t *inst,
			     const char *state, const char *error)
{
	const char *session =
	    json_string_value(json_object_get(inst, "session"));
	int64_t id = json_integer_value(json_object_get(inst, "id"));
	tl_events_publish(d->events, session, id, "instance",
			  json_pack("{s:O,s:s,s:s?}", "trainee",
				    json_object_get(inst, "trainee"), "state",
				    state, "error", error));
}

/* ---- one job ---- */

typedef struct job_ctx {
	tl_daemon *d;
	int64_t id;
	const char *kind, *session, *target;
	int64_t instance;
	json_t *inst; /* the instance row (with machines), or NULL */
	tl_defs_ref *defs;
	const tl_scenario *scenario;
	tl_backend_instance bi;
	tl_error err;
} job_ctx;

static const char *inst_state(const job_ctx *j)
{
	const char *s = json_string_value(json_object_get(j->inst, "state"));
	return s ? s : "";
}

static const char *session_state(const job_ctx *j)
{
	const char *s =
	    json_string_value(json_object_get(j->inst, "session_state"));
	return s ? s : "";
}

static int set_instance(job_ctx *j, const char *state, const char *error)
{
	tl_error e;
	int rc = tl_store_instance_set_state(j->d->store, j->instance, state,
					     error, &e);
	if (rc < 0)
		log_store(j->d, rc, "instance state", &e);
	publish_instance(j->d, j->inst, state, error);
	return rc;
}

/* Provision: create every machine; all or nothing. */
static int job_provision(job_ctx *j)
{
	tl_daemon *d = j->d;
	if (strcmp(session_state(j), "active")) {
		set_instance(j, "stopped",
			     "the session ended before "
			     "provisioning");
		return 0;
	}
	if (strcmp(inst_state(j), "pending") && strcmp(inst_state(j), "failed"))
		return tl_error_set(&j->err, "instance is %s, not pending",
				    inst_state(j));
	set_instance(j, "provisioning", NULL);
	json_t *machines = NULL;
	char *host = NULL;
	if (d->backend->create(d->backend, &j->bi, &machines, &host, &j->err) <
	    0) {
		set_instance(j, "failed", j->err.msg);
		return -1;
	}
	tl_error e;
	int rc = tl_store_tx_begin(d->store, &e);
	if (rc == 0) {
		rc = tl_store_machines_put(d->store, j->instance, machines, &e);
		if (rc == 0)
			rc = tl_store_instance_set_host(d->store, j->instance,
							host, &e);
		if (rc == 0)
			rc = tl_store_job_add(d->store, "setup", j->session,
					      j->instance, NULL, NULL, &e);
		if (rc == 0)
			rc = tl_store_tx_commit(d->store, &e);
		else
			tl_store_tx_rollback(d->store);
	}
	json_decref(machines);
	free(host);
	if (rc < 0) {
		/* the store could not record the machines: do not keep
		 * machines nobody knows of */
		log_store(d, rc, "machines", &e);
		tl_error ignore;
		d->backend->destroy(d->backend, &j->bi, &ignore);
		tl_error_set(&j->err, "%s", e.msg);
		set_instance(j, "failed", e.msg);
		return -1;
	}
	tl_jobs_kick(d);
	return 0;
}

static int job_setup(job_ctx *j)
{
	tl_daemon *d = j->d;
	if (strcmp(session_state(j), "active")) {
		d->backend->stop(d->backend, &j->bi, &j->err);
		set_instance(j, "stopped", NULL);
		return 0;
	}
	if (d->backend->setup(d->backend, &j->bi, &j->err) < 0) {
		tl_error ignore;
		d->backend->destroy(d->backend, &j->bi, &ignore);
		tl_store_machines_delete(d->store, j->instance, &ignore);
		set_instance(j, "failed", j->err.msg);
		return -1;
	}
	set_instance(j, "ready", NULL);
	return 0;
}

static json_t *criteria_rows(const json_t *grade_json)
{
	json_t *rows = json_array();
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(grade_json, "criteria"), i, c)
		json_array_append_new(
		    rows,
		    json_pack("{s:O,s:O,s:O,s:O}", "criterion",
			      json_object_get(c, "id"), "state",
			      json_object_get(c, "state"), "score",
			      json_object_get(c, "score"), "evidence", c));
	return rows;
}

static int job_grade(job_ctx *j)
{
	tl_daemon *d = j->d;
	const char *kind = j->target ? j->target : "trainer";
	if (strcmp(inst_state(j), "ready"))
		return tl_error_set(
		    &j->err,
		    "instance of %s is %s, not ready: not "
		    "graded",
		    json_string_value(json_object_get(j->inst, "trainee")),
		    inst_state(j));
	int64_t started = now_s();
	tl_events_publish(d->events, j->session, j->instance, "grading",
			  json_pack("{s:O,s:s}", "trainee",
				    json_object_get(j->inst, "trainee"), "kind",
				    kind));
	size_t n = tl_scenario_count_probes(j->scenario);
	tl_probe_result *res = tl_xcalloc(n ? n : 1, sizeof *res);
	int rc = d->backend->grade(d->backend, &j->bi, res, &j->err);
	json_t *manual = NULL;
	tl_error e;
	if (rc == 0 &&
	    (rc = tl_store_manual_list(d->store, j->instance, &manual, &e)) < 0)
		tl_error_set(&j->err, "%s", e.msg);
	tl_grade g = {0};
	json_t *gj = NULL;
	if (rc == 0) {
		size_t nm = 0;
		tl_manual_score *m = tl_grader_manual(manual, &nm);
		rc = tl_grade_compute(j->scenario, res, n, m, nm, &g, &j->err);
		free(m);
	}
	if (rc == 0) {
		gj = tl_grade_to_json(&g, res);
		json_t *rows = criteria_rows(gj);
		json_t *totals = json_pack(
		    "{s:O,s:O,s:O,s:O}", "tasks", json_object_get(gj, "tasks"),
		    "competences", json_object_get(gj, "competences"), "blocks",
		    json_object_get(gj, "blocks"), "total",
		    json_object_get(gj, "total"));
		int64_t run = 0;
		rc = tl_store_run_put(d->store, j->instance, kind, j->id,
				      started, now_s(), g.total.score,
				      g.total.max, totals, rows, &run, &e);
		json_decref(rows);
		json_decref(totals);
		if (rc < 0) {
			log_store(d, rc, "grading run", &e);
			tl_error_set(&j->err, "%s", e.msg);
		} else {
			tl_events_publish(
			    d->events, j->session, j->instance, "graded",
			    json_pack("{s:O,s:s,s:I,s:f,s:f}", "trainee",
				      json_object_get(j->inst, "trainee"),
				      "kind", kind, "run", (json_int_t)run,
				      "score", g.total.score, "max",
				      g.total.max));
			rc = 1; /* the job was ended with the run */
		}
	}
	json_decref(gj);
	json_decref(manual);
	tl_grade_clear(&g);
	tl_probe_results_free(res, n);
	return rc;
}

/* After a stop or teardown job has ended: when it was the session's last
 * job, the session moves on (ending -> ended, destroying -> destroyed).
 * Checked in one transaction after the job's own end, so that of two
 * workers ending the last two jobs at once, exactly one sees none left. */
static void close_if_done(tl_daemon *d, const char *session, const char *from,
			  const char *to)
{
	tl_error e;
	json_t *s = NULL;
	int64_t pending = 1;
	bool moved = false;
	if (tl_store_tx_begin(d->store, &e) < 0)
		return;
	int rc = tl_store_session_row(d->store, session, &s, &e);
	if (rc == 0)
		rc = tl_store_jobs_pending(d->store, session, 0, NULL, &pending,
					   &e);
	if (rc == 0 && pending == 0 &&
	    !strcmp(json_string_value(json_object_get(s, "state")) ?: "",
		    from)) {
		rc = tl_store_session_set_state(d->store, session, to, &e);
		moved = rc == 0;
	}
	if (rc == 0)
		rc = tl_store_tx_commit(d->store, &e);
	else
		tl_store_tx_rollback(d->store);
	json_decref(s);
	if (rc < 0)
		log_store(d, rc, "session state", &e);
	else if (moved) {
		tl_log(TL_LOG_INFO, "session.state", "session=%s state=%s",
		       session, to);
		tl_events_publish(d->events, session, 0, "session",
				  json_pack("{s:s}", "state", to));
	}
}

static int job_stop(job_ctx *j)
{
	tl_daemon *d = j->d;
	if (json_array_size(json_object_get(j->inst, "machines")) &&
	    d->backend->stop(d->backend, &j->bi, &j->err) < 0)
		return -1;
	const char *st = inst_state(j);
	if (strcmp(st, "failed") && strcmp(st, "destroyed"))
		set_instance(j, "stopped", NULL);
	return 0;
}

static int job_teardown(job_ctx *j)
{
	tl_daemon *d = j->d;
	if (d->backend->destroy(d->backend, &j->bi, &j->err) < 0)
		return -1;
	tl_error e;
	int rc = tl_store_machines_delete(d->store, j->instance, &e);
	if (rc < 0) {
		log_store(d, rc, "machines", &e);
		return tl_error_set(&j->err, "%s", e.msg);
	}
	set_instance(j, "destroyed", NULL);
	return 0;
}

static int job_reset(job_ctx *j)
{
	tl_daemon *d = j->d;
	if (strcmp(inst_state(j), "ready"))
		return tl_error_set(&j->err, "instance is %s, not ready",
				    inst_state(j));
	json_t *machines = NULL;
	if (d->backend->reset(d->backend, &j->bi, j->target, &machines,
			      &j->err) < 0)
		return -1;
	if (machines) {
		tl_error e;
		int rc =
		    tl_store_machines_put(d->store, j->instance, machines, &e);
		json_decref(machines);
		if (rc < 0) {
			log_store(d, rc, "machines", &e);
			return tl_error_set(&j->err, "%s", e.msg);
		}
	}
	tl_events_publish(d->events, j->session, j->instance, "reset",
			  json_pack("{s:O,s:s}", "trainee",
				    json_object_get(j->inst, "trainee"),
				    "machine", j->target));
	return 0;
}

/* One reference-solution script on one machine. */
static int solve_one(job_ctx *j, const char *machine, const char *rel)
{
	tl_daemon *d = j->d;
	TL_AUTOFREE char *dir = tl_xstrdup(j->scenario->file);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	TL_AUTOFREE char *path =
	    slash ? tl_xasprintf("%s/%s", dir, rel) : tl_xstrdup(rel);
	TL_AUTOFREE char *script = tl_file_read(path, 1u << 20, NULL, &j->err);
	if (!script)
		return -1;
	TL_AUTOFREE char *output = NULL;
	double t0 = tl_now_ms();
	int rc = d->backend->run(d->backend, &j->bi, machine, script, 900,
				 &output, &j->err);
	if (rc < 0)
		tl_error_prefix(&j->err, "%s on %s", rel, machine);
	tl_log(rc < 0 ? TL_LOG_WARN : TL_LOG_INFO, "solution",
	       "instance=%lld machine=%s script=%s ok=%d took_s=%.1f",
	       (long long)j->instance, machine, rel, rc == 0,
	       (tl_now_ms() - t0) / 1000.0);
	return rc;
}

/* The scenario's reference solution: every machine's script in the
 * scenario's order ("full"), or its one partial script ("half"). */
static int job_solve(job_ctx *j)
{
	if (strcmp(inst_state(j), "ready"))
		return tl_error_set(&j->err, "instance is %s, not ready",
				    inst_state(j));
	const tl_scenario *s = j->scenario;
	bool half = j->target && !strcmp(j->target, "half");
	if (half) {
		if (!s->partial_solution)
			return tl_error_set(&j->err,
					    "scenario %s has no "
					    "partial_solution",
					    s->id);
		return solve_one(j, s->partial_solution_machine,
				 s->partial_solution);
	}
	if (!s->n_solutions)
		return tl_error_set(&j->err, "scenario %s has no solution",
				    s->id);
	for (size_t i = 0; i < s->n_solutions; i++)
		if (solve_one(j, s->solutions[i].machine,
			      s->solutions[i].script) < 0)
			return -1;
	tl_events_publish(j->d->events, j->session, j->instance, "solution",
			  json_pack("{s:O,s:s}", "trainee",
				    json_object_get(j->inst, "trainee"),
				    "part", half ? "half" : "full"));
	return 0;
}

static void run_job(tl_daemon *d, json_t *job)
{
	job_ctx j = {.d = d};
	j.id = json_integer_value(json_object_get(job, "id"));
	j.kind = json_string_value(json_object_get(job, "kind"));
	j.session = json_string_value(json_object_get(job, "session"));
	j.target = json_string_value(json_object_get(job, "target"));
	j.instance = json_integer_value(json_object_get(job, "instance"));
	int rc = -1;
	tl_log(TL_LOG_INFO, "job.start", "job=%lld kind=%s instance=%lld",
	       (long long)j.id, j.kind, (long long)j.instance);
	if (j.instance &&
	    tl_store_instance_by_id(d->store, j.instance, &j.inst, &j.err) < 0)
		goto end;
	j.defs = tl_daemon_defs_get(d);
	const char *scen =
	    json_string_value(json_object_get(j.inst, "scenario"));
	j.scenario =
	    scen && j.defs ? tl_defs_scenario(j.defs->defs, scen) : NULL;
	if (!j.scenario) {
		tl_error_set(&j.err, "scenario \"%s\" is no longer defined",
			     scen ? scen : "?");
		goto end;
	}
	j.bi.id = j.instance;
	j.bi.session = j.session;
	j.bi.trainee = json_string_value(json_object_get(j.inst, "trainee"));
	j.bi.scenario = j.scenario;
	j.bi.machines = json_object_get(j.inst, "machines");
	if (!strcmp(j.kind, "provision"))
		rc = job_provision(&j);
	else if (!strcmp(j.kind, "setup"))
		rc = job_setup(&j);
	else if (!strcmp(j.kind, "grade"))
		rc = job_grade(&j);
	else if (!strcmp(j.kind, "stop"))
		rc = job_stop(&j);
	else if (!strcmp(j.kind, "teardown"))
		rc = job_teardown(&j);
	else if (!strcmp(j.kind, "reset"))
		rc = job_reset(&j);
	else if (!strcmp(j.kind, "solve"))
		rc = job_solve(&j);
	else
		tl_error_set(&j.err, "unknown job kind \"%s\"", j.kind);
end:
	if (rc < 0) {
		atomic_fetch_add(&d->jobs_failed, 1);
		tl_log(TL_LOG_WARN, "job.failed",
		       "job=%lld kind=%s instance=%lld error=\"%.*s\"",
		       (long long)j.id, j.kind, (long long)j.instance, ERRLEN,
		       j.err.msg);
	} else {
		atomic_fetch_add(&d->jobs_done, 1);
		tl_log(TL_LOG_INFO, "job.done", "job=%lld kind=%s",
		       (long long)j.id, j.kind);
	}
	if (rc <= 0) {
		tl_error e;
		int r = tl_store_job_finish(d->store, j.id,
					    rc < 0 ? "failed" : "done",
					    rc < 0 ? j.err.msg : NULL, &e);
		if (r < 0)
			log_store(d, r, "job end", &e);
	}
	if (j.session && !strcmp(j.kind, "stop"))
		close_if_done(d, j.session, "ending", "ended");
	else if (j.session && !strcmp(j.kind, "teardown"))
		close_if_done(d, j.session, "destroying", "destroyed");
	json_decref(j.inst);
	tl_daemon_defs_put(d, j.defs);
}

static void *worker_main(void *arg)
{
	tl_daemon *d = arg;
	for (;;) {
		pthread_mutex_lock(&d->jobs_lock);
		bool stop = d->stopping;
		pthread_mutex_unlock(&d->jobs_lock);
		if (stop)
			break;
		json_t *job = NULL;
		tl_error e;
		int rc = tl_store_job_claim(d->store, &job, &e);
		if (rc == 0) {
			atomic_fetch_add(&d->jobs_running, 1);
			run_job(d, job);
			atomic_fetch_sub(&d->jobs_running, 1);
			json_decref(job);
			continue;
		}
		if (rc != TL_STORE_NOTFOUND)
			log_store(d, rc, "job claim", &e);
		/* nothing to do: sleep until kicked, at most a second */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_mutex_lock(&d->jobs_lock);
		if (!d->stopping)
			pthread_cond_timedwait(&d->jobs_cond, &d->jobs_lock,
					       &ts);
		pthread_mutex_unlock(&d->jobs_lock);
	}
	return NULL;
}

/* ---- sessions' time windows ---- */

int tl_jobs_end_session(tl_daemon *d, const char *session, const char *actor,
			tl_error *err)
{
	json_t *s = NULL;
	int rc = tl_store_session_get(d->store, session, &s, err);
	if (rc < 0)
		return rc;
	const char *state = json_string_value(json_object_get(s, "state"));
	if (strcmp(state, "active")) {
		json_decref(s);
		tl_error_set(err, "session \"%s\" is %s, not active", session,
			     state);
		return TL_STORE_CONFLICT;
	}
	rc = tl_store_tx_begin(d->store, err);
	if (rc == 0) {
		rc = tl_store_session_set_state(d->store, session, "ending",
						err);
		size_t i, queued = 0;
		json_t *inst;
		json_array_foreach (json_object_get(s, "instances"), i, inst) {
			if (rc < 0)
				break;
			const char *st =
			    json_string_value(json_object_get(inst, "state"));
			int64_t id =
			    json_integer_value(json_object_get(inst, "id"));
			if (!strcmp(st, "destroyed") || !strcmp(st, "stopped"))
				continue;
			if (!strcmp(st, "ready") ||
			    !strcmp(st, "provisioning") ||
			    !strcmp(st, "pending"))
				rc =
				    tl_store_job_add(d->store, "grade", session,
						     id, "final", NULL, err);
			if (rc == 0)
				rc = tl_store_job_add(d->store, "stop", session,
						      id, NULL, NULL, err);
			queued++;
		}
		if (rc == 0 && queued == 0)
			rc = tl_store_session_set_state(d->store, session,
							"ended", err);
		if (rc == 0)
			rc = tl_store_audit(d->store, actor, "session.end",
					    session, NULL, err);
		if (rc == 0)
			rc = tl_store_tx_commit(d->store, err);
		else
			tl_store_tx_rollback(d->store);
	}
	json_decref(s);
	if (rc == 0) {
		tl_log(TL_LOG_INFO, "session.end", "session=%s by=%s", session,
		       actor);
		tl_events_publish(d->events, session, 0, "session",
				  json_pack("{s:s}", "state", "ending"));
		tl_jobs_kick(d);
	}
	return rc;
}

static void *ticker_main(void *arg)
{
	tl_daemon *d = arg;
	int64_t last_beat = now_s();
	for (;;) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long ns = ts.tv_nsec + (long)d->cfg.tick_ms * 1000000L;
		ts.tv_sec += ns / 1000000000L;
		ts.tv_nsec = ns % 1000000000L;
		pthread_mutex_lock(&d->jobs_lock);
		if (!d->stopping)
			pthread_cond_timedwait(&d->jobs_cond, &d->jobs_lock,
					       &ts);
		bool stop = d->stopping;
		pthread_mutex_unlock(&d->jobs_lock);
		if (stop)
			break;
		json_t *ids = NULL;
		tl_error e;
		if (tl_store_sessions_expired(d->store, now_s(), &ids, &e) ==
		    0) {
			size_t i;
			json_t *id;
			json_array_foreach (ids, i, id) {
				tl_error e2;
				int rc = tl_jobs_end_session(
				    d, json_string_value(id), "time-window",
				    &e2);
				if (rc < 0 && rc != TL_STORE_CONFLICT)
					log_store(d, rc, "session end", &e2);
			}
			json_decref(ids);
		}
		if (now_s() - last_beat >= 15) {
			tl_events_heartbeat(d->events);
			last_beat = now_s();
		}
	}
	return NULL;
}

int tl_jobs_start(tl_daemon *d, tl_error *err)
{
	d->n_workers = d->cfg.workers;
	d->workers = tl_xcalloc((size_t)d->n_workers, sizeof *d->workers);
	for (int i = 0; i < d->n_workers; i++)
		if (pthread_create(&d->workers[i], NULL, worker_main, d)) {
			d->n_workers = i;
			return tl_error_set(err, "cannot start job worker %d",
					    i);
		}
	if (pthread_create(&d->ticker, NULL, ticker_main, d))
		return tl_error_set(err, "cannot start the session ticker");
	d->ticker_started = true;
	return 0;
}

void tl_jobs_stop(tl_daemon *d)
{
	pthread_mutex_lock(&d->jobs_lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->jobs_cond);
	pthread_mutex_unlock(&d->jobs_lock);
	for (int i = 0; i < d->n_workers; i++)
		pthread_join(d->workers[i], NULL);
	if (d->ticker_started)
		pthread_join(d->ticker, NULL);
	d->ticker_started = false;
	free(d->workers);
	d->workers = NULL;
	d->n_workers = 0;
}

/* ---- crash recovery ---- */

static int rollback_provision(tl_daemon *d, const json_t *job, tl_error *err)
{
	int64_t id = json_integer_value(json_object_get(job, "id"));
	int64_t inst_id = json_integer_value(json_object_get(job, "instance"));
	const char *kind = json_string_value(json_object_get(job, "kind"));
	json_t *inst = NULL;
	int rc = tl_store_instance_by_id(d->store, inst_id, &inst, err);
	if (rc < 0)
		return rc;
	tl_backend_instance bi = {
	    .id = inst_id,
	    .session = json_string_value(json_object_get(inst, "session")),
	    .trainee = json_string_value(json_object_get(inst, "trainee")),
	    .machines = json_object_get(inst, "machines"),
	};
	rc = d->backend->destroy(d->backend, &bi, err);
	if (rc == 0)
		rc = tl_store_tx_begin(d->store, err);
	if (rc == 0) {
		char why[128];
		snprintf(why, sizeof why,
			 "tssrlabd stopped during %s: rolled back", kind);
		bool active = !strcmp(
		    json_string_value(json_object_get(inst, "session_state")),
		    "active");
		rc = tl_store_machines_delete(d->store, inst_id, err);
		if (rc == 0)
			rc = tl_store_instance_set_state(
			    d->store, inst_id, active ? "pending" : "stopped",
			    NULL, err);
		if (rc == 0)
			rc = tl_store_job_finish(d->store, id, "rolled_back",
						 why, err);
		if (rc == 0 && active)
			rc = tl_store_job_add(d->store, "provision", bi.session,
					      inst_id, NULL, NULL, err);
		if (rc == 0)
			rc = tl_store_audit(d->store, "tssrlabd",
					    "job.rollback", kind, why, err);
		if (rc == 0)
			rc = tl_store_tx_commit(d->store, err);
		else
			tl_store_tx_rollback(d->store);
	}
	json_decref(inst);
	if (rc == 0)
		tl_log(TL_LOG_WARN, "job.rollback",
		       "job=%lld kind=%s instance=%lld requeued=provision",
		       (long long)id, kind, (long long)inst_id);
	return rc;
}

int tl_jobs_recover(tl_daemon *d, tl_error *err)
{
	json_t *running = NULL;
	int rc = tl_store_jobs_in_state(d->store, "running", &running, err);
	if (rc < 0)
		return rc;
	size_t i;
	json_t *job;
	json_array_foreach (running, i, job) {
		const char *kind =
		    json_string_value(json_object_get(job, "kind"));
		int64_t id = json_integer_value(json_object_get(job, "id"));
		if (!strcmp(kind, "provision") || !strcmp(kind, "setup")) {
			rc = rollback_provision(d, job, err);
		} else {
			rc = tl_store_job_requeue(d->store, id, err);
			if (rc == 0)
				tl_log(TL_LOG_WARN, "job.resume",
				       "job=%lld kind=%s", (long long)id, kind);
		}
		if (rc < 0)
			break;
	}
	json_decref(running);
	if (rc < 0)
		return rc;
	json_t *live = NULL;
	if ((rc = tl_store_instances_live(d->store, &live, err)) < 0)
		return rc;
	size_t n = json_array_size(live);
	tl_backend_instance *bis = tl_xcalloc(n ? n : 1, sizeof *bis);
	tl_defs_ref *ref = tl_daemon_defs_get(d);
	for (size_t k = 0; k < n; k++) {
		json_t *inst = json_array_get(live, k);
		bis[k].id = json_integer_value(json_object_get(inst, "id"));
		bis[k].session =
		    json_string_value(json_object_get(inst, "session"));
		bis[k].trainee =
		    json_string_value(json_object_get(inst, "trainee"));
		bis[k].scenario = tl_defs_scenario(
		    ref->defs,
		    json_string_value(json_object_get(inst, "scenario")));
		bis[k].machines = json_object_get(inst, "machines");
	}
	size_t removed = 0;
	rc = d->backend->reconcile(d->backend, bis, n, &removed, err);
	tl_daemon_defs_put(d, ref);
	free(bis);
	json_decref(live);
	if (rc == 0)
		tl_log(TL_LOG_INFO, "reconcile", "live=%zu removed=%zu", n,
		       removed);
	return rc;
}
