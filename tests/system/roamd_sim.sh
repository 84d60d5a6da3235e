#!/usr/bin/env bash
# System test: one roamd (SQLite) with two steer roamsims and two gate roamsims.
#  - 10,000 sessions created through roamctl land on both gates (least sessions) and in both
#    steers: identical session tables, identical gateway tables, Maglev as the builder's.
#  - roamd killed with SIGKILL and restarted: every appliance reconciles with 0 register writes.
#  - both steers restarted empty (as a power-cycled card): roamd reprograms them (10,000
#    missing each); scapy-built G-PDUs for every TEID then leave both towards the session's gate.
#  - a session moved (handover) keeps its gate; its gate's user session gets the new tunnel.
#  - bad input through the API writes nothing; SIGTERM stops roamd cleanly (exit 0).
# usage: roamd_sim.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
work=$(mktemp -d /tmp/roamd-sim.XXXXXX)
source "$(dirname "$0")/lib.sh"
trap stop_all EXIT
api() { "$roamctl" --api "$work/roamd.sock" "$@"; }
wait_apps() { wait_apps_at "$work/roamd.sock" "$@"; }  # what seconds expression

start_roamd() {
  "$roamd" --config "$work/roamd.toml" >> "$work/roamd.log" 2>&1 &
  roamd_pid=$!
  for _ in $(seq 100); do [ -S "$work/roamd.sock" ] && return 0; sleep 0.1; done
  fail "roamd did not start"
}

cat > "$work/roamd.toml" <<EOF
machine = "lab"
store = "sqlite:$work/state.db"
api = "$work/roamd.sock"
metrics = ""
log_level = "info"
lease_ttl = 5
quarantine = 30

[appliance.steer-a]
device = "sim:$work/steer-a.sock"
ip = "198.18.1.10"
mac = "02:00:00:00:01:0a"

[appliance.steer-b]
device = "sim:$work/steer-b.sock"
ip = "198.18.1.11"
mac = "02:00:00:00:01:0b"

[appliance.gate-a]
device = "sim:$work/gate-a.sock"
ip = "198.18.2.20"
mac = "02:00:00:00:02:14"
gateway_id = 1
nat_ips = ["198.18.3.100"]
service_next_hop_mac = "02:00:00:00:03:01"
access_next_hop_mac = "02:00:00:00:02:01"

[appliance.gate-b]
device = "sim:$work/gate-b.sock"
ip = "198.18.2.21"
mac = "02:00:00:00:02:15"
gateway_id = 2
nat_ips = ["198.18.3.101"]
service_next_hop_mac = "02:00:00:00:03:01"
access_next_hop_mac = "02:00:00:00:02:01"
EOF

for x in steer-a steer-b; do start_sim $x steer; done
for x in gate-a gate-b; do start_sim $x gate; done
start_roamd
# Roles come from the kernels (the file names none).
wait_apps "all four appliances programmed" 120 \
  "len(a)==4 and all(x['state']=='ok' and x['live'] for x in a.values()) and a['steer-a']['role']=='steer' and a['gate-b']['role']=='gate'"
api gateway list | grep -q "gateway 2 gate-b 198.18.2.21" || fail "gateway list lacks gate-b"

echo "== 10,000 sessions through roamctl"
api session create --imsi 001010000000000 --msisdn 4915100000000 --ue-ip 198.19.0.1 \
  --peer 198.18.1.1 --dl-teid 0x10000 --count 10000 > "$work/create.txt"
grep -q "created 10000 sessions" "$work/create.txt" || fail "create: $(cat "$work/create.txt")"
api --json session list > "$work/sessions.json"
api --json gateway list > "$work/gateways.json"
/usr/bin/python3 - "$work/sessions.json" <<'PY'
import json, sys, collections
s = json.load(open(sys.argv[1]))
assert len(s) == 10000, len(s)
assert len({x["teid"] for x in s}) == 10000, "a TEID twice"
assert all(int(x["teid"], 16) != 0 for x in s)
per = collections.Counter(x["gate"] for x in s)
assert per == {"gate-a": 5000, "gate-b": 5000}, per
PY
wait_apps "both steers hold 10,000 sessions" 120 \
  "a['steer-a']['sessions']==10000 and a['steer-b']['sessions']==10000 and a['steer-a']['applied_revision']>=a['gate-a']['applied_revision']"
for x in steer-a steer-b; do
  "$roamctl" --device "sim:$work/$x.sock" --json session list > "$work/table-$x.json"
  "$roamctl" --device "sim:$work/$x.sock" --json gateway list > "$work/gw-$x.json"
  "$roamctl" --device "sim:$work/$x.sock" maglev > "$work/maglev-$x.txt" || fail "$x: Maglev is not the builder's table"
done
/usr/bin/python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
def table(x):
    t = json.load(open(f"{w}/table-{x}.json"))
    return sorted((e["teid"], e["gateway"]) for e in t)
a, b = table("steer-a"), table("steer-b")
assert len(a) == 10000, len(a)
assert a == b, "the steers' session tables differ"
sessions = {x["teid"]: x["gate"] for x in json.load(open(f"{w}/sessions.json"))}
ids = {g["gate"]: g["id"] for g in json.load(open(f"{w}/gateways.json"))}
for teid, gw in a:
    assert ids[sessions[teid]] == gw, (teid, gw)
def gws(x):
    return sorted((g["id"], g["ip"], g["mac"]) for g in json.load(open(f"{w}/gw-{x}.json")) if g.get("valid", True))
assert gws("steer-a") == gws("steer-b"), "gateway tables differ"
PY
cmp <(sed 's/steer-a//' "$work/maglev-steer-a.txt") <(sed 's/steer-b//' "$work/maglev-steer-b.txt") ||
  fail "the steers' Maglev tables differ"

