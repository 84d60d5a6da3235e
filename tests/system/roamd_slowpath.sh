#!/usr/bin/env bash
# System test: the gate's slow path, driven by roamd, on the simulated gate kernel (RTL). The
# gate's access port is a TAP in a namespace this test makes; scapy sends uplink G-PDUs into
# it. 50 subscribers (one of them on a web-only policy), 3 services (web: round robin, weights
# 1:10; api: a series service with two representative ports; dns: affinity, one of its three
# servers draining, one failing its TCP health check: the servers live in a namespace this test
# makes, and only two of them listen) and external hosts: 500 user sessions.
#  1. First packets: each is punted once, decided, installed and re-injected (493 installed,
#     7 denied: the web-only subscriber's api, dns and external flows).
#  2. Two more packets of each flow: all in hardware (no punt); the denied ones dropped and
#     counted by the kernel. Then 20 series flows turn to the api's other port: re-targeted,
#     the same user-session port.
#     Bad input installs nothing: a TEID no session has, an echo reply and a spoofed source are
#     counted by the slow path; a cut inner packet never reaches it (the kernel drops it as
#     truncated; cut punts are the unit tests').
#     `server drain` reports the 14 user sessions its web server keeps (none new after it).
#  3. roamd is killed (SIGKILL) and restarted: the 500 user sessions are restored from the
#     device; a third packet of each flow still never reaches the host; new flows get ports
#     no established user session holds.
#  4. roamd restarted with a 1 ms idle time: the export scanner ends every user session; each
#     has one final accounting record (subscriber, destination as sent, services and servers
#     in order, cause idle) whose uplink packets and bytes are exactly what the capture holds;
#     `server drain --wait` sees the drained server's last one end.
# The service side's capture is checked by scapy (addresses, one port per user session, the
# servers and their split, affinity, the drained server unused) and tshark (checksums).
# usage: roamd_slowpath.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
work=$(mktemp -d /tmp/roamd-slowpath.XXXXXX)
ns=rgsp$$
srvns=rgsv$$
source "$here/lib.sh"
cleanup() {
  local rc=$?
  [ -n "$roamd_pid" ] && kill "$roamd_pid" 2>/dev/null || true
  for p in "${sim[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  ip netns del "$srvns" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- roamd log (tail) ---"; tail -40 "$work/roamd.log" 2>/dev/null || true
    echo "--- roamsim log (tail) ---"; tail -20 "$work/sim-g.log" 2>/dev/null || true
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
# No IPv6 on the TAP: the kernel's own router solicitations would be punted too.
ip netns exec "$ns" sysctl -qw net.ipv6.conf.rgacc.disable_ipv6=1
ip netns exec "$ns" ip link set rgacc up

# The dns servers for the health checks: 198.18.13.1 and .3 listen on TCP 10053, .2 does not.
ip netns add "$srvns"
ip link add rgsv0 type veth peer name rgsv1 netns "$srvns"
ip addr add 198.18.13.254/24 dev rgsv0
ip link set rgsv0 up
for a in 1 2 3; do ip netns exec "$srvns" ip addr add "198.18.13.$a/24" dev rgsv1; done
ip netns exec "$srvns" ip link set rgsv1 up
ip netns exec "$srvns" ip link set lo up
ip netns exec "$srvns" /usr/bin/python3 -c '
import socket, select
ls = []
for a in ("198.18.13.1", "198.18.13.3"):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 10053)); s.listen(64); ls.append(s)
while True:
    for s in select.select(ls, [], [])[0]:
        c, _ = s.accept(); c.close()
' &
sim[servers]=$!

