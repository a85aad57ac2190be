#!/bin/sh
# Half of internet-01's solution on gw: routing and NAT only, no
# filtering policy and no DNS resolver. For the "partial" proof.
set -eu

echo 'net.ipv4.ip_forward = 1' >/etc/sysctl.d/90-passerelle.conf
sysctl -q -p /etc/sysctl.d/90-passerelle.conf
printf 'flush ruleset\ntable ip nat {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname "eth2" masquerade\n\t}\n}\n' >/etc/nftables.conf
systemctl enable nftables
systemctl restart nftables
