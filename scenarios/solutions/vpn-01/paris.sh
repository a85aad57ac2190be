#!/bin/sh
# Reference solution of vpn-01 on paris (kept out of trainees' view). The
# certificates and WireGuard keys are pre-generated so that the three
# machines' solutions match.
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

# OpenVPN: server certificate (issued by the company CA), CRL without mleroy
install -d -m 755 /etc/openvpn/server
cat >/etc/openvpn/server/vpn.groupe-fabre.fr.crt <<'EOF'
-----BEGIN CERTIFICATE-----
MIIBzDCCAXGgAwIBAgIBAzAKBggqhkjOPQQDAjA1MRUwEwYDVQQKDAxHcm91cGUg
RmFicmUxHDAaBgNVBAMME0FDIFZQTiBHcm91cGUgRmFicmUwHhcNMjUwMTAxMDAw
MDAwWhcNMzUxMjMxMjM1OTU5WjA1MRUwEwYDVQQKDAxHcm91cGUgRmFicmUxHDAa
BgNVBAMME3Zwbi5ncm91cGUtZmFicmUuZnIwWTATBgcqhkjOPQIBBggqhkjOPQMB
BwNCAARkRAbLAovZSuw3KmzbsBLI4nhd86cPiOLeny86lmYmqTcZMFCKtcLRrF3o
pg48NLg+G4GPABCWEViqF5gxFr3No3IwcDAJBgNVHRMEAjAAMA4GA1UdDwEB/wQE
AwIFoDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUAlJw8Kingy8K8CsO
Mr4FZ/eS3lIwHwYDVR0jBBgwFoAURKTHVUODpbtopI9e+P+maCWVddwwCgYIKoZI
zj0EAwIDSQAwRgIhAJeNPnmgE7cXjSlvZ7qUCD0aaWmwv3jMfJtexSTz3JKwAiEA
0GravINsIMrZPKwLmKZJZ9v/Tk0AXz28+YVfe/+2law=
-----END CERTIFICATE-----
EOF
umask 077
cat >/etc/openvpn/server/vpn.groupe-fabre.fr.key <<'EOF'
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgnLVhVQ6PBidhY09q
5rkTCvyclu1xYNxaLobIBlwwoBShRANCAARkRAbLAovZSuw3KmzbsBLI4nhd86cP
iOLeny86lmYmqTcZMFCKtcLRrF3opg48NLg+G4GPABCWEViqF5gxFr3N
-----END PRIVATE KEY-----
EOF
chmod 600 /etc/openvpn/server/vpn.groupe-fabre.fr.key
umask 022
cd /etc/openvpn/pki
grep -q '^R.*/CN=mleroy$' index.txt || openssl ca -batch -config openssl-ca.cnf -revoke issued/mleroy.crt >/dev/null 2>&1
openssl ca -batch -config openssl-ca.cnf -gencrl -out crl.pem >/dev/null 2>&1
install -m 644 crl.pem /etc/openvpn/server/crl.pem
cd /
cat >/etc/openvpn/server/nomades.conf <<'EOF'
# VPN d'accès distant des nomades du Groupe Fabre
port 1194
proto udp
dev tun0
topology subnet
server 10.8.0.0 255.255.255.0
push "route 10.1.0.0 255.255.255.0"
ca /etc/openvpn/pki/ca.crt
cert /etc/openvpn/server/vpn.groupe-fabre.fr.crt
key /etc/openvpn/server/vpn.groupe-fabre.fr.key
dh none
tls-crypt /etc/openvpn/pki/ta.key
crl-verify /etc/openvpn/server/crl.pem
remote-cert-tls client
tls-version-min 1.2
keepalive 10 60
user nobody
group nogroup
persist-key
persist-tun
verb 3
EOF
install -d -m 700 /etc/openvpn/clients
umask 077
cat >/etc/openvpn/clients/jdupont.ovpn <<'EOF'
client
dev tun0
proto udp
remote 203.0.113.10 1194
nobind
remote-cert-tls server
verify-x509-name vpn.groupe-fabre.fr name
persist-key
persist-tun
verb 3
<ca>
-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIBATAKBggqhkjOPQQDAjA1MRUwEwYDVQQKDAxHcm91cGUg
RmFicmUxHDAaBgNVBAMME0FDIFZQTiBHcm91cGUgRmFicmUwHhcNMjUwMTAxMDAw
MDAwWhcNMzUxMjMxMjM1OTU5WjA1MRUwEwYDVQQKDAxHcm91cGUgRmFicmUxHDAa
BgNVBAMME0FDIFZQTiBHcm91cGUgRmFicmUwWTATBgcqhkjOPQIBBggqhkjOPQMB
BwNCAARatIDcD65+RlJcyKlMYMX7LXLGN/wuVdoQEN42wde5Rg/w3QgqN18btCoV
lXJuGj9W+aHLH/8cD8uznyoML1Rao0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1Ud
DwEB/wQEAwIBBjAdBgNVHQ4EFgQURKTHVUODpbtopI9e+P+maCWVddwwCgYIKoZI
zj0EAwIDSAAwRQIhAMDlLEWY0TPOhjw16r4ZiQdjTT7UZxud4wAAFZ1PnAStAiAQ
Y0JFjgjVADxMTJ78tHLHOMCkcFDNah+FUxR3p263Mg==
-----END CERTIFICATE-----
</ca>
<cert>
-----BEGIN CERTIFICATE-----
MIIBvzCCAWWgAwIBAgIBBDAKBggqhkjOPQQDAjA1MRUwEwYDVQQKDAxHcm91cGUg
RmFicmUxHDAaBgNVBAMME0FDIFZQTiBHcm91cGUgRmFicmUwHhcNMjUwMTAxMDAw
MDAwWhcNMzUxMjMxMjM1OTU5WjApMRUwEwYDVQQKDAxHcm91cGUgRmFicmUxEDAO
BgNVBAMMB2pkdXBvbnQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQZ2Jc/lw0S
GD94ZSkiItoSfJ7QfaXKioAWYgCBAMr9N2uIxdD7JnimHf5H9WTUrIRXbRDLO9rN
IyaE7ePWO+aqo3IwcDAJBgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUE
DDAKBggrBgEFBQcDAjAdBgNVHQ4EFgQUWHSpiZRdzg6oQwf/80aW4wxCGeowHwYD
VR0jBBgwFoAURKTHVUODpbtopI9e+P+maCWVddwwCgYIKoZIzj0EAwIDSAAwRQIh
ANIZX+OTOI48P/Hbdoydw2rk6APwSlWKFaNGmj+DsFZDAiAKRWTms96P4rvJKTI2
uEHZ1458mVdgUaPrXgCjVRYyWA==
-----END CERTIFICATE-----
</cert>
<key>
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLH2t+Mma/ZpMIYEC
0njTUeKWHoPsA/A7Wwvsz6emcq6hRANCAAQZ2Jc/lw0SGD94ZSkiItoSfJ7QfaXK
ioAWYgCBAMr9N2uIxdD7JnimHf5H9WTUrIRXbRDLO9rNIyaE7ePWO+aq
-----END PRIVATE KEY-----
</key>
<tls-crypt>
#
# 2048 bit OpenVPN static key
#
-----BEGIN OpenVPN Static key V1-----
7c3239203cb3373a63e80c4c25d139ef
723f93e43513eb0a7f8a1c6fdbe40556
eabd38bb70435e3cb6eaf2a9a5d2b627
63aee373f7e58442d643c7f7c42ebebf
7cecaeb3ff0fdfa40e388901bfae7a3d
1ebe81554dc061296d3ba8ed37ea3471
493f350d272cf5e7d13de3946d0b38d3
26eb5f3a5ad781392e6e7a6dc7500494
79a4171638707eb80f7aefd4a49df53c
d687ac105f1b9f81352178783ef7beac
ab226523259bb14267394e8d4e220cce
0b4700092e6bd200d6bbf1246920aeba
0c44336a68d5efa9677e5d705ef7685a
3553a156a5c1bbe7ded5356ed3bb08e2
bd5d49b857dec18a0bc5d6359dc7a7ab
b831d47c87907c19dd768fcc22120eb1
-----END OpenVPN Static key V1-----
</tls-crypt>
EOF
chmod 600 /etc/openvpn/clients/jdupont.ovpn
umask 022
systemctl enable openvpn-server@nomades
systemctl restart openvpn-server@nomades
# filtering of the tunnels
cat >/etc/nftables.conf <<'EOF'
#!/usr/sbin/nft -f
# gw-paris : flux autorisés depuis les tunnels (wg0 : LAN de Lyon, tun0 : nomades)
flush ruleset

table inet tunnels {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname { "wg0", "tun0" } ct state established,related accept
		iifname "wg0" ip saddr 10.2.0.0/24 icmp type echo-request accept
		iifname "wg0" ip saddr 10.2.0.0/24 tcp dport { 22, 80 } accept
		iifname "tun0" ip saddr 10.8.0.0/24 icmp type echo-request accept
		iifname "tun0" ip saddr 10.8.0.0/24 tcp dport 80 accept
		iifname { "wg0", "tun0" } counter drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname { "wg0", "tun0" } ct state established,related accept
		iifname "wg0" ip saddr 10.2.0.0/24 ip daddr 10.1.0.0/24 icmp type echo-request accept
		iifname "wg0" ip saddr 10.2.0.0/24 ip daddr 10.1.0.0/24 tcp dport { 22, 80 } accept
		iifname "tun0" ip saddr 10.8.0.0/24 ip daddr 10.1.0.0/24 icmp type echo-request accept
		iifname "tun0" ip saddr 10.8.0.0/24 ip daddr 10.1.0.0/24 tcp dport 80 accept
		iifname { "wg0", "tun0" } counter drop
	}
}
EOF
nft -c -f /etc/nftables.conf
systemctl enable nftables
systemctl restart nftables
