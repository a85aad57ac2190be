/*
 * time.c: sleeping.
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
