/*
 * auth.c: bearer tokens. A token is 24 random bytes in hex behind a "tlk_"
 * prefix (greppable in leaked logs); the store keeps only its SHA-256, so
 * the database alone opens nothing. The first admin token comes from
 * `tssrlabd --init-admin` (printed once) or, on a first start with no
 * admin, is written to a file in the state dir that only root can read.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tssrlabd.h"

int tl_auth_token_new(char *ret, size_t cap, tl_error *err)
{
	unsigned char raw[24];
	if (cap < 4 + 2 * sizeof raw + 1)
		return tl_error_set(err, "token buffer too small");
	if (tl_random_bytes(raw, sizeof raw, err) < 0)
		return -1;
	memcpy(ret, "tlk_", 4);
	tl_hex_encode(raw, sizeof raw, ret + 4);
	return 0;
}

int tl_auth_token_hash(const char *token, char ret[65], tl_error *err)
{
	unsigned char digest[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), digest) <
	    0)
		return tl_error_set(err, "SHA-256 failed");
	tl_hex_encode(digest, sizeof digest, ret);
	return 0;
}

int tl_auth_issue(tl_daemon *d, const char *name, const char *role,
		  const char *session, const char *trainee, char *ret,
		  size_t cap, tl_error *err)
{
	char hash[65];
	if (tl_auth_token_new(ret, cap, err) < 0 ||
	    tl_auth_token_hash(ret, hash, err) < 0)
		return -1;
	return tl_store_token_add(d->store, name, role, session, trainee, hash,
				  err);
}

int tl_auth_bootstrap(tl_daemon *d, bool *ret_created, tl_error *err)
{
	*ret_created = false;
	int64_t n = 0;
	int rc = tl_store_user_count(d->store, "admin", &n, err);
	if (rc < 0 || n > 0)
		return rc;
	char token[80];
	if (tl_auth_issue(d, "admin", "admin", NULL, NULL, token, sizeof token,
			  err) < 0)
		return -1;
	const char *path = d->cfg.admin_token_file;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return tl_error_set(err, "%s: cannot write the admin token: %s",
				    path, strerror(errno));
	fchmod(fd, 0600);
	char line[96];
	int len = snprintf(line, sizeof line, "%s\n", token);
	ssize_t w = write(fd, line, (size_t)len);
	close(fd);
	if (w != len)
		return tl_error_set(err, "%s: short write", path);
	tl_store_audit(d->store, "tssrlabd", "admin.bootstrap", path, NULL,
		       NULL);
	*ret_created = true;
	return 0;
}
