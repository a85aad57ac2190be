/*
 * xml.c: the libvirt XML tssrlab writes (domains, networks, volumes,
 * pools) and the little it reads back (its own metadata attributes, a
 * network's addresses and bridge).
 *
 * Writing goes through tl_prov_xml_printf, a printf whose every %s is
 * XML-escaped, into a tl_buf capped at TL_PROV_XML_LIMIT: no interpolated
 * string can break out of its attribute or element, whatever the lab file
 * says. Reading is deliberately small: tssrlab only reads back start tags
 * it wrote itself (attributes, quoted, entity-escaped by libxml2 when
 * libvirt re-serialises them) and libvirt's own <ip>/<bridge> tags, so an
 * attribute scanner is enough and no XML library is pulled in.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prov-internal.h"

static void xml_escape(tl_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&':
			tl_buf_puts(b, "&amp;");
			break;
		case '<':
			tl_buf_puts(b, "&lt;");
			break;
		case '>':
			tl_buf_puts(b, "&gt;");
			break;
		case '\'':
			tl_buf_puts(b, "&apos;");
			break;
		case '"':
			tl_buf_puts(b, "&quot;");
			break;
		default:
			/* control characters are not allowed in XML 1.0 */
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				tl_buf_puts(b, "?");
			else
				tl_buf_append(b, s, 1);
		}
	}
}

int tl_prov_xml_printf(tl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *p = fmt;
	int rc = 0;
	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			tl_buf_puts(b, p);
			break;
		}
		tl_buf_append(b, p, (size_t)(pct - p));
		const char *q = pct + 1;
		if (*q == '%') {
			tl_buf_puts(b, "%");
			p = q + 1;
			continue;
		}
		while (*q && strchr("-0 +#", *q))
			q++;
		while (isdigit((unsigned char)*q))
			q++;
		int longs = 0;
		while (*q == 'l') {
			longs++;
			q++;
		}
		char spec[16];
		size_t sl = (size_t)(q - pct + 1);
		if (!*q || sl >= sizeof spec) {
			rc = -1;
			break;
		}
		memcpy(spec, pct, sl);
		spec[sl] = '\0';
		char tmp[64];
		switch (*q) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			xml_escape(b, s ? s : "");
			break;
		}
		case 'd':
		case 'i':
			if (longs >= 2)
				snprintf(tmp, sizeof tmp, spec,
					 va_arg(ap, long long));
			else if (longs == 1)
				snprintf(tmp, sizeof tmp, spec,
					 va_arg(ap, long));
			else
				snprintf(tmp, sizeof tmp, spec,
					 va_arg(ap, int));
			tl_buf_puts(b, tmp);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (longs >= 2)
				snprintf(tmp, sizeof tmp, spec,
					 va_arg(ap, unsigned long long));
			else if (longs == 1)
				snprintf(tmp, sizeof tmp, spec,
					 va_arg(ap, unsigned long));
			else
				snprintf(tmp, sizeof tmp, spec,
					 va_arg(ap, unsigned));
			tl_buf_puts(b, tmp);
			break;
		default:
			rc = -1;
			break;
		}
		if (rc < 0)
			break;
		p = q + 1;
	}
	va_end(ap);
	return rc < 0 || b->truncated ? -1 : 0;
}

static char *xml_decode(const char *s, size_t n)
{
	tl_buf b;
	tl_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '&') {
			tl_buf_append(&b, s + i, 1);
			continue;
		}
		const char *semi = memchr(s + i, ';', n - i);
		if (!semi) {
			tl_buf_append(&b, s + i, 1);
			continue;
		}
		size_t len = (size_t)(semi - (s + i)) + 1;
		const char *e = s + i;
		char c = 0;
		if (len == 5 && !strncmp(e, "&amp;", 5))
			c = '&';
		else if (len == 4 && !strncmp(e, "&lt;", 4))
			c = '<';
		else if (len == 4 && !strncmp(e, "&gt;", 4))
			c = '>';
		else if (len == 6 && !strncmp(e, "&quot;", 6))
			c = '"';
		else if (len == 6 && !strncmp(e, "&apos;", 6))
			c = '\'';
		else if (len > 3 && e[1] == '#') {
			unsigned long v = e[2] == 'x' || e[2] == 'X'
					      ? strtoul(e + 3, NULL, 16)
					      : strtoul(e + 2, NULL, 10);
			c = v > 0 && v < 128 ? (char)v : '?';
		}
		if (c) {
			tl_buf_append(&b, &c, 1);
			i += len - 1;
		} else {
			tl_buf_append(&b, s + i, 1);
		}
	}
	if (!b.data)
		return tl_xstrdup("");
	return tl_buf_steal(&b);
}

