/*
 * backend_libvirt.c: the real backend — instances through the provisioner
 * (include/tssrlab/provision.h: libvirt hosts, linked clones, isolated
 * networks, readiness and personalisation), setup steps and grading
 * through the probe engine's SSH transport with the host key pinned
 * (include/tssrlab/probe.h), scores by tl_grade_compute in the job layer.
 *
 * The provisioner names every libvirt object after (session, trainee), so
 * an instance can always be found again; this file keeps the
 * tl_prov_instance of each instance it created or adopted (reconcile at
 * start-up rebuilds them from libvirt) in a small table keyed by the
 * store's instance id. Fingerprints come from the store when libvirt
 * cannot tell them (an adopted machine): the store is the pin.
 */
#include <errno.h>
#include <sys/stat.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tssrlab/provision.h"
#include "tssrlabd.h"

typedef struct cached {
	int64_t id;
	tl_prov_instance *inst;
	struct cached *next;
} cached;

typedef struct lv_backend {
	tl_prov *prov;
	tl_prov_access access;
	unsigned flags; /* TL_PROV_NO_READY with provision_wait = none */
	char *host_name;
	bool keep_orphans; /* reconcile = off: adopt ours, remove nothing */
	pthread_mutex_t lock; /* guards list (not the instances: the job
				 layer never runs two jobs of one instance) */
	cached *list;
} lv_backend;

static tl_prov_instance *cache_get(lv_backend *l, int64_t id)
{
	pthread_mutex_lock(&l->lock);
	tl_prov_instance *r = NULL;
	for (cached *c = l->list; c; c = c->next)
		if (c->id == id)
			r = c->inst;
	pthread_mutex_unlock(&l->lock);
	return r;
}

/* Takes ownership of inst (replacing an older one). */
static void cache_put(lv_backend *l, int64_t id, tl_prov_instance *inst)
{
	pthread_mutex_lock(&l->lock);
	for (cached *c = l->list; c; c = c->next)
		if (c->id == id) {
			tl_prov_instance_free(c->inst);
			c->inst = inst;
			pthread_mutex_unlock(&l->lock);
			return;
		}
	cached *c = tl_xcalloc(1, sizeof *c);
	c->id = id;
	c->inst = inst;
	c->next = l->list;
	l->list = c;
	pthread_mutex_unlock(&l->lock);
}

static void cache_drop(lv_backend *l, int64_t id)
{
	pthread_mutex_lock(&l->lock);
	for (cached **p = &l->list; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			cached *c = *p;
			*p = c->next;
			tl_prov_instance_free(c->inst);
			free(c);
			break;
		}
	pthread_mutex_unlock(&l->lock);
}

static tl_prov_request request(const lv_backend *l,
			       const tl_backend_instance *bi)
{
	return (tl_prov_request){
	    .session = bi->session,
	    .instance = bi->trainee,
	    .lab = bi->scenario ? bi->scenario->lab : NULL,
	    .access = l->access,
	    .trainee_user = "stagiaire",
	    .flags = l->flags,
	};
}

static json_t *machines_json(const tl_prov_instance *in)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < in->n_machines; i++) {
		const tl_prov_machine *m = &in->machines[i];
		json_array_append_new(
		    arr,
		    json_pack("{s:s,s:s?,s:i,s:s?,s:s?,s:s?,s:s}", "machine",
			      m->id, "access_host", m->ssh_host, "access_port",
			      m->ssh_port, "host_key_fp", m->host_fp, "user",
			      m->trainee ? in->trainee_user : m->login_user,
			      "password",
			      m->trainee ? in->trainee_password : NULL, "state",
			      "running"));
	}
	return arr;
}

