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
# Help, version and command-line errors need no device (point 10 of issue 9).
unset ROAMGATE_DEVICE ROAMGATE_XCLBIN
expect 0 "usage: roamctl" -- --help
expect 0 "usage: roamctl" -- help
expect 2 "usage: roamctl" --
expect 0 "^roamctl [0-9]+\.[0-9]+\.[0-9]+" -- --version
expect 0 "steer register map 0x[0-9a-f]{8}" -- --version
expect 0 "\"version\"" -- --version --json
expect 0 "info" -- info --help
expect 0 "gateway add --ip A --mac M" -- gateway add --help
expect 0 "user add --teid T" -- help user add
expect 2 "unknown command 'bogus'" -- bogus
expect 2 "'gateway' needs a subcommand; gateway subcommands: add, del, list" -- gateway
expect 2 "unknown gateway command 'frob'" -- gateway frob
expect 0 "gateway del" -- gateway --help
expect 2 "no device" -- stats
expect 3 "cannot connect" -- --device sim:/nonexistent.sock stats
expect 2 "unknown device" -- --device pcie:0 stats
expect 2 "unknown command 'frobnicate'" -- "${D[@]}" frobnicate
expect 2 "'user add' is a gate command.*steer kernel" -- "${D[@]}" user add --port 5
# Addresses (point 7).
expect 2 "not an IPv4 address" -- "${D[@]}" gateway add --ip 198.18.2.300 --mac 02:00:00:00:02:10
expect 2 "not a MAC address" -- "${D[@]}" gateway add --ip 198.18.2.10 --mac 02:00
expect 2 "required" -- "${D[@]}" gateway add --ip 198.18.2.10
for bad in 0.0.0.0 255.255.255.255 224.0.0.5 127.0.0.1 240.1.2.3; do
  expect 2 "--ip $bad is .*unicast host address" -- "${D[@]}" gateway add --ip $bad --mac 02:00:00:00:02:10
done
for bad in 00:00:00:00:00:00 ff:ff:ff:ff:ff:ff 01:00:5e:00:00:01; do
  expect 2 "--mac $bad is .*unicast MAC" -- "${D[@]}" gateway add --ip 198.18.2.10 --mac $bad
