/*
 * error.c: tl_error, the one way a function tells its caller what went
 * wrong. A message names the object and what was expected; context is
 * added on the way up with tl_error_prefix ("lab lan-01: machine srv: ...").
 */
#include <stdio.h>
#include <string.h>

#include "tssrlab/base.h"

int tl_error_set(tl_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void tl_error_prefix(tl_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[TL_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	char joined[2 * TL_ERROR_MAX + 2];
	snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg);
	memcpy(err->msg, joined, sizeof err->msg - 1);
	err->msg[sizeof err->msg - 1] = '\0';
}
