#!/bin/sh
# Half of vpn-01's solution on paris: routing, the Marseille link removed
# and Paris' side of the WireGuard tunnel; no OpenVPN, no filtering. For the
# "partial" proof.
set -eu

echo 'net.ipv4.ip_forward = 1' >/etc/sysctl.d/90-routage.conf
sysctl -q -p /etc/sysctl.d/90-routage.conf

# Marseille: down, disabled, archived
systemctl disable --now wg-quick@wg-marseille >/dev/null 2>&1 || true
ip link show wg-marseille >/dev/null 2>&1 && ip link del wg-marseille
install -d -m 700 /root/archives
[ ! -f /etc/wireguard/wg-marseille.conf ] || mv /etc/wireguard/wg-marseille.conf "/root/archives/wg-marseille.conf.$(date +%Y%m%d)"

umask 077
cat >/etc/wireguard/wg0.conf <<'EOF'
[Interface]
Address = 10.255.0.1/30
ListenPort = 51820
PrivateKey = UMQNeWmicwbVChdWytwnzYURrT4DTIZbBA1MO3GZMHM=

[Peer]
PublicKey = H41a/67wich4bTXM+xeN2L0uYI7zWeWhHUjenn0D0C4=
Endpoint = 203.0.113.20:51820
AllowedIPs = 10.255.0.2/32, 10.2.0.0/24
PersistentKeepalive = 25
EOF
chmod 600 /etc/wireguard/wg0.conf
umask 022
systemctl enable wg-quick@wg0
systemctl restart wg-quick@wg0
