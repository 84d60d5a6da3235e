#!/usr/bin/env bash
# System test: roamd keeps the SQLite store's history bounded (--history, --compact-every).
#  - 200 sessions, then 300 handovers and 50 deletes, one revision each, through roamctl: the
#    store's log keeps the current values and at most the last --history revisions' changes,
#    not every change ever made (read back from the file by Python's sqlite3, not by us).
#  - what the steer and the gate hold is still exactly the store's: after roamd's SIGKILL and
#    restart (its watch starts from a compacted store) both reconcile with 0 register writes.
# usage: roamd_compact.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
work=$(mktemp -d /tmp/roamd-compact.XXXXXX)
source "$(dirname "$0")/lib.sh"
trap stop_all EXIT
api() { "$roamctl" --api "$work/roamd.sock" "$@"; }
wait_apps() { wait_apps_at "$work/roamd.sock" "$@"; }  # what seconds expression
history=100
start_roamd() {
  rm -f "$work/roamd.sock"
  "$roamd" --machine lab --store "sqlite:$work/state.db" --api "$work/roamd.sock" --metrics '' \
    --quarantine 0 --history $history --compact-every 1 \
    --appliance "steer-a=sim:$work/steer-a.sock" --set steer-a.ip=198.18.1.10 \
    --set steer-a.mac=02:00:00:00:01:0a \
    --appliance "gate-a=sim:$work/gate-a.sock" --set gate-a.ip=198.18.2.20 \
    --set gate-a.mac=02:00:00:00:02:14 --set gate-a.gateway_id=1 --set gate-a.nat_ips=198.18.3.100 \
    --set gate-a.service_next_hop_mac=02:00:00:00:03:01 \
    --set gate-a.access_next_hop_mac=02:00:00:00:02:01 >> "$work/roamd.log" 2>&1 &
  roamd_pid=$!
  for _ in $(seq 100); do [ -S "$work/roamd.sock" ] && return 0; sleep 0.1; done
  fail "roamd did not start"
}
status() {  # python expression over roamctl status --json as s
  api --json status | /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

start_sim steer-a steer --idle-cycles 8
start_sim gate-a gate --idle-cycles 8
start_roamd
wait_apps "steer and gate programmed" 60 "len(a)==2 and all(x['state']=='ok' and x['live'] for x in a.values())"

echo "== 200 sessions, 300 handovers, 50 deletes: one revision each after the create"
api session create --imsi 001010000000000 --msisdn 4915100000000 --ue-ip 198.19.0.1 \
  --peer 198.18.1.1 --dl-teid 0x10000 --count 200 > /dev/null
api --json session list > "$work/sessions.json"
mapfile -t teids < <(/usr/bin/python3 -c "import json; [print(x['teid']) for x in json.load(open('$work/sessions.json'))]")
[ ${#teids[@]} = 200 ] || fail "created ${#teids[@]} sessions, not 200"
first=$(status "s['store_revision']")
for i in $(seq 0 299); do
  api session move --teid "${teids[$((i % 200))]}" --peer 198.18.1.$((2 + i % 50)) \
    --dl-teid $((0x20000 + i)) > /dev/null
done
for i in $(seq 0 49); do api session delete --teid "${teids[$i]}" > /dev/null; done
last=$(status "s['store_revision']")
[ $((last - first)) -ge 350 ] || fail "350 changes made only $((last - first)) revisions"
# The next compaction (every second) reaches the window's start.
for _ in $(seq 40); do
  [ "$(status "s['compacted_revision']")" -ge $((last - history)) ] && break
  sleep 0.25
done
compacted=$(status "s['compacted_revision']")
[ "$compacted" -ge $((last - history)) ] || fail "compacted to $compacted, not to $((last - history))"
grep -q "store compacted to revision" "$work/roamd.log" || fail "no compaction in the log"

/usr/bin/python3 - "$work/state.db" "$compacted" "$last" <<'PY'
import sqlite3, sys
db, compacted, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
meta = dict(c.execute("SELECT name, value FROM meta"))
assert meta["compact"] == compacted, (meta, compacted)
# Below the compaction only current values are left; above it, at most the window's changes.
old = c.execute("SELECT count(*) FROM log WHERE rev<?", (compacted,)).fetchone()[0]
current_old = c.execute("SELECT count(*) FROM log WHERE rev<? AND EXISTS (SELECT 1 FROM kv WHERE"
                        " kv.key=log.key AND kv.mod_rev=log.rev AND kv.seq=log.seq)", (compacted,)).fetchone()[0]
assert old == current_old, f"{old - current_old} rows of overwritten or deleted values below {compacted}"
window = c.execute("SELECT count(*) FROM log WHERE rev>=?", (compacted,)).fetchone()[0]
revs = c.execute("SELECT count(DISTINCT rev) FROM log WHERE rev>=?", (compacted,)).fetchone()[0]
assert revs <= last - compacted + 1 + 20, (revs, last, compacted)  # + this test's own liveness writes
total = c.execute("SELECT count(*) FROM log").fetchone()[0]
keys = c.execute("SELECT count(*) FROM kv").fetchone()[0]
# 200 creates + 300 moves + 50 deletes were written; kept: the current values and the window.
assert total <= keys + window and total < 550, (total, keys, window)
sessions = c.execute("SELECT count(*) FROM kv WHERE CAST(key AS TEXT) LIKE '/roamgate/v1/sessions/%'").fetchone()[0]
assert sessions == 150, sessions
print(f"log rows {total} (keys {keys}, window {window} rows over {revs} revisions), compacted to {compacted}")
PY

echo "== SIGKILL and restart on the compacted store: 0 register writes, the store's sessions"
kill -9 "$roamd_pid"
wait "$roamd_pid" 2>/dev/null || true
start_roamd
wait_apps "reconciled after the restart" 120 \
  "all(x['state']=='ok' and x['last_reconcile']['at_revision']>0 for x in a.values())"
/usr/bin/python3 - "$work/apps.json" <<'PY'
import json, sys
for a in json.load(open(sys.argv[1])):
    r = a["last_reconcile"]
    assert r["register_writes"] == 0 and r["missing"] + r["stale"] + r["wrong"] == 0, (a["name"], r)
PY
api --json session list > "$work/sessions.json"
"$roamctl" --device "sim:$work/steer-a.sock" --json session list > "$work/table.json"
/usr/bin/python3 - "$work/sessions.json" "$work/table.json" <<'PY'
import json, sys
store = sorted(x["teid"] for x in json.load(open(sys.argv[1])))
steer = sorted(e["teid"] for e in json.load(open(sys.argv[2])))
assert len(store) == 150 and store == steer, (len(store), len(steer))
PY
kill -TERM "$roamd_pid"
rc=0; wait "$roamd_pid" || rc=$?
roamd_pid=""
[ $rc -eq 0 ] || fail "roamd exited $rc on SIGTERM"
echo "PASS"
