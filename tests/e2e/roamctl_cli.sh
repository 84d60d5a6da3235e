#!/usr/bin/env bash
# roamctl as an operator meets it: help, exit codes, error messages, --json, against a
# running roamsim.
# usage: roamctl_cli.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/roamctl-cli.XXXXXX)
"$build/sim/roamsim" --socket "$work/s.sock" 2> "$work/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$work/s.sock" ] && break; sleep 0.1; done
source "$(dirname "$0")/cli_expect.sh"
D=(--device "sim:$work/s.sock")
expect 0 "usage: roamctl" -- --help
expect 2 "no device" -- stats
expect 3 "cannot connect" -- --device sim:/nonexistent.sock stats
expect 2 "unknown device" -- --device pcie:0 stats
expect 2 "unknown steer command" -- "${D[@]}" frobnicate
expect 2 "not an IPv4 address" -- "${D[@]}" gateway add --ip 198.18.2.300 --mac 02:00:00:00:02:10
expect 2 "not a MAC address" -- "${D[@]}" gateway add --ip 198.18.2.10 --mac 02:00
expect 2 "required" -- "${D[@]}" gateway add --ip 198.18.2.10
expect 0 "gateway 0 198.18.2.10" -- "${D[@]}" gateway add --ip 198.18.2.10 --mac 02:00:00:00:02:10
expect 1 "already exists as id 0" -- "${D[@]}" gateway add --ip 198.18.2.10 --mac 02:00:00:00:02:11
expect 0 "gateway 1 198.18.2.11" -- "${D[@]}" gateway add --ip 198.18.2.11 --mac 02:00:00:00:02:11
expect 2 "out of range|must be a number" -- "${D[@]}" gateway add --id 256 --ip 198.18.2.12 --mac 02:00:00:00:02:12
expect 1 "no gateway with id 7" -- "${D[@]}" session add --teid 5 --gateway 7
expect 1 "TEID 0 is reserved" -- "${D[@]}" session add --teid 0 --gateway 1
printf '# teid gateway\n0x10 1\n0x11 0   # trailing comment\n' > "$work/ok.txt"
printf '0x10 1\n0x11\n' > "$work/bad.txt"
printf '0x12 9\n' > "$work/nogw.txt"
expect 0 "added 2 sessions" -- "${D[@]}" session add --file "$work/ok.txt"
expect 2 "bad.txt:2: want" -- "${D[@]}" session add --file "$work/bad.txt"
expect 1 "no gateway with id 9.*nothing added" -- "${D[@]}" session add --file "$work/nogw.txt"
expect 1 "cannot open" -- "${D[@]}" session add --file "$work/none.txt"
expect 2 "not both" -- "${D[@]}" session add --file "$work/ok.txt" --teid 5
expect 0 "session 4660 -> gateway 1" -- "${D[@]}" session add --teid 0x1234 --gateway 1
expect 0 "\"via\": \"session\"" -- "${D[@]}" --json session get --teid 0x1234
expect 0 "\\(maglev\\)" -- "${D[@]}" session get --teid 0x9999
expect 1 "no entry" -- "${D[@]}" session del --teid 0x4321
expect 0 "removed session 4660" -- "${D[@]}" session del --teid 0x1234
expect 0 "gateway 0 3276[0-9]" -- "${D[@]}" maglev
expect 1 "sessions are pinned to gateway 1" -- "${D[@]}" gateway del --ip 198.18.2.11
expect 0 "removed session 16" -- "${D[@]}" session del --teid 0x10
expect 0 "removed gateway 1" -- "${D[@]}" gateway del --ip 198.18.2.11
expect 0 "gateway 0 65537" -- "${D[@]}" maglev
expect 1 "no gateway with address" -- "${D[@]}" gateway del --ip 198.18.2.99
expect 2 "exactly one of" -- "${D[@]}" gateway del
expect 1 "not set up" -- "${D[@]}" host punts
expect 0 "punt slots" -- "${D[@]}" host setup --punt-slots-log2 4
expect 0 "no punted frames" -- "${D[@]}" host punts
expect 0 "punt-pps (99999[0-9]|100000[0-9]|1000010)" -- "${D[@]}" config --own-ip 198.18.1.100 --own-mac 02:00:00:00:01:64 --punt-pps 1000000
expect 0 "session_capacity" -- "${D[@]}" --json info
# --json output is JSON a script can read.
if "$build/host/roamctl" "${D[@]}" --json stats | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert "rx_frames" in d'; then
  echo "ok: --json stats parses"
else
  echo "FAIL: --json stats"; fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] && echo PASS || { echo "$fails failed"; exit 1; }
