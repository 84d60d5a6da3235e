#!/usr/bin/env bash
# System test: two roamd processes sharing one etcd (as two machines would), each with its own
# steer and gate roamsim.
#  - sessions created through either roamd appear through both, and both steers hold the
#    same table (every session to its gate's gateway);
#  - one roamd killed with SIGKILL and restarted reconciles with 0 register writes;
#  - a roamd that stops renewing its lease (SIGSTOP) has its gate marked down and that gate's
#    sessions re-placed by the other roamd, and both steers follow; resumed, it takes a new
#    lease and its gate is live again.
# etcd (Debian's etcd-server) runs on loopback with its data in the test's folder.
# usage: roamd_etcd.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
work=$(mktemp -d /tmp/roamd-etcd.XXXXXX)
declare -A pid
cleanup() {
  local rc=$?
  for p in "${pid[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    for m in m1 m2; do echo "--- roamd $m (tail) ---"; tail -25 "$work/roamd-$m.log" 2>/dev/null || true; done
    echo "--- etcd (tail) ---"; tail -10 "$work/etcd.log" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
source "$src/tests/system/lib.sh"
api() { local m=$1; shift; "$roamctl" --api "$work/roamd-$m.sock" "$@"; }
wait_apps() { local m=$1; shift; wait_apps_at "$work/roamd-$m.sock" "$@"; }  # machine what seconds expression
sessions_on() {  # machine gate -> count
  api "$1" --json session list --gate "$2" | /usr/bin/python3 -c "import json,sys; print(len(json.load(sys.stdin)))"
}

read -r cport pport < <(/usr/bin/python3 -c "
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(('127.0.0.1',0)) for x in s]
print(*[x.getsockname()[1] for x in s])")
etcd --name t --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$cport" \
  --advertise-client-urls "http://127.0.0.1:$cport" --listen-peer-urls "http://127.0.0.1:$pport" \
  --initial-advertise-peer-urls "http://127.0.0.1:$pport" --initial-cluster "t=http://127.0.0.1:$pport" \
  --max-txn-ops 1024 > "$work/etcd.log" 2>&1 &
pid[etcd]=$!
for _ in $(seq 100); do
  ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$cport" endpoint health > /dev/null 2>&1 && break
  sleep 0.2
done
ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$cport" endpoint health > /dev/null 2>&1 || fail "etcd did not start"

start_sim() {
  "$roamsim" --kernel "$2" --socket "$work/$1.sock" 2> "$work/sim-$1.log" &
  pid[$1]=$!
  for _ in $(seq 100); do [ -S "$work/$1.sock" ] && return 0; sleep 0.1; done
  fail "roamsim $1 did not start"
}
start_roamd() {  # machine steer gate steer-ip gate-ip gateway-id nat-ip
  local m=$1
  "$roamd" --machine "$m" --store "etcd:127.0.0.1:$cport" --api "$work/roamd-$m.sock" --metrics '' \
    --lease-ttl 3 --lost-grace 2 --quarantine 0 \
    --appliance "$2=sim:$work/$2.sock" --set "$2.ip=$4" --set "$2.mac=02:00:00:00:01:$6$6" \
    --appliance "$3=sim:$work/$3.sock" --set "$3.ip=$5" --set "$3.mac=02:00:00:00:02:$6$6" \
    --set "$3.gateway_id=$6" --set "$3.nat_ips=$7" --set "$3.service_next_hop_mac=02:00:00:00:03:01" \
    --set "$3.access_next_hop_mac=02:00:00:00:02:01" >> "$work/roamd-$m.log" 2>&1 &
  pid[roamd-$m]=$!
  for _ in $(seq 100); do [ -S "$work/roamd-$m.sock" ] && return 0; sleep 0.1; done
  fail "roamd $m did not start"
}
for x in steer-a steer-b; do start_sim $x steer; done
for x in gate-a gate-b; do start_sim $x gate; done
start_roamd m1 steer-a gate-a 198.18.1.10 198.18.2.20 1 198.18.3.100
start_roamd m2 steer-b gate-b 198.18.1.11 198.18.2.21 2 198.18.3.101
for m in m1 m2; do
  wait_apps $m "four appliances live, two gateways" 120 \
    "len(a)==4 and all(x['live'] for x in a.values()) and a['steer-a']['state'] in ('ok','remote') and a['gate-b']['state'] in ('ok','remote')"
done
api m1 gateway list | grep -q "gateway 2 gate-b" || fail "m1 does not see gate-b's gateway"

echo "== sessions created on either roamd appear on both"
api m1 session create --imsi 001010000000000 --ue-ip 198.19.0.1 --peer 198.18.1.1 --dl-teid 0x100 --count 150 > /dev/null
api m2 session create --imsi 001010000001000 --ue-ip 198.19.1.1 --peer 198.18.1.1 --dl-teid 0x1000 --count 150 > /dev/null
for m in m1 m2; do
  n=$(api $m --json session list | /usr/bin/python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
  [ "$n" = 300 ] || fail "roamd $m lists $n sessions, not 300"
done
[ "$(sessions_on m1 gate-a)" = 150 ] || fail "placement is not 150/150"
wait_apps m1 "steer-a holds 300" 60 "a['steer-a']['sessions']==300"
wait_apps m2 "steer-b holds 300" 60 "a['steer-b']['sessions']==300"
check_steers() {  # both steers' tables: identical, each TEID to its gate's gateway
  api m1 --json session list > "$work/sessions.json"
  api m1 --json gateway list > "$work/gateways.json"
  for x in steer-a steer-b; do "$roamctl" --device "sim:$work/$x.sock" --json session list > "$work/table-$x.json"; done
  /usr/bin/python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
t = {x: sorted((e["teid"], e["gateway"]) for e in json.load(open(f"{w}/table-{x}.json"))) for x in ("steer-a", "steer-b")}
assert t["steer-a"] == t["steer-b"], "the steers' tables differ"
ids = {g["gate"]: g["id"] for g in json.load(open(f"{w}/gateways.json"))}
want = sorted((s["teid"], ids[s["gate"]]) for s in json.load(open(f"{w}/sessions.json")))
assert t["steer-a"] == want, "a steer's table is not the store's"
PY
}
check_steers

echo "== SIGKILL and restart of one roamd: 0 register writes"
kill -9 "${pid[roamd-m2]}"
wait "${pid[roamd-m2]}" 2>/dev/null || true
rm -f "$work/roamd-m2.sock"
start_roamd m2 steer-b gate-b 198.18.1.11 198.18.2.21 2 198.18.3.101
wait_apps m2 "m2 reconciled" 120 \
  "all(a[x]['state']=='ok' and a[x]['last_reconcile']['at_revision']>0 for x in ('steer-b','gate-b'))"
/usr/bin/python3 -c "
import json
a={x['name']:x for x in json.load(open('$work/apps.json'))}
for n in ('steer-b','gate-b'):
    r=a[n]['last_reconcile']
    assert r['register_writes']==0 and r['missing']==0 and r['wrong']==0 and r['stale']==0, (n, r)
" || fail "the restart rewrote entries: $(cat "$work/apps.json")"

echo "== m2 stops renewing its lease: gate-b down, its sessions re-placed, both steers follow"
kill -STOP "${pid[roamd-m2]}"
for _ in $(seq 120); do
  [ "$(sessions_on m1 gate-b)" = 0 ] && break
  sleep 0.5
done
[ "$(sessions_on m1 gate-b)" = 0 ] || fail "gate-b's sessions were not re-placed"
[ "$(sessions_on m1 gate-a)" = 300 ] || fail "not all sessions are on gate-a"
api m1 appliance list | grep -E "^gate-b " | grep -q "down" || fail "gate-b is not shown down"
wait_apps m1 "steer-a follows" 60 "a['steer-a']['applied_revision']>=a['gate-a']['applied_revision']"
kill -CONT "${pid[roamd-m2]}"
wait_apps m2 "m2 live again" 60 "a['gate-b']['live'] and a['steer-b']['state']=='ok'"
grep -q "was lost" "$work/roamd-m2.log" || fail "m2 did not notice its lost lease"
for _ in $(seq 120); do
  "$roamctl" --device "sim:$work/steer-b.sock" --json session list > "$work/table-steer-b.json"
  /usr/bin/python3 -c "import json,sys; sys.exit(0 if all(e['gateway']==1 for e in json.load(open('$work/table-steer-b.json'))) else 1)" && break
  sleep 0.5
done
check_steers
new=$(api m2 session create --imsi 001010000009999 --ue-ip 198.19.9.9 --peer 198.18.1.1 --dl-teid 0x9999 | grep -o "gate gate-[ab]")
[ "$new" = "gate gate-b" ] || fail "a new session after recovery went to $new, not the emptier gate-b"
echo "PASS"
