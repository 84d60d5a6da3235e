#!/usr/bin/env bash
# End to end through real network stacks: a RAN node and a gateway in network namespaces,
# joined to roamsim's access and steering ports by veth pairs. The RAN node sends G-PDUs to
# the steer appliance's address; the gateway's Linux stack must accept every steered
# datagram on UDP 2152 (it checks the IPv4 and UDP checksums the kernel rewrote) with the
# TEIDs that were sent. Addresses from 198.18.0.0/15 only; namespaces removed on any exit.
# usage: steer_netns.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
id=$$
ran=rgran$id
gw=rggw$id
work=$(mktemp -d /tmp/steer-netns.XXXXXX)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
  wait 2>/dev/null || true
  ip netns del "$ran" 2>/dev/null || true
  ip netns del "$gw" 2>/dev/null || true
  ip link del "ra$id" 2>/dev/null || true
  ip link del "ga$id" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ran"
ip netns add "$gw"
ip link add "ra$id" type veth peer name ran0 netns "$ran"
ip link add "ga$id" type veth peer name gw0 netns "$gw"
for l in "ra$id" "ga$id"; do
  sysctl -qw "net.ipv6.conf.$l.disable_ipv6=1"
  ip link set "$l" up
done
ip netns exec "$ran" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$gw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n "$ran" link set ran0 address 02:00:00:00:01:01 up
ip -n "$ran" addr add 198.18.1.1/24 dev ran0
ip -n "$ran" neigh add 198.18.1.100 lladdr 02:00:00:00:01:64 dev ran0
ip -n "$gw" link set gw0 address 02:00:00:00:02:10 up
ip -n "$gw" addr add 198.18.2.10/24 dev gw0

"$roamsim" --socket "$work/s.sock" --in "access=iface:ra$id" --out "steer=iface:ga$id" 2> "$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do [ -S "$work/s.sock" ] && break; sleep 0.1; done
ctl() { "$roamctl" --device "sim:$work/s.sock" "$@" > /dev/null; }
ctl config --own-ip 198.18.1.100 --own-mac 02:00:00:00:01:64
ctl host setup
ctl gateway add --id 0 --ip 198.18.2.10 --mac 02:00:00:00:02:10

# The gateway: a UDP socket on 2152 that reports the TEIDs it receives.
ip netns exec "$gw" /usr/bin/python3 - "$work/teids.txt" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.2.10", 2152))
s.settimeout(60)
got = []
try:
    while len(got) < 200:
        data, _ = s.recvfrom(65535)
        if len(data) >= 8 and data[1] == 0xFF:
            got.append(struct.unpack("!I", data[4:8])[0])
except socket.timeout:
    pass
open(sys.argv[1], "w").write("\n".join(hex(t) for t in got) + "\n")
PY
rx_pid=$!
sleep 0.5

# The RAN node sends 200 G-PDUs (with and without PDU Session Containers) from its stack's
# interface, with scapy.
ip netns exec "$ran" /usr/bin/python3 - <<'PY'
from scapy.all import IP, UDP, Ether, Raw, sendp
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
pkts = []
for i in range(200):
    teid = 0x100 + 37 * i
    gtp = GTP_U_Header(teid=teid, gtp_type=255)
    if i % 2:
        gtp = GTP_U_Header(teid=teid, gtp_type=255, E=1, next_ex=0x85) / GTPPDUSessionContainer(type=1, QFI=5)
    pkts.append(Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:64") /
                IP(src="198.18.1.1", dst="198.18.1.100") / UDP(sport=2152, dport=2152) / gtp /
                IP(src="198.19.0.1", dst="198.18.3.100") / UDP(sport=4000, dport=5000) / Raw(b"x" * (i % 100)))
sendp(pkts, iface="ran0", verbose=False)
PY
wait "$rx_pid"
n=$(grep -c 0x "$work/teids.txt" || true)
"$roamctl" --device "sim:$work/s.sock" stats > "$work/stats.txt"
echo "the gateway's stack accepted $n of 200 steered G-PDUs"
grep -E "tx_frames|maglev_hits|drop_" "$work/stats.txt" | grep -v " 0$" || true
/usr/bin/python3 - "$work/teids.txt" <<'PY'
import sys
got = sorted(int(l, 16) for l in open(sys.argv[1]) if l.strip())
want = sorted(0x100 + 37 * i for i in range(200))
assert got == want, f"TEIDs differ: {len(got)} received"
PY
echo PASS
