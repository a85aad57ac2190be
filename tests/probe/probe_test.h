/*
 * probe_test.h: what the probe engine's tests share on top of tl_test.h:
 * the loopback sshd started by sshd-fixture.sh (read from the environment),
 * temp folders removed at exit, a clock, and tiny loopback servers.
 */
#ifndef TL_PROBE_TEST_H
#define TL_PROBE_TEST_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tl_test.h"
#include "tssrlab/base.h"
#include "tssrlab/ssh.h"

static inline double pt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The fixture's servers. Exits 77 (skip) when not run by sshd-fixture.sh. */
static inline tl_ssh_target pt_target(void)
{
	const char *port = getenv("TL_TEST_SSH_PORT");
	if (!port || !getenv("TL_TEST_SSH_KEY")) {
		fprintf(stderr,
			"SKIP: run me through tests/probe/sshd-fixture.sh\n");
		exit(77);
	}
	tl_ssh_target t = {
	    .host = "127.0.0.1",
	    .port = atoi(port),
	    .user = "root",
	    .key_path = getenv("TL_TEST_SSH_KEY"),
	    .pinned_fp = getenv("TL_TEST_SSH_FP"),
	    .connect_timeout_s = 10,
	};
	return t;
}

/* Runs a shell command line; returns its exit status (tests only). */
static inline int pt_sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline int pt_sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line a shell command prints (new string, "" on failure). */
static inline char *pt_sh_out(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char line[4096] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		pclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	return tl_xstrdup(line);
}

/* Removes a folder tree (tests only: no symlink games in our temp dirs). */
static inline void pt_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *p = tl_xasprintf("%s/%s", path, e->d_name);
			pt_rm_rf(p);
			free(p);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static char pt_tmp_[256];
static void pt_tmp_cleanup_(void)
{
	if (pt_tmp_[0] && !getenv("TL_KEEP_TMP")) /* debugging: keep it */
		pt_rm_rf(pt_tmp_);
}
static void pt_tmp_signal_(int sig)
{
	pt_tmp_cleanup_();
	signal(sig, SIG_DFL);
	raise(sig);
}
/* One temp folder per test program, removed at exit and on fatal signals. */
static inline const char *pt_tmpdir(void)
{
	if (pt_tmp_[0])
		return pt_tmp_;
	snprintf(pt_tmp_, sizeof pt_tmp_, "/tmp/tl-probe-test.XXXXXX");
	if (!mkdtemp(pt_tmp_)) {
		perror("mkdtemp");
		exit(1);
	}
	chmod(pt_tmp_, 0755);
	atexit(pt_tmp_cleanup_);
	signal(SIGTERM, pt_tmp_signal_);
	signal(SIGINT, pt_tmp_signal_);
	signal(SIGABRT, pt_tmp_signal_);
	return pt_tmp_;
}

static inline void pt_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* A TCP listener on 127.0.0.1 (port 0: any); returns the fd, sets *port. */
static inline int pt_listen(int *port, int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		perror("listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
static inline int pt_closed_port(void)
{
	int port;
	int fd = pt_listen(&port, SOCK_STREAM);
	close(fd);
	return port;
}

#endif
