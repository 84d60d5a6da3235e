#!/usr/bin/env bash
# The service catalog as an operator meets it (issue 11): roamd on SQLite with no appliance,
# roamctl adding two services, listing them (text and --json), refusals with their exit status
# and message (a VIP another service holds, a bad weight, a bad VIP, a service that exists),
# server add / set --admin drain / remove, delete freeing the VIP, and a restarted roamd
# keeping the catalog; health checks stored as text and bad ones refused; subscribers'
# policies and assignments (put, get, list, delete, refusals naming the value).
# Addresses from 198.18.0.0/15 only; roamd on a Unix socket.
# usage: roamd_services.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
roamctl=$build/host/roamctl
roamd=$build/host/roamd
py=/usr/bin/python3
work=$(mktemp -d /tmp/roamd-services.XXXXXX)
rpid=
cleanup() {
  if [ -n "$rpid" ]; then kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/roamd.log" ] && tail -20 "$work/roamd.log" >&2; exit 1; }

start_roamd() {
  rm -f "$work/r.sock"
  "$roamd" --store "sqlite:$work/s.db" --api "$work/r.sock" --metrics '' >> "$work/roamd.log" 2>&1 &
  rpid=$!
  for _ in $(seq 200); do
    [ -S "$work/r.sock" ] && "$roamctl" --api "$work/r.sock" status > /dev/null 2>&1 && return 0
    kill -0 "$rpid" 2>/dev/null || fail "roamd exited"
    sleep 0.05
  done
  fail "roamd did not serve its API"
}
stop_roamd() {
  kill -TERM "$rpid"
  local rc=0
  wait "$rpid" || rc=$?
  rpid=
  [ "$rc" = 0 ] || fail "roamd exited $rc on SIGTERM"
}
# ctl RC PATTERN ARGS...: roamctl's exit status and a line of its output (stdout and stderr).
ctl() {
  local want=$1 pattern=$2
  shift 2
  local rc=0
  timeout 60 "$roamctl" --api "$work/r.sock" "$@" > "$work/out.txt" 2>&1 || rc=$?
  [ "$rc" = "$want" ] || { cat "$work/out.txt"; fail "roamctl $* exited $rc, not $want"; }
  grep -qE -- "$pattern" "$work/out.txt" || { cat "$work/out.txt"; fail "roamctl $*: no '$pattern'"; }
}
json() { timeout 60 "$roamctl" --api "$work/r.sock" --json "$@"; }

# --help lists the commands, without a roamd.
"$roamctl" --help > "$work/help.txt"
for c in "service add NAME --vip" "service list" "service get NAME" "service delete NAME" \
         "server add SERVICE IP:PORT" "server set SERVICE IP:PORT \[--weight W\] \[--admin up\|drain\|down\]" \
         "server remove SERVICE IP:PORT" "server list SERVICE"; do
  grep -qE "^  $c" "$work/help.txt" || fail "--help does not list '$c'"
done
"$roamctl" service add --help | grep -q -- "--affinity-time S" || fail "service add --help"
# No roamd yet: exit 3.
ctl 3 "no roamd answers at unix:$work/r.sock" service list

start_roamd
ctl 0 "^no services" service list
ctl 0 "^added service web revision" service add web --vip 198.18.0.10:80/tcp --vip 198.18.0.10/icmp \
  --server 198.19.1.1:8080,weight=10 --server 198.19.1.2:8080
ctl 0 "policy least_sessions hash 5tuple type affinity affinity time 60 s" service add dns \
  --vip 198.18.0.11:53/udp --policy least_sessions --hash 5tuple --type affinity --affinity-time 60 \
  --server 198.19.2.1:53,weight=5
ctl 0 "^dns +198.18.0.11:53/udp least_sessions/5tuple affinity 60s servers 1 \(1 up\)" service list
grep -qE "^web +198.18.0.10:80/tcp,198.18.0.10/icmp maglev/terminal connection servers 2 \(2 up\)" \
  "$work/out.txt" || { cat "$work/out.txt"; fail "service list: no web line"; }
json service list > "$work/list.json"
"$py" - "$work/list.json" <<'EOF' || fail "service list --json"
import json, sys
s = {x["name"]: x for x in json.load(open(sys.argv[1]))}
assert sorted(s) == ["dns", "web"], s
w, d = s["web"], s["dns"]
assert w["vips"] == [{"ip": "198.18.0.10", "port": 80, "proto": "tcp"},
                     {"ip": "198.18.0.10", "proto": "icmp"}], w["vips"]
assert w["servers"] == [{"ip": "198.19.1.1", "port": 8080, "weight": 10, "admin": "up", "user_sessions": 0},
                        {"ip": "198.19.1.2", "port": 8080, "weight": 1, "admin": "up", "user_sessions": 0}], w["servers"]
assert w["check"] is None, w
assert (w["policy"], w["hash"], w["type"]) == ("maglev", "terminal", "connection"), w
assert "affinity_time" not in w
assert (d["policy"], d["hash"], d["type"], d["affinity_time"]) == ("least_sessions", "5tuple", "affinity", 60), d
assert d["revision"] > 0 and d["created"].endswith("Z")
EOF

# Refusals: a VIP another service holds (1), values roamd refuses (2), a wrong command line (2).
ctl 1 "VIP 198.18.0.10:80/tcp belongs to service web" service add dup --vip 198.18.0.10:80/tcp
ctl 1 "no service 'dup'" service get dup
ctl 1 "service web exists" service add web --vip 198.18.0.12:80/tcp
ctl 2 "service web server 198.19.1.3:8080 weight 0 is not 1..65535" server add web 198.19.1.3:8080 --weight 0
ctl 2 "weight 70000 is not 1..65535" server add web 198.19.1.3:8080 --weight 70000
ctl 2 "server 198.19.1.1:8080 admin state 'off' is not up, drain or down" server set web 198.19.1.1:8080 --admin off
ctl 2 "'198.18.0.30:80' is not IP:PORT/tcp, IP:PORT/udp or IP/icmp" service add x --vip 198.18.0.30:80
ctl 2 "protocol 'sctp' is not tcp, udp or icmp" service add x --vip 198.18.0.30:80/sctp
ctl 2 "service x VIP 198.18.0.30/tcp has port 0" service add x --vip 198.18.0.30:0/tcp
ctl 2 "service x server 198.18.0.30:80 is one of the service's VIPs" service add x --vip 198.18.0.30:80/tcp \
  --server 198.18.0.30:80
ctl 2 "198.18.0.11 is a VIP of service dns" server add web 198.18.0.11:8080
ctl 2 "only affinity has one" service add x --vip 198.18.0.30:80/tcp --affinity-time 5
ctl 2 "service name 'Web_2' is not a name" service add Web_2 --vip 198.18.0.30:80/tcp
ctl 2 "missing service NAME" service add --vip 198.18.0.30:80/tcp
ctl 1 "no service 'x'" service get x

# Servers: add, drain, remove.
ctl 0 "^added server 198.19.1.3:8080 weight 4 up in service web" server add web 198.19.1.3:8080 --weight 4
ctl 1 "service web has server 198.19.1.3:8080 already" server add web 198.19.1.3:8080
ctl 0 "^set server 198.19.1.3:8080 weight 4 drain in service web" server set web 198.19.1.3:8080 --admin drain
ctl 0 "weight 7 drain" server set web 198.19.1.3:8080 --weight 7
ctl 1 "service web has no server 198.19.1.9:8080" server set web 198.19.1.9:8080 --weight 2
json server list web > "$work/servers.json"
"$py" - "$work/servers.json" <<'EOF' || fail "server list --json"
import json, sys
s = json.load(open(sys.argv[1]))
assert [x["ip"] + ":" + str(x["port"]) for x in s] == ["198.19.1.1:8080", "198.19.1.2:8080", "198.19.1.3:8080"], s
assert s[2]["admin"] == "drain" and s[2]["weight"] == 7, s[2]
EOF
ctl 0 "^198.19.1.3:8080 weight 7 drain" server list web
ctl 0 "^removed server 198.19.1.3:8080 from service web" server remove web 198.19.1.3:8080
ctl 1 "service web has no server 198.19.1.3:8080" server remove web 198.19.1.3:8080
json server add web 198.19.1.4:8080 > "$work/added.json"
"$py" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['service']=='web' and j['weight']==1 and j['admin']=='up', j" \
  "$work/added.json" || fail "server add --json"

# roamd restarted keeps the catalog.
json service list > "$work/before.json"
stop_roamd
start_roamd
json service list > "$work/after.json"
"$py" -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); assert a==b, (a,b); assert len(a)==2" \
  "$work/before.json" "$work/after.json" || fail "the catalog changed across a restart"
