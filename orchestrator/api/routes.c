/*
 * routes.c: the API's endpoints under /api/v1, one handler each, and the
 * route table that says who may call what (docs/daemon.md lists them).
 * Handlers read and write through the store and queue jobs; nothing here
 * blocks on a hypervisor or an SSH session (that is the workers' job), so
 * an HTTP thread is never held for long.
 *
 * Roles: admin may do everything; a trainer runs sessions; an evaluator
 * reads, scores jury criteria, freezes and exports; a trainee sees only
 * their own session's instance and results, and a self-check only as far
 * as the scenario allows. The route table checks the role; handlers
 * check ownership for trainees.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "events-internal.h"
#include "http-internal.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static const char *actor(tl_req *r)
{
	return r->user.name[0] ? r->user.name : "anonymous";
}

static void audit(tl_req *r, const char *action, const char *target,
		  json_t *detail)
{
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	tl_error e;
	int rc =
	    tl_store_audit(r->d->store, actor(r), action, target, text, &e);
	if (rc < 0)
		tl_log(TL_LOG_WARN, "audit.failed", "action=%s error=\"%s\"",
		       action, e.msg);
	free(text);
	json_decref(detail);
}

static bool is_trainee(const tl_req *r)
{
	return r->role == TL_ROLE_TRAINEE;
}

/* A trainee may only touch their own session (and instance). */
static bool owns(tl_req *r, tl_resp *out, const char *session,
		 const char *trainee)
{
	if (!is_trainee(r))
		return true;
	if (!strcmp(r->user.session, session) &&
	    (!trainee || !strcmp(r->user.trainee, trainee)))
		return true;
	tl_resp_error(out, MHD_HTTP_FORBIDDEN, NULL,
		      "a trainee sees only their own instance");
	return false;
}

/* The scenario of a session, with a defs reference the caller puts back. */
static const tl_scenario *scenario_of(tl_req *r, const json_t *row,
				      tl_defs_ref **ret_ref, tl_resp *out)
{
	const char *id = json_string_value(json_object_get(row, "scenario"));
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	const tl_scenario *s =
	    ref && id ? tl_defs_scenario(ref->defs, id) : NULL;
	if (!s) {
		tl_daemon_defs_put(r->d, ref);
		tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			      "scenario \"%s\" is no longer defined",
			      id ? id : "?");
		return NULL;
	}
	*ret_ref = ref;
	return s;
}

/* ---- health, metrics, identity ---- */

static void h_healthz(tl_req *r, tl_resp *out)
{
	tl_resp_json(out, MHD_HTTP_OK,
		     json_pack("{s:s,s:s,s:s,s:I}", "status", "ok", "version",
			       TL_VERSION, "backend", r->d->backend->name,
			       "uptime_s",
			       (json_int_t)(now_s() - r->d->started)));
}

static void metric(tl_buf *b, const char *name, const char *help,
		   const char *type)
{
	tl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		      type);
}

static void h_metrics(tl_req *r, tl_resp *out)
{
	tl_daemon *d = r->d;
	tl_buf b;
	tl_buf_init(&b, 0);
	metric(&b, "tssrlab_http_requests_total", "HTTP requests received",
	       "counter");
	tl_buf_printf(&b, "tssrlab_http_requests_total %ld\n",
		      atomic_load(&d->http_requests));
	metric(&b, "tssrlab_http_errors_total", "HTTP error answers",
	       "counter");
	tl_buf_printf(&b,
		      "tssrlab_http_errors_total{class=\"4xx\"} %ld\n"
		      "tssrlab_http_errors_total{class=\"5xx\"} %ld\n",
		      atomic_load(&d->http_4xx), atomic_load(&d->http_5xx));
	metric(&b, "tssrlab_jobs_finished_total", "jobs finished", "counter");
	tl_buf_printf(&b,
		      "tssrlab_jobs_finished_total{result=\"done\"} %ld\n"
		      "tssrlab_jobs_finished_total{result=\"failed\"} %ld\n",
		      atomic_load(&d->jobs_done), atomic_load(&d->jobs_failed));
	metric(&b, "tssrlab_jobs_running", "jobs running now", "gauge");
	tl_buf_printf(&b, "tssrlab_jobs_running %d\n",
		      atomic_load(&d->jobs_running));
	metric(&b, "tssrlab_store_full_total",
	       "writes refused because the state disk is full", "counter");
	tl_buf_printf(&b, "tssrlab_store_full_total %ld\n",
		      atomic_load(&d->store_full));
	metric(&b, "tssrlab_event_streams", "open event streams", "gauge");
	tl_buf_printf(&b, "tssrlab_event_streams %zu\n",
		      tl_events_clients(d->events));
	metric(&b, "tssrlab_uptime_seconds", "seconds since start", "gauge");
	tl_buf_printf(&b, "tssrlab_uptime_seconds %lld\n",
		      (long long)(now_s() - d->started));
	json_t *counts = NULL;
	tl_error e;
	if (tl_store_counts(d->store, &counts, &e) == 0) {
		static const char *groups[] = {"sessions", "instances", "jobs",
					       "runs"};
		static const char *labels[] = {"state", "state", "kind_state",
					       "kind"};
		for (size_t g = 0; g < 4; g++) {
			char name[64];
			snprintf(name, sizeof name, "tssrlab_%s", groups[g]);
			metric(&b, name, "rows in the store", "gauge");
			const char *k;
			json_t *v;
			json_object_foreach (json_object_get(counts, groups[g]),
					     k, v)
				tl_buf_printf(&b, "%s{%s=\"%s\"} %lld\n", name,
					      labels[g], k,
					      (long long)json_integer_value(v));
		}
		json_decref(counts);
	}
	out->status = MHD_HTTP_OK;
	out->len = b.len;
	out->text = tl_buf_steal(&b);
	out->ctype = "text/plain; version=0.0.4";
}

static void h_whoami(tl_req *r, tl_resp *out)
{
	json_t *j =
	    json_pack("{s:s,s:s}", "name", r->user.name, "role", r->user.role);
	if (is_trainee(r)) {
		json_object_set_new(j, "session", json_string(r->user.session));
		json_object_set_new(j, "trainee", json_string(r->user.trainee));
	}
	tl_resp_json(out, MHD_HTTP_OK, j);
}

static void h_token_create(tl_req *r, tl_resp *out)
{
	const char *name = json_string_value(json_object_get(r->body, "name"));
	const char *role = json_string_value(json_object_get(r->body, "role"));
	if (strcmp(role, "admin") && strcmp(role, "trainer") &&
	    strcmp(role, "evaluator")) {
		tl_resp_error(out, MHD_HTTP_UNPROCESSABLE_CONTENT, "role",
			      "role must be admin, trainer or evaluator "
			      "(trainee tokens come from a session)");
		return;
	}
	char token[80];
	tl_error e;
	int rc = tl_auth_issue(r->d, name, role, NULL, NULL, token,
			       sizeof token, &e);
	if (rc < 0) {
		tl_resp_store(out, rc, &e);
		return;
	}
	audit(r, "token.create", name, json_pack("{s:s}", "role", role));
	tl_resp_json(out, MHD_HTTP_CREATED,
		     json_pack("{s:s,s:s,s:s}", "name", name, "role", role,
			       "token", token));
}

