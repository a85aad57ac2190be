#!/usr/bin/env bash
# Smoke test of the "debian12" image: build (cached), boot under TCG on a
# linked clone, SSH in with the management key, check systemd's state
# (degraded is accepted, failed units are reported), sshd, the first-boot
# work (machine-id, host keys, hostname), the disabled services, then
# persistence across `virsh reboot`, loss across a reset (fresh overlay), and
# `virsh shutdown`. Needs root and a running libvirtd (tools/setup-libvirt).
. "$(dirname "$0")/lib.sh"

setup_image debian12
NAME=tssrlab-smoke-debian12-$$
MEM=${TSSRLAB_SMOKE_MEMORY:-$(image_field .min_memory_mib)}
TIMEOUT=${TSSRLAB_SMOKE_TIMEOUT:-300} # generous: CI machines are shared and TCG is slow
EXTRA="tssrlab.hostname=smoke-debian12"

make_overlay
start_domain "$NAME" "$MEM" "$EXTRA"
wait_ssh "$TIMEOUT"
first_ssh=$SSH_AT

# --- systemd state
t=$(now)
state=$(gssh "timeout $TIMEOUT systemctl is-system-running --wait" 2>/dev/null || true)
running_at=$(elapsed "$START" "$(now)")
case $state in
running) log "systemd: running (${running_at}s after virsh create)" ;;
degraded)
    log "systemd: degraded (${running_at}s after virsh create); failed units:"
    gssh 'systemctl --failed --no-legend --plain' | sed 's/^/    /' >&2
    ;;
*) fail "systemctl is-system-running: '$state' after waiting $(elapsed "$t" "$(now)")s" ;;
esac
[ "$(gssh systemctl is-active ssh)" = active ] || fail "ssh.service is not active"
gssh 'systemd-analyze time | head -n1; systemd-analyze blame | head -n 8' | sed 's/^/    /' >&2

# --- first boot and configuration (one SSH round trip: logins are slow under TCG)
UNITS="nginx isc-dhcp-server named smbd samba-ad-dc snmpd zabbix-agent dnsmasq openvpn cloud-init apt-daily.timer"
CMDS="samba-tool named dhcpd nginx wg openvpn nft snmpd zabbix_agentd python3 podman ifup dhclient"
FACTS=$(gssh "UNITS='$UNITS' CMDS='$CMDS' sh -s" <<'REMOTE'
echo "hostname=$(hostname)"
echo "eth0=$(ip -4 -o addr show dev eth0 | awk '{print $4}')"
echo "machine_id=$(cat /etc/machine-id)"
echo "hostkey=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null | awk '{print $2}')"
echo "root_logind_sessions=$(loginctl list-sessions --no-legend 2>/dev/null | awk '$3 == "root"' | wc -l)"
echo "permitroot=$(sshd -T 2>/dev/null | awk '$1 == "permitrootlogin" {print $2}')"
for u in $UNITS; do echo "unit.$u=$(systemctl is-enabled "$u" 2>/dev/null)/$(systemctl is-active "$u" 2>/dev/null)"; done
for c in $CMDS; do command -v "$c" >/dev/null && echo "cmd.$c=yes" || echo "cmd.$c=no"; done
for p in /usr/bin/systemctl /usr/sbin/sshd /bin/sh; do echo "sha.$p=$(sha256sum "$p" | cut -d' ' -f1)"; done
useradd -m -s /bin/bash trainee && id trainee >/dev/null && echo useradd=ok
REMOTE
) || fail "the first-boot checks could not run over SSH"
fact() { sed -n "s|^$1=||p" <<<"$FACTS" | head -n1; }
[ "$(fact hostname)" = smoke-debian12 ] || fail "hostname is '$(fact hostname)', expected smoke-debian12 (tssrlab.hostname=)"
[[ $(fact eth0) == 10.0.2.15/* ]] || fail "eth0 has '$(fact eth0)', expected 10.0.2.15/24 from DHCP"
machine_id=$(fact machine_id)
[[ $machine_id =~ ^[0-9a-f]{32}$ ]] || fail "/etc/machine-id is '$machine_id'"
hostkey=$(fact hostkey)
[ -n "$hostkey" ] || fail "no ed25519 host key generated"
[ "$(fact root_logind_sessions)" = 0 ] || fail "root's SSH session is registered with logind ($(fact root_logind_sessions) sessions): pam_systemd should be skipped for root over sshd"
[ "$(fact permitroot)" = without-password ] || fail "sshd PermitRootLogin is '$(fact permitroot)', expected prohibit-password"
for u in $UNITS; do
    case $(fact "unit.$u") in
    disabled/inactive | masked/inactive | static/inactive) ;;
    *) fail "$u should be installed, disabled and inactive, is: $(fact "unit.$u")" ;;
    esac
done
for c in $CMDS; do [ "$(fact "cmd.$c")" = yes ] || fail "$c missing in the guest"; done
for p in /usr/bin/systemctl /usr/sbin/sshd /bin/sh; do
    want=$(jq -r --arg p "$p" '.[$p]' "$IMAGE_PATH/hashes.json")
    [ "$want" = "$(fact "sha.$p")" ] || fail "hashes.json says $p is $want, guest has $(fact "sha.$p")"
done
[ "$(fact useradd)" = ok ] || fail "useradd trainee failed"
log "first boot OK (hostname, eth0 10.0.2.15, machine-id, host key, sshd policy, services disabled, commands, hashes.json)"

# --- reboot keeps the disk
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
gssh "echo $token > /root/smoke-marker && sync" || fail "cannot write /root/smoke-marker"
reboot_domain "$((TIMEOUT * 2))" # a reset costs more under TCG (see README)
reboot_ssh=$SSH_AT
STATE='echo "marker=$(cat /root/smoke-marker 2>/dev/null)"; echo "machine_id=$(cat /etc/machine-id)";
    echo "hostkey=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | awk "{print \$2}")";
    id trainee >/dev/null 2>&1 && echo trainee=yes || echo trainee=no'
FACTS=$(gssh "$STATE") || fail "cannot read the guest state after the reboot"
[ "$(fact marker)" = "$token" ] || fail "/root/smoke-marker did not survive the reboot"
[ "$(fact machine_id)" = "$machine_id" ] || fail "machine-id changed across the reboot"
[ "$(fact hostkey)" = "$hostkey" ] || fail "the SSH host key changed across the reboot"
[ "$(fact trainee)" = yes ] || fail "account trainee did not survive the reboot"
log "reboot OK: marker, machine-id, host key, account kept"

# --- reset: a fresh clone forgets everything and gets its own identity
destroy_domain
make_overlay
start_domain "$NAME" "$MEM" "$EXTRA"
wait_ssh "$TIMEOUT"
reset_ssh=$SSH_AT
FACTS=$(gssh "$STATE") || fail "cannot read the guest state after the reset"
[ -z "$(fact marker)" ] && [ "$(fact trainee)" = no ] || fail "state survived a reset (fresh overlay)"
[ "$(fact machine_id)" != "$machine_id" ] || fail "a fresh clone got the same machine-id"
[ "$(fact hostkey)" != "$hostkey" ] || fail "a fresh clone got the same SSH host key"
log "reset OK: marker and account gone, new machine-id and host key"
shutdown_domain 60

echo "PASS smoke-debian12: SSH ${first_ssh}s after virsh create (system $state at ${running_at}s), ${reboot_ssh}s after virsh reboot, ${reset_ssh}s after reset; virsh shutdown ${DOWN_AT}s"
