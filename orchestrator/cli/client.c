/*
 * client.c: the HTTP side of the `tssrlab` client commands, on libcurl.
 * The server and token come from --server/--token or TSSRLAB_SERVER/
 * TSSRLAB_TOKEN; answers are read into a capped buffer (16 MiB) and
 * parsed with jansson; errors the daemon sends ({"error", "field"}) are
 * shown as they are, and mapped to the exit statuses of cli.h.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"

void tl_client_init(tl_client *c, const char *prog)
{
	memset(c, 0, sizeof *c);
	c->prog = prog;
	const char *s = getenv("TSSRLAB_SERVER");
	snprintf(c->server, sizeof c->server, "%s",
		 s && *s ? s : TL_CLIENT_DEFAULT_SERVER);
	const char *t = getenv("TSSRLAB_TOKEN");
	snprintf(c->token, sizeof c->token, "%s", t ? t : "");
	const char *ca = getenv("TSSRLAB_CACERT");
	snprintf(c->cacert, sizeof c->cacert, "%s", ca ? ca : "");
}

int tl_client_option(tl_client *c, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	if (!strcmp(a, "--json")) {
		c->json = true;
		return 1;
	}
	bool server = !strcmp(a, "--server"), token = !strcmp(a, "--token");
	bool ca = !strcmp(a, "--cacert");
	if (!server && !token && !ca)
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s: %s needs a value\n", c->prog, a);
		return -1;
	}
	const char *v = argv[++*i];
	if (server)
		snprintf(c->server, sizeof c->server, "%s", v);
	else if (ca)
		snprintf(c->cacert, sizeof c->cacert, "%s", v);
	else
		snprintf(c->token, sizeof c->token, "%s", v);
	return 1;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	tl_buf *b = ud;
	return tl_buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

static int exit_for(long status)
{
	switch (status) {
	case 400:
	case 404:
	case 409:
	case 413:
	case 422:
	case 429:
		return TL_EXIT_INVALID;
	default:
		return TL_EXIT_FAILURE;
	}
}

int tl_client_call(tl_client *c, const char *method, const char *path,
		   const json_t *body, json_t **ret)
{
	*ret = NULL;
	CURL *h = curl_easy_init();
	if (!h) {
		fprintf(stderr, "%s: cannot initialise libcurl\n", c->prog);
		return TL_EXIT_FAILURE;
	}
	size_t sl = strlen(c->server);
	char *url =
	    tl_xasprintf("%.*s/api/v1%s",
			 (int)(sl && c->server[sl - 1] == '/' ? sl - 1 : sl),
			 c->server, path);
	struct curl_slist *hd = NULL;
	char auth[300];
	if (c->token[0]) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s",
			 c->token);
		hd = curl_slist_append(hd, auth);
	}
	hd = curl_slist_append(hd, "Content-Type: application/json");
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	tl_buf b;
	tl_buf_init(&b, 16u << 20);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->cacert[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (text) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	} else if (strcmp(method, "GET") && strcmp(method, "DELETE")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	CURLcode cr = curl_easy_perform(h);
	long status = 0;
	if (cr == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	free(text);
	int rc = TL_EXIT_OK;
	if (cr != CURLE_OK) {
		fprintf(stderr,
			"%s: %s: %s (is tssrlabd running? see "
			"--server or TSSRLAB_SERVER)\n",
			c->prog, url, curl_easy_strerror(cr));
		rc = TL_EXIT_FAILURE;
		goto out;
	}
	json_t *j = b.data ? json_loadb(b.data, b.len, 0, NULL) : NULL;
	if (status >= 200 && status < 300) {
		*ret = j ? j : json_stringn(b.data ? b.data : "", b.len);
		goto out;
	}
	const char *err = json_string_value(json_object_get(j, "error"));
	const char *field = json_string_value(json_object_get(j, "field"));
	if (field && *field)
		fprintf(stderr, "%s: %s (field \"%s\", HTTP %ld)\n", c->prog,
			err ? err : "error", field, status);
	else
		fprintf(stderr, "%s: %s (HTTP %ld)\n", c->prog,
			err ? err : (b.data ? b.data : "error"), status);
	if (status == 401)
		fprintf(stderr,
			"%s: set a token with --token or "
			"TSSRLAB_TOKEN\n",
			c->prog);
	json_decref(j);
	rc = exit_for(status);
out:
	tl_buf_clear(&b);
	free(url);
	return rc;
}

const char *tl_client_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

bool tl_client_tty(void)
{
	return isatty(STDERR_FILENO);
}

void tl_client_progress(const char *label, long done, long total)
{
	const int width = 30;
	int fill = total > 0 ? (int)(width * done / total) : 0;
	if (fill > width)
		fill = width;
	char bar[64];
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(width - fill));
	bar[width] = '\0';
	fprintf(stderr, "\r%-22.22s [%s] %ld/%ld ", label, bar, done, total);
	fflush(stderr);
}

void tl_client_progress_end(void)
{
	fputc('\n', stderr);
}

void tl_client_print_json(const json_t *j)
{
	if (json_is_string(j)) {
		fputs(json_string_value(j), stdout);
		return;
	}
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
}

void tl_client_time(long long t, char *ret, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(ret, cap, "%Y-%m-%d %H:%M", &tm);
}