static void h_audit(tl_req *r, tl_resp *out)
{
	json_t *rows = NULL;
	tl_error e;
	const char *lim = tl_req_query(r, "limit");
	int n = lim ? atoi(lim) : 100;
	if (n <= 0 || n > 10000)
		n = 100;
	int rc = tl_store_audit_list(r->d->store, n, &rows, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	tl_resp_json(out, MHD_HTTP_OK, rows);
}

/* ---- definitions ---- */

static void h_referential(tl_req *r, tl_resp *out)
{
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	tl_resp_json(out, MHD_HTTP_OK, tl_defs_referential_json(ref->defs));
	tl_daemon_defs_put(r->d, ref);
}

static void h_labs(tl_req *r, tl_resp *out)
{
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	json_t *arr = json_array();
	for (size_t i = 0; i < ref->defs->n_labs; i++) {
		const tl_lab *l = &ref->defs->labs[i];
		json_t *ms = json_array();
		for (size_t m = 0; m < l->n_machines; m++)
			json_array_append_new(
			    ms, json_pack("{s:s,s:s,s:s,s:i,s:i,s:b}", "id",
					  l->machines[m].id, "hostname",
					  l->machines[m].hostname, "image",
					  l->machines[m].image_id, "vcpus",
					  l->machines[m].vcpus, "memory_mib",
					  l->machines[m].memory_mib, "trainee",
					  l->machines[m].trainee));
		json_t *nets = json_array();
		for (size_t n = 0; n < l->n_networks; n++)
			json_array_append_new(
			    nets,
			    json_pack("{s:s,s:s,s:b}", "id", l->networks[n].id,
				      "cidr", l->networks[n].cidr, "dhcp",
				      l->networks[n].dhcp));
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s?,s:o,s:o}",
						     "id", l->id, "title",
						     l->title, "description",
						     l->description, "machines",
						     ms, "networks", nets));
	}
	tl_daemon_defs_put(r->d, ref);
	tl_resp_json(out, MHD_HTTP_OK, arr);
}

static const char *self_check_name(tl_self_check s)
{
	switch (s) {
	case TL_SELF_HIDDEN:
		return "hidden";
	case TL_SELF_STATUS:
		return "status";
	case TL_SELF_HINT:
		return "hint";
	case TL_SELF_EVIDENCE:
		return "evidence";
	}
	return "?";
}

/* A scenario as JSON. The staff view has criteria with their probes;
 * the trainee view has the briefing and tasks only. Neither ever has the
 * reference solutions. */
static json_t *scenario_json(const tl_scenario *s, bool staff)
{
	json_t *tasks = json_array();
	for (size_t t = 0; t < s->n_tasks; t++) {
		const tl_task *task = &s->tasks[t];
		json_t *crits = json_array();
		for (size_t c = 0; staff && c < task->n_criteria; c++) {
			const tl_criterion *cr = &task->criteria[c];
			json_t *probes = json_array();
			for (size_t p = 0; p < cr->n_probes; p++) {
				const tl_probe *pr = &cr->probes[p];
				json_array_append_new(
				    probes,
				    json_pack("{s:s,s:s?,s:s?,s:O?}", "kind",
					      pr->kind_name, "machine",
					      pr->machine, "from", pr->from,
					      "args", pr->args));
			}
			json_array_append_new(
			    crits,
			    json_pack("{s:s,s:s,s:s,s:f,s:b,s:s?,s:s,s:o}",
				      "id", cr->id, "label", cr->label, "ref",
				      cr->ref, "weight", cr->weight, "manual",
				      cr->manual, "hint", cr->hint,
				      "self_check",
				      self_check_name(cr->self_check), "probes",
				      probes));
		}
		json_t *o =
		    json_pack("{s:s,s:s,s:s?}", "id", task->id, "title",
			      task->title, "description", task->description);
		if (staff)
			json_object_set_new(o, "criteria", crits);
		else
			json_decref(crits);
		json_array_append_new(tasks, o);
	}
	json_t *comps = json_array();
	for (size_t i = 0; i < s->n_competences; i++)
		json_array_append_new(comps, json_string(s->competences[i]));
	json_t *j =
	    json_pack("{s:s,s:s,s:s,s:s,s:i,s:o,s:o,s:b}", "id", s->id, "title",
		      s->title, "briefing", s->briefing, "lab", s->lab_id,
		      "duration_min", s->duration_min, "competences", comps,
		      "tasks", tasks, "self_check", s->self_check_enabled);
	if (staff) {
		json_t *setup = json_array();
		for (size_t i = 0; i < s->n_setup; i++)
			json_array_append_new(
			    setup, json_pack("{s:s,s:s?}", "machine",
					     s->setup[i].machine, "label",
					     s->setup[i].label));
		json_object_set_new(j, "setup", setup);
		json_object_set_new(j, "runnable_here",
				    json_boolean(s->runnable_here));
	}
	return j;
}

static void h_scenarios(tl_req *r, tl_resp *out)
{
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	json_t *arr = json_array();
	json_t *mine = NULL;
	if (is_trainee(r)) {
		tl_error e;
		tl_store_session_get(r->d->store, r->user.session, &mine, &e);
	}
	for (size_t i = 0; i < ref->defs->n_scenarios; i++) {
		const tl_scenario *s = &ref->defs->scenarios[i];
		if (is_trainee(r) &&
		    (!mine || strcmp(json_string_value(
					 json_object_get(mine, "scenario")),
				     s->id)))
			continue;
		size_t nc = 0;
		for (size_t t = 0; t < s->n_tasks; t++)
			nc += s->tasks[t].n_criteria;
		json_array_append_new(
		    arr,
		    json_pack("{s:s,s:s,s:s,s:i,s:I}", "id", s->id, "title",
			      s->title, "lab", s->lab_id, "duration_min",
			      s->duration_min, "criteria", (json_int_t)nc));
	}
	json_decref(mine);
	tl_daemon_defs_put(r->d, ref);
	tl_resp_json(out, MHD_HTTP_OK, arr);
}

