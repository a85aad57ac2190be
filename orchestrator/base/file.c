/*
 * file.c: reading whole files with a size ceiling, and random bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tssrlab/base.h"

char *tl_file_read(const char *path, size_t limit, size_t *ret_len,
		   tl_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tl_error_set(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	tl_buf b;
	tl_buf_init(&b, limit);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tl_error_set(err, "%s: read failed: %s", path,
				     strerror(errno));
			close(fd);
			tl_buf_clear(&b);
			return NULL;
		}
		if (n == 0)
			break;
		if (tl_buf_append(&b, chunk, (size_t)n) < 0) {
			tl_error_set(err, "%s: file larger than %zu bytes",
				     path, limit);
			close(fd);
			tl_buf_clear(&b);
			return NULL;
		}
	}
	close(fd);
	if (ret_len)
		*ret_len = b.len;
	return tl_buf_steal(&b);
}

int tl_random_bytes(void *buf, size_t n, tl_error *err)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return tl_error_set(err, "getrandom: %s",
					    strerror(errno));
		p += r;
		n -= (size_t)r;
	}
	return 0;
}
