# shellcheck shell=bash
# Shared helpers of the image smoke tests (sourced by smoke-*.sh).
#
# A smoke test builds an image (cached), boots it as a transient libvirt
# domain on qemu:///system (TCG, QEMU user networking with a host port forward
# on 127.0.0.1, as in shared/ENVIRONMENT.md) on a linked-clone overlay of the
# base disk, logs in with the management key, and checks persistence across a
# reboot and its loss across a reset (new overlay). Everything it creates
# lives in one temp folder and one domain, removed by the EXIT trap.
# Host keys are not pinned here (StrictHostKeyChecking=no): smoke tests only.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
URI=qemu:///system
KEY=${TSSRLAB_KEY_DIR:-/var/lib/tssrlab/keys}/mgmt_ed25519
T0=$(date +%s.%N)

log() { printf '[%6.1fs] %s\n' "$(awk -v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN{print t1-t0}')" "$*" >&2; }
fail() {
    log "FAIL: $*"
    if [ -n "${WORKDIR:-}" ] && [ -s "$WORKDIR/console.log" ]; then
        echo "---- last lines of the guest serial console ($WORKDIR/console.log) ----" >&2
        tail -n 40 "$WORKDIR/console.log" >&2
        echo "----" >&2
    fi
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

DOMAIN=""
WORKDIR=$(mktemp -d /tmp/tssrlab-smoke.XXXXXX)
chmod 755 "$WORKDIR"
cleanup() {
    local rc=$?
    if [ -n "$DOMAIN" ] && virsh -c "$URI" domstate "$DOMAIN" >/dev/null 2>&1; then
        virsh -c "$URI" destroy "$DOMAIN" >/dev/null 2>&1 || true
    fi
    if [ "$rc" != 0 ] && [ "${KEEP_WORKDIR:-0}" = 1 ]; then
        echo "keeping $WORKDIR" >&2
    else
        rm -rf "$WORKDIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null || fail "$c not found"; done
}

# free_port: a TCP port nobody listens on at 127.0.0.1 (QEMU binds it; a race
# with another process is caught when virsh create fails).
free_port() {
    local p i
    for ((i = 0; i < 50; i++)); do
        p=$((20000 + RANDOM % 20000))
        if [ -z "$(ss -Htln "sport = :$p")" ]; then
            echo "$p"
            return 0
        fi
    done
    fail "no free TCP port found on 127.0.0.1"
}

# image_field JSON-PATH: a field of the image definition.
image_field() { jq -er "$1" "$IMAGE_JSON"; }

# make_overlay: (re)create the linked clone on the base disk ("reset").
make_overlay() {
    rm -f "$WORKDIR/overlay.qcow2"
    qemu-img create -q -f qcow2 -b "$IMAGE_PATH/$(image_field .disk)" -F qcow2 "$WORKDIR/overlay.qcow2" ||
        fail "qemu-img create of the overlay failed"
}

# The guest CPU gets RDRAND (TCG emulates it) so that the guest kernel's
# random pool is ready at once: without it, the first SSH host-key generation
# and sshd wait a second or more for entropy under TCG.
# TSSRLAB_SMOKE_RDRAND=0 leaves QEMU's default CPU (to measure the difference).
cpu_xml() {
    [ "${TSSRLAB_SMOKE_RDRAND:-1}" = 1 ] || return 0
    echo "  <cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model><feature policy='require' name='rdrand'/></cpu>"
}

# domain_xml NAME PORT MEMORY_MIB CMDLINE_EXTRA
domain_xml() {
    local name=$1 port=$2 mem=$3 extra=$4
    cat <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
$(cpu_xml)
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$IMAGE_PATH/$(image_field .boot.kernel)</kernel>
    <initrd>$IMAGE_PATH/$(image_field .boot.initrd)</initrd>
    <cmdline>$(image_field .boot.cmdline) $extra</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$WORKDIR/overlay.qcow2'/>
      <target dev='vda' bus='$(image_field .disk_bus)'/>
    </disk>
    <serial type='file'>
      <source path='$WORKDIR/console.log' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=labnet,hostfwd=tcp:127.0.0.1:$port-:22'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=labnet,bus=pci.0,addr=0x10'/>
  </qemu:commandline>
</domain>
EOF
}

# start_domain NAME MEMORY_MIB CMDLINE_EXTRA: virsh create, sets DOMAIN, PORT, START.
start_domain() {
    local tries
    for tries in 1 2 3; do
        PORT=$(free_port)
        domain_xml "$1" "$PORT" "$2" "$3" >"$WORKDIR/domain.xml"
        CONSOLE_OFFSET=$(stat -c %s "$WORKDIR/console.log" 2>/dev/null || echo 0)
        START=$(now)
        if virsh -c "$URI" create "$WORKDIR/domain.xml" >"$WORKDIR/create.log" 2>&1; then
            DOMAIN=$1
            log "started $1 (ssh forwarded from 127.0.0.1:$PORT)"
            return 0
        fi
        log "virsh create failed (try $tries): $(tr '\n' ' ' <"$WORKDIR/create.log")"
    done
    fail "virsh create of $1 failed 3 times"
}

SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=5)
gssh() { ssh "${SSH_OPTS[@]}" -i "$KEY" -p "$PORT" root@127.0.0.1 "$@"; }

