#!/usr/bin/env bash
# System test: roamd answers the housekeeping punts of a gate and a steer through the
# simulated cards. Gate: a scapy-built GTP-U Echo Request to its access address (access side)
# and an ARP request for its NAT address (service side) are punted by the kernel; roamd's
# agent answers them through the inject ring, out of the port each came in on; another ARP
# (not for the gate) is dropped by the kernel and never reaches the host. Steer: an ARP
# request for its address and a GTP-U Echo Request to it arrive on its access side and are
# punted; the answers leave its access output (inject code ACCESS_OUT), none toward the
# gates; an ARP for another address is punted too and left unanswered. tshark checks every
# answer (an Echo Response from the address asked with the request's sequence number, an ARP
# reply with the appliance's MAC) and that nothing else left.
# usage: roamd_punts.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
work=$(mktemp -d /tmp/roamd-punts.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ $rc -ne 0 ] && { echo "--- roamd log ---"; tail -20 "$work/roamd.log" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

/usr/bin/python3 - "$work" <<'PY'
import sys
from scapy.all import ARP, IP, UDP, Ether, wrpcap
from scapy.contrib.gtp import GTP_U_Header, GTPEchoRequest
w = sys.argv[1]
GATE_MAC = "02:00:00:00:02:14"
wrpcap(f"{w}/access.pcap", [
    # Ether(dst=gate)/IP(RAN -> gate access address)/UDP(40001 -> 2152)/GTP-U Echo Request, seq 0x4242
    Ether(dst=GATE_MAC, src="02:00:00:00:01:01") / IP(src="198.18.1.1", dst="198.18.2.20")
    / UDP(sport=40001, dport=2152) / GTP_U_Header(S=1, gtp_type=1, teid=0, seq=0x4242) / GTPEchoRequest(),
])
STEER_MAC = "02:00:00:00:01:0a"
wrpcap(f"{w}/steer-access.pcap", [
    # The RAN asks for the steer's address: ARP who-has 198.18.1.10 tell 198.18.1.1
    Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:01:01")
    / ARP(op=1, hwsrc="02:00:00:00:01:01", psrc="198.18.1.1", pdst="198.18.1.10"),
    # Ether(dst=steer)/IP(RAN -> steer)/UDP(40002 -> 2152)/GTP-U Echo Request, seq 0x4343
    Ether(dst=STEER_MAC, src="02:00:00:00:01:01") / IP(src="198.18.1.1", dst="198.18.1.10")
    / UDP(sport=40002, dport=2152) / GTP_U_Header(S=1, gtp_type=1, teid=0, seq=0x4343) / GTPEchoRequest(),
    # ... and ARP for an address that is not the steer's (punted, not answered)
    Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:01:01")
    / ARP(op=1, hwsrc="02:00:00:00:01:01", psrc="198.18.1.1", pdst="198.18.1.99"),
])
wrpcap(f"{w}/service.pcap", [
    # A server asks for the gate's NAT address: ARP who-has 198.18.3.100 tell 198.18.3.10
    Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:03:0a")
    / ARP(op=1, hwsrc="02:00:00:00:03:0a", psrc="198.18.3.10", pdst="198.18.3.100"),
    # ... and for an address that is not the gate's (dropped by the kernel, counted)
    Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:03:0a")
    / ARP(op=1, hwsrc="02:00:00:00:03:0a", psrc="198.18.3.10", pdst="198.18.3.99"),
])
PY
"$roamsim" --kernel gate --socket "$work/g.sock" --in "access=$work/access.pcap" --in "service=$work/service.pcap" \
  --out "access=$work/access-out.pcap" --out "service=$work/service-out.pcap" --hold 2> "$work/sim.log" &
pids+=($!)
"$roamsim" --kernel steer --socket "$work/s.sock" --in "access=$work/steer-access.pcap" \
  --out "access=$work/steer-access-out.pcap" --out "steer=$work/steer-out.pcap" --hold 2> "$work/steer-sim.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/g.sock" ] && [ -S "$work/s.sock" ] && break; sleep 0.1; done
"$roamd" --store "sqlite:$work/s.db" --api "$work/r.sock" --metrics '' \
  --appliance "gate-a=sim:$work/g.sock" --set gate-a.ip=198.18.2.20 --set gate-a.mac=02:00:00:00:02:14 \
  --set gate-a.gateway_id=1 --set gate-a.nat_ips=198.18.3.100 \
  --set gate-a.service_next_hop_mac=02:00:00:00:03:0a --set gate-a.access_next_hop_mac=02:00:00:00:01:01 \
  --appliance "steer-a=sim:$work/s.sock" --set steer-a.ip=198.18.1.10 --set steer-a.mac=02:00:00:00:01:0a \
  > "$work/roamd.log" 2>&1 &
