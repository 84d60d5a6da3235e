#!/bin/bash
# ranemu end to end: two terminals (namespaces holding ranemu's TUN devices) ping through RAN
# nodes A and B to an entry point played by scapy (ranemu_peer.py), which answers each echo
# request in a G-PDU to the terminal's downlink TEID. Checked from the peer's decoding: the
# TEIDs, the PDU Session Containers (UL, QFI 9) and their absence, the node addresses before
# and after terminal t1's handover to B, Echo both ways (the response's Recovery IE); from
# ranemu's counters: packets both ways, the move, and the bad input the peer sends (a TEID of
# no terminal, a wrong length) counted and dropped. Also refused command lines and commands.
# usage: tests/system/ranemu.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
ranemu=$build/sim/ranemu
work=$(mktemp -d)
ran=rgran$$ core=rgcore$$ t1=rgt1$$ t2=rgt2$$
emu_pid="" peer_pid=""
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  local rc=$?
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
  [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- ranemu log ---"; cat "$work/ranemu.log" 2>/dev/null || true
    echo "--- peer log ---"; cat "$work/peer.log" "$work/peer.err" 2>/dev/null || true
  fi
  for n in "$ran" "$core" "$t1" "$t2"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Refused command lines name the value and what is allowed.
refused() {  # expected-text args...
  local want=$1
  shift
  if "$ranemu" "$@" > /dev/null 2> "$work/err"; then fail "ranemu $* was accepted"; fi
  grep -qF -- "$want" "$work/err" || { cat "$work/err"; fail "ranemu $*: no '$want'"; }
}
refused "no --node given"
refused "node 'A' is not NAME=ADDRESS,ENTRY_POINT" --node A
refused "node A address '198.18.300.1' is not an IPv4 address" --node A=198.18.300.1,198.18.10.2
refused "terminal t1 QFI '64' is not a number from 0 to 63" --node A=198.18.10.1,198.18.10.2 \
  --terminal t1=tun1,1,2,A,64
refused "terminal t1: no RAN node 'C'" --node A=198.18.10.1,198.18.10.2 --terminal t1=tun1,1,2,C
refused "log level 'loud'" --node A=198.18.10.1,198.18.10.2 --log-level loud
refused "terminal t1 TEID '09z' is not a number from 0 to 4294967295 (decimal, or hexadecimal" \
  --node A=198.18.10.1,198.18.10.2 --terminal t1=tun1,09z,2,A
refused "terminal name 't1' is given twice" --node A=198.18.10.1,198.18.10.2 \
  --terminal t1=tun1,1,2,A --terminal t1=tun2,3,4,A
refused "terminals t1 and t2 have one downlink TEID, 0x2" --node A=198.18.10.1,198.18.10.2 \
  --terminal t1=tun1,1,2,A --terminal t2=tun2,3,0x2,A
refused "echo interval 0.000100 is not 0 (none) or from 0.001 to 3600 seconds" \
  --node A=198.18.10.1,198.18.10.2 --echo-interval 0.0001
touch "$work/not-a-socket"
refused "control socket $work/not-a-socket exists and is not a socket" \
  --node A=198.18.10.1,198.18.10.2 --control "$work/not-a-socket"
[ -f "$work/not-a-socket" ] || fail "ranemu removed a file that is not a socket"
"$ranemu" --help | grep -q "move TERMINAL NODE" || fail "--help does not name the commands"

for n in "$ran" "$core" "$t1" "$t2"; do ip netns add "$n"; done
ip link add rgra netns "$ran" type veth peer name rgco netns "$core"
ip -n "$ran" addr add 198.18.10.1/24 dev rgra
ip -n "$ran" addr add 198.18.11.1/24 dev rgra
ip -n "$core" addr add 198.18.10.2/24 dev rgco
ip -n "$core" addr add 198.18.11.2/24 dev rgco
for n in "$ran" "$core"; do
  ip -n "$n" link set lo up
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$ran" link set rgra up
ip -n "$core" link set rgco up

ip netns exec "$core" /usr/bin/python3 "$here/ranemu_peer.py" "$work/peer.log" \
  198.18.10.2 198.18.11.2 > "$work/peer.out" 2> "$work/peer.err" &
peer_pid=$!
ip netns exec "$ran" "$ranemu" --node A=198.18.10.1,198.18.10.2 --node B=198.18.11.1,198.18.11.2 \
  --terminal t1=rgtun1,0x2001,0x1001,A,9 --terminal t2=rgtun2,0x2002,0x1002,A \
  --control "$work/ran.sock" --echo-interval 0.5 --json > "$work/stats.json" 2> "$work/ranemu.log" &
emu_pid=$!
for _ in $(seq 100); do [ -S "$work/ran.sock" ] && break; sleep 0.1; done
[ -S "$work/ran.sock" ] || fail "ranemu did not start"
# Each terminal's TUN into its namespace (ranemu's descriptor stays attached), its address
# and a default route through it.
for i in 1 2; do
  ns=$t1; [ $i = 2 ] && ns=$t2
  ip -n "$ran" link set "rgtun$i" netns "$ns"
  ip -n "$ns" addr add "198.19.10.$i/32" dev "rgtun$i"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "rgtun$i" up
  ip -n "$ns" route add default dev "rgtun$i"
done
ctl() {  # one command line to ranemu's control socket; prints the answer
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().readline().strip())' "$work/ran.sock" "$1"
}
for _ in $(seq 100); do grep -q listening "$work/peer.out" && break; sleep 0.1; done
grep -q listening "$work/peer.out" || { cat "$work/peer.err"; fail "the scapy peer did not start"; }

