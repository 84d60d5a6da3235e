#!/usr/bin/env bash
# System test: two roamsim steer instances programmed by roamctl with the same gateways and
# sessions (in a different order) receive a scapy-built capture of 1000 TEIDs (explicit and
# hashed, with and without extension headers). Every TEID must leave both on the same
# gateway, rewritten correctly, and tshark must find no bad checksum. The host port's rings
# carry the punted frames to roamctl and frames injected by roamctl out of the steering port
# and (--port access_out) out of the access port.
# usage: steer_two_sims.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
work=$(mktemp -d /tmp/steer-sys.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

/usr/bin/python3 "$src/tests/fixtures/make_steer_capture.py" "$work/in.pcap" --teids 1000 --seed 7 --extra
for x in a b; do
  "$roamsim" --socket "$work/$x.sock" --in "access=$work/in.pcap" --out "steer=$work/out-$x.pcap" \
    --out "access=$work/acc-$x.pcap" --hold 2> "$work/sim-$x.log" &
  pids+=($!)
done
for x in a b; do
  for _ in $(seq 100); do [ -S "$work/$x.sock" ] && break; sleep 0.1; done
done

gateways=$(seq 0 7)
for x in a b; do
  ctl() { "$roamctl" --device "sim:$work/$x.sock" "$@" > /dev/null; }
  ctl config --own-ip 198.18.1.100 --own-mac 02:00:00:00:01:64
  ctl host setup
  order=$gateways
  [ $x = b ] && order=$(echo "$gateways" | tac)   # another order: the table must not care
  for g in $order; do ctl gateway add --id "$g" --ip "198.18.2.$((10 + g))" --mac "02:00:00:00:02:$((10 + g))"; done
done
# Pin every third TEID of the capture to a gateway chosen from its index.
: > "$work/pinned.txt"
for i in $(seq 0 3 999); do
  printf '0x%x %d\n' $((0x1000 + i * 7919)) $((i % 8)) >> "$work/pinned.txt"
done
for x in a b; do
  "$roamctl" --device "sim:$work/$x.sock" session add --file "$work/pinned.txt" > /dev/null
done

for x in a b; do "$roamsim" ctl "$work/$x.sock" play; done
for x in a b; do "$roamsim" ctl "$work/$x.sock" wait; done
# Frames the host sends: an ARP reply and an ICMP echo, injected into instance a only.
/usr/bin/python3 - "$work/inject.pcap" <<'PY'
import sys
from scapy.all import ARP, ICMP, IP, Ether, wrpcap
wrpcap(sys.argv[1], [
    Ether(src="02:00:00:00:01:64", dst="02:00:00:00:01:01") / ARP(op=2, psrc="198.18.1.100", pdst="198.18.1.1", hwsrc="02:00:00:00:01:64", hwdst="02:00:00:00:01:01"),
    Ether(src="02:00:00:00:01:64", dst="02:00:00:00:02:10") / IP(src="198.18.1.100", dst="198.18.2.10") / ICMP(),
])
PY
"$roamctl" --device "sim:$work/a.sock" host inject --pcap "$work/inject.pcap"
# ... and an ARP reply back toward the access side; a port the steer has not is refused.
/usr/bin/python3 - "$work/inject-acc.pcap" <<'PY'
import sys
from scapy.all import ARP, Ether, wrpcap
wrpcap(sys.argv[1], [Ether(src="02:00:00:00:01:64", dst="02:00:00:00:01:01") / ARP(op=2,
       psrc="198.18.1.100", pdst="198.18.1.1", hwsrc="02:00:00:00:01:64", hwdst="02:00:00:00:01:01")])
PY
"$roamctl" --device "sim:$work/a.sock" host inject --pcap "$work/inject-acc.pcap" --port access_out |
  grep -q "injected 1 frames (access_out)" || { echo "FAIL: host inject --port access_out"; exit 1; }
rc=0
"$roamctl" --device "sim:$work/a.sock" host inject --pcap "$work/inject-acc.pcap" --port service_out \
  2> "$work/err.txt" || rc=$?
[ $rc -eq 2 ] && grep -q "not one of the steer kernel's: steer_out, access_out" "$work/err.txt" ||
  { echo "FAIL: --port service_out on a steer: rc $rc, $(cat "$work/err.txt")"; exit 1; }
"$roamsim" ctl "$work/a.sock" wait
for x in a b; do "$roamctl" --device "sim:$work/$x.sock" host punts --pcap "$work/punt-$x.pcap" > /dev/null; done
echo "[" > "$work/gw.json"
"$roamctl" --device "sim:$work/a.sock" --json gateway list >> "$work/gw.json"
echo "," >> "$work/gw.json"
"$roamctl" --device "sim:$work/b.sock" --json gateway list >> "$work/gw.json"
echo "]" >> "$work/gw.json"
for x in a b; do
  "$roamctl" --device "sim:$work/$x.sock" --json stats > "$work/stats-$x.json"
  "$roamsim" ctl "$work/$x.sock" stop
done
wait "${pids[@]}"
pids=()

/usr/bin/python3 "$src/tests/system/check_steer_outputs.py" "$work/in.pcap" "$work/pinned.txt" \
  "$work/gw.json" "$work/out-a.pcap" "$work/out-b.pcap"

for x in a b; do
  out=$work/out-$x.pcap
  n=$(tshark -r "$out" 2>/dev/null | wc -l)
  bad=$(tshark -r "$out" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
        -Y 'ip.checksum.status == 0 || udp.checksum.status == 0' 2>/dev/null | wc -l)
  good=$(tshark -r "$out" -o ip.check_checksum:TRUE -T fields -e ip.checksum.status 2>/dev/null \
         | awk -F, '$1 == 1' | wc -l)
  want=1000
  [ $x = a ] && want=1002
  echo "instance $x: $n frames, tshark: $good outer IPv4 checksums good, $bad bad"
  [ "$n" -eq "$want" ] || { echo "FAIL: instance $x sent $n frames, want $want"; exit 1; }
  [ "$bad" -eq 0 ] || { echo "FAIL: tshark found $bad bad checksums in $out"; exit 1; }
  [ "$good" -ge 1000 ] || { echo "FAIL: only $good good outer checksums in $out"; exit 1; }
  # The punted frames: ARP, GTP-U echo and the TEID-0 G-PDU.
  p=$(tshark -r "$work/punt-$x.pcap" 2>/dev/null | wc -l)
  [ "$p" -eq 3 ] || { echo "FAIL: instance $x punted $p frames, want 3"; exit 1; }
done
# The injected frames left instance a byte for byte, after the steered traffic.
/usr/bin/python3 - "$work/inject.pcap" "$work/out-a.pcap" <<'PY'
import sys
from scapy.all import raw, rdpcap
inj, out = rdpcap(sys.argv[1]), rdpcap(sys.argv[2])
assert [raw(p) for p in out[-2:]] == [raw(p) for p in inj], "injected frames differ"
print("injected frames left the steering port unchanged")
PY
/usr/bin/python3 - "$work/inject-acc.pcap" "$work/acc-a.pcap" "$work/acc-b.pcap" <<'PY'
import sys
from scapy.all import raw, rdpcap
inj, a, b = (rdpcap(p) for p in sys.argv[1:])
assert [raw(p) for p in a] == [raw(p) for p in inj], f"access side of a: {len(a)} frames"
assert len(b) == 0, f"access side of b sent {len(b)} frames"
print("the frame injected with --port access_out left the access port unchanged, alone")
PY
/usr/bin/python3 - "$work/stats-a.json" "$work/stats-b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a == b, f"counters differ: {a} vs {b}"
assert a["tx_frames"] == 1000 and a["session_hits"] == 334 and a["maglev_hits"] == 666, a
assert a["punt_frames"] == 3 and a["drop_not_gtpu"] == 1, a
print("counters agree:", {k: v for k, v in a.items() if v})
PY
echo "PASS"
