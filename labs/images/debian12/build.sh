#!/usr/bin/env bash
# Recipe of the "debian12" image: Debian 12 (bookworm) made with debootstrap
# --variant=minbase plus the packages in packages.list (services installed but
# disabled), booted directly with the host's Debian cloud kernel and initrd
# (root=/dev/vda, ext4, net.ifnames=0 so the first NIC is eth0, DHCP through
# ifupdown/dhclient).
#
#   build.sh OUT WORK      (run by tools/build-image, see its header)
#
# OUT gets vmlinuz, initrd.img, disk.qcow2 (3 GiB virtual, ext4 made with
# mkfs.ext4 -d: nothing is mounted, no loop device) and packages.txt (the
# installed package versions). WORK/rootfs is the guest's root tree.
# Downloaded .debs are kept in ${TSSRLAB_CACHE_DIR}/debian12/debs so rebuilds
# download only what changed. debootstrap itself mounts /proc and /sys inside
# the target while it runs and unmounts them; build-image cleans up after a kill.
# Host packages: debootstrap linux-image-cloud-amd64 e2fsprogs qemu-utils.
set -euo pipefail
OUT=$1 WORK=$2
HERE=$(cd "$(dirname "$0")" && pwd)
: "${TSSRLAB_MGMT_PUBKEY:?}"
CACHE=${TSSRLAB_CACHE_DIR:-/var/cache/tssrlab}/debian12/debs
SUITE=bookworm
MIRROR=${TSSRLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${TSSRLAB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
DISK_SIZE=3G

log() { printf 'debian12: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
t0=$(date +%s)
step() { log "[$(($(date +%s) - t0))s] $*"; }

KVER=${TSSRLAB_KERNEL_VERSION:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n1)}
[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] && [ -f "/boot/initrd.img-$KVER" ] ||
	die "no /boot/vmlinuz-*-cloud-amd64 with its initrd (apt-get install linux-image-cloud-amd64)"
[ -d "/lib/modules/$KVER" ] || die "/lib/modules/$KVER missing"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
log "kernel $KVER"

R=$WORK/rootfs
mkdir -p "$CACHE"

# Processes left running inside the target would keep files busy: stop them.
kill_chroot_procs() {
	local p root
	for p in /proc/[0-9]*; do
		root=$(readlink "$p/root" 2>/dev/null) || continue
		case $root in "$R" | "$R"/*) kill -9 "${p#/proc/}" 2>/dev/null || true ;; esac
	done
}
in_target() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
		chroot "$R" "$@"
}
trap kill_chroot_procs EXIT
trap 'exit 143' TERM INT # so that the EXIT trap runs when build-image stops us

# --- debootstrap --------------------------------------------------------------
step "debootstrap --variant=minbase $SUITE"
debootstrap --variant=minbase --include=systemd-sysv,openssh-server --cache-dir="$CACHE" \
	"$SUITE" "$R" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
	tail -n 30 "$WORK/debootstrap.log" >&2
	die "debootstrap failed (log above)"
}

# --- apt inside the target ------------------------------------------------------
step "apt-get install (packages.list)"
rm -f "$R/etc/apt/sources.list"
cat >"$R/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
rm -f "$R/etc/resolv.conf"
cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true # the host's resolver, for apt
printf '#!/bin/sh\n# no service starts while the image is built\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
echo force-unsafe-io >"$R/etc/dpkg/dpkg.cfg.d/tssrlab-build-unsafe-io"
# reuse downloaded packages
find "$CACHE" -maxdepth 1 -name '*.deb' -exec cp -n -t "$R/var/cache/apt/archives/" {} + 2>/dev/null || true

APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
	-o APT::Install-Recommends=false -o Acquire::Retries=3)
pkgs() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$'; }
in_target "${APT[@]}" update >"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get update failed"; }
in_target "${APT[@]}" upgrade >>"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get upgrade failed"; }
# shellcheck disable=SC2046
in_target "${APT[@]}" install $(pkgs "$HERE/packages.list") >>"$WORK/apt.log" 2>&1 || {
	tail -n 40 "$WORK/apt.log" >&2
	die "apt-get install of packages.list failed (log above)"
}
step "apt-get install (packages-optional.list)"
# shellcheck disable=SC2046
if ! in_target "${APT[@]}" install $(pkgs "$HERE/packages-optional.list") >>"$WORK/apt.log" 2>&1; then
	log "warning: optional packages failed to install, building without them:"
	tail -n 15 "$WORK/apt.log" >&2
	kill_chroot_procs
	in_target dpkg --configure -a >>"$WORK/apt.log" 2>&1 || true
	# shellcheck disable=SC2046
	in_target "${APT[@]}" purge $(pkgs "$HERE/packages-optional.list") >>"$WORK/apt.log" 2>&1 || true
	in_target "${APT[@]}" -f install >>"$WORK/apt.log" 2>&1 || die "apt-get -f install failed after the optional packages"
fi
kill_chroot_procs
cp -n -t "$CACHE/" "$R"/var/cache/apt/archives/*.deb 2>/dev/null || true
in_target apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R/usr/sbin/policy-rc.d" "$R/etc/dpkg/dpkg.cfg.d/tssrlab-build-unsafe-io"
in_target dpkg-query -W -f='${Package} ${Version}\n' >"$OUT/packages.txt"

# Every command the scenarios rely on must be there.
missing=""
for c in systemctl sshd nginx dhcpd named dnsmasq in.tftpd samba samba-tool smbd winbindd smbclient \
	ldbsearch kinit wg openvpn nft iptables snmpd snmpget zabbix_agentd rsync crontab python3 sudo \
	ip ping curl ps less vi setfacl lvm ifup dhclient dig cloud-init; do
	in_target sh -c "command -v $c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -z "$missing" ] || die "commands missing from the image:$missing"
in_target sh -c 'command -v podman' >/dev/null 2>&1 || log "warning: podman is not in the image"

# --- configuration ------------------------------------------------------------
step "configuring"
echo debian12 >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian12\n\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' >"$R/etc/hosts"
# Root is mounted rw by the initramfs (cmdline "rw") and not fsck'd at boot:
# ext4's journal covers a destroyed VM, and fsck costs seconds under TCG.
printf '# <file system> <mount point> <type> <options> <dump> <pass>\n/dev/vda\t/\text4\terrors=remount-ro\t0\t0\n' >"$R/etc/fstab"
rm -f "$R/etc/resolv.conf"
: >"$R/etc/resolv.conf" # dhclient fills it at boot
install -m 0644 "$HERE/interfaces" "$R/etc/network/interfaces"
mkdir -p "$R/etc/network/interfaces.d"

# machine-id empty: systemd generates a new one at first boot (one per clone).
: >"$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$R/var/lib/dbus/machine-id"

# SSH: no host keys in the image, root by key only.
rm -f "$R"/etc/ssh/ssh_host_*
install -D -m 0644 "$HERE/sshd-tssrlab.conf" "$R/etc/ssh/sshd_config.d/tssrlab.conf"
install -D -m 0755 "$HERE/ssh-hostkeys" "$R/usr/lib/tssrlab/ssh-hostkeys"
install -D -m 0644 "$HERE/ssh-hostkeys.conf" "$R/etc/systemd/system/ssh.service.d/tssrlab-hostkeys.conf"
install -D -m 0644 "$HERE/ifupdown-pre.conf" "$R/etc/systemd/system/ifupdown-pre.service.d/tssrlab.conf"
install -d -m 0700 "$R/root/.ssh"
install -m 0600 "$TSSRLAB_MGMT_PUBKEY" "$R/root/.ssh/authorized_keys"

# root's SSH sessions skip pam_systemd: each one otherwise registers with
# logind and starts root's systemd user manager (user@0.service), which took
# 8-12 s per connection on an idle TCG guest and 37 s under load, for every
# grading, setup step and solution. Other users' sessions (trainees' accounts,
# the console) are unchanged.
grep -q '^session[[:space:]].*pam_systemd\.so' "$R/etc/pam.d/common-session" ||
	die "pam_systemd not found in /etc/pam.d/common-session"
sed -i '/^session[[:space:]].*pam_systemd\.so/i session\t[success=1 default=ignore]\tpam_succeed_if.so quiet service = sshd user = root' \
	"$R/etc/pam.d/common-session"

install -m 0755 "$HERE/tssrlab-hostname" "$R/usr/lib/tssrlab/tssrlab-hostname"
install -m 0644 "$HERE/tssrlab-hostname.service" "$R/etc/systemd/system/tssrlab-hostname.service"
install -m 0755 "$HERE/tssrlab-ready" "$R/usr/lib/tssrlab/tssrlab-ready"
install -m 0644 "$HERE/tssrlab-ready.service" "$R/etc/systemd/system/tssrlab-ready.service"
in_target systemctl enable tssrlab-hostname.service tssrlab-ready.service >/dev/null 2>&1

# cloud-init: installed, never runs.
mkdir -p "$R/etc/cloud"
touch "$R/etc/cloud/cloud-init.disabled"

# journald: bounded, and quiet on the (slow, emulated) serial console.
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nSystemMaxUse=64M\nForwardToConsole=no\n' >"$R/etc/systemd/journald.conf.d/tssrlab.conf"

# Kernel modules of the kernel the image boots with (nftables, wireguard, overlay…).
mkdir -p "$R/lib/modules"
cp -a "/lib/modules/$KVER" "$R/lib/modules/"

# Services: installed but disabled; plus everything that slows boot or waits
# for a network the lab may not have.
disable_units=(
	nginx.service isc-dhcp-server.service isc-dhcp-server6.service named.service bind9.service
	dnsmasq.service tftpd-hpa.service smbd.service nmbd.service samba-ad-dc.service winbind.service
	openvpn.service snmpd.service zabbix-agent.service nftables.service rsync.service
	cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service
	lvm2-monitor.service lvm2-lvmpolld.socket blk-availability.service dm-event.socket
	podman.socket podman.service podman-restart.service podman-auto-update.timer podman-auto-update.service
	podman-clean-transient.service
	apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service
	fstrim.timer man-db.timer systemd-networkd-wait-online.service ifupdown-wait-online.service
	libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirt-guests.service
	virtlogd.service virtlogd.socket virtlogd-admin.socket virtlockd.service virtlockd.socket
	virtlockd-admin.socket
)
present=()
for u in "${disable_units[@]}"; do
	if [ -e "$R/lib/systemd/system/$u" ] || [ -e "$R/etc/systemd/system/$u" ] || [ -e "$R/etc/init.d/${u%.service}" ]; then
		present+=("$u")
	fi
done
in_target systemctl disable "${present[@]}" >>"$WORK/systemctl.log" 2>&1 || {
	cat "$WORK/systemctl.log" >&2
	die "systemctl disable failed"
}
# Never wanted in a VM booted this way, and each costs CPU at boot under TCG.
mask_units=(systemd-firstboot.service sys-kernel-debug.mount sys-kernel-tracing.mount
	dev-hugepages.mount systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
	modprobe@drm.service systemd-pstore.service)
in_target systemctl mask "${mask_units[@]}" >>"$WORK/systemctl.log" 2>&1 || {
	cat "$WORK/systemctl.log" >&2
	die "systemctl mask failed"
}
in_target systemctl enable ssh.service cron.service >/dev/null 2>&1
in_target systemctl set-default multi-user.target >/dev/null 2>&1
log "disabled: ${present[*]}"

# --- boot files and disk ---------------------------------------------------------
step "making the disk"
cp "/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "/boot/initrd.img-$KVER" "$OUT/initrd.img"
kill_chroot_procs
if grep -q " $R/" /proc/mounts; then die "something is still mounted under $R"; fi
log "root tree: $(du -sm "$R" | cut -f1) MiB"
truncate -s "$DISK_SIZE" "$WORK/disk.raw"
mkfs.ext4 -q -F -L debian12-root -E root_owner=0:0 -d "$R" "$WORK/disk.raw"
qemu-img convert -O qcow2 "$WORK/disk.raw" "$OUT/disk.qcow2"
rm -f "$WORK/disk.raw"
step "done: disk.qcow2 $(du -m "$OUT/disk.qcow2" | cut -f1) MiB"
