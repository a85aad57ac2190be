/*
 * test_batch.c: the batch compiler and the agent-output parser without
 * any machine: the script a batch sends (framing, nonce, quoting, network
 * kinds run from a lab machine), and how hand-made agent outputs are
 * judged (a good run, a wrong nonce, a replay, duplicates, a wrong count,
 * an early end, injected lines, hex and caps, tool hashes, an abort).
 */
#include "probe_test.h"
#include "probes.h"

static const char *NONCE = "0123456789abcdef0123456789abcdef";

static char *hex(const char *s)
{
	size_t n = strlen(s);
	char *h = tl_xmalloc(2 * n + 1);
	tl_hex_encode((const unsigned char *)s, n, h);
	return h;
}

/* One probe record as the agent prints it. */
static void rec_probe(tl_buf *b, const char *nonce, int i, const char *s,
		      bool ok, const char *value, const char *out,
		      const char *tr)
{
	char *v = hex(value), *o = hex(out), *c = hex("/usr/bin/true");
	char *m = hex(strcmp(s, "done") ? "it broke" : "");
	tl_buf_printf(b,
		      "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":%d,"
		      "\"s\":\"%s\",\"ok\":%s,\"x\":0,\"h\":-1,\"ms\":5,"
		      "\"c\":\"%s\",\"v\":\"%s\",\"o\":\"%s\",\"m\":\"%s\","
		      "\"tr\":\"%s\"}\n",
		      nonce, i, s, ok ? "true" : "false", c, v, o, m, tr);
	free(v);
	free(o);
	free(c);
	free(m);
}

static void rec_start(tl_buf *b, const char *nonce)
{
	tl_buf_printf(
	    b, "{\"tl\":1,\"n\":\"%s\",\"t\":\"start\",\"proto\":1}\n", nonce);
}

static void rec_end(tl_buf *b, const char *nonce, int count)
{
	tl_buf_printf(b, "{\"tl\":1,\"n\":\"%s\",\"t\":\"end\",\"count\":%d}\n",
		      nonce, count);
}

static void rec_bin(tl_buf *b, const char *nonce, const char *name,
		    const char *path, const char *sha)
{
	tl_buf_printf(b,
		      "{\"tl\":1,\"n\":\"%s\",\"t\":\"bin\",\"name\":\"%s\","
		      "\"p\":\"%s\",\"sha256\":\"%s\"}\n",
		      nonce, name, path, sha);
}

static const tl_probe *P[3];
static tl_probe_batch B;

static void batch3(void)
{
	if (!P[0]) {
		P[0] = pr_make("service.active", "srv", NULL,
			       "{\"name\":\"nginx\"}", 5);
		P[1] = pr_make("file.mode", "srv", NULL,
			       "{\"path\":\"/var/www\"}", 5);
		P[2] = pr_make("user.exists", "srv", NULL,
			       "{\"name\":\"adminweb\",\"groups\":[\"sudo\","
			       "\"www-data\"]}",
			       5);
	}
	tl_probe_batch_clear(&B);
	tl_probe_batch_opts o = {.nonce = NONCE, .hash = true};
	tl_error err;
	if (tl_probe_batch_compile(&B, P, 3, &o, &err) < 0) {
		fprintf(stderr, "compile: %s\n", err.msg);
		abort();
	}
}

/* A genuine output for batch3, with what the caller adds in between. */
static void good_output(tl_buf *b, const char *nonce)
{
	rec_start(b, nonce);
	rec_probe(b, nonce, 0, "done", true, "active\n", "active\n", "");
	rec_probe(b, nonce, 1, "done", true, "755", "755\n", "");
	rec_probe(b, nonce, 2, "done", true,
		  "adminweb:1000:1000:/home/a:/bin/bash", "", "");
	rec_bin(
	    b, nonce, "sh", "/bin/sh",
	    "1111111111111111111111111111111111111111111111111111111111111111");
	rec_end(b, nonce, 3);
}

static void parse(const tl_buf *b, const tl_probe_hashes *h, tl_probe_result *r)
{
	tl_probe_batch_parse(&B, b->data, b->len, h, r);
}

static void clear3(tl_probe_result *r)
{
	for (int i = 0; i < 3; i++)
		tl_probe_result_clear(&r[i]);
}

