#!/bin/sh
# Half of scripts-01's solution: a first version that creates accounts
# from a clean file but ignores errors, Windows exports and passwords, and
# is not planned. For the scenario's "partial" proof.
set -eu

printf 'SHELL_DEFAUT=/bin/bash\nBASE_HOME=/home\n' >/etc/creer-comptes.conf
cat >/usr/local/sbin/creer-comptes.sh <<'EOF'
#!/bin/bash
# Première version : crée les comptes d'un export propre.
# Usage : creer-comptes.sh FICHIER.csv
export LC_ALL=C.UTF-8
. /etc/creer-comptes.conf
# lit le fichier ligne par ligne, en sautant l'en-tête
tail -n +2 "$1" | while IFS=';' read -r nom prenom service; do
	# identifiant et groupe sans accents
	login=$(printf '%s%s' "${prenom:0:1}" "$nom" | iconv -f UTF-8 -t ASCII//TRANSLIT | tr 'A-Z' 'a-z' | tr -cd 'a-z')
	groupe=$(printf '%s' "$service" | iconv -f UTF-8 -t ASCII//TRANSLIT | tr 'A-Z' 'a-z' | tr -cd 'a-z')
	getent group "$groupe" >/dev/null || groupadd "$groupe"
	getent passwd "$login" >/dev/null && continue
	useradd -m -d "$BASE_HOME/$login" -s "$SHELL_DEFAUT" -G "$groupe" "$login"
	echo "$(date '+%F %T') création $login" >>/var/log/creer-comptes.log
done
exit 0
EOF
chmod 755 /usr/local/sbin/creer-comptes.sh
