#!/usr/bin/env bash
# roamctl against a gate kernel, as an operator meets it: the gate's commands, their errors
# and exit codes, --json, the steer-only commands refused.
# usage: roamctl_gate_cli.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/roamctl-gate.XXXXXX)
"$build/sim/roamsim" --kernel gate --socket "$work/g.sock" 2> "$work/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$work/g.sock" ] && break; sleep 0.1; done
source "$(dirname "$0")/cli_expect.sh"
D=(--device "sim:$work/g.sock")
U=(--teid 0x77 --src 198.19.0.7:40000 --dst 198.18.3.100:443 --proto tcp --peer 198.18.1.1 --dl-teid 0x99)
expect 0 "gate commands" -- --help
expect 0 "kernel gate" -- "${D[@]}" info
expect 0 "\"flow_capacity\": 65536" -- "${D[@]}" --json info
expect 2 "unknown gate command 'gateway list'" -- "${D[@]}" gateway list
expect 0 "gate address 1 198.18.3.2" -- "${D[@]}" config --access-ip 198.18.1.100 --nat-ip 0=198.18.3.1 --nat-ip 1=198.18.3.2 --own-mac 02:00:00:00:01:64
expect 2 "INDEX=ADDRESS" -- "${D[@]}" config --nat-ip 198.18.3.9
expect 2 "must be a number 0..3" -- "${D[@]}" config --nat-ip 4=198.18.3.9
expect 2 "must be a number 0..255" -- "${D[@]}" config --outer-ttl 300
expect 2 "exactly one of --server" -- "${D[@]}" user add "${U[@]}" --port 1:5000
expect 2 "exactly one of --server" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --external --server 198.18.3.10:8443
expect 2 "ADDRESS:PORT" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --server 198.18.3.10
expect 2 "tcp, udp or icmp" -- "${D[@]}" user add --teid 1 --src 198.19.0.7:1 --dst 198.18.3.100:1 --proto sctp --port 5 --server 198.18.3.10:1 --peer 198.18.1.1 --dl-teid 1
expect 2 "must be a number 0..63" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --server 198.18.3.10:8443 --qfi 64
expect 2 "required" -- "${D[@]}" user add --teid 0x77 --port 1:5000
expect 0 "user session on 1:5000 \\(generation 1\\)" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --server 198.18.3.10:8443 --qfi 9
expect 0 "tcp 198.19.0.7:40000 -> 198.18.3.100:443 via 198.18.3.10:8443" -- "${D[@]}" user get --port 1:5000
expect 0 "\"dl_teid\": 153" -- "${D[@]}" --json user get --port 1:5000
expect 0 "downlink tunnel moved" -- "${D[@]}" user move --port 1:5000 --peer 198.18.1.2 --dl-teid 0x9a
expect 0 "downlink tunnel 198.18.1.2 TEID 154" -- "${D[@]}" user get --port 1:5000
expect 1 "no user session on that port" -- "${D[@]}" user move --port 1:5001 --peer 198.18.1.2 --dl-teid 1
expect 0 "no user session on 0:7" -- "${D[@]}" user get --port 0:7
expect 0 "user session on 0:6 \\(generation 1\\)" -- "${D[@]}" user add --teid 0x78 --src 198.19.0.8:0x55 --dst 198.18.4.9 --proto icmp --port 6 --external --peer 198.18.1.1 --dl-teid 7
expect 2 "ICMP echo: --dst is an address" -- "${D[@]}" user add --teid 0x78 --src 198.19.0.8:0x55 --dst 198.18.4.9:5 --proto icmp --port 6 --external --peer 198.18.1.1 --dl-teid 7
expect 1 "no entry for key" -- "${D[@]}" user del --teid 0x79 --src 198.19.0.7:40000 --dst 198.18.3.100:443 --proto tcp --port 1:5000
expect 0 "user session removed" -- "${D[@]}" user del "${U[@]:0:8}" --port 1:5000
expect 0 "generation 2" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --server 198.18.3.10:8443
expect 0 "scanner on, idle after 100 ticks" -- "${D[@]}" scan --on --idle-ticks 100
expect 2 "not both" -- "${D[@]}" scan --on --off
expect 1 "not set up" -- "${D[@]}" export
expect 0 "export records" -- "${D[@]}" host setup --export-slots-log2 4
expect 0 "no export records|idle|interim|closed" -- "${D[@]}" export
expect 0 "ul_hits 0" -- "${D[@]}" stats
if "$build/host/roamctl" "${D[@]}" --json stats | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert "dl_unknown_port" in d'; then
  echo "ok: --json stats parses"
else
  echo "FAIL: --json stats"; fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] && echo PASS || { echo "$fails failed"; exit 1; }
