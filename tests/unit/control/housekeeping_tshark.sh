#!/bin/sh
# The Housekeeper's replies to the fixtures, decoded by tshark (an independent dissector):
# no malformed packet and no expert info of warning level or above (checksum checks on), every
# echo reply decoded as "Echo response" with a Recovery IE of 0, every ARP reply as one.
# The same filters must flag the damaged requests in the fixtures (so they are not vacuous).
# usage: housekeeping_tshark.sh HOUSEKEEPING_TEST FIXTURES_DIR
set -eu
bin=$1
fixtures=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

"$bin" --write-replies "$tmp/replies.pcap"

ts() { tshark -n -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE "$@" 2>/dev/null; }
count() { ts -r "$1" -Y "$2" | wc -l; }
fail=0
expect() {  # what, got, want
  if [ "$2" -ne "$3" ]; then
    echo "FAIL: $1: $2, expected $3" >&2
    fail=1
  else
    echo "ok: $1: $2"
  fi
}

echoes=$(grep -c '	echo_replied	' "$fixtures/cases.tsv")
arps=$(grep -c '	arp_replied	' "$fixtures/cases.tsv")
bad='_ws.malformed || _ws.expert.severity >= "Warning"'

expect "reply frames" "$(count "$tmp/replies.pcap" 'frame')" $((echoes + arps))
expect "replies with malformed or expert warnings" "$(count "$tmp/replies.pcap" "$bad")" 0
if [ "$(count "$tmp/replies.pcap" "$bad")" -ne 0 ]; then
  ts -r "$tmp/replies.pcap" -Y "$bad" -T fields -e frame.number -e _ws.expert.message >&2
fi
info_echo=$(ts -r "$tmp/replies.pcap" -T fields -e _ws.col.Info | grep -c '^Echo response$' || true)
expect "Echo response (info column)" "$info_echo" "$echoes"
good_echo='gtp.message == 2 && gtp.teid == 0 && gtp.length == 6 && gtp.recovery == 0
  && gtp.flags.s == 1 && gtp.flags.e == 0 && gtp.flags.pn == 0 && udp.srcport == 2152
  && ip.checksum.status == "Good" && udp.checksum.status == "Good"'
expect "echo responses: type 2, TEID 0, S only, length 6, Recovery 0, from 2152, checksums good" \
  "$(count "$tmp/replies.pcap" "$good_echo")" "$echoes"
expect "ARP replies from our MAC" \
  "$(count "$tmp/replies.pcap" 'arp.opcode == 2 && arp.src.hw_mac == 02:00:5e:10:00:01')" "$arps"
# The filters are not vacuous: the fixtures' damaged requests trip them.
requests_bad=$(count "$fixtures/requests.pcap" "$bad")
if [ "$requests_bad" -lt 5 ]; then
  echo "FAIL: the malformed/expert filter flags only $requests_bad damaged requests" >&2
  fail=1
else
  echo "ok: the same filter flags $requests_bad damaged requests"
fi
exit $fail