TL_TEST(test_script_framing)
{
	batch3();
	CHECK_STR(B.nonce, NONCE);
	CHECK(B.n_sent == 3);
	CHECK(B.timeout_s == 15);
	size_t alen;
	const char *agent = tl_probe_agent_text(TL_AGENT_SH, &alen);
	CHECK(alen > 1000 && B.script_len > alen);
	CHECK(!memcmp(B.script, agent, alen)); /* the agent comes first */
	const char *tail = B.script + alen;
	CHECK_CONTAINS(tail, "\ntl_begin "
			     "0123456789abcdef0123456789abcdef"
			     " 32768 8192 1\n");
	CHECK_CONTAINS(tail, "tl_p 0 5 service.active 'nginx'\n");
	CHECK_CONTAINS(tail, "tl_p 1 5 file.mode '/var/www'\n");
	/* every argument in table order, absent ones as '', lists by line */
	CHECK_CONTAINS(tail, "tl_p 2 5 user.exists 'adminweb' '' '' "
			     "'sudo\nwww-data'\n");
	CHECK_CONTAINS(tail, "tl_end 3\n");
	CHECK_STR(tl_probe_agent_command(TL_AGENT_SH),
		  "exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "
		  "LC_ALL=C /bin/sh -s");
}

TL_TEST(test_script_quoting)
{
	const tl_probe *p[2] = {
	    pr_make("command.run", "srv", NULL,
		    "{\"command\":\"echo 'it''s' $HOME `id` \\\"x\\\"; "
		    "exit 1\"}",
		    5),
	    pr_make("sshd.setting", "srv", NULL,
		    "{\"key\":\"PasswordAuthentication\"}", 5),
	};
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {0};
	CHECK(tl_probe_batch_compile(&b, p, 2, &o, &err) == 0);
	/* fresh random nonces */
	CHECK(strlen(b.nonce) == 32 && strcmp(b.nonce, NONCE));
	tl_probe_batch b2;
	CHECK(tl_probe_batch_compile(&b2, p, 2, &o, &err) == 0);
	CHECK(strcmp(b.nonce, b2.nonce));
	CHECK_CONTAINS(b.script, "tl_p 0 5 command.run 'echo '\\''it'\\'''\\''"
				 "s'\\'' $HOME `id` \"x\"; exit 1' ''\n");
	/* sshd -T prints lowercase keys */
	CHECK_CONTAINS(b.script, "sshd.setting 'passwordauthentication'\n");
	CHECK_CONTAINS(b.script, "tl_begin ");
	CHECK_CONTAINS(b.script, " 0\n"); /* no hashes asked */
	tl_probe_batch_clear(&b);
	tl_probe_batch_clear(&b2);
}

TL_TEST(test_network_from_machine)
{
	/* a lab: srv 192.168.50.10, cli 192.168.50.20, dyn (DHCP) */
	tl_lab_nic nsrv = {.address = "192.168.50.10/24"};
	tl_lab_nic ncli = {.address = "192.168.50.20/24"};
	tl_lab_nic ndyn = {.address = NULL};
	tl_lab_machine ms[3] = {
	    {.id = "srv", .nics = &nsrv, .n_nics = 1},
	    {.id = "cli", .nics = &ncli, .n_nics = 1},
	    {.id = "dyn", .nics = &ndyn, .n_nics = 1},
	};
	tl_lab lab = {.id = "lab", .machines = ms, .n_machines = 3};
	const tl_probe *p[5] = {
	    pr_make("ping", "srv", "cli", "{}", 3),
	    pr_make("tcp.connect", "srv", "cli", "{\"port\":22}", 3),
	    pr_make("http.request", "srv", "cli",
		    "{\"port\":8443,\"path\":\"admin\",\"tls\":true,"
		    "\"status\":200,\"host\":\"www.lab\"}",
		    3),
	    pr_make("dns.query", "srv", "cli",
		    "{\"name\":\"www.lab\",\"type\":\"MX\"}", 3),
	    pr_make("tcp.connect", "dyn", "cli", "{\"port\":80}", 3),
	};
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {.lab = &lab, .machine = "cli"};
	CHECK(tl_probe_batch_compile(&b, p, 5, &o, &err) == 0);
	CHECK_CONTAINS(b.script, "tl_p 0 3 ping '192.168.50.10'\n");
	CHECK_CONTAINS(b.script, "tl_p 1 3 tcp.connect '192.168.50.10' '22'\n");
	CHECK_CONTAINS(b.script, "tl_p 2 3 http.request "
				 "'https://192.168.50.10:8443/admin' '200' "
				 "'www.lab'\n");
	CHECK_CONTAINS(b.script, "tl_p 3 3 dns.query 'www.lab' 'MX' "
				 "'192.168.50.10' ''\n");
	/* no address to target: not sent, and said why */
	CHECK(!strstr(b.script, "tl_p 4 "));
	CHECK(b.n_sent == 4);
	CHECK(b.not_sent[4] != NULL);
	CHECK_CONTAINS(b.not_sent[4], "no static address");
	CHECK_CONTAINS(b.script, "tl_end 4\n");
	tl_probe_batch_clear(&b);

	/* a network probe from the orchestrator is not an agent's */
	const tl_probe *q =
	    pr_make("tcp.connect", "srv", NULL, "{\"port\":22}", 3);
	CHECK(tl_probe_batch_compile(&b, &q, 1, &o, &err) < 0);
	CHECK_CONTAINS(err.msg, "does not run on cli");
	/* nor a Windows kind */
	q = pr_make("win.service", "srv", NULL, "{\"name\":\"DNS\"}", 3);
	CHECK(tl_probe_batch_compile(&b, &q, 1, &o, &err) < 0);
	CHECK(tl_probe_where(p[0]) && !strcmp(tl_probe_where(p[0]), "cli"));
}