# wait_ready TIMEOUT: wait for the guest's readiness line on the serial
# console ("tssrlab: ready host=… uptime=…", printed by both images once sshd
# listens and eth0 has its address), looking only at console output written
# after CONSOLE_OFFSET; sets READY_AT (seconds from START) and READY_LINE.
#
# Why not just poll the SSH port: with QEMU user networking the host side of a
# forwarded connection is accepted at once, and slirp keeps retransmitting the
# SYN to the guest even after the client gave up. Every probe made before the
# guest's network is up therefore reaches sshd later as a ghost connection;
# dozens of them hit MaxStartups and starve a TCG guest (measured: SSH at 56 to
# 128 s instead of 30 s). A single slow probe instead waits for slirp's SYN
# back-off (up to ~12 s late).
CONSOLE_OFFSET=0
wait_ready() {
    local deadline state i=0
    deadline=$(awk -v s="$(now)" -v t="$1" 'BEGIN{printf "%.3f", s+t}')
    while :; do
        READY_LINE=$(tail -c +"$((CONSOLE_OFFSET + 1))" "$WORKDIR/console.log" 2>/dev/null |
            tr -d '\r' | grep -a -m1 -o 'tssrlab: ready .*' || true)
        if [ -n "$READY_LINE" ]; then
            READY_AT=$(elapsed "$START" "$(now)")
            log "guest ready ${READY_AT}s after start (${READY_LINE#tssrlab: ready })"
            return 0
        fi
        i=$((i + 1))
        if ((i % 10 == 0)); then
            state=$(virsh -c "$URI" domstate "$DOMAIN" 2>&1 || true)
            case $state in
            running* | paused* | "in shutdown"*) ;;
            *) fail "domain $DOMAIN is not running any more (domstate: $state)" ;;
            esac
        fi
        if awk -v d="$deadline" -v n="$(now)" 'BEGIN{exit !(n>d)}'; then
            fail "no 'tssrlab: ready' line on the serial console within $1 s"
        fi
        sleep 0.1
    done
}

