#!/bin/sh
# Reference solution of scripts-01 on srv (kept out of trainees' view).
set -eu

cat >/etc/creer-comptes.conf <<'EOF'
# Paramètres de /usr/local/sbin/creer-comptes.sh
SHELL_DEFAUT=/bin/bash
BASE_HOME=/home
JOURNAL=/var/log/creer-comptes.log
MOTS_DE_PASSE=/root/comptes-crees.csv
EOF
chmod 644 /etc/creer-comptes.conf
cat >/usr/local/sbin/creer-comptes.sh <<'EOF'
#!/bin/bash
# creer-comptes.sh : crée les comptes des nouveaux arrivants à partir de
# l'export CSV de la DRH (nom;prenom;service, en-tête sur la première ligne).
# Usage : creer-comptes.sh FICHIER.csv
# Codes de sortie : 0 succès, 1 usage ou fichier illisible, 2 ligne(s) rejetée(s).
set -u

# cron fournit un environnement minimal : on fixe la locale (accents) et le PATH.
export LC_ALL=C.UTF-8
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Paramètres (SHELL_DEFAUT, BASE_HOME, JOURNAL, MOTS_DE_PASSE) : aucune valeur en dur.
CONF=/etc/creer-comptes.conf
if [ ! -r "$CONF" ]; then
	echo "creer-comptes : configuration $CONF illisible" >&2
	exit 1
fi
. "$CONF"
JOURNAL=${JOURNAL:-/var/log/creer-comptes.log}
MOTS_DE_PASSE=${MOTS_DE_PASSE:-/root/comptes-crees.csv}

# journal MESSAGE : ajoute une ligne datée au journal.
journal() {
	printf '%s %s\n' "$(date '+%F %T')" "$*" >>"$JOURNAL"
}

# rejet NUMERO MESSAGE : signale une ligne rejetée (sortie d'erreur et journal).
rejet() {
	echo "creer-comptes : ligne $1 : $2" >&2
	journal "REJET ligne $1 : $2"
	code=2
}

# normalise TEXTE : minuscules sans accents, lettres a-z uniquement.
normalise() {
	printf '%s' "$1" | iconv -f UTF-8 -t ASCII//TRANSLIT 2>/dev/null | tr 'A-Z' 'a-z' | tr -cd 'a-z'
}

# nettoie TEXTE : retire les espaces autour du texte.
nettoie() {
	local s=$1
	s="${s#"${s%%[![:space:]]*}"}"
	s="${s%"${s##*[![:space:]]}"}"
	printf '%s' "$s"
}

if [ $# -ne 1 ]; then
	echo "usage : creer-comptes.sh FICHIER.csv" >&2
	exit 1
fi
if [ ! -f "$1" ] || [ ! -r "$1" ]; then
	echo "creer-comptes : fichier illisible : $1" >&2
	exit 1
fi

code=0
n=0
while IFS= read -r ligne || [ -n "$ligne" ]; do
	n=$((n + 1))
	ligne=${ligne%$'\r'}              # fin de ligne Windows
	ligne=${ligne#$'\xef\xbb\xbf'}    # marque d'ordre des octets (BOM)
	# en-tête et lignes vides
	if [ "$n" -eq 1 ] && [[ "$(normalise "$ligne")" == nomprenomservice ]]; then
		continue
	fi
	[ -z "$(nettoie "$ligne")" ] && continue

	# exactement trois champs non vides
	separateurs=${ligne//[^;]/}
	if [ "${#separateurs}" -ne 2 ]; then
		rejet "$n" "3 champs attendus : $ligne"
		continue
	fi
	IFS=';' read -r nom prenom service <<<"$ligne"
	nom=$(nettoie "$nom")
	prenom=$(nettoie "$prenom")
	service=$(nettoie "$service")
	if [ -z "$nom" ] || [ -z "$prenom" ] || [ -z "$service" ]; then
		rejet "$n" "champ vide : $ligne"
		continue
	fi

	login=$(normalise "${prenom:0:1}")$(normalise "$nom")
	groupe=$(normalise "$service")
	if [ ${#login} -lt 2 ] || [ -z "$groupe" ]; then
		rejet "$n" "identifiant ou groupe impossible à construire : $ligne"
		continue
	fi

	# le groupe du service
	if ! getent group "$groupe" >/dev/null; then
		groupadd "$groupe" && journal "groupe $groupe créé"
	fi

	# compte existant : seulement l'ajout au groupe (idempotence)
	if getent passwd "$login" >/dev/null; then
		if ! id -nG "$login" | tr ' ' '\n' | grep -qx "$groupe"; then
			usermod -aG "$groupe" "$login" && journal "$login ajouté au groupe $groupe"
		fi
		echo "ligne $n : le compte $login existe déjà"
		continue
	fi

	if ! useradd -m -d "$BASE_HOME/$login" -s "$SHELL_DEFAUT" -c "$prenom $nom" -G "$groupe" "$login"; then
		rejet "$n" "useradd a échoué pour $login"
		continue
	fi
	# mot de passe initial aléatoire, à changer à la première connexion
	mdp=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 16)
	echo "$login:$mdp" | chpasswd
	chage -d 0 "$login"
	(umask 077 && printf '%s;%s\n' "$login" "$mdp" >>"$MOTS_DE_PASSE")
	chmod 600 "$MOTS_DE_PASSE"
	journal "création $login ($groupe) : $prenom $nom"
	echo "ligne $n : compte $login créé (groupe $groupe)"
done <"$1"
exit "$code"
EOF
chown root:root /usr/local/sbin/creer-comptes.sh
chmod 750 /usr/local/sbin/creer-comptes.sh
printf '# Création quotidienne des comptes des nouveaux arrivants (export DRH)\n0 6 * * * root /usr/local/sbin/creer-comptes.sh /srv/rh/nouveaux.csv\n' >/etc/cron.d/creer-comptes
chmod 644 /etc/cron.d/creer-comptes
