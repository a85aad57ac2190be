#!/usr/bin/env bash
# e2e-tiny.sh: runs a test program against a real "tiny" guest.
#
#   e2e-tiny.sh PROGRAM [ARGS...]
#
# Boots the built tiny image (tools/build-image tiny) as a transient
# libvirt domain under TCG on a linked-clone overlay, with SSH forwarded
# from a free port on 127.0.0.1 (QEMU user networking: no traffic leaves
# the host's loopback), waits for SSH, and runs PROGRAM with
#   TL_E2E_PORT    the forwarded SSH port
#   TL_E2E_KEY     the management key
#   TL_E2E_HASHES  the image's hashes.json
#   TL_E2E_DOMAIN  the domain's name
# Boot helpers come from tests/images/lib.sh (the image smoke tests); the
# domain and its temp folder are removed on exit, whatever the outcome.
# Exits 77 (meson's "skipped") without root, libvirtd, or the built image:
# this script never builds the image itself.
set -uo pipefail
skip() { echo "SKIP: $*" >&2; exit 77; }
[ $# -ge 1 ] || { echo "usage: e2e-tiny.sh PROGRAM [ARGS...]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || skip "needs root (qemu:///system)"
for c in virsh qemu-img jq ss ssh timeout awk; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
virsh -c qemu:///system version >/dev/null 2>&1 || skip "libvirtd does not answer on qemu:///system (tools/setup-libvirt)"
IMG=${TSSRLAB_IMAGE_DIR:-/var/lib/tssrlab/images}/tiny
[ -f "$IMG/recipe.sha256" ] && [ -f "$IMG/hashes.json" ] || skip "image tiny not built at $IMG (tools/build-image tiny)"
KEYF=${TSSRLAB_KEY_DIR:-/var/lib/tssrlab/keys}/mgmt_ed25519
[ -f "$KEYF" ] || skip "management key $KEYF missing"

prog=$1
shift
. "$(dirname "$0")/../images/lib.sh"
IMAGE_JSON=$ROOT/labs/images/tiny.json
IMAGE_PATH=$(readlink -f "$IMG")
make_overlay
start_domain "tssrlab-probe-e2e-$$" "$(image_field .min_memory_mib)" "tssrlab.hostname=probe-e2e"
wait_ssh "${TSSRLAB_E2E_TIMEOUT:-90}"
TL_E2E_PORT=$PORT TL_E2E_KEY=$KEY TL_E2E_HASHES=$IMAGE_PATH/hashes.json TL_E2E_DOMAIN=$DOMAIN \
	"$prog" "$@"
