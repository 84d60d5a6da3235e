#!/usr/bin/env bash
# The demo's checks can fail: check_demo_outputs.py passes on what scripts/demo left in
# DEMO_OUT, and fails, naming the fault, on copies of it with one fault each: a bad checksum
# on either appliance's output, a missing export record, an empty output, a wrong counter, a
# frame too few.
# usage: demo_checks_fail.sh DEMO_OUT   (the e2e.demo test's DEMO_DIR)
set -euo pipefail
out=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
check=$src/tests/system/check_demo_outputs.py
work=$(mktemp -d /tmp/demo-checks.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0

fresh() {
  rm -rf "$work/d"
  mkdir "$work/d"
  cp -r "$out/steer" "$out/gate" "$work/d/"
}
# expect_fail NAME PATTERN...: the checker exits 1 and prints a line matching each PATTERN.
expect_fail() {
  local name=$1 rc=0 pat ok=1
  shift
  /usr/bin/python3 "$check" "$work/d" > "$work/$name.log" 2>&1 || rc=$?
  [ "$rc" -eq 1 ] || ok=0
  for pat in "$@"; do grep -Eq "$pat" "$work/$name.log" || ok=0; done
  if [ "$ok" = 1 ]; then
    echo "ok: $name: the checks fail:"
    for pat in "$@"; do grep -Em1 "$pat" "$work/$name.log" | sed 's/^/  /'; done
  else
    echo "FAIL: $name: checker exit $rc, want 1 with lines matching: $*; its output:"
    sed 's/^/  /' "$work/$name.log"
    failed=1
  fi
}
# Rewrites one pcap: corrupt PCAP (checksum N | drop N | empty)
corrupt() {
  /usr/bin/python3 - "$@" <<'PY'
import struct
import sys
from scapy.all import raw, rdpcap
path, what = sys.argv[1], sys.argv[2]
frames = [raw(p) for p in rdpcap(path)]
if what == "checksum":  # flip a bit of frame N's outer IPv4 header checksum
    b = bytearray(frames[int(sys.argv[3])])
    b[14 + (4 if b[12:14] == b"\x81\x00" else 0) + 10] ^= 0x10
    frames[int(sys.argv[3])] = bytes(b)
elif what == "drop":
    del frames[int(sys.argv[3])]
elif what == "empty":
    frames = []
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # pcap, Ethernet
    for fr in frames:
        f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)
PY
}

fresh
if /usr/bin/python3 "$check" "$work/d" > "$work/clean.log" 2>&1; then
  echo "ok: the demo's own outputs pass the checks"
else
  echo "FAIL: the demo's own outputs fail the checks:"; sed 's/^/  /' "$work/clean.log"; exit 1
fi

fresh; corrupt "$work/d/steer/steering.pcap" checksum 7
expect_fail steer-checksum "outer IPv4 checksum 0x[0-9a-f]+, want" "^FAIL: tshark finds bad checksums in steering.pcap"
fresh; corrupt "$work/d/gate/service-out.pcap" checksum 0
expect_fail gate-uplink-checksum "^FAIL: tshark finds bad checksums in .*/service-out.pcap"
fresh; corrupt "$work/d/gate/access-out.pcap" checksum 0
expect_fail gate-downlink-checksum "^FAIL: tshark finds bad checksums in .*/access-out.pcap"
fresh; sed -i '3d' "$work/d/gate/export.txt"
expect_fail export-missing "^FAIL: port [0-9]+: 0 export records, want 1"
fresh; corrupt "$work/d/steer/steering.pcap" empty
expect_fail steer-empty "^FAIL: steering.pcap has 0 frames"
fresh; corrupt "$work/d/gate/access-out.pcap" empty
expect_fail gate-downlink-empty "^FAIL: .*/access-out.pcap has 0 frames, want [1-9]"
fresh; corrupt "$work/d/gate/service-out.pcap" drop 0
expect_fail gate-uplink-frame-missing "^FAIL: .*/service-out.pcap has [0-9]+ frames, want"
fresh; corrupt "$work/d/steer/host.pcap" drop 0
expect_fail steer-punt-missing "^FAIL: host.pcap has 2 frames"
fresh; sed -i 's/"tx_frames": 500/"tx_frames": 499/' "$work/d/steer/stats.json"
expect_fail steer-counter "^FAIL: steer counters .*'tx_frames': 499"
exit $failed
