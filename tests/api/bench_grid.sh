#!/usr/bin/env bash
# bench_grid.sh: the session grid endpoint under load, against its ceiling.
# A session of 30 trainees x 25 criteria (a generated scenario), graded by
# the test backend; then wrk on 127.0.0.1 against
#   GET /api/v1/sessions/bench/grid   (tssrlabd, bearer token)
#   the same JSON as a static file    (nginx, same machine, same run)
# and the daemon's RSS once 50 such sessions are loaded and graded.
# Prints key=value lines: rps= p99_ms= nginx_rps= nginx_p99_ms=
# ratio_vs_nginx= rss_mib= grid_bytes= sessions= (and exits 77 = skipped
# when wrk or nginx is missing: apt-get install wrk nginx).
# usage: bench_grid.sh TSSRLABD SOURCE_ROOT
set -uo pipefail
tld=$1 src=$2
secs=${TSSRLAB_BENCH_SECONDS:-10}
conns=${TSSRLAB_BENCH_CONNECTIONS:-32}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if ! command -v wrk >/dev/null || [ ! -x "$nginx_bin" ]; then
	echo "bench_grid: needs wrk and nginx (apt-get install wrk nginx): skipped"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tssrlab-bench-XXXXXX")
dpid= npid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT

# definitions: the shipped tree plus a scenario of 25 criteria
mkdir -p "$tmp/defs"
cp -r "$src/labs" "$tmp/defs/"
mkdir -p "$tmp/defs/scenarios"
cp -r "$src/scenarios/referential" "$tmp/defs/scenarios/"
python3 - "$src/scenarios/linux-web-01.json" "$tmp/defs/scenarios/bench-25.json" <<'PY'
import json, sys
base = json.load(open(sys.argv[1]))
refs = [c["ref"] for t in base["tasks"] for c in t["criteria"]]
tasks = []
for t in range(5):
    crits = []
    for c in range(5):
        n = t * 5 + c + 1
        crits.append({"id": "c%02d" % n, "label": "critere %d" % n,
                      "ref": refs[n % len(refs)], "weight": 1 + n % 3,
                      "probes": [{"kind": "service.active", "machine": "srv",
                                  "args": {"name": "svc%d" % n}}]})
    tasks.append({"id": "t%d" % (t + 1), "title": "tache %d" % (t + 1),
                  "criteria": crits})
s = {k: base[k] for k in ("title", "briefing", "lab", "duration_min",
                          "competences", "self_check")}
s.update({"id": "bench-25", "tasks": tasks})
json.dump(s, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
PY

cat >"$tmp/tssrlabd.conf" <<CONF
state_dir = $tmp/state
definitions = $tmp/defs
listen = 127.0.0.1
port = 0
port_file = $tmp/port
backend = test
accel = tcg
workers = 4
log_level = warn
test_provision_ms = 0
test_grade_ms = 0
CONF
"$tld" -f -c "$tmp/tssrlabd.conf" 2>"$tmp/daemon.log" &
dpid=$!
for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "bench_grid: tssrlabd did not start"; cat "$tmp/daemon.log"; exit 1; }
port=$(cat "$tmp/port")
tok=$(cat "$tmp/state/admin.token")
api="http://127.0.0.1:$port/api/v1"
auth="Authorization: Bearer $tok"