TL_TEST(test_parse_good)
{
	batch3();
	tl_buf b;
	tl_buf_init(&b, 0);
	tl_buf_puts(&b, "Welcome to the machine\n"); /* a banner: ignored */
	good_output(&b, NONCE);
	tl_probe_result r[3];
	parse(&b, NULL, r);
	for (int i = 0; i < 3; i++) {
		CHECK(r[i].status == TL_PROBE_DONE);
		CHECK(r[i].ok);
		CHECK(r[i].probe == P[i]);
	}
	CHECK_STR(r[0].value, "active"); /* trailing newline dropped */
	CHECK_STR(r[1].value, "755");
	CHECK_STR(r[1].evidence_out, "755");
	CHECK_STR(r[0].evidence_cmd, "/usr/bin/true");
	CHECK(r[0].ms == 5);
	CHECK(r[0].exit_code == 0 && r[0].http_status == -1);
	clear3(r);
	tl_buf_clear(&b);
}

/* Every way an output can be forged or damaged, and the verdict. */
TL_TEST(test_parse_tampered)
{
	batch3();
	static const char *other = "ffffffffffffffffffffffffffffffff";
	tl_probe_result r[3];
	tl_buf b;

	/* a replay: a genuine output of another run */
	tl_buf_init(&b, 0);
	good_output(&b, other);
	parse(&b, NULL, r);
	for (int i = 0; i < 3; i++)
		CHECK(r[i].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "not this run's");
	clear3(r);
	tl_buf_clear(&b);

	/* one record of another run spliced in */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	rec_probe(&b, other, 1, "done", true, "755", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_end(&b, NONCE, 3);
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED &&
	      r[2].status == TL_PROBE_TAMPERED);
	clear3(r);
	tl_buf_clear(&b);

	/* a duplicate answer */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "done", false, "inactive", "", "");
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	rec_probe(&b, NONCE, 1, "done", true, "755", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_end(&b, NONCE, 3);
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "second result for probe 0");
	clear3(r);
	tl_buf_clear(&b);

	/* a missing answer with a count that matches what came */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_end(&b, NONCE, 2);
	parse(&b, NULL, r);
	CHECK(r[1].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[1].error, "end record");
	clear3(r);
	tl_buf_clear(&b);

	/* an index we never sent */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 7, "done", true, "x", "", "");
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	clear3(r);
	tl_buf_clear(&b);

	/* a line injected after the start */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	tl_buf_puts(&b, "active\n");
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "not an agent record");
	clear3(r);
	tl_buf_clear(&b);

	/* forged JSON fields: a raw value instead of hex, duplicate keys,
	 * an extra key, a value past the cap */
	const char *forged[] = {
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":0,\"s\":\"done\","
	    "\"ok\":true,\"x\":0,\"h\":-1,\"ms\":1,\"c\":\"\",\"v\":\"active\","
	    "\"o\":\"\",\"m\":\"\",\"tr\":\"\"}\n",
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":0,\"s\":\"done\","
	    "\"ok\":false,\"ok\":true,\"x\":0,\"h\":-1,\"ms\":1,\"c\":\"\","
	    "\"v\":\"\",\"o\":\"\",\"m\":\"\",\"tr\":\"\"}\n",
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":0,\"s\":\"done\","
	    "\"ok\":true,\"x\":0,\"h\":-1,\"ms\":1,\"c\":\"\",\"v\":\"\","
	    "\"o\":\"\",\"m\":\"\",\"tr\":\"\",\"pass\":true}\n",
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":0,\"s\":\"good\","
	    "\"ok\":true,\"x\":0,\"h\":-1,\"ms\":1,\"c\":\"\",\"v\":\"\","
	    "\"o\":\"\",\"m\":\"\",\"tr\":\"\"}\n",
	};
	for (size_t k = 0; k < sizeof forged / sizeof *forged; k++) {
		tl_buf_init(&b, 0);
		rec_start(&b, NONCE);
		tl_buf_printf(&b, forged[k], NONCE);
		parse(&b, NULL, r);
		CHECK(r[0].status == TL_PROBE_TAMPERED);
		clear3(r);
		tl_buf_clear(&b);
	}
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	char *big = tl_xmalloc(B.value_cap + 2);
	memset(big, 'a', B.value_cap + 1);
	big[B.value_cap + 1] = '\0';
	rec_probe(&b, NONCE, 0, "done", true, big, "", "");
	free(big);
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "longer than the cap");
	clear3(r);
	tl_buf_clear(&b);

	/* a record after the end */
	tl_buf_init(&b, 0);
	good_output(&b, NONCE);
	rec_probe(&b, NONCE, 1, "done", true, "777", "", "");
	parse(&b, NULL, r);
	CHECK(r[1].status == TL_PROBE_TAMPERED);
	clear3(r);
	tl_buf_clear(&b);
}

