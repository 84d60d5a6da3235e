# Helpers the roamd system tests share (sourced; the caller sets $roamctl and $work).
fail() { echo "FAIL: $*" >&2; exit 1; }
# Waits (up to $3 seconds) until the Python expression $4 holds over `appliance list --json`
# of the roamd serving API socket $1, as {name: appliance} in a; leaves the list in
# $work/apps.json, and on a timeout prints it and fails naming $2.
wait_apps_at() {  # api-socket what seconds expression
  local sock=$1 what=$2 secs=$3 expr=$4
  for _ in $(seq $((secs * 4))); do
    if "$roamctl" --api "$sock" --json appliance list > "$work/apps.json" 2>/dev/null &&
       /usr/bin/python3 -c "import json,sys; a={x['name']:x for x in json.load(open('$work/apps.json'))}; sys.exit(0 if ($expr) else 1)"; then
      return 0
    fi
    sleep 0.25
  done
  cat "$work/apps.json" >&2 || true
  fail "$what: not within $secs s"
}

# One roamd ($roamd_pid, logging to $work/roamd.log) and roamsims ($sim[NAME], their sockets
# $work/NAME.sock): `trap stop_all EXIT` stops them, shows the log's tail on a failure and
# removes $work.
declare -A sim
roamd_pid=""
stop_all() {
  local rc=$?
  [ -n "$roamd_pid" ] && kill "$roamd_pid" 2>/dev/null || true
  for p in "${sim[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- roamd log (tail) ---"; tail -40 "$work/roamd.log" 2>/dev/null || true
  fi
  rm -rf "$work"
}
start_sim() {  # name kernel [roamsim options...]
  local name=$1 kernel=$2
  shift 2
  "$roamsim" --kernel "$kernel" --socket "$work/$name.sock" "$@" 2> "$work/sim-$name.log" &
  sim[$name]=$!
  for _ in $(seq 100); do [ -S "$work/$name.sock" ] && return 0; sleep 0.1; done
  fail "roamsim $name did not start"
}
