#!/usr/bin/env bash
# proof.sh: one scenario's end-to-end proof on real guests, through a real
# tssrlabd (its own state dir, a free port) on qemu:///system:
#   untouched lab -> every trainee criterion fails (the "given" ones pass),
#   half solution -> in between, full solution -> every criterion passes,
#   and no criterion in error at any step; then teardown, nothing left.
# `tssrlab demo --proof` does the work; this wrapper gives it a private
# state dir and checks libvirt afterwards.
# usage: proof.sh TSSRLAB SOURCE_ROOT SCENARIO
# Skipped (77) without libvirtd or the images the scenario needs.
set -u
tl=$(realpath "$1") src=$(realpath "$2") scen=$3
. "$src/tests/lib/testlib.sh"
virsh -c qemu:///system version >/dev/null 2>&1 || { echo "SKIP: libvirtd not running"; exit 77; }
for img in $(jq -r --arg s "$scen" '.lab' "$src/scenarios/$scen.json" |
	xargs -I{} jq -r '.machines[].image' "$src/labs/{}.json" | sort -u); do
	[ -f "/var/lib/tssrlab/images/$img/disk.qcow2" ] ||
		{ echo "SKIP: image $img not built (tools/build-image $img)"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tssrlab-proof-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$tl" demo --proof "$scen" --state-dir "$tmp/state" --workers 2 >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
is "proof of $scen exits 0" "$rc" 0
is "proof of $scen holds" "$(grep -c 'proof holds: untouched 0, half in between, full 100%' "$tmp/out")" 1
is "session of $scen destroyed" "$(grep -c 'destroyed: machines, networks and disks removed' "$tmp/out")" 1
is "no domain of $scen left" "$(libvirt_left "tl+proof-$scen-" domains)" 0
is "no network of $scen left" "$(libvirt_left "tl+proof-$scen-" networks)" 0
is "no volume of $scen left" "$(libvirt_left "tl+proof-$scen-" volumes)" 0
finish
