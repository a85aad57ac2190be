#!/bin/sh
# Reference solution of sauvegarde-01 on fichiers (kept out of trainees' view).
set -eu

umask 077
echo Sauvegarde-Renaud-2026 >/root/.rsync-sauvegarde
chmod 600 /root/.rsync-sauvegarde
umask 022
cat >/usr/local/sbin/sauvegarde.sh <<'EOF'
#!/bin/sh
# sauvegarde.sh : sauvegarde en miroir de /srv/partages/ vers srv-sauvegarde
# (module rsync « fichiers »). Journal : /var/log/sauvegarde.log
# Code de sortie : celui de rsync (0 = succès).
SOURCE=/srv/partages/
DESTINATION=rsync://sauvegarde@10.30.0.20/fichiers/
MOT_DE_PASSE=/root/.rsync-sauvegarde
JOURNAL=/var/log/sauvegarde.log

rsync -a --delete --timeout=60 --password-file="$MOT_DE_PASSE" "$SOURCE" "$DESTINATION" >/dev/null 2>>"$JOURNAL"
code=$?
if [ "$code" -eq 0 ]; then
	echo "$(date '+%F %T') sauvegarde OK" >>"$JOURNAL"
else
	echo "$(date '+%F %T') sauvegarde ÉCHEC (code $code)" >>"$JOURNAL"
fi
exit "$code"
EOF
chmod 750 /usr/local/sbin/sauvegarde.sh
printf '# Sauvegarde nocturne de /srv/partages vers srv-sauvegarde\n30 23 * * * root /usr/local/sbin/sauvegarde.sh\n' >/etc/cron.d/sauvegarde
# the repository may still be starting (solutions of both machines may run at once)
i=0
until rsync --list-only --password-file=/root/.rsync-sauvegarde rsync://sauvegarde@10.30.0.20/fichiers/ >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || { echo "srv-sauvegarde does not answer" >&2; exit 1; }
	sleep 2
done
/usr/local/sbin/sauvegarde.sh
# restore, then check against the archive
rsync -a --password-file=/root/.rsync-sauvegarde rsync://sauvegarde@10.30.0.20/archives/2026-06-30/compta/budget-2026.ods /srv/partages/compta/
chown root:compta /srv/partages/compta/budget-2026.ods
chmod 640 /srv/partages/compta/budget-2026.ods
rsync -a --checksum --dry-run --itemize-changes --password-file=/root/.rsync-sauvegarde \
	rsync://sauvegarde@10.30.0.20/archives/2026-06-30/compta/budget-2026.ods /srv/partages/compta/ | grep -q '^>f.*c' && exit 1
/usr/local/sbin/sauvegarde.sh
