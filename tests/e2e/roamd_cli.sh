#!/usr/bin/env bash
# roamd as an operator meets it: --help, every kind of bad configuration named with its file
# and line, an unreachable store, an absent device and a device of the wrong kernel (reported,
# retried, the other appliances served), a device that comes back, /metrics scraped while
# appliances are up and down.
# usage: roamd_cli.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
roamd=$build/host/roamd
work=$(mktemp -d /tmp/roamd-cli.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect RC PATTERN -- roamd ARGS: exit status and a line of its output (stdout and stderr).
expect() {
  local want=$1 pattern=$2
  shift 3
  local rc=0
  timeout 60 "$roamd" "$@" > "$work/out.txt" 2>&1 || rc=$?
  [ "$rc" = "$want" ] || { cat "$work/out.txt"; fail "roamd $* exited $rc, not $want"; }
  grep -qE -- "$pattern" "$work/out.txt" || { cat "$work/out.txt"; fail "roamd $*: no '$pattern'"; }
}
base=(--store "sqlite:$work/s.db" --api "$work/r.sock" --metrics '')

expect 0 "^usage: roamd" -- --help
expect 0 "--set NAME.KEY=VALUE" -- --help
expect 0 "^roamd [0-9]+\.[0-9]+\.[0-9]+" -- --version
expect 2 "unknown option --colour" -- --colour red
expect 2 "option --store needs a value" -- --store
expect 2 "lease TTL '1' is not a whole number 2..3600" -- --lease-ttl 1
expect 2 "lost-gate policy 'drop' is not replace or keep" -- --lost-gate drop
expect 2 "history .5. is not a whole number 10..1000000000" -- --history 5
expect 2 "compact-every .-1. is not a whole number 0..86400" -- --compact-every -1
expect 2 "log level 'loud'" -- --log-level loud
expect 2 "--appliance 'steer-a' is not NAME=DEVICE" -- --appliance steer-a
expect 2 "appliance name 'Steer_A' is not a name" -- --appliance Steer_A=sim:/x
expect 2 "appliance steer-a ip '198.18.1' is not an IPv4 address" -- --appliance steer-a=sim:/x --set steer-a.ip=198.18.1
expect 2 "unknown appliance setting 'colour'" -- --set steer-a.colour=red
expect 2 "device sim:/x is named by two appliances" -- --appliance a=sim:/x --appliance b=sim:/x
expect 2 "appliance gate-a gateway_id '300' is not a whole number 0..255" -- --set gate-a.gateway_id=300 --appliance gate-a=sim:/x
expect 2 "appliance gate-a idle_ms '0' is not a whole number 1..86400000" -- --set gate-a.idle_ms=0 --appliance gate-a=sim:/x
expect 2 "appliance gate-a port_quota '70000' is not a whole number 0..64512" -- --set gate-a.port_quota=70000 --appliance gate-a=sim:/x
expect 2 "appliance gate-a port_hold '-1' is not a whole number 0..86400" -- --set gate-a.port_hold=-1 --appliance gate-a=sim:/x
expect 2 "appliance gate-a external_filtering 'strict' is not endpoint or address" -- --set gate-a.external_filtering=strict --appliance gate-a=sim:/x
expect 0 "external_filtering .endpoint, the default" -- --help
expect 0 "--accounting PATH" -- --help

printf 'store = "sqlite:/tmp/x"\nlease_ttl = \n' > "$work/broken.toml"
expect 2 "broken.toml:2" -- --config "$work/broken.toml"
printf 'store = "sqlite:%s/s.db"\ncolour = "red"\n' "$work" > "$work/unknown.toml"
expect 2 "unknown.toml:2: unknown option 'colour'" -- --config "$work/unknown.toml"
printf '[appliance.steer-a]\ndevice = "sim:/x"\nip = 7\n' > "$work/type.toml"
expect 2 "type.toml:3: appliance steer-a ip '7' is not an IPv4 address" -- --config "$work/type.toml"
printf '[appliance.steer-a]\ndevice = "sim:/x"\nspeed = "fast"\n' > "$work/key.toml"
expect 2 "key.toml:3: unknown appliance setting 'speed'" -- --config "$work/key.toml"
expect 2 "cannot read configuration $work/none.toml" -- --config "$work/none.toml"
expect 2 "store spec 'redis:x' is neither" -- --store redis:x
# A store that does not answer: a clear error and exit 3, soon.
expect 3 "127.0.0.1:1" -- --store etcd:127.0.0.1:1 --api "$work/r.sock" --metrics ''
expect 3 "cannot open store file /proc/roamgate/s.db" -- --store sqlite:/proc/roamgate/s.db --api "$work/r.sock" --metrics ''

echo "== an absent device and a wrong kernel are reported; the steer beside them is served"
"$roamsim" --kernel steer --socket "$work/steer.sock" 2> "$work/sim-steer.log" &
pids+=($!)
"$roamsim" --kernel steer --socket "$work/notgate.sock" 2> "$work/sim-notgate.log" &
pids+=($!)
for s in steer notgate; do for _ in $(seq 100); do [ -S "$work/$s.sock" ] && break; sleep 0.1; done; done
mport=$(/usr/bin/python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
"$roamd" --store "sqlite:$work/s.db" --api "$work/r.sock" --metrics "127.0.0.1:$mport" \
  --device-timeout 2 --appliance "steer-a=sim:$work/steer.sock" \
  --set steer-a.ip=198.18.1.10 --set steer-a.mac=02:00:00:00:01:0a \
  --appliance "steer-z=sim:$work/later.sock" --set steer-z.role=steer \
  --appliance "gate-x=sim:$work/notgate.sock" --set gate-x.role=gate \
  --appliance "ghost=sim:$work/ghost.sock" > "$work/roamd.log" 2>&1 &
rpid=$!
pids+=($rpid)
for _ in $(seq 100); do [ -S "$work/r.sock" ] && break; sleep 0.1; done
state() {  # appliance -> state
  "$roamctl" --api "$work/r.sock" --json appliance list |
    /usr/bin/python3 -c "import json,sys; print({a['name']:a['state'] for a in json.load(sys.stdin)}.get('$1','none'))"
}
for _ in $(seq 240); do [ "$(state steer-a)" = ok ] && break; sleep 0.25; done
[ "$(state steer-a)" = ok ] || fail "steer-a is $(state steer-a)"
[ "$(state steer-z)" = absent ] || fail "steer-z (no simulator) is $(state steer-z)"
[ "$(state gate-x)" = wrong-kernel ] || fail "gate-x (a steer kernel) is $(state gate-x)"
[ "$(state ghost)" = failed ] || fail "ghost (no role, no device) is $(state ghost)"
"$roamctl" --api "$work/r.sock" appliance list | grep -E "^gate-x" | grep -q "not a gate kernel" ||
  fail "gate-x's detail does not say why"
grep -q "set its role (--set ghost.role=steer|gate)" "$work/roamd.log" || fail "ghost: no hint in the log"
# /metrics: well formed, one sample per appliance (labels bounded), roamd alive after it.
scrape() {  # -> checks the text exposition; prints the samples as NAME{LABELS} VALUE
  /usr/bin/python3 - "$mport" <<'PY'
import re, sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
sample = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{([a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*)?\})? (\S+)$')
for line in text.splitlines():
    if not line or line.startswith("#"):
        continue
    m = sample.match(line)
    if not m:
        sys.exit(f"not a Prometheus sample: {line!r}")
    float(m.group(5))
    print(line)
PY
}
scrape > "$work/metrics1.txt" || fail "/metrics: $(tail -3 "$work/metrics1.txt")"
scrape > "$work/metrics2.txt" || fail "/metrics, second scrape"
kill -0 "$rpid" 2>/dev/null || fail "roamd died serving /metrics: $(tail -5 "$work/roamd.log")"
for want in 'roamgate_appliance_up{appliance="steer-a",role="steer"} 1' \
            'roamgate_appliance_up{appliance="gate-x",role="gate"} 0' \
            'roamgate_appliance_up{appliance="steer-z",role="steer"} 0' \
            'roamgate_punts_total{appliance="steer-a",verdict="arp_replied"} 0' \
            'roamgate_kernel_counter{appliance="steer-a",counter=' 'roamgate_store_revision '; do
  grep -qF -- "$want" "$work/metrics2.txt" || { cat "$work/metrics2.txt"; fail "/metrics has no '$want'"; }
done
# One sample for each appliance with a role (ghost has none: appliance list says why).
[ "$(grep -c '^roamgate_appliance_up{' "$work/metrics2.txt")" = 3 ] || fail "/metrics: not one up sample per appliance"
# Sessions still work with the others in trouble (no gate: placement says so).
rc=0; "$roamctl" --api "$work/r.sock" session create --imsi 1 --ue-ip 198.19.0.1 --peer 198.18.1.1 --dl-teid 1 2> "$work/err.txt" || rc=$?
[ $rc -eq 3 ] && grep -q "no live gate" "$work/err.txt" || fail "no live gate: rc $rc $(cat "$work/err.txt")"
# The absent device comes: roamd picks it up.
"$roamsim" --kernel steer --socket "$work/later.sock" 2> "$work/sim-later.log" &
pids+=($!)
for _ in $(seq 120); do [ "$(state steer-z)" = ok ] && break; sleep 0.25; done
[ "$(state steer-z)" = ok ] || fail "steer-z did not come up once its device appeared"
kill -TERM "$rpid"
rc=0; wait "$rpid" || rc=$?
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc"
echo PASS
