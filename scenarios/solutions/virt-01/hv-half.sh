#!/bin/sh
# Half of virt-01's solution: the virtual switch and the running VM; no
# snapshot, data disk, backup or restore test. For the "partial" proof.
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
