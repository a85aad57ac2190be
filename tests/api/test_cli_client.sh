#!/usr/bin/env bash
# test_cli_client.sh: the `tssrlab` client commands against a real tssrlabd
# (test backend, temp state dir, free port on 127.0.0.1): session create
# with --wait, list, show, grade --wait, report (table, CSV, JSON, one
# trainee), trainee token, end --wait, freeze; the exit statuses scripts
# rely on (0 ok, 1 refused as invalid, 2 usage, 3 failure) and the
# server/token from the environment or the command line.
# usage: test_cli_client.sh TSSRLAB TSSRLABD SOURCE_ROOT
set -u
tl=$1 tld=$2 src=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tssrlab-cli-XXXXXX")
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/lib/testlib.sh"

cat >"$tmp/conf" <<CONF
state_dir = $tmp/state
listen = 127.0.0.1
port = 0
port_file = $tmp/port
backend = test
accel = tcg
tick_ms = 100
test_provision_ms = 100
test_grade_ms = 50
CONF
"$tld" -f -c "$tmp/conf" -D "$src" 2>"$tmp/log" &
dpid=$!
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
if [ ! -s "$tmp/port" ]; then
	cat "$tmp/log"
	echo "0 passed, 1 failed"
	exit 1
fi
export TSSRLAB_SERVER="http://127.0.0.1:$(cat "$tmp/port")"
export TSSRLAB_TOKEN="$(cat "$tmp/state/admin.token")"

printf 'alice,Alice Martin\nbob,Bob Durand\n' >"$tmp/trainees.csv"
expect "session create --wait" 0 'alice +Alice Martin +ready' \
	"$tl" session create --scenario linux-web-01 --trainees "$tmp/trainees.csv" --id s1 --wait
expect "session create, same id: invalid" 1 'already exists' \
	"$tl" session create --scenario linux-web-01 --trainee x:X --id s1
expect "session create, unknown scenario names the field" 1 'field "scenario"' \
	"$tl" session create --scenario nope --trainee x:X
expect "session create without trainees: usage" 2 'give trainees' \
	"$tl" session create --scenario linux-web-01
expect "session list" 0 '^s1 +linux-web-01 +active +2' "$tl" session list
expect "session list --json" 0 '"id": "s1"' "$tl" session list --json
expect "session show" 0 'machines 2/2 ready' "$tl" session show s1
expect "session show unknown: invalid" 1 'no session' "$tl" session show nope
expect "session grade --wait" 0 '^bob +[0-9]+ +[0-9.]+/10' "$tl" session grade s1 --wait
expect "session grade one trainee" 0 '1 grading job queued' "$tl" session grade s1 --trainee alice
expect "report grid" 0 '^alice +[0-9.]+/10 +[PF.]{6}' "$tl" report s1
expect "report --csv" 0 '^trainee,name,state,run,kind,frozen,score,max' "$tl" report s1 --csv
expect "report --trainee shows evidence" 0 'service.active on srv: done' "$tl" report s1 --trainee bob
expect "report --score on a probe criterion: invalid" 1 'graded by probes' \
	"$tl" report s1 --trainee bob --score droits-site 0.5
tok=$("$tl" trainee token s1 alice)
if [[ $tok == tlk_* ]]; then ok "trainee token"; else ko "trainee token" "$tok"; fi
expect "a trainee cannot list sessions (403 -> 3)" 3 'may not' \
	"$tl" session list --token "$tok"
expect "wrong token (401 -> 3)" 3 'invalid or revoked token' \
	env TSSRLAB_TOKEN=tlk_nope "$tl" session list
expect "no daemon (connection refused -> 3)" 3 'is tssrlabd running' \
	"$tl" session list --server http://127.0.0.1:1
expect "usage error" 2 'usage' "$tl" session frobnicate
expect "session end --wait" 0 'state +ended' "$tl" session end s1 --wait
expect "freeze" 0 'frozen' "$tl" report s1 --freeze
expect "freeze twice: invalid" 1 'already frozen' "$tl" report s1 --freeze
expect "grid is frozen" 0 'final,yes' "$tl" report s1 --csv

