/*
 * instance.c: creating a planned instance in libvirt, and taking it away.
 *
 * Creation is a job in two stages: prepare (networks, overlays, domain
 * definitions) and boot (starts, readiness, personalisation). A class is
 * prepared entirely before any of it boots (batch.c), so that booting
 * guests, which take all the CPU under TCG, do not slow the preparation
 * of the others. Each object created is remembered, and on any failure
 * (libvirt error, SSH timeout, the caller cancelling through the progress
 * callback) they are removed in reverse order before the error, which
 * carries libvirt's own message, goes back. Nothing that existed before
 * the call is touched: planning refused names already in use.
 *
 * Destruction does not trust the tl_prov_instance: it scans the host and
 * removes every object named or tagged for (session, instance), so an
 * instance half-created by a killed process goes away as well.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "prov-internal.h"

const char *tl_prov_phase_name(tl_prov_phase phase)
{
	switch (phase) {
	case TL_PROV_PHASE_PLACED:
		return "placed";
	case TL_PROV_PHASE_NETWORK:
		return "network";
	case TL_PROV_PHASE_VOLUME:
		return "volume";
	case TL_PROV_PHASE_DEFINED:
		return "defined";
	case TL_PROV_PHASE_STARTED:
		return "started";
	case TL_PROV_PHASE_READY:
		return "ready";
	case TL_PROV_PHASE_PERSONALISED:
		return "personalised";
	case TL_PROV_PHASE_DONE:
		return "done";
	case TL_PROV_PHASE_FAILED:
		return "failed";
	}
	return "?";
}

void tl_prov_run_init(tl_prov_run *run, tl_prov_progress_fn fn, void *ud)
{
	memset(run, 0, sizeof *run);
	run->fn = fn;
	run->ud = ud;
	run->t0 = tl_now_ms();
	pthread_mutex_init(&run->mu, NULL);
}

void tl_prov_run_fini(tl_prov_run *run)
{
	pthread_mutex_destroy(&run->mu);
}

size_t tl_prov_run_steps(const tl_prov_request *req)
{
	size_t m = req->lab ? req->lab->n_machines : 0;
	size_t n = 2 + (req->lab ? req->lab->n_networks : 0) + 2 * m;
	if (!(req->flags & TL_PROV_NO_START)) {
		n += m;
		if (!(req->flags & TL_PROV_NO_READY)) {
			n += m;
			if (!(req->flags & TL_PROV_NO_PERSONALISE))
				n += m;
		}
	}
	return n;
}

int tl_prov_run_step(tl_prov_run *run, const tl_prov_instance *inst,
		     const char *object, tl_prov_phase phase,
		     const char *message)
{
	pthread_mutex_lock(&run->mu);
	if (phase != TL_PROV_PHASE_FAILED && run->done < run->total)
		run->done++;
	int rc = 0;
	if (run->fn) {
		tl_prov_progress ev = {
		    .session = inst ? inst->session : NULL,
		    .instance = inst ? inst->instance : NULL,
		    .object = object,
		    .phase = phase,
		    .done = run->done,
		    .total = run->total,
		    .elapsed_ms = tl_now_ms() - run->t0,
		    .message = message,
		};
		rc = run->fn(run->ud, &ev);
	}
	pthread_mutex_unlock(&run->mu);
	return rc;
}

tl_prov_machine *tl_prov_machine_find(tl_prov_instance *inst, const char *id,
				      tl_error *err)
{
	tl_prov_machine *m = tl_prov_instance_machine(inst, id);
	if (!m)
		tl_error_set(err, "instance %s/%s: no machine \"%s\"",
			     inst ? inst->session : "?",
			     inst ? inst->instance : "?", id ? id : "");
	return m;
}

tl_prov_machine *tl_prov_instance_machine(tl_prov_instance *inst,
					  const char *id)
{
	if (!inst || !id)
		return NULL;
	for (size_t i = 0; i < inst->n_machines; i++)
		if (!strcmp(inst->machines[i].id, id))
			return &inst->machines[i];
	return NULL;
}

static int cancelled(tl_prov_run *run, const tl_prov_instance *inst,
		     const char *object, tl_prov_phase phase, tl_error *err)
{
	if (!run || tl_prov_run_step(run, inst, object, phase, NULL) == 0)
		return 0;
	return tl_error_set(err,
			    "instance %s/%s: cancelled by the caller after "
			    "phase %s of %s",
			    inst->session, inst->instance,
			    tl_prov_phase_name(phase), object ? object : "it");
}

/* An instance's machines are brought up side by side, one thread each:
 * start (QEMU's own start takes a second or more), wait for SSH, then
 * personalise, as the request's flags allow. A machine is personalised
 * as soon as it answers, whatever its siblings do; under emulation each
 * personalisation is seconds of guest CPU, and each guest has its own
 * vCPU thread on the host, so they overlap instead of queueing. Every
 * thread reads its own libvirt error; the first failure is the
 * instance's, and tells the others to stop at their next phase. */