static void h_scenario(tl_req *r, tl_resp *out)
{
	if (is_trainee(r)) {
		json_t *mine = NULL;
		tl_error e;
		bool ok = tl_store_session_get(r->d->store, r->user.session,
					       &mine, &e) == 0 &&
			  !strcmp(json_string_value(
				      json_object_get(mine, "scenario")),
				  r->arg[0]);
		json_decref(mine);
		if (!ok) {
			tl_resp_error(out, MHD_HTTP_FORBIDDEN, NULL,
				      "a trainee sees only their session's "
				      "scenario");
			return;
		}
	}
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	const tl_scenario *s = tl_defs_scenario(ref->defs, r->arg[0]);
	if (s)
		tl_resp_json(out, MHD_HTTP_OK,
			     scenario_json(s, !is_trainee(r)));
	else
		tl_resp_error(out, MHD_HTTP_NOT_FOUND, NULL,
			      "no scenario \"%.64s\"", r->arg[0]);
	tl_daemon_defs_put(r->d, ref);
}

/* ---- sessions ---- */

static json_t *progress(const json_t *session, const tl_scenario *s)
{
	size_t n = 0, ready = 0, failed = 0, graded = 0, mready = 0;
	size_t i;
	json_t *inst;
	json_array_foreach (json_object_get(session, "instances"), i, inst) {
		n++;
		const char *st =
		    json_string_value(json_object_get(inst, "state"));
		if (!strcmp(st, "ready")) {
			ready++;
			mready +=
			    json_array_size(json_object_get(inst, "machines"));
		}
		failed += !strcmp(st, "failed");
		graded += json_integer_value(json_object_get(inst, "runs")) > 0;
	}
	size_t per = s && s->lab ? s->lab->n_machines : 0;
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "instances_total",
			 (json_int_t)n, "instances_ready", (json_int_t)ready,
			 "instances_failed", (json_int_t)failed,
			 "instances_graded", (json_int_t)graded,
			 "machines_total", (json_int_t)(n * per),
			 "machines_ready", (json_int_t)mready);
}

static void h_session_create(tl_req *r, tl_resp *out)
{
	const char *scen_id =
	    json_string_value(json_object_get(r->body, "scenario"));
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	const tl_scenario *s = tl_defs_scenario(ref->defs, scen_id);
	if (!s) {
		tl_daemon_defs_put(r->d, ref);
		tl_resp_error(out, MHD_HTTP_UNPROCESSABLE_CONTENT, "scenario",
			      "unknown scenario \"%s\"", scen_id);
		return;
	}
	json_t *trainees = json_object_get(r->body, "trainees");
	size_t n = json_array_size(trainees);
	tl_store_trainee *tr = tl_xcalloc(n, sizeof *tr);
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_array_get(trainees, i);
		tr[i].slug = json_string_value(json_object_get(t, "id"));
		tr[i].name = json_string_value(json_object_get(t, "name"));
		for (size_t k = 0; k < i; k++)
			if (!strcmp(tr[k].slug, tr[i].slug)) {
				char field[64];
				snprintf(field, sizeof field,
					 "trainees[%zu].id", i);
				tl_resp_error(
				    out, MHD_HTTP_UNPROCESSABLE_CONTENT, field,
				    "trainee \"%s\" is listed twice",
				    tr[i].slug);
				free(tr);
				tl_daemon_defs_put(r->d, ref);
				return;
			}
	}
	json_t *dur = json_object_get(r->body, "duration_min");
	int64_t minutes = dur ? json_integer_value(dur) : s->duration_min;
	if (minutes <= 0)
		minutes = 60;
	char id[64];
	const char *given = json_string_value(json_object_get(r->body, "id"));
	if (given) {
		snprintf(id, sizeof id, "%s", given);
	} else {
		unsigned char raw[3];
		char hex[7];
		tl_random_bytes(raw, sizeof raw, NULL);
		tl_hex_encode(raw, sizeof raw, hex);
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		char when[32];
		strftime(when, sizeof when, "%Y%m%d-%H%M", &tm);
		snprintf(id, sizeof id, "%.30s-%.13s-%.6s", s->id, when, hex);
	}
	int64_t start = now_s();
	tl_error e;
	int rc =
	    tl_store_session_create(r->d->store, id, s->id, start,
				    start + minutes * 60, actor(r), tr, n, &e);
	free(tr);
	tl_daemon_defs_put(r->d, ref);
	if (rc < 0) {
		tl_resp_store(out, rc, &e);
		if (rc == TL_STORE_CONFLICT)
			json_object_set_new(out->json, "field",
					    json_string("id"));
		return;
	}
	tl_log(TL_LOG_INFO, "session.create",
	       "session=%s scenario=%s trainees=%zu by=%s", id, scen_id, n,
	       actor(r));
	audit(r, "session.create", id,
	      json_pack("{s:s,s:I}", "scenario", scen_id, "trainees",
			(json_int_t)n));
	tl_jobs_kick(r->d);
	json_t *sj = NULL;
	if (tl_store_session_get(r->d->store, id, &sj, &e) < 0)
		sj = json_pack("{s:s}", "id", id);
	tl_resp_json(out, MHD_HTTP_CREATED, sj);
}

static void h_sessions(tl_req *r, tl_resp *out)
{
	json_t *rows = NULL;
	tl_error e;
	int rc = tl_store_session_list(r->d->store, &rows, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	size_t i;
	json_t *row;
	json_array_foreach (rows, i, row)
		json_object_set_new(row, "frozen",
				    json_boolean(json_integer_value(
					json_object_get(row, "frozen"))));
	tl_resp_json(out, MHD_HTTP_OK, rows);
}

static void strip_secrets(json_t *inst)
{
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(inst, "machines"), i, m)
		json_object_del(m, "password");
}

static void h_session_show(tl_req *r, tl_resp *out)
{
	if (!owns(r, out, r->arg[0], NULL))
		return;
	json_t *s = NULL;
	tl_error e;
	int rc = tl_store_session_get(r->d->store, r->arg[0], &s, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	const tl_scenario *sc = tl_defs_scenario(
	    ref->defs, json_string_value(json_object_get(s, "scenario")));
	json_object_set_new(s, "progress", progress(s, sc));
	tl_daemon_defs_put(r->d, ref);
	json_t *insts = json_object_get(s, "instances");
	if (is_trainee(r)) {
		json_t *mine = json_array();
		size_t i;
		json_t *inst;
		json_array_foreach (insts, i, inst)
			if (!strcmp(json_string_value(
					json_object_get(inst, "trainee")),
				    r->user.trainee))
				json_array_append(mine, inst);
		json_object_set_new(s, "instances", mine);
		json_object_del(s, "progress");
	}
	tl_resp_json(out, MHD_HTTP_OK, s);
}

static int load_session(tl_req *r, tl_resp *out, json_t **ret)
{
	tl_error e;
	int rc = tl_store_session_get(r->d->store, r->arg[0], ret, &e);
	if (rc < 0)
		tl_resp_store(out, rc, &e);
	return rc;
}

static const char *state_of(const json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "state"));
	return s ? s : "";
}

