#!/bin/sh
# Reference solution of internet-01 on gw (kept out of trainees' view).
set -eu

echo 'net.ipv4.ip_forward = 1' >/etc/sysctl.d/90-passerelle.conf
sysctl -q -p /etc/sysctl.d/90-passerelle.conf
cat >/etc/nftables.conf <<'EOF'
#!/usr/sbin/nft -f
# Pare-feu de fw-agence (Assurances Girard, agence de Nantes)
# eth0 : administration de la plateforme ; eth1 : LAN 192.168.100.0/24 ; eth2 : internet
flush ruleset

define LAN = eth1
define WAN = eth2

table inet filtre {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iif lo accept
		iifname "eth0" accept
		iifname $LAN icmp type echo-request accept
		iifname $LAN tcp dport 22 accept
		iifname $LAN udp dport 53 accept
		iifname $LAN tcp dport 53 accept
		limit rate 10/minute log prefix "fw-agence refus entree: "
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iifname $LAN oifname $WAN tcp dport { 80, 443 } accept
		iifname $LAN oifname $WAN icmp type echo-request accept
		limit rate 10/minute log prefix "fw-agence refus transit: "
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}

table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname $WAN masquerade
	}
}
EOF
nft -c -f /etc/nftables.conf
systemctl enable nftables
systemctl restart nftables
cat >/etc/dnsmasq.d/filtrage.conf <<'EOF'
# Résolveur filtrant de l'agence
interface=eth1
bind-dynamic
no-resolv
server=198.51.100.10
domain-needed
bogus-priv
log-queries
log-facility=/var/log/dnsmasq-filtrage.log
# charte informatique : jeux d'argent, réseaux sociaux
address=/jeux-en-ligne.example/
address=/reseau-social.example/
EOF
systemctl enable dnsmasq
systemctl restart dnsmasq
