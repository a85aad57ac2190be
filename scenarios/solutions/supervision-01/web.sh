#!/bin/sh
# Reference solution of supervision-01 on web (kept out of trainees' view).
set -eu

sed -i 's/^\([[:space:]]*index index\.html\)$/\1;/' /etc/nginx/sites-available/portail
nginx -t
systemctl enable nginx
systemctl restart nginx

cat >/etc/snmp/snmpd.conf <<'EOF'
# Agent SNMP de srv-web (clinique Saint-Roch)
agentAddress udp:127.0.0.1:161,udp:172.22.0.20:161
sysLocation Salle serveurs - baie B2
sysContact support-informatique@clinique-saint-roch.fr
rocommunity supervision-clinique 172.22.0.10
rocommunity supervision-clinique 127.0.0.1
disk / 10%
EOF
systemctl enable snmpd
systemctl restart snmpd