static void h_session_extend(tl_req *r, tl_resp *out)
{
	json_t *s = NULL;
	if (load_session(r, out, &s) < 0)
		return;
	if (strcmp(state_of(s), "active")) {
		tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			      "session \"%s\" is %s: only an active session "
			      "can be extended",
			      r->arg[0], state_of(s));
		json_decref(s);
		return;
	}
	int64_t minutes =
	    json_integer_value(json_object_get(r->body, "minutes"));
	int64_t end =
	    json_integer_value(json_object_get(s, "window_end")) + minutes * 60;
	json_decref(s);
	tl_error e;
	int rc =
	    tl_store_session_set_window_end(r->d->store, r->arg[0], end, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	audit(r, "session.extend", r->arg[0],
	      json_pack("{s:I}", "minutes", (json_int_t)minutes));
	tl_events_publish(r->d->events, r->arg[0], 0, "session",
			  json_pack("{s:s,s:I}", "state", "active",
				    "window_end", (json_int_t)end));
	tl_resp_json(out, MHD_HTTP_OK,
		     json_pack("{s:s,s:I}", "id", r->arg[0], "window_end",
			       (json_int_t)end));
}

static void h_session_end(tl_req *r, tl_resp *out)
{
	tl_error e;
	int rc = tl_jobs_end_session(r->d, r->arg[0], actor(r), &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	tl_resp_json(
	    out, MHD_HTTP_ACCEPTED,
	    json_pack("{s:s,s:s}", "id", r->arg[0], "state", "ending"));
}

static void h_session_destroy(tl_req *r, tl_resp *out)
{
	json_t *s = NULL;
	if (load_session(r, out, &s) < 0)
		return;
	const char *st = state_of(s);
	if (!strcmp(st, "destroying") || !strcmp(st, "destroyed")) {
		tl_resp_json(
		    out, MHD_HTTP_ACCEPTED,
		    json_pack("{s:s,s:s}", "id", r->arg[0], "state", st));
		json_decref(s);
		return;
	}
	tl_error e;
	int rc = tl_store_tx_begin(r->d->store, &e);
	size_t queued = 0;
	if (rc == 0) {
		rc = tl_store_session_set_state(r->d->store, r->arg[0],
						"destroying", &e);
		if (rc == 0)
			rc = tl_store_jobs_cancel(r->d->store, r->arg[0],
						  "cancelled: the session is "
						  "being destroyed",
						  &e);
		size_t i;
		json_t *inst;
		json_array_foreach (json_object_get(s, "instances"), i, inst) {
			if (rc < 0)
				break;
			if (!strcmp(state_of(inst), "destroyed"))
				continue;
			rc = tl_store_job_add(
			    r->d->store, "teardown", r->arg[0],
			    json_integer_value(json_object_get(inst, "id")),
			    NULL, NULL, &e);
			queued++;
		}
		if (rc == 0 && queued == 0)
			rc = tl_store_session_set_state(r->d->store, r->arg[0],
							"destroyed", &e);
		if (rc == 0)
			rc = tl_store_tx_commit(r->d->store, &e);
		else
			tl_store_tx_rollback(r->d->store);
	}
	json_decref(s);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	audit(r, "session.destroy", r->arg[0], NULL);
	tl_jobs_kick(r->d);
	tl_resp_json(out, MHD_HTTP_ACCEPTED,
		     json_pack("{s:s,s:s}", "id", r->arg[0], "state",
			       queued ? "destroying" : "destroyed"));
}

static void h_trainee_token(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	tl_error e;
	int rc =
	    tl_store_instance_get(r->d->store, r->arg[0], r->arg[1], &inst, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	json_decref(inst);
	char name[128], token[80];
	snprintf(name, sizeof name, "%s/%s", r->arg[0], r->arg[1]);
	rc = tl_store_token_revoke_trainee(r->d->store, r->arg[0], r->arg[1],
					   &e);
	if (rc == 0)
		rc = tl_auth_issue(r->d, name, "trainee", r->arg[0], r->arg[1],
				   token, sizeof token, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	audit(r, "trainee.token", name, NULL);
	tl_resp_json(out, MHD_HTTP_CREATED,
		     json_pack("{s:s,s:s,s:s}", "session", r->arg[0], "trainee",
			       r->arg[1], "token", token));
}

/* ---- instances and grading ---- */

static int load_instance(tl_req *r, tl_resp *out, json_t **ret)
{
	if (!owns(r, out, r->arg[0], r->arg[1]))
		return -1;
	tl_error e;
	int rc =
	    tl_store_instance_get(r->d->store, r->arg[0], r->arg[1], ret, &e);
	if (rc < 0)
		tl_resp_store(out, rc, &e);
	return rc;
}

static int64_t inst_id(const json_t *inst)
{
	return json_integer_value(json_object_get(inst, "id"));
}

static void h_instance(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	json_object_del(inst, "runs");
	tl_resp_json(out, MHD_HTTP_OK, inst);
}

static void h_machine_reset(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	bool found = false;
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(inst, "machines"), i, m)
		found |=
		    !strcmp(json_string_value(json_object_get(m, "machine")),
			    r->arg[2]);
	if (!found || strcmp(state_of(inst), "ready")) {
		tl_resp_error(out,
			      found ? MHD_HTTP_CONFLICT : MHD_HTTP_NOT_FOUND,
			      NULL, "%s",
			      found ? "the instance is not ready"
				    : "no such machine in this instance");
		json_decref(inst);
		return;
	}
	int64_t job = 0;
	tl_error e;
	int rc = tl_jobs_queue(r->d, "reset", r->arg[0], inst_id(inst),
			       r->arg[2], &job, &e);
	json_decref(inst);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	char target[192];
	snprintf(target, sizeof target, "%s/%s/%s", r->arg[0], r->arg[1],
		 r->arg[2]);
	audit(r, "machine.reset", target, NULL);
	tl_resp_json(out, MHD_HTTP_ACCEPTED,
		     json_pack("{s:I}", "job", (json_int_t)job));
}

/* Applies the scenario's reference solution ("full") or its half
 * ("half") to an instance: for demos and the scenario proofs, admins only
 * and only where the daemon's configuration allows (solutions = on). */
static void h_solution(tl_req *r, tl_resp *out)
{
	if (strcmp(r->d->cfg.solutions, "on"))
		return tl_resp_error(out, MHD_HTTP_FORBIDDEN, NULL,
				     "reference solutions are disabled on "
				     "this daemon (configuration: solutions "
				     "= off)");
	const char *part =
	    json_string_value(json_object_get(r->body, "part"));
	if (strcmp(part, "full") && strcmp(part, "half"))
		return tl_resp_error(out, MHD_HTTP_UNPROCESSABLE_CONTENT, "part",
				     "expected \"full\" or \"half\", got "
				     "\"%s\"",
				     part);
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	if (strcmp(state_of(inst), "ready")) {
		tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			      "the instance is %s, not ready", state_of(inst));
		json_decref(inst);
		return;
	}
	int64_t job = 0;
	tl_error e;
	int rc = tl_jobs_queue(r->d, "solve", r->arg[0], inst_id(inst), part,
			       &job, &e);
	json_decref(inst);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	char target[160];
	snprintf(target, sizeof target, "%s/%s", r->arg[0], r->arg[1]);
	audit(r, "instance.solution", target, json_pack("{s:s}", "part", part));
	tl_resp_json(out, MHD_HTTP_ACCEPTED,
		     json_pack("{s:I,s:s}", "job", (json_int_t)job, "part",
			       part));
}

static void h_job(tl_req *r, tl_resp *out)
{
	char *end;
	errno = 0;
	long long id = strtoll(r->arg[0], &end, 10);
	if (errno || end == r->arg[0] || *end || id <= 0)
		return tl_resp_error(out, MHD_HTTP_NOT_FOUND, NULL,
				     "no such job \"%s\"", r->arg[0]);
	json_t *job = NULL;
	tl_error e;
	int rc = tl_store_job_get(r->d->store, id, &job, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	tl_resp_json(out, MHD_HTTP_OK, job);
}

static bool grading_allowed(tl_resp *out, const json_t *inst)
{
	if (strcmp(json_string_value(json_object_get(inst, "session_state")),
		   "active")) {
		tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			      "the session is not active: no more grading");
		return false;
	}
	return true;
}

static void h_instance_grade(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	if (!grading_allowed(out, inst) ||
	    (strcmp(state_of(inst), "ready") &&
	     (tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			    "instance is %s, not ready", state_of(inst)),
	      true))) {
		json_decref(inst);
		return;
	}
	int64_t job = 0;
	tl_error e;
	int rc = tl_jobs_queue(r->d, "grade", r->arg[0], inst_id(inst),
			       "trainer", &job, &e);
	json_decref(inst);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	audit(r, "grade.instance", r->arg[1], NULL);
	tl_resp_json(out, MHD_HTTP_ACCEPTED,
		     json_pack("{s:[I]}", "jobs", (json_int_t)job));
}

