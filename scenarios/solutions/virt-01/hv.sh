#!/bin/sh
# Reference solution of virt-01 on hv (kept out of trainees' view).
set -eu

# 1. isolated virtual switch
if ! virsh net-info lan-prod >/dev/null 2>&1; then
	cat >/tmp/lan-prod.xml <<'EOF'
<network>
  <name>lan-prod</name>
  <bridge name='virbr-prod' stp='on' delay='0'/>
  <ip address='10.99.10.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.99.10.100' end='10.99.10.199'/>
    </dhcp>
  </ip>
</network>
EOF
	virsh net-define /tmp/lan-prod.xml >/dev/null
fi
virsh net-info lan-prod | grep -Eq '^Active:[[:space:]]+yes' || virsh net-start lan-prod >/dev/null
virsh net-autostart lan-prod >/dev/null
# 2. the VM (emulated: no nested KVM here)
[ -f /var/lib/libvirt/images/vm-intranet.qcow2 ] || qemu-img create -q -f qcow2 /var/lib/libvirt/images/vm-intranet.qcow2 4G
if ! virsh dominfo vm-intranet >/dev/null 2>&1; then
	cat >/tmp/vm-intranet.xml <<'EOF'
<domain type='qemu'>
  <name>vm-intranet</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/vm-intranet.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='lan-prod'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
	virsh define /tmp/vm-intranet.xml >/dev/null
fi
virsh autostart vm-intranet >/dev/null
[ "$(virsh domstate vm-intranet)" = running ] || virsh start vm-intranet >/dev/null

# 3. snapshot before the intervention, then the data disk (live and persistent)
virsh snapshot-info vm-intranet avant-ajout-disque >/dev/null 2>&1 ||
	virsh snapshot-create-as vm-intranet avant-ajout-disque --description "Avant l'ajout du disque de données" >/dev/null
[ -f /var/lib/libvirt/images/vm-intranet-donnees.qcow2 ] || qemu-img create -q -f qcow2 /var/lib/libvirt/images/vm-intranet-donnees.qcow2 1G
virsh domblklist --inactive vm-intranet | grep -q vm-intranet-donnees ||
	virsh attach-disk vm-intranet /var/lib/libvirt/images/vm-intranet-donnees.qcow2 vdb --driver qemu --subdriver qcow2 --targetbus virtio --live --config >/dev/null
# 4. nightly backup, and a first one
cat >/usr/local/sbin/sauvegarde-vm.sh <<'EOF'
#!/bin/sh
# sauvegarde-vm.sh : sauvegarde cohérente de vm-intranet (XML + disques) dans
# /srv/sauvegardes/vm/AAAAMMJJ/, copies vérifiées par qemu-img check.
set -eu
VM=vm-intranet
DEST=/srv/sauvegardes/vm/$(date +%Y%m%d)
mkdir -p "$DEST"
virsh dumpxml --inactive "$VM" >"$DEST/$VM.xml"
# la liste des disques : cible et fichier source
disques=$(virsh domblklist "$VM" | awk 'NR > 2 && $2 ~ /^\// {print $1 ":" $2}')
if [ "$(virsh domstate "$VM")" = running ]; then
	# copie cohérente à chaud : job de sauvegarde « push » de libvirt
	xml="<domainbackup><disks>"
	for d in $disques; do
		xml="$xml<disk name='${d%%:*}' backup='yes' type='file'><target file='$DEST/$(basename "${d#*:}")'/><driver type='qcow2'/></disk>"
	done
	xml="$xml</disks></domainbackup>"
	echo "$xml" >"$DEST/backup.xml"
	rm -f "$DEST"/*.qcow2
	virsh backup-begin "$VM" --backupxml "$DEST/backup.xml" >/dev/null
	while virsh domjobinfo "$VM" | grep -q '^Job type:[[:space:]]*Unbounded'; do sleep 2; done
	virsh domjobinfo "$VM" --completed | grep -q 'Completed' || { echo "sauvegarde de $VM en échec" >&2; exit 1; }
	rm -f "$DEST/backup.xml"
else
	for d in $disques; do
		qemu-img convert -O qcow2 "${d#*:}" "$DEST/$(basename "${d#*:}")"
	done
fi
for f in "$DEST"/*.qcow2; do qemu-img check -q "$f"; done
echo "$(date '+%F %T') sauvegarde de $VM OK dans $DEST"
EOF
chmod 750 /usr/local/sbin/sauvegarde-vm.sh
printf '# Sauvegarde nocturne de vm-intranet\n0 2 * * * root /usr/local/sbin/sauvegarde-vm.sh >>/var/log/sauvegarde-vm.log 2>&1\n' >/etc/cron.d/sauvegarde-vm
/usr/local/sbin/sauvegarde-vm.sh >>/var/log/sauvegarde-vm.log 2>&1

# restore test: a copy defined from the backup, off the production network
src=$(ls -dt /srv/sauvegardes/vm/*/ | head -n 1)
install -d -m 711 /var/lib/libvirt/images/restauration
if ! virsh dominfo vm-intranet-restau >/dev/null 2>&1; then
	for f in "$src"*.qcow2; do cp --sparse=always "$f" /var/lib/libvirt/images/restauration/; done
	sed -e 's#<name>vm-intranet</name>#<name>vm-intranet-restau</name>#' \
		-e '/<uuid>/d' -e '/<mac address/d' \
		-e 's#/var/lib/libvirt/images/vm-intranet#/var/lib/libvirt/images/restauration/vm-intranet#' \
		-e "s#<source network='lan-prod'/>#<source network='lan-prod-test'/>#" \
		"$src/vm-intranet.xml" >/tmp/vm-intranet-restau.xml
	virsh net-info lan-prod-test >/dev/null 2>&1 || {
		printf "<network><name>lan-prod-test</name><bridge name='virbr-test'/></network>\n" >/tmp/lan-prod-test.xml
		virsh net-define /tmp/lan-prod-test.xml >/dev/null
	}
	virsh define /tmp/vm-intranet-restau.xml >/dev/null
fi
