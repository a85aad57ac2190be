/*
 * ssh.c: one command on one machine over SSH, with the host key pinned.
 *
 * This is the only file of tssrlab that talks to libssh. A call opens a
 * session, checks the server's host key against the fingerprint recorded
 * at provisioning (before authenticating: an impostor never sees our
 * signature), logs in with the management key, runs one command through
 * an exec channel, streams stdin to it then EOF, and collects stdout and
 * stderr under a hard ceiling and a deadline. Nothing is read from the
 * user's ~/.ssh: no config file, no known_hosts, no agent; the pin is the
 * only trust anchor, so what the orchestrator does does not depend on the
 * account it runs under.
 *
 * Fingerprints are printed as `ssh-keygen -lf` prints them ("SHA256:" and
 * the unpadded base64 of the SHA-256 of the key blob), so a trainer can
 * compare them by eye with what the guest shows.
 *
 * tl_ssh_wait_banner is the cheap readiness check the provisioner polls
 * while a machine boots: plain non-blocking sockets and poll(2), no libssh.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "tssrlab/ssh.h"

#define TL_SSH_DEFAULT_LIMIT	 (1u << 20)
#define TL_SSH_DEFAULT_CONNECT_S 10

void tl_ssh_fingerprint_format(const unsigned char digest[32], char *ret)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = ret;
	memcpy(o, "SHA256:", 7);
	o += 7;
	size_t i = 0;
	for (; i + 3 <= 32; i += 3) {
		unsigned v = (unsigned)digest[i] << 16 |
			     (unsigned)digest[i + 1] << 8 | digest[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	/* 32 = 10*3 + 2: two bytes left, three characters, no padding */
	unsigned v = (unsigned)digest[i] << 16 | (unsigned)digest[i + 1] << 8;
	*o++ = b64[v >> 18 & 63];
	*o++ = b64[v >> 12 & 63];
	*o++ = b64[v >> 6 & 63];
	*o = '\0';
}

bool tl_ssh_fingerprint_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la && a[la - 1] == '=')
		la--;
	while (lb && b[lb - 1] == '=')
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

const char *tl_ssh_status_name(int status)
{
	switch (status) {
	case TL_SSH_OK:
		return "ok";
	case TL_SSH_CONNECT:
		return "connect";
	case TL_SSH_HOSTKEY_MISMATCH:
		return "hostkey-mismatch";
	case TL_SSH_AUTH:
		return "auth";
	case TL_SSH_TIMEOUT:
		return "timeout";
	case TL_SSH_PROTOCOL:
		return "protocol";
	}
	return "unknown";
}

void tl_ssh_result_clear(tl_ssh_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	free(r->host_fp);
	memset(r, 0, sizeof *r);
	r->exit_status = -1;
}

/* Scope-bound cleanup of libssh objects. */
static void session_freep(ssh_session *s)
{
	if (*s) {
		if (ssh_is_connected(*s))
			ssh_disconnect(*s);
		ssh_free(*s);
	}
}
static void channel_freep(ssh_channel *c)
{
	if (*c) {
		if (ssh_channel_is_open(*c))
			ssh_channel_close(*c);
		ssh_channel_free(*c);
	}
}
static void key_freep(ssh_key *k)
{
	if (*k)
		ssh_key_free(*k);
}
#define TL_SSH_AUTO(type) __attribute__((cleanup(type##_freep)))

/* The server's host key as "SHA256:..." in ret (TL_SSH_FP_MAX bytes). */
static int server_fingerprint(ssh_session s, char *ret, tl_error *err)
{
	TL_SSH_AUTO(key) ssh_key key = NULL;
	if (ssh_get_server_publickey(s, &key) != SSH_OK)
		return tl_error_set(err, "no host key from the server: %s",
				    ssh_get_error(s));
	unsigned char *hash = NULL;
	size_t hlen = 0;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
				   &hlen) != 0 ||
	    hlen != 32) {
		ssh_clean_pubkey_hash(&hash);
		return tl_error_set(err, "cannot hash the server's host key");
	}
	tl_ssh_fingerprint_format(hash, ret);
	ssh_clean_pubkey_hash(&hash);
	return 0;
}

static void set_timeout_ms(ssh_session s, double ms)
{
	long sec = (long)(ms / 1000.0);
	long usec = (long)((ms - (double)sec * 1000.0) * 1000.0);
	if (sec < 0 || (sec == 0 && usec < 1000)) {
		sec = 0;
		usec = 1000;
	}
	ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &sec);
	ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