static void h_session_grade(tl_req *r, tl_resp *out)
{
	json_t *s = NULL;
	if (load_session(r, out, &s) < 0)
		return;
	if (strcmp(state_of(s), "active")) {
		tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			      "the session is %s: no more grading",
			      state_of(s));
		json_decref(s);
		return;
	}
	json_t *jobs = json_array();
	tl_error e;
	int rc = tl_store_tx_begin(r->d->store, &e);
	size_t i;
	json_t *inst;
	json_array_foreach (json_object_get(s, "instances"), i, inst) {
		if (rc < 0)
			break;
		if (strcmp(state_of(inst), "ready"))
			continue;
		int64_t job = 0;
		rc = tl_store_job_add(r->d->store, "grade", r->arg[0],
				      inst_id(inst), "trainer", &job, &e);
		json_array_append_new(jobs, json_integer(job));
	}
	if (rc == 0)
		rc = tl_store_tx_commit(r->d->store, &e);
	else
		tl_store_tx_rollback(r->d->store);
	json_decref(s);
	if (rc < 0) {
		json_decref(jobs);
		return tl_resp_store(out, rc, &e);
	}
	tl_jobs_kick(r->d);
	audit(r, "grade.session", r->arg[0], NULL);
	tl_resp_json(out, MHD_HTTP_ACCEPTED, json_pack("{s:o}", "jobs", jobs));
}

static void h_selfcheck(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	tl_defs_ref *ref = NULL;
	const tl_scenario *s = scenario_of(r, inst, &ref, out);
	if (!s) {
		json_decref(inst);
		return;
	}
	bool enabled = s->self_check_enabled;
	tl_daemon_defs_put(r->d, ref);
	int64_t pending = 0;
	tl_error e;
	if (!enabled)
		tl_resp_error(out, MHD_HTTP_FORBIDDEN, NULL,
			      "this scenario has no self-check");
	else if (grading_allowed(out, inst) && strcmp(state_of(inst), "ready"))
		tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			      "your machines are %s, not ready yet",
			      state_of(inst));
	else if (tl_store_jobs_pending(r->d->store, r->arg[0], inst_id(inst),
				       "grade", &pending, &e) == 0 &&
		 pending > 0)
		/* one grading at a time per instance: a trainee cannot
		 * flood the workers */
		tl_resp_error(out, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
			      "a grading of your instance is already under "
			      "way");
	if (out->status >= 400) {
		json_decref(inst);
		return;
	}
	int64_t job = 0;
	int rc = tl_jobs_queue(r->d, "grade", r->arg[0], inst_id(inst), "self",
			       &job, &e);
	json_decref(inst);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	audit(r, "grade.self", r->arg[1], NULL);
	tl_resp_json(out, MHD_HTTP_ACCEPTED,
		     json_pack("{s:I}", "job", (json_int_t)job));
}

static void h_results(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	tl_defs_ref *ref = NULL;
	const tl_scenario *s = scenario_of(r, inst, &ref, out);
	json_t *run = NULL, *manual = NULL;
	tl_error e;
	int rc = 0;
	if (s)
		rc = is_trainee(r)
			 ? tl_store_run_latest(r->d->store, inst_id(inst),
					       "self", &run, &e)
			 : tl_store_run_report(r->d->store, inst_id(inst), &run,
					       &e);
	if (s && rc == 0)
		rc = tl_store_manual_list(r->d->store, inst_id(inst), &manual,
					  &e);
	if (s && rc < 0)
		tl_resp_store(out, rc, &e);
	else if (s) {
		json_t *view = tl_grader_view(s, run, manual);
		if (is_trainee(r))
			tl_grader_trainee_filter(s, view);
		json_object_set(view, "trainee",
				json_object_get(inst, "trainee"));
		tl_resp_json(out, MHD_HTTP_OK, view);
	}
	json_decref(run);
	json_decref(manual);
	json_decref(inst);
	tl_daemon_defs_put(r->d, ref);
}

static void h_history(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	json_t *rows = NULL;
	tl_error e;
	int rc = tl_store_run_history(r->d->store, inst_id(inst),
				      is_trainee(r) ? "self" : NULL, &rows, &e);
	json_decref(inst);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	if (is_trainee(r)) {
		/* scores of a self-check may reveal hidden criteria */
		size_t i;
		json_t *row;
		json_array_foreach (rows, i, row) {
			json_object_del(row, "totals");
		}
	}
	tl_resp_json(out, MHD_HTTP_OK, rows);
}

/* ---- reports ---- */

