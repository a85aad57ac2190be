#!/bin/sh
# Half of reseau-01's solution on srv: the DHCP service is repaired with
# the plan's scopes; VLAN, routing, DNS and backup are left. For the "partial" proof.
set -eu

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
