#!/bin/sh
# Half of deploiement-01's solution on srv: DHCP, PXE and TFTP with the
# delivered files; no menu and no preseed. For the "partial" proof.
set -eu

install -d -m 755 /srv/tftp /srv/tftp/pxelinux.cfg
cp -a /root/livraison-pxe/pxelinux.0 /root/livraison-pxe/ldlinux.c32 /root/livraison-pxe/bootx64.efi /root/livraison-pxe/debian-installer /srv/tftp/
chmod -R a+rX /srv/tftp
cat >/etc/dnsmasq.d/deploiement.conf <<'EOF'
# Déploiement de la salle informatique : DHCP, PXE et TFTP sur eth1 seulement
interface=eth1
bind-interfaces
port=0
dhcp-range=10.60.0.100,10.60.0.150,255.255.255.0,12h
dhcp-option=option:router,10.60.0.254
dhcp-authoritative
# UEFI x86-64 (architectures 7 et 9) : GRUB ; les autres : SYSLINUX
dhcp-match=set:efi64,option:client-arch,7
dhcp-match=set:efi64,option:client-arch,9
dhcp-boot=tag:efi64,bootx64.efi
dhcp-boot=tag:!efi64,pxelinux.0
enable-tftp
tftp-root=/srv/tftp
log-dhcp
EOF
systemctl enable dnsmasq
systemctl restart dnsmasq
