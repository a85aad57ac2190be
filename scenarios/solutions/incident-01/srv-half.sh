#!/bin/sh
# Half of incident-01's solution: the web site and DNS are back; the
# disk, the account and the tickets are left. For the "partial" proof.
set -eu

chmod 755 /var/www/intranet
systemctl enable --now nginx
printf 'search cabinet-lefevre.lan\nnameserver 127.0.0.1\n' >/etc/resolv.conf
