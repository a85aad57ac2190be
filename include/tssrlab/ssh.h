/*
 * ssh.h: running one command on a machine over SSH, with the host key
 * pinned. The contract between orchestrator/probe (which implements it
 * with libssh, the only module that may) and its users: the provisioner
 * (readiness, personalisation, setup steps) and the grader (agent batches).
 */
#ifndef TSSRLAB_SSH_H
#define TSSRLAB_SSH_H

#include <stdbool.h>
#include <stddef.h>

#include "tssrlab/base.h"

typedef struct tl_ssh_target {
	const char *host;     /* "127.0.0.1" in loopback access mode */
	int port;
	const char *user;     /* "root" */
	const char *key_path; /* private key file (ed25519) */
	/* "SHA256:<base64>" as ssh-keygen -lf prints it. NULL: accept any
	 * key and report it in ret->host_fp (first contact at provisioning
	 * only); otherwise a mismatch fails with TL_SSH_HOSTKEY_MISMATCH. */
	const char *pinned_fp;
	int connect_timeout_s;
} tl_ssh_target;

typedef enum {
	TL_SSH_OK = 0,
	TL_SSH_CONNECT = -1,          /* unreachable, refused, timeout */
	TL_SSH_HOSTKEY_MISMATCH = -2, /* pinned key differs: refuse */
	TL_SSH_AUTH = -3,             /* key not accepted */
	TL_SSH_TIMEOUT = -4,          /* command ran past its timeout */
	TL_SSH_PROTOCOL = -5,         /* any other SSH failure */
} tl_ssh_status;

typedef struct tl_ssh_result {
	int exit_status; /* -1 when the command was killed or none came */
	char *out;       /* stdout, NUL-terminated, at most out_limit bytes */
	size_t out_len;
	bool out_truncated;
	char *err; /* stderr, same limit */
	size_t err_len;
	char *host_fp; /* the server's key, "SHA256:<base64>" */
	bool err_truncated; /* stderr went past out_limit */
	double ms;          /* wall time of the whole call, connect included */
} tl_ssh_result;

/* Connects, checks the host key, authenticates with the key, runs command
 * (through the user's shell, as sshd does), writes stdin_data (may be NULL)
 * then EOF, and collects output until exit or timeout_s. Returns a
 * tl_ssh_status; err says what failed in words. ret is filled in every
 * case where a connection was made (host_fp at least).
 * Details: connect_timeout_s (default 10) bounds the TCP connection, the
 * key exchange and authentication; timeout_s counts from the start of the
 * command. Output past out_limit (0: 1 MiB) is read and discarded, and
 * out_truncated / err_truncated are set. On timeout the channel is closed
 * and what came so far is kept in ret. The caller owns ret's strings
 * (tl_ssh_result_clear). Safe to call from several threads at once. */
int tl_ssh_run(const tl_ssh_target *t, const char *command,
	       const char *stdin_data, size_t stdin_len, int timeout_s,
	       size_t out_limit, tl_ssh_result *ret, tl_error *err);
/* Frees r's strings and zeroes it; r may be NULL. */
void tl_ssh_result_clear(tl_ssh_result *r);

/* Formats a SHA-256 digest as ssh-keygen -lf prints it: "SHA256:" and the
 * unpadded base64 of the 32 bytes. ret must hold TL_SSH_FP_MAX bytes. */
#define TL_SSH_FP_MAX 64
void tl_ssh_fingerprint_format(const unsigned char digest[32], char *ret);
/* Compares two fingerprints, ignoring base64 padding ('=') at the end. */
bool tl_ssh_fingerprint_equal(const char *a, const char *b);
/* A status as a short word ("connect", "hostkey-mismatch", ...). Static. */
const char *tl_ssh_status_name(int status);

/* Waits until host:port answers with an SSH banner ("SSH-2.0-..."), up to
 * timeout_s. Cheap: no libssh session. Returns 0 or -1 with err set. */
int tl_ssh_wait_banner(const char *host, int port, int timeout_s,
		       tl_error *err);

#endif
