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
S=(--server 198.18.3.10:8443)
expect 0 "gate commands" -- --help
expect 0 "kernel gate" -- "${D[@]}" info
expect 0 "\"flow_capacity\": 65536" -- "${D[@]}" --json info
expect 2 "'gateway list' is a steer command.*holds the gate kernel" -- "${D[@]}" gateway list
expect 1 "access address is not configured" -- "${D[@]}" user add "${U[@]}" --port 1:5000 "${S[@]}"
expect 0 "gate address 1 198.18.3.2" -- "${D[@]}" config --access-ip 198.18.1.100 --nat-ip 0=198.18.3.1 --nat-ip 1=198.18.3.2 --own-mac 02:00:00:00:01:64
expect 0 "gate address 2 \\(not configured\\)" -- "${D[@]}" config
expect 2 "INDEX=ADDRESS" -- "${D[@]}" config --nat-ip 198.18.3.9
expect 2 "must be a number 0..3" -- "${D[@]}" config --nat-ip 4=198.18.3.9
expect 2 "--nat-ip 2 address 0.0.0.0 is" -- "${D[@]}" config --nat-ip 2=0.0.0.0
expect 2 "--outer-ttl must be a number 1..255" -- "${D[@]}" config --outer-ttl 300
expect 2 "--outer-ttl must be a number 1..255" -- "${D[@]}" config --outer-ttl 0
expect 2 "--punt-burst must be a number 1..65535" -- "${D[@]}" config --punt-burst 0
expect 2 "--punt-pps must be" -- "${D[@]}" config --punt-pps 1
expect 2 "exactly one of --server" -- "${D[@]}" user add "${U[@]}" --port 1:5000
expect 2 "exactly one of --server" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --external "${S[@]}"
expect 2 "ADDRESS:PORT" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --server 198.18.3.10
expect 2 "tcp, udp or icmp" -- "${D[@]}" user add --teid 1 --src 198.19.0.7:1 --dst 198.18.3.100:1 --proto sctp --port 5 --server 198.18.3.10:1 --peer 198.18.1.1 --dl-teid 1
expect 2 "must be a number 0..63" -- "${D[@]}" user add "${U[@]}" --port 1:5000 "${S[@]}" --qfi 64
expect 2 "required" -- "${D[@]}" user add --teid 0x77 --port 1:5000
# Values a user session cannot take (point 8).
V=(--src 198.19.0.7:40000 --dst 198.18.3.100:443 --proto tcp)
expect 2 "--teid 0 is reserved" -- "${D[@]}" user add --teid 0 "${V[@]}" --port 1:5000 "${S[@]}" --peer 198.18.1.1 --dl-teid 0x99
expect 2 "--dl-teid 0 is reserved" -- "${D[@]}" user add --teid 0x77 "${V[@]}" --port 1:5000 "${S[@]}" --peer 198.18.1.1 --dl-teid 0
expect 2 "user-session port must be a number 1..65535" -- "${D[@]}" user add "${U[@]}" --port 1:0 "${S[@]}"
expect 2 "--server port must be 1..65535" -- "${D[@]}" user add "${U[@]}" --port 1:5000 --server 198.18.3.10:0
expect 2 "ports 1..65535" -- "${D[@]}" user add --teid 0x77 --src 198.19.0.7:0 --dst 198.18.3.100:443 --proto tcp --port 1:5000 "${S[@]}" --peer 198.18.1.1 --dl-teid 0x99
expect 2 "--peer 0.0.0.0 is" -- "${D[@]}" user add --teid 0x77 "${V[@]}" --port 1:5000 "${S[@]}" --peer 0.0.0.0 --dl-teid 0x99
expect 1 "gate address index 2 is not configured" -- "${D[@]}" user add "${U[@]}" --port 2:5000 "${S[@]}"
expect 1 "no user session on 2:5000" -- "${D[@]}" user get --port 2:5000
expect 0 "user session on 1:5000 \\(generation 1\\)" -- "${D[@]}" user add "${U[@]}" --port 1:5000 "${S[@]}" --qfi 9
expect 0 "tcp 198.19.0.7:40000 -> 198.18.3.100:443 via 198.18.3.10:8443" -- "${D[@]}" user get --port 1:5000
expect 0 "\"dl_teid\": \"0x00000099\"" -- "${D[@]}" --json user get --port 1:5000
expect 0 "downlink tunnel of 1:5000 now 198.18.1.2 TEID 0x0000009a" -- "${D[@]}" user move --port 1:5000 --peer 198.18.1.2 --dl-teid 0x9a
expect 0 "downlink tunnel 198.18.1.2 TEID 0x0000009a" -- "${D[@]}" user get --port 1:5000
expect 1 "no user session on 1:5001" -- "${D[@]}" user move --port 1:5001 --peer 198.18.1.2 --dl-teid 1
expect 1 "no user session on 0:7" -- "${D[@]}" user get --port 0:7
expect 0 "user session on 0:6 \\(generation 1\\)" -- "${D[@]}" user add --teid 0x78 --src 198.19.0.8:0x55 --dst 198.18.4.9 --proto icmp --port 6 --external --peer 198.18.1.1 --dl-teid 7
expect 2 "ICMP echo: --dst is an address" -- "${D[@]}" user add --teid 0x78 --src 198.19.0.8:0x55 --dst 198.18.4.9:5 --proto icmp --port 6 --external --peer 198.18.1.1 --dl-teid 7
# User sessions do not overwrite each other (point 2).
W=(--teid 0x80 --src 198.19.0.9:41000 --dst 198.18.3.100:443 --proto tcp)
expect 1 "port 1:5000 holds a user session \\(tcp 198.19.0.7:40000 -> 198.18.3.100:443\\).*--replace" -- "${D[@]}" user add "${W[@]}" --port 1:5000 "${S[@]}" --peer 198.18.1.1 --dl-teid 0x98
expect 0 "198.19.0.7:40000" -- "${D[@]}" user get --port 1:5000
expect 1 "flow TEID 0x00000077 tcp 198.19.0.7:40000 -> 198.18.3.100:443 belongs to the user session on 1:5000" -- "${D[@]}" user add "${U[@]}" --port 1:5002 "${S[@]}"
expect 0 "user session on 1:5001" -- "${D[@]}" user add "${W[@]}" --port 1:5001 "${S[@]}" --peer 198.18.1.1 --dl-teid 0x98
expect 1 "no flow TEID 0x00000079 tcp 198.19.0.7:40000 -> 198.18.3.100:443" -- "${D[@]}" user del --teid 0x79 --src 198.19.0.7:40000 --dst 198.18.3.100:443 --proto tcp --port 1:5000
expect 1 "belongs to the user session on 1:5001, not 1:5000; nothing removed" -- "${D[@]}" user del "${W[@]}" --port 1:5000
expect 0 "198.19.0.7:40000" -- "${D[@]}" user get --port 1:5000
expect 0 "198.19.0.9:41000" -- "${D[@]}" user get --port 1:5001
expect 2 "--port alone, or --port with all of" -- "${D[@]}" user del --teid 0x80 --port 1:5001
expect 0 "1:5000 tcp 198.19.0.7:40000 .*1:5001 tcp 198.19.0.9:41000|0:6 icmp" -- "${D[@]}" user list
expect 0 "ports read" -- "${D[@]}" user list
expect 0 "user session on 1:5000 removed \\(TEID 0x00000077" -- "${D[@]}" user del "${U[@]:0:8}" --port 1:5000
expect 0 "generation 2" -- "${D[@]}" user add "${U[@]}" --port 1:5000 "${S[@]}"
expect 0 "user session on 1:5000 \\(generation 3\\)" -- "${D[@]}" user add "${W[@]/0x80/0x81}" --port 1:5000 "${S[@]}" --peer 198.18.1.1 --dl-teid 0x98 --replace
expect 1 "no flow TEID 0x00000077" -- "${D[@]}" user del "${U[@]:0:8}" --port 1:5000
expect 0 "user session on 1:5001 removed \\(1 flows\\)" -- "${D[@]}" user del --port 1:5001
expect 1 "no user session on 1:5001" -- "${D[@]}" user del --port 1:5001
if "$build/host/roamctl" "${D[@]}" --json user list 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
got = sorted((s["addr_index"], s["port"], s["terminal"]) for s in d)
assert got == [(0, 6, "198.19.0.8:85"), (1, 5000, "198.19.0.9:41000")], got'; then
  echo "ok: --json user list is the two sessions left"
else
  echo "FAIL: --json user list"; fails=$((fails + 1))
fi
expect 0 "scanner on, idle after 100 ticks" -- "${D[@]}" scan --on --idle-ticks 100
expect 2 "not both" -- "${D[@]}" scan --on --off
expect 1 "not set up" -- "${D[@]}" export
expect 0 "16 export records \\(new\\)" -- "${D[@]}" host setup --export-slots-log2 4
# Re-running host setup keeps the rings it does not name (point 3).
expect 0 "16 export records \\(kept\\)" -- "${D[@]}" host setup
expect 0 "no export records|idle|interim|closed" -- "${D[@]}" export
expect 0 "export ring off" -- "${D[@]}" host setup --export-slots-log2 0
expect 1 "export ring is not set up" -- "${D[@]}" export
expect 0 "ul_hits 0" -- "${D[@]}" stats
if "$build/host/roamctl" "${D[@]}" --json stats | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert "dl_unknown_port" in d'; then
  echo "ok: --json stats parses"
else
  echo "FAIL: --json stats"; fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] && echo PASS || { echo "$fails failed"; exit 1; }
