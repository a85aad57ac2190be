#!/bin/sh
# Reference solution of deploiement-01 on srv (kept out of trainees' view).
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

cat >/srv/tftp/pxelinux.cfg/default <<'EOF'
DEFAULT local
PROMPT 1
TIMEOUT 100
SAY Lycee Jules-Verne - salle informatique : local, bureautique ou cao

LABEL local
  MENU LABEL Demarrer sur le disque local
  LOCALBOOT 0

LABEL bureautique
  MENU LABEL Installer un poste bureautique (Debian 12)
  KERNEL debian-installer/amd64/linux
  APPEND initrd=debian-installer/amd64/initrd.gz auto=true priority=critical url=http://10.60.0.1/preseed/bureautique.cfg ---

LABEL cao
  MENU LABEL Installer un poste de l'atelier CAO (Debian 12)
  KERNEL debian-installer/amd64/linux
  APPEND initrd=debian-installer/amd64/initrd.gz auto=true priority=critical url=http://10.60.0.1/preseed/cao.cfg ---
EOF
install -d -m 755 /var/www/html/preseed
cat >/var/www/html/preseed/bureautique.cfg <<'EOF'
# Préconfiguration de l'installateur Debian 12 - profil bureautique
d-i debian-installer/locale string fr_FR.UTF-8
d-i keyboard-configuration/xkb-keymap select fr
d-i time/zone string Europe/Paris
d-i clock-setup/utc boolean true
d-i netcfg/choose_interface select auto
d-i netcfg/get_domain string lycee-jules-verne.lan
d-i mirror/country string manual
d-i mirror/http/hostname string deb.debian.org
d-i mirror/http/directory string /debian
d-i mirror/http/proxy string
d-i passwd/root-login boolean false
d-i passwd/user-fullname string Eleve
d-i passwd/username string eleve
d-i passwd/user-password-crypted password !
d-i partman-auto/method string regular
d-i partman-auto/choose_recipe select atomic
d-i partman/confirm_write_new_label boolean true
d-i partman/choose_partition select finish
d-i partman/confirm boolean true
d-i partman/confirm_nooverwrite boolean true
tasksel tasksel/first multiselect standard, desktop, xfce-desktop
d-i pkgsel/include string libreoffice libreoffice-l10n-fr firefox-esr firefox-esr-l10n-fr
d-i grub-installer/only_debian boolean true
d-i grub-installer/bootdev string default
d-i finish-install/reboot_in_progress note
EOF
cat >/var/www/html/preseed/cao.cfg <<'EOF'
# Préconfiguration de l'installateur Debian 12 - profil atelier CAO
d-i debian-installer/locale string fr_FR.UTF-8
d-i keyboard-configuration/xkb-keymap select fr
d-i time/zone string Europe/Paris
d-i clock-setup/utc boolean true
d-i netcfg/choose_interface select auto
d-i netcfg/get_domain string lycee-jules-verne.lan
d-i mirror/country string manual
d-i mirror/http/hostname string deb.debian.org
d-i mirror/http/directory string /debian
d-i mirror/http/proxy string
d-i passwd/root-login boolean false
d-i passwd/user-fullname string Eleve
d-i passwd/username string eleve
d-i passwd/user-password-crypted password !
d-i partman-auto/method string regular
d-i partman-auto/choose_recipe select atomic
d-i partman/confirm_write_new_label boolean true
d-i partman/choose_partition select finish
d-i partman/confirm boolean true
d-i partman/confirm_nooverwrite boolean true
tasksel tasksel/first multiselect standard, desktop, xfce-desktop
d-i pkgsel/include string freecad librecad firefox-esr
d-i grub-installer/only_debian boolean true
d-i grub-installer/bootdev string default
d-i finish-install/reboot_in_progress note
EOF
chmod 644 /srv/tftp/pxelinux.cfg/default /var/www/html/preseed/*.cfg
systemctl enable nginx
systemctl restart nginx
