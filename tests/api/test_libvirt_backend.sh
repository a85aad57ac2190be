#!/usr/bin/env bash
# test_libvirt_backend.sh: tssrlabd with its real backend (the provisioner,
# orchestrator/provision, and the probe engine) on libvirt's test driver:
# a private fixture (test:///abs/fixture.xml, in-process, nothing shared
# with the host's libvirtd) whose pools hold fake image files. Machines
# are defined and started but never boot (provision_wait = none), so the
# grader must answer "error" for every criterion — the machine's identity
# cannot be checked — never a silent fail. Then reset, end (stop), freeze
# and teardown go through the provisioner.
# Skipped (77) when tssrlabd was built without the provisioner.
# usage: test_libvirt_backend.sh TSSRLAB TSSRLABD SOURCE_ROOT
set -u
tl=$1 tld=$2 src=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tssrlab-lv-XXXXXX")
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/lib/testlib.sh"

# fake built images, and the fixture that shows them as libvirt pools
mkdir -p "$tmp/images" "$tmp/pool"
pools=
for spec in tiny:a1:64 debian12:b2:3072; do
	IFS=: read -r id tag mib <<<"$spec"
	dir="$tmp/images/$id-$(printf '%062d' 0)$tag"
	mkdir -p "$dir"
	: >"$dir/disk.qcow2"; : >"$dir/vmlinuz"; : >"$dir/initrd.img"
	ln -s "$(basename "$dir")" "$tmp/images/$id"
	pools+="<pool type='dir'><name>images-$id</name><capacity unit='GiB'>100</capacity>"
	pools+="<allocation>0</allocation><available unit='GiB'>100</available>"
	pools+="<target><path>$dir</path></target>"
	pools+="<volume type='file'><name>disk.qcow2</name><capacity unit='MiB'>$mib</capacity>"
	pools+="<allocation unit='MiB'>1</allocation><target><path>$dir/disk.qcow2</path>"
	pools+="<format type='qcow2'/></target></volume>"
	pools+="<volume type='file'><name>vmlinuz</name><capacity unit='MiB'>14</capacity>"
	pools+="<target><path>$dir/vmlinuz</path></target></volume>"
	pools+="<volume type='file'><name>initrd.img</name><capacity unit='MiB'>3</capacity>"
	pools+="<target><path>$dir/initrd.img</path></target></volume></pool>"
done
cat >"$tmp/fixture.xml" <<XML
<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>
<mhz>2000</mhz></cpu><memory>25165824</memory>$pools</node>
XML
ssh-keygen -q -t ed25519 -N '' -f "$tmp/key"
cat >"$tmp/conf" <<CONF
state_dir = $tmp/state
backend = libvirt
libvirt_uri = test://$tmp/fixture.xml
accel = tcg
images_dir = $tmp/images
pool_path = $tmp/pool
ssh_key = $tmp/key
provision_wait = none
listen = 127.0.0.1
port = 0
port_file = $tmp/port
tick_ms = 100
CONF
"$tld" -f -c "$tmp/conf" -D "$src" 2>"$tmp/log" &
dpid=$!
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
if [ ! -s "$tmp/port" ]; then
	if grep -q "built without the libvirt provisioner" "$tmp/log"; then
		echo "skipped: tssrlabd built without the provisioner"
		exit 77
	fi
	cat "$tmp/log"
	echo "0 passed, 1 failed"
	exit 1
fi
export TSSRLAB_SERVER="http://127.0.0.1:$(cat "$tmp/port")"
export TSSRLAB_TOKEN="$(cat "$tmp/state/admin.token")"
api() { curl -s -H "Authorization: Bearer $TSSRLAB_TOKEN" "$@"; }

expect "healthz names the libvirt backend" 0 '"backend":"libvirt"' api "$TSSRLAB_SERVER/healthz"
expect "create on the test driver" 0 'machines 2/2 ready' \
	"$tl" session create --scenario linux-web-01 --trainee alice:Alice --trainee bob:Bob --id lv --wait
expect "forwarded SSH port from the provisioner" 0 'srv=127.0.0.1:2[0-9]{4}' "$tl" session show lv
expect "grade: unreachable machines are errors, not fails" 0 'alice +0/10 +EEEEEE' \
	sh -c "'$tl' session grade lv --wait >/dev/null && '$tl' report lv"
expect "the report says why" 0 'host key|cannot be checked|connect' "$tl" report lv --trainee alice
code=$(api -o /dev/null -w '%{http_code}' -X POST "$TSSRLAB_SERVER/api/v1/sessions/lv/instances/alice/machines/srv/reset")
[ "$code" = 202 ] && ok "reset through the provisioner (202)" || ko "reset" "HTTP $code"
expect "end: final grading, machines stopped" 0 'alice +Alice +stopped' "$tl" session end lv --wait
expect "freeze: teardown through the provisioner" 0 'frozen' "$tl" report lv --freeze
for _ in $(seq 100); do
	"$tl" session show lv 2>/dev/null | grep -Eq 'state +destroyed' && break
	sleep 0.1
done
expect "destroyed" 0 'bob +Bob +destroyed' "$tl" session show lv
if grep -q 'level=warn event=job.failed' "$tmp/log"; then
	ko "no job failed" "$(grep 'event=job.failed' "$tmp/log")"
else
	ok "no job failed"
fi
kill "$dpid"; wait "$dpid"; rc=$?; dpid=
[ "$rc" = 0 ] && ok "graceful stop" || ko "graceful stop" "exit $rc"
finish
