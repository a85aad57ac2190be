/*
 * console.c: a machine's screen, for the console a trainee opens in the
 * browser. Domains carry a VNC display bound to the host's loopback
 * (xml.c); this file hands the daemon a connected socket to it, which the
 * daemon bridges to a WebSocket for noVNC (orchestrator/api/console.c).
 *
 * libvirt does the connecting: virDomainOpenGraphicsFD passes a socket
 * already connected to QEMU's VNC server over libvirt's own connection,
 * so no VNC port is ever exposed beyond the host, and it works the same
 * for every domain whatever port autoport chose. Where fd passing is not
 * available (an older libvirt, a driver without it) and the host is this
 * machine, the port is read from the live XML and 127.0.0.1:port is
 * connected instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prov-internal.h"

/* The VNC port of a running domain from its live XML, or -1. */
static int vnc_port(virDomainPtr dom)
{
	TL_AUTOFREE char *xml = virDomainGetXMLDesc(dom, 0);
	if (!xml)
		return -1;
	const char *g = strstr(xml, "<graphics type='vnc'");
	if (!g)
		g = strstr(xml, "<graphics type=\"vnc\"");
	if (!g)
		return -1;
	TL_AUTOFREE char *port = tl_prov_xml_attr(g, "port");
	int n = port ? atoi(port) : -1;
	return n > 0 && n < 65536 ? n : -1;
}

static int connect_local(int port, tl_error *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tl_error_set(err, "socket: %s", strerror(errno));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		return tl_error_set(err, "connect 127.0.0.1:%d: %s", port,
				    strerror(e));
	}
	return fd;
}

int tl_prov_machine_console_fd(tl_prov *p, tl_prov_instance *inst,
			       const char *machine, int *ret_fd, tl_error *err)
{
	*ret_fd = -1;
	tl_prov_host *h =
	    inst->where ? inst->where : tl_prov_host_find(p, inst->host);
	if (!h)
		return tl_error_set(err, "instance %s/%s: unknown host \"%s\"",
				    inst->session, inst->instance,
				    inst->host ? inst->host : "");
	tl_prov_machine *m = tl_prov_machine_find(inst, machine, err);
	if (!m)
		return -1;
	TL_AUTO(virDomain) dom = virDomainLookupByName(h->conn, m->domain);
	if (!dom)
		return tl_prov_lv_error(err, "machine %s: domain %s", m->id,
					m->domain);
	int active = virDomainIsActive(dom);
	if (active == 0)
		return tl_error_set(err, "machine %s is not running", m->id);
	int fd =
	    virDomainOpenGraphicsFD(dom, 0, VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH);
	if (fd >= 0) {
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		*ret_fd = fd;
		return 0;
	}
	tl_error lv;
	tl_prov_lv_error(&lv, "machine %s: open its display", m->id);
	int port = h->local ? vnc_port(dom) : -1;
	if (port < 0)
		return tl_error_set(err, "%s", lv.msg);
	fd = connect_local(port, err);
	if (fd < 0)
		return -1;
	*ret_fd = fd;
	return 0;
}