char *tl_prov_xml_attr(const char *tag, const char *attr)
{
	if (!tag || *tag != '<')
		return NULL;
	const char *p = tag + 1;
	while (*p && !isspace((unsigned char)*p) && *p != '/' && *p != '>')
		p++;
	size_t alen = strlen(attr);
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '>' || *p == '/')
			return NULL;
		const char *name = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p) &&
		       *p != '>')
			p++;
		size_t nlen = (size_t)(p - name);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=')
			return NULL;
		p++;
		while (isspace((unsigned char)*p))
			p++;
		char q = *p;
		if (q != '\'' && q != '"')
			return NULL;
		const char *val = ++p;
		while (*p && *p != q)
			p++;
		if (!*p)
			return NULL;
		if (nlen == alen && !strncmp(name, attr, alen))
			return xml_decode(val, (size_t)(p - val));
		p++;
	}
}

const char *tl_prov_xml_meta_tag(const char *xml)
{
	const char *meta = xml ? strstr(xml, "<metadata>") : NULL;
	if (!meta)
		return NULL;
	const char *end = strstr(meta, "</metadata>");
	const char *ns = strstr(meta, TL_PROV_XMLNS);
	if (!ns || (end && ns > end))
		return NULL;
	const char *lt = ns;
	while (lt > meta && *lt != '<')
		lt--;
	return lt > meta ? lt : NULL;
}

static char *xml_done(tl_buf *b, const char *what, tl_error *err)
{
	if (b->truncated) {
		tl_buf_clear(b);
		tl_error_set(err, "%s: generated XML longer than %u bytes",
			     what, TL_PROV_XML_LIMIT);
		return NULL;
	}
	return tl_buf_steal(b);
}

char *tl_prov_xml_pool(const char *name, const char *path, tl_error *err)
{
	tl_buf b;
	tl_buf_init(&b, TL_PROV_XML_LIMIT);
	tl_prov_xml_printf(&b,
			   "<pool type='dir'>\n"
			   "  <name>%s</name>\n"
			   "  <target>\n"
			   "    <path>%s</path>\n"
			   "    <permissions><mode>0711</mode></permissions>\n"
			   "  </target>\n"
			   "</pool>\n",
			   name, path);
	return xml_done(&b, name, err);
}

char *tl_prov_xml_volume(const tl_prov_machine *m, const char *base_format,
			 tl_error *err)
{
	tl_buf b;
	tl_buf_init(&b, TL_PROV_XML_LIMIT);
	/* A linked clone: qcow2 whose backing store is the image's base disk;
	 * allocation 0 so the pool never preallocates. */
	tl_prov_xml_printf(&b,
			   "<volume type='file'>\n"
			   "  <name>%s</name>\n"
			   "  <capacity unit='bytes'>%llu</capacity>\n"
			   "  <allocation unit='bytes'>0</allocation>\n"
			   "  <target>\n"
			   "    <format type='qcow2'/>\n"
			   "    <permissions><mode>0600</mode></permissions>\n"
			   "  </target>\n"
			   "  <backingStore>\n"
			   "    <path>%s</path>\n"
			   "    <format type='%s'/>\n"
			   "  </backingStore>\n"
			   "</volume>\n",
			   m->volume, m->capacity, m->base_disk,
			   base_format ? base_format : "qcow2");
	return xml_done(&b, m->volume, err);
}

static const char *access_name(tl_prov_access a)
{
	return a == TL_PROV_ACCESS_BRIDGED ? "bridged" : "loopback";
}

