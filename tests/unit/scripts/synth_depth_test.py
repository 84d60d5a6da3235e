#!/usr/bin/python3
"""scripts/synth_depth.py on small hand-made netlists (Yosys JSON) whose longest
register-to-register path is known: LUTs count, MUXF/CARRY do not, flip-flops, block RAM and
ports end paths, and the longest of several paths wins."""
import json
import pathlib
import subprocess
import sys
import tempfile

SCRIPT = pathlib.Path(__file__).resolve().parents[3] / "scripts" / "synth_depth.py"


def cell(typ, ins, outs):
    conns, dirs = {}, {}
    for i, (p, b) in enumerate(ins.items()):
        conns[p] = b
        dirs[p] = "input"
    for p, b in outs.items():
        conns[p] = b
        dirs[p] = "output"
    return {"type": typ, "port_directions": dirs, "connections": conns}


def netlist(cells, ports=None):
    return {"modules": {"top": {"ports": ports or {}, "cells": cells,
                                "netnames": {f"n{i}": {"bits": [i], "hide_name": 0} for i in range(2, 200)}}}}


def depth(nl):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(nl, f)
    r = subprocess.run([sys.executable, str(SCRIPT), f.name, "t"], capture_output=True, text=True, check=True)
    vals = dict(line.split() for line in r.stdout.splitlines())
    return int(vals["synth.t.depth_luts"]), int(vals["synth.t.depth_carry"])


def chain(types, start_bit=10):
    """FDRE q=start -> types... -> FDRE d; returns cells."""
    cells = {"ff_a": cell("FDRE", {"D": [2], "C": [3]}, {"Q": [start_bit]})}
    b = start_bit
    for i, t in enumerate(types):
        port = "CI" if t.startswith("CARRY") else "I0"
        out = "CO" if t.startswith("CARRY") else "O"
        cells[f"c{start_bit}_{i}"] = cell(t, {port: [b], "I1": [4]}, {out: [b + 1]})
        b += 1
    cells[f"ff_b{start_bit}"] = cell("FDRE", {"D": [b], "C": [3]}, {"Q": [5]})
    return cells


failures = []


def expect(name, got, want):
    if got != want:
        failures.append(f"{name}: got {got}, want {want}")


expect("three LUTs", depth(netlist(chain(["LUT2", "LUT6", "LUT3"]))), (3, 0))
expect("muxes and carries are free", depth(netlist(chain(["LUT6", "MUXF7", "MUXF8", "CARRY4", "CARRY4", "LUT2"]))), (2, 2))
two = chain(["LUT1"] * 2, start_bit=10)
two.update(chain(["LUT1"] * 7, start_bit=40))
expect("the longest of two paths", depth(netlist(two)), (7, 0))
# A block RAM in the middle splits a path in two.
split = chain(["LUT1", "LUT1", "LUT1"], start_bit=60)
split["c60_1"] = cell("RAMB36E2", {"ADDRARDADDR": [61]}, {"DOUTADOUT": [62]})
expect("block RAM ends a path", depth(netlist(split)), (1, 0))
# A top output port ends a path too.
out = chain(["LUT4", "LUT4"], start_bit=80)
del out["ff_b80"]
expect("ports end paths", depth(netlist(out, {"o": {"direction": "output", "bits": [82]}})), (2, 0))

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print("synth_depth_test: 5 netlists measured as expected")
