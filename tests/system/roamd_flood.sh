#!/usr/bin/env bash
# System test: a flood of new flows (first packets faster than the slow path may take them)
# is shed by the gate kernel's punt token bucket and counted, and an established user session
# is not slowed: every one of its packets goes on in hardware while the flood lasts. roamd
# drives `roamsim --kernel gate` with a punt limit of 8 frames of burst and a rate far below
# the flood's; scapy sends into the gate's access TAP, in a namespace this test makes. Then
# the established connection's FIN ends it through the export scanner's closed record: its
# accounting record is final with cause fin and every packet counted. Interim records every
# millisecond of the kernel's clock update the open record with the running counters first.
# usage: roamd_flood.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
work=$(mktemp -d /tmp/roamd-flood.XXXXXX)
ns=rgfl$$
source "$here/lib.sh"
cleanup() {
  local rc=$?
  [ -n "$roamd_pid" ] && kill "$roamd_pid" 2>/dev/null || true
  for p in "${sim[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- roamd log (tail) ---"; tail -30 "$work/roamd.log" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" "$roamsim" --kernel gate --socket "$work/g.sock" --in access=tap:rgacc \
  --out "service=$work/service.pcap" 2> "$work/sim-g.log" &
sim[g]=$!
for _ in $(seq 100); do [ -S "$work/g.sock" ] && break; sleep 0.1; done
[ -S "$work/g.sock" ] || fail "roamsim did not start"
for _ in $(seq 50); do ip netns exec "$ns" ip link show rgacc > /dev/null 2>&1 && break; sleep 0.1; done
ip netns exec "$ns" sysctl -qw net.ipv6.conf.rgacc.disable_ipv6=1
ip netns exec "$ns" ip link set rgacc up
# Punt limit: 8 frames of burst, refilled at 64 / 2^24 frames a cycle (one every 262,144
# cycles: seconds of simulated time here).
"$roamd" --store "sqlite:$work/s.db" --api "$work/r.sock" --metrics '' \
  --appliance "gate-a=sim:$work/g.sock" --set gate-a.ip=198.18.1.100 --set gate-a.mac=02:00:00:00:02:14 \
  --set gate-a.gateway_id=1 --set gate-a.nat_ips=198.18.3.1 --set gate-a.punt_rate=64 --set gate-a.punt_burst=8 \
  --set gate-a.service_next_hop_mac=02:00:00:00:03:0a --set gate-a.access_next_hop_mac=02:00:00:00:01:01 \
  --set gate-a.interim_ms=1 > "$work/roamd.log" 2>&1 &
roamd_pid=$!
wait_apps_at "$work/r.sock" "gate-a programmed" 60 "a['gate-a']['state'] == 'ok'"
ctl() { "$roamctl" --api "$work/r.sock" "$@" > /dev/null; }
ctl policy put default --any-service --external
ctl service add web --vip 198.18.10.10:443/tcp --server 198.18.11.1:8443
ctl session create --imsi 001010000000001 --ue-ip 198.19.0.1 --peer 198.18.1.1 --dl-teid 4096 --gate gate-a
teid=$("$roamctl" --api "$work/r.sock" --json session list | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["teid"])')
stats() { "$roamctl" --device "sim:$work/g.sock" --json stats > "$work/stats.json"; }
stat() { /usr/bin/python3 -c "import json; print(json.load(open('$work/stats.json'))['$1'])"; }
send() {  # phase: scapy into the TAP
  ip netns exec "$ns" /usr/bin/python3 - "$teid" "$1" <<'PY'
import sys
from scapy.all import IP, TCP, UDP, Ether, Raw, sendp
from scapy.contrib.gtp import GTP_U_Header
teid, phase = int(sys.argv[1], 16), sys.argv[2]
def g(sport, n):
    return (Ether(dst="02:00:00:00:02:14", src="02:00:00:00:01:01") / IP(src="198.18.1.1", dst="198.18.1.100")
            / UDP(sport=2152, dport=2152) / GTP_U_Header(teid=teid, gtp_type=255)
            / IP(src="198.19.0.1", dst="198.18.10.10") / TCP(sport=sport, dport=443, flags="PA") / Raw(b"%d" % n))
if phase == "established":
    pkts = [g(10000, 0)]
elif phase == "fin":  # the established connection closes
    p = g(10000, 99)
    p[TCP].flags = "FA"
    pkts = [p]
else:  # 300 new flows, and the established flow's packets among them
    pkts = []
    for i in range(300):
        pkts.append(g(20000 + i, i))
        if i % 15 == 0:
            pkts.append(g(10000, i))
sendp(pkts, iface="rgacc", verbose=False)
print(f"sent {len(pkts)} {phase} packets")
PY
}

echo "== an established user session"
send established
wait_apps_at "$work/r.sock" "the first flow installed" 60 "a['gate-a']['slow_path'].get('installed') == 1"
stats
hits0=$(stat ul_hits)
echo "== a flood: 300 new flows in one burst, 20 packets of the established flow among them"
send flood
for _ in $(seq 120); do stats; [ "$(stat ul_hits)" -ge $((hits0 + 20)) ] && break; sleep 0.25; done
stats
punts=$(stat punt_frames)
shed=$(stat drop_punt_limit)
echo "punts $punts, shed by the limit $shed"
# Every flow miss was either punted or shed (and counted): none queued, none lost unseen.
[ "$((punts + shed))" = 301 ] || fail "punts $punts + shed $shed are not the 301 flow misses sent"
[ "$shed" -ge 250 ] || fail "only $shed flow misses shed by the punt limit"
wait_apps_at "$work/r.sock" "the punted ones decided" 60 \
  "a['gate-a']['slow_path'].get('installed') == $punts and a['gate-a']['user_sessions'] == $punts"
# In hardware: the established flow's 20 packets, and each punted one re-injected.
want=$((hits0 + 20 + punts - 1))
for _ in $(seq 120); do stats; [ "$(stat ul_hits)" -ge "$want" ] && break; sleep 0.25; done
[ "$(stat ul_hits)" = "$want" ] || fail "ul_hits $(stat ul_hits), not $want: the established user session was held up"
echo "== interim records: the open record carries the running counters (21 packets so far)"
ok=
for _ in $(seq 240); do
  "$roamctl" --api "$work/r.sock" --json accounting list --subscriber 001010000000001 > "$work/open.json"
  if /usr/bin/python3 - "$work/open.json" <<'PY'
import json, sys
recs = [r for r in json.load(open(sys.argv[1])) if r["terminal"] == "198.19.0.1:10000"]
assert len(recs) == 1, recs
r = recs[0]
assert r["ended"] == "" and r["cause"] == "", r
sys.exit(0 if r["interims"] >= 1 and r["ul_pkts"] == 21 else 1)
PY
  then ok=1; break; fi
  sleep 0.25
done
[ -n "$ok" ] || fail "no interim record with the established connection's 21 packets: $(cat "$work/open.json" | head -c 600)"
echo "== the established connection sends FIN: the scanner's closed record ends it, cause fin"
send fin
for _ in $(seq 240); do
  "$roamctl" --api "$work/r.sock" --json accounting list --final > "$work/records.json"
  grep -q '"cause": "fin"' "$work/records.json" && break
  sleep 0.25
done
/usr/bin/python3 - "$work/records.json" <<'PY' || fail "no final record with cause fin for the established connection"
import json, sys
recs = [r for r in json.load(open(sys.argv[1])) if r["terminal"] == "198.19.0.1:10000"]
assert len(recs) == 1, recs
r = recs[0]
# Its packets: the first, the 20 among the flood and the FIN.
assert r["cause"] == "fin" and r["ul_pkts"] == 22 and r["services"] == ["web"], r
assert r["ended"] != "" and r["interims"] >= 1, r
print("record:", r["nat"], r["cause"], r["ul_pkts"], "packets", r["ul_bytes"], "bytes")
PY
echo "PASS"
