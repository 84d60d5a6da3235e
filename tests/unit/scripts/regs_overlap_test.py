#!/usr/bin/python3
"""scripts/regs_gen.py refuses a register map with two registers at one address: exit status 1
(a refusal, not a crash: no traceback), a message naming both registers and the address, and
no generated file. The same map with the clash moved away is accepted, so the refusal is about
the overlap and nothing else in the fixture."""
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "regs_gen.py"
FIXTURE = ROOT / "tests" / "fixtures" / "regs_overlap.toml"
CLASH = 'name = "Y", offset = 0x04'
fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails += 1


def gen(toml_text, out):
    src = out / "map.toml"
    src.write_text(toml_text)
    r = subprocess.run(["/usr/bin/python3", str(SCRIPT), str(src), "--cpp-dir", str(out)],
                       capture_output=True, text=True)
    return r, sorted(p.name for p in out.iterdir() if p.name != "map.toml")


def refused(name, toml_text, want):
    with tempfile.TemporaryDirectory() as d:
        r, made = gen(toml_text, pathlib.Path(d))
        print(f"-- {name}: exit {r.returncode}, stderr: {r.stderr.strip()}")
        check(r.returncode == 1, f"{name}: exit status 1 (a refusal), got {r.returncode}")
        check("Traceback" not in r.stderr, f"{name}: no Python traceback")
        check(want in r.stderr, f"{name}: stderr says {want!r}")
        check(made == [], f"{name}: nothing generated (got {made})")


text = FIXTURE.read_text()
if CLASH not in text:
    sys.exit(f"FAIL: {FIXTURE} no longer has {CLASH!r}; update this test with the fixture")
refused("two registers at 0x04", text, "a.Y at 0x0004 overlaps a.X")
# A register array running into the next register.
refused("an array over the next register",
        text.replace('name = "X", offset = 0x04,', 'name = "X", offset = 0x04, count = 2, stride = 4,')
            .replace(CLASH, 'name = "Y", offset = 0x08'),
        "a.Y at 0x0008 overlaps a.X")
with tempfile.TemporaryDirectory() as d:
    r, made = gen(text.replace(CLASH, 'name = "Y", offset = 0x08'), pathlib.Path(d))
    print(f"-- without the clash: exit {r.returncode}, stderr: {r.stderr.strip()}")
    check(r.returncode == 0, f"without the clash: accepted, got exit {r.returncode}")
    check(made == ["bad.h"], f"without the clash: bad.h generated (got {made})")

if fails:
    sys.exit(f"{fails} check(s) failed")
print("regs_gen refuses overlapping registers: all checks passed")
