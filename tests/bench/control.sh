#!/usr/bin/env bash
# The control plane's figures, one `name value` per line (run through `scripts/bench control`).
# Starts its own roamsims, roamd and etcd (loopback and Unix sockets only, in a temp folder) and
# stops them all on exit. Figures (units in the name):
#   control.bench.host_cores                  nproc, to read the others by
#   control.session_create.per_s.sqlite       sessions per second through the API, batches of
#   control.session_create.per_s.etcd         10,000 per CreateSessions call (timed: the calls)
#   control.session_create.batch              sessions per store transaction with etcd
#   control.steer_converge.ms.p50|p99|max     create returned -> TEID in both steers' tables
#   control.reconcile.s.63k, .writes.63k      steer after roamd's SIGKILL and restart
#   control.reconcile.s.63k.gate              gate, same restart
#   control.punt_housekeeping.per_s.cpu       the Housekeeper on one core (see the end)
# The sessions: 63,000 per run, not 64Ki. The steer's session table has 65,536 slots (2 banks
# x 8192 buckets x 4), and cuckoo placement with random TEIDs finds no free slot within 6
# moves from about 63,900 entries on (97.5 % full), so 65,536 sessions never all fit: 63,000
# (96 %) is the fullest table the steer reliably holds.
# usage: tests/bench/control.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
bench=$build/tests/control_bench
sessions=63000
create_batch=10000  # sessions per CreateSessions call (roamctl's default --batch)
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
start_sim() {  # name kernel
  rm -f "$work/$1.sock"
  "$roamsim" --kernel "$2" --socket "$work/$1.sock" 2> "$work/sim-$1.log" &
  pid[$1]=$!
  for _ in $(seq 200); do [ -S "$work/$1.sock" ] && return 0; sleep 0.05; done
  fail "roamsim $1 did not start"
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
all_ok="all(x['state']=='ok' and x['live'] for x in a.values())"

echo "control.bench.host_cores $(nproc)"
# What else ran: the figures of a loaded machine are not an idle one's.
echo "control.bench.loadavg_1m $(cut -d' ' -f1 /proc/loadavg)"

# ---- SQLite: session creation, then a full steer reconciled after roamd's SIGKILL ----------
start_sim s-steer-a steer
start_sim s-gate-a gate
start_roamd s "sqlite:$work/s.db" 1
wait_apps s "steer and gate programmed" 60 "len(a)==2 and $all_ok"
"$bench" create --api "$work/s.sock" --count $sessions --batch $create_batch --label sqlite
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
echo "control.reconcile.s.63k $steer_s"
echo "control.reconcile.writes.63k $steer_writes"
echo "control.reconcile.s.63k.gate $gate_s"
stop roamd-s
stop s-steer-a
stop s-gate-a

note "reconciled ($SECONDS s)"

# ---- Convergence: two steers (and a gate) managed by one roamd on SQLite ------------------
start_sim c-steer-a steer
start_sim c-steer-b steer
start_sim c-gate-a gate
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
start_sim e-steer-a steer
start_sim e-gate-a gate
start_roamd e "etcd:127.0.0.1:$cport" 1 --batch $etcd_batch
wait_apps e "steer and gate programmed (etcd)" 60 "len(a)==2 and $all_ok"
"$bench" create --api "$work/e.sock" --count $sessions --batch $create_batch --label etcd
echo "control.session_create.batch $etcd_batch"
stop roamd-e
stop e-steer-a
stop e-gate-a
stop etcd

# ---- Punted ARP and GTP-U echo -------------------------------------------------------------
# roamd's agents do not yet run a punt loop (no agent in host/src/control uses the
# Housekeeper), so nothing answers punted frames end to end and no end-to-end figure exists:
# control.punt_housekeeping.per_s needs the agent's punt loop. Printed instead: the
# Housekeeper's own throughput on one core (housekeeping_bench).
src=$(cd "$(dirname "$0")/../.." && pwd)
if grep -qs Housekeeper "$src"/host/src/control/*agent*.cpp; then
  note "an agent now uses the Housekeeper: measure control.punt_housekeeping.per_s end to end here"
fi
"$build/tests/housekeeping_bench" | grep -E '^control\.punt_housekeeping\.'