/* Pins fingerprints the store knows on machines libvirt rebuilt. */
static void pin_from_store(tl_prov_instance *in, const json_t *machines)
{
	size_t i;
	json_t *m;
	json_array_foreach ((json_t *)machines, i, m) {
		const char *id =
		    json_string_value(json_object_get(m, "machine"));
		const char *fp =
		    json_string_value(json_object_get(m, "host_key_fp"));
		tl_prov_machine *pm =
		    id ? tl_prov_instance_machine(in, id) : NULL;
		if (pm && fp && !pm->host_fp)
			pm->host_fp = tl_xstrdup(fp);
	}
}

/* Logs when each machine answered SSH and was personalised, seconds
 * since the provisioning began: where an instance's time goes. */
static int log_progress(void *ud, const tl_prov_progress *ev)
{
	const tl_backend_instance *bi = ud;
	if (ev->object && (ev->phase == TL_PROV_PHASE_READY ||
			   ev->phase == TL_PROV_PHASE_PERSONALISED))
		tl_log(TL_LOG_INFO, "machine.provision",
		       "instance=%lld machine=%s phase=%s at_s=%.1f",
		       (long long)bi->id, ev->object,
		       tl_prov_phase_name(ev->phase), ev->elapsed_ms / 1000.0);
	return 0;
}

static int lv_create(tl_backend *b, const tl_backend_instance *bi,
		     json_t **ret_machines, char **ret_host, tl_error *err)
{
	lv_backend *l = b->priv;
	tl_prov_request req = request(l, bi);
	tl_prov_instance *in = tl_prov_instance_create(
	    l->prov, &req, log_progress, (void *)bi, err);
	if (!in)
		return -1;
	*ret_machines = machines_json(in);
	*ret_host = tl_xstrdup(in->host ? in->host : "");
	cache_put(l, bi->id, in);
	return 0;
}

/* The instance as libvirt has it: cached, or planned again (destroy
 * finds objects by name and metadata, so a plan is enough to remove a
 * half-made instance after a crash). */
static tl_prov_instance *lookup(lv_backend *l, const tl_backend_instance *bi,
				bool *ret_planned, tl_error *err)
{
	*ret_planned = false;
	tl_prov_instance *in = cache_get(l, bi->id);
	if (in)
		return in;
	if (!bi->scenario)
		return tl_error_set(err,
				    "instance %lld: unknown to the "
				    "provisioner and no scenario to plan it",
				    (long long)bi->id),
		       NULL;
	tl_prov_request req = request(l, bi);
	req.host = l->host_name;
	in = tl_prov_instance_plan(l->prov, &req, err);
	if (in) {
		pin_from_store(in, bi->machines);
		*ret_planned = true;
	}
	return in;
}

static int lv_destroy(tl_backend *b, const tl_backend_instance *bi,
		      tl_error *err)
{
	lv_backend *l = b->priv;
	bool planned;
	tl_prov_instance *in = lookup(l, bi, &planned, err);
	if (!in)
		return -1;
	int rc = tl_prov_instance_destroy(l->prov, in, err);
	if (planned)
		tl_prov_instance_free(in);
	else if (rc == 0)
		cache_drop(l, bi->id);
	return rc;
}

static tl_prov_instance *need(lv_backend *l, const tl_backend_instance *bi,
			      tl_error *err)
{
	tl_prov_instance *in = cache_get(l, bi->id);
	if (!in)
		tl_error_set(err,
			     "instance %lld (%s/%s) is not known to the "
			     "provisioner (not adopted at start-up?)",
			     (long long)bi->id, bi->session, bi->trainee);
	return in;
}

/* Runs a shell script as root on one machine of an instance (setup steps,
 * reference solutions): the tail of its output in *ret_output (may be
 * NULL), a non-zero exit is -1 with the tail of stderr (else stdout). */
