/*
 * test_pwsh.c: the PowerShell side, which cannot run here (no Windows, no
 * pwsh): the batch text the compiler generates (framing, the nonce, one
 * call per probe, arguments as single-quoted literals with quotes doubled,
 * typographic quotes included, lists and absent arguments), the fixed
 * command's bootstrap, and the parsing of output in the agent's format.
 * Also: both embedded agents implement every kind of their site in the
 * catalogue (orchestrator/defs/probekinds.c).
 */
#include "probe_test.h"
#include "probes.h"

static const char *NONCE = "00112233445566778899aabbccddeeff";

TL_TEST(test_batch_text)
{
	const tl_probe *p[4] = {
	    pr_make("win.service", "dc", NULL, "{\"name\":\"DNS\"}", 7),
	    pr_make("win.ad.group", "dc", NULL,
		    "{\"name\":\"GG_Compta\",\"members\":[\"alice\","
		    "\"o'brien\"]}",
		    10),
	    pr_make("win.ad.user", "dc", NULL,
		    "{\"name\":\"l\u2019OU $(calc) `whoami`\","
		    "\"ou\":\"OU=Compta,DC=lab,DC=local\"}",
		    10),
	    pr_make("win.registry", "dc", NULL,
		    "{\"path\":\"HKLM:\\\\SOFTWARE\\\\Policies\","
		    "\"name\":\"it's\\nme\"}",
		    10),
	};
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {
	    .agent = TL_AGENT_POWERSHELL, .nonce = NONCE, .hash = true};
	CHECK(tl_probe_batch_compile(&b, p, 4, &o, &err) == 0);
	size_t alen;
	const char *agent = tl_probe_agent_text(TL_AGENT_POWERSHELL, &alen);
	CHECK(!memcmp(b.script, agent, alen));
	const char *tail = b.script + alen;
	CHECK_CONTAINS(tail, "\nTl-Begin '00112233445566778899aabbccddeeff' "
			     "32768 8192\n");
	CHECK_CONTAINS(tail, "Tl-P 0 7 'win.service' 'DNS'\n");
	/* lists as arrays, absent optional arguments as $null */
	CHECK_CONTAINS(tail, "Tl-P 1 10 'win.ad.group' 'GG_Compta' "
			     "@('alice','o''brien') $null\n");
	/* nothing expands in single quotes; ’ is a quote to PowerShell */
	CHECK_CONTAINS(tail, "Tl-P 2 10 'win.ad.user' 'l\u2019\u2019OU $(calc) "
			     "`whoami`' 'OU=Compta,DC=lab,DC=local'\n");
	CHECK_CONTAINS(tail, "Tl-P 3 10 'win.registry' "
			     "'HKLM:\\SOFTWARE\\Policies' 'it''s\nme'\n");
	CHECK_CONTAINS(tail, "Tl-End 4\n");
	/* exactly one call per probe */
	size_t calls = 0;
	for (const char *s = tail; (s = strstr(s, "\nTl-P ")); s++)
		calls++;
	CHECK(calls == 4);
	/* no hash records are asked of Windows */
	CHECK(!b.hash);
	tl_probe_batch_clear(&b);

	/* a Linux kind has no PowerShell implementation */
	const tl_probe *l =
	    pr_make("file.mode", "dc", NULL, "{\"path\":\"/etc\"}", 5);
	CHECK(tl_probe_batch_compile(&b, &l, 1, &o, &err) < 0);
	CHECK_CONTAINS(err.msg, "PowerShell");
}

TL_TEST(test_quote)
{
	/* every quote character is closed by its double, nothing else */
	const tl_probe *p =
	    pr_make("win.task", "dc", NULL,
		    "{\"name\":\"a'b\u2018c\u2019d\u201ae\u201bf"
		    "\\\"g\"}",
		    5);
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {.agent = TL_AGENT_POWERSHELL, .nonce = NONCE};
	CHECK(tl_probe_batch_compile(&b, &p, 1, &o, &err) == 0);
	CHECK_CONTAINS(b.script, "'win.task' 'a''b\u2018\u2018c\u2019\u2019d"
				 "\u201a\u201ae\u201b\u201bf\"g'\n");
	tl_probe_batch_clear(&b);
}

static int b64val(char c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789+/";
	const char *x = strchr(t, c);
	return x && c ? (int)(x - t) : -1;
}

