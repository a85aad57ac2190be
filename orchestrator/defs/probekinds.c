/*
 * probekinds.c: the catalogue of probe kinds. Each entry says where the
 * probe runs, what its verdict means, what its value holds, and the typed
 * arguments it takes. The definitions loader checks every probe of every
 * scenario against this table; the probe engine implements each entry
 * (agents/linux/agent.sh for TL_SITE_LINUX, the PowerShell agent for
 * TL_SITE_WINDOWS, orchestrator/probe for TL_SITE_NETWORK). `tssrlab kinds`
 * prints it, and docs/probe-kinds.md is generated from it.
 */
#include <string.h>

#include "tssrlab/probekind.h"

#define S(n, d) {n, TL_ARG_STRING, true, NULL, d}
#define So(n, d) {n, TL_ARG_STRING, false, NULL, d}
#define Sc(n, c, d) {n, TL_ARG_STRING, false, c, d}
#define I(n, d) {n, TL_ARG_INT, true, NULL, d}
#define Io(n, d) {n, TL_ARG_INT, false, NULL, d}
#define L(n, d) {n, TL_ARG_STRLIST, true, NULL, d}
#define Lo(n, d) {n, TL_ARG_STRLIST, false, NULL, d}
#define Bo(n, d) {n, TL_ARG_BOOL, false, NULL, d}

