#!/bin/sh
# Reference solution of vpn-01 on nomade (kept out of trainees' view).
set -eu

install -d -m 755 /etc/openvpn/client
umask 077
cat >/etc/openvpn/client/jdupont.conf <<'EOF'
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
chmod 600 /etc/openvpn/client/jdupont.conf
systemctl enable openvpn-client@jdupont
systemctl restart openvpn-client@jdupont