static int run_script(lv_backend *l, tl_prov_instance *in,
		      const json_t *machines, const char *machine,
		      const char *script, int timeout_s, char **ret_output,
		      tl_error *err)
{
	if (ret_output)
		*ret_output = NULL;
	tl_prov_machine *m = tl_prov_instance_machine(in, machine);
	if (!m)
		return tl_error_set(err, "no machine \"%s\" in this instance",
				    machine);
	pin_from_store(in, machines);
	tl_ssh_target t;
	tl_prov_machine_ssh_target(l->prov, m, &t);
	tl_ssh_result r = {0};
	int rc = tl_ssh_run(&t, "sh -s", script, strlen(script), timeout_s,
			    256u << 10, &r, err);
	if (rc == 0) {
		const char *o = r.out ? r.out : "", *e = r.err ? r.err : "";
		size_t lo = strlen(o), le = strlen(e);
		if (ret_output)
			*ret_output = tl_xasprintf(
			    "%s%s%s", lo > 2000 ? o + lo - 2000 : o,
			    le ? "\n[stderr] " : "", le > 2000 ? e + le - 2000 : e);
		if (r.exit_status != 0)
			rc = tl_error_set(err, "exited %d: %.600s",
					  r.exit_status,
					  le ? (le > 600 ? e + le - 600 : e)
					     : (lo > 600 ? o + lo - 600 : o));
	}
	tl_ssh_result_clear(&r);
	return rc;
}

static int lv_setup(tl_backend *b, const tl_backend_instance *bi, tl_error *err)
{
	lv_backend *l = b->priv;
	tl_prov_instance *in = need(l, bi, err);
	if (!in)
		return -1;
	const tl_scenario *s = bi->scenario;
	for (size_t i = 0; i < s->n_setup; i++) {
		const tl_setup_step *st = &s->setup[i];
		double t0 = tl_now_ms();
		int rc = run_script(l, in, bi->machines, st->machine, st->run,
				    st->timeout_s > 0 ? st->timeout_s : 300,
				    NULL, err);
		tl_log(rc < 0 ? TL_LOG_WARN : TL_LOG_INFO, "setup.step",
		       "instance=%lld step=%zu machine=%s ok=%d took_s=%.1f",
		       (long long)bi->id, i + 1, st->machine, rc == 0,
		       (tl_now_ms() - t0) / 1000.0);
		if (rc < 0) {
			tl_error_prefix(err, "setup step %zu (%s) on %s", i + 1,
					st->label ? st->label : "",
					st->machine);
			return -1;
		}
	}
	return 0;
}

static int lv_run(tl_backend *b, const tl_backend_instance *bi,
		  const char *machine, const char *script, int timeout_s,
		  char **ret_output, tl_error *err)
{
	lv_backend *l = b->priv;
	*ret_output = NULL;
	tl_prov_instance *in = need(l, bi, err);
	if (!in)
		return -1;
	return run_script(l, in, bi->machines, machine, script, timeout_s,
			  ret_output, err);
}

static int lv_grade(tl_backend *b, const tl_backend_instance *bi,
		    tl_probe_result *ret, tl_error *err)
{
	lv_backend *l = b->priv;
	tl_prov_instance *in = need(l, bi, err);
	if (!in)
		return -1;
	pin_from_store(in, bi->machines);
	size_t n = in->n_machines;
	tl_probe_machine *pm = tl_xcalloc(n ? n : 1, sizeof *pm);
	tl_probe_portmap **maps = tl_xcalloc(n ? n : 1, sizeof *maps);
	char **hashes = tl_xcalloc(n ? n : 1, sizeof *hashes);
	for (size_t i = 0; i < n; i++) {
		tl_prov_machine *m = &in->machines[i];
		const tl_lab_machine *lm =
		    tl_lab_machine_find(bi->scenario->lab, m->id);
		pm[i].id = m->id;
		tl_prov_machine_ssh_target(l->prov, m, &pm[i].ssh);
		pm[i].agent = lm && lm->image && lm->image->os == TL_OS_WINDOWS
				  ? TL_AGENT_POWERSHELL
				  : TL_AGENT_SH;
		if (m->base_disk) {
			char *copy = tl_xstrdup(m->base_disk);
			hashes[i] =
			    tl_xasprintf("%s/hashes.json", dirname(copy));
			free(copy);
			if (access(hashes[i], R_OK) == 0)
				pm[i].hashes_path = hashes[i];
		}
		pm[i].address = m->ssh_host;
		maps[i] = tl_xcalloc(m->n_forwards ? m->n_forwards : 1,
				     sizeof **maps);
		for (size_t k = 0; k < m->n_forwards; k++) {
			maps[i][k].lab_port = m->forwards[k].guest_port;
			maps[i][k].host_port = m->forwards[k].host_port;
		}
		pm[i].ports = maps[i];
		pm[i].n_ports = m->n_forwards;
		pm[i].lab = bi->scenario->lab;
	}
	int rc = tl_probe_run_instance(bi->scenario, pm, n, ret, err);
	for (size_t i = 0; i < n; i++) {
		free(maps[i]);
		free(hashes[i]);
	}
	free(maps);
	free(hashes);
	free(pm);
	return rc;
}

