#!/bin/sh
# Half of cloud-01's solution: the instance is configured by cloud-init;
# no container, firewall or backup. For the "partial" proof.
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
