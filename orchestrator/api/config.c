/*
 * config.c: tssrlabd's configuration file — "key = value" lines, '#'
 * comments, values optionally in double quotes — read over built-in
 * defaults that give a working single-machine setup. Every key, its type
 * and its default are listed in docs/daemon.md; an unknown key or a bad
 * value is refused with "file:line: what is wrong", never ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tssrlab/daemon.h"

void tl_config_defaults(tl_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->state_dir = tl_xstrdup("/var/lib/tssrlab");
	cfg->db = tl_xstrdup("state.db");
	cfg->listen = tl_xstrdup("127.0.0.1");
	cfg->port = 8640;
	cfg->http_threads = 4;
	cfg->max_connections = 1024;
	cfg->connection_timeout_s = 30;
	cfg->max_body = 1u << 20;
	cfg->workers = 4;
	cfg->log_level = tl_xstrdup("info");
	cfg->backend = tl_xstrdup("libvirt");
	cfg->libvirt_uri = tl_xstrdup("qemu:///system");
	cfg->accel = tl_xstrdup("kvm");
	cfg->reconcile = tl_xstrdup("on");
	cfg->solutions = tl_xstrdup("off");
	cfg->access_address = tl_xstrdup("127.0.0.1");
	cfg->access = tl_xstrdup("loopback");
	cfg->ready_timeout_s = 300;
	cfg->provision_wait = tl_xstrdup("ssh");
	cfg->tick_ms = 1000;
	cfg->test_provision_ms = 200;
	cfg->test_grade_ms = 100;
	cfg->test_machine_port = 40022;
}

void tl_config_clear(tl_config *cfg)
{
	char **strs[] = {
	    &cfg->file,		  &cfg->state_dir,   &cfg->db,
	    &cfg->definitions,	  &cfg->listen,	     &cfg->port_file,
	    &cfg->tls_cert,	  &cfg->tls_key,     &cfg->pid_file,
	    &cfg->log_file,	  &cfg->log_level,   &cfg->admin_token_file,
	    &cfg->backend,	  &cfg->libvirt_uri, &cfg->accel,
	    &cfg->access_address, &cfg->ssh_key,     &cfg->access,
	    &cfg->images_dir,	  &cfg->pool_path,   &cfg->provision_wait,
	    &cfg->reconcile,	  &cfg->solutions,   &cfg->web_root,
	    &cfg->warm_dir};
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

char *tl_config_db_path(const tl_config *cfg)
{
	if (cfg->db[0] == '/')
		return tl_xstrdup(cfg->db);
	return tl_xasprintf("%s/%s", cfg->state_dir, cfg->db);
}

typedef enum { K_STR, K_INT, K_SIZE, K_LONG, K_CHOICE } key_type;

typedef struct {
	const char *name;
	key_type type;
	size_t off;
	long min, max;
	const char *choices; /* K_CHOICE: "a|b|c" */
} key_def;

