#!/bin/sh
# Reference solution of ad-01 on dc (kept out of trainees' view).
set -eu

PASS='Morel-Admin-2026!'
# the DC resolves its own name to its lab address, before the 127.0.1.1 line
grep -q '^192\.168\.30\.10[[:space:]]' /etc/hosts || {
	if grep -q '^127\.0\.1\.1' /etc/hosts; then
		sed -i '/^127\.0\.1\.1/i 192.168.30.10\tsrv-dc01.morel.lan srv-dc01' /etc/hosts
	else
		printf '192.168.30.10\tsrv-dc01.morel.lan srv-dc01\n' >>/etc/hosts
	fi
}
if [ ! -f /var/lib/samba/private/sam.ldb ]; then
	systemctl disable --now smbd nmbd winbind >/dev/null 2>&1 || true
	[ ! -f /etc/samba/smb.conf ] || mv /etc/samba/smb.conf /etc/samba/smb.conf.avant-ad
	samba-tool domain provision --realm=MOREL.LAN --domain=MOREL --server-role=dc \
		--dns-backend=SAMBA_INTERNAL --adminpass="$PASS" --host-ip=192.168.30.10 \
		--option='interfaces = lo eth1' --option='bind interfaces only = yes' >/dev/null
fi
cp /var/lib/samba/private/krb5.conf /etc/krb5.conf
printf 'make_resolv_conf() { :; }\n' >/etc/dhcp/dhclient-enter-hooks.d/resolv-statique
printf 'search morel.lan\nnameserver 127.0.0.1\n' >/etc/resolv.conf
systemctl unmask samba-ad-dc >/dev/null 2>&1 || true
systemctl enable samba-ad-dc
systemctl is-active -q samba-ad-dc || systemctl start samba-ad-dc
i=0
until host -t SRV _ldap._tcp.morel.lan 127.0.0.1 >/dev/null 2>&1; do
	i=$((i + 1)); [ "$i" -lt 90 ] || { echo "the DC's DNS does not answer" >&2; exit 1; }
	sleep 2
done
samba-tool domain passwordsettings set --min-pwd-length=12 --account-lockout-threshold=5 >/dev/null
for ou in OU=Morel OU=Direction,OU=Morel OU=Comptabilite,OU=Morel OU=Laboratoire,OU=Morel OU=Groupes,OU=Morel OU=Ordinateurs,OU=Morel; do
	samba-tool ou list --full-dn | grep -qx "$ou,DC=morel,DC=lan" || samba-tool ou create "$ou" >/dev/null
done
utilisateur() { # login prénom nom adresse service
	samba-tool user show "$1" >/dev/null 2>&1 ||
		samba-tool user create "$1" 'Morel-Labo-2026' --given-name="$2" --surname="$3" \
			--mail-address="$4" --department="$5" --userou="OU=$5,OU=Morel" >/dev/null
}
utilisateur jmorel Jean Morel jean.morel@laboratoires-morel.fr Direction
utilisateur sdupont Sophie Dupont sophie.dupont@laboratoires-morel.fr Comptabilite
utilisateur kbenali Karim Benali karim.benali@laboratoires-morel.fr Laboratoire

samba-tool computer show PC-COMPTA >/dev/null 2>&1 || samba-tool computer create PC-COMPTA --computerou='OU=Ordinateurs,OU=Morel' >/dev/null
groupe() { # nom étendue membre
	samba-tool group show "$1" >/dev/null 2>&1 ||
		samba-tool group add "$1" --groupou='OU=Groupes,OU=Morel' --group-scope="$2" --group-type=Security >/dev/null
	samba-tool group listmembers "$1" | grep -qx "$3" || samba-tool group addmembers "$1" "$3" >/dev/null
}
groupe GG_Direction Global jmorel
groupe GG_Comptabilite Global sdupont
groupe GG_Laboratoire Global kbenali
groupe DL_Compta_RW Domain GG_Comptabilite
groupe DL_Compta_R Domain GG_Direction
# share: NT ACL from the domain local groups' SIDs
sid() { samba-tool group show "$1" --attributes=objectSid | sed -n 's/^objectSid: //p'; }
install -d -m 770 /srv/partages/compta
grep -q '^\[compta\]' /etc/samba/smb.conf || printf '\n[compta]\n\tpath = /srv/partages/compta\n\tread only = no\n' >>/etc/samba/smb.conf
samba-tool ntacl set "O:DAG:DUD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;DA)(A;OICI;0x1301bf;;;$(sid DL_Compta_RW))(A;OICI;0x1200a9;;;$(sid DL_Compta_R))" /srv/partages/compta
smbcontrol all reload-config >/dev/null 2>&1 || true
# GPO linked to OU=Morel
if ! samba-tool gpo listall | grep -q 'GPO_Postes_Securite'; then
	samba-tool gpo create GPO_Postes_Securite -H ldap://127.0.0.1 -U "administrator%$PASS" >/dev/null
fi
guid=$(samba-tool gpo listall | awk '$1 == "GPO" {g = $3} /display name/ && /GPO_Postes_Securite/ {print g}')
samba-tool gpo getlink 'OU=Morel,DC=morel,DC=lan' -H ldap://127.0.0.1 -U "administrator%$PASS" 2>/dev/null | grep -q GPO_Postes_Securite ||
	samba-tool gpo setlink 'OU=Morel,DC=morel,DC=lan' "$guid" -H ldap://127.0.0.1 -U "administrator%$PASS" >/dev/null
# DNS record
samba-tool dns query 127.0.0.1 morel.lan intranet A -U "administrator%$PASS" >/dev/null 2>&1 ||
	samba-tool dns add 127.0.0.1 morel.lan intranet A 192.168.30.20 -U "administrator%$PASS" >/dev/null
# nightly backup of the directory, and a first one now
install -d -m 700 /srv/sauvegardes/ad
printf '# Sauvegarde de l annuaire\n0 1 * * * root samba-tool domain backup offline --targetdir=/srv/sauvegardes/ad >/dev/null 2>&1\n' >/etc/cron.d/sauvegarde-ad
ls /srv/sauvegardes/ad/samba-backup-*.tar.bz2 >/dev/null 2>&1 || samba-tool domain backup offline --targetdir=/srv/sauvegardes/ad >/dev/null