echo "== SIGKILL and restart: zero register writes"
kill -9 "$roamd_pid"
wait "$roamd_pid" 2>/dev/null || true
start_roamd
wait_apps "reconciled after the restart" 180 \
  "all(x['state']=='ok' and x['last_reconcile']['at_revision']>0 for x in a.values())"
/usr/bin/python3 - "$work/apps.json" <<'PY'
import json, sys
for a in json.load(open(sys.argv[1])):
    r = a["last_reconcile"]
    assert r["register_writes"] == 0 and r["missing"] == 0 and r["wrong"] == 0 and r["stale"] == 0, (a["name"], r)
    print(f"reconcile {a['name']}: {r['seconds']:.2f} s, 0 register writes")
PY

echo "== both steers restarted empty, reprogrammed by roamd, then G-PDUs for every TEID"
/usr/bin/python3 "$src/tests/system/roamd_gpdus.py" make --sessions "$work/sessions.json" \
  --steer-ip 198.18.1.10 --out "$work/in-steer-a.pcap"
/usr/bin/python3 "$src/tests/system/roamd_gpdus.py" make --sessions "$work/sessions.json" \
  --steer-ip 198.18.1.11 --steer-mac 02:00:00:00:01:0b --out "$work/in-steer-b.pcap"
for x in steer-a steer-b; do
  "$roamsim" ctl "$work/$x.sock" stop > /dev/null
  wait "${sim[$x]}" || true
  start_sim $x steer --in "access=$work/in-$x.pcap" --out "steer=$work/out-$x.pcap" --hold
done
wait_apps "restarted steers reprogrammed" 180 \
  "all(a[x]['state']=='ok' and a[x]['last_reconcile']['missing']>=10000 and a[x]['sessions']==10000 for x in ('steer-a','steer-b'))"
for x in steer-a steer-b; do "$roamsim" ctl "$work/$x.sock" play > /dev/null; done
for x in steer-a steer-b; do "$roamsim" ctl "$work/$x.sock" wait > /dev/null; done
for x in steer-a steer-b; do
  "$roamsim" ctl "$work/$x.sock" stop > /dev/null
  wait "${sim[$x]}" || true
  unset "sim[$x]"
  /usr/bin/python3 "$src/tests/system/roamd_gpdus.py" check --sessions "$work/sessions.json" \
    --gateways "$work/gateways.json" --pcap "$work/out-$x.pcap" || fail "$x: G-PDUs not to their gates"
done
# The steers stay stopped: the rest needs the gates only (roamd keeps serving, steers absent).

echo "== handover: the session keeps its gate, its user session gets the new tunnel"
teid=$(/usr/bin/python3 -c "import json; s=json.load(open('$work/sessions.json')); print(next(x['teid'] for x in s if x['gate']=='gate-a'))")
"$roamctl" --device "sim:$work/gate-a.sock" user add --teid "$teid" --src 198.19.0.1:40000 \
  --dst 198.18.3.10:80 --proto tcp --port 0:1234 --server 198.18.3.10:80 --peer 198.18.1.1 \
  --dl-teid 0x10000 > /dev/null
api session move --teid "$teid" --peer 198.18.1.2 --dl-teid 0x77777 --qfi 9 | grep -q "gate gate-a" ||
  fail "session move changed the gate"
for _ in $(seq 240); do
  "$roamctl" --device "sim:$work/gate-a.sock" --json user get --port 0:1234 > "$work/user.json"
  grep -q '"198.18.1.2"' "$work/user.json" && break
  sleep 0.25
done
/usr/bin/python3 - "$work/user.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
text = json.dumps(u)
assert "198.18.1.2" in text and "0x00077777" in text, text
PY
api session get --teid "$teid" | grep -q "dl 198.18.1.2 0x00077777 qfi 9" || fail "session get after move"

echo "== bad input: named, nothing written"
before=$(api --json status | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['store_revision'])")
rc=0; api session create --imsi 12ab --ue-ip 198.19.9.1 --peer 198.18.1.1 --dl-teid 5 2> "$work/err.txt" || rc=$?
[ $rc -eq 2 ] && grep -q "IMSI '12ab'" "$work/err.txt" || fail "bad IMSI: rc $rc $(cat "$work/err.txt")"
rc=0; api session create --imsi 1 --ue-ip 198.19.9.1 --peer 198.18.1.1 --dl-teid 5 --gate gate-x 2> "$work/err.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "no gate appliance 'gate-x'" "$work/err.txt" || fail "unknown gate: rc $rc"
rc=0; api session move --teid 0x1 --peer 198.18.1.2 --dl-teid 5 2> "$work/err.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "no session 0x00000001" "$work/err.txt" || fail "move of no session: rc $rc"
after=$(api --json status | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['store_revision'])")
[ "$before" = "$after" ] || fail "a refused request wrote the store ($before -> $after)"
rc=0; "$roamctl" --api "$work/nobody.sock" status 2> "$work/err.txt" || rc=$?
[ $rc -eq 3 ] && grep -q "no roamd answers" "$work/err.txt" || fail "no roamd: rc $rc $(cat "$work/err.txt")"

echo "== SIGTERM"
kill -TERM "$roamd_pid"
rc=0; wait "$roamd_pid" || rc=$?
roamd_pid=""
[ $rc -eq 0 ] || fail "roamd exited $rc on SIGTERM"
[ ! -e "$work/roamd.sock" ] || fail "the API socket was left behind"
grep -q "SIGTERM: stopping" "$work/roamd.log" || fail "no stop in the log"
echo "PASS"
