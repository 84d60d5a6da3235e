#!/usr/bin/env bash
# roamctl --device xrt:... on a machine without an Alveo card, as an operator meets it: the
# help names the options, every failure is fast, says what is wrong and has its own exit status
# (2 command line, 3 no device, 4 wrong image). The xclbins are fixtures written from
# hw/vitis's kernel XML (tests/fixtures/make_xclbin.py), read by XRT's own parser.
# On a machine with a card (a PCI function bound to xocl), everything that never reaches a card
# (help, command line, image checks, the missing runtime) still runs and fails when broken; only
# the "no Alveo card" checks are skipped, and then the script exits 77 (ctest: skipped).
# usage: roamctl_xrt.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/roamctl-xrt.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/cli_expect.sh"
kSkip=77
# ROAMGATE_XOCL_SYSFS: another driver folder, to try this script's skip path without a card.
card=
for f in "${ROAMGATE_XOCL_SYSFS:-/sys/bus/pci/drivers/xocl}"/[0-9a-f]*:*; do
  [ -e "$f" ] && card=${f##*/} && break
done

read -r _ steer_crc < <(/usr/bin/python3 "$root/scripts/regs_gen.py" "$root/hw/regs/steer.toml" --regmap-crc)
read -r _ gate_crc < <(/usr/bin/python3 "$root/scripts/regs_gen.py" "$root/hw/regs/gate.toml" --regmap-crc)
mk() {  # mk NAME KERNEL OPTIONS...
  local name=$1 kernel=$2
  shift 2
  /usr/bin/python3 "$root/tests/fixtures/make_xclbin.py" --kernel-xml "$root/hw/vitis/$kernel/kernel.xml" \
    "$@" -o "$work/$name.xclbin" || { echo "FAIL: fixture $name"; exit 1; }
}
mk steer steer --regmap "$steer_crc"
mk gate gate --regmap "$gate_crc"
mk steer-old steer --regmap 0x0badc0de
mk gate-nokv gate --no-keyvalue
mk vadd steer --rename vadd --regmap 0x1
mk steer-hs steer --ctrl hs --regmap "$steer_crc"
mk gate-cut gate --regmap "$gate_crc" --truncate 700

# A runtime root like Xilinx's /opt/xilinx/xrt, from Debian's XRT: complete, with no card.
mkdir -p "$work/xrt" && ln -s /usr/lib/x86_64-linux-gnu "$work/xrt/lib"

expect 0 "--xclbin PATH" -- --help
expect 0 "xrt:INDEX or xrt:BDF" -- --help
expect 0 "4 the xclbin or the loaded kernel" -- --help
# The command line.
expect 2 "needs --xclbin" -- --device xrt:0 info
expect 2 "bad xrt device 'zero'" -- --device xrt:zero --xclbin "$work/steer.xclbin" info
expect 2 "bad xrt device" -- --device xrt:3b:00 --xclbin "$work/steer.xclbin" info
expect 2 "--xclbin needs a value" -- --device xrt:0 --xclbin
expect 2 "for xrt devices" -- --device sim:/nonexistent.sock --xclbin "$work/steer.xclbin" info
# The image, checked before anything touches a card.
expect 4 "cannot read xclbin" -- --device xrt:0 --xclbin "$work/missing.xclbin" info
expect 4 "not an xclbin" -- --device xrt:0 --xclbin /etc/hostname info
expect 4 "damaged" -- --device xrt:0 --xclbin "$work/gate-cut.xclbin" info
expect 4 "register map 0x0badc0de, this program was built for $steer_crc" -- --device xrt:0 --xclbin "$work/steer-old.xclbin" info
expect 4 "does not record its register map" -- --device xrt:0 --xclbin "$work/gate-nokv.xclbin" stats
expect 4 "no Roamgate kernel.*vadd" -- --device xrt:0 --xclbin "$work/vadd.xclbin" info
expect 4 "ap_ctrl_none" -- --device xrt:0 --xclbin "$work/steer-hs.xclbin" info
# The runtime, found missing before any card is looked for.
XILINX_XRT=$work/empty expect 3 "no XRT runtime" -- --device xrt:0 --xclbin "$work/steer.xclbin" info
export XILINX_XRT=$work/xrt
ROAMGATE_DEVICE=xrt:0 ROAMGATE_XCLBIN=$work/steer-old.xclbin expect 4 "register map" -- info
# The card: only where there is none (with one, these would load the fixtures onto it).
if [ -z "$card" ]; then
  expect 3 "no Alveo card" -- --device xrt:0 --xclbin "$work/steer.xclbin" info
  expect 3 "no Alveo card" -- --device xrt:0000:3b:00.1 --xclbin "$work/gate.xclbin" stats
  ROAMGATE_DEVICE=xrt:1 ROAMGATE_XCLBIN=$work/gate.xclbin expect 3 "no Alveo card" -- info
  # Fast: the whole no-card path, image checks included, well under a second.
  start=$(date +%s%N)
  "$build/host/roamctl" --device xrt:0 --xclbin "$work/gate.xclbin" info > /dev/null 2>&1
  took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "no-card path took ${took_ms} ms"
fi

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
if [ -n "$card" ]; then
  echo "SKIP: the \"no Alveo card\" checks: $card is bound to xocl here (every other check passed)"
  exit "$kSkip"
fi
echo "roamctl xrt: all checks passed"