static json_t *criteria_list(const tl_scenario *s)
{
	json_t *arr = json_array();
	for (size_t t = 0; t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++) {
			const tl_criterion *cr = &s->tasks[t].criteria[c];
			json_array_append_new(
			    arr, json_pack(
				     "{s:s,s:s,s:s,s:f,s:s?,s:b}", "id", cr->id,
				     "task", s->tasks[t].id, "label", cr->label,
				     "weight", cr->weight, "competence",
				     cr->refc ? cr->refc->competence->id : NULL,
				     "manual", cr->manual));
		}
	return arr;
}

static void csv_field(tl_buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\n\r") != NULL;
	/* a cell starting with = + - @ would be a formula in a
	 * spreadsheet: neutralise it */
	bool formula = *s == '=' || *s == '+' || *s == '-' || *s == '@';
	if (!quote && !formula) {
		tl_buf_puts(b, s);
		return;
	}
	tl_buf_puts(b, "\"");
	if (formula)
		tl_buf_puts(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			tl_buf_puts(b, "\"");
		tl_buf_append(b, p, 1);
	}
	tl_buf_puts(b, "\"");
}

static void grid_csv(const json_t *grid, tl_resp *out)
{
	tl_buf b;
	tl_buf_init(&b, 0);
	tl_buf_puts(&b, "trainee,name,state,run,kind,frozen,score,max");
	json_t *crits = json_object_get(grid, "criteria");
	size_t i;
	json_t *c;
	json_array_foreach (crits, i, c) {
		tl_buf_puts(&b, ",");
		csv_field(&b, json_string_value(json_object_get(c, "id")));
	}
	tl_buf_puts(&b, "\r\n");
	json_t *row;
	json_array_foreach (json_object_get(grid, "rows"), i, row) {
		csv_field(&b,
			  json_string_value(json_object_get(row, "trainee")));
		tl_buf_puts(&b, ",");
		csv_field(&b, json_string_value(json_object_get(row, "name")));
		tl_buf_printf(&b, ",%s", state_of(row));
		json_t *run = json_object_get(row, "run");
		if (json_is_object(run))
			tl_buf_printf(
			    &b, ",%lld,%s,%s,%g,%g",
			    (long long)json_integer_value(
				json_object_get(run, "id")),
			    json_string_value(json_object_get(run, "kind")),
			    json_is_true(json_object_get(run, "frozen")) ? "yes"
									 : "no",
			    json_number_value(json_object_get(run, "score")),
			    json_number_value(json_object_get(run, "max")));
		else
			tl_buf_puts(&b, ",,,,,");
		size_t k;
		json_t *cc;
		json_t *cells = json_object_get(row, "cells");
		json_array_foreach (crits, k, cc) {
			json_t *cell = json_object_get(
			    cells,
			    json_string_value(json_object_get(cc, "id")));
			tl_buf_printf(&b, ",%s",
				      cell ? json_string_value(
						 json_object_get(cell, "state"))
					   : "");
		}
		tl_buf_puts(&b, "\r\n");
	}
	out->status = MHD_HTTP_OK;
	out->len = b.len;
	out->text = tl_buf_steal(&b);
	out->ctype = "text/csv; charset=utf-8";
}

static bool grid_cached(tl_req *r, tl_resp *out, bool csv, uint64_t gen,
			const tl_defs *defs)
{
	tl_daemon *d = r->d;
	bool hit = false;
	pthread_mutex_lock(&d->grid_lock);
	for (size_t i = 0; i < TL_GRID_CACHE && !hit; i++) {
		tl_grid_cache *c = &d->grid[i];
		if (c->body && c->csv == csv && c->generation == gen &&
		    c->defs == defs && !strcmp(c->session, r->arg[0])) {
			out->status = MHD_HTTP_OK;
			out->text = tl_xmalloc(c->len + 1);
			memcpy(out->text, c->body, c->len + 1);
			out->len = c->len;
			out->ctype = csv ? "text/csv; charset=utf-8"
					 : "application/json";
			hit = true;
		}
	}
	pthread_mutex_unlock(&d->grid_lock);
	return hit;
}

static void grid_remember(tl_req *r, const tl_resp *out, bool csv, uint64_t gen,
			  const tl_defs *defs)
{
	if (out->status != MHD_HTTP_OK || !out->text)
		return;
	tl_daemon *d = r->d;
	pthread_mutex_lock(&d->grid_lock);
	tl_grid_cache *c = NULL;
	for (size_t i = 0; i < TL_GRID_CACHE && !c; i++)
		if (d->grid[i].body && d->grid[i].csv == csv &&
		    !strcmp(d->grid[i].session, r->arg[0]))
			c = &d->grid[i];
	if (!c)
		c = &d->grid[d->grid_next++ % TL_GRID_CACHE];
	free(c->body);
	snprintf(c->session, sizeof c->session, "%s", r->arg[0]);
	c->csv = csv;
	c->generation = gen;
	c->defs = defs;
	c->body = tl_xmalloc(out->len + 1);
	memcpy(c->body, out->text, out->len);
	c->body[out->len] = '\0';
	c->len = out->len;
	pthread_mutex_unlock(&d->grid_lock);
}

static void grid_render(tl_req *r, tl_resp *out, bool csv);

static void grid(tl_req *r, tl_resp *out, bool csv)
{
	/* the generation is read before rendering: a write during the
	 * rendering makes the entry stale at once, never wrongly fresh */
	uint64_t gen = tl_store_generation(r->d->store);
	tl_defs_ref *ref = tl_daemon_defs_get(r->d);
	if (!grid_cached(r, out, csv, gen, ref->defs)) {
		grid_render(r, out, csv);
		if (out->json && out->status == MHD_HTTP_OK) {
			char *text = json_dumps(out->json, JSON_COMPACT);
			if (text) {
				size_t n = strlen(text);
				out->text = tl_xrealloc(text, n + 2);
				out->text[n++] = '\n';
				out->text[n] = '\0';
				out->len = n;
				out->ctype = "application/json";
				json_decref(out->json);
				out->json = NULL;
			}
		}
		grid_remember(r, out, csv, gen, ref->defs);
	}
	tl_daemon_defs_put(r->d, ref);
}

