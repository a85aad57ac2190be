/*
 * net.c: network probes run by the orchestrator itself, from outside the
 * machine: the view a client of the lab has, which the trainee cannot
 * fake from inside the guest.
 *
 *   tcp.connect   a non-blocking connect(2) with poll(2) for the timeout;
 *   http.request  one GET with libcurl: status and body (capped), no
 *                 proxy, no redirect, certificates not verified (lab
 *                 machines use self-signed ones);
 *   dns.query     one query with libresolv (res_nmkquery / res_nsend) on a
 *                 private resolver state pointed at the machine, answers
 *                 formatted like `dig +short`.
 *
 * Where to connect comes from the machine's access details: its address
 * as the orchestrator sees it (127.0.0.1 in loopback access mode) and the
 * port map that says which host port forwards to which lab port.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe-internal.h"

/* The host port that reaches lab port `port` of m, or -1 (why in ret). */
static int map_port(const tl_probe_machine *m, int port, bool udp,
		    char **ret_why)
{
	if (!m->n_ports)
		return port; /* direct access: lab ports as they are */
	for (size_t i = 0; i < m->n_ports; i++)
		if (m->ports[i].lab_port == port && m->ports[i].udp == udp)
			return m->ports[i].host_port;
	*ret_why = tl_xasprintf("%s port %d of machine \"%s\" is not "
				"forwarded to the orchestrator (list it in the "
				"lab machine's ports)",
				udp ? "UDP" : "TCP", port, m->id ? m->id : "?");
	return -1;
}

static const char *target_host(const tl_probe_machine *m)
{
	return m->address ? m->address : m->ssh.host;
}

/* ---- tcp.connect ---- */

/* Connects within timeout_ms: 0, or -1 with a short reason in why. */
static int tcp_connect(const char *host, int port, int timeout_ms, char *why,
		       size_t wlen)
{
	char svc[16];
	snprintf(svc, sizeof svc, "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, svc, &hints, &res);
	if (g) {
		snprintf(why, wlen, "%s", gai_strerror(g));
		return -1;
	}
	double deadline = tl_now_ms() + timeout_ms;
	int rc = -1;
	snprintf(why, wlen, "no address");
	for (struct addrinfo *ai = res; ai && rc < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family,
				ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, wlen, "%s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			rc = 0;
		} else if (errno != EINPROGRESS) {
			snprintf(why, wlen, "%s", strerror(errno));
		} else {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			double left = deadline - tl_now_ms();
			int pr = left > 0 ? poll(&p, 1, (int)left) : 0;
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (pr <= 0)
				snprintf(why, wlen, "timed out after %d ms",
					 timeout_ms);
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
					    &sl) < 0 ||
				 soerr)
				snprintf(why, wlen, "%s", strerror(soerr));
			else
				rc = 0;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return rc;
}

static void run_tcp(const tl_probe_machine *m, const tl_probe *p,
		    const tl_probe_argv *a, tl_probe_result *r)
{
	int port = atoi(tl_probe_argv_get(a, "port"));
	char *why = NULL;
	int hp = map_port(m, port, false, &why);
	if (hp < 0) {
		r->status = TL_PROBE_ERROR;
		r->error = why;
		return;
	}
	const char *host = target_host(m);
	r->evidence_cmd = tl_xasprintf("connect to %s:%d (lab port %d of %s)",
				       host, hp, port, m->id ? m->id : "?");
	char reason[256];
	if (tcp_connect(host, hp, p->timeout_s * 1000, reason, sizeof reason) ==
	    0) {
		r->ok = true;
		r->value = tl_xstrdup("open");
	} else {
		r->value = tl_xstrdup(reason);
	}
	r->evidence_out = tl_xstrdup(r->value);
}

/* ---- http.request ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct body {
	tl_buf b;
	size_t seen;
} body;

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	body *bd = arg;
	size_t n = size * nmemb;
	bd->seen += n;
	tl_buf_append(&bd->b, data, n); /* past the cap: dropped, marked */
	return n;
}