char *tl_prov_xml_network(const tl_prov_instance *inst, const tl_prov_net *n,
			  const tl_prov_machine *ms, size_t n_machines,
			  tl_error *err)
{
	tl_buf b;
	tl_buf_init(&b, TL_PROV_XML_LIMIT);
	/* Isolated: no <forward>. The host gets an address only when it must
	 * (DHCP served by libvirt, or bridged access); otherwise the bridge
	 * is a plain switch between the instance's machines, and untrusted
	 * guests see nothing of the host. */
	tl_prov_xml_printf(
	    &b,
	    "<network>\n"
	    "  <name>%s</name>\n"
	    "  <title>tssrlab %s/%s %s</title>\n"
	    "  <metadata>\n"
	    "    <tl:network xmlns:tl='%s' session='%s' instance='%s' "
	    "network='%s' lab='%s' cidr='%s' subnet='%s' bridge='%s' "
	    "host_address='%s' dhcp='%d' access='%s'/>\n"
	    "  </metadata>\n"
	    "  <bridge name='%s' stp='off' delay='0'/>\n",
	    n->name, inst->session, inst->instance, n->id, TL_PROV_XMLNS,
	    inst->session, inst->instance, n->id, inst->lab_id, n->lab_cidr,
	    n->subnet, n->bridge, n->host_address ? n->host_address : "",
	    n->dhcp ? 1 : 0, access_name(inst->access), n->bridge);
	if (n->host_address) {
		uint32_t base = 0, host = 0;
		int prefix = 24;
		tl_prov_cidr_parse(n->subnet, &base, &prefix);
		tl_prov_ip_parse(n->host_address, &host);
		tl_prov_xml_printf(&b,
				   "  <dns enable='no'/>\n"
				   "  <ip address='%s' prefix='%d'>\n",
				   n->host_address, prefix);
		if (n->dhcp) {
			uint32_t size = prefix >= 32 ? 1u : 1u << (32 - prefix);
			uint32_t start = base + size / 2, end = base + size - 3;
			if (start > end || start <= base)
				start = base + 1;
			if (end < start)
				end = start;
			char s[16], e[16];
			tl_prov_ip_format(start, s);
			tl_prov_ip_format(end, e);
			tl_prov_xml_printf(
			    &b,
			    "    <dhcp>\n"
			    "      <range start='%s' end='%s'/>\n",
			    s, e);
			for (size_t i = 0; i < n_machines; i++)
				for (size_t k = 0; k < ms[i].n_nics; k++) {
					const tl_prov_nic *nic = &ms[i].nics[k];
					if (strcmp(nic->network, n->id) ||
					    !nic->address)
						continue;
					char ip[16] = "";
					const char *sl =
					    strchr(nic->address, '/');
					size_t l =
					    sl ? (size_t)(sl - nic->address)
					       : strlen(nic->address);
					if (l < sizeof ip) {
						memcpy(ip, nic->address, l);
						ip[l] = '\0';
					}
					tl_prov_xml_printf(
					    &b,
					    "      <host mac='%s' name='%s' "
					    "ip='%s'/>\n",
					    nic->mac, ms[i].hostname, ip);
				}
			tl_prov_xml_printf(&b, "    </dhcp>\n");
		}
		tl_prov_xml_printf(&b, "  </ip>\n");
	}
	tl_prov_xml_printf(&b, "</network>\n");
	return xml_done(&b, n->name, err);
}

static const char *disk_dev(const char *bus)
{
	if (bus && !strcmp(bus, "sata"))
		return "sda";
	if (bus && !strcmp(bus, "ide"))
		return "hda";
	return "vda";
}

