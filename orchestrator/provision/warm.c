/*
 * warm.c: warm starts. Under software emulation a Debian guest takes
 * 25 s (idle host) to 115 s (three booting beside a proof) to answer SSH;
 * restoring the memory of a machine that already booted takes a second or
 * two. So, for images that allow it (image field "warm_start"), a host
 * keeps one template per machine shape: the disk and the memory state of
 * a machine of that image booted once, settled (systemd finished its
 * start), paused and saved. A machine of that shape then gets an overlay
 * backed by the template's disk (itself backed by the image's) and its
 * first start restores the template's memory instead of booting.
 *
 * What a template is keyed by: everything that must match for QEMU to
 * load the state into the new machine's process: the domain XML tssrlab
 * writes for the shape (image paths, memory, vCPUs, number of lab NICs,
 * machine type, devices; instance names replaced by placeholders), the
 * disk's virtual size, the accelerator, and the QEMU and libvirt
 * versions. A change of any of them (a rebuilt image, an upgraded QEMU, a
 * new device in xml.c) means another key, so another template. The old
 * one is removed after the next build (warm_prune_host) once it is known
 * stale (its shape file names an image folder that is no longer the
 * image's, or other QEMU or libvirt versions), unused for an hour, and
 * backing no volume. A change that leaves no such trace (xml.c alone)
 * is caught by time: any template not chosen for 14 days and backing no
 * volume goes too (rebuilding one costs about 30 s).
 *
 * How: the template is a transient domain with the shape's XML (its lab
 * NICs on a private network of its own), waited for like any machine,
 * settled, paused, and migrated by QEMU to a Unix socket this process
 * listens on (QMP "migrate", through libvirt's QEMU passthrough): the
 * stream is the state file. A warm start defines the machine once with
 * "-incoming unix:SOCKET" added, starts it (QEMU waits, paused), defines it
 * back without (every later start is a cold boot of its own disk), streams
 * the state file into the socket, waits for QEMU to report the migration
 * completed, and resumes. libvirt's own save/restore cannot be used: it
 * refuses a restore under another name and UUID, which every clone has.
 *
 * A restored machine is its template until personalisation: same
 * hostname, clock stopped at the save, MAC addresses of the template's
 * NICs (QEMU restores them with the device state), same random pool and
 * machine id. personalise.c fixes each (m->warm_state set): clock, a
 * reseeded random pool, the lab NICs' own MAC addresses, a new machine id,
 * then as for every machine the hostname and new SSH host keys.
 *
 * Anything that goes wrong (template build, restore) falls back to a cold
 * boot and is logged: a warm start saves time, it never decides whether a
 * machine comes up. Local qemu hosts only (the state file is read and the
 * socket reached on this machine); loopback access only (the management
 * NIC is part of the template's devices).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <spawn.h>
#include <unistd.h>

#include <libvirt/libvirt-qemu.h>

#include "prov-internal.h"

extern char **environ;

/* Bumped when what a template holds changes meaning (not its inputs:
 * those are in the key already). */
#define WARM_FORMAT "tssrlab-warm-1"

/* A stale template is removed once it has not been chosen for this long
 * (a lookup that raced with the change that made it stale has long
 * created its overlay by then). */
#define WARM_PRUNE_IDLE_S 3600
#define WARM_PRUNE_UNUSED_S (14 * 86400)

bool tl_prov_warm_enabled(const tl_prov_host *h, const tl_image *im,
			  tl_prov_access access)
{
	return h && im && im->warm_start && h->warm_dir && *h->warm_dir &&
	       h->local && !strncmp(h->uri, "qemu", 4) &&
	       access == TL_PROV_ACCESS_LOOPBACK;
}

/* ---- the shape's machine and its XML ---- */

typedef struct shape {
	int vcpus, memory_mib;
	size_t n_nics;
	unsigned long long capacity;
} shape;

/* A one-machine instance of the shape: session "warm", instance inst, the
 * lab NICs on network "n", SSH forwarded from port. Free with
 * shape_fini. */
typedef struct shape_inst {
	tl_prov_instance inst;
	tl_prov_machine m;
	tl_prov_forward fw;
} shape_inst;

