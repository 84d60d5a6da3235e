#!/usr/bin/env bash
# The control plane's figures, one `name value` per line (run through `scripts/bench control`).
# Starts its own roamsims, roamd and etcd (loopback and Unix sockets only, in a temp folder) and
# stops them all on exit. Figures (units in the name):
#   control.bench.host_cores                  nproc, to read the others by
#   control.session_create.per_s.sqlite       sessions per second through the API, batches of
#   control.session_create.per_s.etcd         10,000 per CreateSessions call, three calls in
#                                             flight (timed: the calls)
#   control.session_create.batch              sessions per store transaction with etcd
#   control.steer_converge.ms.p50|p99|max     create returned -> TEID in both steers' tables
#   control.reconcile.s.64k, .writes.64k      steer after roamd's SIGKILL and restart
#   control.reconcile.s.64k.gate              gate, same restart
#   control.session_create.roamd_cpu_us       roamd's CPU (all threads) per created session
#   control.session_create.*.no_steer         the same with no steer roamsim on this machine
#   control.punt_housekeeping.per_s           ARP and GTP-U echo requests answered per second
#                                             end to end (gate roamsim -> roamd -> inject)
#   control.punt_housekeeping.answered        of the requests sent, answered
#   control.punt_housekeeping.per_s.cpu       the Housekeeper alone on one core
# 65,536 sessions: the steer's session table has 131,072 slots (2 banks x 16384 buckets x 4).
# usage: tests/bench/control.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
bench=$build/tests/control_bench
sessions=65536
create_batch=10000  # sessions per CreateSessions call (roamctl's default --batch)
inflight=3          # CreateSessions calls outstanding at a time (a client batching in parallel)
etcd_batch=500      # roamd --batch with etcd: 1,000 operations per txn, under --max-txn-ops 1024
samples=500

work=$(mktemp -d /tmp/roamgate-bench-control.XXXXXX)
declare -A pid
cleanup() {
  local rc=$?
  for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for f in "$work"/roamd-*.log "$work"/etcd.log; do
      [ -f "$f" ] && { echo "--- $(basename "$f") (tail) ---"; tail -15 "$f"; } >&2
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "bench control: $*" >&2; exit 1; }
note() { echo "bench control: $*" >&2; }

