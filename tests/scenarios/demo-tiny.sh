#!/usr/bin/env bash
# demo-tiny.sh: `tssrlab demo` end to end on real tiny guests, with the
# test scenario tests/fixtures/tiny (tiny-01: 2 machines, 4 criteria):
# the daemon starts, provisions 2 instances on qemu:///system, grades the
# untouched labs (0), applies the full and the half solution, grades
# (4/4 and 2/4), prints the grid per criterion and per competence, writes
# the CSV, tears everything down and exits 0. Also: an unknown scenario
# and a bad option are refused before anything is created.
# usage: demo-tiny.sh TSSRLAB SOURCE_ROOT
set -u
tl=$(realpath "$1") src=$(realpath "$2")
. "$src/tests/lib/testlib.sh"
virsh -c qemu:///system version >/dev/null 2>&1 || { echo "SKIP: libvirtd not running"; exit 77; }
[ -f /var/lib/tssrlab/images/tiny/disk.qcow2 ] || { echo "SKIP: tiny image not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tssrlab-demo-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export TSSRLAB_DATADIR=$src/tests/fixtures/tiny

"$tl" demo no-such-scenario --state-dir "$tmp/s0" >"$tmp/bad" 2>&1
is "unknown scenario: exit 1" $? 1
has "unknown scenario: named" 'no scenario "no-such-scenario"' "$tmp/bad"
is "unknown scenario: no daemon state made" "$(ls "$tmp" | grep -c s0)" 0
"$tl" demo --workers 0 >"$tmp/bad" 2>&1
is "bad --workers: exit 2" $? 2

(cd "$tmp" && "$tl" demo tiny-01 --state-dir "$tmp/state" --csv "$tmp") >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
is "demo exits 0" "$rc" 0
has "daemon started on loopback" '^tssrlabd: started on http://127\.0\.0\.1:[0-9]+' "$tmp/out"
has "progress shown" '^machines ready: 4/4' "$tmp/out"
has "untouched labs score 0" '^graded \(untouched\) demo-full +0/4' "$tmp/out"
has "full solution scores 4/4" '^graded \(solutions\) demo-full +4/4' "$tmp/out"
has "half solution scores 2/4" '^graded \(solutions\) demo-half +2/4' "$tmp/out"
has "grid per criterion" '^  lisezmoi-mode +cp9\.2 +pass +1 +fail +0' "$tmp/out"
has "grid per competence" '^  cp9 .*4/4 +2/4' "$tmp/out"
csv=$tmp/tssrlab-demo-tiny-01.csv
has "CSV header" '^trainee,name,state,run,kind,frozen,score,max,motd,tech,lisezmoi,lisezmoi-mode[[:cntrl:]]?$' "$csv"
has "CSV demo-full row" '^demo-full,.*,4,4,pass,pass,pass,pass[[:cntrl:]]?$' "$csv"
has "CSV demo-half row" '^demo-half,.*,2,4,pass,pass,fail,fail[[:cntrl:]]?$' "$csv"
has "torn down" 'everything torn down' "$tmp/out"
is "no domain left" "$(libvirt_left "tl+demo-tiny-01-" domains)" 0
is "no network left" "$(libvirt_left "tl+demo-tiny-01-" networks)" 0
is "no volume left" "$(libvirt_left "tl+demo-tiny-01-" volumes)" 0
is "daemon stopped" "$(pgrep -f -c "tssrlabd -f -c $tmp/state/" || true)" 0
finish
