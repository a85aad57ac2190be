/*
 * test_agent.c: the sh agent (agents/linux/agent.sh) run locally under
 * busybox sh, dash and bash with a real batch on stdin, exactly as the SSH
 * session feeds it, every Linux kind against fixtures made for the test:
 * files in a temp folder, the host's own accounts, a process and sockets
 * started here, an HTTP server on 127.0.0.1, crontabs, a lease file and an
 * sshd_config. Fixtures that live at fixed system paths (/etc/cron.d,
 * /var/spool/cron, /var/lib/misc, /etc/ssh) are mounted in a private mount
 * namespace (unshare -m), so the host is never touched; without unshare
 * those checks are skipped. Kinds whose tool is not installed here must
 * answer status "error" with a clear message, and that is checked too.
 * The same expectations hold for the three shells.
 */
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "probe_test.h"
#include "probes.h"

typedef struct shell {
	const char *name;
	const char *argv[4];
} shell;

static const shell shells[] = {
    {"busybox sh", {"/bin/busybox", "sh", "-s", NULL}},
    {"dash", {"/bin/dash", "-s", NULL}},
    {"bash", {"/bin/bash", "-s", NULL}},
};

/* One probe and what every shell must answer. */
typedef struct expect {
	const char *label;
	const tl_probe *p;
	tl_probe_status status;
	int ok;			 /* -1: any */
	const char *value;	 /* exact, or NULL */
	const char *value_has;	 /* substring, or NULL */
	const char *value_lacks; /* must not be in the value, or NULL */
	const char *error_has;	 /* substring of the error, or NULL */
	int exit_code;		 /* -2: any */
	int http;		 /* -2: any */
	bool needs_ns;		 /* fixture at a system path */
	unsigned shells;	 /* SH_* bits it applies to; 0: all */
	bool any_status;	 /* done or error: only ok is checked */
} expect;

/* Busybox sh runs its built-in applets (ping, nslookup, wget...), which
 * the host may not have as programs: some answers differ by shell. */
enum { SH_BUSYBOX = 1, SH_DASH = 2, SH_BASH = 4, SH_FILES = SH_DASH | SH_BASH };

static expect E[128];
static size_t NE;
static const char *T;
static bool NS;
static pid_t kids[4];
static size_t nkids;
static int http_port, tcp_port, udp_port, closed_port;
static int lfd_tcp = -1, lfd_udp = -1;
static tl_lab_machine lab_target;
static tl_lab_nic lab_nic = {.address = "127.0.0.1/8"};
static tl_lab LAB;

static expect *add(const char *label, const tl_probe *p, tl_probe_status st,
		   int ok)
{
	expect *e = &E[NE++];
	*e = (expect){.label = label,
		      .p = p,
		      .status = st,
		      .ok = ok,
		      .exit_code = -2,
		      .http = -2};
	return e;
}

static void kill_kids(void)
{
	for (size_t i = 0; i < nkids; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGTERM);
			waitpid(kids[i], NULL, 0);
		}
	nkids = 0;
}

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	kids[nkids++] = pid;
	return pid;
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	size_t len;
	tl_error err;
	char *data = tl_file_read(from, 64u << 20, &len, &err);
	if (!data) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(to);
		exit(1);
	}
	close(fd);
	free(data);
}

static char *path(const char *rel)
{
	return tl_xasprintf("%s/%s", T, rel);
}

static void wait_port(int port)
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
	fprintf(stderr, "nothing listens on %d\n", port);
	exit(1);
}