char *tl_prov_xml_domain(const tl_prov_host *h, const tl_prov_instance *inst,
			 const tl_prov_machine *m, const tl_prov_image *img,
			 tl_error *err)
{
	tl_buf b;
	tl_buf_init(&b, TL_PROV_XML_LIMIT);
	bool loopback = inst->access == TL_PROV_ACCESS_LOOPBACK;

	tl_buf fw, nics;
	tl_buf_init(&fw, 4096);
	tl_buf_init(&nics, 8192);
	for (size_t i = 0; i < m->n_forwards; i++)
		tl_buf_printf(&fw, "%s%d:%d", i ? "," : "",
			      m->forwards[i].guest_port,
			      m->forwards[i].host_port);
	for (size_t i = 0; i < m->n_nics; i++)
		tl_buf_printf(&nics, "%s%s|%s|%s", i ? "," : "",
			      m->nics[i].network, m->nics[i].mac,
			      m->nics[i].address ? m->nics[i].address : "");
	if (fw.truncated || nics.truncated) {
		tl_buf_clear(&fw);
		tl_buf_clear(&nics);
		tl_error_set(err, "%s: too many ports or NICs", m->domain);
		return NULL;
	}

	tl_prov_xml_printf(
	    &b,
	    "<domain type='%s' "
	    "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
	    "  <name>%s</name>\n"
	    "  <title>tssrlab %s/%s %s</title>\n"
	    "  <description>tssrlab: session %s, instance %s, lab %s, "
	    "machine %s</description>\n"
	    "  <metadata>\n"
	    "    <tl:machine xmlns:tl='%s' session='%s' instance='%s' "
	    "machine='%s' lab='%s' image='%s' hostname='%s' access='%s' "
	    "vcpus='%d' memory_mib='%d' trainee='%d' trainee_user='%s' "
	    "login_user='%s' login_port='%d' ssh_host='%s' ssh_port='%d' "
	    "volume='%s' volume_path='%s' base='%s' base_format='%s' "
	    "capacity='%llu' index='%d' forwards='%s' nics='%s'/>\n"
	    "  </metadata>\n"
	    "  <memory unit='MiB'>%d</memory>\n"
	    "  <currentMemory unit='MiB'>%d</currentMemory>\n"
	    "  <vcpu placement='static'>%d</vcpu>\n",
	    h->accel == TL_PROV_ACCEL_KVM ? "kvm" : "qemu", m->domain,
	    inst->session, inst->instance, m->id, inst->session, inst->instance,
	    inst->lab_id, m->id, TL_PROV_XMLNS, inst->session, inst->instance,
	    m->id, inst->lab_id, m->image_id, m->hostname,
	    access_name(inst->access), m->vcpus, m->memory_mib,
	    m->trainee ? 1 : 0, inst->trainee_user ? inst->trainee_user : "",
	    m->login_user, m->login_port, m->ssh_host ? m->ssh_host : "",
	    m->ssh_port, m->volume, m->volume_path ? m->volume_path : "",
	    m->base_disk, img->disk_format ? img->disk_format : "qcow2",
	    m->capacity, (int)(m - inst->machines), fw.data ? fw.data : "",
	    nics.data ? nics.data : "", m->memory_mib, m->memory_mib, m->vcpus);
	tl_buf_clear(&fw);
	tl_buf_clear(&nics);

	/* TCG: a plain model with RDRAND so that the guest's entropy pool is
	 * ready at once (host key generation would otherwise wait). */
	if (h->accel == TL_PROV_ACCEL_KVM)
		tl_prov_xml_printf(&b, "  <cpu mode='host-passthrough' "
				       "check='none'/>\n");
	else
		tl_prov_xml_printf(
		    &b, "  <cpu mode='custom' match='exact' check='none'>\n"
			"    <model fallback='allow'>qemu64</model>\n"
			"    <feature policy='require' name='rdrand'/>\n"
			"  </cpu>\n");

	tl_prov_xml_printf(&b,
			   "  <os>\n"
			   "    <type arch='x86_64' machine='pc'>hvm</type>\n");
	if (img->boot == TL_BOOT_KERNEL) {
		tl_prov_xml_printf(&b, "    <kernel>%s</kernel>\n",
				   img->kernel);
		if (img->initrd)
			tl_prov_xml_printf(&b, "    <initrd>%s</initrd>\n",
					   img->initrd);
		tl_prov_xml_printf(
		    &b, "    <cmdline>%s%stssrlab.hostname=%s</cmdline>\n",
		    img->cmdline ? img->cmdline : "",
		    img->cmdline && *img->cmdline ? " " : "", m->hostname);
	} else {
		tl_prov_xml_printf(&b, "    <boot dev='hd'/>\n");
	}
	tl_prov_xml_printf(&b,
			   "  </os>\n"
			   "  <features><acpi/><apic/></features>\n"
			   "  <clock offset='utc'/>\n"
			   "  <on_poweroff>destroy</on_poweroff>\n"
			   "  <on_reboot>restart</on_reboot>\n"
			   "  <on_crash>destroy</on_crash>\n"
			   "  <devices>\n"
			   "    <disk type='file' device='disk'>\n"
			   "      <driver name='qemu' type='qcow2' "
			   "discard='unmap'/>\n"
			   "      <source file='%s'/>\n"
			   "      <target dev='%s' bus='%s'/>\n"
			   "    </disk>\n",
			   m->volume_path ? m->volume_path : "",
			   disk_dev(img->disk_bus),
			   img->disk_bus ? img->disk_bus : "virtio");
	for (size_t i = 0; i < m->n_nics; i++) {
		TL_AUTOFREE char *net = tl_prov_name(
		    inst->session, inst->instance, m->nics[i].network, NULL);
		tl_prov_xml_printf(&b,
				   "    <interface type='network'>\n"
				   "      <mac address='%s'/>\n"
				   "      <source network='%s'/>\n"
				   "      <model type='virtio'/>\n"
				   "      <address type='pci' domain='0x0000' "
				   "bus='0x00' slot='0x%02x' function='0x0'/>\n"
				   "    </interface>\n",
				   m->nics[i].mac, net,
				   (unsigned)(TL_PROV_FIRST_NIC_SLOT + i));
	}
	tl_prov_xml_printf(&b, "    <serial type='pty'>\n"
			       "      <target port='0'/>\n");
	if (h->console_log_dir)
		tl_prov_xml_printf(&b,
				   "      <log file='%s/%s.console.log' "
				   "append='off'/>\n",
				   h->console_log_dir, m->domain);
	tl_prov_xml_printf(
	    &b, "    </serial>\n"
		"    <console type='pty'>\n"
		"      <target type='serial' port='0'/>\n"
		"    </console>\n"
		"    <graphics type='vnc' port='-1' autoport='yes' "
		"listen='127.0.0.1'>\n"
		"      <listen type='address' address='127.0.0.1'/>\n"
		"    </graphics>\n"
		"    <memballoon model='none'/>\n"
		"  </devices>\n");
	if (loopback) {
		/* libvirt 9.0 has no port forwarding for user networking: the
		 * NIC goes to QEMU directly. restrict=on: the guest (whose
		 * root is an untrusted trainee) cannot open connections out
		 * through it, to the host's loopback or anywhere; forwards
		 * still come in. Fixed PCI slot: below the lab NICs (so it is
		 * eth0) and clear of libvirt's own devices. */
		char mac[18];
		tl_prov_mac(inst->session, inst->instance, m->id, 255, mac);
		tl_prov_xml_printf(&b, "  <qemu:commandline>\n"
				       "    <qemu:arg value='-netdev'/>\n"
				       "    <qemu:arg value='user,id=tlmgmt,"
				       "restrict=on");
		for (size_t i = 0; i < m->n_forwards; i++)
			tl_prov_xml_printf(&b, ",hostfwd=tcp:%s:%d-:%d",
					   h->bind_address,
					   m->forwards[i].host_port,
					   m->forwards[i].guest_port);
		tl_prov_xml_printf(
		    &b,
		    "'/>\n"
		    "    <qemu:arg value='-device'/>\n"
		    "    <qemu:arg value='virtio-net-pci,"
		    "netdev=tlmgmt,mac=%s,bus=pci.0,addr=0x%02x'/>\n"
		    "  </qemu:commandline>\n",
		    mac, (unsigned)TL_PROV_MGMT_SLOT);
	}
	tl_prov_xml_printf(&b, "</domain>\n");
	return xml_done(&b, m->domain, err);
}