#define S(f) offsetof(tl_config, f)
static const key_def keys[] = {
    {"state_dir", K_STR, S(state_dir), 0, 0, NULL},
    {"db", K_STR, S(db), 0, 0, NULL},
    {"definitions", K_STR, S(definitions), 0, 0, NULL},
    {"listen", K_STR, S(listen), 0, 0, NULL},
    {"port", K_INT, S(port), 0, 65535, NULL},
    {"port_file", K_STR, S(port_file), 0, 0, NULL},
    {"tls_cert", K_STR, S(tls_cert), 0, 0, NULL},
    {"tls_key", K_STR, S(tls_key), 0, 0, NULL},
    {"http_threads", K_INT, S(http_threads), 1, 64, NULL},
    {"max_connections", K_INT, S(max_connections), 1, 65536, NULL},
    {"connection_timeout", K_INT, S(connection_timeout_s), 1, 3600, NULL},
    {"max_body", K_SIZE, S(max_body), 1024, 64L << 20, NULL},
    {"workers", K_INT, S(workers), 1, 256, NULL},
    {"pid_file", K_STR, S(pid_file), 0, 0, NULL},
    {"log_file", K_STR, S(log_file), 0, 0, NULL},
    {"log_level", K_CHOICE, S(log_level), 0, 0, "debug|info|warn|error"},
    {"admin_token_file", K_STR, S(admin_token_file), 0, 0, NULL},
    {"backend", K_CHOICE, S(backend), 0, 0, "libvirt|test"},
    {"libvirt_uri", K_STR, S(libvirt_uri), 0, 0, NULL},
    {"accel", K_CHOICE, S(accel), 0, 0, "kvm|tcg"},
    {"access_address", K_STR, S(access_address), 0, 0, NULL},
    {"ssh_key", K_STR, S(ssh_key), 0, 0, NULL},
    {"access", K_CHOICE, S(access), 0, 0, "loopback|bridged"},
    {"images_dir", K_STR, S(images_dir), 0, 0, NULL},
    {"pool_path", K_STR, S(pool_path), 0, 0, NULL},
    {"warm_dir", K_STR, S(warm_dir), 0, 0, NULL},
    {"ready_timeout", K_INT, S(ready_timeout_s), 10, 3600, NULL},
    {"provision_wait", K_CHOICE, S(provision_wait), 0, 0, "ssh|none"},
    {"reconcile", K_CHOICE, S(reconcile), 0, 0, "on|off"},
    {"solutions", K_CHOICE, S(solutions), 0, 0, "off|on"},
    {"web_root", K_STR, S(web_root), 0, 0, NULL},
    {"tick_ms", K_INT, S(tick_ms), 10, 60000, NULL},
    {"db_max_pages", K_LONG, S(db_max_pages), 0, LONG_MAX, NULL},
    {"test_provision_ms", K_INT, S(test_provision_ms), 0, 600000, NULL},
    {"test_grade_ms", K_INT, S(test_grade_ms), 0, 600000, NULL},
    {"test_machine_port", K_INT, S(test_machine_port), 1024, 65000, NULL},
};
#undef S

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && !strncmp(p, v, n))
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int set_key(tl_config *cfg, const key_def *k, const char *v,
		   const char *where, tl_error *err)
{
	char *base = (char *)cfg;
	if (k->type == K_STR || k->type == K_CHOICE) {
		if (k->type == K_CHOICE && !choice_ok(k->choices, v))
			return tl_error_set(err,
					    "%s: %s: \"%s\" is not one of %s",
					    where, k->name, v, k->choices);
		char **dst = (char **)(base + k->off);
		free(*dst);
		*dst = *v ? tl_xstrdup(v) : NULL;
		return 0;
	}
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (k->type == K_SIZE && end != v) {
		if (*end == 'k' || *end == 'K')
			n <<= 10, end++;
		else if (*end == 'M' || *end == 'm')
			n <<= 20, end++;
	}
	if (errno || end == v || *end || n < k->min || n > k->max)
		return tl_error_set(err,
				    "%s: %s: \"%s\" is not a number in "
				    "[%ld, %ld]",
				    where, k->name, v, k->min, k->max);
	if (k->type == K_INT)
		*(int *)(base + k->off) = (int)n;
	else if (k->type == K_LONG)
		*(long *)(base + k->off) = (long)n;
	else
		*(size_t *)(base + k->off) = (size_t)n;
	return 0;
}

static int parse(const char *path, char *text, tl_config *cfg, tl_error *err)
{
	int lineno = 0;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char where[512];
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		char *eq = strchr(s, '=');
		if (!eq)
			return tl_error_set(err,
					    "%s: expected \"key = value\", got "
					    "\"%.60s\"",
					    where, s);
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		const key_def *k = NULL;
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
			if (!strcmp(keys[i].name, key))
				k = &keys[i];
		if (!k)
			return tl_error_set(err,
					    "%s: unknown key \"%s\" (see "
					    "docs/daemon.md)",
					    where, key);
		if (set_key(cfg, k, val, where, err) < 0)
			return -1;
	}
	return 0;
}

int tl_config_load(const char *path, tl_config *cfg, tl_error *err)
{
	tl_config_defaults(cfg);
	if (path) {
		TL_AUTOFREE char *text =
		    tl_file_read(path, 1u << 20, NULL, err);
		if (!text || parse(path, text, cfg, err) < 0) {
			tl_config_clear(cfg);
			return -1;
		}
		cfg->file = tl_xstrdup(path);
	}
	if (!cfg->state_dir || !cfg->db) {
		tl_config_clear(cfg);
		return tl_error_set(err,
				    "%s: state_dir and db must not be "
				    "empty",
				    path ? path : "defaults");
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		tl_config_clear(cfg);
		return tl_error_set(err,
				    "%s: tls_cert and tls_key go together "
				    "(set both or neither)",
				    path ? path : "defaults");
	}
	if (!cfg->pid_file)
		cfg->pid_file = tl_xasprintf("%s/tssrlabd.pid", cfg->state_dir);
	if (!cfg->log_file)
		cfg->log_file = tl_xasprintf("%s/tssrlabd.log", cfg->state_dir);
	if (!cfg->admin_token_file)
		cfg->admin_token_file =
		    tl_xasprintf("%s/admin.token", cfg->state_dir);
	if (!cfg->ssh_key)
		cfg->ssh_key =
		    tl_xasprintf("%s/keys/mgmt_ed25519", cfg->state_dir);
	return 0;
}