pids+=($!)
for a in gate-a steer-a; do
  for _ in $(seq 240); do
    "$roamctl" --api "$work/r.sock" appliance list 2>/dev/null | grep -q "^$a .* ok " && break
    sleep 0.25
  done
  "$roamctl" --api "$work/r.sock" appliance list | grep -q "^$a .* ok " || fail "$a is not programmed"
done
for sock in g s; do "$roamsim" ctl "$work/$sock.sock" play > /dev/null; done
for sock in g s; do "$roamsim" ctl "$work/$sock.sock" wait > /dev/null; done
# The answers go out once roamd has polled the punt rings (every 20 ms): two on each card.
for sock in g s; do
  for _ in $(seq 200); do
    out=$("$roamctl" --device "sim:$work/$sock.sock" --json host status 2>/dev/null || true)
    grep -q '"injected": 2' <<< "$out" && break
    sleep 0.1
  done
done
for sock in g s; do
  "$roamsim" ctl "$work/$sock.sock" wait > /dev/null
  "$roamsim" ctl "$work/$sock.sock" stop > /dev/null
done
wait "${pids[0]}" "${pids[1]}" || true

echo "== access side: one Echo Response"
tshark -r "$work/access-out.pcap" -T fields -e ip.src -e ip.dst -e udp.srcport -e udp.dstport \
  -e gtp.message -e gtp.seq_number -e gtp.teid > "$work/access.txt" 2>/dev/null
cat "$work/access.txt"
[ "$(wc -l < "$work/access.txt")" = 1 ] || fail "the access side got $(wc -l < "$work/access.txt") frames, not 1"
grep -qP "^198.18.2.20\t198.18.1.1\t2152\t40001\t0x02\t0x4242\t0x00000000$" "$work/access.txt" ||
  grep -qP "^198.18.2.20\t198.18.1.1\t2152\t40001\t2\t16962\t0$" "$work/access.txt" ||
  fail "not the Echo Response the request asked for"
[ -z "$(tshark -r "$work/access-out.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -Y '_ws.expert.severity >= warning' 2>/dev/null)" ] ||
  fail "tshark finds a problem in the Echo Response"
echo "== service side: one ARP reply"
tshark -r "$work/service-out.pcap" -T fields -e eth.src -e eth.dst -e arp.opcode -e arp.src.hw_mac \
  -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 > "$work/service.txt" 2>/dev/null
cat "$work/service.txt"
[ "$(wc -l < "$work/service.txt")" = 1 ] || fail "the service side got $(wc -l < "$work/service.txt") frames, not 1"
grep -qP "^02:00:00:00:02:14\t02:00:00:00:03:0a\t2\t02:00:00:00:02:14\t198.18.3.100\t198.18.3.10$" "$work/service.txt" ||
  fail "not the ARP reply for 198.18.3.100"
echo "== steer, access side: one ARP reply and one Echo Response"
tshark -r "$work/steer-access-out.pcap" -T fields -e eth.src -e eth.dst -e arp.opcode -e arp.src.hw_mac \
  -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 -e ip.src -e ip.dst -e udp.srcport -e udp.dstport \
  -e gtp.message -e gtp.seq_number -e gtp.teid > "$work/steer-access.txt" 2>/dev/null
cat "$work/steer-access.txt"
[ "$(wc -l < "$work/steer-access.txt")" = 2 ] ||
  fail "the steer's access side got $(wc -l < "$work/steer-access.txt") frames, not 2"
grep -qP "^02:00:00:00:01:0a\t02:00:00:00:01:01\t2\t02:00:00:00:01:0a\t198.18.1.10\t198.18.1.1\t" \
  "$work/steer-access.txt" || fail "no ARP reply for 198.18.1.10 with the steer's MAC"
grep -qP "^02:00:00:00:01:0a\t02:00:00:00:01:01\t\t\t\t\t198.18.1.10\t198.18.1.1\t2152\t40002\t(0x02|2)\t(0x4343|17219)\t(0x00000000|0)$" \
  "$work/steer-access.txt" || fail "no Echo Response from 198.18.1.10 with the request's sequence number"
[ -z "$(tshark -r "$work/steer-access-out.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -Y '_ws.expert.severity >= warning' 2>/dev/null)" ] ||
  fail "tshark finds a problem in the steer's answers"
echo "== steer, steering side: nothing (the answers go back to the access side)"
n=$(tshark -r "$work/steer-out.pcap" 2>/dev/null | wc -l)
[ "$n" = 0 ] || fail "the steer's steering side got $n frames, not 0"
echo PASS