static void grid_render(tl_req *r, tl_resp *out, bool csv)
{
	json_t *s = NULL;
	tl_error e0;
	int rc0 = tl_store_session_row(r->d->store, r->arg[0], &s, &e0);
	if (rc0 < 0)
		return tl_resp_store(out, rc0, &e0);
	tl_defs_ref *ref = NULL;
	const tl_scenario *sc = scenario_of(r, s, &ref, out);
	if (!sc) {
		json_decref(s);
		return;
	}
	json_t *rows = NULL;
	tl_error e;
	int rc = tl_store_session_grid(r->d->store, r->arg[0], &rows, &e);
	if (rc < 0) {
		tl_resp_store(out, rc, &e);
		json_decref(s);
		tl_daemon_defs_put(r->d, ref);
		return;
	}
	/* criteria as an object per row: {criterion: {state, score}} */
	size_t i;
	json_t *row;
	json_array_foreach (rows, i, row) {
		json_t *run = json_object_get(row, "run");
		json_t *cells = json_object();
		if (json_is_object(run)) {
			size_t k;
			json_t *c;
			json_array_foreach (json_object_get(run, "criteria"), k,
					    c)
				json_object_set_new(
				    cells,
				    json_string_value(
					json_object_get(c, "criterion")),
				    json_pack("{s:O,s:O}", "state",
					      json_object_get(c, "state"),
					      "score",
					      json_object_get(c, "score")));
			json_object_del(run, "criteria");
			json_object_del(run, "totals");
		}
		json_object_set_new(row, "cells", cells);
	}
	json_t *grid = json_pack(
	    "{s:s,s:O,s:O,s:O,s:o,s:o}", "session", r->arg[0], "scenario",
	    json_object_get(s, "scenario"), "state",
	    json_object_get(s, "state"), "frozen", json_object_get(s, "frozen"),
	    "criteria", criteria_list(sc), "rows", rows);
	json_decref(s);
	tl_daemon_defs_put(r->d, ref);
	if (csv) {
		grid_csv(grid, out);
		json_decref(grid);
	} else {
		tl_resp_json(out, MHD_HTTP_OK, grid);
	}
}

static void h_grid(tl_req *r, tl_resp *out)
{
	const char *fmt = tl_req_query(r, "format");
	grid(r, out, fmt && !strcmp(fmt, "csv"));
}

static void h_grid_csv(tl_req *r, tl_resp *out)
{
	grid(r, out, true);
}

static void h_report(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	tl_defs_ref *ref = NULL;
	const tl_scenario *s = scenario_of(r, inst, &ref, out);
	json_t *run = NULL, *manual = NULL, *hist = NULL;
	tl_error e;
	int rc =
	    s ? tl_store_manual_list(r->d->store, inst_id(inst), &manual, &e)
	      : -1;
	if (rc == 0)
		rc = tl_store_run_history(r->d->store, inst_id(inst), NULL,
					  &hist, &e);
	if (rc == 0) {
		rc = tl_store_run_report(r->d->store, inst_id(inst), &run, &e);
		if (rc == TL_STORE_NOTFOUND)
			rc = 0;
	}
	if (s && rc < 0)
		tl_resp_store(out, rc, &e);
	else if (s) {
		strip_secrets(inst);
		json_object_del(inst, "runs");
		json_t *rep = json_pack(
		    "{s:O,s:O,s:O,s:O,s:o}", "session",
		    json_object_get(inst, "session"), "trainee",
		    json_object_get(inst, "trainee"), "name",
		    json_object_get(inst, "name"), "scenario",
		    json_object_get(inst, "scenario"), "instance", inst);
		inst = NULL;
		json_object_set_new(rep, "run",
				    run ? tl_grader_view(s, run, manual)
					: json_null());
		json_object_set(rep, "manual_scores", manual);
		json_object_set(rep, "history", hist);
		tl_resp_json(out, MHD_HTTP_OK, rep);
	}
	json_decref(inst);
	json_decref(run);
	json_decref(manual);
	json_decref(hist);
	tl_daemon_defs_put(r->d, ref);
}

static void h_manual(tl_req *r, tl_resp *out)
{
	json_t *inst = NULL;
	if (load_instance(r, out, &inst) < 0)
		return;
	tl_defs_ref *ref = NULL;
	const tl_scenario *s = scenario_of(r, inst, &ref, out);
	const tl_criterion *cr = NULL;
	for (size_t t = 0; s && t < s->n_tasks; t++)
		for (size_t c = 0; c < s->tasks[t].n_criteria; c++)
			if (!strcmp(s->tasks[t].criteria[c].id, r->arg[2]))
				cr = &s->tasks[t].criteria[c];
	if (s && !cr)
		tl_resp_error(out, MHD_HTTP_NOT_FOUND, NULL,
			      "no criterion \"%.64s\" in scenario %s",
			      r->arg[2], s->id);
	else if (s && !cr->manual)
		tl_resp_error(out, MHD_HTTP_UNPROCESSABLE_CONTENT, NULL,
			      "criterion \"%s\" is graded by probes, not by "
			      "the jury",
			      cr->id);
	else if (s) {
		double f =
		    json_number_value(json_object_get(r->body, "fraction"));
		const char *comment =
		    json_string_value(json_object_get(r->body, "comment"));
		tl_error e;
		int rc =
		    tl_store_manual_put(r->d->store, inst_id(inst), r->arg[2],
					f, comment, actor(r), &e);
		if (rc < 0)
			tl_resp_store(out, rc, &e);
		else {
			char target[192];
			snprintf(target, sizeof target, "%s/%s/%s", r->arg[0],
				 r->arg[1], r->arg[2]);
			audit(r, "manual.score", target,
			      json_pack("{s:f}", "fraction", f));
			tl_resp_json(out, MHD_HTTP_OK,
				     json_pack("{s:s,s:f,s:s?}", "criterion",
					       r->arg[2], "fraction", f,
					       "comment", comment));
		}
	}
	json_decref(inst);
	tl_daemon_defs_put(r->d, ref);
}