static void fixtures(void)
{
	T = pt_tmpdir();
	atexit(kill_kids);
	char *p;
#define W(rel, text)                                                           \
	do {                                                                   \
		p = path(rel);                                                 \
		pt_write(p, text);                                             \
		free(p);                                                       \
	} while (0)
	W("f.txt", "hello\nBoulangerie Martin\n");
	p = path("f.txt");
	chmod(p, 0640);
	free(p);
	W("empty", "");
	W("it's here.txt", "quoted\n");
	p = path("d");
	mkdir(p, 0750);
	chmod(p, 02750);
	free(p);
	p = path("l");
	if (symlink("f.txt", p) < 0)
		perror("symlink");
	free(p);
	p = path("fifo");
	mkfifo(p, 0600);
	free(p);
	W("app.log", "start\nERROR disk full\nok\nERROR disk full again\n");
	W("backup-1.tar", "x");
	W("old-1.tar", "x");
	p = path("old-1.tar");
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= 3 * 86400;
	tv[1] = tv[0];
	utimes(p, tv);
	free(p);

	/* fixtures the namespace mounts at their system paths */
	p = path("fx");
	mkdir(p, 0755);
	free(p);
	p = path("fx/cron.d");
	mkdir(p, 0755);
	free(p);
	W("fx/cron.d/backup", "# m h dom mon dow user command\n"
			      "30 2 * * * root /usr/local/bin/backup.sh\n"
			      "  # 0 3 * * * root /usr/local/bin/purge.sh\n");
	W("fx/crontab.root", "*/5 * * * * /usr/local/bin/check.sh\n");
	W("fx/resolv.conf",
	  "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
	W("fx/dnsmasq.leases",
	  "1900000000 52:54:00:aa:bb:cc 192.168.60.50 client1 *\n");
	p = path("fx/ssh");
	mkdir(p, 0755);
	free(p);
	W("fx/ssh/sshd_config", "PasswordAuthentication no\n"
				"PermitRootLogin prohibit-password\n"
				"HostKey /etc/ssh/host_ed25519\n");
	char *cmd = tl_xasprintf("ssh-keygen -q -t ed25519 -N '' -f "
				 "%s/fx/ssh/host_ed25519 >/dev/null 2>&1",
				 T);
	if (system(cmd) != 0)
		fprintf(stderr, "ssh-keygen failed\n");
	free(cmd);

	/* a web root and a server */
	p = path("www");
	mkdir(p, 0755);
	free(p);
	W("www/index.html", "<h1>Boulangerie Martin</h1>\n");
	http_port = pt_closed_port();
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", http_port);
	char *www = path("www");
	char *const py[] = {
	    "/usr/bin/python3", "-m",	       "http.server", portstr, "--bind",
	    "127.0.0.1",	"--directory", www,	      NULL};
	spawn(py);
	wait_port(http_port);
	free(www);

	/* a "service": a process named tlsvcd */
	char *svc = path("tlsvcd");
	copy_file("/bin/sleep", svc, 0755);
	char *const sv[] = {svc, "600", NULL};
	spawn(sv);
	free(svc);

	/* sockets */
	lfd_tcp = pt_listen(&tcp_port, SOCK_STREAM);
	lfd_udp = pt_listen(&udp_port, SOCK_DGRAM);
	closed_port = pt_closed_port();

	/* a lab where "target" is 127.0.0.1 */
	lab_target =
	    (tl_lab_machine){.id = "target", .nics = &lab_nic, .n_nics = 1};
	LAB = (tl_lab){.id = "lab", .machines = &lab_target, .n_machines = 1};

	NS = system("unshare -m -- true >/dev/null 2>&1") == 0;
	usleep(200000); /* let tlsvcd exec */
#undef W
}

static bool exists(const char *p)
{
	return access(p, X_OK) == 0;
}

static void expectations(void)
{
	char *s;
	expect *e;
	struct passwd *pw = getpwnam("root");
	const char *root_shell = pw ? pw->pw_shell : "/bin/sh";
	bool systemd = access("/run/systemd/system", F_OK) == 0;

	/* ---- services ---- */
	if (!systemd) {
		e = add("service.active of a plain process",
			pr_make("service.active", "local", NULL,
				"{\"name\":\"tlsvc\"}", 5),
			TL_PROBE_DONE, 1);
		e->value = "active";
		e = add("service.active, nothing runs",
			pr_make("service.active", "local", NULL,
				"{\"name\":\"tl-no-such-svc.service\"}", 5),
			TL_PROBE_DONE, 0);
		e->value = "inactive";
	}
	if (exists("/usr/bin/systemctl")) {
		e = add("service.enabled of an unknown unit",
			pr_make("service.enabled", "local", NULL,
				"{\"name\":\"tl-no-such-unit\"}", 5),
			TL_PROBE_DONE, 0);
		e->value = "not-found";
	}
	/* ---- packages ---- */
	if (exists("/usr/bin/dpkg-query")) {
		e = add("package.installed bash",
			pr_make("package.installed", "local", NULL,
				"{\"name\":\"bash\"}", 5),
			TL_PROBE_DONE, 1);
		e->value_has = ".";
		add("package.installed bash at another version",
		    pr_make("package.installed", "local", NULL,
			    "{\"name\":\"bash\",\"version\":\"0.\"}", 5),
		    TL_PROBE_DONE, 0);
		e = add("package.installed, absent",
			pr_make("package.installed", "local", NULL,
				"{\"name\":\"tl-no-such-package\"}", 5),
			TL_PROBE_DONE, 0);
		e->value = "";
	}
	/* ---- accounts ---- */
	s = tl_xasprintf("{\"name\":\"root\",\"shell\":\"%s\",\"home\":"
			 "\"/root\",\"groups\":[\"root\"]}",
			 root_shell);
	e = add("user.exists root with shell, home, groups",
		pr_make("user.exists", "local", NULL, s, 5), TL_PROBE_DONE, 1);
	e->value_has = "root:0:0:/root:";
	free(s);
	add("user.exists root with the wrong shell",
	    pr_make("user.exists", "local", NULL,
		    "{\"name\":\"root\",\"shell\":\"/bin/tl-nosh\"}", 5),
	    TL_PROBE_DONE, 0);
	e = add("user.exists, no such user",
		pr_make("user.exists", "local", NULL,
			"{\"name\":\"tl-nobody-here\"}", 5),
		TL_PROBE_DONE, 0);
	e->value = "";
	e = add("group.members root",
		pr_make("group.members", "local", NULL,
			"{\"name\":\"root\",\"members\":[\"root\"]}", 5),
		TL_PROBE_DONE, 1);
	e->value_has = "root";
	add("group.members with a missing member",
	    pr_make("group.members", "local", NULL,
		    "{\"name\":\"root\",\"members\":[\"tl-nobody-here\"]}", 5),
	    TL_PROBE_DONE, 0);
	add("group.members, no such group",
	    pr_make("group.members", "local", NULL,
		    "{\"name\":\"tl-no-group\"}", 5),
	    TL_PROBE_DONE, 0);
	if (!exists("/usr/bin/sudo") && !exists("/usr/sbin/sudo")) {
		e = add("user.sudo without sudo installed",
			pr_make("user.sudo", "local", NULL,
				"{\"name\":\"root\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "sudo: not found on this machine";
	}

	/* ---- files ---- */
	s = tl_xasprintf("{\"path\":\"%s/f.txt\",\"type\":\"file\"}", T);
	e = add("file.exists file", pr_make("file.exists", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "file";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/f.txt\",\"type\":\"dir\"}", T);
	e = add("file.exists of the wrong type",
		pr_make("file.exists", "local", NULL, s, 5), TL_PROBE_DONE, 0);
	e->value = "file";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/l\"}", T);
	e = add("file.exists link", pr_make("file.exists", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "link";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/fifo\",\"type\":\"fifo\"}", T);
	e = add("file.exists fifo", pr_make("file.exists", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "fifo";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/it's here.txt\"}", T);
	e = add("file.exists, a path with a quote and a space",
		pr_make("file.exists", "local", NULL, s, 5), TL_PROBE_DONE, 1);
	e->value = "file";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/missing\"}", T);
	e = add("file.exists, missing",
		pr_make("file.exists", "local", NULL, s, 5), TL_PROBE_DONE, 0);
	e->value = "";
	free(s);
	e = add("file.exists, relative path",
		pr_make("file.exists", "local", NULL, "{\"path\":\"etc\"}", 5),
		TL_PROBE_ERROR, 0);
	e->error_has = "not absolute";
	s = tl_xasprintf("{\"path\":\"%s/f.txt\"}", T);
	e = add("file.mode 640", pr_make("file.mode", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "640";
	e = add("file.owner", pr_make("file.owner", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "root:root";
	e = add("file.content", pr_make("file.content", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "hello\nBoulangerie Martin";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/d\"}", T);
	e = add("file.mode setgid 2750",
		pr_make("file.mode", "local", NULL, s, 5), TL_PROBE_DONE, 1);
	e->value = "2750";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/f.txt\",\"regex\":\"Mar+tin$\"}", T);
	e = add("file.content with a regex",
		pr_make("file.content", "local", NULL, s, 5), TL_PROBE_DONE, 1);
	e->value = "Boulangerie Martin";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/f.txt\",\"regex\":\"^nope\"}", T);
	e = add("file.content, regex not matching",
		pr_make("file.content", "local", NULL, s, 5), TL_PROBE_DONE, 0);
	e->value = "";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/fifo\"}", T);
	e = add("file.content of a fifo (must not block)",
		pr_make("file.content", "local", NULL, s, 5), TL_PROBE_ERROR,
		0);
	e->error_has = "not a regular file";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/empty\"}", T);
	e = add("file.checksum", pr_make("file.checksum", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		   "7852b855";
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/backup-*.tar\",\"max_age_hours\":1}",
			 T);
	add("file.fresh, a recent backup",
	    pr_make("file.fresh", "local", NULL, s, 5), TL_PROBE_DONE, 1);
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/old-*.tar\",\"max_age_hours\":24}", T);
	e = add("file.fresh, too old",
		pr_make("file.fresh", "local", NULL, s, 5), TL_PROBE_DONE, 0);
	e->value_has = "2"; /* about 259200 s */
	free(s);
	s = tl_xasprintf("{\"path\":\"%s/none-*.tar\",\"max_age_hours\":24}",
			 T);
	add("file.fresh, nothing matches",
	    pr_make("file.fresh", "local", NULL, s, 5), TL_PROBE_DONE, 0);
	free(s);
	if (!exists("/usr/bin/getfacl")) {
		s = tl_xasprintf("{\"path\":\"%s/d\",\"entry\":\"^group:\"}",
				 T);
		e = add("acl.entry without getfacl",
			pr_make("acl.entry", "local", NULL, s, 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "getfacl: not found";
		free(s);
	}

	/* ---- processes, ports, commands ---- */
	e = add("process.running tlsvcd",
		pr_make("process.running", "local", NULL,
			"{\"name\":\"tlsvcd\"}", 5),
		TL_PROBE_DONE, 1);
	add("process.running, none",
	    pr_make("process.running", "local", NULL,
		    "{\"name\":\"tl-no-proc\"}", 5),
	    TL_PROBE_DONE, 0);
	static char tcp_has[32], udp_has[32];
	snprintf(tcp_has, sizeof tcp_has, ":%d", tcp_port);
	e = add("port.listening tcp",
		pr_makef("port.listening", "local", NULL, 5, "{\"port\":%d}",
			 tcp_port),
		TL_PROBE_DONE, 1);
	e->value_has = tcp_has;
	snprintf(udp_has, sizeof udp_has, ":%d", udp_port);
	e = add("port.listening udp",
		pr_makef("port.listening", "local", NULL, 5,
			 "{\"port\":%d,\"proto\":\"udp\"}", udp_port),
		TL_PROBE_DONE, 1);
	e->value_has = udp_has;
	e = add("port.listening, closed",
		pr_makef("port.listening", "local", NULL, 5, "{\"port\":%d}",
			 closed_port),
		TL_PROBE_DONE, 0);
	e->value = "";
	e = add("command.run, exit status and stdout",
		pr_make("command.run", "local", NULL,
			"{\"command\":\"echo hi; echo oops >&2; exit 3\"}", 5),
		TL_PROBE_DONE, 0);
	e->value = "hi";
	e->exit_code = 3;
	e = add(
	    "command.run reading stdin does not eat the batch",
	    pr_make("command.run", "local", NULL, "{\"command\":\"cat\"}", 5),
	    TL_PROBE_DONE, 1);
	e->value = "";
	e = add("command.run, output that looks like JSON and a NUL",
		pr_make("command.run", "local", NULL,
			"{\"command\":\"printf '\\\"}\\\\n{\\\"tl\\\":1}\\\\001"
			"\\\\000x'\"}",
			5),
		TL_PROBE_DONE, 1);
	e->value = "\"}\n{\"tl\":1}\001?x";
	e = add("command.run, a big output is cut at the cap",
		pr_make("command.run", "local", NULL,
			"{\"command\":\"head -c 100000 /dev/zero | tr '\\\\0' "
			"x\"}",
			10),
		TL_PROBE_DONE, 1);
	e->value_has = "xxxxxxxx";
	e = add("command.run as another user",
		pr_make("command.run", "local", NULL,
			"{\"command\":\"id -u\",\"user\":\"nobody\"}", 5),
		exists("/usr/bin/su") || exists("/bin/su") ? TL_PROBE_DONE
							   : TL_PROBE_ERROR,
		-1);
	if (exists("/usr/bin/su") || exists("/bin/su"))
		e->value = "65534";
	e = add("command.run past its timeout",
		pr_make("command.run", "local", NULL,
			"{\"command\":\"sleep 30\"}", 2),
		TL_PROBE_ERROR, 0);
	e->error_has = "timed out after 2 s";
	e = add("the probe after a timeout runs normally",
		pr_make("command.run", "local", NULL,
			"{\"command\":\"echo after\"}", 5),
		TL_PROBE_DONE, 1);
	e->value = "after";
	e = add("http.local 200",
		pr_makef("http.local", "local", NULL, 5,
			 "{\"url\":\"http://127.0.0.1:%d/\",\"status\":200}",
			 http_port),
		TL_PROBE_DONE, 1);
	e->value_has = "Boulangerie Martin";
	e->http = 200;
	e = add("http.local, expected 404",
		pr_makef("http.local", "local", NULL, 5,
			 "{\"url\":\"http://127.0.0.1:%d/missing\","
			 "\"status\":404}",
			 http_port),
		TL_PROBE_DONE, 1);
	e->http = 404;
	e = add("http.local, wrong status",
		pr_makef("http.local", "local", NULL, 5,
			 "{\"url\":\"http://127.0.0.1:%d/missing\","
			 "\"status\":200}",
			 http_port),
		TL_PROBE_DONE, 0);
	e->http = 404;
	e = add("http.local, nothing listens",
		pr_makef("http.local", "local", NULL, 5,
			 "{\"url\":\"http://127.0.0.1:%d/\"}", closed_port),
		TL_PROBE_DONE, 0);
	e->http = -1;

	/* ---- network configuration ---- */
	e = add("net.address 127.0.0.1/8",
		pr_make("net.address", "local", NULL,
			"{\"address\":\"127.0.0.1/8\"}", 5),
		TL_PROBE_DONE, 1);
	e->value_has = "lo 127.0.0.1/8";
	add("net.address bare, on lo",
	    pr_make("net.address", "local", NULL,
		    "{\"address\":\"127.0.0.1\",\"interface\":\"lo\"}", 5),
	    TL_PROBE_DONE, 1);
	add("net.address, not held",
	    pr_make("net.address", "local", NULL,
		    "{\"address\":\"198.51.100.77/24\"}", 5),
	    TL_PROBE_DONE, 0);
	add("net.address on a missing interface",
	    pr_make("net.address", "local", NULL,
		    "{\"address\":\"127.0.0.1\",\"interface\":\"tlnoif0\"}", 5),
	    TL_PROBE_DONE, 0);
	add("net.route, none",
	    pr_make("net.route", "local", NULL,
		    "{\"destination\":\"203.0.113.0/24\"}", 5),
	    TL_PROBE_DONE, 0);
	e = add("net.interface lo",
		pr_make("net.interface", "local", NULL, "{\"name\":\"lo\"}", 5),
		TL_PROBE_DONE, 1);
	e->value_has = "lo";
	add("net.interface, missing",
	    pr_make("net.interface", "local", NULL, "{\"name\":\"tlnoif0\"}",
		    5),
	    TL_PROBE_DONE, 0);
	/* DNS: name servers other than 127.0.0.1 are never asked (the
	 * namespace's resolv.conf says 127.0.0.1, where nothing answers) */
	e = add("dns.resolve localhost from /etc/hosts",
		pr_make("dns.resolve", "local", NULL,
			"{\"name\":\"localhost\"}", 5),
		TL_PROBE_DONE, 1);
	e->value_has = "127.0.0.1";
	e->shells = SH_FILES;
	e->needs_ns = true;
	/* (busybox nslookup may retry past the probe's timeout: an error
	 * then, never a pass) */
	e = add("dns.resolve with busybox nslookup, no server on loopback",
		pr_make("dns.resolve", "local", NULL,
			"{\"name\":\"localhost\"}", 3),
		TL_PROBE_DONE, 0);
	e->any_status = true;
	e->shells = SH_BUSYBOX;
	e->needs_ns = true;
	if (!exists("/usr/bin/dig") && !exists("/usr/bin/nslookup")) {
		e = add("dns.resolve against a server, no client",
			pr_make("dns.resolve", "local", NULL,
				"{\"name\":\"x.lab\",\"server\":\"127.0.0.1\"}",
				5),
			TL_PROBE_ERROR, 0);
		e->error_has = "no DNS client";
		e->shells = SH_FILES;
	}
	if (!exists("/usr/sbin/dhcpd")) {
		e = add("dhcp.scope without isc-dhcp-server",
			pr_make("dhcp.scope", "local", NULL,
				"{\"subnet\":\"192.168.60.0\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "dhcpd: not found";
	}
	if (!exists("/usr/sbin/nft") && !exists("/usr/sbin/iptables-save")) {
		e = add("firewall.rule without nft or iptables",
			pr_make("firewall.rule", "local", NULL,
				"{\"regex\":\"dport 22\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "neither nft nor iptables-save";
	}
	e = add("sysctl.value kernel.ostype",
		pr_make("sysctl.value", "local", NULL,
			"{\"key\":\"kernel.ostype\"}", 5),
		TL_PROBE_DONE, 1);
	e->value = "Linux";
	add("sysctl.value, no such key",
	    pr_make("sysctl.value", "local", NULL,
		    "{\"key\":\"net.tl.nothing\"}", 5),
	    TL_PROBE_DONE, 0);
	e = add("sysctl.value, a key that escapes /proc/sys",
		pr_make("sysctl.value", "local", NULL,
			"{\"key\":\"..etc.passwd\"}", 5),
		TL_PROBE_ERROR, 0);
	e->error_has = "invalid sysctl key";
	if (exists("/usr/sbin/sshd")) {
		e = add("sshd.setting from the fixture sshd_config",
			pr_make("sshd.setting", "local", NULL,
				"{\"key\":\"PasswordAuthentication\"}", 10),
			TL_PROBE_DONE, 1);
		e->value = "no";
		e->needs_ns = true;
	}

	/* ---- scheduling, storage, logs ---- */
	e = add("cron.entry in /etc/cron.d",
		pr_make("cron.entry", "local", NULL,
			"{\"regex\":\"backup\\\\.sh\"}", 5),
		TL_PROBE_DONE, 1);
	e->value = "30 2 * * * root /usr/local/bin/backup.sh";
	e->needs_ns = true;
	e = add("cron.entry commented out does not count",
		pr_make("cron.entry", "local", NULL,
			"{\"regex\":\"purge\\\\.sh\"}", 5),
		TL_PROBE_DONE, 0);
	e->needs_ns = true;
	e = add("cron.entry in root's crontab",
		pr_make("cron.entry", "local", NULL,
			"{\"regex\":\"check\\\\.sh\",\"user\":\"root\"}", 5),
		TL_PROBE_DONE, 1);
	e->needs_ns = true;
	if (!systemd) {
		e = add("systemd.timer without systemd",
			pr_make("systemd.timer", "local", NULL,
				"{\"name\":\"backup\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "systemd is not running";
	}
	e = add("mount.present /proc",
		pr_make("mount.present", "local", NULL,
			"{\"target\":\"/proc/\",\"fstype\":\"proc\"}", 5),
		TL_PROBE_DONE, 1);
	e->value_has = "proc proc ";
	add("mount.present, nothing there",
	    pr_make("mount.present", "local", NULL,
		    "{\"target\":\"/tl-nothing\"}", 5),
	    TL_PROBE_DONE, 0);
	if (!exists("/usr/sbin/lvs") && !exists("/sbin/lvs")) {
		e = add("lvm.volume without LVM",
			pr_make("lvm.volume", "local", NULL,
				"{\"vg\":\"vg0\",\"lv\":\"data\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "lvs: not found";
	}
	s = tl_xasprintf("{\"regex\":\"ERROR disk\",\"file\":\"%s/app.log\"}",
			 T);
	e = add("log.line in a file", pr_make("log.line", "local", NULL, s, 5),
		TL_PROBE_DONE, 1);
	e->value = "ERROR disk full\nERROR disk full again";
	free(s);
	s = tl_xasprintf("{\"regex\":\"panic\",\"file\":\"%s/app.log\"}", T);
	add("log.line, no match", pr_make("log.line", "local", NULL, s, 5),
	    TL_PROBE_DONE, 0);
	free(s);
	e = add("log.line with neither file nor unit",
		pr_make("log.line", "local", NULL, "{\"regex\":\"x\"}", 5),
		TL_PROBE_ERROR, 0);
	e->error_has = "needs a file or a unit";

	/* ---- directory, VPN, supervision, virtualisation ---- */
	if (!exists("/usr/bin/ldbsearch")) {
		/* the directory kinds read sam.ldb with ldbsearch (ldb-tools);
		 * with it, test_samba_directory runs them on a fixture */
		static const char *const dir[][2] = {
		    {"samba.user", "{\"name\":\"alice\"}"},
		    {"samba.group", "{\"name\":\"compta\"}"},
		    {"samba.ou", "{\"name\":\"Compta\"}"},
		    {"samba.gpo", "{\"name\":\"Fond\"}"},
		    {"samba.object", "{\"name\":\"DC=lab,DC=lan\"}"},
		};
		for (size_t k = 0; k < 5; k++) {
			e = add(dir[k][0],
				pr_make(dir[k][0], "local", NULL, dir[k][1], 5),
				TL_PROBE_ERROR, 0);
			e->error_has = "ldbsearch: not found on this machine";
		}
	}
	if (!exists("/usr/bin/samba-tool")) {
		e = add("samba.dns without samba-tool",
			pr_make("samba.dns", "local", NULL,
				"{\"zone\":\"lab\",\"name\":\"www\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "samba-tool: not found";
	}
	if (!exists("/usr/bin/testparm")) {
		e = add("samba.share without testparm",
			pr_make("samba.share", "local", NULL,
				"{\"name\":\"compta\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "testparm: not found";
	}
	if (!exists("/usr/bin/wg")) {
		e = add("wireguard.peer without wg",
			pr_make("wireguard.peer", "local", NULL,
				"{\"interface\":\"wg0\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "wg: not found";
	}
	add("openvpn.tunnel, no tunnel",
	    pr_make("openvpn.tunnel", "local", NULL,
		    "{\"interface\":\"tltun0\"}", 5),
	    TL_PROBE_DONE, 0);
	if (!exists("/usr/bin/snmpget")) {
		e = add("snmp.get without snmpget",
			pr_make("snmp.get", "local", NULL,
				"{\"oid\":\"SNMPv2-MIB::sysName.0\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "snmpget: not found";
	}
	if (access("/etc/nagios4", F_OK) && access("/etc/icinga2", F_OK)) {
		e = add("monitoring.host without a monitoring server",
			pr_make("monitoring.host", "local", NULL,
				"{\"name\":\"srv\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "no Nagios";
	}
	if (!exists("/usr/bin/podman") && !exists("/usr/bin/docker")) {
		e = add("container.running without podman",
			pr_make("container.running", "local", NULL,
				"{\"name\":\"web\"}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "podman: not found";
	}
	if (exists("/usr/bin/virsh")) {
		add("libvirt.domain, no such domain",
		    pr_make("libvirt.domain", "local", NULL,
			    "{\"name\":\"tl-no-such-domain\"}", 15),
		    TL_PROBE_DONE, 0);
		add("libvirt.snapshot, no such domain",
		    pr_make("libvirt.snapshot", "local", NULL,
			    "{\"domain\":\"tl-no-such-domain\"}", 15),
		    TL_PROBE_DONE, 0);
	}

	/* ---- network kinds from this machine ---- */
	e = add("tcp.connect from a lab machine, open",
		pr_makef("tcp.connect", "target", "local", 5, "{\"port\":%d}",
			 tcp_port),
		TL_PROBE_DONE, 1);
	e->value = "open";
	e = add("tcp.connect from a lab machine, closed",
		pr_makef("tcp.connect", "target", "local", 5, "{\"port\":%d}",
			 closed_port),
		TL_PROBE_DONE, 0);
	e->value_has = "refused";
	e = add("http.request from a lab machine",
		pr_makef("http.request", "target", "local", 5,
			 "{\"port\":%d,\"path\":\"index.html\",\"status\":200}",
			 http_port),
		TL_PROBE_DONE, 1);
	e->value_has = "Martin";
	e->http = 200;
	if (!exists("/usr/bin/ping") && !exists("/bin/ping")) {
		e = add("ping without ping installed",
			pr_make("ping", "target", "local", "{}", 5),
			TL_PROBE_ERROR, 0);
		e->error_has = "ping: not found";
		e->shells = SH_FILES;
	}
	e = add("ping with the busybox applet",
		pr_make("ping", "target", "local", "{}", 5), TL_PROBE_DONE, 1);
	e->value_has = "1 packets received";
	e->shells = SH_BUSYBOX;
}

/* The fixtures at system paths, mounted in the private mount namespace. */
static const char default_setup[] =
    "set -e; T=$1; shift\n"
    "mount -t tmpfs tl /etc/cron.d\n"
    "cp \"$T\"/fx/cron.d/* /etc/cron.d/\n"
    "mount -t tmpfs tl /var/spool\n"
    "mkdir -p /var/spool/cron/crontabs\n"
    "cp \"$T\"/fx/crontab.root /var/spool/cron/crontabs/root\n"
    "mkdir -p /var/lib/misc\n"
    "mount -t tmpfs tl /var/lib/misc\n"
    "cp \"$T\"/fx/dnsmasq.leases /var/lib/misc/\n"
    "mount --bind \"$T\"/fx/ssh /etc/ssh\n"
    /* only 127.0.0.1 is ever asked for names (where nothing answers) */
    "mount --bind \"$T\"/fx/resolv.conf /etc/resolv.conf\n"
    "exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "
    "LC_ALL=C \"$@\"\n";

/* Runs the batch under a shell, as the SSH session would: the batch on a
 * pipe (not a file: a shell reading a seekable stdin behaves differently),
 * env -i, the fixed PATH, in a private mount namespace with the fixtures
 * of setup (a script run as root there, with T as $1, then the shell's
 * argv) when we can. */
static char *run_agent_in(const shell *sh, const tl_probe_batch *b,
			  const char *setup, size_t *ret_len)
{
	int pfd[2], in[2];
	if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0)
		abort();
	pid_t writer = fork();
	if (writer == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(pfd[0]);
		close(pfd[1]);
		close(in[0]);
		size_t off = 0;
		while (off < b->script_len) {
			ssize_t w =
			    write(in[1], b->script + off, b->script_len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		_exit(0);
	}
	close(in[1]);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char *errlog = path("stderr.log");
		int er = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(in[0], 0);
		dup2(pfd[1], 1);
		dup2(er, 2);
		const char *argv[16];
		int k = 0;
		if (NS) {
			argv[k++] = "/usr/bin/unshare";
			argv[k++] = "-m";
			argv[k++] = "--";
			argv[k++] = "/bin/sh";
			argv[k++] = "-c";
			argv[k++] = setup;
			argv[k++] = "sh";
			argv[k++] = T;
		} else {
			argv[k++] = "/usr/bin/env";
			argv[k++] = "-i";
			argv[k++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
			argv[k++] = "LC_ALL=C";
		}
		for (int j = 0; sh->argv[j]; j++)
			argv[k++] = sh->argv[j];
		argv[k] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	close(in[0]);
	tl_buf out;
	tl_buf_init(&out, 64u << 20);
	char chunk[65536];
	ssize_t n;
	while ((n = read(pfd[0], chunk, sizeof chunk)) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			tl_buf_append(&out, chunk, (size_t)n);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	waitpid(writer, NULL, 0);
	*ret_len = out.len;
	return tl_buf_steal(&out);
}

static char *run_agent(const shell *sh, const tl_probe_batch *b,
		       size_t *ret_len)
{
	return run_agent_in(sh, b, default_setup, ret_len);
}

/* Checks one result against its expectation; says which on failure. */
static void check_result(const char *shell_name, size_t i, const expect *e,
			 const tl_probe_result *x)
{
	int before = tl_test_failures_;
	if (!e->any_status)
		CHECK(x->status == e->status);
	if (e->ok >= 0)
		CHECK(x->ok == (e->ok == 1));
	if (e->value)
		CHECK_STR(x->value, e->value);
	if (e->value_has)
		CHECK_CONTAINS(x->value, e->value_has);
	if (e->value_lacks)
		CHECK(!x->value || !strstr(x->value, e->value_lacks));
	if (e->error_has)
		CHECK_CONTAINS(x->error, e->error_has);
	if (e->exit_code != -2)
		CHECK(x->exit_code == e->exit_code);
	if (e->http != -2)
		CHECK(x->http_status == e->http);
	if (tl_test_failures_ != before)
		fprintf(stderr,
			"  ^ %s, probe %zu \"%s\": status %s ok %d value "
			"\"%.200s\" error \"%s\" cmd \"%s\" out "
			"\"%.200s\"\n",
			shell_name, i, e->label,
			tl_probe_status_name(x->status), x->ok,
			x->value ? x->value : "", x->error ? x->error : "",
			x->evidence_cmd ? x->evidence_cmd : "",
			x->evidence_out ? x->evidence_out : "");
}

static void check_shell(const shell *sh, unsigned bit)
{
	if (access(sh->argv[0], X_OK)) {
		printf("skip %s: %s not installed\n", sh->name, sh->argv[0]);
		return;
	}
	const tl_probe **probes = tl_xcalloc(NE, sizeof *probes);
	for (size_t i = 0; i < NE; i++)
		probes[i] = E[i].p;
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {.lab = &LAB, .machine = "local"};
	if (tl_probe_batch_compile(&b, probes, NE, &o, &err) < 0) {
		fprintf(stderr, "compile: %s\n", err.msg);
		tl_test_failures_++;
		free(probes);
		return;
	}
	size_t len;
	char *out = run_agent(sh, &b, &len);
	tl_probe_result *r = tl_xcalloc(NE, sizeof *r);
	tl_probe_batch_parse(&b, out, len, NULL, r);
	for (size_t i = 0; i < NE; i++) {
		const expect *e = &E[i];
		if ((e->needs_ns && !NS) || (e->shells && !(e->shells & bit)))
			continue;
		check_result(sh->name, i, e, &r[i]);
	}
	if (getenv("TL_TEST_DUMP")) /* debugging: every result */
		for (size_t i = 0; i < NE; i++)
			printf(
			    "%s | %s | %s ok=%d x=%d h=%d | cmd: %s | value: "
			    "%.80s | out: %.80s | error: %s\n",
			    sh->name, E[i].label,
			    tl_probe_status_name(r[i].status), r[i].ok,
			    r[i].exit_code, r[i].http_status,
			    r[i].evidence_cmd ? r[i].evidence_cmd : "",
			    r[i].value ? r[i].value : "",
			    r[i].evidence_out ? r[i].evidence_out : "",
			    r[i].error ? r[i].error : "");
	/* evidence: the command that ran is absolute, the cut is said */
	for (size_t i = 0; i < NE; i++)
		if (!strcmp(E[i].label, "file.mode 640"))
			CHECK_CONTAINS(r[i].evidence_cmd, "stat -L -c %a ");
		else if (!strcmp(E[i].label,
				 "command.run, a big output is cut at the cap"))
			CHECK_CONTAINS(r[i].evidence_out, "[value cut at");
	tl_probe_results_free(r, NE);
	free(out);
	tl_probe_batch_clear(&b);
	free(probes);
}

TL_TEST(test_busybox_sh)
{
	check_shell(&shells[0], SH_BUSYBOX);
}
TL_TEST(test_dash)
{
	check_shell(&shells[1], SH_DASH);
}
TL_TEST(test_bash)
{
	check_shell(&shells[2], SH_BASH);
}

/* A batch line the agent does not know: an error for that probe only. */
TL_TEST(test_unknown_kind)
{
	const tl_probe *p[2] = {
	    pr_make("sysctl.value", "local", NULL,
		    "{\"key\":\"kernel.ostype\"}", 5),
	    pr_make("sysctl.value", "local", NULL,
		    "{\"key\":\"kernel.ostype\"}", 5),
	};
	tl_probe_batch b;
	tl_error err;
	tl_probe_batch_opts o = {0};
	CHECK(tl_probe_batch_compile(&b, p, 2, &o, &err) == 0);
	char *line = strstr(b.script, "tl_p 0 5 sysctl.value");
	CHECK(line != NULL);
	if (line)
		memcpy(line + 9, "nosuch.kind!", 12);
	size_t len;
	char *out = run_agent(&shells[1], &b, &len);
	tl_probe_result r[2];
	tl_probe_batch_parse(&b, out, len, NULL, r);
	CHECK(r[0].status == TL_PROBE_ERROR);
	CHECK_CONTAINS(r[0].error, "unknown probe kind \"nosuch.kind!\"");
	CHECK(r[1].status == TL_PROBE_DONE);
	CHECK_STR(r[1].value, "Linux");
	tl_probe_result_clear(&r[0]);
	tl_probe_result_clear(&r[1]);
	free(out);
	tl_probe_batch_clear(&b);
}

/* ---- Samba AD directory kinds, on a fixture ----
 * This host has no domain controller. The directory kinds (samba.user,
 * .group, .ou, .gpo, .object) read sam.ldb once per batch with ldbsearch:
 * here a fake ldbsearch that prints tests/probe/fixtures/samba/
 * directory.ldif (the agent's ldbsearch on a real DC, made harder: folded
 * lines, base64 values, a secret and a control character that must not
 * show) and an empty sam.ldb are laid over /usr/bin and /var/lib with
 * overlayfs in a private mount namespace. The agent runs unchanged: it has
 * no switch a trainee could use to point it at another directory. The fake
 * logs its calls, so the test sees one read per batch, and a second when
 * the first failed. */
static bool SAM;

static void samba_fixtures(void)
{
	const char *top = getenv("TSSRLAB_DATADIR");
	char *ldif = tl_xasprintf(
	    "%s/tests/probe/fixtures/samba/directory.ldif", top ? top : ".");
	if (!NS || access(ldif, R_OK)) {
		free(ldif);
		return;
	}
	char *p;
	const char *dirs[] = {"sam", "sam/bin", "sam/lib", "sam/lib/samba",
			      "sam/lib/samba/private"};
	for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
		p = path(dirs[k]);
		mkdir(p, 0755);
		free(p);
	}
	p = path("sam/directory.ldif");
	copy_file(ldif, p, 0644);
	free(p);
	free(ldif);
	p = path("sam/lib/samba/private/sam.ldb");
	pt_write(p, "");
	free(p);
	char *fake = tl_xasprintf(
	    "#!/bin/sh\n"
	    "printf '%%s\\n' \"$*\" >>'%s/sam/calls'\n"
	    "if [ -f '%s/sam/fail-once' ]; then\n"
	    "\trm -f '%s/sam/fail-once'\n"
	    "\techo 'Failed to connect to ldb: Unable to open tdb' >&2\n"
	    "\texit 1\n"
	    "fi\n"
	    "exec cat '%s/sam/directory.ldif'\n",
	    T, T, T, T);
	p = path("sam/bin/ldbsearch");
	pt_write(p, fake);
	chmod(p, 0755);
	free(p);
	free(fake);
	SAM = pt_sh("unshare -m -- sh -c 'mount -t overlay -o "
		    "lowerdir=%s/sam/bin:/usr/bin tl /usr/bin' >/dev/null 2>&1",
		    T) == 0;
}

/* The namespace: the fake ldbsearch, and sam.ldb unless mode is "nodb";
 * with mode "fail", the fake's first call fails. */
static char *samba_setup(const char *mode)
{
	return tl_xasprintf(
	    "set -e; T=$1; shift\n"
	    "mount -t overlay -o lowerdir=\"$T\"/sam/bin:/usr/bin tl /usr/bin\n"
	    "%s"
	    ": >\"$T\"/sam/calls\n"
	    "%s"
	    "exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "
	    "LC_ALL=C \"$@\"\n",
	    strcmp(mode, "nodb")
		? "mount -t overlay -o "
		  "lowerdir=\"$T\"/sam/lib:/var/lib tl /var/lib\n"
		: "",
	    strcmp(mode, "fail") ? "" : ": >\"$T\"/sam/fail-once\n");
}

/* Runs expectations x[0..n) as one batch in the namespace of mode under
 * every shell; each shell's run must call ldbsearch `calls` times. */
static void samba_check(const char *mode, const expect *x, size_t n,
			size_t calls)
{
	const tl_probe **probes = tl_xcalloc(n, sizeof *probes);
	for (size_t i = 0; i < n; i++)
		probes[i] = x[i].p;
	char *setup = samba_setup(mode);
	for (size_t k = 0; k < sizeof shells / sizeof *shells; k++) {
		const shell *sh = &shells[k];
		if (access(sh->argv[0], X_OK))
			continue;
		tl_probe_batch b;
		tl_error err;
		tl_probe_batch_opts o = {.lab = &LAB, .machine = "local"};
		if (tl_probe_batch_compile(&b, probes, n, &o, &err) < 0) {
			fprintf(stderr, "compile: %s\n", err.msg);
			tl_test_failures_++;
			break;
		}
		size_t len;
		char *out = run_agent_in(sh, &b, setup, &len);
		tl_probe_result *r = tl_xcalloc(n, sizeof *r);
		tl_probe_batch_parse(&b, out, len, NULL, r);
		for (size_t i = 0; i < n; i++) {
			check_result(sh->name, i, &x[i], &r[i]);
			/* every probe names the one read in its evidence */
			if (calls > 0 && r[i].status == TL_PROBE_DONE)
				CHECK_CONTAINS(
				    r[i].evidence_cmd,
				    "ldbsearch -H "
				    "/var/lib/samba/private/sam.ldb");
		}
		if (getenv("TL_TEST_DUMP"))
			for (size_t i = 0; i < n; i++)
				printf(
				    "%s | %s | %s ok=%d | cmd: %s | value: "
				    "%s | out: %s | error: %s\n",
				    sh->name, x[i].label,
				    tl_probe_status_name(r[i].status), r[i].ok,
				    r[i].evidence_cmd ? r[i].evidence_cmd : "",
				    r[i].value ? r[i].value : "",
				    r[i].evidence_out ? r[i].evidence_out : "",
				    r[i].error ? r[i].error : "");
		char *log = path("sam/calls");
		size_t loglen = 0;
		tl_error lerr;
		char *text = tl_file_read(log, 1u << 20, &loglen, &lerr);
		size_t lines = 0;
		for (size_t i = 0; text && i < loglen; i++)
			lines += text[i] == '\n';
		if (lines != calls)
			fprintf(stderr,
				"  ^ %s, mode %s: %zu ldbsearch calls, "
				"%zu expected\n",
				sh->name, mode, lines, calls);
		CHECK(lines == calls);
		/* the read asks for named attributes, never for secrets */
		if (text && lines) {
			CHECK_CONTAINS(text,
				       "-H /var/lib/samba/private/sam.ldb");
			CHECK_CONTAINS(text, " sAMAccountName ");
			CHECK(!strstr(text, "unicodePwd") &&
			      !strstr(text, "supplementalCredentials") &&
			      !strstr(text, " *"));
		}
		free(text);
		free(log);
		tl_probe_results_free(r, n);
		free(out);
		tl_probe_batch_clear(&b);
	}
	free(setup);
	free(probes);
}

/* Appends an expectation to x (n of them so far). */
static expect *sx(expect *x, size_t *n, const char *kind, const char *args,
		  tl_probe_status st, int ok)
{
	expect *e = &x[(*n)++];
	*e = (expect){.label = args,
		      .p = pr_make(kind, "local", NULL, args, 20),
		      .status = st,
		      .ok = ok,
		      .exit_code = -2,
		      .http = -2};
	return e;
}

TL_TEST(test_samba_directory)
{
	if (!SAM) {
		printf("skip test_samba_directory: no unshare or overlayfs "
		       "here\n");
		return;
	}
	expect x[32];
	size_t n = 0;
	expect *e;
	e = sx(x, &n, "samba.user", "{\"name\":\"jmorel\"}", TL_PROBE_DONE, 1);
	e->value_has = "dn: CN=Jean Morel,OU=Direction,OU=Morel,DC=morel,"
		       "DC=lan\n";
	/* any case; base64 values decoded; a secret never shown, a
	 * control character never decoded */
	e = sx(x, &n, "samba.user", "{\"name\":\"SDUPONT\"}", TL_PROBE_DONE, 1);
	e->value_has = "\ndepartment: Comptabilit\xc3\xa9\n";
	e->value_lacks = "unicodePwd";
	e = sx(x, &n, "samba.user", "{\"name\":\"sdupont\"}", TL_PROBE_DONE, 1);
	e->value_has = "\nmail: sophie.dupont@laboratoires-morel.fr\n";
	e->value_lacks = "supplementalCredentials";
	e = sx(x, &n, "samba.user", "{\"name\":\"kbenali\"}", TL_PROBE_DONE, 1);
	e->value_has =
	    "\ndescription:: bGlnbmUgMQptYWlsOiBmYXV4QGV4ZW1wbGUuZnI=\n";
	e->value_lacks = "mail: faux";
	/* a DN in UTF-8, base64 values folded over two lines */
	e = sx(x, &n, "samba.user", "{\"name\":\"hmartin\"}", TL_PROBE_DONE, 1);
	e->value_has =
	    "dn: CN=H\xc3\xa9l\xc3\xa8ne Martin,OU=Qualit\xc3\xa9,OU=Morel,"
	    "DC=morel,DC=lan\n";
	e = sx(x, &n, "samba.user", "{\"name\":\"nobody\"}", TL_PROBE_DONE, 0);
	e->value = "";
	/* a computer is not a user (samba-tool user show says the same) */
	sx(x, &n, "samba.user", "{\"name\":\"PC-COMPTA$\"}", TL_PROBE_DONE, 0);
	e = sx(x, &n, "samba.group",
	       "{\"name\":\"GG_Comptabilite\",\"members\":[\"sdupont\"]}",
	       TL_PROBE_DONE, 1);
	e->value = "sdupont";
	e = sx(x, &n, "samba.group",
	       "{\"name\":\"dl_compta_rw\",\"members\":[\"GG_Comptabilite\"]}",
	       TL_PROBE_DONE, 1);
	e->value = "GG_Comptabilite";
	/* nested groups are listed by name, not expanded */
	e = sx(x, &n, "samba.group",
	       "{\"name\":\"DL_Compta_R\",\"members\":[\"jmorel\"]}",
	       TL_PROBE_DONE, 0);
	e->value = "GG_Direction\nhmartin";
	/* members by primaryGroupID too, as samba-tool group listmembers */
	e = sx(x, &n, "samba.group",
	       "{\"name\":\"Domain Users\",\"members\":[\"jmorel\","
	       "\"kbenali\",\"Administrator\"]}",
	       TL_PROBE_DONE, 1);
	e->value_has = "sdupont";
	sx(x, &n, "samba.group", "{\"name\":\"GG_Nothing\"}", TL_PROBE_DONE, 0);
	e = sx(x, &n, "samba.ou", "{\"name\":\"OU=Direction,OU=Morel\"}",
	       TL_PROBE_DONE, 1);
	e->value = "OU=Direction,OU=Morel,DC=morel,DC=lan";
	e = sx(x, &n, "samba.ou", "{\"name\":\"ou=laboratoire, ou=morel\"}",
	       TL_PROBE_DONE, 1);
	e->value = "OU=Laboratoire,OU=Morel,DC=morel,DC=lan";
	e = sx(x, &n, "samba.ou", "{\"name\":\"Qualit\xc3\xa9\"}",
	       TL_PROBE_DONE, 1);
	e->value = "OU=Qualit\xc3\xa9,OU=Morel,DC=morel,DC=lan";
	sx(x, &n, "samba.ou", "{\"name\":\"OU=Morel,OU=Direction\"}",
	   TL_PROBE_DONE, 0);
	e = sx(x, &n, "samba.gpo", "{\"name\":\"GPO_Postes_Securite\"}",
	       TL_PROBE_DONE, 1);
	e->value_has = "\nlinked: OU=Morel,DC=morel,DC=lan";
	e = sx(x, &n, "samba.gpo", "{\"name\":\"Default Domain Policy\"}",
	       TL_PROBE_DONE, 1);
	e->value_has = "\nlinked: DC=morel,DC=lan";
	e->value_lacks = "linked: OU=Morel";
	sx(x, &n, "samba.gpo", "{\"name\":\"GPO_Absente\"}", TL_PROBE_DONE, 0);
	e = sx(x, &n, "samba.object", "{\"name\":\"pc-compta$\"}",
	       TL_PROBE_DONE, 1);
	e->value_has = "dn: CN=PC-COMPTA,OU=Ordinateurs,OU=Morel,DC=morel,"
		       "DC=lan\n";
	e = sx(x, &n, "samba.object", "{\"name\":\"GG_Comptabilite\"}",
	       TL_PROBE_DONE, 1);
	e->value_has = "\ngroupType: -2147483646\n";
	e = sx(x, &n, "samba.object", "{\"name\":\"dc=morel, DC=LAN\"}",
	       TL_PROBE_DONE, 1);
	e->value_has = "\nminPwdLength: 12\n";
	e = sx(x, &n, "samba.object", "{\"name\":\"CN=Users,DC=morel,DC=lan\"}",
	       TL_PROBE_DONE, 1);
	e->value_has = "dn: CN=Users,DC=morel,DC=lan\n";
	sx(x, &n, "samba.object", "{\"name\":\"DC=autre,DC=lan\"}",
	   TL_PROBE_DONE, 0);
	samba_check("full", x, n, 1);

	/* a failed read is not kept: the next probe reads again */
	n = 0;
	e = sx(x, &n, "samba.user", "{\"name\":\"jmorel\"}", TL_PROBE_ERROR, 0);
	e->error_has = "ldbsearch could not read /var/lib/samba/private/"
		       "sam.ldb: Failed to connect";
	e = sx(x, &n, "samba.user", "{\"name\":\"jmorel\"}", TL_PROBE_DONE, 1);
	e->value_has = "OU=Direction";
	sx(x, &n, "samba.group", "{\"name\":\"GG_Direction\"}", TL_PROBE_DONE,
	   1);
	samba_check("fail", x, n, 2);

	/* no sam.ldb: not a domain controller (yet), nothing read */
	n = 0;
	e = sx(x, &n, "samba.user", "{\"name\":\"jmorel\"}", TL_PROBE_DONE, 0);
	e->value = "";
	sx(x, &n, "samba.ou", "{\"name\":\"OU=Morel\"}", TL_PROBE_DONE, 0);
	samba_check("nodb", x, n, 0);
}

int tl_main_(int argc, char **argv);
#define main tl_main_
TL_TESTS(T(test_busybox_sh), T(test_dash), T(test_bash), T(test_unknown_kind),
	 T(test_samba_directory))
#undef main

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: the agent tests run as root (su, "
				"mount namespaces)\n");
		return 77;
	}
	fixtures();
	samba_fixtures();
	expectations();
	printf("%zu probes per shell%s\n", NE,
	       NS ? "" : " (no unshare: fixtures at system paths skipped)");
	int rc = tl_main_(argc, argv);
	close(lfd_tcp);
	close(lfd_udp);
	kill_kids();
	return rc;
}
