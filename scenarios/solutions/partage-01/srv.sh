#!/bin/sh
# Reference solution of partage-01 on srv (kept out of trainees' view).
set -eu

for g in compta commercial direction personnel; do getent group "$g" >/dev/null || groupadd "$g"; done
usermod -aG compta,personnel amartin
usermod -aG compta,personnel dnguyen
usermod -aG commercial,personnel bleroy
usermod -aG direction,personnel cpetit
for u in amartin dnguyen bleroy cpetit; do
	pdbedit -L 2>/dev/null | cut -d: -f1 | grep -qx "$u" || printf 'Bernard-2026\nBernard-2026\n' | smbpasswd -s -a "$u"
done
install -d -m 755 /srv/partages
install -d -o root -g personnel -m 2770 /srv/partages/commun
install -d -o root -g compta -m 2770 /srv/partages/compta
install -d -o root -g direction -m 2770 /srv/partages/direction
chgrp personnel /srv/partages/commun && chmod 2770 /srv/partages/commun
chgrp compta /srv/partages/compta && chmod 2770 /srv/partages/compta
chgrp direction /srv/partages/direction && chmod 2770 /srv/partages/direction
setfacl -m g:direction:rx /srv/partages/compta
setfacl -d -m g:direction:rx /srv/partages/compta
cat >/etc/samba/smb.conf <<'EOF'
# Serveur de fichiers des Transports Bernard
[global]
   workgroup = BERNARD
   server string = Serveur de fichiers Transports Bernard
   server role = standalone server
   map to guest = never
   restrict anonymous = 2
   log file = /var/log/samba/log.%m
   max log size = 1000
   logging = file
   load printers = no
   printing = bsd
   printcap name = /dev/null
   disable spoolss = yes

[homes]
   comment = Dossier personnel
   browseable = no
   read only = no
   valid users = %S
   create mask = 0600
   directory mask = 0700

[commun]
   comment = Documents communs
   path = /srv/partages/commun
   read only = no
   valid users = @personnel
   create mask = 0660
   force create mode = 0660
   directory mask = 2770
   force directory mode = 2770

[compta]
   comment = Comptabilité
   path = /srv/partages/compta
   read only = no
   valid users = @compta @direction
   read list = @direction
   inherit acls = yes
   create mask = 0660
   force create mode = 0660
   directory mask = 2770
   force directory mode = 2770

[direction]
   comment = Direction
   path = /srv/partages/direction
   read only = no
   valid users = @direction
   create mask = 0660
   force create mode = 0660
   directory mask = 2770
   force directory mode = 2770
EOF
testparm -s >/dev/null
systemctl enable smbd
systemctl restart smbd
