#!/bin/sh
# Half of supervision-01's solution on web: the portal is back and SNMP
# answers (without disk monitoring); nothing on the supervision server. For
# the "partial" proof.
set -eu

sed -i 's/^\([[:space:]]*index index\.html\)$/\1;/' /etc/nginx/sites-available/portail
nginx -t
systemctl enable nginx
systemctl restart nginx

printf 'agentAddress udp:127.0.0.1:161,udp:172.22.0.20:161\nsysLocation Salle serveurs - baie B2\nsysContact support-informatique@clinique-saint-roch.fr\nrocommunity supervision-clinique 172.22.0.10\n' >/etc/snmp/snmpd.conf
systemctl enable snmpd
systemctl restart snmpd
