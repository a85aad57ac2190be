/*
 * personalise.c: from "the domain runs" to "the machine is the trainee's":
 * waiting for SSH, then hostname, fresh host keys, trainee account.
 *
 * Readiness polls the SSH banner in short slices (with QEMU user
 * networking the host side of a forward accepts at once and a connection
 * made before the guest's network is up waits for slirp's SYN
 * retransmission; a fresh connection notices the guest sooner), longer
 * ones when a connection is accepted but stays silent (banner_wait), then
 * logs in with the management key and runs `true`.
 *
 * Personalisation is one shell script per machine, sent over one SSH
 * session, with the password on stdin (never on a command line). What
 * differs between guest systems lives in one table, tl_prov_guest_os:
 * how to recognise the system, how to add a user, how to regenerate the
 * SSH host keys and restart the server without dropping the session that
 * does it. The script prints the new key's SHA-256 fingerprint; the
 * orchestrator then reconnects pinned to that key and checks the hostname,
 * which proves the key and the personalisation at once.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prov-internal.h"

/* The guest systems tssrlab knows how to personalise. Each entry's
 * commands run under `set -e` with $TL_HOST, $TL_USER (may be empty) set;
 * host_keys must leave the new ed25519 key's fingerprint in $fp. */
typedef struct tl_prov_guest_os {
	const char *name;
	const char *detect;
	const char *add_user;
	const char *host_keys;
} tl_prov_guest_os;

static const tl_prov_guest_os guest_os[] = {
    {
	/* the tiny image: busybox, dropbear, account tools from
	 * /lib/tssrlab/accounts */
	.name = "busybox-dropbear",
	.detect = "[ -x /usr/sbin/dropbear ] && [ ! -x /usr/sbin/sshd ]",
	.add_user = "id \"$TL_USER\" >/dev/null 2>&1 || "
		    "adduser -D -s /bin/sh \"$TL_USER\"",
	.host_keys = "k=/etc/dropbear/dropbear_ed25519_host_key\n"
		     "rm -f \"$k.new\"\n"
		     "dropbearkey -t ed25519 -f \"$k.new\" >/dev/null 2>&1\n"
		     "mv -f \"$k.new\" \"$k\"\n"
		     "fp=$(dropbearkey -y -f \"$k\" | sed -n "
		     "'s/^Fingerprint: //p')\n"
		     /* dropbear reads its key at start: restart the
		      * listener with its own arguments; this session is
		      * a child of it and survives */
		     "pid=$(cat /run/dropbear.pid 2>/dev/null || true)\n"
		     "args=\"-r $k -p 22 -P /run/dropbear.pid\"\n"
		     "if [ -n \"$pid\" ] && [ -r \"/proc/$pid/cmdline\" ]; "
		     "then\n"
		     "  args=$(tr '\\000' ' ' <\"/proc/$pid/cmdline\" | "
		     "sed 's/^[^ ]* //')\n"
		     "  kill \"$pid\"\n"
		     "  i=0\n"
		     "  while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 50 ]; "
		     "do sleep 0.1; i=$((i+1)); done\n"
		     "fi\n"
		     "/usr/sbin/dropbear $args\n",
    },
    {
	/* Debian: OpenSSH under systemd (or not) */
	.name = "debian-openssh",
	.detect = "[ -x /usr/sbin/sshd ] && command -v useradd "
		  ">/dev/null 2>&1",
	.add_user = "id \"$TL_USER\" >/dev/null 2>&1 || "
		    "useradd -m -s /bin/bash \"$TL_USER\"",
	.host_keys =
	    "rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub\n"
	    "ssh-keygen -q -t ed25519 -N '' -C \"root@$TL_HOST\" "
	    "-f /etc/ssh/ssh_host_ed25519_key\n"
	    "ssh-keygen -q -t ecdsa -N '' -C \"root@$TL_HOST\" "
	    "-f /etc/ssh/ssh_host_ecdsa_key\n"
	    "fp=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub "
	    "| cut -d' ' -f2)\n"
	    /* SIGHUP: sshd re-executes itself with the new keys,
	     * sessions stay */
	    "if [ -d /run/systemd/system ]; then\n"
	    "  systemctl reload ssh || systemctl restart ssh\n"
	    "else\n"
	    "  kill -HUP \"$(cat /run/sshd.pid)\"\n"
	    "fi\n",
    },
};

