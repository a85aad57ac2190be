#!/usr/bin/env bash
# Recipe of the "tiny" image: Debian's cloud kernel booted directly with an
# initramfs made of busybox (static), dropbear and a handful of modules, plus
# a 64 MiB ext4 data disk that the guest mounts on /data.
#
#   build.sh OUT WORK      (run by tools/build-image, see its header)
#
# OUT gets vmlinuz, initrd.img (gzip cpio) and disk.qcow2; WORK/rootfs is the
# initramfs tree. Nothing is mounted and no loop device is used: the disk is
# made with mkfs.ext4 -d from a folder, then converted to qcow2.
# Host packages: linux-image-cloud-amd64 busybox-static dropbear-bin cpio
# e2fsprogs qemu-utils (and openssh-sftp-server, optional, for scp/sftp).
set -euo pipefail
OUT=$1 WORK=$2
HERE=$(cd "$(dirname "$0")" && pwd)
: "${TSSRLAB_MGMT_PUBKEY:?}"

log() { printf 'tiny: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The newest installed cloud kernel, unless TSSRLAB_KERNEL_VERSION names one.
KVER=${TSSRLAB_KERNEL_VERSION:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n1)}
[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] || die "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
MODDIR=/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing"
BUSYBOX=/bin/busybox
"$BUSYBOX" --list >/dev/null 2>&1 || die "$BUSYBOX not found (apt-get install busybox-static)"
{ ldd "$BUSYBOX" 2>&1 || true; } | grep -q 'not a dynamic' || die "$BUSYBOX is not static (apt-get install busybox-static)"
for b in /usr/sbin/dropbear /usr/bin/dropbearkey; do
	[ -x "$b" ] || die "$b missing (apt-get install dropbear-bin)"
done
log "kernel $KVER"

R=$WORK/rootfs
mkdir -p "$R"
(cd "$R" && mkdir -p bin sbin usr/bin usr/sbin usr/lib etc/dropbear etc/skel proc sys dev \
	tmp run var/log var/spool/cron/crontabs root/.ssh data home mnt lib/tssrlab "lib/modules/$KVER")
ln -s ../run "$R/var/run"
chmod 700 "$R/root" "$R/root/.ssh" "$R/etc/dropbear"
chmod 1777 "$R/tmp"

# --- busybox and its applets (absolute symlinks, like busybox --install -s)
install -m 0755 "$BUSYBOX" "$R/bin/busybox"
"$BUSYBOX" --list-full | while read -r a; do
	case $a in bin/busybox | linuxrc) continue ;; esac
	[ -e "$R/$a" ] || [ -L "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done
install -m 0755 "$HERE/init" "$R/init"

# --- dynamically linked programs with their libraries
copy_prog() { # SRC DST
	install -D -m 0755 "$1" "$R$2"
	local lib
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		[ -e "$R$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$R$lib"
	done
}
copy_prog /usr/sbin/dropbear /usr/sbin/dropbear
copy_prog /usr/bin/dropbearkey /usr/bin/dropbearkey
if [ -x /usr/lib/openssh/sftp-server ]; then
	copy_prog /usr/lib/openssh/sftp-server /usr/lib/sftp-server # dropbear's path for sftp (and OpenSSH 9 scp)
else
	log "warning: /usr/lib/openssh/sftp-server missing: no sftp/scp in the guest (apt-get install openssh-sftp-server)"
fi

# --- account tools busybox-static lacks
install -m 0755 "$HERE/accounts" "$R/lib/tssrlab/accounts"
for t in usr/sbin/adduser usr/sbin/addgroup usr/sbin/deluser usr/sbin/delgroup usr/sbin/chpasswd usr/bin/getent; do
	rm -f "$R/$t"
	ln -s /lib/tssrlab/accounts "$R/$t"
done

# --- kernel modules, in load order (modules.dep lists a module's deps last-loaded-first)
declare -A seen=()
order=()
add_mod() {
	local name=$1 line rel deps i
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	if grep -Eq "/${name}\.ko(\.[a-z]+)?\$" "$MODDIR/modules.builtin"; then return 0; fi
	line=$(grep -E "^([^:]*/)?${name}\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -n1) ||
		die "module $name not found in $MODDIR (neither built in nor in modules.dep)"
	rel=${line%%:*}
	read -r -a deps <<<"${line#*:}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		add_mod "$(basename "${deps[i]}" | sed -E 's/\.ko(\.[a-z]+)?$//')"
	done
	case $rel in
	*.ko) cp "$MODDIR/$rel" "$R/lib/modules/$KVER/$name.ko" ;;
	*.ko.xz) xz -dc "$MODDIR/$rel" >"$R/lib/modules/$KVER/$name.ko" ;;
	*.ko.zst) zstd -qdc "$MODDIR/$rel" >"$R/lib/modules/$KVER/$name.ko" ;;
	*.ko.gz) gzip -dc "$MODDIR/$rel" >"$R/lib/modules/$KVER/$name.ko" ;;
	*) die "unknown module file $rel" ;;
	esac
	order+=("$name")
}
# virtio order as measured in ENVIRONMENT.md; then disk, ext4 (+ crc32c for its
# checksums, a crypto-API dependency modules.dep does not list), rng, power button.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover \
	net_failover virtio_net virtio_blk crc16 mbcache jbd2 crc32c_generic ext4 virtio-rng button evdev; do
	add_mod "$m"