static void run_http(const tl_probe_machine *m, const tl_probe *p,
		     const tl_probe_argv *a, tl_probe_result *r)
{
	int port = atoi(tl_probe_argv_get(a, "port"));
	char *why = NULL;
	int hp = map_port(m, port, false, &why);
	if (hp < 0) {
		r->status = TL_PROBE_ERROR;
		r->error = why;
		return;
	}
	const char *tls = tl_probe_argv_get(a, "tls");
	const char *path = tl_probe_argv_get(a, "path");
	const char *want = tl_probe_argv_get(a, "status");
	const char *hosth = tl_probe_argv_get(a, "host");
	const char *host = target_host(m);
	bool v6 = strchr(host, ':') != NULL;
	char *url = tl_xasprintf(
	    "%s://%s%s%s:%d%s%s", tls && !strcmp(tls, "1") ? "https" : "http",
	    v6 ? "[" : "", host, v6 ? "]" : "", hp,
	    path && *path != '/' ? "/" : "", path ? path : "/");
	r->evidence_cmd = tl_xasprintf(
	    "GET %s%s%s (lab port %d of %s)", url, hosth ? " Host: " : "",
	    hosth ? hosth : "", port, m->id ? m->id : "?");
	pthread_once(&curl_once, curl_init);
	CURL *c = curl_easy_init();
	if (!c) {
		r->status = TL_PROBE_ERROR;
		r->error = tl_xstrdup("libcurl could not start a transfer");
		free(url);
		return;
	}
	body bd = {0};
	tl_buf_init(&bd.b, TL_PROBE_VALUE_CAP);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	char *hline = NULL;
	if (hosth) {
		hline = tl_xasprintf("Host: %s", hosth);
		hdr = curl_slist_append(hdr, hline);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->timeout_s * 1000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tssrlab-probe/" TL_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bd);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (hdr)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK || code > 0) {
		r->http_status = (int)code;
		r->ok = !want || atoi(want) == code;
		r->evidence_out = tl_xasprintf(
		    "HTTP %ld, %zu bytes of body%s", code, bd.seen,
		    bd.b.truncated ? " (value cut at the cap)" : "");
	} else {
		/* no answer: the service is not reachable from outside */
		r->evidence_out =
		    tl_xstrdup(*errbuf ? errbuf : curl_easy_strerror(cc));
	}
	size_t blen = bd.b.len;
	r->value = tl_buf_steal(&bd.b);
	tl_probe_text_clean(r->value, blen);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	free(hline);
	free(url);
}

/* ---- dns.query ---- */

static int qtype_of(const char *t)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {
	    {"A", ns_t_a},     {"AAAA", ns_t_aaaa}, {"CNAME", ns_t_cname},
	    {"MX", ns_t_mx},   {"NS", ns_t_ns},	    {"PTR", ns_t_ptr},
	    {"SRV", ns_t_srv}, {"TXT", ns_t_txt},   {"SOA", ns_t_soa}};
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (!strcmp(types[i].name, t))
			return types[i].type;
	return -1;
}

/* Appends the data of one resource record as `dig +short` prints it. */
static void format_rr(tl_buf *out, const ns_msg *msg, const ns_rr *rr)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	int len = ns_rr_rdlen(*rr);
	const unsigned char *som = ns_msg_base(*msg), *eom = ns_msg_end(*msg);
	char name[NS_MAXDNAME], addr[INET6_ADDRSTRLEN];
	switch (ns_rr_type(*rr)) {
	case ns_t_a:
		if (len == 4 && inet_ntop(AF_INET, rd, addr, sizeof addr))
			tl_buf_printf(out, "%s\n", addr);
		break;
	case ns_t_aaaa:
		if (len == 16 && inet_ntop(AF_INET6, rd, addr, sizeof addr))
			tl_buf_printf(out, "%s\n", addr);
		break;
	case ns_t_cname:
	case ns_t_ns:
	case ns_t_ptr:
		if (ns_name_uncompress(som, eom, rd, name, sizeof name) >= 0)
			tl_buf_printf(out, "%s.\n", name);
		break;
	case ns_t_mx:
		if (len > 2 && ns_name_uncompress(som, eom, rd + 2, name,
						  sizeof name) >= 0)
			tl_buf_printf(out, "%u %s.\n", ns_get16(rd), name);
		break;
	case ns_t_srv:
		if (len > 6 && ns_name_uncompress(som, eom, rd + 6, name,
						  sizeof name) >= 0)
			tl_buf_printf(out, "%u %u %u %s.\n", ns_get16(rd),
				      ns_get16(rd + 2), ns_get16(rd + 4), name);
		break;
	case ns_t_txt: {
		tl_buf_puts(out, "\"");
		for (int i = 0; i < len;) {
			int l = rd[i++];
			if (i + l > len)
				break;
			for (int k = 0; k < l; k++) {
				char ch = (char)rd[i + k];
				if (ch == '"' || ch == '\\')
					tl_buf_puts(out, "\\");
				tl_buf_append(out, &ch, 1);
			}
			i += l;
		}
		tl_buf_puts(out, "\"\n");
		break;
	}
	case ns_t_soa: {
		char rname[NS_MAXDNAME];
		int a = ns_name_uncompress(som, eom, rd, name, sizeof name);
		if (a < 0)
			break;
		int b =
		    ns_name_uncompress(som, eom, rd + a, rname, sizeof rname);
		if (b < 0 || a + b + 20 > len)
			break;
		const unsigned char *n = rd + a + b;
		tl_buf_printf(out, "%s. %s. %lu %lu %lu %lu %lu\n", name, rname,
			      (unsigned long)ns_get32(n),
			      (unsigned long)ns_get32(n + 4),
			      (unsigned long)ns_get32(n + 8),
			      (unsigned long)ns_get32(n + 12),
			      (unsigned long)ns_get32(n + 16));
		break;
	}
	default:
		break;
	}
}