TL_TEST(test_parse_errors)
{
	batch3();
	tl_probe_result r[3];
	tl_buf b;

	/* nothing at all (the shell could not start) */
	tl_buf_init(&b, 0);
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[0].error, "no output");
	clear3(r);

	/* output stops half-way (killed agent, dead machine) */
	good_output(&b, NONCE);
	char *cut = strstr(b.data, "\"t\":\"probe\",\"i\":2");
	b.len = (size_t)(cut - b.data);
	parse(&b, NULL, r);
	for (int i = 0; i < 3; i++)
		CHECK(r[i].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[0].error, "stopped before its end record");
	clear3(r);
	tl_buf_clear(&b);

	/* the agent gave up */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	tl_buf_printf(&b,
		      "{\"tl\":1,\"n\":\"%s\",\"t\":\"abort\",\"why\":"
		      "\"od: not found on this machine\"}\n",
		      NONCE);
	parse(&b, NULL, r);
	CHECK(r[2].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[2].error, "od: not found");
	clear3(r);
	tl_buf_clear(&b);

	/* one probe could not run; one was encoded incompletely */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "error", false, "", "", "");
	rec_probe(&b, NONCE, 1, "done", true, "755", "", "!");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "v");
	rec_end(&b, NONCE, 3);
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_ERROR && !r[0].ok);
	CHECK_STR(r[0].error, "it broke");
	CHECK(r[1].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[1].error, "incomplete");
	CHECK(r[2].status == TL_PROBE_DONE);
	CHECK_CONTAINS(r[2].evidence_out, "[value cut at 32768 bytes]");
	clear3(r);
	tl_buf_clear(&b);
}

