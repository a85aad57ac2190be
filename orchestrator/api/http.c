/*
 * http.c: the HTTP side of tssrlabd, on libmicrohttpd — the only module
 * that does (routes.c uses its types through http-internal.h).
 *
 * libmicrohttpd runs its own pool of threads (http_threads) with a limit
 * on connections and a per-connection timeout; each request's body is
 * collected into a buffer capped at max_body (a bigger body is answered
 * 413 without being kept). Then, in order: the route is found (404/405),
 * the bearer token is checked (401), the role is checked against the
 * route (403), the body is validated against the route's schema (400/422
 * naming the field), and only then the handler runs. Every answer is JSON
 * except /metrics (Prometheus text), CSV exports and the event stream.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "events-internal.h"
#include "http-internal.h"

typedef struct conn_ctx {
	tl_buf body;
	bool too_big;
	bool answered;		   /* an early answer was queued */
	void (*on_end)(void *cls); /* tl_resp.on_end, run at completion */
	void *on_end_cls;
} conn_ctx;

void tl_resp_json(tl_resp *out, int status, json_t *j)
{
	out->status = status;
	json_decref(out->json);
	out->json = j;
}

void tl_resp_error(tl_resp *out, int status, const char *field, const char *fmt,
		   ...)
{
	char msg[TL_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *j = json_pack("{s:s}", "error", msg);
	if (field && *field)
		json_object_set_new(j, "field", json_string(field));
	tl_resp_json(out, status, j);
}

void tl_resp_store(tl_resp *out, int rc, const tl_error *err)
{
	int status = rc == TL_STORE_NOTFOUND   ? MHD_HTTP_NOT_FOUND
		     : rc == TL_STORE_CONFLICT ? MHD_HTTP_CONFLICT
		     : rc == TL_STORE_FULL     ? MHD_HTTP_INSUFFICIENT_STORAGE
					       : MHD_HTTP_INTERNAL_SERVER_ERROR;
	tl_resp_error(out, status, NULL, "%s", err->msg);
}

const char *tl_req_query(tl_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

static int role_bit(const char *role)
{
	if (!strcmp(role, "admin"))
		return TL_ROLE_ADMIN;
	if (!strcmp(role, "trainer"))
		return TL_ROLE_TRAINER;
	if (!strcmp(role, "evaluator"))
		return TL_ROLE_EVALUATOR;
	if (!strcmp(role, "trainee"))
		return TL_ROLE_TRAINEE;
	return 0;
}

/* Splits path (after the prefix) into at most max segments in buf. */
static size_t split(const char *path, char *buf, size_t cap, char **seg,
		    size_t max)
{
	snprintf(buf, cap, "%s", path);
	size_t n = 0;
	for (char *p = buf; *p && n <= max;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		seg[n++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

static bool match(const char *pattern, char **seg, size_t n, tl_req *r)
{
	char pbuf[256];
	char *pseg[12];
	size_t pn = split(pattern, pbuf, sizeof pbuf, pseg, 11);
	if (pn != n)
		return false;
	size_t a = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(pseg[i], "*")) {
			if (a < TL_REQ_MAX_ARGS)
				r->arg[a++] = seg[i];
			continue;
		}
		if (strcmp(pseg[i], seg[i]))
			return false;
	}
	return true;
}

static int authenticate(tl_req *r, tl_resp *out, bool query_token)
{
	const char *h = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	/* EventSource and WebSocket cannot send a header: their routes take
	 * the token from ?access_token= (only when no header is given) */
	const char *qt =
	    query_token && !h ? tl_req_query(r, "access_token") : NULL;
	if (!qt && (!h || strncasecmp(h, "Bearer ", 7))) {
		tl_resp_error(out, MHD_HTTP_UNAUTHORIZED, NULL,
			      "missing bearer token (Authorization: Bearer "
			      "TOKEN)");
		return -1;
	}
	const char *tok = qt ? qt : h + 7;
	while (*tok == ' ')
		tok++;
	char hash[65];
	tl_error err;
	if (strlen(tok) > 200 || tl_auth_token_hash(tok, hash, &err) < 0) {
		tl_resp_error(out, MHD_HTTP_UNAUTHORIZED, NULL,
			      "invalid token");
		return -1;
	}
	int rc = tl_store_token_lookup(r->d->store, hash, &r->user, &err);
	if (rc == TL_STORE_NOTFOUND) {
		tl_resp_error(out, MHD_HTTP_UNAUTHORIZED, NULL,
			      "invalid or revoked token");
		return -1;
	}
	if (rc < 0) {
		tl_resp_store(out, rc, &err);
		return -1;
	}
	r->role = role_bit(r->user.role);
	return 0;
}

static void dispatch(tl_daemon *d, struct MHD_Connection *conn, const char *url,
		     const char *method, conn_ctx *c, tl_resp *out)
{
	tl_req r = {.d = d, .conn = conn, .method = method};
	if (c->too_big) {
		tl_resp_error(out, MHD_HTTP_CONTENT_TOO_LARGE, "",
			      "request body larger than %zu bytes",
			      d->cfg.max_body);
		return;
	}
	const char *path;
	if (!strcmp(url, "/healthz") || !strcmp(url, "/metrics"))
		path = url + 1;
	else if (!strncmp(url, TL_API_PREFIX "/", strlen(TL_API_PREFIX) + 1))
		path = url + strlen(TL_API_PREFIX) + 1;
	else {
		/* outside the API: the web interface's files (web.c) */
		if (tl_web_serve(d, conn, url, method, out))
			return;
		tl_resp_error(
		    out, MHD_HTTP_NOT_FOUND, NULL,
		    "no such endpoint: %.200s (the API is under " TL_API_PREFIX
		    ")",
		    url);
		return;
	}
	char buf[512];
	char *seg[12];
	if (strlen(path) >= sizeof buf) {
		tl_resp_error(out, MHD_HTTP_URI_TOO_LONG, NULL, "URL too long");
		return;
	}
	size_t n = split(path, buf, sizeof buf, seg, 11);
	const tl_route *route = NULL;
	bool path_found = false;
	for (const tl_route *rt = tl_routes; rt->pattern; rt++) {
		tl_req probe = r;
		if (!match(rt->pattern, seg, n, &probe))
			continue;
		path_found = true;
		if (strcmp(rt->method, method))
			continue;
		route = rt;
		r = probe;
		break;
	}
	if (!route) {
		if (path_found)
			tl_resp_error(out, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
				      "method %s not allowed here", method);
		else
			tl_resp_error(out, MHD_HTTP_NOT_FOUND, NULL,
				      "no such endpoint: %.200s", url);
		return;
	}
	if (!(route->roles & TL_ROLE_PUBLIC)) {
		if (authenticate(&r, out, route->query_token) < 0)
			return;
		if (!(route->roles & r.role)) {
			tl_resp_error(out, MHD_HTTP_FORBIDDEN, NULL,
				      "role %s may not %s %s", r.user.role,
				      method, url);
			return;
		}
	}
	if (route->schema) {
		tl_api_error e;
		if (tl_api_body_parse(c->body.data ? c->body.data : "",
				      c->body.len, route->schema, &r.body,
				      &e) < 0) {
			tl_resp_error(out, e.status, e.field, "%s", e.msg);
			return;
		}
	}
	route->fn(&r, out);
	json_decref(r.body);
}

static enum MHD_Result send_resp(tl_daemon *d, struct MHD_Connection *conn,
				 tl_resp *out)
{
	struct MHD_Response *resp = out->raw;
	if (!resp) {
		char *text = out->text;
		size_t len = out->len;
		const char *ctype =
		    out->ctype ? out->ctype : "application/json";
		if (!text) {
			if (!out->json)
				out->json = json_object();
			text = json_dumps(out->json, JSON_COMPACT);
			len = text ? strlen(text) : 0;
			if (text) {
				text = tl_xrealloc(text, len + 2);
				text[len++] = '\n';
				text[len] = '\0';
			}
		}
		resp = MHD_create_response_from_buffer(len, text,
						       MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(text);
			return MHD_NO;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					ctype);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-store");
		out->text = NULL;
	} else if (!out->raw_headers) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/event-stream");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-cache");
	}
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (out->status >= 500)
		atomic_fetch_add(&d->http_5xx, 1);
	else if (out->status >= 400)
		atomic_fetch_add(&d->http_4xx, 1);
	enum MHD_Result ret =
	    MHD_queue_response(conn, (unsigned)out->status, resp);
	MHD_destroy_response(resp);
	json_decref(out->json);
	out->json = NULL;
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	tl_daemon *d = cls;
	conn_ctx *c = *con_cls;
	if (!c) {
		c = tl_xcalloc(1, sizeof *c);
		tl_buf_init(&c->body, d->cfg.max_body);
		*con_cls = c;
		atomic_fetch_add(&d->http_requests, 1);
		/* a declared length over the cap is refused before any
		 * byte of it is read */
		const char *cl = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > d->cfg.max_body) {
			c->too_big = true;
			c->answered = true;
			tl_resp out = {0};
			tl_resp_error(&out, MHD_HTTP_CONTENT_TOO_LARGE, "",
				      "request body larger than %zu bytes",
				      d->cfg.max_body);
			return send_resp(d, conn, &out);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!c->too_big &&
		    tl_buf_append(&c->body, upload, *upload_size) < 0) {
			c->too_big = true;
			tl_buf_clear(&c->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (c->answered)
		return MHD_YES;
	c->answered = true;
	tl_resp out = {.status = MHD_HTTP_OK};
	dispatch(d, conn, url, method, c, &out);
	c->on_end = out.on_end;
	c->on_end_cls = out.on_end_cls;
	return send_resp(d, conn, &out);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	conn_ctx *c = *con_cls;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
	    toe != MHD_REQUEST_TERMINATED_CLIENT_ABORT)
		tl_log(TL_LOG_DEBUG, "http.terminated", "code=%d", (int)toe);
	if (!c)
		return;
	if (c->on_end)
		c->on_end(c->on_end_cls);
	tl_buf_clear(&c->body);
	free(c);
	*con_cls = NULL;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '"')
			*p = '\'';
	tl_log(TL_LOG_WARN, "http.server", "msg=\"%s\"", msg);
}

int tl_http_start(tl_daemon *d, tl_error *err)
{
	struct sockaddr_in a4 = {0};
	struct sockaddr_in6 a6 = {0};
	struct sockaddr *sa;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
			 MHD_USE_ERROR_LOG;
	if (inet_pton(AF_INET, d->cfg.listen, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)d->cfg.port);
		sa = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, d->cfg.listen, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)d->cfg.port);
		sa = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		return tl_error_set(err,
				    "listen = %s: not an IPv4 or IPv6 address",
				    d->cfg.listen);
	}
	TL_AUTOFREE char *cert = NULL;
	TL_AUTOFREE char *key = NULL;
	if (d->cfg.tls_cert) {
		cert = tl_file_read(d->cfg.tls_cert, 1u << 20, NULL, err);
		if (!cert)
			return -1;
		key = tl_file_read(d->cfg.tls_key, 1u << 20, NULL, err);
		if (!key)
			return -1;
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem opts[] = {
	    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
	    {MHD_OPTION_SOCK_ADDR, 0, sa},
	    {MHD_OPTION_THREAD_POOL_SIZE, d->cfg.http_threads, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, d->cfg.max_connections, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, d->cfg.connection_timeout_s, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
	    {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
	    {cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
	    {MHD_OPTION_END, 0, NULL},
	};
	if (!d->consoles)
		d->consoles = tl_consoles_new();
	d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d,
				  MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!d->mhd)
		return tl_error_set(err,
				    "cannot listen on %s port %d (in use, or "
				    "bad TLS files?)",
				    d->cfg.listen, d->cfg.port);
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
	d->port = info ? info->port : d->cfg.port;
	return 0;
}

void tl_http_stop(tl_daemon *d)
{
	if (!d->mhd)
		return;
	/* every suspended stream must be resumed before the stop */
	tl_events_close(d->events);
	/* and no upgraded connection may be left (console.c) */
	tl_consoles_close(d->consoles);
	MHD_quiesce_daemon(d->mhd);
	struct timespec ts = {0, 200 * 1000000L};
	nanosleep(&ts, NULL);
	MHD_stop_daemon(d->mhd);
	d->mhd = NULL;
	tl_consoles_free(d->consoles);
	d->consoles = NULL;
}
