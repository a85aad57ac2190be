/*
 * console.c: a lab machine's screen in the browser. noVNC (in the web
 * interface) speaks RFB over a WebSocket; this file is the daemon's end of
 * that WebSocket and bridges it to the machine's VNC display, which only
 * the hypervisor host's loopback can reach.
 *
 *   GET /api/v1/sessions/{s}/instances/{t}/machines/{m}/console
 *
 * The route is checked like any other (token, role: admin, trainer or the
 * instance's own trainee; a browser cannot put a header on a WebSocket,
 * so the token may come as ?access_token=, see http.c), then the request
 * must be a valid RFC 6455 opening handshake, the instance ready and the
 * backend must hand over a socket to the display (backend->console_fd).
 * Only then is "101 Switching Protocols" queued: every refusal is an
 * ordinary HTTP status with a JSON error.
 *
 * After the 101, libmicrohttpd gives us the client's socket (its upgrade
 * support). Each console gets its own thread (a bridge) that copies
 * bytes both ways: the client's frames (masked, possibly fragmented) are
 * parsed and their payload written to the display; what the display
 * sends goes back as binary frames. Pings are answered, a close is
 * echoed. A bridge ends when either side closes, when the client is too
 * slow for 30 s, or when the daemon stops (tl_consoles_close wakes every
 * bridge and waits for them, so that libmicrohttpd stops with no upgraded
 * connection left).
 *
 * The frame parser is separate (tl_ws_frame_parse) and fuzzed
 * (tests/fuzz/fuzz_ws_frame.c): it is the one piece here that reads
 * untrusted bytes.
 */
#include <errno.h>
#include <gnutls/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http-internal.h"

/* RFB client messages are small; clipboard text is the largest. */
#define WS_MAX_PAYLOAD (1u << 20)
#define WS_SLOW_MS     30000
#define WS_GUID	       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- frames (RFC 6455 section 5) ---- */

ssize_t tl_ws_frame_parse(uint8_t *buf, size_t len, size_t max_payload,
			  tl_ws_frame *ret)
{
	memset(ret, 0, sizeof *ret);
	if (len < 2)
		return 0;
	uint8_t b0 = buf[0], b1 = buf[1];
	if (b0 & 0x70)
		return -1; /* no extension was negotiated: RSV must be 0 */
	int op = b0 & 0x0f;
	bool fin = b0 & 0x80;
	bool control = op & 0x08;
	if (op != TL_WS_CONT && op != TL_WS_TEXT && op != TL_WS_BINARY &&
	    op != TL_WS_CLOSE && op != TL_WS_PING && op != TL_WS_PONG)
		return -1;
	if (!(b1 & 0x80))
		return -1; /* a client must mask every frame */
	uint64_t n = b1 & 0x7f;
	size_t hl = 2;
	if (control && (!fin || n > 125))
		return -1;
	if (n == 126) {
		if (len < 4)
			return 0;
		n = (uint64_t)buf[2] << 8 | buf[3];
		hl = 4;
	} else if (n == 127) {
		if (len < 10)
			return 0;
		if (buf[2] & 0x80)
			return -1;
		n = 0;
		for (int i = 2; i < 10; i++)
			n = n << 8 | buf[i];
		hl = 10;
	}
	if (n > max_payload)
		return -1;
	if (len < hl + 4)
		return 0;
	const uint8_t *key = buf + hl;
	hl += 4;
	if (len - hl < n)
		return 0;
	/* complete: unmask in place, once */
	uint8_t *p = buf + hl;
	for (size_t i = 0; i < n; i++)
		p[i] ^= key[i & 3];
	ret->fin = fin;
	ret->opcode = op;
	ret->header_len = hl;
	ret->payload_len = (size_t)n;
	return (ssize_t)(hl + n);
}

size_t tl_ws_frame_header(uint8_t out[10], int opcode, size_t len)
{
	out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

int tl_ws_accept_key(const char *key, char ret[29])
{
	size_t kl = strlen(key);
	if (kl != 24)
		return -1;
	char buf[24 + sizeof WS_GUID];
	memcpy(buf, key, kl);
	memcpy(buf + kl, WS_GUID, sizeof WS_GUID - 1);
	unsigned char d[20];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, kl + sizeof WS_GUID - 1, d) <
	    0)
		return -1;
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < 20; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < 20)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < 20)
			v |= d[i + 2];
		ret[o++] = b64[(v >> 18) & 63];
		ret[o++] = b64[(v >> 12) & 63];
		ret[o++] = i + 1 < 20 ? b64[(v >> 6) & 63] : '=';
		ret[o++] = i + 2 < 20 ? b64[v & 63] : '=';
	}
	ret[o] = '\0';
	return 0;
}

