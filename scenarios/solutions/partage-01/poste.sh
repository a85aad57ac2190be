#!/bin/sh
# Reference solution of partage-01 on poste (kept out of trainees' view).
set -eu

cat >/usr/local/bin/synchro-documents <<'EOF'
#!/bin/sh
# synchro-documents : copie ~/Documents dans le dossier personnel du serveur de fichiers.
set -u
src="$HOME/Documents"
[ -d "$src" ] || exit 0
exec smbclient -A "$HOME/.smbcredentials" //192.168.20.10/"$(id -un)" \
	-c "prompt OFF; recurse ON; mkdir Documents; cd Documents; lcd $src; mput *" >/dev/null 2>&1 || true
EOF
chmod 755 /usr/local/bin/synchro-documents
printf 'username = amartin\npassword = Bernard-2026\ndomain = BERNARD\n' >/home/amartin/.smbcredentials
chown amartin:amartin /home/amartin/.smbcredentials
chmod 600 /home/amartin/.smbcredentials
( crontab -u amartin -l 2>/dev/null | grep -v synchro-documents || true
  echo '*/15 * * * * /usr/local/bin/synchro-documents' ) | crontab -u amartin -
