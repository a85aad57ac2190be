/*
 * time.c: sleeping, and a monotonic clock.
 */
#include <errno.h>
#include <time.h>

#include "tssrlab/base.h"

void tl_sleep_ms(int ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double tl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