#define N_GUEST_OS (sizeof guest_os / sizeof *guest_os)

/* A machine restored from a warm template (warm.c) is still the template:
 * its clock stopped when the template was saved; its random pool, machine
 * id and lab NICs' MAC addresses (QEMU restores the device state) are the
 * template's. This part of the script makes them the machine's own. The
 * clock: the host's time. The random pool: two machines restored from one
 * template read the same bytes from /dev/urandom, and writing to it only
 * mixes the input pool, used at the kernel's next reseed (measured: the
 * same UUIDs from both after the write, different ones after a forced
 * reseed); so host randomness is written and a reseed forced
 * (RNDRESEEDCRNG, through perl: Debian's perl-base is essential). Without
 * it the step fails rather than make host keys a twin machine also has.
 * Then each lab NIC, found by its PCI slot, gets its planned MAC, and the
 * machine a new machine id, drawn from the reseeded pool. */
static void warm_part(tl_buf *b, const tl_prov_machine *m)
{
	unsigned char seed[32];
	char hex[sizeof seed * 2 + 1];
	if (tl_random_bytes(seed, sizeof seed, NULL) < 0)
		memset(seed, 0, sizeof seed); /* the reseed still happens */
	tl_hex_encode(seed, sizeof seed, hex);
	tl_buf_printf(b,
		      "step=warm-start\n"
		      "TL_NOW=%lld\n"
		      "tl_d=$((TL_NOW - $(date +%%s)))\n"
		      "[ \"${tl_d#-}\" -le 2 ] || date -s \"@$TL_NOW\" "
		      ">/dev/null\n"
		      "printf '%%s' '%s' >/dev/urandom\n"
		      "perl -e 'open(my $f, \">\", \"/dev/urandom\") or "
		      "die \"/dev/urandom: $!\\n\"; ioctl($f, 0x5207, 0) or "
		      "die \"RNDRESEEDCRNG: $!\\n\"'\n",
		      (long long)time(NULL), hex);
	if (m->n_nics) {
		tl_buf_puts(b, "for tl_n in /sys/class/net/*; do\n"
			       "case $(readlink -f \"$tl_n/device\" "
			       "2>/dev/null) in\n");
		for (size_t k = 0; k < m->n_nics; k++) {
			tl_buf_printf(b, "*/0000:00:%02x.0/*) ip link set dev "
					 "\"${tl_n##*/}\" address ",
				      (unsigned)(TL_PROV_FIRST_NIC_SLOT + k));
			tl_buf_shell_quote(b, m->nics[k].mac);
			tl_buf_puts(b, " ;;\n");
		}
		tl_buf_puts(b, "esac\ndone\n");
	}
	tl_buf_puts(b, "if [ -s /etc/machine-id ]; then tr -d - "
		       "</proc/sys/kernel/random/uuid >/etc/machine-id; fi\n");
}

