#!/bin/sh
# Reference solution of supervision-01 on sup (kept out of trainees' view).
set -eu

install -d -m 755 /etc/supervision /var/lib/supervision /var/log/supervision
printf '# nom;adresse;services\nsrv-web;172.22.0.20;ping,http,ssh,snmp,disque\n' >/etc/supervision/hotes.conf
printf '# Seuils de la supervision (pourcentages)\nDISQUE_AVERTISSEMENT=80\nDISQUE_CRITIQUE=90\nCOMMUNAUTE=supervision-clinique\n' >/etc/supervision/seuils.conf
chmod 640 /etc/supervision/seuils.conf
touch /var/log/supervision/alertes.log
chmod 644 /var/log/supervision/alertes.log
cat >/usr/local/bin/verif-supervision.sh <<'EOF'
#!/bin/sh
# verif-supervision.sh : vérifie chaque service des hôtes de /etc/supervision/hotes.conf
# (sondes monitoring-plugins, SNMP), publie l'état courant et journalise les
# changements d'état (CRITICAL, WARNING, RECOVERY). Lancé chaque minute par cron.
set -u
P=/usr/lib/nagios/plugins
. /etc/supervision/seuils.conf
ETAT=/var/lib/supervision/etat.txt
PRECEDENT=/var/lib/supervision/etat.precedent
ALERTES=/var/log/supervision/alertes.log
mkdir -p /var/lib/supervision /var/log/supervision
nouveau=$(mktemp)

# note HOTE SERVICE ETAT DETAIL : état courant, et alerte si l'état a changé
note() {
	echo "$1;$2;$3;$4" >>"$nouveau"
	avant=$(grep "^$1;$2;" "$PRECEDENT" 2>/dev/null | cut -d';' -f3)
	if [ "$3" != "${avant:-OK}" ]; then
		if [ "$3" = OK ]; then quoi=RECOVERY; else quoi=$3; fi
		echo "$(date '+%F %T') $quoi $1 $2 $4" >>"$ALERTES"
	fi
}

# etat CODE : code de retour d'une sonde -> état
etat() {
	case $1 in 0) echo OK ;; 1) echo WARNING ;; *) echo CRITICAL ;; esac
}

grep -Ev '^[[:space:]]*(#|$)' /etc/supervision/hotes.conf | while IFS=';' read -r hote ip services; do
	for s in $(echo "$services" | tr ',' ' '); do
		case $s in
		ping) out=$($P/check_ping -H "$ip" -w 500,20% -c 1000,60% -p 3 -t 15); rc=$? ;;
		http) out=$($P/check_http -H "$ip" -t 15); rc=$? ;;
		ssh) out=$($P/check_ssh -H "$ip" -t 20); rc=$? ;;
		snmp)
			out=$(snmpget -v2c -c "$COMMUNAUTE" -t 5 -r 2 -Oqv "$ip" .1.3.6.1.2.1.1.3.0 2>&1) && rc=0 || rc=2 ;;
		disque)
			pc=$(snmpget -v2c -c "$COMMUNAUTE" -t 5 -r 2 -Oqv "$ip" .1.3.6.1.4.1.2021.9.1.9.1 2>/dev/null)
			case $pc in
			'' | *[!0-9]*) rc=2; out="pas de réponse SNMP pour le disque" ;;
			*)
				out="disque / occupé à $pc %"
				if [ "$pc" -ge "$DISQUE_CRITIQUE" ]; then rc=2
				elif [ "$pc" -ge "$DISQUE_AVERTISSEMENT" ]; then rc=1
				else rc=0; fi ;;
			esac ;;
		*) continue ;;
		esac
		note "$hote" "$s" "$(etat "$rc")" "$(echo "$out" | head -n 1 | cut -c1-120)"
	done
done
chmod 644 "$nouveau"
cp "$nouveau" "$PRECEDENT"
mv "$nouveau" "$ETAT"
EOF
chmod 755 /usr/local/bin/verif-supervision.sh
printf '# Supervision des serveurs de la clinique\n* * * * * root /usr/local/bin/verif-supervision.sh\n' >/etc/cron.d/supervision
cat >/etc/nginx/sites-available/supervision <<'EOF'
server {
	listen 80 default_server;
	root /var/www/html;
	location = /supervision/etat.txt { alias /var/lib/supervision/etat.txt; default_type text/plain; charset utf-8; }
	location = /supervision/alertes.log { alias /var/log/supervision/alertes.log; default_type text/plain; charset utf-8; }
}
EOF
rm -f /etc/nginx/sites-enabled/default
ln -sf ../sites-available/supervision /etc/nginx/sites-enabled/supervision
nginx -t
systemctl enable nginx
systemctl restart nginx
/usr/local/bin/verif-supervision.sh
