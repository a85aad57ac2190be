/*
 * log.c: the one logging module. Lines are structured for grep and for
 * log shippers: "ts=... level=... event=... key=value ...", on stderr.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "tssrlab/base.h"

static tl_log_level min_level = TL_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void tl_log_set_level(tl_log_level level)
{
	min_level = level;
}

void tl_log(tl_log_level level, const char *event, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (level < min_level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "ts=%s.%03ldZ level=%s event=%s", when,
		ts.tv_nsec / 1000000, names[level], event);
	if (fmt && *fmt) {
		va_list ap;
		va_start(ap, fmt);
		fputc(' ', stderr);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}