typedef struct starter {
	const tl_prov *p;
	tl_prov_host *h;
	tl_prov_instance *inst;
	tl_prov_machine *m;
	tl_prov_run *run;
	unsigned flags;
	double *started;
	atomic_bool *failed; /* shared: some machine failed */
	int rc;
	tl_error err;
} starter;

static void start_one(starter *s)
{
	TL_AUTO(virDomain)
	dom = virDomainLookupByName(s->h->conn, s->m->domain);
	*s->started = tl_now_ms();
	if (dom && s->m->warm_state) {
		tl_error e = {{0}};
		double t0 = tl_now_ms();
		if (tl_prov_warm_start(s->h, s->m, dom, &e) == 0) {
			s->m->warm_started = true;
			tl_log(TL_LOG_INFO, "machine.warm_start",
			       "domain=%s took_s=%.1f", s->m->domain,
			       (tl_now_ms() - t0) / 1000.0);
			s->rc = cancelled(s->run, s->inst, s->m->id,
					  TL_PROV_PHASE_STARTED, &s->err);
			return;
		}
		/* the template's disk under it is the image's, booted: a cold
		 * boot of it works the same */
		tl_log(TL_LOG_WARN, "machine.warm_start",
		       "domain=%s fallback=cold_boot error=\"%s\"",
		       s->m->domain, e.msg);
		/* the refused QEMU is gone for libvirt; measured: a start in
		 * the same second can still fail ("process exited while
		 * connecting to monitor"), so give it a moment, and a second
		 * try */
		for (int i = 0; i < 50 && virDomainIsActive(dom) == 1; i++)
			tl_sleep_ms(200);
		tl_sleep_ms(1000);
		*s->started = tl_now_ms();
		if (virDomainCreate(dom) == 0) {
			s->rc = cancelled(s->run, s->inst, s->m->id,
					  TL_PROV_PHASE_STARTED, &s->err);
			return;
		}
		tl_log(TL_LOG_WARN, "machine.cold_start",
		       "domain=%s retry=1 error=\"%s\"", s->m->domain,
		       virGetLastErrorMessage());
		tl_sleep_ms(3000);
		*s->started = tl_now_ms();
	}
	if (!dom || virDomainCreate(dom) < 0) {
		s->rc = tl_prov_lv_error(&s->err,
					 "machine %s: cannot start domain %s",
					 s->m->id, s->m->domain);
		return;
	}
	s->rc = cancelled(s->run, s->inst, s->m->id, TL_PROV_PHASE_STARTED,
			  &s->err);
}

static void *machine_up(void *arg)
{
	starter *s = arg;
	start_one(s);
	if (s->rc == 0 && !(s->flags & TL_PROV_NO_READY) &&
	    !atomic_load(s->failed)) {
		if (tl_prov_wait_ready(s->p, s->h, s->m, *s->started,
				       s->p->ready_timeout_s, &s->err) < 0 ||
		    cancelled(s->run, s->inst, s->m->id, TL_PROV_PHASE_READY,
			      &s->err))
			s->rc = -1;
	}
	if (s->rc == 0 && !(s->flags & (TL_PROV_NO_READY |
					TL_PROV_NO_PERSONALISE)) &&
	    !atomic_load(s->failed)) {
		if (tl_prov_personalise_machine(s->p, s->inst, s->m,
						&s->err) < 0 ||
		    cancelled(s->run, s->inst, s->m->id,
			      TL_PROV_PHASE_PERSONALISED, &s->err))
			s->rc = -1;
	}
	if (s->rc < 0)
		atomic_store(s->failed, true);
	return NULL;
}

