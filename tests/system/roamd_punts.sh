#!/usr/bin/env bash
# System test: roamd answers the gate's housekeeping punts through the simulated card. A
# scapy-built GTP-U Echo Request to the gate's access address (access side) and an ARP
# request for its NAT address (service side) are punted by the kernel; roamd's agent answers
# them through the inject ring, out of the port each came in on; tshark checks the answers
# (an Echo Response from the access address with the request's sequence number, an ARP reply
# with the gate's MAC) and that nothing else left. Another ARP (not for the gate) is dropped
# by the kernel and never reaches the host.
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
for _ in $(seq 100); do [ -S "$work/g.sock" ] && break; sleep 0.1; done
"$roamd" --store "sqlite:$work/s.db" --api "$work/r.sock" --metrics '' \
  --appliance "gate-a=sim:$work/g.sock" --set gate-a.ip=198.18.2.20 --set gate-a.mac=02:00:00:00:02:14 \
  --set gate-a.gateway_id=1 --set gate-a.nat_ips=198.18.3.100 \
  --set gate-a.service_next_hop_mac=02:00:00:00:03:0a --set gate-a.access_next_hop_mac=02:00:00:00:01:01 \
  > "$work/roamd.log" 2>&1 &
pids+=($!)
for _ in $(seq 240); do
  "$roamctl" --api "$work/r.sock" appliance list 2>/dev/null | grep -q "^gate-a .* ok " && break
  sleep 0.25
done
"$roamctl" --api "$work/r.sock" appliance list | grep -q "^gate-a .* ok " || fail "gate-a is not programmed"
"$roamsim" ctl "$work/g.sock" play > /dev/null
"$roamsim" ctl "$work/g.sock" wait > /dev/null
# The answers go out once roamd has polled the punt ring (every 20 ms).
for _ in $(seq 200); do
  out=$("$roamctl" --device "sim:$work/g.sock" --json host status 2>/dev/null || true)
  grep -q '"injected": 2' <<< "$out" && break
  sleep 0.1
done
"$roamsim" ctl "$work/g.sock" wait > /dev/null
"$roamsim" ctl "$work/g.sock" stop > /dev/null
wait "${pids[0]}" || true

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
echo PASS