# TLS: a second daemon with a certificate; the client checks it
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" \
		-out "$tmp/cert.pem" -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 2>/dev/null
	sed -e "s|^state_dir = .*|state_dir = $tmp/tls-state|" \
		-e "s|^port_file = .*|port_file = $tmp/tls-port|" "$tmp/conf" >"$tmp/tls.conf"
	printf 'tls_cert = %s\ntls_key = %s\n' "$tmp/cert.pem" "$tmp/key.pem" >>"$tmp/tls.conf"
	"$tld" -f -c "$tmp/tls.conf" -D "$src" 2>"$tmp/tls.log" &
	tpid=$!
	for _ in $(seq 200); do [ -s "$tmp/tls-port" ] && break; sleep 0.05; done
	turl="https://127.0.0.1:$(cat "$tmp/tls-port" 2>/dev/null)"
	ttok=$(cat "$tmp/tls-state/admin.token" 2>/dev/null)
	expect "https with the daemon's CA" 0 '\(no session\)' \
		"$tl" session list --server "$turl" --token "$ttok" --cacert "$tmp/cert.pem"
	expect "https without the CA is refused" 3 'certificate|SSL' \
		"$tl" session list --server "$turl" --token "$ttok"
	kill "$tpid"; wait "$tpid" 2>/dev/null
else
	echo "skip TLS checks: no openssl command"
fi

# daemon mode, pid file, SIGHUP: a bad definition is refused, the old
# set stays; a good one is taken
mkdir -p "$tmp/defs/scenarios"
cp -r "$src/labs" "$tmp/defs/"
cp -r "$src/scenarios/referential" "$src/scenarios/solutions" "$src/scenarios/linux-web-01.json" "$tmp/defs/scenarios/"
sed -e "s|^state_dir = .*|state_dir = $tmp/d-state|" -e "s|^port_file = .*|port_file = $tmp/d-port|" \
	"$tmp/conf" >"$tmp/d.conf"
printf 'definitions = %s\n' "$tmp/defs" >>"$tmp/d.conf"
expect "-n checks config and definitions" 0 '^configuration OK$' "$tld" -n -c "$tmp/d.conf"
printf 'prot = 1\n' >"$tmp/bad.conf"
expect "-n names a bad key" 1 'bad.conf:1: unknown key "prot"' "$tld" -n -c "$tmp/bad.conf"
expect "daemon mode returns once listening" 0 '^$' "$tld" -c "$tmp/d.conf"
dport=$(cat "$tmp/d-port" 2>/dev/null)
dpidf="$tmp/d-state/tssrlabd.pid"
if [ -s "$dpidf" ] && kill -0 "$(cat "$dpidf")" 2>/dev/null; then
	ok "pid file names the running daemon"
else
	ko "pid file names the running daemon" "$(ls "$tmp/d-state")"
fi
expect "a second daemon on the same state dir is refused" 3 'another tssrlabd runs' \
	"$tld" -f -c "$tmp/d.conf"
dtok=$(cat "$tmp/d-state/admin.token")
scen() { curl -s -H "Authorization: Bearer $dtok" "http://127.0.0.1:$dport/api/v1/scenarios"; }
sed 's/"weight": 2,/"weight": 2,,/' "$src/scenarios/linux-web-01.json" >"$tmp/defs/scenarios/linux-web-01.json"
kill -HUP "$(cat "$dpidf")"
for _ in $(seq 50); do grep -q 'reload.refused' "$tmp/d-state/tssrlabd.log" && break; sleep 0.1; done
expect "SIGHUP with a bad file: refused, located" 0 'event=reload.refused.*linux-web-01.json:[0-9]+:[0-9]+' \
	cat "$tmp/d-state/tssrlabd.log"
expect "the old definitions still serve" 0 '"id":"linux-web-01"' scen
sed 's/"title": "Mettre en production/"title": "Mise en production/' "$src/scenarios/linux-web-01.json" \
	>"$tmp/defs/scenarios/linux-web-01.json"
kill -HUP "$(cat "$dpidf")"
for _ in $(seq 50); do grep -q 'event=reload ' "$tmp/d-state/tssrlabd.log" && break; sleep 0.1; done
expect "SIGHUP with a good file: taken" 0 '"title":"Mise en production' scen
kill -TERM "$(cat "$dpidf")"
for _ in $(seq 100); do [ -e "$dpidf" ] || break; sleep 0.1; done
if [ ! -e "$dpidf" ] && grep -q 'event=stopped' "$tmp/d-state/tssrlabd.log"; then
	ok "SIGTERM: graceful stop, pid file removed"
else
	ko "SIGTERM: graceful stop, pid file removed" "$(tail -3 "$tmp/d-state/tssrlabd.log")"
fi

finish
