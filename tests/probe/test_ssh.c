/*
 * test_ssh.c: the SSH transport (orchestrator/probe/ssh.c) against a real
 * OpenSSH sshd on 127.0.0.1 (tests/probe/sshd-fixture.sh): running a
 * command, stdin, exit status, stderr, the output ceiling, the command
 * timeout, host key pinning, refused keys, a closed port, a silent port,
 * and the banner wait.
 */
#include <pthread.h>

#include "probe_test.h"

static tl_ssh_target T;

TL_TEST(test_fingerprint_format)
{
	unsigned char zero[32] = {0};
	char fp[TL_SSH_FP_MAX];
	tl_ssh_fingerprint_format(zero, fp);
	CHECK_STR(fp, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	unsigned char ff[32];
	memset(ff, 0xff, sizeof ff);
	tl_ssh_fingerprint_format(ff, fp);
	CHECK_STR(fp, "SHA256://////////////////////////////////////////8");
	CHECK(tl_ssh_fingerprint_equal("SHA256:abc", "SHA256:abc="));
	CHECK(!tl_ssh_fingerprint_equal("SHA256:abc", "SHA256:abd"));
	CHECK(!tl_ssh_fingerprint_equal("SHA256:abc", "SHA256:ab"));
}

TL_TEST(test_run_basic)
{
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc = tl_ssh_run(&T, "echo hello; echo oops >&2; exit 3", NULL, 0,
			    10, 0, &r, &err);
	CHECK(rc == TL_SSH_OK);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK_STR(r.out, "hello\n");
	CHECK_STR(r.err, "oops\n");
	CHECK(r.exit_status == 3);
	CHECK(!r.out_truncated);
	/* the key we saw is the one ssh-keygen -lf prints for the host */
	CHECK_STR(r.host_fp, getenv("TL_TEST_SSH_FP"));
	tl_ssh_result_clear(&r);
}

TL_TEST(test_first_contact_reports_key)
{
	tl_ssh_target t = T;
	t.pinned_fp = NULL;
	tl_ssh_result r;
	tl_error err = {{0}};
	CHECK(tl_ssh_run(&t, "true", NULL, 0, 10, 0, &r, &err) == TL_SSH_OK);
	CHECK_STR(r.host_fp, getenv("TL_TEST_SSH_FP"));
	CHECK(r.exit_status == 0);
	tl_ssh_result_clear(&r);
}

TL_TEST(test_stdin)
{
	size_t n = 300000; /* larger than one SSH window slice */
	char *data = tl_xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc = tl_ssh_run(&T, "cat", data, n, 20, n + 10, &r, &err);
	CHECK(rc == TL_SSH_OK);
	CHECK(r.out_len == n);
	CHECK(r.out && !memcmp(r.out, data, n));
	CHECK(r.exit_status == 0);
	tl_ssh_result_clear(&r);

	/* the command never reads its stdin: we must not hang writing */
	size_t big = 8u << 20;
	char *more = tl_xcalloc(1, big);
	rc = tl_ssh_run(&T, "echo done", more, big, 20, 0, &r, &err);
	CHECK(rc == TL_SSH_OK);
	CHECK_STR(r.out, "done\n");
	tl_ssh_result_clear(&r);
	free(more);
	free(data);
}

TL_TEST(test_killed_has_no_status)
{
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc =
	    tl_ssh_run(&T, "echo before; kill -9 $$", NULL, 0, 10, 0, &r, &err);
	CHECK(rc == TL_SSH_OK);
	CHECK_STR(r.out, "before\n");
	CHECK(r.exit_status == -1);
	tl_ssh_result_clear(&r);
}

TL_TEST(test_output_cap)
{
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc = tl_ssh_run(&T,
			    "head -c 200000 /dev/zero | tr '\\0' a; "
			    "head -c 5000 /dev/zero | tr '\\0' b >&2; exit 4",
			    NULL, 0, 20, 1000, &r, &err);
	CHECK(rc == TL_SSH_OK);
	CHECK(r.out_len == 1000);
	CHECK(r.out_truncated);
	CHECK(r.err_len == 1000);
	CHECK(r.err_truncated);
	/* we kept reading past the cap: the command finished normally */
	CHECK(r.exit_status == 4);
	CHECK(r.out[0] == 'a' && r.out[999] == 'a' && r.out[1000] == '\0');
	tl_ssh_result_clear(&r);
}

TL_TEST(test_timeout)
{
	tl_ssh_result r;
	tl_error err = {{0}};
	double t0 = pt_now_ms();
	int rc = tl_ssh_run(&T, "echo started; exec sleep 60", NULL, 0, 1, 0,
			    &r, &err);
	double ms = pt_now_ms() - t0;
	CHECK(rc == TL_SSH_TIMEOUT);
	CHECK_CONTAINS(err.msg, "still running after 1 s");
	CHECK_STR(r.out, "started\n"); /* what came before is kept */
	CHECK(r.exit_status == -1);
	CHECK(ms < 30000); /* not the command's 60 s */
	tl_ssh_result_clear(&r);
}

TL_TEST(test_hostkey_mismatch)
{
	tl_ssh_target t = T;
	t.pinned_fp = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc = tl_ssh_run(&t, "touch /tmp/should-not-run", NULL, 0, 10, 0, &r,
			    &err);
	CHECK(rc == TL_SSH_HOSTKEY_MISMATCH);
	CHECK_CONTAINS(err.msg, "differs from the key pinned");
	CHECK_STR(r.host_fp, getenv("TL_TEST_SSH_FP"));
	CHECK(r.exit_status == -1);
	tl_ssh_result_clear(&r);

	/* the "same machine" answering with another key (re-installed, or
	 * someone in between): refused, and the new key is reported */
	t = T;
	t.port = atoi(getenv("TL_TEST_SSH_ALT_PORT"));
	rc = tl_ssh_run(&t, "true", NULL, 0, 10, 0, &r, &err);
	CHECK(rc == TL_SSH_HOSTKEY_MISMATCH);
	CHECK_STR(r.host_fp, getenv("TL_TEST_SSH_ALT_FP"));
	tl_ssh_result_clear(&r);

	/* padding in the pinned value is tolerated */
	t = T;
	char *padded = tl_xasprintf("%s=", getenv("TL_TEST_SSH_FP"));
	t.pinned_fp = padded;
	CHECK(tl_ssh_run(&t, "true", NULL, 0, 10, 0, &r, &err) == TL_SSH_OK);
	tl_ssh_result_clear(&r);
	free(padded);
}

TL_TEST(test_auth_refused)
{
	tl_ssh_target t = T;
	t.key_path = getenv("TL_TEST_SSH_BADKEY");
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc = tl_ssh_run(&t, "true", NULL, 0, 10, 0, &r, &err);
	CHECK(rc == TL_SSH_AUTH);
	CHECK_CONTAINS(err.msg, "not accepted");
	CHECK(r.host_fp != NULL); /* we did connect */
	tl_ssh_result_clear(&r);

	t.key_path = "/nonexistent/key";
	rc = tl_ssh_run(&t, "true", NULL, 0, 10, 0, &r, &err);
	CHECK(rc == TL_SSH_AUTH);
	CHECK_CONTAINS(err.msg, "cannot read the private key");
	tl_ssh_result_clear(&r);
}

TL_TEST(test_closed_port)
{
	tl_ssh_target t = T;
	t.port = pt_closed_port();
	t.connect_timeout_s = 60;
	tl_ssh_result r;
	tl_error err = {{0}};
	double t0 = pt_now_ms();
	int rc = tl_ssh_run(&t, "true", NULL, 0, 10, 0, &r, &err);
	double ms = pt_now_ms() - t0;
	CHECK(rc == TL_SSH_CONNECT);
	CHECK_CONTAINS(err.msg, "cannot connect");
	CHECK(r.host_fp == NULL);
	CHECK(ms < 30000); /* refused at once, not after the 60 s timeout */
	tl_ssh_result_clear(&r);
}

TL_TEST(test_silent_port)
{
	/* accepts TCP (the kernel does, from the backlog) but never speaks */
	int port;
	int fd = pt_listen(&port, SOCK_STREAM);
	tl_ssh_target t = T;
	t.port = port;
	t.connect_timeout_s = 1;
	tl_ssh_result r;
	tl_error err = {{0}};
	int rc = tl_ssh_run(&t, "true", NULL, 0, 10, 0, &r, &err);
	CHECK(rc == TL_SSH_CONNECT);
	tl_ssh_result_clear(&r);

	CHECK(tl_ssh_wait_banner("127.0.0.1", port, 1, &err) < 0);
	CHECK_CONTAINS(err.msg, "no SSH banner");
	close(fd);
}

TL_TEST(test_wait_banner)
{
	tl_error err = {{0}};
	CHECK(tl_ssh_wait_banner("127.0.0.1", T.port, 5, &err) == 0);
	CHECK(tl_ssh_wait_banner("127.0.0.1", pt_closed_port(), 1, &err) < 0);
	CHECK_CONTAINS(err.msg, "refused");
	CHECK(tl_ssh_wait_banner("no such host.invalid", 22, 1, &err) < 0);
}

struct par {
	int i;
	int ok;
};

static void *par_run(void *arg)
{
	struct par *p = arg;
	tl_ssh_result r;
	tl_error err;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "echo %d", p->i);
	int rc = tl_ssh_run(&T, cmd, NULL, 0, 20, 0, &r, &err);
	p->ok = rc == 0 && r.out && atoi(r.out) == p->i && r.exit_status == 0;
	tl_ssh_result_clear(&r);
	return NULL;
}

TL_TEST(test_parallel)
{
	/* sessions from several threads at once share nothing */
	enum { N = 6 };
	pthread_t th[N];
	struct par p[N];
	for (int i = 0; i < N; i++) {
		p[i] = (struct par){.i = i};
		pthread_create(&th[i], NULL, par_run, &p[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		CHECK(p[i].ok);
	}
}

static void init(void)
{
	T = pt_target();
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_fingerprint_format), T(test_run_basic),
	 T(test_first_contact_reports_key), T(test_stdin),
	 T(test_killed_has_no_status), T(test_output_cap), T(test_timeout),
	 T(test_hostkey_mismatch), T(test_auth_refused), T(test_closed_port),
	 T(test_silent_port), T(test_wait_banner), T(test_parallel))
#undef main

int main(int argc, char **argv)
{
	init();
	return tl_main_(argc, argv);
}
