#!/usr/bin/env bash
# System test: roamsim --kernel gate, programmed by roamctl with user sessions from a
# scapy-built plan, receives scapy-built uplink G-PDUs on its access port and server replies
# on its service port. Sessions installed late are punted first (FLOW_MISS), then installed
# and their punted packets re-injected into the uplink pipeline by roamctl. The checks
# (check_gate_outputs.py) decode the outputs with scapy and tshark: no bad checksum, the
# rewritten addresses and ports as installed, downlink GTP-U with the right TEID, QFI and
# inner addresses, per-session counters equal to the exact packets and bytes sent, and one
# export record per session once they all go idle.
# usage: gate_sim.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
work=$(mktemp -d /tmp/gate-sys.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

/usr/bin/python3 "$src/tests/fixtures/make_gate_capture.py" "$work" --sessions 150 --late 10 --seed 5
"$roamsim" --kernel gate --socket "$work/g.sock" --in "access=$work/uplink.pcap" --in "service=$work/downlink.pcap" \
  --out "access=$work/access-out.pcap" --out "service=$work/service-out.pcap" --hold 2> "$work/sim.log" &
pid=$!
for _ in $(seq 100); do [ -S "$work/g.sock" ] && break; sleep 0.1; done
ctl() { "$roamctl" --device "sim:$work/g.sock" "$@"; }

ctl config --access-ip 198.18.1.100 --own-mac 02:00:00:00:01:64 --svc-next-hop 02:00:00:00:03:fe \
  --acc-next-hop 02:00:00:00:01:01 --nat-ip 0=198.18.3.1 --nat-ip 1=198.18.3.2 --tick-shift 10 > /dev/null
ctl host setup --export-slots-log2 6 > /dev/null
# User sessions from the plan (all but the late ones).
while read -r when args; do
  [ "$when" = now ] && ctl user add $args > /dev/null
done < "$work/users.txt"

"$roamsim" ctl "$work/g.sock" play
"$roamsim" ctl "$work/g.sock" wait
# The late sessions' packets came to the host; install the sessions, re-inject the packets.
ctl host punts --pcap "$work/punts.pcap" --json > "$work/punts.json"
while read -r when args; do
  [ "$when" = late ] && ctl user add $args > /dev/null
done < "$work/users.txt"
ctl host inject --pcap "$work/punts.pcap" > /dev/null
"$roamsim" ctl "$work/g.sock" wait
ctl --json stats > "$work/stats.json"
: > "$work/users.jsonl"
for p in $(/usr/bin/python3 -c 'import json,sys; [print("%d:%d" % (s["addr_index"], s["port"])) for s in json.load(open(sys.argv[1]))]' "$work/sessions.json"); do
  ctl --json user get --port "$p" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' >> "$work/users.jsonl"
done
# Every session goes idle: 50 ticks of 1024 cycles without a packet. The scanner writes one
# final record each (closed for the sessions that saw a FIN).
ctl scan --on --idle-ticks 50 > /dev/null
: > "$work/export.jsonl"
for _ in $(seq 120); do
  ctl --json export | /usr/bin/python3 -c 'import json,sys; [print(json.dumps(r)) for r in json.load(sys.stdin)]' >> "$work/export.jsonl"
  [ "$(wc -l < "$work/export.jsonl")" -ge 150 ] && break
  sleep 0.5
done
"$roamsim" ctl "$work/g.sock" stop || true
wait "$pid" 2>/dev/null || true
pid=
/usr/bin/python3 "$src/tests/system/check_gate_outputs.py" "$work"
