#!/usr/bin/python3
"""Logic depth of a synthesized kernel: the most LUTs on any register-to-register path of the
flattened Yosys netlist (write_json after synth_xilinx), a proxy for whether a clock is in
reach (at 322 MHz an UltraScale+ -2 part has about 3.1 ns: a LUT and its route cost roughly
0.4-0.5 ns, so about six levels fit).

Path ends: flip-flops, block RAM and URAM, DSP slices, SRLs and top ports. LUT1-6 and INV
count one level each; the slice's MUXF7/F8/F9 and CARRY8 count none (they are the fast
dedicated paths that extend a LUT), but the carry cells (CARRY4/CARRY8, four or eight bits
each) on the worst path are reported too.
LUT RAMs count one level from any input (their read is asynchronous).

Prints `synth.<kernel>.depth_luts N` and `synth.<kernel>.depth_carry N` on stdout and the
worst paths, with their start and end nets, on stderr.

usage: synth_depth.py NETLIST.json KERNEL [--paths N]
"""
import argparse
import json
import re
import sys
from collections import defaultdict

LUT = re.compile(r"LUT[1-6]$")
FREE = {"MUXF7", "MUXF8", "MUXF9", "CARRY8", "CARRY4", "BUF", "IBUF", "OBUF", "BUFG"}
SEQ = re.compile(r"(FD[CPRS]E?|FD[CPRS]E_1|RAMB(18|36)E2|URAM288(_BASE)?|DSP48E2|SRL16E|SRLC16E|SRLC32E|LDCE|LDPE)$")
LUTRAM = re.compile(r"RAM(16|32|64|128|256)(X1[SD]|M|M16|X8S|X2S|X4S)?(_1)?$")


def weight(t: str):
    """(levels, carry cells) a combinational cell adds, or None when it ends a path."""
    if LUT.match(t) or t == "INV":
        return (1, 0)
    if t.startswith("CARRY"):
        return (0, 1)
    if t in FREE:
        return (0, 0)
    if LUTRAM.match(t):
        return (1, 0)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("netlist")
    ap.add_argument("kernel")
    ap.add_argument("--paths", type=int, default=5, help="worst paths to describe on stderr")
    a = ap.parse_args()

    with open(a.netlist) as f:
        design = json.load(f)
    mods = design["modules"]
    # The top is the module no other module instantiates (synth_xilinx flattens to one).
    used = {c["type"] for m in mods.values() for c in m.get("cells", {}).values()}
    tops = [n for n, m in mods.items() if n not in used and m.get("cells") and not m.get("attributes", {}).get("blackbox")]
    top = max(tops, key=lambda n: len(mods[n]["cells"]))
    m = mods[top]

    names = {}
    for nn, net in m.get("netnames", {}).items():
        hidden = net.get("hide_name", 0)
        for i, b in enumerate(net["bits"]):
            if isinstance(b, str):
                continue
            label = nn if len(net["bits"]) == 1 else f"{nn}[{i}]"
            if b not in names or (names[b][0] and not hidden):
                names[b] = (hidden, label)

    driver = {}      # bit -> comb cell name, or None for a path start
    comb = {}        # cell -> (levels, carries, [input bits])
    ends = []        # (cell or port, bit) where a path ends
    unknown = defaultdict(int)
    for cname, c in m["cells"].items():
        t = c["type"]
        dirs = c.get("port_directions", {})
        w = weight(t)
        if w is None and not SEQ.match(t):
            unknown[t] += 1
        ins = []
        for port, bits in c["connections"].items():
            d = dirs.get(port, "input")
            for b in bits:
                if isinstance(b, str):
                    continue
                if d == "output":
                    driver[b] = cname if w is not None else None
                else:
                    ins.append(b)
                    if w is None:
                        ends.append((cname, b))
        if w is not None:
            comb[cname] = (w[0], w[1], ins)
    for pname, p in m.get("ports", {}).items():
        if p["direction"] == "output":
            for b in p["bits"]:
                if not isinstance(b, str):
                    ends.append((f"port {pname}", b))
    if unknown:
        print("synth_depth: cells treated as path ends: " + ", ".join(f"{t} x{n}" for t, n in sorted(unknown.items())), file=sys.stderr)

    # Longest arrival per combinational cell, iteratively (netlists are deep).
    arrival = {}  # cell -> (levels, carries, predecessor cell or None)
    for start in comb:
        if start in arrival:
            continue
        stack = [(start, False)]
        onstack = set()
        while stack:
            cell, done = stack.pop()
            if done:
                onstack.discard(cell)
                lv, cy, ins = comb[cell]
                best = (0, 0, None)
                for b in ins:
                    d = driver.get(b)
                    if d is not None and d in arrival and arrival[d][:2] > best[:2]:
                        best = (arrival[d][0], arrival[d][1], d)
                arrival[cell] = (best[0] + lv, best[1] + cy, best[2])
                continue
            if cell in arrival or cell in onstack:
                continue
            onstack.add(cell)
            stack.append((cell, True))
            for b in comb[cell][2]:
                d = driver.get(b)
                if d is not None and d not in arrival and d not in onstack:
                    stack.append((d, False))

    worst = []
    for end, b in ends:
        d = driver.get(b)
        if d is None:
            continue
        lv, cy, _ = arrival[d]
        worst.append((lv, cy, end, b, d))
    worst.sort(key=lambda w: (w[0], w[1]), reverse=True)

    def net(b):
        return names.get(b, (1, f"bit {b}"))[1]

    def describe(w):
        lv, cy, end, b, d = w
        chain = []
        c = d
        while c is not None:
            chain.append(c)
            c = arrival[c][2]
        first = chain[-1]
        # The start: the first combinational cell's input driven by a path start.
        start = next((net(x) for x in comb[first][2] if driver.get(x) is None), "?")
        types = defaultdict(int)
        for c in chain:
            types[m["cells"][c]["type"]] += 1
        return (f"  {lv} LUTs, {cy} carry: from {start} to {net(b)}"
                f" ({', '.join(f'{t} x{n}' for t, n in sorted(types.items()))})")

    depth = worst[0][0] if worst else 0
    carry = worst[0][1] if worst else 0
    print(f"synth_depth: {a.kernel} ({top}): {len(comb)} combinational cells, {len(ends)} path ends; worst paths:", file=sys.stderr)
    seen = set()
    shown = 0
    for w in worst:
        key = net(w[3]).split("[")[0]
        if key in seen:
            continue
        seen.add(key)
        print(describe(w), file=sys.stderr)
        shown += 1
        if shown >= a.paths:
            break
    print(f"synth.{a.kernel}.depth_luts {depth}")
    print(f"synth.{a.kernel}.depth_carry {carry}")


if __name__ == "__main__":
    main()
