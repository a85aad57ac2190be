#!/bin/sh
# Half of ad-01's solution on dc: the domain, its OUs and users; no
# groups, share, GPO, DNS record or backup. For the "partial" proof.
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