done
printf '%s\n' "${order[@]}" >"$R/lib/tssrlab/modules.list"
log "modules: ${order[*]}"

# --- boot scripts
install -m 0755 "$HERE/rcS" "$R/lib/tssrlab/rcS"
install -m 0755 "$HERE/rcK" "$R/lib/tssrlab/rcK"
install -m 0755 "$HERE/udhcpc.script" "$R/lib/tssrlab/udhcpc.script"
install -D -m 0755 "$HERE/acpi-poweroff" "$R/lib/tssrlab/acpi/PWRF/00000080"
install -m 0644 "$HERE/inittab" "$R/etc/inittab"

# --- /etc
cat >"$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:65534:sync:/bin:/bin/sync
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$R/etc/group" <<'G'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
shadow:x:42:
utmp:x:43:
staff:x:50:
users:x:100:
nogroup:x:65534:
G
cat >"$R/etc/shadow" <<'S'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
sync:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
S
chmod 600 "$R/etc/shadow"
printf '/bin/sh\n/bin/ash\n' >"$R/etc/shells"
echo tiny >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\ttiny\n' >"$R/etc/hosts"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$R/etc/nsswitch.conf"
printf 'export PATH=/sbin:/usr/sbin:/bin:/usr/bin\nexport PS1='"'"'\\u@\\h:\\w\\$ '"'"'\n' >"$R/etc/profile"
printf 'tssrlab tiny guest: busybox + dropbear. /data is the persistent disk.\n' >"$R/etc/motd"
: >"$R/etc/resolv.conf"
: >"$R/etc/fstab"
install -m 0600 "$TSSRLAB_MGMT_PUBKEY" "$R/root/.ssh/authorized_keys"

# Device nodes the kernel needs before /init mounts devtmpfs.
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3

# --- initramfs
(cd "$R" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
	gzip -9n >"$OUT/initrd.img"
cp "/boot/vmlinuz-$KVER" "$OUT/vmlinuz"

# --- data disk: /data layout (etc/ and home/ are bound over /etc and /home at boot)
D=$WORK/disk
mkdir -p "$D/home"
cp -a "$R/etc" "$D/etc"
printf 'Persistent disk of a tssrlab tiny guest: survives reboots, not resets.\n' >"$D/README"
truncate -s 64M "$WORK/disk.raw"
mkfs.ext4 -q -F -L tssrlab-data -m 1 -E root_owner=0:0 -d "$D" "$WORK/disk.raw"
qemu-img convert -O qcow2 "$WORK/disk.raw" "$OUT/disk.qcow2"
rm -f "$WORK/disk.raw"
log "initrd $(du -k "$OUT/initrd.img" | cut -f1) KiB, disk.qcow2 $(du -k "$OUT/disk.qcow2" | cut -f1) KiB"