/* The whole script for one machine. New string. */
static char *personalise_script(const tl_prov_machine *m, const char *user)
{
	const char *hostname = m->hostname;
	tl_buf b;
	tl_buf_init(&b, 0);
	tl_buf_puts(&b, "set -e\nstep=start\n"
			"trap '[ \"$step\" = done ] || echo \"tssrlab: "
			"personalisation failed at step $step\" >&2' EXIT\n");
	if (m->warm_state)
		warm_part(&b, m);
	tl_buf_puts(&b, "TL_HOST=");
	tl_buf_shell_quote(&b, hostname);
	tl_buf_puts(&b, "\nTL_USER=");
	tl_buf_shell_quote(&b, user ? user : "");
	tl_buf_puts(&b, "\nTL_PW=\nIFS= read -r TL_PW || true\n");
	for (size_t i = 0; i < N_GUEST_OS; i++)
		tl_buf_printf(&b, "%s %s; then TL_OS=%s\n", i ? "elif" : "if",
			      guest_os[i].detect, guest_os[i].name);
	tl_buf_puts(&b, "else\n  echo \"tssrlab: unknown guest system "
			"(known:");
	for (size_t i = 0; i < N_GUEST_OS; i++)
		tl_buf_printf(&b, " %s", guest_os[i].name);
	tl_buf_puts(&b, ")\" >&2\n  exit 90\nfi\n"
			"echo \"os=$TL_OS\"\n"
			"step=hostname\n"
			"echo \"$TL_HOST\" >/etc/hostname\n"
			"hostname \"$TL_HOST\"\n"
			"sed -i '/^127\\.0\\.1\\.1[[:space:]]/d' /etc/hosts\n"
			"printf '127.0.1.1\\t%s\\n' \"$TL_HOST\" >>/etc/hosts\n"
			"if [ -n \"$TL_USER\" ]; then\n"
			"step=account\n"
			"case $TL_OS in\n");
	for (size_t i = 0; i < N_GUEST_OS; i++)
		tl_buf_printf(&b, "%s)\n%s\n;;\n", guest_os[i].name,
			      guest_os[i].add_user);
	tl_buf_puts(&b, "esac\n"
			"printf '%s:%s\\n' \"$TL_USER\" \"$TL_PW\" | chpasswd\n"
			"fi\n"
			"step=host-keys\n"
			"fp=\n"
			"case $TL_OS in\n");
	for (size_t i = 0; i < N_GUEST_OS; i++)
		tl_buf_printf(&b, "%s)\n%s;;\n", guest_os[i].name,
			      guest_os[i].host_keys);
	/* on disk before the machine is handed over: a power cut right
	 * after (a trainee's "force off") must not leave empty host key
	 * files that sshd refuses at the next boot */
	tl_buf_puts(&b, "esac\n"
			"step=sync\nsync\n"
			"echo \"fp=$fp\"\n"
			"step=done\n");
	return tl_buf_steal(&b);
}

/* The last line of s (trimmed), for error messages. */
static void last_line(const char *s, char *ret, size_t n)
{
	ret[0] = '\0';
	if (!s)
		return;
	size_t len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	size_t start = len;
	while (start && s[start - 1] != '\n')
		start--;
	snprintf(ret, n, "%.*s", (int)(len - start), s + start);
}

#ifdef TL_PROV_HAVE_SSH

static bool domain_stopped(tl_prov_host *h, const tl_prov_machine *m)
{
	TL_AUTO(virDomain) dom = virDomainLookupByName(h->conn, m->domain);
	int state, reason;
	if (!dom || virDomainGetState(dom, &state, &reason, 0) < 0) {
		virResetLastError();
		return false; /* cannot tell: keep waiting */
	}
	return state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED;
}

/* One banner attempt of *slice seconds. A refused or reset connection
 * (nothing listens yet) is retried at once with a 1 s slice: a fresh
 * connection notices the guest sooner than slirp's SYN retransmission.
 * A connection that stays silent for the whole slice may be an sshd too
 * slow to greet under load (OpenSSH re-executes itself for each
 * connection): cutting it short every second would never let it answer
 * and would pile up half-open sessions against MaxStartups, so the slice
 * doubles, up to 8 s. */
static int banner_wait(const tl_prov_machine *m, double deadline, int *slice,
		       tl_error *err)
{
	int left = (int)((deadline - tl_now_ms()) / 1000.0);
	int s = *slice < left ? *slice : left;
	if (s < 1)
		s = 1;
	double t0 = tl_now_ms();
	if (tl_ssh_wait_banner(m->ssh_host, m->ssh_port, s, err) == 0) {
		*slice = 1;
		return 0;
	}
	if (tl_now_ms() - t0 >= s * 900.0)
		*slice = *slice >= 8 ? 8 : *slice * 2;
	else
		*slice = 1;
	return -1;
}

