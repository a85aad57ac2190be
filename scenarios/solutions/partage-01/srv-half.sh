#!/bin/sh
# Half of partage-01's solution on srv: groups, Samba accounts and the
# shared folder only. For the scenario's "partial" proof.
set -eu

for g in compta commercial direction personnel; do getent group "$g" >/dev/null || groupadd "$g"; done
usermod -aG compta,personnel amartin
usermod -aG compta,personnel dnguyen
usermod -aG commercial,personnel bleroy
usermod -aG direction,personnel cpetit
for u in amartin dnguyen bleroy cpetit; do
	pdbedit -L 2>/dev/null | cut -d: -f1 | grep -qx "$u" || printf 'Bernard-2026\nBernard-2026\n' | smbpasswd -s -a "$u"
done
install -d -o root -g personnel -m 2770 /srv/partages/commun
cat >>/etc/samba/smb.conf <<'EOF'

[commun]
   path = /srv/partages/commun
   read only = no
   valid users = @personnel
EOF
systemctl enable smbd
systemctl restart smbd