# wait_ssh TIMEOUT [OLD_BOOT_ID]: wait for the readiness line, then until the
# guest runs a command over SSH (from a boot other than OLD_BOOT_ID if given);
# sets SSH_AT (seconds from START).
wait_ssh() {
    local deadline out old=${2:-}
    wait_ready "$1"
    deadline=$(awk -v s="$(now)" -v t="$1" 'BEGIN{printf "%.3f", s+t}')
    while :; do
        if out=$(timeout 60 ssh "${SSH_OPTS[@]}" -o ConnectTimeout=20 -i "$KEY" -p "$PORT" root@127.0.0.1 \
            'echo ok; cat /proc/sys/kernel/random/boot_id; uname -r; cat /proc/cmdline' 2>"$WORKDIR/ssh.err") &&
            [ "${out%%$'\n'*}" = ok ]; then
            if [ -z "$old" ] || [ "$(sed -n 2p <<<"$out")" != "$old" ]; then
                SSH_AT=$(elapsed "$START" "$(now)")
                log "SSH answered ${SSH_AT}s after start: $(tail -n +3 <<<"$out" | tr '\n' '|')"
                return 0
            fi
        fi
        if awk -v d="$deadline" -v n="$(now)" 'BEGIN{exit !(n>d)}'; then
            fail "no SSH on 127.0.0.1:$PORT within $1 s of the readiness line (last error: $(tail -n1 "$WORKDIR/ssh.err"))"
        fi
        sleep 0.5
    done
}

# reboot_domain TIMEOUT: virsh reboot (ACPI power button; libvirt resets the
# guest once it powers off), wait until SSH answers from a new boot.
reboot_domain() {
    local before
    before=$(gssh cat /proc/sys/kernel/random/boot_id) || fail "cannot read boot_id before reboot"
    CONSOLE_OFFSET=$(stat -c %s "$WORKDIR/console.log" 2>/dev/null || echo 0)
    START=$(now)
    virsh -c "$URI" reboot "$DOMAIN" >/dev/null || fail "virsh reboot $DOMAIN failed"
    wait_ssh "$1" "$before"
}

# shutdown_domain TIMEOUT: virsh shutdown (ACPI power button) and wait until
# the transient domain is gone; sets DOWN_AT (seconds).
shutdown_domain() {
    local t deadline
    t=$(now)
    virsh -c "$URI" shutdown "$DOMAIN" >/dev/null || fail "virsh shutdown $DOMAIN failed"
    deadline=$(awk -v s="$t" -v d="$1" 'BEGIN{printf "%.3f", s+d}')
    while virsh -c "$URI" domstate "$DOMAIN" >/dev/null 2>&1; do
        if awk -v d="$deadline" -v n="$(now)" 'BEGIN{exit !(n>d)}'; then
            fail "guest did not power off within $1 s of virsh shutdown (ACPI power button ignored?)"
        fi
        sleep 0.2
    done
    DOWN_AT=$(elapsed "$t" "$(now)")
    DOMAIN=""
    log "powered off ${DOWN_AT}s after virsh shutdown"
}

destroy_domain() {
    virsh -c "$URI" destroy "$DOMAIN" >/dev/null 2>&1 || fail "virsh destroy $DOMAIN failed"
    DOMAIN=""
}

# setup_image ID: make sure libvirtd answers, build the image (cached) and
# report build time, image folder and sizes.
setup_image() {
    local id=$1 t
    require virsh qemu-img ssh jq ss timeout awk
    IMAGE_JSON=$ROOT/labs/images/$id.json
    virsh -c "$URI" version >/dev/null 2>&1 ||
        fail "libvirtd does not answer on $URI (run tools/setup-libvirt first)"
    t=$(now)
    IMAGE_PATH=$("$ROOT/tools/build-image" "$id" | tail -n1) || fail "tools/build-image $id failed"
    log "image $id ready in $(elapsed "$t" "$(now)")s: $IMAGE_PATH"
    [ -f "$KEY" ] || fail "management key $KEY missing"
    local disk
    disk=$IMAGE_PATH/$(image_field .disk)
    log "base disk: $(qemu-img info --output=json "$disk" | jq -r '"virtual \(.["virtual-size"]/1048576|floor) MiB, qcow2 file \(.["actual-size"]/1048576*10|floor/10) MiB"')"
}