static void shape_init(shape_inst *si, const tl_prov_host *h,
		       const tl_prov_image *img, const shape *sh,
		       const char *inst, const char *disk, int port)
{
	memset(si, 0, sizeof *si);
	si->inst.session = (char *)"warm";
	si->inst.instance = (char *)inst;
	si->inst.lab_id = (char *)"warm";
	si->inst.access = TL_PROV_ACCESS_LOOPBACK;
	si->inst.machines = &si->m;
	si->inst.n_machines = 1;
	tl_prov_machine *m = &si->m;
	m->id = (char *)"m";
	m->hostname = (char *)"tssrlab-warm";
	m->image_id = img->id;
	m->domain = tl_prov_name("warm", inst, "m", NULL);
	m->volume = (char *)"disk.qcow2";
	m->volume_path = (char *)disk;
	m->base_disk = img->disk;
	m->capacity = sh->capacity;
	m->vcpus = sh->vcpus;
	m->memory_mib = sh->memory_mib;
	m->login_user = img->login_user;
	m->login_port = img->login_port;
	m->ssh_host = h->connect_address;
	m->ssh_port = port;
	si->fw.guest_port = img->login_port;
	si->fw.host_port = port;
	m->forwards = &si->fw;
	m->n_forwards = 1;
	m->nics = tl_xcalloc(sh->n_nics + 1, sizeof *m->nics);
	m->n_nics = sh->n_nics;
	for (size_t k = 0; k < sh->n_nics; k++) {
		m->nics[k].network = (char *)"n";
		m->nics[k].mac = tl_xmalloc(18);
		tl_prov_mac("warm", inst, "m", (unsigned)k, m->nics[k].mac);
	}
}