static void run_dns(const tl_probe_machine *m, const tl_probe *p,
		    const tl_probe_argv *a, tl_probe_result *r)
{
	const char *qname = tl_probe_argv_get(a, "name");
	const char *tname = tl_probe_argv_get(a, "type");
	const char *pstr = tl_probe_argv_get(a, "port");
	if (!tname)
		tname = "A";
	int port = pstr ? atoi(pstr) : 53;
	int type = qtype_of(tname);
	char *why = NULL;
	int hp = map_port(m, port, true, &why);
	if (hp < 0 || type < 0) {
		r->status = TL_PROBE_ERROR;
		r->error =
		    why ? why : tl_xasprintf("unknown DNS type \"%s\"", tname);
		return;
	}
	const char *host = target_host(m);
	r->evidence_cmd =
	    tl_xasprintf("DNS query %s %s to %s:%d (lab port %d "
			 "of %s)",
			 qname, tname, host, hp, port, m->id ? m->id : "?");
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)hp)};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		r->status = TL_PROBE_ERROR;
		r->error = tl_xasprintf("dns.query needs an IPv4 address for "
					"the machine, not \"%s\"",
					host);
		return;
	}
	struct __res_state st;
	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0) {
		r->status = TL_PROBE_ERROR;
		r->error = tl_xstrdup("cannot initialise a resolver");
		return;
	}
	st.nscount = 1;
	st.nsaddr_list[0] = sa;
	st.retrans = p->timeout_s > 0 ? p->timeout_s : 5;
	st.retry = 1;
	st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	unsigned char q[NS_PACKETSZ], ans[65536];
	int ql = res_nmkquery(&st, ns_o_query, qname, ns_c_in, type, NULL, 0,
			      NULL, q, sizeof q);
	int al = ql > 0 ? res_nsend(&st, q, ql, ans, sizeof ans) : -1;
	res_nclose(&st);
	if (ql <= 0) {
		r->status = TL_PROBE_ERROR;
		r->error =
		    tl_xasprintf("cannot build a query for \"%s\"", qname);
		return;
	}
	if (al < 0) {
		r->value = tl_xstrdup("");
		r->evidence_out =
		    tl_xasprintf("no answer within %d s", (int)st.retrans);
		return;
	}
	ns_msg msg;
	if (ns_initparse(ans, al, &msg) < 0) {
		r->value = tl_xstrdup("");
		r->evidence_out = tl_xstrdup("malformed answer");
		return;
	}
	tl_buf out;
	tl_buf_init(&out, TL_PROBE_VALUE_CAP);
	int of_type = 0;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		of_type += (int)ns_rr_type(rr) == type;
		format_rr(&out, &msg, &rr);
	}
	static const char *const rcodes[] = {"NOERROR",	 "FORMERR", "SERVFAIL",
					     "NXDOMAIN", "NOTIMP",  "REFUSED"};
	int rc = ns_msg_getflag(msg, ns_f_rcode);
	r->evidence_out = tl_xasprintf("status %s, %d answer(s)",
				       rc >= 0 && rc < 6 ? rcodes[rc] : "other",
				       ns_msg_count(msg, ns_s_an));
	if (out.len && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	size_t vlen = out.len;
	r->value = tl_buf_steal(&out);
	tl_probe_text_clean(r->value, vlen);
	r->ok = rc == ns_r_noerror && of_type > 0;
}

void tl_probe_run_network(const tl_probe_machine *target, const tl_probe *p,
			  tl_probe_result *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->probe = p;
	ret->exit_code = -1;
	ret->http_status = -1;
	double t0 = tl_now_ms();
	tl_probe_argv a;
	tl_probe_argv_init(&a, p);
	const char *kind = p->kind ? p->kind->name : "?";
	if (!strcmp(kind, "tcp.connect"))
		run_tcp(target, p, &a, ret);
	else if (!strcmp(kind, "http.request"))
		run_http(target, p, &a, ret);
	else if (!strcmp(kind, "dns.query"))
		run_dns(target, p, &a, ret);
	else {
		ret->status = TL_PROBE_ERROR;
		ret->error = tl_xasprintf("probe kind %s does not run from the "
					  "orchestrator",
					  kind);
	}
	if (!ret->value)
		ret->value = tl_xstrdup("");
	if (ret->status != TL_PROBE_DONE)
		ret->ok = false;
	ret->ms = tl_now_ms() - t0;
	tl_probe_argv_clear(&a);
}