static int machines_up(const tl_prov *p, tl_prov_host *h,
		       tl_prov_instance *inst, tl_prov_run *run, unsigned flags,
		       double *started, tl_error *err)
{
	size_t nm = inst->n_machines;
	/* the trainee's password is the instance's, made once (planning
	 * did), never by two personalising threads at once */
	for (size_t i = 0; i < nm && !inst->trainee_password; i++)
		if (inst->machines[i].trainee &&
		    !(inst->trainee_password = tl_prov_password(12, err)))
			return -1;
	starter *st = tl_xcalloc(nm + 1, sizeof *st);
	pthread_t *th = tl_xcalloc(nm + 1, sizeof *th);
	bool *spawned = tl_xcalloc(nm + 1, sizeof *spawned);
	atomic_bool failed = false;
	for (size_t i = 0; i < nm; i++) {
		st[i] = (starter){.p = p,
				  .h = h,
				  .inst = inst,
				  .m = &inst->machines[i],
				  .run = run,
				  .flags = flags,
				  .started = &started[i],
				  .failed = &failed};
		spawned[i] =
		    pthread_create(&th[i], NULL, machine_up, &st[i]) == 0;
	}
	/* any a thread could not be made for, here, after the others */
	for (size_t i = 0; i < nm; i++)
		if (!spawned[i])
			machine_up(&st[i]);
	/* the instance's error: the first machine, in definition order,
	 * that failed for its own reason (not because a sibling did) */
	int rc = 0;
	for (size_t i = 0; i < nm; i++) {
		if (spawned[i])
			pthread_join(th[i], NULL);
		if (st[i].rc < 0 && rc == 0) {
			rc = -1;
			tl_error_set(err, "%s", st[i].err.msg);
		}
	}
	free(st);
	free(th);
	free(spawned);
	return rc;
}

void tl_prov_job_init(tl_prov_job *j, tl_prov_instance *inst,
		      const tl_prov_request *req)
{
	memset(j, 0, sizeof *j);
	j->inst = inst;
	j->req = req;
	size_t nm = inst->n_machines;
	j->networks = tl_xcalloc(inst->n_networks + 1, sizeof *j->networks);
	j->volumes = tl_xcalloc(nm + 1, sizeof *j->volumes);
	j->domains = tl_xcalloc(nm + 1, sizeof *j->domains);
	j->started = tl_xcalloc(nm + 1, sizeof *j->started);
}

void tl_prov_job_fini(tl_prov_job *j)
{
	free(j->networks);
	free(j->volumes);
	free(j->domains);
	free(j->started);
	j->networks = j->volumes = j->domains = NULL;
	j->started = NULL;
}

/* Undoes what the job created, keeping its first error. */
static int job_fail(tl_prov_job *j)
{
	tl_prov_host *h = j->inst->where;
	tl_error e = {{0}};
	int failed = 0;
	for (size_t i = j->n_domains; i-- > 0;)
		failed += tl_prov_domain_remove(h, j->domains[i], &e) < 0;
	for (size_t i = j->n_volumes; i-- > 0;)
		failed += tl_prov_volume_remove(h, j->volumes[i], &e) < 0;
	for (size_t i = j->n_networks; i-- > 0;)
		failed += tl_prov_network_remove(h, j->networks[i], &e) < 0;
	j->n_domains = j->n_volumes = j->n_networks = 0;
	if (failed) {
		char first[TL_ERROR_MAX];
		snprintf(first, sizeof first, "%s", j->err.msg);
		tl_error_set(&j->err,
			     "%s; and removing what was created failed: %s",
			     first, e.msg);
	}
	j->rc = -1;
	return -1;
}

