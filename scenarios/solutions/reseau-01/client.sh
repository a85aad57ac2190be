#!/bin/sh
# Reference solution of reseau-01 on client (kept out of trainees' view).
set -eu

cat >/etc/network/interfaces.d/eth1 <<'EOF'
auto eth1
iface eth1 inet dhcp

auto eth1.20
iface eth1.20 inet static
    address 172.20.20.50/24
EOF
# the DHCP server may still be starting: retry for two minutes
i=0
until ip -4 -o addr show dev eth1 | grep -q ' 172\.20\.0\.50/'; do
	ifdown --force eth1 >/dev/null 2>&1 || true
	ifup eth1 >/dev/null 2>&1 || true
	i=$((i + 1)); [ "$i" -lt 6 ] || { echo "no DHCP lease on eth1" >&2; exit 1; }
	sleep 5
done
ip link show eth1.20 >/dev/null 2>&1 || ifup eth1.20 || ip link add link eth1 name eth1.20 type vlan id 20
ip link set eth1.20 up
ip -4 -o addr show dev eth1.20 | grep -q ' 172\.20\.20\.50/' || ip addr add 172.20.20.50/24 dev eth1.20