TL_TEST(test_bootstrap)
{
	const char *cmd = tl_probe_agent_command(TL_AGENT_POWERSHELL);
	CHECK_CONTAINS(cmd, "powershell -NoProfile -NonInteractive ");
	const char *enc = strstr(cmd, "-EncodedCommand ");
	CHECK(enc != NULL);
	if (!enc)
		return;
	enc += strlen("-EncodedCommand ");
	/* base64 -> UTF-16LE -> ASCII */
	unsigned char raw[1024];
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (const char *c = enc; *c && *c != '='; c++) {
		int v = b64val(*c);
		CHECK(v >= 0);
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (unsigned char)(acc >> bits);
		}
	}
	char text[512];
	size_t k = 0;
	for (size_t i = 0; i + 1 < n && k < sizeof text - 1; i += 2) {
		CHECK(raw[i + 1] == 0);
		text[k++] = (char)raw[i];
	}
	text[k] = '\0';
	CHECK_STR(text, "[Console]::InputEncoding = [Text.Encoding]::UTF8; "
			"$s = [Console]::In.ReadToEnd(); & "
			"([scriptblock]::Create($s))");
}

TL_TEST(test_parse_windows_output)
{
	const tl_probe *p[2] = {
	    pr_make("win.service", "dc", NULL, "{\"name\":\"DNS\"}", 7),
	    pr_make("win.feature", "dc", NULL,
		    "{\"name\":\"AD-Domain-Services\"}", 7),
	};
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {.agent = TL_AGENT_POWERSHELL, .nonce = NONCE};
	CHECK(tl_probe_batch_compile(&b, p, 2, &o, &err) == 0);
	/* what agent.ps1 prints: "Running" and an error for the feature */
	char out[2048];
	snprintf(
	    out, sizeof out,
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"start\",\"proto\":1}\n"
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":0,\"s\":\"done\","
	    "\"ok\":true,\"x\":-1,\"h\":-1,\"ms\":40,\"c\":\"%s\","
	    "\"v\":\"52756e6e696e67\",\"o\":\"\",\"m\":\"\",\"tr\":\"\"}\n"
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":1,\"s\":\"error\","
	    "\"ok\":false,\"x\":-1,\"h\":-1,\"ms\":3,\"c\":\"\",\"v\":\"\","
	    "\"o\":\"\",\"m\":\"6e6f74206120736572766572\",\"tr\":\"\"}\n"
	    "{\"tl\":1,\"n\":\"%s\",\"t\":\"end\",\"count\":2}\n",
	    NONCE, NONCE, "4765742d53657276696365", NONCE, NONCE);
	tl_probe_result r[2];
	tl_probe_batch_parse(&b, out, strlen(out), NULL, r);
	CHECK(r[0].status == TL_PROBE_DONE && r[0].ok);
	CHECK_STR(r[0].value, "Running");
	CHECK_STR(r[0].evidence_cmd, "Get-Service");
	CHECK(r[1].status == TL_PROBE_ERROR);
	CHECK_STR(r[1].error, "not a server");
	tl_probe_result_clear(&r[0]);
	tl_probe_result_clear(&r[1]);
	tl_probe_batch_clear(&b);
}

/* Each agent has a branch for every kind of its site. */
TL_TEST(test_agents_cover_the_catalogue)
{
	const char *sh = tl_probe_agent_text(TL_AGENT_SH, NULL);
	const char *ps = tl_probe_agent_text(TL_AGENT_POWERSHELL, NULL);
	size_t n_linux = 0, n_windows = 0;
	for (const tl_probe_kind *k = tl_probe_kinds; k->name; k++) {
		char *pat;
		if (k->site == TL_SITE_WINDOWS) {
			pat = tl_xasprintf("\t'%s' {", k->name);
			CHECK_CONTAINS(ps, pat);
			n_windows++;
		} else {
			/* Linux kinds, and network kinds from a machine */
			pat = tl_xasprintf("\t%s) tl_k_", k->name);
			CHECK_CONTAINS(sh, pat);
			n_linux += k->site == TL_SITE_LINUX;
		}
		free(pat);
	}
	CHECK(n_linux >= 40 && n_windows >= 13);
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_batch_text), T(test_quote), T(test_bootstrap),
	 T(test_parse_windows_output), T(test_agents_cover_the_catalogue))
#undef main

int main(int argc, char **argv)
{
	return tl_main_(argc, argv);
}