static void h_freeze(tl_req *r, tl_resp *out)
{
	json_t *s = NULL;
	if (load_session(r, out, &s) < 0)
		return;
	if (!strcmp(state_of(s), "active") || !strcmp(state_of(s), "ending")) {
		tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
			      "session \"%s\" is %s: end it and let its final "
			      "grading finish before freezing",
			      r->arg[0], state_of(s));
		json_decref(s);
		return;
	}
	tl_defs_ref *ref = NULL;
	const tl_scenario *sc = scenario_of(r, s, &ref, out);
	if (!sc) {
		json_decref(s);
		return;
	}
	/* the scores to freeze: each instance's report run as shown now
	 * (evidence + manual scores) */
	json_t *scores = json_object();
	size_t i;
	json_t *inst;
	tl_error e;
	int rc = 0;
	json_array_foreach (json_object_get(s, "instances"), i, inst) {
		json_t *run = NULL, *manual = NULL;
		rc = tl_store_run_report(r->d->store, inst_id(inst), &run, &e);
		if (rc == TL_STORE_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = tl_store_manual_list(r->d->store, inst_id(inst),
						  &manual, &e);
		if (rc < 0) {
			json_decref(run);
			break;
		}
		json_t *view = tl_grader_view(sc, run, manual);
		json_t *crits = json_array();
		size_t k;
		json_t *c;
		json_array_foreach (json_object_get(view, "criteria"), k, c)
			json_array_append_new(
			    crits,
			    json_pack("{s:O,s:O,s:O}", "criterion",
				      json_object_get(c, "id"), "state",
				      json_object_get(c, "state"), "score",
				      json_object_get(c, "score")));
		char key[32];
		snprintf(
		    key, sizeof key, "%lld",
		    (long long)json_integer_value(json_object_get(run, "id")));
		json_object_set_new(
		    scores, key,
		    json_pack("{s:O?,s:O?,s:{s:O?,s:O?,s:O?,s:O?},s:o}",
			      "score", json_object_get(view, "score"), "max",
			      json_object_get(view, "max"), "totals", "tasks",
			      json_object_get(view, "tasks"), "competences",
			      json_object_get(view, "competences"), "blocks",
			      json_object_get(view, "blocks"), "total",
			      json_object_get(view, "total"), "criteria",
			      crits));
		json_decref(view);
		json_decref(run);
		json_decref(manual);
	}
	tl_daemon_defs_put(r->d, ref);
	if (rc == 0)
		rc =
		    tl_store_session_freeze(r->d->store, r->arg[0], scores, &e);
	json_decref(scores);
	if (rc < 0) {
		json_decref(s);
		return tl_resp_store(out, rc, &e);
	}
	audit(r, "session.freeze", r->arg[0], NULL);
	/* machines were kept for the jury until now: remove them */
	bool teardown = !strcmp(state_of(s), "ended");
	json_decref(s);
	if (teardown) {
		tl_resp tmp = {0};
		h_session_destroy(r, &tmp);
		json_decref(tmp.json);
	}
	tl_events_publish(r->d->events, r->arg[0], 0, "session",
			  json_pack("{s:b}", "frozen", 1));
	tl_resp_json(out, MHD_HTTP_OK,
		     json_pack("{s:s,s:b,s:b}", "id", r->arg[0], "frozen", 1,
			       "teardown", teardown));
}

/* ---- events ---- */

static void h_events(tl_req *r, tl_resp *out)
{
	const char *session = tl_req_query(r, "session");
	int64_t instance = 0;
	if (is_trainee(r)) {
		json_t *inst = NULL;
		tl_error e;
		int rc = tl_store_instance_get(r->d->store, r->user.session,
					       r->user.trainee, &inst, &e);
		if (rc < 0)
			return tl_resp_store(out, rc, &e);
		instance = inst_id(inst);
		json_decref(inst);
		session = r->user.session;
	}
	if (session && !tl_api_slug_ok(session, 63)) {
		tl_resp_error(out, MHD_HTTP_BAD_REQUEST, "session",
			      "session must be a session id");
		return;
	}
	out->raw =
	    tl_events_subscribe(r->d->events, r->conn, session, instance);
	if (!out->raw)
		tl_resp_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
			      "cannot open an event stream");
	else
		out->status = MHD_HTTP_OK;
}

#define A   TL_ROLE_ADMIN
#define T   TL_ROLE_TRAINER
#define E   TL_ROLE_EVALUATOR
#define S   TL_ROLE_STAFF
#define ANY TL_ROLE_ANY
#define P   TL_ROLE_PUBLIC

const tl_route tl_routes[] = {
    {"GET", "healthz", P, NULL, h_healthz, "liveness"},
    {"GET", "metrics", P, NULL, h_metrics, "Prometheus metrics"},
    {"GET", "whoami", ANY, NULL, h_whoami, "the caller's identity"},
    {"POST", "tokens", A, &tl_api_schema_token, h_token_create,
     "create a staff token"},
    {"GET", "audit", A, NULL, h_audit, "the audit log"},
    {"GET", "jobs/*", A | T, NULL, h_job, "one job's state and error"},
    {"GET", "referential", ANY, NULL, h_referential, "the TSSR title"},
    {"GET", "labs", S, NULL, h_labs, "lab topologies"},
    {"GET", "scenarios", ANY, NULL, h_scenarios, "scenarios"},
    {"GET", "scenarios/*", ANY, NULL, h_scenario, "one scenario"},
    {"POST", "sessions", A | T, &tl_api_schema_session_create, h_session_create,
     "create a session"},
    {"GET", "sessions", S, NULL, h_sessions, "list sessions"},
    {"GET", "sessions/*", ANY, NULL, h_session_show,
     "one session with progress"},
    {"DELETE", "sessions/*", A | T, NULL, h_session_destroy,
     "destroy a session's machines"},
    {"POST", "sessions/*/extend", A | T, &tl_api_schema_session_extend,
     h_session_extend, "extend the time window"},
    {"POST", "sessions/*/end", A | T, &tl_api_schema_empty, h_session_end,
     "end now: final grading, machines stopped"},
    {"POST", "sessions/*/grade", A | T, &tl_api_schema_empty, h_session_grade,
     "grade every instance"},
    {"GET", "sessions/*/grid", S, NULL, h_grid,
     "trainees x criteria (JSON, ?format=csv)"},
    {"GET", "sessions/*/grid.csv", S, NULL, h_grid_csv, "the grid as CSV"},
    {"POST", "sessions/*/freeze", A | E, &tl_api_schema_empty, h_freeze,
     "freeze the final results"},
    {"POST", "sessions/*/trainees/*/token", A | T, &tl_api_schema_empty,
     h_trainee_token, "a new token for a trainee"},
    {"GET", "sessions/*/instances/*", ANY, NULL, h_instance,
     "status and access details"},
    {"POST", "sessions/*/instances/*/machines/*/reset", A | T,
     &tl_api_schema_empty, h_machine_reset, "reset one machine"},
    {"POST", "sessions/*/instances/*/solution", A, &tl_api_schema_solution,
     h_solution, "apply the reference solution (solutions = on)"},
    {"POST", "sessions/*/instances/*/grade", A | T, &tl_api_schema_empty,
     h_instance_grade, "grade one instance"},
    {"POST", "sessions/*/instances/*/selfcheck", A | TL_ROLE_TRAINEE,
     &tl_api_schema_empty, h_selfcheck, "a trainee's self-check"},
    {"GET", "sessions/*/instances/*/results", ANY, NULL, h_results,
     "results: the report run (trainee: latest self-check, filtered)"},
    {"GET", "sessions/*/instances/*/history", ANY, NULL, h_history,
     "every grading run"},
    {"GET", "sessions/*/instances/*/report", S, NULL, h_report,
     "one trainee's report with evidence"},
    {"PUT", "sessions/*/instances/*/manual/*", A | E, &tl_api_schema_manual,
     h_manual, "score a jury criterion"},
    {"GET", "sessions/*/instances/*/machines/*/console",
     A | T | TL_ROLE_TRAINEE, NULL, tl_console_handler,
     "the machine's screen (WebSocket, VNC)", true},
    {"GET", "events", ANY, NULL, h_events, "Server-Sent Events", true},
    {NULL, NULL, 0, NULL, NULL, NULL},
};