start_roamd() {  # [extra roamd options...]
  "$roamd" --store "sqlite:$work/s.db" --api "$work/r.sock" --metrics '' "$@" \
    --appliance "gate-a=sim:$work/g.sock" --set gate-a.ip=198.18.1.100 --set gate-a.mac=02:00:00:00:02:14 \
    --set gate-a.gateway_id=1 --set gate-a.nat_ips=198.18.3.1,198.18.3.2 \
    --set gate-a.service_next_hop_mac=02:00:00:00:03:0a --set gate-a.access_next_hop_mac=02:00:00:00:01:01 \
    >> "$work/roamd.log" 2>&1 &
  roamd_pid=$!
}
start_roamd
wait_apps_at "$work/r.sock" "gate-a programmed" 60 "a['gate-a']['state'] == 'ok'"
ctl() { "$roamctl" --api "$work/r.sock" "$@" > /dev/null; }
ctl policy put default --any-service --external
ctl policy put web-only --service web --deny-time 600
ctl subscriber set 001010000000050 --policy web-only
ctl service add web --vip 198.18.10.10:443/tcp --policy round_robin \
  --server 198.18.11.1:8443,weight=1 --server 198.18.11.2:8443,weight=10
ctl service add api --vip 198.18.10.11:443/tcp --vip 198.18.10.11:8443/tcp --type series \
  --server 198.18.12.1:9000 --server 198.18.12.2:9000
ctl service add dns --vip 198.18.10.12:53/udp --policy round_robin --type affinity \
  --server 198.18.13.1:10053 --server 198.18.13.2:10053 --server 198.18.13.3:10053 \
  --check tcp,interval=200,timeout=150,rise=1,fall=1
ctl server set dns 198.18.13.3:10053 --admin drain
for _ in $(seq 100); do
  grep -q "server 198.18.13.1:10053 of dns is up" "$work/roamd.log" && break
  sleep 0.1
done
grep -q "server 198.18.13.1:10053 of dns is up" "$work/roamd.log" || fail "the health check never found 198.18.13.1 up"
grep -q "server 198.18.13.2:10053 of dns is up" "$work/roamd.log" && fail "198.18.13.2 does not listen, yet is up"

ctl session create --imsi 001010000000001 --msisdn 491510000001 --ue-ip 198.19.0.1 --peer 198.18.1.1 \
  --dl-teid 4096 --gate gate-a --count 50
"$roamctl" --api "$work/r.sock" --json session list --gate gate-a > "$work/sessions.json"

# The traffic: scapy builds it, sends a phase into the TAP, and checks the capture.
traffic() { ip netns exec "$ns" /usr/bin/python3 "$here/slowpath_traffic.py" "$work" "$@"; }
stats() { "$roamctl" --device "sim:$work/g.sock" --json stats > "$work/stats.json"; }
stat() { /usr/bin/python3 -c "import json; print(json.load(open('$work/stats.json'))['$1'])"; }

echo "== 1. first packets: one punt each, decided, installed, re-injected"
traffic send first
wait_apps_at "$work/r.sock" "500 user sessions decided" 120 \
  "a['gate-a']['user_sessions'] == 500 and a['gate-a']['slow_path'].get('installed') == 493 and a['gate-a']['slow_path'].get('denied') == 7"
stats
[ "$(stat punt_frames)" = 500 ] || fail "$(stat punt_frames) punts for 500 first packets"

echo "== 2. later packets stay in hardware; series flows re-targeted"
traffic send later
for _ in $(seq 120); do stats; [ "$(stat ul_hits)" -ge $((493 + 986)) ] && break; sleep 0.25; done
[ "$(stat ul_hits)" = $((493 + 986)) ] || fail "ul_hits $(stat ul_hits), not $((493 + 986))"
[ "$(stat punt_frames)" = 500 ] || fail "later packets were punted ($(stat punt_frames) punts)"
[ "$(stat ul_denied)" = 14 ] || fail "ul_denied $(stat ul_denied), not 14"
traffic send retarget
wait_apps_at "$work/r.sock" "20 series flows re-targeted" 60 \
  "a['gate-a']['slow_path'].get('retargeted') == 20 and a['gate-a']['user_sessions'] == 500"

echo "== server drain: web's 198.18.11.1 takes no new user session; its 14 stay"
"$roamctl" --api "$work/r.sock" --json server drain web 198.18.11.1:8443 > "$work/drain.json"
/usr/bin/python3 -c "import json,sys; d=json.load(open('$work/drain.json')); sys.exit(0 if d['user_sessions'] == 14 and not d['drained'] else 'drain: %s' % d)" ||
  fail "server drain did not report the 14 user sessions left"
