/*
 * crosscheck.c: claims made inside a machine, checked from outside.
 *
 * The agent reports what the machine says about itself; a trainee who is
 * root can make a machine say anything. Network probes run from the
 * orchestrator or from another lab machine see what a client sees. When a
 * scenario has both for the same machine and port, they must agree:
 *   - port.listening says TCP port P listens on M, but every connection
 *     to P of M from outside failed;
 *   - service.active says a network service runs on M (nginx, sshd,
 *     bind9, ...: a table of well-known ports), but every connection from
 *     outside to its ports failed.
 * The inside result is then flagged (a flagged result never passes) with
 * the outside evidence as the reason. Nothing is flagged when the outside
 * probe itself could not run (an error is not evidence).
 */
#include <string.h>

#include "probe-internal.h"

/* Ports a service answers on, for the services scenarios use. */
static const int *service_ports(const char *unit)
{
	static const struct {
		const char *name;
		int ports[4];
	} table[] = {
	    {"nginx", {80, 443}},
	    {"apache2", {80, 443}},
	    {"httpd", {80, 443}},
	    {"lighttpd", {80, 443}},
	    {"ssh", {22}},
	    {"sshd", {22}},
	    {"dropbear", {22}},
	    {"bind9", {53}},
	    {"named", {53}},
	    {"smbd", {445, 139}},
	    {"samba-ad-dc", {445, 389}},
	    {"vsftpd", {21}},
	    {"proftpd", {21}},
	    {"postfix", {25}},
	    {"dovecot", {143, 993}},
	    {"mariadb", {3306}},
	    {"mysql", {3306}},
	    {"postgresql", {5432}},
	    {"zabbix-agent", {10050}},
	    {"zabbix-server", {10051}},
	    {"openvpn", {1194}},
	    {"squid", {3128}},
	};
	size_t l = strlen(unit);
	if (l > 8 && !strcmp(unit + l - 8, ".service"))
		l -= 8;
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if (strlen(table[i].name) == l &&
		    !strncmp(table[i].name, unit, l))
			return table[i].ports;
	return NULL;
}

/* Outside views of (machine, TCP port): how many probes reached it, how
 * many tried and failed, and the first failure. */
typedef struct outside {
	size_t reached, failed;
	const tl_probe_result *failure;
} outside;

static void look_outside(const tl_probe *const *probes,
			 const tl_probe_result *ret, size_t n,
			 const char *machine, int port, outside *o)
{
	for (size_t i = 0; i < n; i++) {
		const tl_probe *p = probes[i];
		const tl_probe_result *r = &ret[i];
		if (!p->kind || p->kind->site != TL_SITE_NETWORK ||
		    r->status != TL_PROBE_DONE || !p->machine ||
		    strcmp(p->machine, machine))
			continue;
		bool tcp = !strcmp(p->kind->name, "tcp.connect");
		bool http = !strcmp(p->kind->name, "http.request");
		if (!tcp && !http)
			continue;
		json_t *jp = json_object_get(p->args, "port");
		if (!json_is_integer(jp) || json_integer_value(jp) != port)
			continue;
		bool reached = tcp ? r->ok : r->http_status > 0;
		if (reached) {
			o->reached++;
		} else {
			o->failed++;
			if (!o->failure)
				o->failure = r;
		}
	}
}

static void flag(tl_probe_result *r, const outside *o, const char *claim)
{
	const tl_probe *p = o->failure->probe;
	const char *from = p->from ? p->from : "orchestrator";
	const char *what = o->failure->value && *o->failure->value
			       ? o->failure->value
			       : o->failure->evidence_out;
	r->flagged = true;
	free(r->flag);
	r->flag = tl_xasprintf(
	    "%s, but %s to it from %s failed (%s: %s)", claim,
	    !strcmp(p->kind->name, "tcp.connect") ? "a TCP connection"
						  : "an HTTP request",
	    from, p->kind->name, what ? what : "no answer");
}

void tl_probe_crosscheck(const tl_probe *const *probes, tl_probe_result *ret,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const tl_probe *p = probes[i];
		tl_probe_result *r = &ret[i];
		if (!p->kind || r->status != TL_PROBE_DONE || !r->ok ||
		    !p->machine)
			continue;
		if (!strcmp(p->kind->name, "port.listening")) {
			const char *proto = json_string_value(
			    json_object_get(p->args, "proto"));
			json_t *jp = json_object_get(p->args, "port");
			if ((proto && strcmp(proto, "tcp")) ||
			    !json_is_integer(jp))
				continue;
			int port = (int)json_integer_value(jp);
			outside o = {0};
			look_outside(probes, ret, n, p->machine, port, &o);
			if (o.failed && !o.reached) {
				char claim[128];
				snprintf(claim, sizeof claim,
					 "port %d is reported listening on %s",
					 port, p->machine);
				flag(r, &o, claim);
			}
		} else if (!strcmp(p->kind->name, "service.active")) {
			const char *unit =
			    json_string_value(json_object_get(p->args, "name"));
			const int *ports = unit ? service_ports(unit) : NULL;
			if (!ports)
				continue;
			outside o = {0};
			for (int k = 0; k < 4 && ports[k]; k++)
				look_outside(probes, ret, n, p->machine,
					     ports[k], &o);
			if (o.failed && !o.reached) {
				char claim[160];
				snprintf(claim, sizeof claim,
					 "service %.60s is reported active on "
					 "%s",
					 unit, p->machine);
				flag(r, &o, claim);
			}
		}
	}
}
