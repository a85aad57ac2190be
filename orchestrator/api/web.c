/*
 * web.c: the web interface's files, served by tssrlabd itself at "/" (no
 * separate web server). The interface is static: HTML, CSS and plain ES
 * modules built into one folder (web/, see docs/web.md), which talk to the
 * API under /api/v1 with the user's token.
 *
 * Every URL outside /api/v1, /healthz and /metrics is a file of that
 * folder (the web root), "/" being index.html. A URL is refused (404)
 * unless each of its segments is made of plain characters and does not
 * start with a dot, and the file it names resolves, links followed,
 * inside the web root: no "..", no hidden file, no symbolic link out.
 * Files are sent from their descriptor with their MIME type, an ETag
 * (size and modification time) and "Cache-Control: no-cache": a browser
 * keeps them but asks each time, and a 304 costs no body. A strict
 * Content-Security-Policy allows scripts, styles and connections to this
 * origin only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http-internal.h"

#define WEB_CSP                                                                \
	"default-src 'self'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "  \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const char *tl_web_root(const tl_config *cfg)
{
	if (cfg->web_root)
		return cfg->web_root;
	/* a binary running from its build folder serves that build's web/ */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	size_t bl = strlen(TL_BUILD_ROOT);
	if (n > 0 && bl > 0) {
		exe[n] = '\0';
		if (!strncmp(exe, TL_BUILD_ROOT, bl) && exe[bl] == '/')
			return TL_BUILD_ROOT "/web/site";
	}
	return TL_DATADIR "/web";
}

static const struct {
	const char *ext, *type;
} mime[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/plain; charset=utf-8"},
    {".map", "application/json"},
};

static const char *mime_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof mime / sizeof *mime; i++)
			if (!strcasecmp(dot, mime[i].ext))
				return mime[i].type;
	return "application/octet-stream";
}

/* Plain segments only: [A-Za-z0-9._~@+-], none empty or starting with a
 * dot (so no "..", no ".hidden"). */
static bool url_ok(const char *url)
{
	if (url[0] != '/' || strlen(url) > 512)
		return false;
	const char *p = url + 1;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 && end)
			return false;
		if (n > 0 && p[0] == '.')
			return false;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			bool ok =
			    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			    c == '-' || c == '~' || c == '@' || c == '+';
			if (!ok)
				return false;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

static void not_found(tl_resp *out, const char *url)
{
	tl_resp_error(
	    out, MHD_HTTP_NOT_FOUND, NULL,
	    "no such page: %.200s (the API is under " TL_API_PREFIX ")", url);
}

bool tl_web_serve(tl_daemon *d, struct MHD_Connection *conn, const char *url,
		  const char *method, tl_resp *out)
{
	const char *root = tl_web_root(&d->cfg);
	char real_root[PATH_MAX];
	char index[PATH_MAX + 16];
	if (!realpath(root, real_root))
		return false;
	snprintf(index, sizeof index, "%s/index.html", real_root);
	if (access(index, R_OK) < 0)
		return false;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		tl_resp_error(out, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
			      "method %s not allowed on the web interface",
			      method);
		return true;
	}
	if (!url_ok(url)) {
		not_found(out, url);
		return true;
	}
	char path[PATH_MAX + 600];
	size_t ul = strlen(url);
	snprintf(path, sizeof path, "%s%s%s", real_root, url,
		 url[ul - 1] == '/' ? "index.html" : "");
	char real[PATH_MAX];
	size_t rl = strlen(real_root);
	if (!realpath(path, real) || strncmp(real, real_root, rl) ||
	    real[rl] != '/') {
		not_found(out, url);
		return true;
	}
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		not_found(out, url);
		return true;
	}
	char etag[64];
	snprintf(etag, sizeof etag, "\"%llx-%llx\"",
		 (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
		     (unsigned long long)st.st_mtim.tv_nsec);
	const char *inm = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct MHD_Response *resp;
	if (inm && !strcmp(inm, etag)) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, NULL,
						       MHD_RESPMEM_PERSISTENT);
		out->status = MHD_HTTP_NOT_MODIFIED;
	} else {
		/* libmicrohttpd owns fd from here */
		resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
		if (!resp)
			close(fd);
		out->status = MHD_HTTP_OK;
	}
	if (!resp) {
		tl_resp_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
			      "cannot answer with %s", url);
		return true;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				mime_of(real));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-cache");
	MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	out->raw = resp;
	out->raw_headers = true;
	return true;
}