ctl 0 "server 198.19.1.4:8080 weight 1 up" service get web

# Delete frees the VIPs.
ctl 0 "^deleted service web" service delete web
ctl 1 "no service 'web'" service delete web
ctl 0 "^added service www" service add www --vip 198.18.0.10:80/tcp
json service get www > "$work/www.json"
"$py" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['name']=='www' and j['servers']==[], j" \
  "$work/www.json" || fail "service get --json"
ctl 0 "^deleted" service delete www
ctl 0 "^deleted" service delete dns
ctl 0 "^no services" service list

# Health checks: stored as their full text, bad ones refused naming the value.
ctl 0 "check tcp,interval=500,timeout=200,rise=2,fall=3" service add chk --vip 198.18.0.20:80/tcp \
  --server 198.18.4.1:80 --check tcp,interval=500,timeout=200
ctl 2 "health check 'ping': the kind 'ping' is not tcp or http" service add chk2 --vip 198.18.0.21:80/tcp --check ping
ctl 2 "timeout" service add chk3 --vip 198.18.0.22:80/tcp --check tcp,interval=200,timeout=500
ctl 2 "health check 'http,code=200': unknown key 'code'" service add chk4 --vip 198.18.0.23:80/tcp --check http,code=200
json service get chk > "$work/chk.json"
"$py" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['check']=='tcp,interval=500,timeout=200,rise=2,fall=3', j" \
  "$work/chk.json" || fail "service get --json: check"
