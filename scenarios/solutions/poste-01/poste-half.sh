#!/bin/sh
# Half of poste-01's solution: the poste is on the network (address,
# route, DNS); software, account and inventory are left. For the "partial" proof.
set -eu

printf 'auto eth1\niface eth1 inet static\n    address 172.16.10.57/24\n    up ip route replace 172.16.20.0/24 via 172.16.10.254 dev eth1\n' >/etc/network/interfaces.d/eth1
ip link set eth1 up
ip -4 -o addr show dev eth1 | grep -q ' 172\.16\.10\.57/' || ip addr add 172.16.10.57/24 dev eth1
ip route replace 172.16.20.0/24 via 172.16.10.254 dev eth1
printf 'search ateliers-durand.lan\nnameserver 172.16.10.5\n' >/etc/resolv.conf
