#!/usr/bin/env bash
# System test: roamsim's register socket with more than one party on it. A second roamsim on
# a socket a live one serves is refused and the first still answers; SIGTERM and SIGINT end
# roamsim and remove its socket file; a stale socket file (its roamsim killed -9) is replaced.
# Several clients are served: an idle connection and a client sending batch after batch do
# not keep `roamctl info` from being answered. A socket whose server never answers (a
# listener that accepts and says nothing, or answers once and then goes silent) makes roamctl
# say so after --timeout and exit 3. --idle-cycles refuses 0 and runs at its largest value.
# usage: roamsim_socket.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
roamsim=$build/sim/roamsim
roamctl=$build/host/roamctl
work=$(mktemp -d /tmp/roamsim-sock.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  { wait; } 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
source "$src/tests/e2e/cli_expect.sh"
check() {  # check WHAT COMMAND...: counts a failure when COMMAND fails
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

# Clients and servers of the socket protocol (little-endian: magic, count, count x {op, addr,
# value}; reply: magic, status, nvalues, values). Each writes a line to READY once it is set.
cat > "$work/peer.py" <<'PY'
import os, socket, struct, sys, threading
MAGIC = 0x4B534752
mode, path, ready = sys.argv[1:4]
said = False
def say(line):
    global said
    said = True
    with open(ready, "w") as f:
        f.write(line + "\n")
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        k = s.recv(n - len(b))
        if not k:
            raise EOFError
        b += k
    return b
def main():
    if mode == "hold":  # connects and stays idle
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        say("connected")
        threading.Event().wait()
    elif mode == "batches":  # batch after batch of 8192 reads of the kernel id, until STOP exists
        stop = sys.argv[4]
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(60)  # a server that never answers fails this client instead of hanging it
        s.connect(path)
        n, first, batches = 8192, None, 0
        req = struct.pack("<II", MAGIC, n) + struct.pack("<BII", 0, 0, 0) * n
        while not os.path.exists(stop):
            s.sendall(req)
            magic, status, count = struct.unpack("<III", recv_exact(s, 12))
            vals = struct.unpack("<%dI" % count, recv_exact(s, 4 * count))
            assert (magic, status, count) == (MAGIC, 0, n), (magic, status, count)
            first = vals[0] if first is None else first
            assert set(vals) == {first}, "reads of one register differ"
            batches += 1
            if batches == 1:
                say("started")
        print("batch client: %d batches of %d reads, kernel id 0x%08x" % (batches, n, first))
    elif mode in ("mute", "once"):  # accepts and never answers; or answers one request first
        l = socket.socket(socket.AF_UNIX)
        l.bind(path)
        l.listen(8)
        say("listening")
        conns = []
        while True:
            c, _ = l.accept()
            conns.append(c)
            if mode == "once":
                magic, count = struct.unpack("<II", recv_exact(c, 8))
                ops = [struct.unpack("<BII", recv_exact(c, 9)) for _ in range(count)]
                nvals = sum(1 for op, _, _ in ops if op in (0x00, 0x10))
                c.sendall(struct.pack("<III", MAGIC, 0, nvals) + b"\0\0\0\0" * nvals)
try:
    main()
except BaseException as e:
    if not said:
        say("error: %r" % e)  # the test waits for a line
    raise
PY
peer() {  # peer MODE SOCKET [ARGS]: starts peer.py, returns once it is ready; sets $peer_pid
  local fifo=$work/ready.$RANDOM
  mkfifo "$fifo"
  /usr/bin/python3 "$work/peer.py" "$1" "$2" "$fifo" "${@:3}" > "$work/peer-$1.out" 2>&1 &
  peer_pid=$!
  pids+=($peer_pid)
  local line
  read -r line < "$fifo" || true
  echo "peer $1: ${line:-no ready line}"
}

# roamsim with its SIGINT at the default (bash would have background jobs ignore it), as if
# started in a terminal; sets $sim_pid.
sim() {
  local sock=$1 log=$2
  shift 2
  /usr/bin/python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
    "$roamsim" --socket "$sock" "$@" 2> "$log" &
  sim_pid=$!
  pids+=($sim_pid)
}
answers() { "$roamctl" --device "sim:$1" --timeout 30 info > /dev/null 2>&1; }
# Until the roamsim $2 answers on socket $1 (it may take a while to elaborate the kernel).
wait_serving() {
  for _ in $(seq 600); do
    kill -0 "$2" 2>/dev/null || { echo "FAIL: roamsim on $1 exited:"; cat "$3"; exit 1; }
    "$roamctl" --device "sim:$1" info > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "FAIL: roamsim on $1 never answered"
  exit 1
}
gone() { [ ! -e "$1" ]; }

echo "== a second roamsim on a live socket is refused; the first keeps its socket"
sim "$work/a.sock" "$work/a.log"
a=$sim_pid
wait_serving "$work/a.sock" "$a" "$work/a.log"
# If it took the socket over, --max-cycles ends it rather than the test hanging.
"$roamsim" --socket "$work/a.sock" --max-cycles 200000 2> "$work/second.log"
rc=$?
echo "second roamsim: exit $rc: $(grep -v 'kernel at' "$work/second.log" | tail -1)"
check "the second roamsim exits non-zero" [ "$rc" -ne 0 ]
check "it says the socket is served" grep -q "serves $work/a.sock" "$work/second.log"
check "the first roamsim still answers roamctl info" answers "$work/a.sock"

echo "== SIGTERM and SIGINT end roamsim and remove its socket file"
kill -TERM "$a"
wait "$a"
echo "roamsim after SIGTERM: exit $?, $(tail -2 "$work/a.log" | head -1)"
check "the socket file is gone after SIGTERM" gone "$work/a.sock"
check "roamsim says it ended on SIGTERM" grep -q "SIGTERM, ending the simulation" "$work/a.log"
sim "$work/b.sock" "$work/b.log"
b=$sim_pid
wait_serving "$work/b.sock" "$b" "$work/b.log"
kill -INT "$b"
wait "$b"
echo "roamsim after SIGINT: exit $?"
check "the socket file is gone after SIGINT" gone "$work/b.sock"
check "roamsim says it ended on SIGINT" grep -q "SIGINT, ending the simulation" "$work/b.log"

echo "== a stale socket file is replaced"
sim "$work/c.sock" "$work/c1.log"
c=$sim_pid
wait_serving "$work/c.sock" "$c" "$work/c1.log"
kill -9 "$c"
{ wait "$c"; } 2>/dev/null
check "the killed roamsim left its socket file" [ -S "$work/c.sock" ]
expect 3 "cannot connect to simulator at $work/c.sock" -- --device "sim:$work/c.sock" info
sim "$work/c.sock" "$work/c2.log"
c=$sim_pid
wait_serving "$work/c.sock" "$c" "$work/c2.log"
check "a new roamsim serves the stale socket's path" answers "$work/c.sock"

echo "== several clients are served"
peer hold "$work/c.sock"
holder=$peer_pid
check "roamctl info is answered while another client holds a connection idle" answers "$work/c.sock"
peer batches "$work/c.sock" "$work/stop"
batcher=$peer_pid
check "roamctl info is answered while a third client sends batch after batch" answers "$work/c.sock"
check "roamctl stats too" "$roamctl" --device "sim:$work/c.sock" --timeout 30 stats > /dev/null
touch "$work/stop"
wait "$batcher"
check "the batch client got every reply right" [ $? -eq 0 ]
cat "$work/peer-batches.out"
kill "$holder"
"$roamsim" ctl "$work/c.sock" stop
wait "$c"
check "the socket file is gone after roamsim ctl stop" gone "$work/c.sock"

echo "== a server that never answers: roamctl gives up after --timeout, exit 3"
peer mute "$work/mute.sock"
t0=$EPOCHREALTIME
expect 3 "simulator at $work/mute.sock did not answer within 1 s" -- --device "sim:$work/mute.sock" --timeout 1 info
awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "(roamctl gave up after %.2f s)\n", b - a }'
ROAMGATE_TIMEOUT=0.5 expect 3 "did not answer within 0.5 s" -- --device "sim:$work/mute.sock" info
expect 2 "--timeout 'soon': expected seconds" -- --device "sim:$work/mute.sock" --timeout soon info
ROAMGATE_TIMEOUT=-1 expect 2 "timeout .*'-1': expected seconds" -- --device "sim:$work/mute.sock" info
echo "== a server that answers once, then never again: the operation after open times out"
peer once "$work/once.sock"
expect 3 "simulator at $work/once.sock did not answer within 1 s" -- --device "sim:$work/once.sock" --timeout 1 info

echo "== --idle-cycles: cycles per idle wait, 1..4096"
"$roamsim" --idle-cycles 0 > /dev/null 2> "$work/idle.err"
check "--idle-cycles 0 refused with exit 2" [ $? = 2 ]
check "... naming the value and the range" grep -q "idle-cycles 0: must be 1..4096" "$work/idle.err"
"$roamsim" --socket "$work/idle.sock" --idle-cycles 4096 --max-cycles 40000 --json \
  > "$work/idle.json" 2> /dev/null
check "an idle roamsim at 4096 cycles a wait runs to --max-cycles" \
  /usr/bin/python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["cycles"] < 40000)' "$work/idle.json"

[ "$fails" -eq 0 ] || { echo "FAIL: $fails checks failed"; exit 1; }
echo "PASS"
