/*
 * tssrlabd.c: the daemon's entry point — options, configuration, daemon
 * mode, pid file, signals, and the order in which the parts start and
 * stop.
 *
 * Start: configuration and definitions are checked first (`-n` stops
 * there with "configuration OK", after relayd's -n); then the state dir,
 * the pid file (locked: one daemon per state dir), the store, the
 * backend, crash recovery (jobs a crash cut are resumed or rolled back,
 * then the backend reconciles), the first admin token when there is no
 * admin yet, the job workers, and last the HTTP server. In daemon mode the
 * parent exits only once the server listens (or with the reason it could
 * not), so `tssrlabd && curl ...` works.
 *
 * Signals are taken by the main thread only (sigwait): SIGHUP reloads the
 * definitions (validated first; a bad set keeps the old one and the
 * reason is logged); SIGTERM/SIGINT stop gracefully — no new requests,
 * the jobs under way finish, the store is closed. A second SIGTERM during
 * the wait exits at once: the next start recovers the cut jobs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tssrlabd.h"

#define DEFAULT_CONFIG "/etc/tssrlab/tssrlabd.conf"

static void usage(FILE *f)
{
	fputs("usage: tssrlabd [-f] [-n] [-c CONFIG] [-D DATADIR] "
	      "[--init-admin]\n"
	      "  -f            stay in the foreground (log to stderr)\n"
	      "  -n            check the configuration and definitions, then "
	      "exit\n"
	      "                (\"configuration OK\")\n"
	      "  -c CONFIG     configuration file (default " DEFAULT_CONFIG "\n"
	      "                when it exists, else built-in defaults)\n"
	      "  -D DATADIR    definitions folder (overrides `definitions`)\n"
	      "  --init-admin  create an admin token, print it once, exit\n"
	      "Signals: SIGHUP reloads definitions, SIGTERM stops gracefully.\n"
	      "Reference: docs/daemon.md\n",
	      f);
}

static void log_level_from(const char *name)
{
	tl_log_level l = TL_LOG_INFO;
	if (!strcmp(name, "debug"))
		l = TL_LOG_DEBUG;
	else if (!strcmp(name, "warn"))
		l = TL_LOG_WARN;
	else if (!strcmp(name, "error"))
		l = TL_LOG_ERROR;
	tl_log_set_level(l);
}

/* Daemon mode: fork twice; the parent waits on a pipe until the child
 * says it is serving (or why it is not). Returns the fd the child writes
 * its status to (-1 in the foreground). */
static int daemonize(const char *log_file)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("tssrlabd: pipe");
		exit(3);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("tssrlabd: fork");
		exit(3);
	}
	if (pid > 0) {
		close(p[1]);
		char buf[TL_ERROR_MAX];
		ssize_t n = read(p[0], buf, sizeof buf - 1);
		if (n <= 0) {
			fputs("tssrlabd: the daemon exited during start-up; "
			      "see its log\n",
			      stderr);
			exit(3);
		}
		buf[n] = '\0';
		if (strcmp(buf, "ok")) {
			fprintf(stderr, "tssrlabd: %s\n", buf);
			exit(3);
		}
		exit(0);
	}
	close(p[0]);
	setsid();
	if (fork() > 0)
		_exit(0);
	umask(077);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log =
	    open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (null >= 0)
		dup2(null, 0);
	if (log >= 0) {
		dup2(log, 1);
		dup2(log, 2);
		close(log);
	}
	if (null > 2)
		close(null);
	return p[1];
}

static void notify(int fd, const char *msg)
{
	if (fd < 0)
		return;
	ssize_t w = write(fd, msg, strlen(msg));
	(void)w;
	close(fd);
}

