#!/usr/bin/env bash
# run_web_e2e.sh: suite `web-e2e` — the web interface end to end, in
# Debian's headless Chromium driven by playwright-core (web_e2e.mjs),
# against a real tssrlabd on 127.0.0.1 (free port, temporary state dir)
# with the real backend: `tiny` guests on qemu:///system under TCG, the
# fixture definitions of tests/fixtures/tiny (scenario tiny-01, lab
# tiny-pair: machines alpha and beta).
#
# The daemon runs with `reconcile = off`: other tests and daemons share
# this libvirtd, and a start-up reconcile would remove their guests. So
# this script removes its own objects itself: the session is destroyed
# through the API at the end, and whatever is left of it (found by the
# name prefix tl+<session>+) is removed with virsh, even on failure.
#
# Screenshots of every page go to BUILD_ROOT/web-screenshots/ (with the
# daemon's log, tssrlabd.log).
# Skipped (77) where Chromium, node, the built interface, libvirtd or the
# tiny image is missing (tools/setup installs and builds all of them).
#
# usage: run_web_e2e.sh TSSRLABD SOURCE_ROOT BUILD_ROOT
set -u
tld=$1 src=$2 build=$3
deps=$build/web/deps
site=$build/web/site
shots=$build/web-screenshots
uri=qemu:///system
images=${TSSRLAB_IMAGES_DIR:-/var/lib/tssrlab/images}
key=${TSSRLAB_MGMT_KEY:-/var/lib/tssrlab/keys/mgmt_ed25519}

skip() { echo "skipped: $*"; exit 77; }
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium (apt-get install chromium)"
command -v node >/dev/null || skip "no node (apt-get install nodejs)"
[ -d "$deps/node_modules/playwright-core" ] || skip "playwright-core not installed in $deps (web build)"
[ -f "$site/index.html" ] || skip "web interface not built in $site"
virsh -q -c "$uri" version >/dev/null 2>&1 || skip "libvirtd does not answer on $uri (tools/setup-libvirt)"
[ -e "$images/tiny" ] || skip "no tiny image in $images (tools/build-image tiny)"
[ -f "$key" ] || skip "no management key $key (tools/build-image makes it)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tssrlab-web-XXXXXX")
session="web-$$-$(date +%s | tail -c 5)"
dpid=
cleanup() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill "$dpid" 2>/dev/null
		wait "$dpid" 2>/dev/null
	fi
	# whatever of this run's session libvirt still holds
	for d in $(virsh -q -c "$uri" list --all --name 2>/dev/null | grep -F "tl+$session+"); do
		virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1
		virsh -q -c "$uri" undefine "$d" --nvram >/dev/null 2>&1 || virsh -q -c "$uri" undefine "$d" >/dev/null 2>&1
	done
	for n in $(virsh -q -c "$uri" net-list --all --name 2>/dev/null | grep -F "tl+$session+"); do
		virsh -q -c "$uri" net-destroy "$n" >/dev/null 2>&1
		virsh -q -c "$uri" net-undefine "$n" >/dev/null 2>&1
	done
	for p in $(virsh -q -c "$uri" pool-list --name 2>/dev/null); do
		for v in $(virsh -q -c "$uri" vol-list "$p" 2>/dev/null | awk '{print $1}' | grep -F "tl+$session+"); do
			virsh -q -c "$uri" vol-delete "$v" --pool "$p" >/dev/null 2>&1
		done
	done
	# the daemon's log beside the screenshots, for the reviewer
	[ -f "$tmp/daemon.log" ] && cp "$tmp/daemon.log" "$shots/tssrlabd.log"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$shots"
mkdir -p "$shots"
cat >"$tmp/conf" <<CONF
state_dir = $tmp/state
backend = libvirt
libvirt_uri = $uri
accel = tcg
reconcile = off
solutions = on
definitions = $src/tests/fixtures/tiny
images_dir = $images
ssh_key = $key
listen = 127.0.0.1
port = 0
port_file = $tmp/port
tick_ms = 200
workers = 2
ready_timeout = 240
web_root = $site
CONF
"$tld" -f -c "$tmp/conf" 2>"$tmp/daemon.log" &
dpid=$!
for _ in $(seq 300); do
	[ -s "$tmp/port" ] && break
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$tmp/port" ]; then
	cat "$tmp/daemon.log"
	echo "0 passed, 1 failed"
	exit 1
fi
port=$(cat "$tmp/port")
t0=$(date +%s)
node "$src/tests/web/web_e2e.mjs" --base "http://127.0.0.1:$port" \
	--admin "$(cat "$tmp/state/admin.token")" --session "$session" \
	--shots "$shots" --deps "$deps" --profile "$tmp/chromium"
rc=$?
echo "web-e2e: ${session}: $(($(date +%s) - t0)) s in the browser test"
if [ $rc -ne 0 ]; then
	echo "--- daemon log (tail) ---"
	tail -n 60 "$tmp/daemon.log"
fi
exit $rc