done
expect 2 "--own-ip 224.0.0.1 is a multicast" -- "${D[@]}" config --own-ip 224.0.0.1
expect 0 "gateway 0 198.18.2.10" -- "${D[@]}" gateway add --ip 198.18.2.10 --mac 02:00:00:00:02:10
expect 1 "already exists as id 0" -- "${D[@]}" gateway add --ip 198.18.2.10 --mac 02:00:00:00:02:11
expect 0 "gateway 1 198.18.2.11" -- "${D[@]}" gateway add --ip 198.18.2.11 --mac 02:00:00:00:02:11
expect 1 "gateway id 1 is 198.18.2.11 .*--replace" -- "${D[@]}" gateway add --id 1 --ip 198.18.2.21 --mac 02:00:00:00:02:21
expect 0 "198.18.2.11" -- "${D[@]}" gateway list
expect 0 "gateway 1 198.18.2.21" -- "${D[@]}" gateway add --id 1 --ip 198.18.2.21 --mac 02:00:00:00:02:21 --replace
expect 0 "gateway 1 198.18.2.11" -- "${D[@]}" gateway add --id 1 --ip 198.18.2.11 --mac 02:00:00:00:02:11 --replace
expect 2 "out of range|must be a number" -- "${D[@]}" gateway add --id 256 --ip 198.18.2.12 --mac 02:00:00:00:02:12
expect 1 "no gateway with id 7" -- "${D[@]}" session add --teid 5 --gateway 7
expect 2 "TEID 0x1..0xffffffff|0 is reserved" -- "${D[@]}" session add --teid 0 --gateway 1
printf '# teid gateway\n0x10 1\n0x11 0   # trailing comment\n' > "$work/ok.txt"
printf '0x10 1\n0x11\n' > "$work/bad.txt"
printf '0x12 9\n' > "$work/nogw.txt"
printf '0x10 0\n' > "$work/repin.txt"
expect 0 "added 2 sessions" -- "${D[@]}" session add --file "$work/ok.txt"
expect 2 "bad.txt:2: want" -- "${D[@]}" session add --file "$work/bad.txt"
expect 1 "no gateway with id 9.*nothing added" -- "${D[@]}" session add --file "$work/nogw.txt"
expect 1 "cannot open" -- "${D[@]}" session add --file "$work/none.txt"
expect 2 "not both" -- "${D[@]}" session add --file "$work/ok.txt" --teid 5
expect 1 "TEID 0x00000010 is pinned to gateway 1" -- "${D[@]}" session add --file "$work/repin.txt"
expect 0 "session 0x00001234 -> gateway 1" -- "${D[@]}" session add --teid 0x1234 --gateway 1
expect 0 "session 0x00001234 -> gateway 1" -- "${D[@]}" session add --teid 4660 --gateway 1
expect 1 "TEID 0x00001234 is pinned to gateway 1.*--replace" -- "${D[@]}" session add --teid 0x1234 --gateway 0
expect 0 "session 0x00001234 -> gateway 0" -- "${D[@]}" session add --teid 0x1234 --gateway 0 --replace
expect 0 "\"via\": \"session\"" -- "${D[@]}" --json session get --teid 0x1234
expect 0 "\"teid\": \"0x00001234\"" -- "${D[@]}" --json session get --teid 0x1234
expect 0 "teid 0x00009999 -> gateway [01] \\(maglev\\)" -- "${D[@]}" session get --teid 0x9999
expect 0 "^0x00000010 1" -- "${D[@]}" session list
expect 1 "no session with TEID 0x00004321" -- "${D[@]}" session del --teid 0x4321
expect 0 "removed session 0x00001234" -- "${D[@]}" session del --teid 0x1234
expect 0 "gateway 0 3276[0-9]" -- "${D[@]}" maglev
expect 0 "the table is the one built from the gateways" -- "${D[@]}" maglev
expect 1 "sessions are pinned to gateway 1" -- "${D[@]}" gateway del --ip 198.18.2.11
expect 0 "removed gateway 1" -- "${D[@]}" gateway del --ip 198.18.2.11 --force
expect 0 "0x00000010 1 \\(gateway absent: dropped\\)" -- "${D[@]}" session list
expect 0 "pinned to an absent gateway" -- "${D[@]}" session list
expect 0 "\"gateway_present\": false" -- "${D[@]}" --json session list
expect 0 "ABSENT" -- "${D[@]}" session get --teid 0x10
expect 0 "removed session 0x00000010" -- "${D[@]}" session del --teid 0x10
expect 0 "gateway 0 65537" -- "${D[@]}" maglev
expect 1 "no gateway with address" -- "${D[@]}" gateway del --ip 198.18.2.99
expect 2 "exactly one of" -- "${D[@]}" gateway del
# Punt limit in frames per second (point 6).
expect 2 "--punt-pps must be 10\.\.322265625 frames per second" -- "${D[@]}" config --punt-pps 1
expect 2 "--punt-pps must be" -- "${D[@]}" config --punt-pps 0
expect 2 "--punt-pps must be" -- "${D[@]}" config --punt-pps 400000000
expect 2 "--punt-burst must be a number 1\.\.65535" -- "${D[@]}" config --punt-burst 0
expect 0 "M frames/s \\(1/16 frame per cycle" -- config --help
expect 0 "punt-pps 999996 \\(the nearest the limiter can do to 1000000\\)" -- "${D[@]}" config --own-ip 198.18.1.100 --own-mac 02:00:00:00:01:64 --punt-pps 1000000
expect 0 "punt-pps 19 " -- "${D[@]}" config --punt-pps 10
expect 0 "\"punt_pps\": 19," -- "${D[@]}" --json config
expect 0 "punt-pps 19$" -- "${D[@]}" config --punt-pps 19
expect 0 "punt-burst 64" -- "${D[@]}" config --punt-pps 20141602 --punt-burst 64
# The host port (points 3, 9).
expect 1 "not set up" -- "${D[@]}" host punts
expect 0 "1024 punt slots \\(new\\)" -- "${D[@]}" host setup
expect 0 "16 punt slots \\(new\\), 256 inject slots \\(kept\\)" -- "${D[@]}" host setup --punt-slots-log2 4
expect 0 "16 punt slots \\(kept\\), 256 inject slots \\(kept\\)" -- "${D[@]}" host setup
expect 0 "no punted frames" -- "${D[@]}" host punts
out=$("$build/host/roamctl" "${D[@]}" host punts --pcap /missing/x.pcap 2>&1); rc=$?
if [ "$rc" -eq 1 ] && [ "$(grep -o /missing/x.pcap <<< "$out" | wc -l)" -eq 1 ]; then
  echo "ok: host punts --pcap /missing/x.pcap names the path once"
else
  echo "FAIL: host punts --pcap /missing/x.pcap -> $rc: $out"; fails=$((fails + 1))
fi
expect 0 "session_capacity" -- "${D[@]}" --json info
# Maglev over gateway ids that do not start at 0 (point 1): the table read back through the
# simulator is the builder's, with no entry for an absent gateway (maglev exits 1 otherwise).
expect 0 "removed gateway 0" -- "${D[@]}" gateway del --id 0 --force
expect 0 "gateway 1 198.18.2.11" -- "${D[@]}" gateway add --id 1 --ip 198.18.2.11 --mac 02:00:00:00:02:11
expect 0 "gateway 2 198.18.2.12" -- "${D[@]}" gateway add --id 2 --ip 198.18.2.12 --mac 02:00:00:00:02:12
expect 0 "the table is the one built from the gateways" -- "${D[@]}" maglev
expect 0 "\"absent_entries\": 0" -- "${D[@]}" --json maglev
expect 0 "teid 0x0000042c -> gateway [12] \\(maglev\\)" -- "${D[@]}" session get --teid 1068
expect 0 "removed gateway 1" -- "${D[@]}" gateway del --id 1
expect 0 "gateway 2 65537" -- "${D[@]}" maglev
expect 0 "gateway 5 198.18.2.15" -- "${D[@]}" gateway add --id 5 --ip 198.18.2.15 --mac 02:00:00:00:02:15
expect 0 "the table is the one built from the gateways" -- "${D[@]}" maglev
# --json output is JSON a script can read.
if "$build/host/roamctl" "${D[@]}" --json stats | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert "rx_frames" in d'; then
  echo "ok: --json stats parses"
else
  echo "FAIL: --json stats"; fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] && echo PASS || { echo "$fails failed"; exit 1; }