static int pidfile_lock(const char *path, tl_error *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return tl_error_set(err, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
		return tl_error_set(err,
				    "%s: another tssrlabd runs on this state "
				    "dir (pid %s)",
				    path, strtok(buf, "\n") ?: "?");
	}
	char line[32];
	int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, line, (size_t)len) != len) {
		close(fd);
		return tl_error_set(err, "%s: cannot write", path);
	}
	return fd; /* kept open: the lock lives as long as we do */
}

static int write_port_file(const char *path, int port, tl_error *err)
{
	TL_AUTOFREE char *tmp = tl_xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return tl_error_set(err, "%s: %s", tmp, strerror(errno));
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return tl_error_set(err, "%s: %s", path, strerror(errno));
	return 0;
}

tl_backend *tl_backend_new(const tl_config *cfg, tl_error *err)
{
	if (!strcmp(cfg->backend, "test"))
		return tl_backend_test_new(cfg, err);
#ifdef TL_HAVE_PROVISION
	if (!strcmp(cfg->backend, "libvirt"))
		return tl_backend_libvirt_new(cfg, err);
#endif
	tl_error_set(err,
		     "backend = %s: this tssrlabd was built without the "
		     "libvirt provisioner (orchestrator/provision); set "
		     "backend = test or rebuild with libvirt-dev",
		     cfg->backend);
	return NULL;
}

static int init_admin(tl_daemon *d)
{
	char token[80];
	tl_error err;
	char name[64];
	snprintf(name, sizeof name, "admin-%ld", (long)time(NULL));
	if (tl_auth_issue(d, name, "admin", NULL, NULL, token, sizeof token,
			  &err) < 0) {
		fprintf(stderr, "tssrlabd: %s\n", err.msg);
		return 3;
	}
	tl_store_audit(d->store, "tssrlabd", "admin.init", name, NULL, NULL);
	printf("%s\n", token);
	fprintf(stderr,
		"tssrlabd: admin token for \"%s\" printed above; it is not "
		"stored anywhere (only its hash): keep it now\n",
		name);
	return 0;
}

typedef struct {
	tl_daemon *d;
	volatile bool done;
} stopper;

static void *stop_jobs(void *arg)
{
	stopper *s = arg;
	tl_jobs_stop(s->d);
	s->done = true;
	return NULL;
}