/* ---- the bridges ---- */

struct tl_consoles {
	pthread_mutex_t lock;
	pthread_cond_t gone; /* signalled when a bridge ends */
	size_t n;	     /* bridges running; guarded by lock */
	int stop_fd;	     /* eventfd: readable once the daemon stops */
	bool closing;	     /* guarded by lock */
};

typedef struct bridge {
	tl_consoles *hub;
	atomic_int refs; /* the upgrade path and the request's end */
	bool started;	 /* the upgrade handler ran (MHD's thread) */
	int vnc;	 /* the display; owned */
	MHD_socket sock; /* the client; closed through urh */
	struct MHD_UpgradeResponseHandle *urh;
	uint8_t *in; /* client bytes not yet parsed */
	size_t in_len;
	uint8_t *extra; /* bytes MHD read past the request */
	size_t extra_len;
	char what[200]; /* session/trainee/machine, for the log */
} bridge;

tl_consoles *tl_consoles_new(void)
{
	tl_consoles *h = tl_xcalloc(1, sizeof *h);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->gone, NULL);
	h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return h;
}

void tl_consoles_close(tl_consoles *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->closing = true;
	uint64_t one = 1;
	if (h->stop_fd >= 0 && write(h->stop_fd, &one, sizeof one) < 0)
		tl_log(TL_LOG_WARN, "console.stop", "error=\"%s\"",
		       strerror(errno));
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	while (h->n > 0)
		if (pthread_cond_timedwait(&h->gone, &h->lock, &until) ==
		    ETIMEDOUT)
			break;
	if (h->n > 0)
		tl_log(TL_LOG_WARN, "console.stop", "left=%zu", h->n);
	pthread_mutex_unlock(&h->lock);
}

