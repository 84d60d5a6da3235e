#!/usr/bin/env bash
# The commands scripts/demo printed run as printed: its transcript (DEMO_OUT/commands.sh, the
# lines it showed after `$ `) is pasted into a fresh interactive bash at the repository root,
# with DEMO_OUT replaced by a new folder, and must run without an error to the demo's own
# final check (check_demo_outputs.py) passing on the new folder.
# usage: demo_replay.sh DEMO_OUT   (the e2e.demo test's DEMO_DIR)
set -euo pipefail
out=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/demo-replay.XXXXXX)
cleanup() {
  # A replay stopped half-way leaves its roamsim running: stop it by the PID it wrote.
  for p in $(cat "$work/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  # ... and the namespace it made, by the name the transcript gave it.
  for n in $(sed -n 's/^ip netns add \([^ ;]*\).*/\1/p' "$out/commands.sh" 2>/dev/null); do
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
[ -s "$out/commands.sh" ] || { echo "FAIL: $out/commands.sh is missing or empty"; exit 1; }
grep -q '^/usr/bin/python3 tests/system/check_demo_outputs.py ' "$out/commands.sh" ||
  { echo "FAIL: the demo's transcript does not end with its check"; exit 1; }
# Every background job's PID is noted, so the trap can stop it; the rest is the transcript.
{
  echo "set -e"
  sed "s|$out|$work/demo|g; s|&\$|\& echo \$! >> $work/pids|" "$out/commands.sh"
} > "$work/paste.sh"
cd "$src"
rc=0
env -u ROAMGATE_DEVICE -u ROAMGATE_XCLBIN bash --norc --noprofile -i < "$work/paste.sh" > "$work/paste.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || ! grep -q '^demo: every check passed' "$work/paste.log"; then
  echo "FAIL: the demo's printed commands, pasted, exit $rc; the last of the transcript:"
  tail -30 "$work/paste.log" | sed 's/^/  /'
  exit 1
fi
echo "PASS: $(wc -l < "$out/commands.sh") printed commands ran as printed; the replay's outputs pass the demo's checks"