ctl 0 "^deleted" service delete chk

# Subscribers' policies and their assignments.
for c in "policy put NAME" "policy get NAME" "policy list" "policy delete NAME" "subscriber set IMSI" \
         "subscriber list" "accounting list" "server drain SERVICE IP:PORT"; do
  grep -qE "^  $c" "$work/help.txt" || fail "--help does not list '$c'"
done
ctl 0 "^no policies: every user session is denied" policy list
ctl 0 "^policy gold: web, no external destinations; user sessions 10, new 5/s; deny entries 60 s" \
  policy put gold --service web --max-user-sessions 10 --new-per-second 5 --deny-time 60
ctl 0 "^policy default: every service, external destinations; user sessions no limit" policy put default --any-service --external
ctl 2 "--deny-time" policy put bad --deny-time 0
ctl 2 "policy name 'Bad_Name'" policy put Bad_Name
ctl 2 "names service web twice" policy put twice --service web --service web
ctl 2 "allows every service and also lists some" policy put both --any-service --service web
ctl 1 "no policy silver" subscriber set 001010000000001 --policy silver
ctl 0 "^subscriber 001010000000001: policy gold" subscriber set 001010000000001 --policy gold
ctl 2 "IMSI" subscriber set 12ab --policy gold
ctl 2 "--policy NAME or --default" subscriber set 001010000000001
json subscriber list > "$work/subs.json"
"$py" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j==[{'imsi':'001010000000001','policy':'gold'}], j" \
  "$work/subs.json" || fail "subscriber list --json"
json policy get gold > "$work/gold.json"
"$py" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['services']==['web'] and j['max_user_sessions']==10 and j['deny_time']==60 and not j['external'], j" \
  "$work/gold.json" || fail "policy get --json"
ctl 0 "^subscriber 001010000000001: policy default" subscriber set 001010000000001 --default
ctl 0 "^no subscriber has a policy of its own" subscriber list
ctl 1 "no policy nope" policy get nope
ctl 0 "^deleted policy gold" policy delete gold
ctl 1 "no policy gold" policy delete gold
# This roamd runs no gate: it keeps no accounting records, and says so.
ctl 1 "keeps no accounting records" accounting list
stop_roamd
echo "roamd_services: ok"