void tl_consoles_free(tl_consoles *h)
{
	if (!h)
		return;
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	pthread_cond_destroy(&h->gone);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

size_t tl_consoles_count(tl_consoles *h)
{
	pthread_mutex_lock(&h->lock);
	size_t n = h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

static void bridge_unref(bridge *b)
{
	if (atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	if (b->vnc >= 0)
		close(b->vnc);
	free(b->in);
	free(b->extra);
	free(b);
}

/* Writes all of data, waiting up to WS_SLOW_MS each time the peer's
 * buffer is full (either socket may be non-blocking). */
static int send_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			if (poll(&pf, 1, WS_SLOW_MS) <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int send_frame(bridge *b, int opcode, const void *data, size_t len)
{
	uint8_t h[10];
	size_t hl = tl_ws_frame_header(h, opcode, len);
	if (send_all(b->sock, h, hl) < 0)
		return -1;
	return len ? send_all(b->sock, data, len) : 0;
}

static void send_close(bridge *b, uint16_t code, const char *why)
{
	uint8_t msg[125];
	size_t wl = strlen(why);
	if (wl > sizeof msg - 2)
		wl = sizeof msg - 2;
	msg[0] = (uint8_t)(code >> 8);
	msg[1] = (uint8_t)code;
	memcpy(msg + 2, why, wl);
	(void)send_frame(b, TL_WS_CLOSE, msg, 2 + wl);
}

/* Parses and handles every complete frame in b->in. Returns 0 to go on,
 * 1 when the client closed, -1 on a protocol error (already answered). */
static int client_frames(bridge *b)
{
	size_t off = 0;
	int rc = 0;
	while (rc == 0 && off < b->in_len) {
		tl_ws_frame f;
		ssize_t n = tl_ws_frame_parse(b->in + off, b->in_len - off,
					      WS_MAX_PAYLOAD, &f);
		if (n == 0)
			break;
		if (n < 0) {
			send_close(b, 1002, "protocol error");
			rc = -1;
			break;
		}
		uint8_t *payload = b->in + off + f.header_len;
		switch (f.opcode) {
		case TL_WS_CONT:
		case TL_WS_TEXT:
		case TL_WS_BINARY:
			if (f.payload_len &&
			    send_all(b->vnc, payload, f.payload_len) < 0)
				rc = -1;
			break;
		case TL_WS_PING:
			if (send_frame(b, TL_WS_PONG, payload, f.payload_len) <
			    0)
				rc = -1;
			break;
		case TL_WS_CLOSE:
			/* echo the status code, as the RFC asks */
			(void)send_frame(b, TL_WS_CLOSE, payload,
					 f.payload_len >= 2 ? 2 : 0);
			rc = 1;
			break;
		default: /* pong */
			break;
		}
		off += (size_t)n;
	}
	memmove(b->in, b->in + off, b->in_len - off);
	b->in_len -= off;
	return rc;
}

static void *bridge_run(void *arg)
{
	bridge *b = arg;
	const size_t cap = WS_MAX_PAYLOAD + 14;
	b->in = tl_xmalloc(cap);
	b->in_len = 0;
	const char *why = "client closed";
	if (b->extra_len) {
		memcpy(b->in, b->extra, b->extra_len);
		b->in_len = b->extra_len;
		if (client_frames(b) != 0)
			goto done;
	}
	uint8_t *out = tl_xmalloc(64u << 10);
	for (;;) {
		struct pollfd pf[3] = {
		    {.fd = b->sock, .events = POLLIN},
		    {.fd = b->vnc, .events = POLLIN},
		    {.fd = b->hub->stop_fd, .events = POLLIN},
		};
		int pr = poll(pf, 3, -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			why = "poll failed";
			break;
		}
		if (pf[2].revents) {
			send_close(b, 1001, "tssrlabd is stopping");
			why = "daemon stopping";
			break;
		}
		if (pf[1].revents) {
			ssize_t n = recv(b->vnc, out, 64u << 10, 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				send_close(b, 1000,
					   "the machine's display "
					   "closed");
				why = "display closed";
				break;
			}
			if (send_frame(b, TL_WS_BINARY, out, (size_t)n) < 0) {
				why = "client too slow or gone";
				break;
			}
		}
		if (pf[0].revents) {
			ssize_t n = recv(b->sock, b->in + b->in_len,
					 cap - b->in_len, 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				break;
			b->in_len += (size_t)n;
			int rc = client_frames(b);
			if (rc != 0) {
				why = rc > 0 ? "client closed"
					     : "protocol "
					       "error";
				break;
			}
		}
	}
	free(out);
done:
	tl_log(TL_LOG_INFO, "console.close", "%s reason=\"%s\"", b->what, why);
	shutdown(b->sock, SHUT_RDWR);
	MHD_upgrade_action(b->urh, MHD_UPGRADE_ACTION_CLOSE);
	tl_consoles *hub = b->hub;
	bridge_unref(b);
	pthread_mutex_lock(&hub->lock);
	hub->n--;
	pthread_cond_broadcast(&hub->gone);
	pthread_mutex_unlock(&hub->lock);
	return NULL;
}

/* Called by libmicrohttpd once the 101 has gone out; must not block. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls,
		       const char *extra_in, size_t extra_in_size,
		       MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)conn;
	(void)con_cls;
	bridge *b = cls;
	tl_consoles *hub = b->hub;
	b->started = true;
	b->sock = sock;
	b->urh = urh;
	if (extra_in_size) {
		b->extra = tl_xmalloc(extra_in_size);
		memcpy(b->extra, extra_in, extra_in_size);
		b->extra_len = extra_in_size;
	}
	pthread_mutex_lock(&hub->lock);
	bool closing = hub->closing;
	if (!closing)
		hub->n++;
	pthread_mutex_unlock(&hub->lock);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (closing || pthread_create(&t, &attr, bridge_run, b) != 0) {
		tl_log(TL_LOG_WARN, "console.refused", "%s reason=\"%s\"",
		       b->what, closing ? "daemon stopping" : "no thread");
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		if (!closing) {
			pthread_mutex_lock(&hub->lock);
			hub->n--;
			pthread_cond_broadcast(&hub->gone);
			pthread_mutex_unlock(&hub->lock);
		}
		bridge_unref(b);
	}
	pthread_attr_destroy(&attr);
}

/* The request is over (http.c's completion callback): when the 101 never
 * went out, the display socket is closed here. */
static void on_request_end(void *cls)
{
	bridge *b = cls;
	if (!b->started) /* it never will: drop the upgrade path's ref too */
		bridge_unref(b);
	bridge_unref(b);
}

/* ---- the route ---- */

static bool has_token(const char *list, const char *token)
{
	size_t tl = strlen(token);
	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		size_t n = strcspn(p, ", \t");
		if (n == tl && !strncasecmp(p, token, tl))
			return true;
		p += n;
	}
	return false;
}

static const char *header(tl_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void tl_console_handler(tl_req *r, tl_resp *out)
{
	if (r->role == TL_ROLE_TRAINEE && (strcmp(r->user.session, r->arg[0]) ||
					   strcmp(r->user.trainee, r->arg[1])))
		return tl_resp_error(out, MHD_HTTP_FORBIDDEN, NULL,
				     "a trainee opens only their own "
				     "machines' consoles");
	json_t *inst = NULL;
	tl_error e;
	int rc =
	    tl_store_instance_get(r->d->store, r->arg[0], r->arg[1], &inst, &e);
	if (rc < 0)
		return tl_resp_store(out, rc, &e);
	const char *state = json_string_value(json_object_get(inst, "state"));
	bool found = false;
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(inst, "machines"), i, m)
		found |=
		    !strcmp(json_string_value(json_object_get(m, "machine")),
			    r->arg[2]);
	if (!found || !state || strcmp(state, "ready")) {
		if (found)
			tl_resp_error(out, MHD_HTTP_CONFLICT, NULL,
				      "the instance is %s, not ready",
				      state ? state : "?");
		else
			tl_resp_error(out, MHD_HTTP_NOT_FOUND, NULL,
				      "no machine \"%.64s\" in this instance",
				      r->arg[2]);
		json_decref(inst);
		return;
	}
	const char *upgrade = header(r, MHD_HTTP_HEADER_UPGRADE);
	const char *connection = header(r, MHD_HTTP_HEADER_CONNECTION);
	const char *version = header(r, "Sec-WebSocket-Version");
	const char *key = header(r, "Sec-WebSocket-Key");
	const char *proto = header(r, "Sec-WebSocket-Protocol");
	char accept[29];
	if (!upgrade || !has_token(upgrade, "websocket") || !connection ||
	    !has_token(connection, "upgrade")) {
		json_decref(inst);
		return tl_resp_error(out, MHD_HTTP_UPGRADE_REQUIRED, NULL,
				     "the console is a WebSocket: send "
				     "\"Upgrade: websocket\" and "
				     "\"Connection: Upgrade\"");
	}
	if (!version || strcmp(version, "13")) {
		json_decref(inst);
		return tl_resp_error(out, MHD_HTTP_UPGRADE_REQUIRED, NULL,
				     "WebSocket version %.10s not supported "
				     "(Sec-WebSocket-Version: 13)",
				     version ? version : "missing");
	}
	if (!key || tl_ws_accept_key(key, accept) < 0) {
		json_decref(inst);
		return tl_resp_error(out, MHD_HTTP_BAD_REQUEST, NULL,
				     "Sec-WebSocket-Key must be 16 bytes in "
				     "base64");
	}
	tl_backend_instance bi = {
	    .id = json_integer_value(json_object_get(inst, "id")),
	    .session = r->arg[0],
	    .trainee = r->arg[1],
	    .machines = json_object_get(inst, "machines"),
	};
	int fd = -1;
	tl_backend *be = r->d->backend;
	rc = be->console_fd
		 ? be->console_fd(be, &bi, r->arg[2], &fd, &e)
		 : tl_error_set(&e, "the %s backend has no console", be->name);
	json_decref(inst);
	if (rc < 0)
		return tl_resp_error(out, MHD_HTTP_BAD_GATEWAY, NULL,
				     "cannot open the console of %s: %s",
				     r->arg[2], e.msg);
	bridge *b = tl_xcalloc(1, sizeof *b);
	b->hub = r->d->consoles;
	b->vnc = fd;
	b->sock = -1;
	atomic_init(&b->refs, 2);
	snprintf(b->what, sizeof b->what,
		 "session=%s trainee=%s machine=%s by=%s", r->arg[0], r->arg[1],
		 r->arg[2], r->user.name);
	struct MHD_Response *resp =
	    MHD_create_response_for_upgrade(on_upgrade, b);
	if (!resp) {
		close(fd);
		free(b);
		return tl_resp_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
				     "cannot create the upgrade response");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	/* noVNC may offer "binary": a browser drops the connection when an
	 * offered protocol is not chosen */
	if (proto && has_token(proto, "binary"))
		MHD_add_response_header(resp, "Sec-WebSocket-Protocol",
					"binary");
	tl_log(TL_LOG_INFO, "console.open", "%s", b->what);
	out->status = MHD_HTTP_SWITCHING_PROTOCOLS;
	out->raw = resp;
	out->raw_headers = true;
	out->on_end = on_request_end;
	out->on_end_cls = b;
}
