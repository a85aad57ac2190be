#!/bin/sh
# Half of sauvegarde-01's solution on sauvegarde: the rsync service with
# the fichiers module, open to any host and without archives. For the
# "partial" proof.
set -eu

install -d -m 750 /srv/sauvegardes/fichiers
printf 'uid = root\ngid = root\n[fichiers]\n\tpath = /srv/sauvegardes/fichiers\n\tread only = no\n\tauth users = sauvegarde\n\tsecrets file = /etc/rsyncd.secrets\n' >/etc/rsyncd.conf
echo 'sauvegarde:Sauvegarde-Renaud-2026' >/etc/rsyncd.secrets
chmod 600 /etc/rsyncd.secrets
systemctl enable rsync
systemctl restart rsync