TL_TEST(test_parse_hashes)
{
	batch3();
	static const char *real =
	    "1111111111111111111111111111111111111111111111111111111111111111";
	static const char *fake =
	    "2222222222222222222222222222222222222222222222222222222222222222";
	tl_error err;
	char *json =
	    tl_xasprintf("{\"/bin/sh\": \"%s\", \"/usr/bin/systemctl\": "
			 "\"%s\", \"/usr/bin/stat\": \"%s\"}",
			 real, real, real);
	tl_probe_hashes *h =
	    tl_probe_hashes_from_json(json, strlen(json), &err);
	free(json);
	CHECK(h != NULL);
	tl_probe_result r[3];
	tl_buf b;

	/* the genuine binaries, and one the image does not know */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	rec_probe(&b, NONCE, 1, "done", true, "755", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_bin(&b, NONCE, "sh", "/bin/sh", real);
	rec_bin(&b, NONCE, "systemctl", "/usr/bin/systemctl", real);
	rec_bin(&b, NONCE, "stat", "/bin/stat", real); /* same file via /bin */
	rec_bin(&b, NONCE, "getent", "/usr/bin/getent", fake); /* unknown */
	rec_end(&b, NONCE, 3);
	parse(&b, h, r);
	CHECK(r[0].status == TL_PROBE_DONE);
	clear3(r);
	tl_buf_clear(&b);

	/* a replaced systemctl */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	rec_probe(&b, NONCE, 1, "done", true, "755", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_bin(&b, NONCE, "systemctl", "/usr/bin/systemctl", fake);
	rec_end(&b, NONCE, 3);
	parse(&b, h, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "the binary was replaced");
	clear3(r);
	tl_buf_clear(&b);

	/* a systemctl earlier in the search path than the image's */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	rec_probe(&b, NONCE, 1, "done", true, "755", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_bin(&b, NONCE, "systemctl", "/usr/sbin/systemctl", fake);
	rec_end(&b, NONCE, 3);
	parse(&b, h, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	CHECK_CONTAINS(r[0].error, "/usr/sbin/systemctl");
	clear3(r);
	tl_buf_clear(&b);

	/* no tool report at all although hashes were asked for */
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	rec_probe(&b, NONCE, 0, "done", true, "active", "", "");
	rec_probe(&b, NONCE, 1, "done", true, "755", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_end(&b, NONCE, 3);
	parse(&b, h, r);
	CHECK(r[0].status == TL_PROBE_TAMPERED);
	clear3(r);
	tl_buf_clear(&b);

	/* malformed hashes files are refused with a reason */
	CHECK(!tl_probe_hashes_from_json("[]", 2, &err));
	CHECK(!tl_probe_hashes_from_json("{\"bin/sh\":\"x\"}", 14, &err));
	CHECK_CONTAINS(err.msg, "absolute path");
	CHECK(!tl_probe_hashes_load("/nonexistent/hashes.json", &err));
	tl_probe_hashes_free(h);
}

/* Guest bytes that are not text: stored as '?', so results go into JSON. */
TL_TEST(test_parse_binary_value)
{
	batch3();
	tl_buf b;
	tl_buf_init(&b, 0);
	rec_start(&b, NONCE);
	/* "a", NUL, a broken sequence, a euro sign, an overlong slash */
	tl_buf_printf(&b,
		      "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":0,"
		      "\"s\":\"done\",\"ok\":true,\"x\":0,\"h\":-1,\"ms\":1,"
		      "\"c\":\"\",\"v\":\"6100c328e282acc0af\",\"o\":\"ff\","
		      "\"m\":\"\",\"tr\":\"\"}\n",
		      NONCE);
	rec_probe(&b, NONCE, 1, "done", true, "755", "", "");
	rec_probe(&b, NONCE, 2, "done", true, "x", "", "");
	rec_end(&b, NONCE, 3);
	tl_probe_result r[3];
	parse(&b, NULL, r);
	CHECK(r[0].status == TL_PROBE_DONE);
	CHECK_STR(r[0].value, "a?" "?(\xe2\x82\xac?" "?"); /* no trigraphs */
	CHECK_STR(r[0].evidence_out, "?");
	json_t *j = json_string(r[0].value);
	CHECK(j != NULL);
	json_decref(j);
	clear3(r);
	tl_buf_clear(&b);
}

TL_TEST(test_results_helpers)
{
	CHECK_STR(tl_probe_status_name(TL_PROBE_TAMPERED), "tampered");
	tl_probe_result *r = tl_xcalloc(2, sizeof *r);
	r[0].value = tl_xstrdup("x");
	r[1].error = tl_xstrdup("y");
	CHECK(tl_probe_results_free(r, 2) == NULL);
	tl_probe_result_clear(NULL);
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_script_framing), T(test_script_quoting),
	 T(test_network_from_machine), T(test_parse_good),
	 T(test_parse_tampered), T(test_parse_errors), T(test_parse_hashes),
	 T(test_parse_binary_value), T(test_results_helpers))
#undef main

int main(int argc, char **argv)
{
	int rc = tl_main_(argc, argv);
	tl_probe_batch_clear(&B);
	return rc;
}
