/*
 * test_tamper.c: a root trainee trying to fool the grader, against the
 * real sshd of sshd-fixture.sh, whose root home is a folder of the fixture
 * (the trainee's ~). What must hold:
 *   - a fake systemctl first in PATH, and a systemctl shell function and
 *     alias in ~/.bashrc, fool a naive "ssh host systemctl is-active" but
 *     not the agent;
 *   - a login that prints a banner still grades normally;
 *   - a login that replays an earlier genuine agent output (canned, via
 *     ~/.bashrc or a forced command in authorized_keys) is TAMPERED;
 *   - the machine answering with another host key is TAMPERED, and
 *     nothing runs on it;
 *   - a binary whose hash is not the image's (hashes.json) is TAMPERED.
 */
#include "probe_test.h"
#include "probes.h"

static tl_probe_machine M;
static const char *HOME;

static void bashrc(const char *text)
{
	char *p = tl_xasprintf("%s/.bashrc", HOME);
	pt_write(p, text);
	free(p);
}

static void clear(tl_probe_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tl_probe_result_clear(&r[i]);
}

static bool need_home(void)
{
	if (HOME && *HOME)
		return true;
	printf("  (no private home for the test sshd: unshare -m is not "
	       "allowed here; skipped)\n");
	return false;
}

TL_TEST(test_fake_systemctl)
{
	if (!need_home())
		return;
	char *bin = tl_xasprintf("%s/fakebin", HOME);
	mkdir(bin, 0755);
	char *fake = tl_xasprintf("%s/systemctl", bin);
	pt_write(fake, "#!/bin/sh\necho active\nexit 0\n");
	chmod(fake, 0755);
	bashrc("export PATH=/root/fakebin:$PATH\n"
	       "systemctl() { echo active; }\n"
	       "alias systemctl='echo active'\n");

	/* the naive way is fooled: that is the threat */
	tl_ssh_result sr;
	tl_error err;
	CHECK(tl_ssh_run(&M.ssh, "systemctl is-active tl-nginx", NULL, 0, 10, 0,
			 &sr, &err) == TL_SSH_OK);
	CHECK_STR(sr.out, "active\n");
	tl_ssh_result_clear(&sr);

	/* the agent is not */
	const tl_probe *p[2] = {
	    pr_make("service.active", "srv", NULL, "{\"name\":\"tl-nginx\"}",
		    5),
	    pr_make("service.enabled", "srv", NULL, "{\"name\":\"tl-nginx\"}",
		    5),
	};
	tl_probe_result r[2];
	CHECK(tl_probe_run_machine(&M, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_DONE);
	CHECK(!r[0].ok);
	CHECK(r[0].value && strcmp(r[0].value, "active"));
	CHECK(r[1].status == TL_PROBE_DONE && !r[1].ok);
	if (r[1].evidence_cmd && access("/usr/bin/systemctl", X_OK) == 0)
		CHECK_CONTAINS(r[1].evidence_cmd, "/usr/bin/systemctl ");
	clear(r, 2);
	bashrc("");
	free(fake);
	free(bin);
}

TL_TEST(test_banner_is_harmless)
{
	if (!need_home())
		return;
	bashrc("echo 'Bienvenue sur srv-web'\necho '{\"motd\":1}'\n");
	const tl_probe *p = pr_make("sysctl.value", "srv", NULL,
				    "{\"key\":\"kernel.ostype\"}", 5);
	tl_probe_result r;
	tl_error err;
	CHECK(tl_probe_run_machine(&M, &p, 1, &r, &err) == 0);
	CHECK(r.status == TL_PROBE_DONE);
	CHECK_STR(r.value, "Linux");
	tl_probe_result_clear(&r);
	bashrc("");
}

/* A genuine agent output of an earlier run, saved in the trainee's home. */
static char *canned_output(const tl_probe *const *p, size_t n)
{
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {0};
	if (tl_probe_batch_compile(&b, p, n, &o, &err) < 0)
		return NULL;
	tl_ssh_result sr;
	tl_ssh_run(&M.ssh, tl_probe_agent_command(TL_AGENT_SH), b.script,
		   b.script_len, 30, 0, &sr, &err);
	char *path = tl_xasprintf("%s/canned", HOME);
	pt_write(path, sr.out ? sr.out : "");
	free(path);
	char *out = tl_xstrdup(sr.out);
	tl_ssh_result_clear(&sr);
	tl_probe_batch_clear(&b);
	return out;
}

TL_TEST(test_replayed_output)
{
	if (!need_home())
		return;
	/* the run the trainee recorded, when the service did run */
	const tl_probe *p =
	    pr_make("process.running", "srv", NULL, "{\"name\":\"sshd\"}", 5);
	char *canned = canned_output(&p, 1);
	CHECK(canned && strstr(canned, "\"t\":\"end\""));
	free(canned);

	/* every later login prints it instead of running anything */
	bashrc("exec cat /root/canned\n");
	tl_probe_result r;
	tl_error err;
	CHECK(tl_probe_run_machine(&M, &p, 1, &r, &err) == 0);
	CHECK(r.status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r.error, "not this run's");
	tl_probe_result_clear(&r);
	bashrc("");

	/* the same with a forced command on the key */
	char *ak =
	    tl_xasprintf("%s/authorized_keys", getenv("TL_TEST_SSH_DIR"));
	char *pub = tl_xasprintf("%s.pub", getenv("TL_TEST_SSH_BADKEY"));
	size_t len;
	char *key = tl_file_read(pub, 4096, &len, &err);
	CHECK(key != NULL);
	FILE *f = fopen(ak, "a");
	if (f && key) {
		fprintf(f, "command=\"cat /root/canned\" %s", key);
		fclose(f);
	}
	tl_probe_machine m = M;
	m.ssh.key_path = getenv("TL_TEST_SSH_BADKEY");
	CHECK(tl_probe_run_machine(&m, &p, 1, &r, &err) == 0);
	CHECK(r.status == TL_PROBE_TAMPERED);
	tl_probe_result_clear(&r);
	free(key);
	free(pub);
	free(ak);
}

TL_TEST(test_hostkey_changed)
{
	/* the trainee re-installed the machine (or put another one at its
	 * address): refused before logging in, the whole batch tampered */
	tl_probe_machine m = M;
	m.ssh.port = atoi(getenv("TL_TEST_SSH_ALT_PORT"));
	char *marker = tl_xasprintf("%s/ran", pt_tmpdir());
	char *args = tl_xasprintf("{\"command\":\"touch %s\"}", marker);
	const tl_probe *p[2] = {
	    pr_make("command.run", "srv", NULL, args, 5),
	    pr_make("sysctl.value", "srv", NULL, "{\"key\":\"a.b\"}", 5),
	};
	tl_probe_result r[2];
	tl_error err;
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	for (int i = 0; i < 2; i++) {
		CHECK(r[i].status == TL_PROBE_TAMPERED);
		CHECK_CONTAINS(r[i].error, "differs from the key pinned");
		CHECK_CONTAINS(r[i].error, getenv("TL_TEST_SSH_ALT_FP"));
	}
	CHECK(access(marker, F_OK) != 0); /* nothing ran over there */
	clear(r, 2);
	free(args);
	free(marker);
}

TL_TEST(test_binary_hash_mismatch)
{
	const tl_probe *p[2] = {
	    pr_make("file.mode", "srv", NULL, "{\"path\":\"/etc/passwd\"}", 5),
	    pr_make("sysctl.value", "srv", NULL, "{\"key\":\"kernel.ostype\"}",
		    5),
	};
	char *real = pt_sh_out("sha256sum /usr/bin/stat | cut -d' ' -f1");
	char *hp = tl_xasprintf("%s/hashes.json", pt_tmpdir());
	tl_probe_machine m = M;
	m.hashes_path = hp;
	tl_probe_result r[2];
	tl_error err;

	/* the image's stat is not this one */
	pt_write(hp,
		 "{\"/usr/bin/stat\": "
		 "\"00000000000000000000000000000000000000000000000000000000"
		 "00000000\"}");
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	CHECK(r[1].status == TL_PROBE_TAMPERED); /* the batch as a whole */
	CHECK_CONTAINS(r[0].error, "/usr/bin/stat has sha256");
	CHECK_CONTAINS(r[0].error, "the binary was replaced");
	clear(r, 2);

	/* the image has stat elsewhere, with another content: the one the
	 * agent found first in its folders is an impostor */
	char *json = tl_xasprintf("{\"/sbin/stat\": \"%064d\"}", 7);
	pt_write(hp, json);
	free(json);
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	clear(r, 2);

	/* the shell itself */
	json = tl_xasprintf("{\"/bin/sh\": \"%064d\"}", 1);
	pt_write(hp, json);
	free(json);
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "/bin/sh");
	clear(r, 2);

	/* and the genuine one passes */
	json = tl_xasprintf("{\"/usr/bin/stat\": \"%s\"}", real);
	pt_write(hp, json);
	free(json);
	CHECK(tl_probe_run_machine(&m, p, 2, r, &err) == 0);
	CHECK(r[0].status == TL_PROBE_DONE);
	clear(r, 2);
	free(hp);
	free(real);
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_fake_systemctl), T(test_banner_is_harmless),
	 T(test_replayed_output), T(test_hostkey_changed),
	 T(test_binary_hash_mismatch))
#undef main

int main(int argc, char **argv)
{
	M = (tl_probe_machine){
	    .id = "srv", .ssh = pt_target(), .agent = TL_AGENT_SH};
	HOME = getenv("TL_TEST_SSH_HOME");
	return tl_main_(argc, argv);
}