static int lv_stop(tl_backend *b, const tl_backend_instance *bi, tl_error *err)
{
	lv_backend *l = b->priv;
	tl_prov_instance *in = need(l, bi, err);
	if (!in)
		return -1;
	for (size_t i = 0; i < in->n_machines; i++)
		if (tl_prov_machine_stop(l->prov, in, in->machines[i].id, 30,
					 err) < 0)
			return -1;
	return 0;
}

static int lv_reset(tl_backend *b, const tl_backend_instance *bi,
		    const char *machine, json_t **ret_machines, tl_error *err)
{
	lv_backend *l = b->priv;
	*ret_machines = NULL;
	tl_prov_instance *in = need(l, bi, err);
	if (!in)
		return -1;
	/* the trainee's password must survive the reset */
	const char *pw = NULL;
	size_t i;
	json_t *m;
	json_array_foreach ((json_t *)bi->machines, i, m)
		if (json_string_value(json_object_get(m, "password")))
			pw = json_string_value(json_object_get(m, "password"));
	if (!in->trainee_password && pw)
		in->trainee_password = tl_xstrdup(pw);
	if (tl_prov_machine_reset(l->prov, in, machine, l->flags, err) < 0)
		return -1;
	*ret_machines = machines_json(in);
	return 0;
}

typedef struct {
	const tl_backend_instance *live;
	size_t n;
} live_set;

static bool is_live(void *ud, const char *session, const char *instance)
{
	const live_set *ls = ud;
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->live[i].session, session) &&
		    !strcmp(ls->live[i].trainee, instance))
			return true;
	return false;
}

static int lv_reconcile(tl_backend *b, const tl_backend_instance *live,
			size_t n_live, size_t *ret_removed, tl_error *err)
{
	lv_backend *l = b->priv;
	/* reconcile = off: adopt ours, and leave the rest alone (it may be
	 * another process's instance half created or half destroyed: seen,
	 * a demo daemon starting while a proof tore its lab down failed on
	 * "Domain not found" when it tried to adopt that instance too) */
	live_set ls = {live, n_live};
	tl_prov_report rep = {0};
	int rc = l->keep_orphans
		     ? tl_prov_adopt_live(l->prov, is_live, &ls, &rep, err)
		     : tl_prov_reconcile(l->prov, is_live, &ls, &rep, err);
	*ret_removed = rep.n_removed;
	for (size_t i = 0; i < rep.n_adopted_instances; i++) {
		tl_prov_instance *in = rep.adopted[i];
		for (size_t k = 0; in && k < n_live; k++)
			if (!strcmp(live[k].session, in->session) &&
			    !strcmp(live[k].trainee, in->instance)) {
				pin_from_store(in, live[k].machines);
				cache_put(l, live[k].id, in);
				rep.adopted[i] = NULL;
				break;
			}
	}
	if (rc < 0 && rep.n_failed)
		tl_error_prefix(err, "%zu orphan objects could not be removed",
				rep.n_failed);
	tl_prov_report_clear(&rep);
	return rc;
}

