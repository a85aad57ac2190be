#!/bin/sh
# Reference solution of poste-01 on poste (kept out of trainees' view).
set -eu

# 1. network, persistent (ifupdown) and now
cat >/etc/network/interfaces.d/eth1 <<'EOF'
auto eth1
iface eth1 inet static
    address 172.16.10.57/24
    up ip route replace 172.16.20.0/24 via 172.16.10.254 dev eth1
EOF
ip link set eth1 up
ip -4 -o addr show dev eth1 | grep -q ' 172\.16\.10\.57/' || ip addr add 172.16.10.57/24 dev eth1
ip route replace 172.16.20.0/24 via 172.16.10.254 dev eth1
grep -q 'supersede domain-name-servers 172.16.10.5' /etc/dhcp/dhclient.conf ||
	printf 'supersede domain-name-servers 172.16.10.5;\nsupersede domain-search "ateliers-durand.lan";\n' >>/etc/dhcp/dhclient.conf
printf 'search ateliers-durand.lan\nnameserver 172.16.10.5\n' >/etc/resolv.conf
# 2. internal repository, tools, security update
echo 'deb [trusted=yes] http://depot.ateliers-durand.lan/debian ./' >/etc/apt/sources.list.d/durand.list
apt-get -q update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/durand.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get -q -y install durand-outils=1.2 durand-base >/dev/null
# 3. Léa Martin's account
getent group compta >/dev/null || groupadd compta
if ! id lmartin >/dev/null 2>&1; then
	useradd -m -s /bin/bash -c 'Léa Martin' -G compta lmartin
	echo 'lmartin:Bienvenue-Durand-26' | chpasswd
	chage -d 0 lmartin
fi
usermod -aG compta lmartin
# 4. network drive credentials
printf 'username = lmartin\npassword = Partage-2026\ndomain = DURAND\n' >/home/lmartin/.smbcredentials
chown lmartin:lmartin /home/lmartin/.smbcredentials
chmod 600 /home/lmartin/.smbcredentials
# 5. inventory
durand-inventaire