int tl_prov_wait_ready(const tl_prov *p, tl_prov_host *h, tl_prov_machine *m,
		       double started_ms, int timeout_s, tl_error *err)
{
	if (!m->ssh_host || !*m->ssh_host || m->ssh_port <= 0)
		return tl_error_set(err,
				    "machine %s: no address to reach its SSH "
				    "(bridged access needs a NIC address)",
				    m->id);
	double deadline = started_ms + timeout_s * 1000.0;
	char last[TL_ERROR_MAX] = "not tried";
	double next_state_check = 0;
	int slice = 1;
	for (;;) {
		double now = tl_now_ms();
		if (now >= deadline)
			break;
		if (h && now >= next_state_check) {
			next_state_check = now + 3000;
			if (domain_stopped(h, m))
				return tl_error_set(
				    err,
				    "machine %s (domain %s): stopped while "
				    "waiting for SSH, %.1f s after its "
				    "start",
				    m->id, m->domain,
				    (now - started_ms) / 1000.0);
		}
		tl_error e = {{0}};
		if (banner_wait(m, deadline, &slice, &e) < 0) {
			snprintf(last, sizeof last, "%s", e.msg);
			continue;
		}
		tl_ssh_target t;
		tl_prov_machine_ssh_target(p, m, &t);
		int left_s = (int)((deadline - tl_now_ms()) / 1000.0) + 1;
		t.connect_timeout_s = left_s < 30 ? left_s : 30;
		tl_ssh_result r = {0};
		int rc = tl_ssh_run(&t, "true", NULL, 0, 10, 4096, &r, &e);
		if (rc == TL_SSH_OK && r.exit_status == 0) {
			if (!m->host_fp && r.host_fp)
				m->host_fp = tl_xstrdup(r.host_fp);
			tl_ssh_result_clear(&r);
			m->ready_ms = tl_now_ms() - started_ms;
			return 0;
		}
		tl_ssh_result_clear(&r);
		if (rc == TL_SSH_HOSTKEY_MISMATCH)
			return tl_error_set(err, "machine %s: %s", m->id,
					    e.msg);
		if (rc == TL_SSH_OK)
			snprintf(last, sizeof last, "`true` exited with %d",
				 r.exit_status);
		else
			snprintf(last, sizeof last, "%s", e.msg);
		tl_sleep_ms(250);
	}
	return tl_error_set(err,
			    "machine %s (domain %s): no SSH answer on %s:%d "
			    "after waiting %.1f s (limit %d s): %s",
			    m->id, m->domain, m->ssh_host, m->ssh_port,
			    (tl_now_ms() - started_ms) / 1000.0, timeout_s,
			    last);
}

char *tl_prov_boot_id(const tl_prov *p, const tl_prov_machine *m, tl_error *err)
{
	tl_ssh_target t;
	tl_prov_machine_ssh_target(p, m, &t);
	t.connect_timeout_s = 15;
	tl_ssh_result r = {0};
	int rc = tl_ssh_run(&t, "cat /proc/sys/kernel/random/boot_id", NULL, 0,
			    10, 4096, &r, err);
	char *id = NULL;
	if (rc == TL_SSH_OK && r.exit_status == 0 && r.out) {
		r.out[strcspn(r.out, "\r\n")] = '\0';
		id = tl_xstrdup(r.out);
	} else if (rc == TL_SSH_OK) {
		tl_error_set(err, "machine %s: cannot read the boot id", m->id);
	}
	tl_ssh_result_clear(&r);
	return id;
}

/* Value of "key=" on a line of out. New string or NULL. */
static char *out_value(const char *out, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = out; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len > kl && !strncmp(l, key, kl) && l[kl] == '=')
			return tl_xstrndup(l + kl + 1, len - kl - 1);
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