static int lv_console_fd(tl_backend *b, const tl_backend_instance *bi,
			 const char *machine, int *ret_fd, tl_error *err)
{
	lv_backend *l = b->priv;
	*ret_fd = -1;
	/* held across the call: a teardown on a worker cannot free the
	 * instance under us (the call is one libvirt round trip) */
	pthread_mutex_lock(&l->lock);
	tl_prov_instance *in = NULL;
	for (cached *c = l->list; c; c = c->next)
		if (c->id == bi->id)
			in = c->inst;
	int rc =
	    in ? tl_prov_machine_console_fd(l->prov, in, machine, ret_fd, err)
	       : tl_error_set(err,
			      "instance %s/%s is not known to the "
			      "provisioner",
			      bi->session, bi->trainee);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static void lv_free(tl_backend *b)
{
	if (!b)
		return;
	lv_backend *l = b->priv;
	while (l->list) {
		cached *c = l->list;
		l->list = c->next;
		tl_prov_instance_free(c->inst);
		free(c);
	}
	tl_prov_free(l->prov);
	pthread_mutex_destroy(&l->lock);
	free(l->host_name);
	free(l);
	free(b);
}

tl_backend *tl_backend_libvirt_new(const tl_config *cfg, tl_error *err)
{
	tl_prov_config pc = {
	    .key_path = cfg->ssh_key,
	    .ready_timeout_s = cfg->ready_timeout_s,
	    .workers = cfg->workers,
	};
	tl_prov *p = tl_prov_new(&pc, err);
	if (!p)
		return NULL;
	/* every machine's serial console, for whoever must find out why a
	 * machine did not come up */
	TL_AUTOFREE char *consoles = tl_xasprintf("%s/consoles", cfg->state_dir);
	if (mkdir(consoles, 0700) < 0 && errno != EEXIST)
		tl_log(TL_LOG_WARN, "consoles", "dir=%s error=\"%s\"", consoles,
		       strerror(errno));
	tl_prov_host_config hc = {
	    .console_log_dir = consoles,
	    .name = "local",
	    .uri = cfg->libvirt_uri,
	    .accel = !strcmp(cfg->accel, "kvm") ? TL_PROV_ACCEL_KVM
						: TL_PROV_ACCEL_TCG,
	    .bind_address = cfg->access_address,
	    .pool_path = cfg->pool_path,
	    .images_dir = cfg->images_dir,
	    .warm_dir = cfg->warm_dir && !strcmp(cfg->warm_dir, "off")
			    ? ""
			    : cfg->warm_dir,
	};
	if (tl_prov_host_add(p, &hc, err) < 0) {
		tl_error_prefix(err, "libvirt host %s", cfg->libvirt_uri);
		tl_prov_free(p);
		return NULL;
	}
	lv_backend *l = tl_xcalloc(1, sizeof *l);
	l->prov = p;
	l->access = !strcmp(cfg->access, "bridged") ? TL_PROV_ACCESS_BRIDGED
						    : TL_PROV_ACCESS_LOOPBACK;
	l->host_name = tl_xstrdup("local");
	l->keep_orphans = !strcmp(cfg->reconcile, "off");
	if (!strcmp(cfg->provision_wait, "none"))
		l->flags = TL_PROV_NO_READY;
	pthread_mutex_init(&l->lock, NULL);
	tl_backend *b = tl_xcalloc(1, sizeof *b);
	b->name = "libvirt";
	b->priv = l;
	b->create = lv_create;
	b->setup = lv_setup;
	b->grade = lv_grade;
	b->run = lv_run;
	b->stop = lv_stop;
	b->reset = lv_reset;
	b->destroy = lv_destroy;
	b->reconcile = lv_reconcile;
	b->console_fd = lv_console_fd;
	b->free = lv_free;
	return b;
}