/* Session options: everything explicit, nothing from ~/.ssh. */
static int configure(ssh_session s, const tl_ssh_target *t, tl_error *err)
{
	int port = t->port ? t->port : 22;
	long timeout = t->connect_timeout_s > 0 ? t->connect_timeout_s
						: TL_SSH_DEFAULT_CONNECT_S;
	int no = 0, yes = 1;
	int verbosity = SSH_LOG_NOLOG;
	if (ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_HOST, t->host) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_USER, t->user ? t->user : "root") <
		0 ||
	    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") <
		0 ||
	    ssh_options_set(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PASSWORD_AUTH, &no) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_KBDINT_AUTH, &no) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_GSSAPI_AUTH, &no) < 0 ||
	    /* A fixed preference, so that the key recorded at first
	     * contact is the one every later connection negotiates. */
	    ssh_options_set(s, SSH_OPTIONS_HOSTKEYS,
			    "ssh-ed25519,ecdsa-sha2-nistp256,"
			    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
			    "rsa-sha2-512,rsa-sha2-256") < 0)
		return tl_error_set(err, "cannot set SSH options: %s",
				    ssh_get_error(s));
	return 0;
}

/* Reads what is available on one stream without blocking. Returns -1 on a
 * channel error. */
static int drain(ssh_channel ch, int is_stderr, tl_buf *b)
{
	char chunk[16384];
	for (;;) {
		int n = ssh_channel_read_nonblocking(ch, chunk, sizeof chunk,
						     is_stderr);
		if (n == SSH_ERROR)
			return -1;
		if (n <= 0)
			return 0;
		tl_buf_append(b, chunk, (size_t)n); /* past the cap: dropped */
	}
}

int tl_ssh_run(const tl_ssh_target *t, const char *command,
	       const char *stdin_data, size_t stdin_len, int timeout_s,
	       size_t out_limit, tl_ssh_result *ret, tl_error *err)
{
	double t0 = tl_now_ms();
	memset(ret, 0, sizeof *ret);
	ret->exit_status = -1;
	if (!t || !t->host || !t->key_path || !command) {
		tl_error_set(err, "ssh: host, key and command are required");
		return TL_SSH_PROTOCOL;
	}
	const char *user = t->user ? t->user : "root";
	int port = t->port ? t->port : 22;
	char who[300];
	snprintf(who, sizeof who, "ssh %s@%s:%d", user, t->host, port);
	if (!out_limit)
		out_limit = TL_SSH_DEFAULT_LIMIT;
	tl_buf out, errb;
	tl_buf_init(&out, out_limit);
	tl_buf_init(&errb, out_limit);
	int rc = TL_SSH_PROTOCOL;

	TL_SSH_AUTO(session) ssh_session s = ssh_new();
	TL_SSH_AUTO(channel) ssh_channel ch = NULL;
	TL_SSH_AUTO(key) ssh_key key = NULL;
	if (!s) {
		tl_error_set(err, "%s: cannot create an SSH session", who);
		goto out;
	}
	if (configure(s, t, err) < 0) {
		tl_error_prefix(err, "%s", who);
		goto out;
	}
	if (ssh_connect(s) != SSH_OK) {
		tl_error_set(err, "%s: cannot connect: %s", who,
			     ssh_get_error(s));
		rc = TL_SSH_CONNECT;
		goto out;
	}

	char fp[TL_SSH_FP_MAX];
	if (server_fingerprint(s, fp, err) < 0) {
		tl_error_prefix(err, "%s", who);
		goto out;
	}
	ret->host_fp = tl_xstrdup(fp);
	if (t->pinned_fp && !tl_ssh_fingerprint_equal(fp, t->pinned_fp)) {
		tl_error_set(err,
			     "%s: host key %s differs from the key pinned at "
			     "provisioning (%s): refusing to log in (the "
			     "machine was replaced or someone is in between)",
			     who, fp, t->pinned_fp);
		rc = TL_SSH_HOSTKEY_MISMATCH;
		goto out;
	}

	if (ssh_pki_import_privkey_file(t->key_path, NULL, NULL, NULL, &key) !=
	    SSH_OK) {
		tl_error_set(err, "%s: cannot read the private key %s", who,
			     t->key_path);
		rc = TL_SSH_AUTH;
		goto out;
	}
	int a = ssh_userauth_publickey(s, NULL, key);
	if (a != SSH_AUTH_SUCCESS) {
		tl_error_set(err, "%s: key %s not accepted%s%s", who,
			     t->key_path, a == SSH_AUTH_ERROR ? ": " : "",
			     a == SSH_AUTH_ERROR ? ssh_get_error(s) : "");
		rc = a == SSH_AUTH_ERROR ? TL_SSH_PROTOCOL : TL_SSH_AUTH;
		goto out;
	}

	ch = ssh_channel_new(s);
	if (!ch || ssh_channel_open_session(ch) != SSH_OK ||
	    ssh_channel_request_exec(ch, command) != SSH_OK) {
		tl_error_set(err, "%s: cannot start the command: %s", who,
			     ssh_get_error(s));
		goto out;
	}

	double deadline =
	    tl_now_ms() + (timeout_s > 0 ? timeout_s : 1) * 1000.0;
	size_t sent = stdin_data ? 0 : stdin_len;
	bool eof_sent = false;
	char chunk[16384];
	for (;;) {
		double left = deadline - tl_now_ms();
		if (left <= 0) {
			tl_error_set(err,
				     "%s: command still running after %d s: "
				     "stopped",
				     who, timeout_s);
			rc = TL_SSH_TIMEOUT;
			goto out;
		}
		/* Write only what the peer's window takes, so that a
		 * command that never reads its stdin cannot block us. */
		while (sent < stdin_len) {
			uint32_t win = ssh_channel_window_size(ch);
			if (win == 0)
				break;
			size_t n = stdin_len - sent;
			if (n > win)
				n = win;
			if (n > 32768)
				n = 32768;
			int w = ssh_channel_write(ch, stdin_data + sent,
						  (uint32_t)n);
			if (w == SSH_ERROR) {
				/* the command may have exited without
				 * reading: keep what it said */
				sent = stdin_len;
				break;
			}
			sent += (size_t)w;
		}
		if (sent >= stdin_len && !eof_sent) {
			ssh_channel_send_eof(ch);
			eof_sent = true;
		}
		int slice = left > 200 ? 200 : (int)left + 1;
		set_timeout_ms(s, left);
		int n =
		    ssh_channel_read_timeout(ch, chunk, sizeof chunk, 0, slice);
		if (n == SSH_ERROR) {
			tl_error_set(err, "%s: reading the output: %s", who,
				     ssh_get_error(s));
			goto out;
		}
		if (n > 0)
			tl_buf_append(&out, chunk, (size_t)n);
		if (drain(ch, 1, &errb) < 0) {
			tl_error_set(err, "%s: reading the errors: %s", who,
				     ssh_get_error(s));
			goto out;
		}
		if (n == 0 &&
		    (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch)))
			break;
	}
	if (drain(ch, 0, &out) < 0 || drain(ch, 1, &errb) < 0) {
		tl_error_set(err, "%s: reading the output: %s", who,
			     ssh_get_error(s));
		goto out;
	}
	/* The exit status comes with or just after EOF. */
	set_timeout_ms(
	    s, deadline - tl_now_ms() > 2000 ? 2000 : deadline - tl_now_ms());
	ret->exit_status = ssh_channel_get_exit_status(ch);
	rc = TL_SSH_OK;