static int serve(tl_daemon *d, int ready_fd)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	tl_log(TL_LOG_INFO, "ready",
	       "listen=%s port=%d tls=%s backend=%s workers=%d state_dir=%s",
	       d->cfg.listen, d->port, d->cfg.tls_cert ? "yes" : "no",
	       d->backend->name, d->cfg.workers, d->cfg.state_dir);
	notify(ready_fd, "ok");
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			tl_error err;
			if (tl_daemon_defs_reload(d, &err) < 0) {
				for (char *p = err.msg; *p; p++)
					if (*p == '\n' || *p == '"')
						*p = *p == '"' ? '\'' : '|';
				tl_log(TL_LOG_ERROR, "reload.refused",
				       "error=\"%s\"", err.msg);
			} else {
				tl_log(TL_LOG_INFO, "reload", "definitions=%s",
				       d->cfg.definitions
					   ? d->cfg.definitions
					   : tl_defs_default_root());
			}
			continue;
		}
		tl_log(TL_LOG_INFO, "stopping", "signal=%d", sig);
		break;
	}
	tl_http_stop(d);
	stopper s = {.d = d};
	pthread_t t;
	pthread_create(&t, NULL, stop_jobs, &s);
	struct timespec wait = {0, 100 * 1000000L};
	while (!s.done) {
		int sig = sigtimedwait(&set, NULL, &wait);
		if (sig == SIGTERM || sig == SIGINT) {
			tl_log(TL_LOG_WARN, "stop.forced",
			       "jobs_running=%d (they resume at next start)",
			       atomic_load(&d->jobs_running));
			_exit(1);
		}
	}
	pthread_join(t, NULL);
	tl_log(TL_LOG_INFO, "stopped", "uptime_s=%lld",
	       (long long)(time(NULL) - d->started));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"init-admin", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	bool check = false, foreground = false, initadmin = false;
	const char *config = NULL, *root = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "fnc:D:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'D':
			root = optarg;
			break;
		case 'A':
			initadmin = true;
			break;
		case 'V':
			printf("tssrlabd %s\n", TL_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!config && access(DEFAULT_CONFIG, F_OK) == 0)
		config = DEFAULT_CONFIG;

	static tl_daemon daemon_ctx;
	tl_daemon *d = &daemon_ctx;
	tl_error err;
	if (tl_config_load(config, &d->cfg, &err) < 0) {
		fprintf(stderr, "tssrlabd: %s\n", err.msg);
		return 1;
	}
	if (root) {
		free(d->cfg.definitions);
		d->cfg.definitions = tl_xstrdup(root);
	}
	log_level_from(d->cfg.log_level);
	pthread_mutex_init(&d->defs_lock, NULL);
	pthread_mutex_init(&d->jobs_lock, NULL);
	pthread_cond_init(&d->jobs_cond, NULL);
	pthread_mutex_init(&d->grid_lock, NULL);
	d->started = (int64_t)time(NULL);

	int rc = 3;
	int ready_fd = -1, pid_fd = -1;
	TL_AUTOFREE char *db = NULL;
	if (tl_daemon_defs_reload(d, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (check) {
		puts("configuration OK");
		rc = 0;
		goto out;
	}
	if (mkdir(d->cfg.state_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "tssrlabd: %s: cannot create: %s\n",
			d->cfg.state_dir, strerror(errno));
		goto out;
	}
	if (!initadmin && !foreground)
		ready_fd = daemonize(d->cfg.log_file);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit it */

	if (!initadmin && (pid_fd = pidfile_lock(d->cfg.pid_file, &err)) < 0)
		goto fail;
	db = tl_config_db_path(&d->cfg);
	tl_store_opts so = {.max_pages = d->cfg.db_max_pages};
	if (!(d->store = tl_store_open(db, &so, &err)))
		goto fail;
	if (initadmin) {
		rc = init_admin(d);
		goto out;
	}
	if (!(d->backend = tl_backend_new(&d->cfg, &err)))
		goto fail;
	if (tl_jobs_recover(d, &err) < 0) {
		tl_error_prefix(&err, "crash recovery");
		goto fail;
	}
	bool created = false;
	if (tl_auth_bootstrap(d, &created, &err) < 0)
		goto fail;
	if (created)
		tl_log(TL_LOG_WARN, "admin.token",
		       "file=%s note=\"first start: the admin token was "
		       "written there (mode 0600)\"",
		       d->cfg.admin_token_file);
	d->events = tl_events_new();
	if (tl_jobs_start(d, &err) < 0 || tl_http_start(d, &err) < 0)
		goto fail;
	if (d->cfg.port_file &&
	    write_port_file(d->cfg.port_file, d->port, &err) < 0)
		goto fail;
	rc = serve(d, ready_fd);
	ready_fd = -1;
	goto out;
fail:
	tl_log(TL_LOG_ERROR, "start.failed", "error=\"%s\"", err.msg);
	if (foreground || initadmin)
		fprintf(stderr, "tssrlabd: %s\n", err.msg);
	notify(ready_fd, err.msg);
	ready_fd = -1;
	rc = 3;
out:
	if (d->mhd)
		tl_http_stop(d);
	if (d->workers)
		tl_jobs_stop(d);
	if (d->events)
		tl_events_free(d->events);
	if (d->backend)
		d->backend->free(d->backend);
	tl_store_close(d->store);
	if (pid_fd >= 0) {
		unlink(d->cfg.pid_file);
		close(pid_fd);
	}
	if (d->defs)
		tl_daemon_defs_put(d, d->defs);
	for (size_t i = 0; i < TL_GRID_CACHE; i++)
		free(d->grid[i].body);
	tl_config_clear(&d->cfg);
	return rc;
}
