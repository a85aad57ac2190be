/*
 * test_net.c: the network probes the orchestrator runs itself, against
 * servers started here on 127.0.0.1 and reached through a port map as in
 * loopback access mode: tcp.connect (open, refused, not forwarded),
 * http.request (status, body, the cap, the Host header, nothing there),
 * dns.query (A, AAAA, MX, TXT, CNAME, NXDOMAIN, no server) against a tiny
 * DNS server (dns-server.py).
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include "probe_test.h"
#include "probes.h"

static pid_t kids[2];
static int HTTP, DNS, CLOSED, TCP;
static int tcp_fd = -1;
static tl_probe_portmap PORTS[5];
static tl_probe_machine M;

static void stop(void)
{
	for (int i = 0; i < 2; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGTERM);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
}

static pid_t start(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void wait_tcp(int port)
{
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr =
					    htonl(INADDR_LOOPBACK)};
		int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
		close(fd);
		if (rc == 0)
			return;
		usleep(50000);
	}
}

static void init(void)
{
	const char *T = pt_tmpdir();
	char *www = tl_xasprintf("%s/www", T);
	mkdir(www, 0755);
	char *idx = tl_xasprintf("%s/index.html", www);
	pt_write(idx, "<h1>Boulangerie Martin</h1>\n");
	free(idx);
	char *big = tl_xasprintf("%s/big.txt", www);
	FILE *f = fopen(big, "w");
	for (int i = 0; i < 50000; i++)
		fputs("0123456789", f);
	fclose(f);
	free(big);
	atexit(stop);
	HTTP = pt_closed_port();
	char hp[16], dp[16];
	snprintf(hp, sizeof hp, "%d", HTTP);
	char *const http[] = {
	    "/usr/bin/python3", "-m",	       "http.server", hp,  "--bind",
	    "127.0.0.1",	"--directory", www,	      NULL};
	kids[0] = start(http);
	int ufd = pt_listen(&DNS, SOCK_DGRAM);
	close(ufd);
	snprintf(dp, sizeof dp, "%d", DNS);
	char *script =
	    tl_xasprintf("%s/tests/probe/dns-server.py", TL_SOURCE_ROOT);
	char *const dns[] = {"/usr/bin/python3", script, dp, NULL};
	kids[1] = start(dns);
	wait_tcp(HTTP);
	usleep(300000); /* the DNS server binds */
	free(script);
	free(www);
	CLOSED = pt_closed_port();
	tcp_fd = pt_listen(&TCP, SOCK_STREAM);
	PORTS[0] = (tl_probe_portmap){80, HTTP, false};
	PORTS[1] = (tl_probe_portmap){53, DNS, true};
	PORTS[2] = (tl_probe_portmap){22, CLOSED, false};
	PORTS[3] = (tl_probe_portmap){25, TCP, false};
	PORTS[4] = (tl_probe_portmap){5353, CLOSED, true};
	M = (tl_probe_machine){
	    .id = "srv", .address = "127.0.0.1", .ports = PORTS, .n_ports = 5};
}

static tl_probe_result run(const tl_probe *p)
{
	tl_probe_result r;
	tl_probe_run_network(&M, p, &r);
	return r;
}

TL_TEST(test_tcp_connect)
{
	tl_probe_result r =
	    run(pr_make("tcp.connect", "srv", NULL, "{\"port\":25}", 3));
	CHECK(r.status == TL_PROBE_DONE && r.ok);
	CHECK_STR(r.value, "open");
	CHECK_CONTAINS(r.evidence_cmd, "lab port 25 of srv");
	tl_probe_result_clear(&r);

	r = run(pr_make("tcp.connect", "srv", NULL, "{\"port\":22}", 3));
	CHECK(r.status == TL_PROBE_DONE && !r.ok);
	CHECK_STR(r.value, "Connection refused");
	tl_probe_result_clear(&r);

	r = run(pr_make("tcp.connect", "srv", NULL, "{\"port\":3389}", 3));
	CHECK(r.status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r.error, "TCP port 3389 of machine \"srv\" is not "
				"forwarded");
	tl_probe_result_clear(&r);

	/* direct access (no port map): lab ports as they are */
	tl_probe_machine direct = {.id = "srv", .address = "127.0.0.1"};
	tl_probe_run_network(
	    &direct,
	    pr_makef("tcp.connect", "srv", NULL, 3, "{\"port\":%d}", TCP), &r);
	CHECK(r.ok);
	tl_probe_result_clear(&r);
}

