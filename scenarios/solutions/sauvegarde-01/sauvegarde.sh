#!/bin/sh
# Reference solution of sauvegarde-01 on sauvegarde (kept out of trainees' view).
set -eu

install -d -m 750 /srv/sauvegardes/fichiers
cat >/etc/rsyncd.conf <<'EOF'
# Dépôt de sauvegarde du cabinet Renaud
uid = root
gid = root
use chroot = yes
max connections = 4
log file = /var/log/rsyncd.log

[fichiers]
	comment = Sauvegarde de srv-fichiers
	path = /srv/sauvegardes/fichiers
	read only = no
	auth users = sauvegarde
	secrets file = /etc/rsyncd.secrets
	hosts allow = 10.30.0.10
	hosts deny = *

[archives]
	comment = Archives de l'ancien NAS
	path = /srv/sauvegardes/archives
	read only = yes
	auth users = sauvegarde
	secrets file = /etc/rsyncd.secrets
	hosts allow = 10.30.0.10
	hosts deny = *
EOF
umask 077
echo 'sauvegarde:Sauvegarde-Renaud-2026' >/etc/rsyncd.secrets
chmod 600 /etc/rsyncd.secrets
systemctl enable rsync
systemctl restart rsync
