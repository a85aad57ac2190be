#!/bin/sh
# Reference solution of cloud-01 on vm (kept out of trainees' view).
set -eu

# 1. cloud-init (NoCloud local), without touching the network
install -d -m 755 /var/lib/cloud/seed/nocloud
cat >/var/lib/cloud/seed/nocloud/user-data <<'EOF'
#cloud-config
# Instance vm-catalogue-01 - Éditions Lumière
users:
  - default
  - name: exploit
    gecos: Équipe d'exploitation
    shell: /bin/bash
    lock_passwd: true
    ssh_authorized_keys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdhzmgkCJfAkLG93mt3jJALMTShVPDk0uo9Jqa+8XyP exploit@editions-lumiere
    sudo: "ALL=(root) NOPASSWD: /usr/bin/systemctl restart container-catalogue.service, /usr/bin/podman logs catalogue"
timezone: Europe/Paris
# l'image ne fournit que la locale C.UTF-8
locale: C.UTF-8
# les clés d'hôte SSH enregistrées par la plateforme sont conservées
ssh_deletekeys: false
write_files:
  - path: /etc/motd
    permissions: "0644"
    content: |
      Instance vm-catalogue-01 - Éditions Lumière - PRODUCTION
EOF
printf 'instance-id: iid-catalogue-01\nlocal-hostname: vm-catalogue-01\n' >/var/lib/cloud/seed/nocloud/meta-data
printf 'datasource_list: [ NoCloud, None ]\n' >/etc/cloud/cloud.cfg.d/90-datasource.cfg
printf 'network: {config: disabled}\n' >/etc/cloud/cloud.cfg.d/99-reseau.cfg
cloud-init schema --config-file /var/lib/cloud/seed/nocloud/user-data >/dev/null
if ! python3 -c 'import json, sys; sys.exit(1 if json.load(open("/var/lib/cloud/data/result.json"))["v1"]["errors"] else 0)' 2>/dev/null; then
	cloud-init clean --logs >/dev/null 2>&1 || true
	cloud-init init --local >/dev/null 2>&1
	cloud-init init >/dev/null 2>&1
	cloud-init modules --mode config >/dev/null 2>&1
	cloud-init modules --mode final >/dev/null 2>&1
fi
python3 -c 'import json, sys; sys.exit(1 if json.load(open("/var/lib/cloud/data/result.json"))["v1"]["errors"] else 0)'

# 2. image, data volume, container managed by systemd
install -d -m 755 /srv/catalogue
cp -a /srv/livraison/catalogue/site /srv/catalogue/
cat >/srv/catalogue/Containerfile <<'EOF'
# Catalogue des Éditions Lumière
FROM localhost/python:3.11-lab
COPY site/ /srv/www/
USER catalogue
EXPOSE 8080
CMD ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/srv/www"]
EOF
podman image exists localhost/catalogue:1.0 || podman build -q -t localhost/catalogue:1.0 /srv/catalogue >/dev/null
if ! podman volume exists catalogue-donnees; then
	podman volume create catalogue-donnees >/dev/null
	tar -C /srv/livraison/catalogue/donnees -cf - . | podman volume import catalogue-donnees -
fi
if ! [ -f /etc/systemd/system/container-catalogue.service ]; then
	podman rm -f catalogue >/dev/null 2>&1 || true
	podman create --name catalogue --network host -v catalogue-donnees:/srv/www/donnees:ro localhost/catalogue:1.0 >/dev/null
	(cd /etc/systemd/system && podman generate systemd --new --files --name catalogue >/dev/null)
	podman rm -f catalogue >/dev/null
	systemctl daemon-reload
fi
systemctl enable container-catalogue.service
systemctl start container-catalogue.service

# 3. security group, persistent; the developer's test server stopped too
systemctl disable --now catalogue-debug.service
cat >/etc/nftables.conf <<'EOF'
#!/usr/sbin/nft -f
# Groupe de sécurité de vm-catalogue-01
flush ruleset
table inet filtre {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iif lo accept
		icmp type echo-request accept
		tcp dport { 22, 8080 } accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
EOF
nft -c -f /etc/nftables.conf
systemctl enable nftables
systemctl restart nftables

# 4. backup of the data volume and restore test
install -d -m 700 /srv/sauvegardes
f=/srv/sauvegardes/catalogue-donnees-$(date +%Y%m%d).tar
podman volume export catalogue-donnees -o "$f"
podman volume rm -f catalogue-donnees-test >/dev/null 2>&1 || true
podman volume create catalogue-donnees-test >/dev/null
podman volume import catalogue-donnees-test "$f"
cmp "$(podman volume inspect -f '{{.Mountpoint}}' catalogue-donnees)/livres.json" "$(podman volume inspect -f '{{.Mountpoint}}' catalogue-donnees-test)/livres.json"
