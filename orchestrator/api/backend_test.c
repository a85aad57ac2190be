/*
 * backend_test.c: the test backend — what libvirt's test:///default is to
 * QEMU. A "machine" is a small JSON file state_dir/test-backend/
 * i<instance>-<machine>.json; creating one takes test_provision_ms (spread
 * over the lab's machines, written one by one, so that a kill -9 during
 * provisioning really leaves a half-made instance behind for recovery to
 * clean), grading takes test_grade_ms and yields results that are a pure
 * function of the trainee and the probe's index. A trainee whose id
 * contains "fail" cannot be provisioned (after one machine was made), to
 * test that a failed instance leaves nothing. Never used in production.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tssrlabd.h"

typedef struct test_backend {
	char *dir;
	char *access_address;
	int provision_ms, grade_ms, base_port;
} test_backend;

static char *machine_path(const test_backend *t, int64_t inst,
			  const char *machine)
{
	return tl_xasprintf("%s/i%lld-%s.json", t->dir, (long long)inst,
			    machine);
}

static int write_machine(const test_backend *t, int64_t inst, const json_t *m,
			 tl_error *err)
{
	TL_AUTOFREE char *path = machine_path(
	    t, inst, json_string_value(json_object_get(m, "machine")));
	TL_AUTOFREE char *tmp = tl_xasprintf("%s.tmp", path);
	if (json_dump_file(m, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0)
		return tl_error_set(err, "%s: cannot write: %s", path,
				    strerror(errno));
	return 0;
}

static int t_destroy(tl_backend *b, const tl_backend_instance *inst,
		     tl_error *err)
{
	test_backend *t = b->priv;
	DIR *dir = opendir(t->dir);
	if (!dir)
		return tl_error_set(err, "%s: %s", t->dir, strerror(errno));
	char prefix[32];
	snprintf(prefix, sizeof prefix, "i%lld-", (long long)inst->id);
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		TL_AUTOFREE char *p = tl_xasprintf("%s/%s", t->dir, e->d_name);
		if (unlink(p) < 0 && errno != ENOENT)
			rc = tl_error_set(err, "%s: %s", p, strerror(errno));
	}
	closedir(dir);
	return rc;
}

static int t_create(tl_backend *b, const tl_backend_instance *inst,
		    json_t **ret_machines, char **ret_host, tl_error *err)
{
	test_backend *t = b->priv;
	const tl_lab *lab = inst->scenario->lab;
	size_t n = lab->n_machines;
	json_t *machines = json_array();
	for (size_t i = 0; i < n; i++) {
		tl_sleep_ms(t->provision_ms / (int)(n ? n : 1));
		unsigned char raw[16];
		char hex[33], fp[64];
		tl_random_bytes(raw, sizeof raw, NULL);
		tl_hex_encode(raw, sizeof raw, hex);
		snprintf(fp, sizeof fp, "SHA256:test%.32s", hex);
		json_t *m = json_pack(
		    "{s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "machine",
		    lab->machines[i].id, "access_host", t->access_address,
		    "access_port",
		    (json_int_t)(t->base_port +
				 (int)((inst->id * 8 + (int64_t)i) % 20000)),
		    "host_key_fp", fp, "user", "stagiaire", "password",
		    hex + 20, "state", "running");
		int rc = write_machine(t, inst->id, m, err);
		json_array_append_new(machines, m);
		if (rc == 0 && strstr(inst->trainee, "fail"))
			rc = tl_error_set(err,
					  "machine %s: test backend refuses "
					  "trainee \"%s\" (its name contains "
					  "\"fail\")",
					  lab->machines[i].id, inst->trainee);
		if (rc < 0) {
			tl_error ignore;
			t_destroy(b, inst, &ignore);
			json_decref(machines);
			return -1;
		}
	}
	*ret_machines = machines;
	*ret_host = tl_xstrdup("test");
	return 0;
}

static int t_setup(tl_backend *b, const tl_backend_instance *inst,
		   tl_error *err)
{
	test_backend *t = b->priv;
	(void)inst;
	(void)err;
	tl_sleep_ms(t->provision_ms / 10);
	return 0;
}

static bool machine_running(const test_backend *t, int64_t inst,
			    const char *machine)
{
	TL_AUTOFREE char *p = machine_path(t, inst, machine);
	json_t *m = json_load_file(p, 0, NULL);
	bool ok =
	    m && !strcmp(json_string_value(json_object_get(m, "state")) ?: "",
			 "running");
	json_decref(m);
	return ok;
}

static int t_grade(tl_backend *b, const tl_backend_instance *inst,
		   tl_probe_result *ret, tl_error *err)
{
	test_backend *t = b->priv;
	(void)err;
	tl_sleep_ms(t->grade_ms);
	unsigned seed = 0;
	for (const char *p = inst->trainee; *p; p++)
		seed = seed * 31u + (unsigned char)*p;
	const tl_scenario *s = inst->scenario;
	size_t k = 0;
	for (size_t ti = 0; ti < s->n_tasks; ti++)
		for (size_t ci = 0; ci < s->tasks[ti].n_criteria; ci++) {
			const tl_criterion *c = &s->tasks[ti].criteria[ci];
			for (size_t pi = 0; pi < c->n_probes; pi++, k++) {
				tl_probe_result *r = &ret[k];
				const tl_probe *p = &c->probes[pi];
				memset(r, 0, sizeof *r);
				r->probe = p;
				r->exit_code = -1;
				r->http_status = -1;
				const char *where = tl_probe_where(p);
				if (where &&
				    !machine_running(t, inst->id, where)) {
					r->status = TL_PROBE_ERROR;
					r->error = tl_xasprintf(
					    "machine %s is not running", where);
					continue;
				}
				bool ok = (seed + (unsigned)k) % 3 != 0;
				r->status = TL_PROBE_DONE;
				r->ok = ok;
				r->value = tl_xstrdup(ok ? "yes" : "no");
				r->exit_code = ok ? 0 : 1;
				r->evidence_cmd = tl_xasprintf(
				    "test-backend %s #%zu", p->kind_name, k);
				r->evidence_out = tl_xstrdup(ok ? "ok" : "");
				r->ms = 1;
			}
		}
	return 0;
}

static int t_run(tl_backend *b, const tl_backend_instance *inst,
		 const char *machine, const char *script, int timeout_s,
		 char **ret_output, tl_error *err)
{
	(void)b, (void)inst, (void)script, (void)timeout_s;
	*ret_output = NULL;
	return tl_error_set(err,
			    "the test backend has no real machines: it "
			    "cannot run scripts on %s (use backend = libvirt)",
			    machine);
}

static int set_state(tl_backend *b, const tl_backend_instance *inst,
		     const char *only, const char *state, tl_error *err)
{
	test_backend *t = b->priv;
	size_t i;
	json_t *m;
	json_array_foreach ((json_t *)inst->machines, i, m) {
		const char *id =
		    json_string_value(json_object_get(m, "machine"));
		if (only && strcmp(only, id))
			continue;
		TL_AUTOFREE char *p = machine_path(t, inst->id, id);
		json_t *cur = json_load_file(p, 0, NULL);
		if (!cur)
			return tl_error_set(err,
					    "machine %s of instance %lld does "
					    "not exist",
					    id, (long long)inst->id);
		json_object_set_new(cur, "state", json_string(state));
		int rc = write_machine(t, inst->id, cur, err);
		json_decref(cur);
		if (rc < 0)
			return rc;
		if (only)
			return 0;
	}
	if (only)
		return tl_error_set(err, "no machine \"%s\" in this instance",
				    only);
	return 0;
}

static int t_stop(tl_backend *b, const tl_backend_instance *inst, tl_error *err)
{
	return set_state(b, inst, NULL, "stopped", err);
}

static int t_reset(tl_backend *b, const tl_backend_instance *inst,
		   const char *machine, json_t **ret_machines, tl_error *err)
{
	test_backend *t = b->priv;
	*ret_machines = NULL;
	tl_sleep_ms(t->provision_ms / 4);
	return set_state(b, inst, machine, "running", err);
}

static int t_reconcile(tl_backend *b, const tl_backend_instance *live,
		       size_t n_live, size_t *ret_removed, tl_error *err)
{
	test_backend *t = b->priv;
	*ret_removed = 0;
	DIR *dir = opendir(t->dir);
	if (!dir)
		return tl_error_set(err, "%s: %s", t->dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(dir))) {
		long long id;
		if (sscanf(e->d_name, "i%lld-", &id) != 1)
			continue;
		bool keep = false;
		for (size_t i = 0; i < n_live; i++)
			keep |= live[i].id == id;
		TL_AUTOFREE char *p = tl_xasprintf("%s/%s", t->dir, e->d_name);
		if (!keep && unlink(p) == 0)
			(*ret_removed)++;
	}
	closedir(dir);
	return 0;
}

static int t_console_fd(tl_backend *b, const tl_backend_instance *inst,
			const char *machine, int *ret_fd, tl_error *err)
{
	(void)b;
	(void)inst;
	(void)machine;
	*ret_fd = -1;
	return tl_error_set(err, "no console on the test backend");
}

static void t_free(tl_backend *b)
{
	if (!b)
		return;
	test_backend *t = b->priv;
	free(t->dir);
	free(t->access_address);
	free(t);
	free(b);
}

tl_backend *tl_backend_test_new(const tl_config *cfg, tl_error *err)
{
	TL_AUTOFREE char *dir = tl_xasprintf("%s/test-backend", cfg->state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		tl_error_set(err, "%s: cannot create: %s", dir,
			     strerror(errno));
		return NULL;
	}
	test_backend *t = tl_xcalloc(1, sizeof *t);
	t->dir = TL_TAKE_PTR(dir);
	t->access_address = tl_xstrdup(cfg->access_address);
	t->provision_ms = cfg->test_provision_ms;
	t->grade_ms = cfg->test_grade_ms;
	t->base_port = cfg->test_machine_port;
	tl_backend *b = tl_xcalloc(1, sizeof *b);
	b->name = "test";
	b->priv = t;
	b->create = t_create;
	b->setup = t_setup;
	b->grade = t_grade;
	b->run = t_run;
	b->stop = t_stop;
	b->reset = t_reset;
	b->destroy = t_destroy;
	b->reconcile = t_reconcile;
	b->console_fd = t_console_fd;
	b->free = t_free;
	return b;
}