TL_TEST(test_http_request)
{
	tl_probe_result r = run(pr_make("http.request", "srv", NULL,
					"{\"port\":80,\"status\":200}", 5));
	CHECK(r.status == TL_PROBE_DONE && r.ok);
	CHECK(r.http_status == 200);
	CHECK_CONTAINS(r.value, "Boulangerie Martin");
	CHECK_CONTAINS(r.evidence_cmd, "GET http://127.0.0.1:");
	tl_probe_result_clear(&r);

	r = run(pr_make("http.request", "srv", NULL,
			"{\"port\":80,\"path\":\"nope.html\",\"status\":200,"
			"\"host\":\"www.lab.test\"}",
			5));
	CHECK(r.status == TL_PROBE_DONE && !r.ok);
	CHECK(r.http_status == 404);
	CHECK_CONTAINS(r.evidence_cmd, "/nope.html Host: www.lab.test");
	tl_probe_result_clear(&r);

	/* any answer is an answer when no status is expected */
	r = run(pr_make("http.request", "srv", NULL,
			"{\"port\":80,\"path\":\"/nope.html\"}", 5));
	CHECK(r.ok && r.http_status == 404);
	tl_probe_result_clear(&r);

	/* a body past the cap is cut, and said so */
	r = run(pr_make("http.request", "srv", NULL,
			"{\"port\":80,\"path\":\"/big.txt\"}", 5));
	CHECK(r.ok);
	CHECK(strlen(r.value) == TL_PROBE_VALUE_CAP);
	CHECK_CONTAINS(r.evidence_out, "500000 bytes of body (value cut");
	tl_probe_result_clear(&r);

	/* nothing there: the service is down, seen from outside */
	r = run(pr_make("http.request", "srv", NULL, "{\"port\":22}", 5));
	CHECK(r.status == TL_PROBE_DONE && !r.ok);
	CHECK(r.http_status == -1);
	CHECK(r.evidence_out && *r.evidence_out);
	tl_probe_result_clear(&r);
}

TL_TEST(test_dns_query)
{
	tl_probe_result r = run(pr_make("dns.query", "srv", NULL,
					"{\"name\":\"www.lab.test\"}", 3));
	CHECK(r.status == TL_PROBE_DONE && r.ok);
	CHECK_STR(r.value, "192.0.2.10\n192.0.2.11");
	CHECK_CONTAINS(r.evidence_out, "NOERROR, 2 answer(s)");
	tl_probe_result_clear(&r);

	r = run(pr_make("dns.query", "srv", NULL,
			"{\"name\":\"www.lab.test\",\"type\":\"AAAA\"}", 3));
	CHECK(r.ok);
	CHECK_STR(r.value, "2001:db8::10");
	tl_probe_result_clear(&r);

	r = run(pr_make("dns.query", "srv", NULL,
			"{\"name\":\"mail.lab.test\",\"type\":\"MX\"}", 3));
	CHECK(r.ok);
	CHECK_STR(r.value, "10 mx.lab.test.");
	tl_probe_result_clear(&r);

	r = run(pr_make("dns.query", "srv", NULL,
			"{\"name\":\"www.lab.test\",\"type\":\"TXT\"}", 3));
	CHECK(r.ok);
	CHECK_STR(r.value, "\"v=tl1\"");
	tl_probe_result_clear(&r);

	r = run(pr_make("dns.query", "srv", NULL,
			"{\"name\":\"alias.lab.test\"}", 3));
	CHECK(r.ok);
	CHECK_STR(r.value, "www.lab.test.\n192.0.2.10\n192.0.2.11");
	tl_probe_result_clear(&r);

	r = run(pr_make("dns.query", "srv", NULL,
			"{\"name\":\"nope.lab.test\"}", 3));
	CHECK(r.status == TL_PROBE_DONE && !r.ok);
	CHECK_STR(r.value, "");
	CHECK_CONTAINS(r.evidence_out, "NXDOMAIN");
	tl_probe_result_clear(&r);

	/* no server answers on that port */
	r = run(pr_make("dns.query", "srv", NULL,
			"{\"name\":\"www.lab.test\",\"port\":5353}", 1));
	CHECK(r.status == TL_PROBE_DONE && !r.ok);
	CHECK_CONTAINS(r.evidence_out, "no answer");
	tl_probe_result_clear(&r);
}

TL_TEST(test_not_from_orchestrator)
{
	tl_probe_result r;
	tl_probe_run_network(&M, pr_make("ping", "srv", "cli", "{}", 3), &r);
	CHECK(r.status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r.error, "does not run from the orchestrator");
	tl_probe_result_clear(&r);
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_tcp_connect), T(test_http_request), T(test_dns_query),
	 T(test_not_from_orchestrator))
#undef main

int main(int argc, char **argv)
{
	if (access("/usr/bin/python3", X_OK)) {
		fprintf(stderr,
			"SKIP: /usr/bin/python3 runs the test servers\n");
		return 77;
	}
	init();
	int rc = tl_main_(argc, argv);
	close(tcp_fd);
	stop();
	return rc;
}
