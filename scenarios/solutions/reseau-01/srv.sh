#!/bin/sh
# Reference solution of reseau-01 on srv (kept out of trainees' view).
set -eu

# VLAN 20 and routing
cat >/etc/network/interfaces.d/eth1.20 <<'EOF'
auto eth1.20
iface eth1.20 inet static
    address 172.20.20.1/24
EOF
ip link show eth1.20 >/dev/null 2>&1 || ifup eth1.20 || ip link add link eth1 name eth1.20 type vlan id 20
ip link set eth1.20 up
ip -4 -o addr show dev eth1.20 | grep -q ' 172\.20\.20\.1/' || ip addr add 172.20.20.1/24 dev eth1.20
echo 'net.ipv4.ip_forward = 1' >/etc/sysctl.d/90-routage.conf
sysctl -q -p /etc/sysctl.d/90-routage.conf
# DHCP

cat >/etc/dhcp/dhcpd.conf <<'EOF'
# DHCP de la mairie de Saint-Aubin
option domain-name "mairie-staubin.lan";
option domain-name-servers 172.20.0.1;
default-lease-time 28800;
max-lease-time 86400;
authoritative;

# réseau des postes
subnet 172.20.0.0 netmask 255.255.255.0 {
  range 172.20.0.100 172.20.0.199;
  option routers 172.20.0.254;
}

# VLAN 20 : téléphonie IP
subnet 172.20.20.0 netmask 255.255.255.0 {
  range 172.20.20.100 172.20.20.199;
  option routers 172.20.20.1;
  option tftp-server-name "172.20.20.1";
}

host imprimante-accueil {
  hardware ethernet 52:54:00:aa:bb:01;
  fixed-address 172.20.0.20;
}

host pc-accueil {
  hardware ethernet 52:54:00:20:00:50;
  fixed-address 172.20.0.50;
}
EOF
sed -i 's/^INTERFACESv4=.*/INTERFACESv4="eth1 eth1.20"/' /etc/default/isc-dhcp-server
dhcpd -t -4 -cf /etc/dhcp/dhcpd.conf >/dev/null 2>&1
systemctl enable isc-dhcp-server
systemctl restart isc-dhcp-server

# DNS
cat >/etc/bind/named.conf.options <<'EOF'
options {
	directory "/var/cache/bind";
	listen-on { 127.0.0.1; 172.20.0.1; };
	listen-on-v6 { none; };
	recursion yes;
	allow-recursion { 127.0.0.1; 172.20.0.0/24; 172.20.20.0/24; };
	dnssec-validation no;
};
EOF
cat >/etc/bind/named.conf.local <<'EOF'
zone "mairie-staubin.lan" {
	type master;
	file "/etc/bind/db.mairie-staubin.lan";
};
zone "0.20.172.in-addr.arpa" {
	type master;
	file "/etc/bind/db.172.20.0";
};
EOF
cat >/etc/bind/db.mairie-staubin.lan <<'EOF'
$TTL 3600
@	IN	SOA	srv-infra.mairie-staubin.lan. hostmaster.mairie-staubin.lan. (
		2026112901 3600 900 604800 3600 )
@		IN	NS	srv-infra.mairie-staubin.lan.
srv-infra	IN	A	172.20.0.1
pc-accueil	IN	A	172.20.0.50
imprimante	IN	A	172.20.0.20
intranet	IN	CNAME	srv-infra
EOF
cat >/etc/bind/db.172.20.0 <<'EOF'
$TTL 3600
@	IN	SOA	srv-infra.mairie-staubin.lan. hostmaster.mairie-staubin.lan. (
		2026112901 3600 900 604800 3600 )
@	IN	NS	srv-infra.mairie-staubin.lan.
1	IN	PTR	srv-infra.mairie-staubin.lan.
20	IN	PTR	imprimante.mairie-staubin.lan.
50	IN	PTR	pc-accueil.mairie-staubin.lan.
EOF
named-checkconf -z >/dev/null
systemctl enable named
systemctl restart named
# configuration backup
install -d -m 700 /srv/sauvegardes-config
tar -czf "/srv/sauvegardes-config/srv-infra-$(date +%Y%m%d).tar.gz" -C / etc/dhcp/dhcpd.conf etc/default/isc-dhcp-server etc/bind etc/network/interfaces etc/network/interfaces.d etc/sysctl.d
