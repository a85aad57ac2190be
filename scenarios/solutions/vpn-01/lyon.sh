#!/bin/sh
# Reference solution of vpn-01 on lyon (kept out of trainees' view).
set -eu

echo 'net.ipv4.ip_forward = 1' >/etc/sysctl.d/90-routage.conf
sysctl -q -p /etc/sysctl.d/90-routage.conf

umask 077
cat >/etc/wireguard/wg0.conf <<'EOF'
[Interface]
Address = 10.255.0.2/30
ListenPort = 51820
PrivateKey = aLZDQrf5bRKzo/ti00Zmq5kCjAsFR7nSQO/hc5c2sHw=

[Peer]
PublicKey = gFrOTKWXMEXU7YI8zm/1D3zffQvj6YPglI2VW/8Wh20=
Endpoint = 203.0.113.10:51820
AllowedIPs = 10.255.0.1/32, 10.1.0.0/24
PersistentKeepalive = 25
EOF
chmod 600 /etc/wireguard/wg0.conf
systemctl enable wg-quick@wg0
systemctl restart wg-quick@wg0
