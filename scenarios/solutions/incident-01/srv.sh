#!/bin/sh
# Reference solution of incident-01 on srv (kept out of trainees' view).
set -eu

# web: permissions of the web root, then nginx at boot and now
chown root:root /var/www/intranet
chmod 755 /var/www/intranet
find /var/www/intranet -type f -exec chmod 644 {} +
systemctl enable --now nginx
# DNS: the server asks its own dnsmasq
printf 'search cabinet-lefevre.lan\nnameserver 127.0.0.1\n' >/etc/resolv.conf
# disk: root cause (debug level) then empty the log the service keeps open
sed -i 's/^[[:space:]]*niveau_journal[[:space:]]*=.*/niveau_journal = info/' /etc/intranet/app.conf
: >/var/log/intranet/debug.log
systemctl restart intranet-sync
# Claire Dubois: account and home
usermod -U cdubois
chage -E -1 cdubois
chown -R cdubois:cdubois /home/cdubois
# tickets and problem record
f=/srv/tickets/INC-2026-0409.txt
sed -i -e 's/^Catégorie :.*/Catégorie : Application/' -e 's/^Impact :.*/Impact : 1/' -e 's/^Urgence :.*/Urgence : 1/' -e 's/^Priorité :.*/Priorité : P1/' -e 's/^Statut :.*/Statut : Résolu/' -e 's|^Solution :.*|Solution : nginx arrêté et désactivé, racine du site en 700 : droits rétablis (755), nginx redémarré et activé au boot.|' "$f"
f=/srv/tickets/INC-2026-0410.txt
sed -i -e 's/^Catégorie :.*/Catégorie : Réseau/' -e 's/^Impact :.*/Impact : 2/' -e 's/^Urgence :.*/Urgence : 2/' -e 's/^Priorité :.*/Priorité : P3/' -e 's/^Statut :.*/Statut : Résolu/' -e 's|^Solution :.*|Solution : resolv.conf pointait vers 10.20.1.254 (ancien DNS) : remis sur le DNS local 127.0.0.1.|' "$f"
f=/srv/tickets/INC-2026-0411.txt
sed -i -e 's/^Catégorie :.*/Catégorie : Serveur et stockage/' -e 's/^Impact :.*/Impact : 1/' -e 's/^Urgence :.*/Urgence : 2/' -e 's/^Priorité :.*/Priorité : P2/' -e 's/^Statut :.*/Statut : Résolu/' -e 's|^Solution :.*|Solution : debug.log rempli par intranet-sync en niveau debug : niveau remis à info, journal vidé (fichier ouvert), voir PRB-2026-0012.|' "$f"
f=/srv/tickets/INC-2026-0412.txt
sed -i -e 's/^Catégorie :.*/Catégorie : Compte utilisateur/' -e 's/^Impact :.*/Impact : 3/' -e 's/^Urgence :.*/Urgence : 1/' -e 's/^Priorité :.*/Priorité : P3/' -e 's/^Statut :.*/Statut : Résolu/' -e 's|^Solution :.*|Solution : compte verrouillé et expiré par un script de nettoyage : déverrouillé, expiration retirée, dossier personnel rendu à cdubois.|' "$f"
cat >/srv/tickets/PRB-2026-0012.txt <<'EOF'
Problème : PRB-2026-0012
Incidents liés : INC-2026-0377, INC-2026-0411
Symptôme : partition / de srv-intranet saturée par /var/log/intranet/debug.log
Cause racine : niveau_journal = debug laissé dans /etc/intranet/app.conf : intranet-sync journalise chaque opération ; supprimer le fichier ne libère pas la place tant que le service le garde ouvert.
Solution définitive : niveau_journal = info, journal vidé avec « : > fichier » ; à prévoir : rotation des journaux de l'application.
Statut : Résolu
EOF