out:
	ret->out_truncated = out.truncated;
	ret->err_truncated = errb.truncated;
	ret->out_len = out.len;
	ret->out = tl_buf_steal(&out);
	ret->err_len = errb.len;
	ret->err = tl_buf_steal(&errb);
	ret->ms = tl_now_ms() - t0;
	return rc;
}

/* One attempt: connect within the time left and read the first bytes.
 * Returns 1 on an SSH banner, 0 on a failure (why in reason), -1 when the
 * time ran out (reason untouched: the previous attempt's says more). */
static int banner_once(const struct addrinfo *ai, double deadline, char *reason,
		       size_t rlen)
{
	int fd = socket(ai->ai_family,
			ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0) {
		snprintf(reason, rlen, "socket: %s", strerror(errno));
		return 0;
	}
	int ok = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(reason, rlen, "connect: %s", strerror(errno));
		goto done;
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	double left = deadline - tl_now_ms();
	if (left < 1 || poll(&p, 1, (int)left) <= 0) {
		ok = -1;
		goto done;
	}
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr) {
		snprintf(reason, rlen, "connect: %s", strerror(soerr));
		goto done;
	}
	char buf[256];
	size_t got = 0;
	while (got < 4) {
		p.events = POLLIN;
		left = deadline - tl_now_ms();
		if (left < 1 || poll(&p, 1, (int)left) <= 0) {
			snprintf(reason, rlen, "connected, but no banner came");
			goto done;
		}
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(reason, rlen,
				 "connection closed before a "
				 "banner");
			goto done;
		}
		got += (size_t)n;
	}
	if (memcmp(buf, "SSH-", 4) == 0)
		ok = 1;
	else
		snprintf(reason, rlen, "not an SSH server (answered %.4s...)",
			 buf);
done:
	close(fd);
	return ok;
}

int tl_ssh_wait_banner(const char *host, int port, int timeout_s, tl_error *err)
{
	char svc[16];
	snprintf(svc, sizeof svc, "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, svc, &hints, &res);
	if (g != 0)
		return tl_error_set(err, "ssh banner %s:%d: %s", host, port,
				    gai_strerror(g));
	double deadline =
	    tl_now_ms() + (timeout_s > 0 ? timeout_s : 1) * 1000.0;
	char reason[256] = "connect: timed out";
	for (;;) {
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
			if (banner_once(ai, deadline, reason, sizeof reason) ==
			    1) {
				freeaddrinfo(res);
				return 0;
			}
		double left = deadline - tl_now_ms();
		if (left <= 0)
			break;
		struct timespec ts = {0,
				      (long)((left < 250 ? left : 250) * 1e6)};
		nanosleep(&ts, NULL);
	}
	freeaddrinfo(res);
	return tl_error_set(err, "no SSH banner from %s:%d within %d s (%s)",
			    host, port, timeout_s, reason);
}