const tl_probe_kind tl_probe_kinds[] = {
	/* ---- Linux: services, packages, accounts ---- */
	{"service.active", TL_SITE_LINUX, "the systemd unit is active",
	 "systemctl is-active output (active, inactive, failed...)",
	 {S("name", "unit name, e.g. nginx or nginx.service")}},
	{"service.enabled", TL_SITE_LINUX, "the unit starts at boot",
	 "systemctl is-enabled output (enabled, disabled, masked...)",
	 {S("name", "unit name")}},
	{"package.installed", TL_SITE_LINUX,
	 "the Debian package is installed (at the version prefix, if given)",
	 "installed version, empty when absent",
	 {S("name", "package name"), So("version", "version prefix")}},
	{"user.exists", TL_SITE_LINUX,
	 "the account exists (with this shell, home and groups, if given)",
	 "the passwd entry: name:uid:gid:home:shell",
	 {S("name", "login"), So("shell", "login shell"),
	  So("home", "home directory"),
	  Lo("groups", "groups the user must belong to")}},
	{"user.sudo", TL_SITE_LINUX, "the user may run commands as root via sudo",
	 "sudo -l -U output", {S("name", "login")}},
	{"group.members", TL_SITE_LINUX,
	 "the group exists (and has these members, if given)",
	 "members, one per line",
	 {S("name", "group name"), Lo("members", "logins that must be members")}},
	/* ---- Linux: files ---- */
	{"file.exists", TL_SITE_LINUX, "the path exists (and is of this type)",
	 "type: file, dir, link, socket, fifo, block, char",
	 {S("path", "absolute path"),
	  Sc("type", "file|dir|link|socket|fifo|block|char", "expected type")}},
	{"file.mode", TL_SITE_LINUX, "the path exists",
	 "permission bits in octal, e.g. 640 or 2770",
	 {S("path", "absolute path")}},
	{"file.owner", TL_SITE_LINUX, "the path exists",
	 "owner:group, by name", {S("path", "absolute path")}},
	{"file.content", TL_SITE_LINUX,
	 "the file exists (and a line matches the extended regex, if given)",
	 "the file's content (capped), or the matching lines when regex is set",
	 {S("path", "absolute path"), So("regex", "POSIX extended regex")}},
	{"file.checksum", TL_SITE_LINUX, "the file exists", "its SHA-256",
	 {S("path", "absolute path")}},
	{"file.fresh", TL_SITE_LINUX,
	 "the newest file matching the path (a glob) is younger than max_age_hours",
	 "age of the newest match in seconds",
	 {S("path", "absolute path or glob"),
	  I("max_age_hours", "maximum age in hours")}},
	{"acl.entry", TL_SITE_LINUX, "an ACL entry of the path matches",
	 "getfacl output", {S("path", "absolute path"),
			    S("entry", "extended regex, e.g. ^group:compta:rwx")}},
	/* ---- Linux: processes, ports, commands ---- */
	{"process.running", TL_SITE_LINUX, "a process with this name runs",
	 "pids, one per line", {S("name", "process name (comm)")}},
	{"port.listening", TL_SITE_LINUX, "a socket listens on the port",
	 "the listening sockets, one per line",
	 {I("port", "port number"), Sc("proto", "tcp|udp", "default tcp")}},
	{"command.run", TL_SITE_LINUX,
	 "the command exits with status 0",
	 "its standard output (capped); field exit holds the status",
	 {S("command", "shell command, run by /bin/sh -c as root"),
	  So("user", "run as this user (su)")}},
	{"http.local", TL_SITE_LINUX,
	 "an HTTP request from inside the machine answers (with this status)",
	 "the response body (capped); field status holds the HTTP status",
	 {S("url", "http URL, e.g. http://127.0.0.1/"),
	  Io("status", "expected HTTP status")}},
	/* ---- Linux: network configuration ---- */
	{"net.address", TL_SITE_LINUX,
	 "an interface holds the address (CIDR or bare)",
	 "addresses, one per line: interface address/prefix",
	 {S("address", "e.g. 192.168.10.1/24"), So("interface", "e.g. eth1")}},
	{"net.route", TL_SITE_LINUX, "the route exists", "ip route lines",
	 {S("destination", "prefix or default"), So("via", "gateway")}},
	{"net.interface", TL_SITE_LINUX, "the interface exists and is up",
	 "ip -o link line", {S("name", "interface name, e.g. eth1.20")}},
	{"dns.resolve", TL_SITE_LINUX,
	 "the name resolves (against server, if given)",
	 "answers, one per line",
	 {S("name", "name to resolve"),
	  Sc("type", "A|AAAA|CNAME|MX|NS|PTR|SRV|TXT|SOA", "default A"),
	  So("server", "DNS server address")}},
	{"dhcp.scope", TL_SITE_LINUX,
	 "isc-dhcp-server's configuration is valid and declares the subnet",
	 "the subnet's declaration block",
	 {S("subnet", "network address, e.g. 192.168.10.0")}},
	{"dhcp.lease", TL_SITE_LINUX,
	 "the DHCP server handed out a lease (to this MAC or address)",
	 "matching lease lines",
	 {So("mac", "hardware address"), So("address", "leased address")}},
	{"firewall.rule", TL_SITE_LINUX,
	 "a line of the ruleset (nft list ruleset, else iptables-save) matches",
	 "the matching lines", {S("regex", "extended regex")}},
	{"sysctl.value", TL_SITE_LINUX, "the key exists", "its value",
	 {S("key", "e.g. net.ipv4.ip_forward")}},
	{"sshd.setting", TL_SITE_LINUX, "sshd -T reports the key",
	 "its effective value (lowercase, as sshd -T prints it)",
	 {S("key", "e.g. permitrootlogin")}},
	/* ---- Linux: scheduling, storage, logs ---- */
	{"cron.entry", TL_SITE_LINUX,
	 "a crontab line (user crontabs, /etc/crontab, /etc/cron.d) matches",
	 "the matching lines",
	 {S("regex", "extended regex"), So("user", "only this user's crontab")}},
	{"systemd.timer", TL_SITE_LINUX, "the timer unit is active",
	 "systemctl list-timers line", {S("name", "timer unit name")}},
	{"mount.present", TL_SITE_LINUX, "something is mounted at the target",
	 "source fstype options", {S("target", "mount point"),
				   So("fstype", "expected filesystem type")}},
	{"lvm.volume", TL_SITE_LINUX, "the logical volume exists",
	 "size in bytes", {S("vg", "volume group"), S("lv", "logical volume")}},
	{"log.line", TL_SITE_LINUX,
	 "a line of the log (a file, else the unit's journal) matches",
	 "the matching lines (last ones, capped)",
	 {S("regex", "extended regex"), So("file", "log file"),
	  So("unit", "systemd unit for journalctl")}},
	/* ---- Linux: directory, VPN, supervision, virtualisation ---- */
	/* samba.user, .group, .ou, .gpo and .object share one ldbsearch of
	 * sam.ldb per batch (the agent keeps it for the batch's later probes) */
	{"samba.user", TL_SITE_LINUX,
	 "the Samba AD user exists (sAMAccountName, any case; the directory is "
	 "read once per batch)",
	 "its LDIF lines, dn first (attr: value, base64 values decoded)",
	 {S("name", "sAMAccountName")}},
	{"samba.group", TL_SITE_LINUX,
	 "the Samba AD group exists (and has these members, if given)",
	 "its members' sAMAccountName (nested groups by name), one per line",
	 {S("name", "group name"), Lo("members", "required members")}},
	{"samba.ou", TL_SITE_LINUX, "the organisational unit exists",
	 "the matching DNs, one per line",
	 {S("name", "OU name or DN, e.g. OU=Compta or OU=Paie,OU=Compta")}},
	{"samba.gpo", TL_SITE_LINUX, "a GPO with this display name exists",
	 "its LDIF lines, then \"linked: DN\" for each container whose gpLink "
	 "names it",
	 {S("name", "display name")}},
	{"samba.object", TL_SITE_LINUX,
	 "a directory object (user, computer, group, OU, container, GPO, the "
	 "domain) with this sAMAccountName or DN exists",
	 "its LDIF lines, dn first",
	 {S("name", "sAMAccountName (PC-COMPTA$) or DN (DC=morel,DC=lan)")}},
	{"samba.dns", TL_SITE_LINUX, "the AD DNS record exists",
	 "the record data", {S("zone", "DNS zone"), S("name", "record name"),
			     Sc("type", "A|AAAA|CNAME|MX|SRV|TXT|PTR", "default A")}},
	{"samba.share", TL_SITE_LINUX, "the share is defined (testparm)",
	 "the share's parameters, one per line", {S("name", "share name")}},
	{"wireguard.peer", TL_SITE_LINUX,
	 "the interface has a peer with a handshake younger than max_age_s",
	 "seconds since the latest handshake",
	 {S("interface", "e.g. wg0"), So("public_key", "peer key"),
	  Io("max_age_s", "default 180")}},
	{"openvpn.tunnel", TL_SITE_LINUX,
	 "an OpenVPN process runs and the tun interface is up with an address",
	 "the interface's addresses", {S("interface", "e.g. tun0")}},
	{"snmp.get", TL_SITE_LINUX, "the SNMP agent answers the OID",
	 "the answer", {S("oid", "e.g. SNMPv2-MIB::sysName.0 or .1.3.6.1.2.1.1.5.0"),
			So("host", "default 127.0.0.1"),
			So("community", "default public")}},
	{"monitoring.host", TL_SITE_LINUX,
	 "the monitoring server's configuration names the host",
	 "matching configuration lines",
	 {S("name", "host name or address")}},
	{"container.running", TL_SITE_LINUX, "the podman container runs",
	 "podman ps line", {S("name", "container name")}},
	{"libvirt.domain", TL_SITE_LINUX,
	 "the libvirt domain exists (in this state, if given)",
	 "its state (running, shut off...)",
	 {S("name", "domain name"), So("state", "expected state")}},
	{"libvirt.snapshot", TL_SITE_LINUX, "the domain has the snapshot",
	 "snapshot names, one per line",
	 {S("domain", "domain name"), So("name", "snapshot name")}},
	/* ---- Windows (PowerShell agent over OpenSSH) ---- */
	{"win.service", TL_SITE_WINDOWS, "the service is running", "its Status",
	 {S("name", "service name")}},
	{"win.feature", TL_SITE_WINDOWS, "the Windows feature is installed",
	 "its InstallState", {S("name", "feature name, e.g. AD-Domain-Services")}},
	{"win.ad.user", TL_SITE_WINDOWS, "the AD user exists (enabled)",
	 "its DistinguishedName", {S("name", "SamAccountName"),
				   So("ou", "expected OU DN suffix")}},
	{"win.ad.group", TL_SITE_WINDOWS, "the AD group exists",
	 "members' SamAccountName, one per line",
	 {S("name", "group name"), Lo("members", "required members"),
	  Sc("scope", "DomainLocal|Global|Universal", "group scope")}},
	{"win.ad.ou", TL_SITE_WINDOWS, "the OU exists", "its DistinguishedName",
	 {S("name", "OU name")}},
	{"win.gpo", TL_SITE_WINDOWS, "the GPO exists (linked to target)",
	 "its links, one per line",
	 {S("name", "display name"), So("linked_to", "OU DN")}},
	{"win.dhcp.scope", TL_SITE_WINDOWS, "the DHCP scope exists and is active",
	 "its State", {S("scope", "scope id, e.g. 192.168.10.0")}},
	{"win.dns.record", TL_SITE_WINDOWS, "the DNS record exists",
	 "the record data",
	 {S("zone", "zone"), S("name", "host name"),
	  Sc("type", "A|AAAA|CNAME|MX|PTR", "default A")}},
	{"win.smb.share", TL_SITE_WINDOWS, "the SMB share exists",
	 "its Path", {S("name", "share name")}},
	{"win.smb.access", TL_SITE_WINDOWS,
	 "the account has this right on the share",
	 "AccessRight entries, one per line",
	 {S("share", "share name"), S("account", "DOMAIN\\account"),
	  Sc("right", "Full|Change|Read", "expected right")}},
	{"win.firewall.rule", TL_SITE_WINDOWS, "the rule exists and is enabled",
	 "Enabled Direction Action", {S("name", "display name")}},
	{"win.registry", TL_SITE_WINDOWS, "the registry value exists",
	 "its data", {S("path", "e.g. HKLM:\\SOFTWARE\\Policies\\..."),
		      S("name", "value name")}},
	{"win.task", TL_SITE_WINDOWS, "the scheduled task exists and is ready",
	 "its State", {S("name", "task name")}},
	/* ---- network side ---- */
	{"tcp.connect", TL_SITE_NETWORK,
	 "a TCP connection to the machine's port succeeds",
	 "\"open\" or the connect error", {I("port", "port number")}},
	{"http.request", TL_SITE_NETWORK,
	 "an HTTP(S) request to the machine answers (with this status)",
	 "the response body (capped); field status holds the HTTP status",
	 {I("port", "port number"), So("path", "default /"),
	  Io("status", "expected status"), Bo("tls", "use https"),
	  So("host", "Host header")}},
	{"dns.query", TL_SITE_NETWORK,
	 "the machine's DNS server answers the query",
	 "answers, one per line",
	 {S("name", "name to resolve"),
	  Sc("type", "A|AAAA|CNAME|MX|NS|PTR|SRV|TXT|SOA", "default A"),
	  Io("port", "default 53")}},
	{"ping", TL_SITE_NETWORK,
	 "the machine answers ICMP echo from `from` (a lab machine)",
	 "ping summary line", {So("address", "address to ping; default the "
					     "machine's first lab address")}},
	{NULL, 0, NULL, NULL, {{0}}},
};

const tl_probe_kind *tl_probe_kind_find(const char *name)
{
	for (const tl_probe_kind *k = tl_probe_kinds; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

const tl_probe_arg *tl_probe_kind_arg(const tl_probe_kind *k,
				      const char *name)
{
	for (size_t i = 0; i < TL_PROBE_MAX_ARGS && k->args[i].name; i++)
		if (strcmp(k->args[i].name, name) == 0)
			return &k->args[i];
	return NULL;
}

const char *tl_probe_site_name(tl_probe_site site)
{
	switch (site) {
	case TL_SITE_LINUX:
		return "linux";
	case TL_SITE_WINDOWS:
		return "windows";
	case TL_SITE_NETWORK:
		return "network";
	}
	return "?";
}