"$roamctl" --api "$work/r.sock" server list web

echo "== bad input: unknown TEID, an echo reply, a spoofed source (counted by the slow path), a cut inner packet (dropped by the kernel)"
stats
cut0=$(( $(stat drop_truncated) + $(stat drop_malformed) ))
traffic send bad
wait_apps_at "$work/r.sock" "bad frames counted, nothing installed" 60 \
  "(lambda sp: sp.get('unknown_teid') == 1 and sp.get('unsupported') == 1 and sp.get('spoofed') == 1 and sp.get('installed') == 493)(a['gate-a']['slow_path']) and a['gate-a']['user_sessions'] == 500"
stats
cut1=$(( $(stat drop_truncated) + $(stat drop_malformed) ))
[ "$cut1" = $((cut0 + 1)) ] || fail "the cut inner packet was not dropped by the kernel (truncated or malformed: $cut0 -> $cut1)"


echo "== 3. roamd killed (SIGKILL) and restarted: user sessions restored"
kill -KILL "$roamd_pid"
wait "$roamd_pid" 2>/dev/null || true
start_roamd
wait_apps_at "$work/r.sock" "user sessions restored" 120 \
  "a['gate-a']['state'] == 'ok' and a['gate-a']['user_sessions_restored'] == 500"
stats
punts=$(stat punt_frames)
traffic send third
for _ in $(seq 120); do stats; [ "$(stat ul_hits)" -ge $((493 + 986 + 20 + 493)) ] && break; sleep 0.25; done
[ "$(stat ul_hits)" = $((493 + 986 + 20 + 493)) ] || fail "ul_hits $(stat ul_hits) after the restart"
[ "$(stat punt_frames)" = "$punts" ] || fail "established user sessions were punted after the restart"
traffic send new
wait_apps_at "$work/r.sock" "new flows after the restart" 60 \
  "a['gate-a']['slow_path'].get('installed') == 50 and a['gate-a']['user_sessions'] == 550"
for _ in $(seq 120); do stats; [ "$(stat ul_hits)" -ge $((493 + 986 + 20 + 493 + 50)) ] && break; sleep 0.25; done

echo "== 4. restarted with a 1 ms idle time: every user session ends, its record is final"
kill "$roamd_pid"
wait "$roamd_pid" 2>/dev/null || true
start_roamd --set gate-a.idle_ms=1
wait_apps_at "$work/r.sock" "every user session ended by the idle scanner" 300 \
  "a['gate-a']['state'] == 'ok' and a['gate-a']['user_sessions_restored'] == 550 and a['gate-a']['user_sessions'] == 0"
"$roamctl" --api "$work/r.sock" --json accounting list --final --limit 10000 > "$work/records.json"
"$roamctl" --api "$work/r.sock" server drain web 198.18.11.1:8443 --wait 60 | grep -q "drained: no user session left" ||
  fail "server drain --wait did not see the drained server's last user session end"
"$roamctl" --api "$work/r.sock" accounting list --subscriber 001010000000001 --limit 3

"$roamsim" ctl "$work/g.sock" stop > /dev/null || true
wait "${sim[g]}" 2>/dev/null || true
unset 'sim[g]'

echo "== the service side's capture"
traffic check
# tshark verifies every packet's IPv4 and transport checksums (the user-session ports are
# random, so other expert warnings would be dissectors guessing a protocol by port).
opts=(-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE)
total=$(tshark -r "$work/service.pcap" 2>/dev/null | wc -l)
good=$(tshark -r "$work/service.pcap" "${opts[@]}" \
  -Y 'ip.checksum.status == 1 && (tcp.checksum.status == 1 || udp.checksum.status == 1)' 2>/dev/null | wc -l)
echo "tshark: $good of $total packets with good IPv4 and TCP/UDP checksums"
[ "$total" = 2042 ] && [ "$good" = "$total" ] || fail "checksums: $good of $total good (2042 expected)"
echo "PASS"