trainees=$(python3 -c 'import json; print(json.dumps([{"id":"t%02d"%i,"name":"Stagiaire %d"%i} for i in range(30)]))')
make_session() { # id
	curl -sf -H "$auth" -X POST "$api/sessions" \
		-d "{\"id\":\"$1\",\"scenario\":\"bench-25\",\"trainees\":$trainees}" >/dev/null
}
wait_ready() { # id
	for _ in $(seq 600); do
		curl -sf -H "$auth" "$api/sessions/$1" | python3 -c '
import json,sys; p=json.load(sys.stdin)["progress"]
sys.exit(0 if p["instances_ready"]==p["instances_total"] else 1)' && return 0
		sleep 0.1
	done
	return 1
}
wait_graded() { # id
	for _ in $(seq 600); do
		curl -sf -H "$auth" "$api/sessions/$1" | python3 -c '
import json,sys; p=json.load(sys.stdin)["progress"]
sys.exit(0 if p["instances_graded"]==p["instances_total"] else 1)' && return 0
		sleep 0.1
	done
	return 1
}
make_session bench && wait_ready bench || { echo "bench_grid: session not ready"; exit 1; }
curl -sf -H "$auth" -X POST "$api/sessions/bench/grade" >/dev/null
wait_graded bench || { echo "bench_grid: session not graded"; exit 1; }
curl -sf -H "$auth" "$api/sessions/bench/grid" >"$tmp/grid.json"
cells=$(python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); print(len(g["rows"])*len(g["criteria"]))' "$tmp/grid.json")
[ "$cells" = 750 ] || { echo "bench_grid: grid has $cells cells, not 750"; exit 1; }

# nginx serving the same bytes
mkdir -p "$tmp/www" "$tmp/nginx"
cp "$tmp/grid.json" "$tmp/www/grid.json"
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/nginx.conf" <<NG
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  default_type application/json;
  server { listen 127.0.0.1:$nport; root $tmp/www; }
}
NG
"$nginx_bin" -c "$tmp/nginx.conf" -p "$tmp/nginx" || { echo "bench_grid: nginx did not start"; exit 1; }
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nport/grid.json" >/dev/null && break; sleep 0.05; done

run_wrk() { # label url [header]
	local out
	if [ $# -ge 3 ]; then
		out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -H "$3" "$2" 2>&1)
	else
		out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$2" 2>&1)
	fi
	echo "$out" >"$tmp/wrk-$1.txt"
	local rps p99
	rps=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
	p99=$(awk '$1=="99%"{v=$2; u=v; sub(/[0-9.]+/,"",u); sub(/[a-z]+$/,"",v);
		if(u=="us")v/=1000; else if(u=="s")v*=1000; print v}' <<<"$out")
	local non2xx
	non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
	echo "${rps:-0} ${p99:-0} ${non2xx:-0}"
}
read -r d_rps d_p99 d_bad < <(run_wrk daemon "$api/sessions/bench/grid" "$auth")
read -r n_rps n_p99 n_bad < <(run_wrk nginx "http://127.0.0.1:$nport/grid.json")
ratio=$(python3 -c "import sys; d,n=float(sys.argv[1]),float(sys.argv[2]); print('%.3f'%(d/n if n else 0))" "$d_rps" "$n_rps")

# 49 more sessions, each graded: 50 loaded
for i in $(seq 2 50); do
	make_session "load$i" || { echo "bench_grid: session load$i refused"; exit 1; }
done
for i in $(seq 2 50); do wait_ready "load$i" || exit 1; done
for i in $(seq 2 50); do curl -sf -H "$auth" -X POST "$api/sessions/load$i/grade" >/dev/null; done
for i in $(seq 2 50); do wait_graded "load$i" || exit 1; done
curl -sf -H "$auth" "$api/sessions/load50/grid" >/dev/null
rss_kib=$(awk '/^VmRSS:/{print $2}' "/proc/$dpid/status")
sessions=$(curl -sf -H "$auth" "$api/sessions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')

echo "grid_bytes=$(stat -c %s "$tmp/grid.json")"
echo "grid_cells=$cells"
echo "wrk_connections=$conns"
echo "wrk_seconds=$secs"
echo "daemon_http_threads=4"
echo "nginx_workers=2"
echo "rps=$d_rps"
echo "p99_ms=$d_p99"
echo "non2xx=$d_bad"
echo "nginx_rps=$n_rps"
echo "nginx_p99_ms=$n_p99"
echo "ratio_vs_nginx=$ratio"
echo "sessions=$sessions"
echo "rss_mib=$(python3 -c "print('%.1f' % ($rss_kib/1024))")"
[ "$d_bad" = 0 ] || { echo "bench_grid: the daemon answered non-2xx under load"; exit 1; }