static void shape_fini(shape_inst *si)
{
	for (size_t k = 0; k < si->m.n_nics; k++)
		free(si->m.nics[k].mac);
	free(si->m.nics);
	free(si->m.domain);
	free(si->m.host_fp);
	memset(si, 0, sizeof *si);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The template folder's name for the shape on h: readable shape, then a
 * hash of everything QEMU must find identical. New string or NULL. */
static char *shape_key(tl_prov_host *h, const tl_prov_image *img,
		       const shape *sh, tl_error *err)
{
	shape_inst si;
	shape_init(&si, h, img, sh, "key", "/key/disk.qcow2", 1);
	/* where the serial console is logged does not matter to QEMU */
	tl_prov_host hk = *h;
	hk.console_log_dir = NULL;
	TL_AUTOFREE char *xml =
	    tl_prov_xml_domain(&hk, &si.inst, &si.m, img, err);
	shape_fini(&si);
	if (!xml)
		return NULL;
	unsigned long hv = 0, lib = 0;
	if (virConnectGetVersion(h->conn, &hv) < 0 ||
	    virConnectGetLibVersion(h->conn, &lib) < 0) {
		tl_prov_lv_error(err, "host %s: QEMU and libvirt versions",
				 h->name);
		return NULL;
	}
	char extra[160];
	snprintf(extra, sizeof extra, "%s cap=%llu accel=%d qemu=%lu lib=%lu",
		 WARM_FORMAT, sh->capacity, (int)h->accel, hv, lib);
	uint64_t a = fnv1a(fnv1a(0xcbf29ce484222325ull, xml), extra);
	uint64_t b = fnv1a(fnv1a(0x84222325cbf29ce4ull, extra), xml);
	return tl_xasprintf("%s-m%d-c%d-n%zu-%016llx%08llx", img->id,
			    sh->memory_mib, sh->vcpus, sh->n_nics,
			    (unsigned long long)a,
			    (unsigned long long)(b >> 32));
}

static bool file_nonempty(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	TL_AUTOFREE char *p = tl_xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static void rm_rf(const char *dir)
{
	static const char *const files[] = {"disk.qcow2", "state", "shape",
					    "used", "migrate.sock", NULL};
	for (size_t i = 0; files[i]; i++) {
		TL_AUTOFREE char *f = tl_xasprintf("%s/%s", dir, files[i]);
		unlink(f);
	}
	rmdir(dir);
}

/* Runs argv (PATH lookup), waits; 0 when it exits 0. */
static int run_cmd(char *const argv[], tl_error *err)
{
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (rc != 0)
		return tl_error_set(err, "%s: %s", argv[0], strerror(rc));
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return tl_error_set(err, "%s: waitpid: %s", argv[0],
					    strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return tl_error_set(err, "%s exited with status %d", argv[0],
				    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* A TCP port free on h's address right now (the kernel's choice) and
 * outside the host's forwarded range: templates are built outside the
 * placement lock, so they must never take a port an instance may be
 * planned on. */
static int free_port(const tl_prov_host *h, tl_error *err)
{
	for (int tries = 0; tries < 64; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t len = sizeof sa;
		if (fd < 0 ||
		    inet_pton(AF_INET, h->connect_address, &sa.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
			tl_error_set(err, "a free port on %s: %s",
				     h->connect_address, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		int port = ntohs(sa.sin_port);
		if (port < h->port_min || port > h->port_max)
			return port;
	}
	return tl_error_set(err,
			    "no free port on %s outside the instances' range "
			    "%d..%d",
			    h->connect_address, h->port_min, h->port_max);
}

/* QMP through libvirt; the status of "query-migrate" ("completed",
 * "failed", ...) into ret. */
static int migrate_status(virDomainPtr dom, char ret[32])
{
	char *out = NULL;
	ret[0] = '\0';
	if (virDomainQemuMonitorCommand(dom, "{\"execute\":\"query-migrate\"}",
					&out, 0) < 0)
		return -1;
	const char *s = strstr(out, "\"status\":");
	if (s) {
		s += strlen("\"status\":");
		while (*s == ' ' || *s == '"')
			s++;
		size_t n = strcspn(s, "\"");
		snprintf(ret, 32, "%.*s", (int)(n < 31 ? n : 31), s);
	}
	free(out);
	return 0;
}

/* Waits for an outgoing or incoming migration to end: 0 when completed. */
static int migrate_wait(virDomainPtr dom, int timeout_s, tl_error *err)
{
	double deadline = tl_now_ms() + timeout_s * 1000.0;
	char st[32] = "";
	while (tl_now_ms() < deadline) {
		if (migrate_status(dom, st) < 0)
			return tl_prov_lv_error(err, "query-migrate");
		if (!strcmp(st, "completed"))
			return 0;
		if (!strcmp(st, "failed") || !strcmp(st, "cancelled"))
			return tl_error_set(err, "migration %s", st);
		tl_sleep_ms(100);
	}
	return tl_error_set(err, "migration not done after %d s (status %s)",
			    timeout_s, st[0] ? st : "none");
}

static int unix_addr(struct sockaddr_un *sa, const char *path, tl_error *err)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return tl_error_set(err, "socket path too long: %s", path);
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

typedef struct receiver {
	int lfd;
	const char *out;
	int rc;
	unsigned long long bytes;
	tl_error err;
} receiver;

/* Accepts QEMU's connection and writes the stream to the state file. */
static void *receive(void *arg)
{
	receiver *r = arg;
	r->rc = -1;
	int c = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		tl_error_set(&r->err, "accept: %s", strerror(errno));
		return NULL;
	}
	int fd = open(r->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		tl_error_set(&r->err, "%s: %s", r->out, strerror(errno));
		close(c);
		return NULL;
	}
	enum { BUF = 1 << 20 };
	TL_AUTOFREE char *buf = tl_xmalloc(BUF);
	for (;;) {
		ssize_t n = read(c, buf, BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tl_error_set(&r->err, "reading the stream: %s",
				     strerror(errno));
			break;
		}
		if (n == 0) {
			r->rc = 0;
			break;
		}
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(fd, buf + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				tl_error_set(&r->err, "%s: %s", r->out,
					     strerror(errno));
				n = -1;
				break;
			}
			o += w;
		}
		if (n < 0)
			break;
		r->bytes += (unsigned long long)n;
	}
	if (fsync(fd) < 0 && r->rc == 0)
		r->rc = tl_error_set(&r->err, "%s: fsync: %s", r->out,
				     strerror(errno));
	close(fd);
	close(c);
	return NULL;
}

/* Boots the shape in tmp, settles it, saves it into tmp/state. */
static int template_build(tl_prov *p, tl_prov_host *h,
			  const tl_prov_image *img, const shape *sh,
			  const char *key, const char *tmp, tl_error *err)
{
	TL_AUTOFREE char *disk = tl_xasprintf("%s/disk.qcow2", tmp);
	TL_AUTOFREE char *state = tl_xasprintf("%s/state", tmp);
	TL_AUTOFREE char *sock = tl_xasprintf("%s/migrate.sock", tmp);
	char size[32];
	snprintf(size, sizeof size, "%llu", sh->capacity);
	char *qimg[] = {"qemu-img",	"create", "-q", "-f",
			"qcow2",	"-b",	  img->disk,
			"-F",		img->disk_format ? img->disk_format
							 : "qcow2",
			disk,		size,	  NULL};
	if (run_cmd(qimg, err) < 0)
		return -1;
	int port = free_port(h, err);
	if (port < 0)
		return -1;
	/* the instance part of the names: the key's hash, so that two
	 * shapes built at once never share a network or a bridge */
	const char *hash = strrchr(key, '-') + 1;
	char inst[16], bridge[16];
	snprintf(inst, sizeof inst, "w%.12s", hash);
	snprintf(bridge, sizeof bridge, "tlw%.10s", hash);
	shape_inst si;
	shape_init(&si, h, img, sh, inst, disk, port);
	int rc = -1;
	virDomainPtr dom = NULL;
	virNetworkPtr net = NULL;
	int lfd = -1;
	TL_AUTOFREE char *cmd = NULL, *info = NULL, *shape_file = NULL;
	TL_AUTOFREE char *netname = tl_prov_name("warm", inst, "n", NULL);
	TL_AUTOFREE char *xml = tl_prov_xml_domain(h, &si.inst, &si.m, img, err);
	if (!xml)
		goto out;
	if (sh->n_nics) {
		tl_buf nb;
		tl_buf_init(&nb, TL_PROV_XML_LIMIT);
		tl_prov_xml_printf(&nb,
				   "<network>\n  <name>%s</name>\n"
				   "  <bridge name='%s' stp='off' "
				   "delay='0'/>\n</network>\n",
				   netname, bridge);
		TL_AUTOFREE char *nx = tl_buf_steal(&nb);
		net = virNetworkCreateXML(h->conn, nx);
		if (!net) {
			tl_prov_lv_error(err, "network %s", netname);
			goto out;
		}
	}
	double t0 = tl_now_ms();
	dom = virDomainCreateXML(h->conn, xml, 0);
	if (!dom) {
		tl_prov_lv_error(err, "domain %s", si.m.domain);
		goto out;
	}
	if (tl_prov_wait_ready(p, h, &si.m, t0, p->ready_timeout_s, err) < 0)
		goto out;
	double booted = tl_now_ms();
	/* settled: every unit of the boot has started (the clones must not
	 * each finish the template's boot), and written out */
	tl_ssh_target t;
	tl_prov_machine_ssh_target(p, &si.m, &t);
	tl_ssh_result r = {0};
	tl_error e = {{0}};
	int src = tl_ssh_run(&t,
			     "if [ -d /run/systemd/system ]; then "
			     "systemctl is-system-running --wait "
			     ">/dev/null 2>&1 || true; fi; sync",
			     NULL, 0, 300, 4096, &r, &e);
	tl_ssh_result_clear(&r);
	if (src != TL_SSH_OK) {
		tl_error_set(err, "settling: %s", e.msg);
		goto out;
	}
	struct sockaddr_un sa;
	if (unix_addr(&sa, sock, err) < 0)
		goto out;
	unlink(sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(lfd, 1) < 0) {
		tl_error_set(err, "%s: %s", sock, strerror(errno));
		goto out;
	}
	if (virDomainSuspend(dom) < 0) {
		tl_prov_lv_error(err, "suspending %s", si.m.domain);
		goto out;
	}
	receiver rv = {.lfd = lfd, .out = state};
	pthread_t th;
	if (pthread_create(&th, NULL, receive, &rv) != 0) {
		tl_error_set(err, "pthread_create failed");
		goto out;
	}
	cmd = tl_xasprintf(
	    "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:%s\"}}",
	    sock);
	char *out = NULL;
	int mrc = virDomainQemuMonitorCommand(dom, cmd, &out, 0);
	free(out);
	if (mrc < 0) {
		tl_prov_lv_error(err, "migrate to %s", sock);
		/* unblock the receiver */
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c >= 0) {
			connect(c, (struct sockaddr *)&sa, sizeof sa);
			close(c);
		}
		pthread_join(th, NULL);
		goto out;
	}
	int wrc = migrate_wait(dom, 600, err);
	/* QEMU closes its end when done (or failed): the receiver ends */
	if (wrc < 0) {
		virDomainDestroy(dom);
		pthread_join(th, NULL);
		goto out;
	}
	pthread_join(th, NULL);
	if (rv.rc < 0) {
		tl_error_set(err, "state file: %s", rv.err.msg);
		goto out;
	}
	unsigned long hv = 0, lib = 0;
	virConnectGetVersion(h->conn, &hv);
	virConnectGetLibVersion(h->conn, &lib);
	/* "image", "qemu_version" and "libvirt_version" are read back by
	 * template_stale */
	info = tl_xasprintf(
	    "image %s (%s)\nmemory_mib %d\nvcpus %d\nlab_nics %zu\n"
	    "capacity %llu\nqemu_version %lu\nlibvirt_version %lu\n"
	    "boot_to_ssh_s %.1f\nsettled_s %.1f\nstate_bytes %llu\n",
	    img->id, img->folder, sh->memory_mib, sh->vcpus, sh->n_nics,
	    sh->capacity, hv, lib, (booted - t0) / 1000.0,
	    (tl_now_ms() - t0) / 1000.0, rv.bytes);
	shape_file = tl_xasprintf("%s/shape", tmp);
	FILE *f = fopen(shape_file, "w");
	if (f) {
		fputs(info, f);
		fclose(f);
	}
	tl_log(TL_LOG_INFO, "warm.template",
	       "host=%s key=%s boot_s=%.1f total_s=%.1f state_mib=%.0f",
	       h->name, key, (booted - t0) / 1000.0,
	       (tl_now_ms() - t0) / 1000.0, rv.bytes / 1048576.0);
	rc = 0;
out:
	if (lfd >= 0)
		close(lfd);
	unlink(sock);
	if (dom) {
		virDomainDestroy(dom);
		virDomainFree(dom);
	}
	if (net) {
		virNetworkDestroy(net);
		virNetworkFree(net);
	}
	shape_fini(&si);
	/* the disk is the clones' backing file from now on */
	if (rc == 0)
		chmod(disk, 0444);
	return rc;
}

static void lm_shape(const tl_lab_machine *lm, const tl_prov_image *img,
		     shape *sh)
{
	/* as placement.c plans them */
	sh->vcpus = lm->vcpus > 0 ? lm->vcpus : 1;
	sh->memory_mib = lm->memory_mib > 0 ? lm->memory_mib
			 : lm->image && lm->image->min_memory_mib > 0
			     ? lm->image->min_memory_mib
			     : 256;
	sh->n_nics = lm->n_nics;
	sh->capacity = img->disk_capacity;
	unsigned long long want = (unsigned long long)lm->disk_gib << 30;
	if (want > sh->capacity)
		sh->capacity = want;
}

/* The folder of the shape's template; new string or NULL. */
static char *template_dir(tl_prov_host *h, const tl_prov_image *img,
			  const tl_prov_machine *m, tl_error *err)
{
	shape sh = {.vcpus = m->vcpus,
		    .memory_mib = m->memory_mib,
		    .n_nics = m->n_nics,
		    .capacity = m->capacity};
	TL_AUTOFREE char *key = shape_key(h, img, &sh, err);
	return key ? tl_xasprintf("%s/%s", h->warm_dir, key) : NULL;
}

char *tl_prov_warm_lookup(tl_prov_host *h, const tl_prov_image *img,
			  const tl_prov_machine *m)
{
	tl_error e = {{0}};
	TL_AUTOFREE char *dir = template_dir(h, img, m, &e);
	if (!dir)
		return NULL;
	TL_AUTOFREE char *state = tl_xasprintf("%s/state", dir);
	TL_AUTOFREE char *disk = tl_xasprintf("%s/disk.qcow2", dir);
	if (!file_nonempty(state) || !file_nonempty(disk))
		return NULL;
	/* when it was last chosen: warm_prune_host leaves recent ones alone */
	TL_AUTOFREE char *used = tl_xasprintf("%s/used", dir);
	int fd = open(used, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	return TL_TAKE_PTR(dir);
}

/* ---- removing templates nobody will use again ---- */

/* The value of "key value" in the shape file's text; new string or NULL. */
static char *shape_value(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *l = text; *l;) {
		size_t len = strcspn(l, "\n");
		if (len > n && !strncmp(l, key, n) && l[n] == ' ')
			return tl_xstrndup(l + n + 1, len - n - 1);
		l += len + (l[len] == '\n');
	}
	return NULL;
}

/* Why the template in dir can no longer be chosen on h (into why), or
 * false when it may be: its image was rebuilt or removed, or QEMU or
 * libvirt changed (all part of the key, so no lookup will find it
 * again). Only what the shape file positively says counts; a template
 * without one is not judged. */
static bool template_stale(tl_prov_host *h, const char *dir, char *why,
			   size_t n)
{
	TL_AUTOFREE char *path = tl_xasprintf("%s/shape", dir);
	tl_error e = {{0}};
	TL_AUTOFREE char *text = tl_file_read(path, 1 << 16, NULL, &e);
	if (!text)
		return false;
	TL_AUTOFREE char *image = shape_value(text, "image");
	TL_AUTOFREE char *qv = shape_value(text, "qemu_version");
	TL_AUTOFREE char *lv = shape_value(text, "libvirt_version");
	/* "ID (FOLDER)" */
	char *open_p = image ? strstr(image, " (") : NULL;
	size_t ilen = image ? strlen(image) : 0;
	if (open_p && ilen && image[ilen - 1] == ')') {
		image[ilen - 1] = '\0';
		*open_p = '\0';
		const char *folder = open_p + 2;
		TL_AUTOFREE char *link =
		    tl_xasprintf("%s/%s", h->images_dir, image);
		char real[PATH_MAX];
		if (!realpath(link, real)) {
			snprintf(why, n, "image %.40s is gone", image);
			return true;
		}
		if (strcmp(real, folder)) {
			snprintf(why, n, "image %.40s was rebuilt (%.200s, now %.200s)",
				 image, folder, real);
			return true;
		}
	}
	unsigned long hv = 0, lib = 0;
	if (virConnectGetVersion(h->conn, &hv) < 0 ||
	    virConnectGetLibVersion(h->conn, &lib) < 0)
		return false;
	if (qv && strtoul(qv, NULL, 10) != hv) {
		snprintf(why, n, "QEMU %s, now %lu", qv, hv);
		return true;
	}
	if (lv && strtoul(lv, NULL, 10) != lib) {
		snprintf(why, n, "libvirt %s, now %lu", lv, lib);
		return true;
	}
	return false;
}

/* Whether disk may back a volume of h: true with the volume's name in
 * ret (n bytes), or with why it cannot be known when a pool cannot be
 * listed (the template is kept); false when no volume uses it. */
static bool template_backs(tl_prov_host *h, const char *disk, char *ret,
			   size_t n)
{
	virStoragePoolPtr *pools = NULL;
	int np = virConnectListAllStoragePools(
	    h->conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
	if (np < 0) {
		snprintf(ret, n, "cannot list the storage pools");
		return true;
	}
	TL_AUTOFREE char *want = tl_xasprintf("<path>%s</path>", disk);
	bool found = false;
	for (int i = 0; i < np; i++) {
		virStorageVolPtr *vols = NULL;
		int nv = virStoragePoolListAllVolumes(pools[i], &vols, 0);
		if (nv < 0) {
			snprintf(ret, n, "cannot list pool %s",
				 virStoragePoolGetName(pools[i]));
			found = true;
		}
		for (int k = 0; k < nv; k++) {
			char *xml = found ? NULL
					  : virStorageVolGetXMLDesc(vols[k], 0);
			const char *bs = xml ? strstr(xml, "<backingStore>")
					     : NULL;
			if (bs && strstr(bs, want)) {
				snprintf(ret, n, "volume %s",
					 virStorageVolGetName(vols[k]));
				found = true;
			}
			free(xml);
			virStorageVolFree(vols[k]);
		}
		free(vols);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	return found;
}

/* Seconds since the template was last chosen (or built). */
static double template_idle_s(const char *dir)
{
	static const char *const files[] = {"used", "shape", "state", NULL};
	double newest = 0;
	for (size_t i = 0; files[i]; i++) {
		TL_AUTOFREE char *f = tl_xasprintf("%s/%s", dir, files[i]);
		struct stat st;
		if (stat(f, &st) == 0 && st.st_mtime > newest)
			newest = (double)st.st_mtime;
	}
	return (double)time(NULL) - newest;
}

static unsigned long long dir_bytes(const char *dir)
{
	static const char *const files[] = {"disk.qcow2", "state", NULL};
	unsigned long long total = 0;
	for (size_t i = 0; files[i]; i++) {
		TL_AUTOFREE char *f = tl_xasprintf("%s/%s", dir, files[i]);
		struct stat st;
		if (stat(f, &st) == 0)
			total += (unsigned long long)st.st_blocks * 512;
	}
	return total;
}

/* Removes h's templates backing no volume that no lookup can choose any
 * more (stale) and were not chosen for idle_s, or that were not chosen
 * for unused_s (when > 0), stale or not. Number removed. */
static size_t warm_prune_host(tl_prov_host *h, int idle_s, int unused_s)
{
	DIR *d = opendir(h->warm_dir);
	if (!d)
		return 0;
	size_t removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		if (name[0] == '.' || (len > 4 && !strcmp(name + len - 4, ".tmp")) ||
		    (len > 5 && !strcmp(name + len - 5, ".lock")))
			continue;
		TL_AUTOFREE char *dir = tl_xasprintf("%s/%s", h->warm_dir, name);
		struct stat st;
		char why[512] = "", user[256] = "";
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		double idle = template_idle_s(dir);
		if (unused_s > 0 && idle >= unused_s)
			snprintf(why, sizeof why, "not chosen for %.0f days",
				 idle / 86400);
		else if (!template_stale(h, dir, why, sizeof why) ||
			 idle < idle_s)
			continue;
		TL_AUTOFREE char *disk = tl_xasprintf("%s/disk.qcow2", dir);
		if (template_backs(h, disk, user, sizeof user)) {
			tl_log(TL_LOG_INFO, "warm.prune",
			       "host=%s key=%s kept=1 why=\"%s\" backs=\"%s\"",
			       h->name, name, why, user);
			continue;
		}
		/* not while a process builds it */
		TL_AUTOFREE char *lock = tl_xasprintf("%s.lock", dir);
		int fd = open(lock, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;
		}
		unsigned long long bytes = dir_bytes(dir);
		rm_rf(dir);
		bool gone = access(dir, F_OK) < 0;
		if (gone)
			unlink(lock);
		if (fd >= 0)
			close(fd);
		tl_log(gone ? TL_LOG_INFO : TL_LOG_WARN, "warm.prune",
		       "host=%s key=%s removed=%d why=\"%s\" freed_mib=%.0f",
		       h->name, name, gone, why,
		       gone ? bytes / 1048576.0 : 0.0);
		removed += gone;
	}
	closedir(d);
	return removed;
}

int tl_prov_warm_prune(tl_prov *p, int idle_s, int unused_s)
{
	size_t removed = 0;
	for (size_t i = 0; i < p->n_hosts; i++) {
		tl_prov_host *h = p->hosts[i];
		if (h->warm_dir && *h->warm_dir && h->local &&
		    !strncmp(h->uri, "qemu", 4))
			removed += warm_prune_host(h, idle_s, unused_s);
	}
	return (int)removed;
}

int tl_prov_warm_ensure(tl_prov *p, tl_prov_host *h, const tl_lab_machine *lm,
			tl_error *err)
{
	pthread_mutex_lock(&p->mu);
	const tl_prov_image *img = tl_prov_image_resolve(h, lm->image, err);
	pthread_mutex_unlock(&p->mu);
	if (!img)
		return -1;
	shape sh;
	lm_shape(lm, img, &sh);
	TL_AUTOFREE char *key = shape_key(h, img, &sh, err);
	if (!key)
		return -1;
	TL_AUTOFREE char *dir = tl_xasprintf("%s/%s", h->warm_dir, key);
	TL_AUTOFREE char *state = tl_xasprintf("%s/state", dir);
	if (file_nonempty(state))
		return 0;
	if (mkdir_p(h->warm_dir, 0755) < 0)
		return tl_error_set(err, "warm templates: %s: %s",
				    h->warm_dir, strerror(errno));
	/* one builder per shape across processes; the others wait and
	 * find it built */
	TL_AUTOFREE char *lock = tl_xasprintf("%s/%s.lock", h->warm_dir, key);
	int fd = open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return tl_error_set(err, "%s: %s", lock, strerror(errno));
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return tl_error_set(err, "%s: flock: %s", lock,
					    strerror(errno));
		}
	int rc = 0;
	if (!file_nonempty(state)) {
		TL_AUTOFREE char *tmp = tl_xasprintf("%s.tmp", dir);
		rm_rf(tmp);
		if (mkdir(tmp, 0755) < 0) {
			rc = tl_error_set(err, "%s: %s", tmp, strerror(errno));
		} else if (template_build(p, h, img, &sh, key, tmp, err) < 0) {
			rc = -1;
			rm_rf(tmp);
		} else if (rename(tmp, dir) < 0) {
			rc = tl_error_set(err, "rename %s: %s", tmp,
					  strerror(errno));
			rm_rf(tmp);
		} else {
			/* a new key is when an old one most likely went
			 * out of use */
			warm_prune_host(h, WARM_PRUNE_IDLE_S,
						WARM_PRUNE_UNUSED_S);
		}
	}
	close(fd);
	if (rc < 0)
		tl_error_prefix(err, "warm template %s", key);
	return rc;
}

/* xml with "<uuid>" after its name and, when incoming, QEMU's -incoming
 * argument in its passthrough block. New string or NULL. */
static char *xml_with(const char *xml, const char *uuid, const char *incoming)
{
	const char *name_end = strstr(xml, "</name>\n");
	const char *cmd_end = strstr(xml, "  </qemu:commandline>");
	if (!name_end || (incoming && !cmd_end))
		return NULL;
	name_end += strlen("</name>\n");
	tl_buf b;
	tl_buf_init(&b, TL_PROV_XML_LIMIT);
	tl_buf_append(&b, xml, (size_t)(name_end - xml));
	tl_prov_xml_printf(&b, "  <uuid>%s</uuid>\n", uuid);
	if (incoming) {
		tl_buf_append(&b, name_end, (size_t)(cmd_end - name_end));
		tl_prov_xml_printf(&b,
				   "    <qemu:arg value='-incoming'/>\n"
				   "    <qemu:arg value='unix:%s'/>\n",
				   incoming);
		tl_buf_puts(&b, cmd_end);
	} else {
		tl_buf_puts(&b, name_end);
	}
	if (b.truncated) {
		tl_buf_clear(&b);
		return NULL;
	}
	return tl_buf_steal(&b);
}

/* Streams the state file into QEMU's incoming socket. */
static int stream_state(const char *sock, const char *state, tl_error *err)
{
	struct sockaddr_un sa;
	if (unix_addr(&sa, sock, err) < 0)
		return -1;
	int c = -1;
	for (int i = 0; i < 200; i++) { /* QEMU listens once started */
		c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		if (c >= 0)
			close(c);
		c = -1;
		tl_sleep_ms(50);
	}
	if (c < 0)
		return tl_error_set(err, "%s: %s", sock, strerror(errno));
	int fd = open(state, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		close(c);
		return tl_error_set(err, "%s: %s", state, strerror(errno));
	}
	enum { BUF = 1 << 20 };
	TL_AUTOFREE char *buf = tl_xmalloc(BUF);
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = tl_error_set(err, "%s: %s", state,
						  strerror(errno));
			break;
		}
		for (ssize_t o = 0; o < n && rc == 0;) {
			ssize_t w = send(c, buf + o, (size_t)(n - o),
					 MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				rc = tl_error_set(err, "%s: %s", sock,
						  strerror(errno));
			else
				o += w;
		}
		if (rc)
			break;
	}
	close(fd);
	close(c);
	return rc;
}

int tl_prov_warm_start(tl_prov_host *h, tl_prov_machine *m, virDomainPtr dom,
		       tl_error *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	if (virDomainGetUUIDString(dom, uuid) < 0)
		return tl_prov_lv_error(err, "domain %s: UUID", m->domain);
	if (mkdir_p("/run/tssrlab", 0700) < 0)
		return tl_error_set(err, "/run/tssrlab: %s", strerror(errno));
	static unsigned counter;
	unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	TL_AUTOFREE char *sock = tl_xasprintf("/run/tssrlab/warm-%ld-%u.sock",
					      (long)getpid(), n);
	unlink(sock);
	TL_AUTOFREE char *cold = xml_with(m->domain_xml, uuid, NULL);
	TL_AUTOFREE char *warm = xml_with(m->domain_xml, uuid, sock);
	if (!cold || !warm)
		return tl_error_set(err, "domain %s: cannot write its warm "
					 "start XML",
				    m->domain);
	TL_AUTO(virDomain) d1 = virDomainDefineXML(h->conn, warm);
	if (!d1)
		return tl_prov_lv_error(err, "domain %s: define", m->domain);
	int crc = virDomainCreate(dom);
	/* every later start is a cold boot of the machine's own disk */
	TL_AUTO(virDomain) d2 = virDomainDefineXML(h->conn, cold);
	if (crc < 0)
		return tl_prov_lv_error(err, "domain %s: start", m->domain);
	if (!d2) {
		tl_prov_lv_error(err, "domain %s: define", m->domain);
		virDomainDestroy(dom);
		return -1;
	}
	if (stream_state(sock, m->warm_state, err) < 0 ||
	    migrate_wait(dom, 300, err) < 0) {
		virDomainDestroy(dom);
		unlink(sock);
		return -1;
	}
	unlink(sock);
	if (virDomainResume(dom) < 0) {
		tl_prov_lv_error(err, "domain %s: resume", m->domain);
		virDomainDestroy(dom);
		return -1;
	}
	return 0;
}

int tl_prov_warm_prepare(tl_prov *p, const tl_lab_machine *lm, tl_error *err)
{
	size_t done = 0;
	for (size_t i = 0; i < p->n_hosts; i++) {
		tl_prov_host *h = p->hosts[i];
		if (!tl_prov_warm_enabled(h, lm->image,
					  TL_PROV_ACCESS_LOOPBACK))
			continue;
		if (tl_prov_warm_ensure(p, h, lm, err) < 0)
			return tl_error_prefix(err, "host %s", h->name), -1;
		done++;
	}
	if (!done)
		return tl_error_set(err,
				    "machine %s: no host where it may start "
				    "warm (image without warm_start, warm starts "
				    "off, or no local qemu host)",
				    lm->id);
	return 0;
}