int tl_prov_personalise_machine(const tl_prov *p, tl_prov_instance *inst,
				tl_prov_machine *m, tl_error *err)
{
	if (m->trainee && !inst->trainee_password) {
		inst->trainee_password = tl_prov_password(12, err);
		if (!inst->trainee_password)
			return -1;
	}
	const char *user = m->trainee ? inst->trainee_user : NULL;
	TL_AUTOFREE char *script = personalise_script(m, user);
	TL_AUTOFREE char *input = tl_xasprintf(
	    "%s\n",
	    m->trainee && inst->trainee_password ? inst->trainee_password : "");
	tl_ssh_target t;
	tl_prov_machine_ssh_target(p, m, &t);
	tl_ssh_result r = {0};
	tl_error e = {{0}};
	int rc = tl_ssh_run(&t, script, input, strlen(input), p->ssh_timeout_s,
			    65536, &r, &e);
	memset(input, 0, strlen(input));
	if (rc != TL_SSH_OK || r.exit_status != 0) {
		char why[512];
		last_line(r.err, why, sizeof why);
		if (rc != TL_SSH_OK)
			tl_error_set(err, "machine %s: personalisation: %s",
				     m->id, e.msg);
		else
			tl_error_set(err,
				     "machine %s: personalisation exited with "
				     "%d: %s",
				     m->id, r.exit_status, why);
		tl_ssh_result_clear(&r);
		return -1;
	}
	TL_AUTOFREE char *os = out_value(r.out, "os");
	TL_AUTOFREE char *fp = out_value(r.out, "fp");
	tl_ssh_result_clear(&r);
	if (!fp || strncmp(fp, "SHA256:", 7) != 0)
		return tl_error_set(
		    err,
		    "machine %s: personalisation did not report "
		    "the new host key's SHA-256 fingerprint "
		    "(got \"%s\")",
		    m->id, fp ? fp : "");

	/* prove it: reconnect pinned to the new key, read the hostname */
	tl_prov_machine_ssh_target(p, m, &t);
	t.pinned_fp = fp;
	t.connect_timeout_s = 30;
	double deadline = tl_now_ms() + p->ssh_timeout_s * 1000.0;
	char last[TL_ERROR_MAX] = "";
	int slice = 1;
	while (tl_now_ms() < deadline) {
		if (banner_wait(m, deadline, &slice, &e) < 0) {
			snprintf(last, sizeof last, "%s", e.msg);
			continue;
		}
		rc = tl_ssh_run(&t, "hostname", NULL, 0, 10, 4096, &r, &e);
		if (rc == TL_SSH_OK && r.exit_status == 0 && r.out) {
			r.out[strcspn(r.out, "\r\n")] = '\0';
			bool same = !strcmp(r.out, m->hostname);
			snprintf(last, sizeof last,
				 "hostname is \"%s\", expected \"%s\"", r.out,
				 m->hostname);
			tl_ssh_result_clear(&r);
			if (!same)
				break;
			free(m->host_fp);
			m->host_fp = TL_TAKE_PTR(fp);
			free(m->os);
			m->os = TL_TAKE_PTR(os);
			return 0;
		}
		/* the old server may still answer for a moment */
		snprintf(last, sizeof last, "%s",
			 rc == TL_SSH_OK ? "`hostname` failed" : e.msg);
		tl_ssh_result_clear(&r);
		tl_sleep_ms(200);
	}
	return tl_error_set(err,
			    "machine %s: cannot log in pinned to the new host "
			    "key %s: %s",
			    m->id, fp, last);
}

#else /* no SSH engine in this build */

int tl_prov_wait_ready(const tl_prov *p, tl_prov_host *h, tl_prov_machine *m,
		       double started_ms, int timeout_s, tl_error *err)
{
	(void)p, (void)h, (void)started_ms, (void)timeout_s;
	(void)personalise_script;
	(void)sleep_ms;
	(void)last_line;
	return tl_error_set(err,
			    "machine %s: cannot wait for SSH: tssrlab was "
			    "built without the SSH probe engine (libssh)",
			    m->id);
}

char *tl_prov_boot_id(const tl_prov *p, const tl_prov_machine *m, tl_error *err)
{
	(void)p;
	tl_error_set(err, "machine %s: built without SSH", m->id);
	return NULL;
}

int tl_prov_personalise_machine(const tl_prov *p, tl_prov_instance *inst,
				tl_prov_machine *m, tl_error *err)
{
	(void)p, (void)inst;
	return tl_error_set(err,
			    "machine %s: cannot personalise: tssrlab was built "
			    "without the SSH probe engine (libssh)",
			    m->id);
}

#endif