int tl_prov_job_prepare(tl_prov_job *j, tl_prov_run *run)
{
	tl_prov_instance *inst = j->inst;
	tl_prov_host *h = inst->where;
	tl_error *err = &j->err;
	for (size_t i = 0; i < inst->n_networks; i++) {
		tl_prov_net *n = &inst->networks[i];
		TL_AUTO(virNetwork) net = virNetworkDefineXML(h->conn, n->xml);
		if (!net) {
			tl_prov_lv_error(err, "network %s: cannot define",
					 n->name);
			return job_fail(j);
		}
		j->networks[j->n_networks++] = n->name;
		if (virNetworkCreate(net) < 0) {
			tl_prov_lv_error(err, "network %s: cannot start",
					 n->name);
			return job_fail(j);
		}
		if (cancelled(run, inst, n->id, TL_PROV_PHASE_NETWORK, err))
			return job_fail(j);
	}

	TL_AUTO(virStoragePool) pool = tl_prov_pool_get(h, err);
	if (!pool)
		return job_fail(j);
	for (size_t i = 0; i < inst->n_machines; i++) {
		tl_prov_machine *m = &inst->machines[i];
		TL_AUTO(virStorageVol)
		vol = virStorageVolCreateXML(pool, m->volume_xml, 0);
		if (!vol) {
			tl_prov_lv_error(err,
					 "machine %s: cannot create overlay %s "
					 "on %s",
					 m->id, m->volume, m->base_disk);
			return job_fail(j);
		}
		j->volumes[j->n_volumes++] = m->volume;
		TL_AUTOFREE char *path = virStorageVolGetPath(vol);
		if (path && strcmp(path, m->volume_path)) {
			tl_error_set(err,
				     "machine %s: overlay created at %s, "
				     "expected %s",
				     m->id, path, m->volume_path);
			return job_fail(j);
		}
		if (cancelled(run, inst, m->id, TL_PROV_PHASE_VOLUME, err))
			return job_fail(j);
	}

	for (size_t i = 0; i < inst->n_machines; i++) {
		tl_prov_machine *m = &inst->machines[i];
		TL_AUTO(virDomain)
		dom = virDomainDefineXML(h->conn, m->domain_xml);
		if (!dom) {
			tl_prov_lv_error(err,
					 "machine %s: cannot define domain %s",
					 m->id, m->domain);
			return job_fail(j);
		}
		j->domains[j->n_domains++] = m->domain;
		if (cancelled(run, inst, m->id, TL_PROV_PHASE_DEFINED, err))
			return job_fail(j);
	}
	return 0;
}

int tl_prov_job_boot(tl_prov *p, tl_prov_job *j, tl_prov_run *run)
{
	tl_prov_instance *inst = j->inst;
	tl_prov_host *h = inst->where;
	unsigned flags = j->req->flags;
	tl_error *err = &j->err;
	if (flags & TL_PROV_NO_START)
		return 0;
	if (machines_up(p, h, inst, run, flags, j->started, err) < 0)
		return job_fail(j);
	return 0;
}

tl_prov_instance *tl_prov_instance_create(tl_prov *p,
					  const tl_prov_request *req,
					  tl_prov_progress_fn fn, void *ud,
					  tl_error *err)
{
	tl_prov_outcome out = {0};
	int rc = tl_prov_create_many(p, req, 1, fn, ud, &out, err);
	if (rc != 0) {
		if (rc > 0)
			tl_error_set(err, "%s", out.error.msg);
		return NULL;
	}
	return out.instance;
}

static bool keep_others(void *ud, const tl_prov_obj *o)
{
	const tl_prov_instance *inst = ud;
	return strcmp(o->session, inst->session) ||
	       strcmp(o->instance, inst->instance);
}

