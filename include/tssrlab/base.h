/*
 * base.h: what every tssrlab module shares and nothing more.
 *
 * - tl_error: the error a function fills when it fails, with a message a
 *   user can act on (what failed, on which object, what was expected).
 *   Library code fills it and returns; only the caller that decides logs.
 * - TL_AUTO / TL_AUTOFREE: scope-bound cleanup (__attribute__((cleanup))),
 *   so that every early return frees what the function owns.
 * - tl_buf: a growable byte buffer with a hard ceiling (curl's dynbuf idea):
 *   every buffer filled from outside input has a limit.
 * - tl_log: one logging entry point writing key=value lines to stderr.
 */
#ifndef TSSRLAB_BASE_H
#define TSSRLAB_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define TL_ERROR_MAX 1024

typedef struct tl_error {
	char msg[TL_ERROR_MAX];
} tl_error;

/* Set err's message (printf-style). err may be NULL. Always returns -1. */
int tl_error_set(tl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix err's current message with a context string ("ctx: msg"). */
void tl_error_prefix(tl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Cleanup helpers. */
static inline void tl_freep(void *p)
{
	free(*(void **)p);
}
#define TL_AUTOFREE __attribute__((cleanup(tl_freep)))
/* TL_AUTO(type): declares a local freed with type##_freep at scope end. */
#define TL_AUTO(type) __attribute__((cleanup(type##_freep))) type *
#define TL_DEFINE_FREEP(type, fn)                                              \
	static inline void type##_freep(type **p)                              \
	{                                                                      \
		if (*p)                                                        \
			fn(*p);                                                \
	}
/* Hand ownership on: returns the pointer and clears the variable. */
#define TL_TAKE_PTR(p)                                                         \
	({                                                                     \
		__typeof__(p) tl_tmp_ = (p);                                   \
		(p) = NULL;                                                    \
		tl_tmp_;                                                       \
	})

/* Allocation that aborts on out-of-memory (the daemon cannot go on). */
void *tl_xmalloc(size_t n);
void *tl_xcalloc(size_t n, size_t size);
void *tl_xrealloc(void *p, size_t n);
char *tl_xstrdup(const char *s);
char *tl_xstrndup(const char *s, size_t n);
char *tl_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable buffer with a hard limit; always NUL-terminated. */
typedef struct tl_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0 = no limit (only for internally produced data) */
	bool truncated; /* set when an append hit the limit */
} tl_buf;

void tl_buf_init(tl_buf *b, size_t limit);
/* Appends; past the limit appends what fits, sets truncated, returns -1. */
int tl_buf_append(tl_buf *b, const void *data, size_t n);
int tl_buf_puts(tl_buf *b, const char *s);
int tl_buf_printf(tl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s quoted for a POSIX shell ('...' with ' escaped). */
int tl_buf_shell_quote(tl_buf *b, const char *s);
/* Returns the data and resets the buffer (caller owns the string). */
char *tl_buf_steal(tl_buf *b);
void tl_buf_clear(tl_buf *b);

/* Logging: level, event name, then key=value pairs as one preformatted
 * string. Values with spaces are quoted by the caller via tl_log_kv. */
typedef enum { TL_LOG_DEBUG, TL_LOG_INFO, TL_LOG_WARN, TL_LOG_ERROR } tl_log_level;
void tl_log_set_level(tl_log_level level);
void tl_log(tl_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reads a whole file (at most limit bytes) into a NUL-terminated string. */
char *tl_file_read(const char *path, size_t limit, size_t *ret_len,
		   tl_error *err);

/* Hex encoding of bytes (lowercase); ret must hold 2*n+1 bytes. */
void tl_hex_encode(const unsigned char *in, size_t n, char *ret);
/* Fills buf with n cryptographically random bytes (getrandom). */
int tl_random_bytes(void *buf, size_t n, tl_error *err);
/* Sleeps ms milliseconds, resuming after a signal handler ran (callers that
 * watch a flag set by a handler see it at most ms later). */
void tl_sleep_ms(int ms);
/* A monotonic clock in milliseconds (for durations and deadlines). */
double tl_now_ms(void);

#endif