ip netns exec "$t1" ping -c 3 -i 0.2 -W 2 198.18.99.1 > "$work/ping1a" || fail "t1 ping through A"
ip netns exec "$t2" ping -c 3 -i 0.2 -W 2 198.18.99.1 > "$work/ping2" || fail "t2 ping through A"
[ "$(ctl 'move t1 C')" = "error: no RAN node 'C'" ] || fail "move to an unknown node"
[ "$(ctl 'move t9 B')" = "error: no terminal 't9'" ] || fail "move of an unknown terminal"
ctl 'jump' | grep -q "unknown command 'jump'" || fail "an unknown command"
# A client that says nothing holds nothing up; one that hangs up before its answer (SIGPIPE
# on the answer) does not end ranemu.
/usr/bin/python3 -c '
import socket, sys, time
quiet = socket.socket(socket.AF_UNIX); quiet.connect(sys.argv[1])
rude = socket.socket(socket.AF_UNIX); rude.connect(sys.argv[1])
rude.sendall(b"stats\n"); rude.close()
time.sleep(0.3)' "$work/ran.sock" &
quiet_pid=$!
[ "$(ctl 'move t1 B')" = ok ] || fail "move t1 B"
ip netns exec "$t1" ping -c 3 -i 0.2 -W 2 198.18.99.1 > "$work/ping1b" || fail "t1 ping through B"
wait "$quiet_pid"
kill -0 "$emu_pid" || fail "ranemu ended after a client hung up"
sleep 0.6  # one more Echo Request round
ctl stats > "$work/live.json"
kill -TERM "$emu_pid"
wait "$emu_pid" || fail "ranemu did not stop cleanly on SIGTERM"
emu_pid=""
kill -TERM "$peer_pid"; wait "$peer_pid" || true; peer_pid=""

/usr/bin/python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
recs = [json.loads(l) for l in open(w + "/peer.log")]
st = json.load(open(w + "/stats.json"))
def fail(m):
    print("FAIL:", m); sys.exit(1)
gp = [r for r in recs if r["type"] == 255]
t1 = [r for r in gp if r.get("inner", {}).get("src") == "198.19.10.1"]
t2 = [r for r in gp if r.get("inner", {}).get("src") == "198.19.10.2"]
if len(t1) != 6 or len(t2) != 3:
    fail(f"G-PDUs: t1 {len(t1)} (want 6), t2 {len(t2)} (want 3)")
for r in t1 + t2:
    if r["inner"]["dst"] != "198.18.99.1" or r["inner"]["proto"] != 1:
        fail(f"inner packet {r}")
for r in t1:
    if r["teid"] != 0x2001 or r.get("pdu_type") != 1 or r.get("qfi") != 9:
        fail(f"t1 G-PDU without its TEID or UL container with QFI 9: {r}")
for r in t2:
    if r["teid"] != 0x2002 or "qfi" in r:
        fail(f"t2 G-PDU: {r}")
before = [(r["from"], r["at"]) for r in t1[:3]]
after = [(r["from"], r["at"]) for r in t1[3:]]
if (set(before) != {("198.18.10.1", "198.18.10.2")}
        or set(after) != {("198.18.11.1", "198.18.11.2")}):
    fail(f"node addresses before {before} and after the handover {after}")
resp = [r for r in recs if r["type"] == 2]
if not resp or any(r.get("seq") != 0x4242 or r.get("ies") != [[14, 0]] for r in resp):
    fail(f"Echo Responses (want seq 0x4242 and a Recovery IE 0): {resp}")
req = {r["at"] for r in recs if r["type"] == 1}
if req != {"198.18.10.2", "198.18.11.2"}:
    fail(f"ranemu's Echo Requests reached {req}")
term = st["terminals"]
if term["t1"]["ul_packets"] != 6 or term["t1"]["dl_packets"] != 6 or term["t1"]["moves"] != 1:
    fail(f"t1 counters {term['t1']}")
if term["t2"]["ul_packets"] != 3 or term["t2"]["dl_packets"] != 3 or term["t1"]["node"] != "B":
    fail(f"counters {term}")
nodes = st["nodes"]
bad = {k: nodes["A"][k] + nodes["B"][k] for k in ("unknown_teid", "malformed", "echo_requests")}
if bad != {"unknown_teid": 2, "malformed": 2, "echo_requests": 2}:
    fail(f"bad input and Echo Requests counted at the nodes: {bad} (want 2 of each: A and B)")
if nodes["A"]["echo_answered"] < 1 or nodes["B"]["echo_answered"] < 1:
    fail(f"Echo Responses to ranemu: {nodes}")
print("ranemu: ok:", len(gp), "G-PDUs,", len(resp), "echo responses, handover A -> B")
PY