int tl_prov_instance_destroy(tl_prov *p, tl_prov_instance *inst, tl_error *err)
{
	if (!inst)
		return 0;
	tl_prov_host *h =
	    inst->where ? inst->where : tl_prov_host_find(p, inst->host);
	if (!h)
		return tl_error_set(err, "instance %s/%s: unknown host \"%s\"",
				    inst->session, inst->instance, inst->host);
	tl_error e = {{0}};
	size_t failed = 0;
	/* what inst lists, even if libvirt lost the tags */
	for (size_t i = 0; i < inst->n_machines; i++)
		failed +=
		    tl_prov_domain_remove(h, inst->machines[i].domain, &e) < 0;
	for (size_t i = 0; i < inst->n_machines; i++)
		failed +=
		    tl_prov_volume_remove(h, inst->machines[i].volume, &e) < 0;
	for (size_t i = 0; i < inst->n_networks; i++)
		failed +=
		    tl_prov_network_remove(h, inst->networks[i].name, &e) < 0;
	/* and whatever else carries the instance's name or tag */
	tl_prov_scan s;
	if (tl_prov_scan_host(h, &s, &e) < 0) {
		failed++;
	} else {
		failed += tl_prov_purge(h, &s, keep_others, inst, NULL, &e);
		tl_prov_scan_clear(&s);
	}
	if (failed)
		return tl_error_set(err,
				    "instance %s/%s: %zu object(s) not "
				    "removed: %s",
				    inst->session, inst->instance, failed,
				    e.msg);
	return 0;
}

tl_prov_instance *tl_prov_instance_free(tl_prov_instance *inst)
{
	if (!inst)
		return NULL;
	for (size_t i = 0; i < inst->n_machines; i++) {
		tl_prov_machine *m = &inst->machines[i];
		free(m->id);
		free(m->hostname);
		free(m->image_id);
		free(m->domain);
		free(m->volume);
		free(m->volume_path);
		free(m->base_disk);
		free(m->login_user);
		free(m->ssh_host);
		free(m->forwards);
		for (size_t k = 0; k < m->n_nics; k++) {
			free(m->nics[k].network);
			free(m->nics[k].mac);
			free(m->nics[k].address);
		}
		free(m->nics);
		free(m->host_fp);
		free(m->os);
		free(m->domain_xml);
		free(m->volume_xml);
		free(m->warm_state);
	}
	free(inst->machines);
	for (size_t i = 0; i < inst->n_networks; i++) {
		tl_prov_net *n = &inst->networks[i];
		free(n->id);
		free(n->name);
		free(n->bridge);
		free(n->lab_cidr);
		free(n->subnet);
		free(n->host_address);
		free(n->xml);
	}
	free(inst->networks);
	free(inst->session);
	free(inst->instance);
	free(inst->lab_id);
	free(inst->host);
	free(inst->trainee_user);
	if (inst->trainee_password) {
		/* a credential: do not leave it in freed memory */
		memset(inst->trainee_password, 0,
		       strlen(inst->trainee_password));
		free(inst->trainee_password);
	}
	free(inst);
	return NULL;
}

void tl_prov_machine_ssh_target(const tl_prov *p, const tl_prov_machine *m,
				tl_ssh_target *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->host = m->ssh_host;
	ret->port = m->ssh_port;
	ret->user = m->login_user;
	ret->key_path = p->key_path;
	ret->pinned_fp = m->host_fp;
	/* libssh applies it to every blocking step, the session start
	 * included: sshd's PAM session on a loaded emulated guest (or one
	 * whose resolver a trainee broke) can take well over 10 s */
	ret->connect_timeout_s = 60;
}

int tl_prov_instance_personalise(tl_prov *p, tl_prov_instance *inst,
				 tl_error *err)
{
	tl_prov_host *h =
	    inst->where ? inst->where : tl_prov_host_find(p, inst->host);
	if (!h)
		return tl_error_set(err, "instance %s/%s: unknown host \"%s\"",
				    inst->session, inst->instance, inst->host);
	double t0 = tl_now_ms();
	for (size_t i = 0; i < inst->n_machines; i++)
		if (tl_prov_wait_ready(p, h, &inst->machines[i], t0,
				       p->ready_timeout_s, err) < 0)
			return -1;
	for (size_t i = 0; i < inst->n_machines; i++)
		if (tl_prov_personalise_machine(p, inst, &inst->machines[i],
						err) < 0)
			return -1;
	return 0;
}
