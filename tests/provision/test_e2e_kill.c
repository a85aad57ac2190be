/*
 * test_e2e_kill.c: the provisioner killed mid-way, then reconcile (suite
 * "provision-e2e").
 *
 * One instance of the session is created normally and stays live. Then
 * prov_helper, a separate process, starts creating two more instances of
 * the same session and is killed with SIGKILL as soon as it reports its
 * first started domain: networks, overlays, defined and running domains
 * are left behind, with no process to clean them. A new provisioner then
 * reconciles with the store's view (only the first instance is live): the
 * live one must be adopted untouched and still answer SSH, the orphans
 * removed, and virsh must show nothing else of the session.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e_common.h"
#include "tl_test.h"

static tl_prov *prov;
static tl_defs *defs;
static tl_prov_instance *live_inst;
static pid_t helper = -1;

static void cleanup(void)
{
	if (helper > 0) {
		kill(helper, SIGKILL);
		waitpid(helper, NULL, 0);
		helper = -1;
	}
	if (!prov)
		return;
	tl_error err = {{0}};
	tl_prov_session_destroy(prov, e2e_session, NULL, &err);
	live_inst = tl_prov_instance_free(live_inst);
	char *left = e2e_virsh_leftovers(e2e_session);
	if (*left)
		fprintf(stderr, "cleanup: left behind:\n%s", left);
	free(left);
	e2e_logs_drop(tl_test_failures_ == 0);
	prov = tl_prov_free(prov);
	tl_defs_free(defs);
	defs = NULL;
}

TL_TEST(setup)
{
	e2e_need_image("tiny");
	e2e_session_init("kill");
	prov = e2e_prov(2);
	atexit(cleanup);
	e2e_clean_stale(prov);
	tl_diags d = {0};
	defs = tl_defs_load(tl_defs_default_root(), NULL, 0, &d);
	CHECK(defs != NULL);
	tl_diags_clear(&d);
}

TL_TEST(a_live_instance)
{
	if (!defs)
		return;
	tl_prov_request r = {.session = e2e_session,
			     .instance = "live",
			     .lab = tl_defs_lab(defs, "tiny-pair")};
	tl_error err = {{0}};
	live_inst = tl_prov_instance_create(prov, &r, NULL, NULL, &err);
	CHECK(live_inst != NULL);
	if (!live_inst)
		fprintf(stderr, "  %s\n", err.msg);
}

/* Path of prov_helper: beside this binary. */
static void helper_path(char *ret, size_t n)
{
	char self[512];
	ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
	self[l > 0 ? l : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(ret, n, "%s/prov_helper", self);
}

TL_TEST(provisioner_killed_midway)
{
	if (!prov)
		return;
	int fds[2];
	CHECK(pipe(fds) == 0);
	char path[600];
	helper_path(path, sizeof path);
	helper = fork();
	if (helper == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(path, path, E2E_URI, E2E_POOL, E2E_POOL_PATH,
		      e2e_images_dir(), e2e_session, "2", "tiny-pair",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	char line[256];
	bool started = false;
	int lines = 0;
	while (fgets(line, sizeof line, in)) {
		lines++;
		fprintf(stderr, "  helper: %s", line);
		if (!strncmp(line, "started ", 8)) {
			started = true;
			break;
		}
	}
	kill(helper, SIGKILL);
	int status = 0;
	waitpid(helper, &status, 0);
	helper = -1;
	fclose(in);
	CHECK(started);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* libvirtd finishes a call whose client died: let it settle */
	struct timespec ts = {1, 0};
	nanosleep(&ts, NULL);

	tl_prov_report r;
	tl_error err = {{0}};
	CHECK(tl_prov_list(prov, e2e_session, &r, &err) == 0);
	size_t orphans = 0;
	for (size_t i = 0; i < r.n; i++)
		orphans += strcmp(r.items[i].instance, "live") != 0;
	fprintf(stderr, "  killed after %d events: %zu orphan objects\n", lines,
		orphans);
	CHECK(orphans > 0);
	tl_prov_report_clear(&r);
}

static bool live_only(void *ud, const char *session, const char *instance)
{
	(void)ud;
	/* other sessions on this libvirtd are not ours to judge */
	if (strcmp(session, e2e_session))
		return true;
	return !strcmp(instance, "live");
}

TL_TEST(reconcile_leaves_no_orphan)
{
	if (!prov)
		return;
	/* a fresh provisioner, as a restarted daemon */
	tl_prov *p2 = e2e_prov(2);
	tl_prov_report r;
	tl_error err = {{0}};
	int rc = tl_prov_reconcile(p2, live_only, NULL, &r, &err);
	CHECK(rc == 0);
	if (rc < 0)
		fprintf(stderr, "  %s\n", err.msg);
	size_t removed = 0, adopted = 0;
	for (size_t i = 0; i < r.n; i++) {
		const tl_prov_report_item *it = &r.items[i];
		if (strcmp(it->session, e2e_session))
			continue;
		fprintf(stderr, "  %s %s %s\n", tl_prov_action_name(it->action),
			tl_prov_obj_kind_name(it->kind), it->name);
		removed += it->action == TL_PROV_REMOVED;
		adopted += it->action == TL_PROV_ADOPTED;
		CHECK(it->action != TL_PROV_REMOVE_FAILED);
		if (!strcmp(it->instance, "live"))
			CHECK(it->action == TL_PROV_ADOPTED);
		else
			CHECK(it->action == TL_PROV_REMOVED);
	}
	CHECK(removed > 0);
	CHECK(adopted == 5);
	/* the adopted instance is the live one, and still answers */
	tl_prov_instance *ad = NULL;
	for (size_t i = 0; i < r.n_adopted_instances; i++)
		if (!strcmp(r.adopted[i]->session, e2e_session))
			ad = r.adopted[i];
	CHECK(ad && !strcmp(ad->instance, "live") && ad->n_machines == 2);
	if (ad && live_inst) {
		for (size_t k = 0; k < ad->n_machines; k++) {
			tl_prov_machine *m = &ad->machines[k];
			/* pins come from the store in the daemon */
			m->host_fp = strdup(live_inst->machines[k].host_fp);
			char *out = NULL;
			CHECK(e2e_run(p2, m, "hostname", NULL, &out) == 0);
			CHECK_STR(out, m->hostname);
			free(out);
		}
	}
	tl_prov_report_clear(&r);
	/* nothing of the killed instances is left */
	char *left = e2e_virsh_leftovers(e2e_session);
	CHECK(!strstr(left, "+k0+") && !strstr(left, "+k1+"));
	CHECK(strstr(left, "tl+") != NULL); /* the live one is */
	free(left);
	tl_prov_free(p2);
	/* then the session ends */
	CHECK(tl_prov_session_destroy(prov, e2e_session, NULL, &err) == 0);
	left = e2e_virsh_leftovers(e2e_session);
	CHECK_STR(left, "");
	free(left);
}

TL_TESTS(T(setup), T(a_live_instance), T(provisioner_killed_midway),
	 T(reconcile_leaves_no_orphan))