stop() {  # name: SIGKILL, reaped
  kill -9 "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" 2>/dev/null || true
  unset "pid[$1]"
}
start_sim() {  # name kernel [roamsim options...]
  local name=$1 kernel=$2
  shift 2
  rm -f "$work/$name.sock"
  "$roamsim" --kernel "$kernel" --socket "$work/$name.sock" "$@" 2> "$work/sim-$name.log" &
  pid[$name]=$!
  for _ in $(seq 200); do [ -S "$work/$name.sock" ] && return 0; sleep 0.05; done
  fail "roamsim $name did not start"
}
# roamd named $1 on store $2, with the steers and gate named after it ($1-steer-a, ...).
start_roamd() {  # name store steers(1|2) [roamd options...]
  local m=$1 store=$2 steers=$3
  shift 3
  local args=(--machine "$m" --store "$store" --api "$work/$m.sock" --metrics '' --quarantine 0)
  local x ip=10 names=(a b)
  for x in "${names[@]:0:$steers}"; do
    args+=(--appliance "steer-$x=sim:$work/$m-steer-$x.sock" --set "steer-$x.ip=198.18.1.$ip"
           --set "steer-$x.mac=02:00:00:00:01:$ip")
    ip=$((ip + 1))
  done
  args+=(--appliance "gate-a=sim:$work/$m-gate-a.sock" --set gate-a.ip=198.18.2.20
         --set gate-a.mac=02:00:00:00:02:14 --set gate-a.gateway_id=1 --set gate-a.nat_ips=198.18.3.100
         --set gate-a.service_next_hop_mac=02:00:00:00:03:01
         --set gate-a.access_next_hop_mac=02:00:00:00:02:01)
  rm -f "$work/$m.sock"
  "$roamd" "${args[@]}" "$@" >> "$work/roamd-$m.log" 2>&1 &
  pid[roamd-$m]=$!
  for _ in $(seq 200); do [ -S "$work/$m.sock" ] && return 0; sleep 0.05; done
  fail "roamd $m did not start"
}
# Waits (up to $3 seconds) until the Python expression $4 over `appliance list --json` of
# roamd $1, as {name: appliance} in a, holds; leaves that list in $work/apps.json.
wait_apps() {  # name what seconds expression
  local m=$1 what=$2 end=$((SECONDS + $3)) expr=$4
  while [ $SECONDS -lt $end ]; do
    if "$roamctl" --api "$work/$m.sock" --json appliance list > "$work/apps.json" 2>/dev/null &&
       /usr/bin/python3 -c "import json,sys; a={x['name']:x for x in json.load(open('$work/apps.json'))}; sys.exit(0 if ($expr) else 1)"; then
      return 0
    fi
    sleep 0.2
  done
  fail "$what: not within $3 s ($(cat "$work/apps.json" 2>/dev/null))"
}
field() {  # appliance python-expression-over-r (its last_reconcile) -> value
  /usr/bin/python3 -c "import json; r={x['name']:x for x in json.load(open('$work/apps.json'))}['$1']['last_reconcile']; print($2)"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, all threads
all_ok="all(x['state']=='ok' and x['live'] for x in a.values())"

echo "control.bench.host_cores $(nproc)"
# What else ran: the figures of a loaded machine are not an idle one's.
echo "control.bench.loadavg_1m $(cut -d' ' -f1 /proc/loadavg)"

# ---- SQLite: session creation with no steer on this machine -------------------------------
# The steer roamsim programming every entry shares the two cores with roamd and the client;
# a card would not. The same creation with the gate alone on this machine:
# No roamsim started by start_sim takes traffic: each simulates 4 cycles per idle wait
# instead of 64 (an idle gate roamsim costs half a core at 64, a card none; register
# requests are served at once either way). The punt section's gate, which plays frames,
# keeps the default.
idle=(--idle-cycles 4)
start_sim g-gate-a gate "${idle[@]}"
start_roamd g "sqlite:$work/g.db" 0
wait_apps g "the gate programmed" 60 "len(a)==1 and $all_ok"
cpu0=$(cpu_ticks "${pid[roamd-g]}")
"$bench" create --api "$work/g.sock" --count $sessions --batch $create_batch --label sqlite.no_steer \
  --inflight $inflight
cpu1=$(cpu_ticks "${pid[roamd-g]}")
echo "control.session_create.roamd_cpu_us.no_steer $(( (cpu1 - cpu0) * 1000000 / $(getconf CLK_TCK) / sessions ))"
stop roamd-g
stop g-gate-a

# ---- SQLite: session creation, then a full steer reconciled after roamd's SIGKILL ----------
start_sim s-steer-a steer "${idle[@]}"
start_sim s-gate-a gate "${idle[@]}"
start_roamd s "sqlite:$work/s.db" 1
wait_apps s "steer and gate programmed" 60 "len(a)==2 and $all_ok"
cpu0=$(cpu_ticks "${pid[roamd-s]}")
"$bench" create --api "$work/s.sock" --count $sessions --batch $create_batch --label sqlite \
  --inflight $inflight
cpu1=$(cpu_ticks "${pid[roamd-s]}")
echo "control.session_create.roamd_cpu_us $(( (cpu1 - cpu0) * 1000000 / $(getconf CLK_TCK) / sessions ))"
note "created $sessions sessions ($SECONDS s); waiting for the steer to hold them"
wait_apps s "the steer holds $sessions sessions" 600 \
  "a['steer-a']['sessions']==$sessions and a['steer-a']['state']=='ok' and a['steer-a']['applied_revision']>=a['gate-a']['applied_revision']"
note "the steer holds them ($SECONDS s); roamd killed (SIGKILL) and restarted"
stop roamd-s
start_roamd s "sqlite:$work/s.db" 1
wait_apps s "reconciled after the restart" 300 \
  "all(x['state']=='ok' and x['last_reconcile']['at_revision']>0 for x in a.values())"
[ "$(field steer-a "r['missing']+r['stale']+r['wrong']")" = 0 ] ||
  note "the restart found differences: $(field steer-a r)"
steer_s=$(field steer-a "'%.3f' % r['seconds']")
steer_writes=$(field steer-a "r['register_writes']")
gate_s=$(field gate-a "'%.3f' % r['seconds']")
echo "control.reconcile.s.64k $steer_s"
echo "control.reconcile.writes.64k $steer_writes"
echo "control.reconcile.s.64k.gate $gate_s"
stop roamd-s
stop s-steer-a
stop s-gate-a

note "reconciled ($SECONDS s)"

# ---- Convergence: two steers (and a gate) managed by one roamd on SQLite ------------------
start_sim c-steer-a steer "${idle[@]}"
start_sim c-steer-b steer "${idle[@]}"
start_sim c-gate-a gate "${idle[@]}"
start_roamd c "sqlite:$work/c.db" 2
wait_apps c "both steers and the gate programmed" 60 "len(a)==3 and $all_ok"
"$bench" converge --api "$work/c.sock" --steer "$work/c-steer-a.sock" --steer "$work/c-steer-b.sock" \
  --samples $samples
stop roamd-c
stop c-steer-a
stop c-steer-b
stop c-gate-a

note "converged $samples times ($SECONDS s)"

# ---- etcd (Debian's, on loopback): session creation ----------------------------------------
read -r cport pport < <(/usr/bin/python3 -c "
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(('127.0.0.1',0)) for x in s]
print(*[x.getsockname()[1] for x in s])")
etcd --name bench --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$cport" \
  --advertise-client-urls "http://127.0.0.1:$cport" --listen-peer-urls "http://127.0.0.1:$pport" \
  --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
  --initial-cluster "bench=http://127.0.0.1:$pport" --max-txn-ops 1024 > "$work/etcd.log" 2>&1 &
pid[etcd]=$!
end=$((SECONDS + 30))
until ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$cport" endpoint health > /dev/null 2>&1; do
  [ $SECONDS -lt $end ] || fail "etcd did not start"
  sleep 0.2
done
start_sim e-steer-a steer "${idle[@]}"
start_sim e-gate-a gate "${idle[@]}"
start_roamd e "etcd:127.0.0.1:$cport" 1 --batch $etcd_batch
wait_apps e "steer and gate programmed (etcd)" 60 "len(a)==2 and $all_ok"
"$bench" create --api "$work/e.sock" --count $sessions --batch $create_batch --label etcd \
  --inflight $inflight
echo "control.session_create.batch $etcd_batch"
stop roamd-e
stop e-steer-a
stop e-gate-a
stop etcd

# ---- Punted ARP and GTP-U echo, answered end to end -------------------------------------
# A burst of 1000 requests (500 ARP for the gate's access address, 500 GTP-U Echo Requests to
# it, built by scapy, a dropped frame after each) on the gate's access port at wire rate, with a punt bucket deep enough
# to take them all into the punt ring (1024 slots). Timed: from `roamsim ctl play` to the
# last answer roamd counts (roamgate_punts_total); requests the kernel could not punt are
# counted by it and left unanswered (answered < 1000 says so).
read -r mport < <(/usr/bin/python3 -c "
import socket
s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
/usr/bin/python3 - "$work/punts.pcap" <<'PY'
import sys
from scapy.all import ARP, IP, UDP, Ether, wrpcap
from scapy.contrib.gtp import GTP_U_Header, GTPEchoRequest
gate, ran = "02:00:00:00:02:14", "02:00:00:00:02:01"
# Between two requests a 1400-byte frame for another MAC, which the kernel drops: the punt
# path takes a frame at a time (drop_punt_busy counts those that find it busy), and wire-rate
# 60-byte requests back to back come faster than it writes them to the ring.
filler = (Ether(dst="02:00:00:00:09:09", src=ran) / IP(src="198.18.2.1", dst="198.18.2.99")
          / UDP(sport=9, dport=9) / (b"\0" * 1358))
frames = []
for i in range(500):
    frames.append(Ether(dst="ff:ff:ff:ff:ff:ff", src=ran)
                  / ARP(op=1, hwsrc=ran, psrc="198.18.2.1", pdst="198.18.2.20"))
    frames.append(filler)
    frames.append(Ether(dst=gate, src=ran) / IP(src="198.18.2.1", dst="198.18.2.20")
                  / UDP(sport=40000 + i, dport=2152)
                  / GTP_U_Header(S=1, gtp_type=1, teid=0, seq=i) / GTPEchoRequest())
    frames.append(filler)
wrpcap(sys.argv[1], frames)
PY
rm -f "$work/p-gate-a.sock"
"$roamsim" --kernel gate --socket "$work/p-gate-a.sock" --in "access=$work/punts.pcap" \
  --out "access=$work/punts-out.pcap" --hold 2> "$work/sim-p-gate-a.log" &
pid[p-gate-a]=$!
for _ in $(seq 200); do [ -S "$work/p-gate-a.sock" ] && break; sleep 0.05; done
rm -f "$work/p.sock"
"$roamd" --machine p --store "sqlite:$work/p.db" --api "$work/p.sock" --metrics "127.0.0.1:$mport" \
  --appliance "gate-a=sim:$work/p-gate-a.sock" --set gate-a.ip=198.18.2.20 \
  --set gate-a.mac=02:00:00:00:02:14 --set gate-a.gateway_id=1 --set gate-a.nat_ips=198.18.3.100 \
  --set gate-a.service_next_hop_mac=02:00:00:00:03:01 --set gate-a.access_next_hop_mac=02:00:00:00:02:01 \
  --set gate-a.punt_burst=1024 --set gate-a.punt_rate=16777216 >> "$work/roamd-p.log" 2>&1 &
pid[roamd-p]=$!
for _ in $(seq 200); do [ -S "$work/p.sock" ] && break; sleep 0.05; done
wait_apps p "the gate programmed, its punt loop on" 60 "a['gate-a']['state']=='ok' and a['gate-a']['live']"
/usr/bin/python3 - "$roamsim" "$work/p-gate-a.sock" "$mport" <<'PY'
import re, subprocess, sys, time, urllib.request
roamsim, sock, port = sys.argv[1], sys.argv[2], sys.argv[3]
def answered():
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(int(float(m.group(2))) for m in re.finditer(
        r'^roamgate_punts_total\{[^}]*verdict="(arp_replied|echo_replied)"[^}]*\} (\S+)$', text, re.M))
before = answered()
t0 = time.monotonic()
subprocess.run([roamsim, "ctl", sock, "play"], check=True, stdout=subprocess.DEVNULL)
last, at = before, t0
while time.monotonic() - at < 2.0 and last - before < 1000:  # 2 s without an answer: done
    time.sleep(0.01)
    n = answered()
    if n != last:
        last, at = n, time.monotonic()
got = last - before
time.sleep(1.5)  # the agent reads the kernel counters once a second
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
for m in re.finditer(r'^roamgate_kernel_counter\{[^}]*counter="([a-z_]*punt[a-z_]*)"[^}]*\} (\S+)$', text, re.M):
    print(f"bench control: gate counter {m.group(1)} {int(float(m.group(2)))}", file=sys.stderr)
print(f"control.punt_housekeeping.per_s {got / (at - t0) if got else 0:.0f}")
print(f"control.punt_housekeeping.answered {got}")
PY
stop roamd-p
stop p-gate-a
"$build/tests/housekeeping_bench" | grep -E '^control\.punt_housekeeping\.'
