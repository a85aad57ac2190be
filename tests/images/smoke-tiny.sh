#!/usr/bin/env bash
# Smoke test of the "tiny" image: build (cached), boot under TCG on a linked
# clone, SSH in with the management key, check the guest's basics, then
# persistence of /data (and of accounts in /etc) across `virsh reboot`, and
# its loss across a reset (fresh overlay). Needs root and a running libvirtd
# (tools/setup-libvirt). Exit 0 on success.
. "$(dirname "$0")/lib.sh"

setup_image tiny
NAME=tssrlab-smoke-tiny-$$
MEM=$(image_field .min_memory_mib)
TIMEOUT=${TSSRLAB_SMOKE_TIMEOUT:-60}
# After a reset, TCG needs several seconds more before the kernel starts (see README).
REBOOT_TIMEOUT=$((TIMEOUT * 2))

make_overlay
start_domain "$NAME" "$MEM" "tssrlab.hostname=smoke-tiny"
wait_ssh "$TIMEOUT"
first_ssh=$SSH_AT
uptime_at_ssh=$(gssh "cut -d' ' -f1 /proc/uptime")
log "guest uptime when SSH first answered: ${uptime_at_ssh}s"

# --- basics
[ "$(gssh hostname)" = smoke-tiny ] || fail "hostname is '$(gssh hostname)', expected smoke-tiny (tssrlab.hostname=)"
gssh 'grep -q " /data ext4 " /proc/mounts' || fail "/data is not mounted from the ext4 disk"
gssh 'ip -4 -o addr show dev eth0 | grep -q " 10\.0\.2\.15/"' || fail "eth0 has no 10.0.2.15: $(gssh ip -4 -o addr 2>&1)"
gssh 'for c in sha256sum timeout od head adduser addgroup getent ip udhcpc; do command -v $c >/dev/null || { echo missing $c; exit 1; }; done' ||
    fail "guest lacks a required command"
gssh 'echo x | timeout 5 od -An -c | head -n1 >/dev/null' || fail "timeout/od/head do not work"
want=$(jq -r '."/bin/busybox"' "$IMAGE_PATH/hashes.json")
got=$(gssh sha256sum /bin/busybox | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "hashes.json says /bin/busybox is $want, guest has $got"
gssh 'addgroup trainees && adduser -D -G trainees -g "Smoke Trainee" trainee && addgroup trainee wheel' ||
    fail "adduser/addgroup failed"
gssh 'getent passwd trainee | grep -q "^trainee:x:1000:" && id trainee | grep -q wheel && test -d /home/trainee' ||
    fail "trainee account incomplete: $(gssh 'getent passwd trainee; id trainee' 2>&1)"
printf 'hello\n' | gssh 'cat > /tmp/up && test "$(cat /tmp/up)" = hello' || fail "stdin to a command does not work"
log "basics OK (hostname, /data, eth0 10.0.2.15, applets, accounts, hashes.json)"

# --- reboot keeps /data, /etc accounts and the host key
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
gssh "echo $token > /data/smoke-marker && sync" || fail "cannot write /data/smoke-marker"
hostkey=$(gssh sha256sum /etc/dropbear/dropbear_ed25519_host_key | cut -d' ' -f1)
reboot_domain "$REBOOT_TIMEOUT"
reboot_ssh=$SSH_AT
[ "$(gssh cat /data/smoke-marker 2>/dev/null)" = "$token" ] || fail "/data/smoke-marker did not survive the reboot"
gssh 'dmesg | grep -q "EXT4-fs (vda): recovery complete"' && fail "/data was not unmounted cleanly at the reboot (journal recovery ran)"
gssh 'getent passwd trainee >/dev/null' || fail "account trainee did not survive the reboot"
[ "$(gssh sha256sum /etc/dropbear/dropbear_ed25519_host_key | cut -d' ' -f1)" = "$hostkey" ] ||
    fail "the SSH host key changed across the reboot"
log "reboot OK: /data/smoke-marker, account and host key kept"

# --- reset (new linked clone) forgets everything
destroy_domain
make_overlay
start_domain "$NAME" "$MEM" "tssrlab.hostname=smoke-tiny"
wait_ssh "$TIMEOUT"
reset_ssh=$SSH_AT
gssh 'test ! -e /data/smoke-marker && ! getent passwd trainee >/dev/null' ||
    fail "state survived a reset (fresh overlay)"
log "reset OK: /data/smoke-marker and trainee gone"
shutdown_domain 30

echo "PASS smoke-tiny: SSH ${first_ssh}s after virsh create (guest uptime ${uptime_at_ssh}s), ${reboot_ssh}s after virsh reboot, ${reset_ssh}s after reset; virsh shutdown ${DOWN_AT}s"
