#!/usr/bin/env bash
# sshd-fixture.sh: runs a test program against real OpenSSH servers on
# 127.0.0.1, the way curl's tests/sshserver.pl does it.
#
#   sshd-fixture.sh PROGRAM [ARGS...]
#
# Every run gets a temp folder with fresh keys (two host keys, an
# authorised client key and a second client key that is not authorised),
# its own sshd_config (ListenAddress 127.0.0.1, a free port, PidFile and
# AuthorizedKeysFile in the folder, StrictModes no, public keys only, no
# PAM) and two sshd -D -e processes: the main one and an "alternate" one
# with another host key (a machine whose key changed). When the kernel
# lets us (unshare -m), each sshd runs in its own mount namespace where
# /root is a folder of the fixture: tests can give the "trainee" a
# ~/.bashrc without touching the host's.
#
# The program gets, in its environment:
#   TL_TEST_SSH_PORT, TL_TEST_SSH_FP       main server's port and key
#   TL_TEST_SSH_ALT_PORT, TL_TEST_SSH_ALT_FP  the alternate server
#   TL_TEST_SSH_KEY                        the authorised client key
#   TL_TEST_SSH_BADKEY                     a key the servers refuse
#   TL_TEST_SSH_HOME                       root's home as the servers see
#                                          it (empty without unshare)
#   TL_TEST_SSH_DIR                        the fixture's folder
# Everything (servers, folder) is removed on exit, whatever the outcome.
# Exits 77 (meson's "skipped") when not root or sshd is missing.
set -uo pipefail

SSHD=${TSSRLAB_SSHD:-/usr/sbin/sshd}
log() { printf 'sshd-fixture: %s\n' "$*" >&2; }
[ $# -ge 1 ] || { log "usage: sshd-fixture.sh PROGRAM [ARGS...]"; exit 2; }
[ -x "$SSHD" ] || { log "SKIP: $SSHD not found (apt-get install openssh-server)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { log "SKIP: needs root (the test sshd logs in root)"; exit 77; }
command -v ssh-keygen >/dev/null || { log "SKIP: ssh-keygen not found"; exit 77; }

dir=$(mktemp -d /tmp/tl-sshd.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
	local rc=$? p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$dir/sshd.log" ]; then
		log "last lines of the sshd logs:"
		tail -n 20 "$dir"/sshd*.log >&2
	fi
	rm -rf "$dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for k in host host2 client other; do
	ssh-keygen -q -t ed25519 -N '' -C "tl-test-$k" -f "$dir/$k" || { log "ssh-keygen failed"; exit 1; }
done
cp "$dir/client.pub" "$dir/authorized_keys"
mkdir -p "$dir/home" /run/sshd
chmod 700 "$dir/home"

# The mount namespace trick needs CAP_SYS_ADMIN; without it the servers run
# as they are and tests that need a private home skip themselves.
ns=0
if unshare -m -- true 2>/dev/null; then
	ns=1
fi

# start_sshd NAME HOSTKEY: starts a server on a free port; sets PORT.
start_sshd() {
	local name=$1 key=$2 try p i line
	for try in 1 2 3 4 5 6 7 8 9 10; do
		p=$((20000 + RANDOM % 40000))
		cat >"$dir/$name.conf" <<EOF
ListenAddress 127.0.0.1
Port $p
HostKey $key
PidFile $dir/$name.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 64
MaxSessions 64
LogLevel ERROR
EOF
		if [ "$ns" = 1 ]; then
			unshare -m -- sh -c 'mount --bind "$1" /root && exec "$2" -D -e -f "$3"' \
				sh "$dir/home" "$SSHD" "$dir/$name.conf" 2>>"$dir/$name.log" &
		else
			"$SSHD" -D -e -f "$dir/$name.conf" 2>>"$dir/$name.log" &
		fi
		local pid=$!
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if { exec 3<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null; then
				line=""
				read -r -t 2 line <&3 || true
				exec 3<&- 3>&-
				if [[ $line == SSH-* ]]; then
					pids+=("$pid")
					PORT=$p
					return 0
				fi
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		log "sshd $name did not start on port $p (try $try): $(tail -n 1 "$dir/$name.log" 2>/dev/null)"
	done
	return 1
}

start_sshd sshd "$dir/host" || { log "cannot start the test sshd"; exit 1; }
TL_TEST_SSH_PORT=$PORT
start_sshd sshd-alt "$dir/host2" || { log "cannot start the alternate sshd"; exit 1; }
TL_TEST_SSH_ALT_PORT=$PORT

export TL_TEST_SSH_PORT TL_TEST_SSH_ALT_PORT
TL_TEST_SSH_FP=$(ssh-keygen -lf "$dir/host.pub" | awk '{print $2}')
TL_TEST_SSH_ALT_FP=$(ssh-keygen -lf "$dir/host2.pub" | awk '{print $2}')
export TL_TEST_SSH_FP TL_TEST_SSH_ALT_FP
export TL_TEST_SSH_KEY=$dir/client TL_TEST_SSH_BADKEY=$dir/other
export TL_TEST_SSH_DIR=$dir
if [ "$ns" = 1 ]; then
	export TL_TEST_SSH_HOME=$dir/home
else
	export TL_TEST_SSH_HOME=
fi

"$@"
