#!/usr/bin/python3
"""Checks hw/vitis against the RTL, without Vitis: for each kernel, the wrapper
hw/vitis/rtl/roamgate_<k>.sv (its ports as Verilator elaborates it, with hw/rtl's kernel top
inside) against <k>/kernel.xml (the interfaces v++ sees), package_xo.tcl and every
link/<board>_<k>.cfg (names of compute units, memory and stream ports). Also the rings
argument's offset against the register map, and that `make -C hw/vitis` says Vitis is missing
where it is.

usage: check_packaging.py [--root DIR] [--self-test]
  --self-test  also breaks a copy of each file on purpose and expects the check to fail
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET

KERNELS = {"steer": "steer_kernel", "gate": "gate_kernel"}
AXIL = {"awaddr": "input", "awvalid": "input", "awready": "output", "wdata": "input", "wstrb": "input",
        "wvalid": "input", "wready": "output", "bresp": "output", "bvalid": "output", "bready": "input",
        "araddr": "input", "arvalid": "input", "arready": "output", "rdata": "output", "rresp": "output",
        "rvalid": "output", "rready": "input"}
AXI = {"awaddr": "output", "awlen": "output", "awsize": "output", "awburst": "output", "awvalid": "output",
       "awready": "input", "wdata": "output", "wstrb": "output", "wlast": "output", "wvalid": "output",
       "wready": "input", "bresp": "input", "bvalid": "input", "bready": "output", "araddr": "output",
       "arlen": "output", "arsize": "output", "arburst": "output", "arvalid": "output", "arready": "input",
       "rdata": "input", "rresp": "input", "rlast": "input", "rvalid": "input", "rready": "output"}
AXIS_IN = {"tdata": "input", "tkeep": "input", "tlast": "input", "tvalid": "input", "tready": "output"}


def wrapper_ports(root: pathlib.Path, vitis: pathlib.Path, kernel: str) -> dict:
    """{name: (direction, width)} of roamgate_<kernel> as Verilator elaborates it."""
    top = f"roamgate_{kernel}"
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "top.xml"
        rtl = sorted(str(p) for p in (root / "hw/rtl").glob("*.sv"))
        cmd = ["verilator", "--xml-only", "--xml-output", str(out), f"-I{root / 'hw/rtl'}", "-Wall",
               "--top-module", top, *rtl, str(vitis / "rtl" / f"{top}.sv")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise CheckError(f"{top}: Verilator refuses the wrapper with the kernel inside:\n{r.stderr[-2000:]}")
        tree = ET.parse(out)
    widths = {}
    for d in tree.iter("basicdtype"):
        left, right = d.get("left"), d.get("right")
        widths[d.get("id")] = abs(int(left) - int(right)) + 1 if left is not None else 1
    mod = next((m for m in tree.iter("module") if m.get("name") == top), None)
    if mod is None:
        raise CheckError(f"{top}: no such module in {vitis / 'rtl'}")
    ports = {}
    for v in mod.findall("var"):
        if v.get("dir") in ("input", "output"):
            ports[v.get("name")] = (v.get("dir"), widths.get(v.get("dtype_id"), 0))
    # The kernel top is instantiated inside (Verilator has checked every named connection).
    inst = [c.get("submodname") for c in tree.iter("cell") if c.get("hier") == f"{top}.u_kernel"]
    if inst != [KERNELS[kernel]]:
        raise CheckError(f"{top}: u_kernel is {inst}, not {KERNELS[kernel]}")
    return ports


class CheckError(Exception):
    pass


def rings_offset(root: pathlib.Path, kernel: str) -> int:
    spec = tomllib.loads((root / "hw/regs" / f"{kernel}.toml").read_text())
    for inc in spec.get("include", []):
        sub = tomllib.loads((root / "hw/regs" / inc["file"]).read_text())
        for block in sub["block"]:
            for reg in block["regs"]:
                if reg["name"] == "PUNT_BASE_LO":
                    return inc["base"] + block["base"] + reg["offset"]
    raise CheckError(f"{kernel}: no PUNT_BASE_LO in the register map")


def check_kernel(root: pathlib.Path, vitis: pathlib.Path, kernel: str) -> list:
    top = f"roamgate_{kernel}"
    ports = wrapper_ports(root, vitis, kernel)
    problems = []
    xml_path = vitis / kernel / "kernel.xml"
    k = ET.parse(xml_path).getroot().find("kernel")
    if k is None or k.get("name") != top:
        return [f"{xml_path}: kernel name is not {top}"]
    if k.get("hwControlProtocol") != "ap_ctrl_none":
        problems.append(f"{xml_path}: the kernel is free running; hwControlProtocol must be ap_ctrl_none")
    for clk, d in (("ap_clk", "input"), ("ap_rst_n", "input")):
        if ports.get(clk, (None,))[0] != d:
            problems.append(f"{top}: no {d} {clk}")
    covered = {"ap_clk", "ap_rst_n"}
    xml_ports = {p.get("name"): p for p in k.iter("port")}

    def expect(prefix, signals, flip=False, width=None):
        for sig, d in signals.items():
            name = f"{prefix}_{sig}"
            covered.add(name)
            if flip:
                d = "output" if d == "input" else "input"
            got = ports.get(name)
            if got is None:
                problems.append(f"{top}: kernel.xml interface {prefix} needs port {name}")
            elif got[0] != d:
                problems.append(f"{top}: {name} is an {got[0]}, {prefix} needs an {d}")
            elif width and sig in width and got[1] != width[sig]:
                problems.append(f"{top}: {name} is {got[1]} bits, kernel.xml says {width[sig]}")

    for name, p in xml_ports.items():
        mode, ptype, dw = p.get("mode"), p.get("portType"), int(p.get("dataWidth"))
        if ptype == "addressable" and mode == "slave":
            if name != "s_axi_control":
                problems.append(f"{xml_path}: the control slave must be s_axi_control, not {name}")
            rng = int(p.get("range"), 16)
            expect(name, AXIL, width={"wdata": dw, "rdata": dw, "awaddr": rng.bit_length() - 1,
                                      "araddr": rng.bit_length() - 1})
            if rng != 0x10000:
                problems.append(f"{xml_path}: {name} range {rng:#x}, the kernel's window is 0x10000")
        elif ptype == "addressable" and mode == "master":
            expect(name, AXI, width={"wdata": dw, "rdata": dw, "wstrb": dw // 8, "awaddr": 64, "araddr": 64})
        elif ptype == "stream" and mode in ("read_only", "write_only"):
            expect(name, AXIS_IN, flip=(mode == "write_only"), width={"tdata": dw, "tkeep": dw // 8})
            covered.add(f"{name}_tuser")
            if f"{name}_tuser" not in ports:
                problems.append(f"{top}: stream {name} has no {name}_tuser (the MAC's error flag)")
        else:
            problems.append(f"{xml_path}: port {name}: unknown mode/portType {mode}/{ptype}")
    for name in sorted(set(ports) - covered):
        problems.append(f"{top}: port {name} belongs to no interface in kernel.xml")

    args = {a.get("name"): a for a in k.iter("arg")}
    rings = args.get("rings")
    if rings is None or rings.get("port") != "m_axi_rings" or rings.get("addressQualifier") != "1":
        problems.append(f"{xml_path}: needs the pointer argument rings on m_axi_rings")
    elif int(rings.get("offset"), 16) != rings_offset(root, kernel):
        problems.append(f"{xml_path}: rings offset {rings.get('offset')} is not PUNT_BASE_LO "
                        f"({rings_offset(root, kernel):#x})")
    for name, a in args.items():
        if a.get("port") not in xml_ports:
            problems.append(f"{xml_path}: argument {name} names no port {a.get('port')}")
    streams = [n for n, p in xml_ports.items() if p.get("portType") == "stream"]
    for s in streams:
        if not any(a.get("port") == s and a.get("addressQualifier") == "4" for a in args.values()):
            problems.append(f"{xml_path}: stream {s} has no stream argument")

    # package_xo.tcl: the names it sets up by hand, and the rings register offset.
    tcl = (vitis / "package_xo.tcl").read_text()
    for word in ("ap_clk", "ap_rst_n", "s_axi_control", "m_axi_rings"):
        if not re.search(rf"\b{word}\b", tcl):
            problems.append(f"package_xo.tcl: does not set up {word}")
    m = re.search(r"address_offset (0x[0-9a-fA-F]+)", tcl)
    if not m or int(m.group(1), 16) != rings_offset(root, kernel):
        problems.append(f"package_xo.tcl: the rings register offset is not {rings_offset(root, kernel):#x}")
    # Its stream pattern must find exactly the kernel XML's streams.
    tcl_pat = re.search(r"regexp -all -inline \{(.*?)\} \$xml", tcl)
    if not tcl_pat:
        problems.append("package_xo.tcl: cannot find how it reads the stream ports")
    else:
        found = re.findall(tcl_pat.group(1), (vitis / kernel / "kernel.xml").read_text())
        if sorted(found) != sorted(streams):
            problems.append(f"package_xo.tcl: its stream pattern finds {found}, kernel.xml has {streams}")

    # Link configurations.
    cfgs = sorted((vitis / "link").glob(f"*_{kernel}.cfg"))
    if {c.name.split("_")[0] for c in cfgs} != {"u55c", "u280"}:
        problems.append(f"link/: need u55c_{kernel}.cfg and u280_{kernel}.cfg, have {[c.name for c in cfgs]}")
    for cfg in cfgs:
        text = cfg.read_text()
        nk = re.findall(rf"^nk={top}:(\d+):(\S+)$", text, re.M)
        if len(nk) != 1 or nk[0][0] != "1":
            problems.append(f"{cfg.name}: needs exactly nk={top}:1:<cu>")
            continue
        cu = nk[0][1]
        sp = re.findall(rf"^sp={re.escape(cu)}\.(\w+):(\S+)$", text, re.M)
        if [s[0] for s in sp] != ["m_axi_rings"]:
            problems.append(f"{cfg.name}: needs sp={cu}.m_axi_rings:<bank>, has {sp}")
        used = set()
        for src, dst in re.findall(r"^stream_connect=(\S+):(\S+)$", text, re.M):
            for end, want in ((src, "write_only"), (dst, "read_only")):
                inst, _, port = end.partition(".")
                if inst != cu:
                    continue
                used.add(port)
                if port not in xml_ports or xml_ports[port].get("mode") != want:
                    problems.append(f"{cfg.name}: {end} is not a {want} stream of {top}")
        if used != set(streams):
            problems.append(f"{cfg.name}: streams {sorted(set(streams) - used)} are not connected")
        for ref in re.findall(rf"^freqHz=\d+:{re.escape(cu)}\.(\w+)$", text, re.M):
            if ref not in ports:
                problems.append(f"{cfg.name}: clock {ref} is not a port of {top}")
        if not re.search(rf"^freqHz=322265625:{re.escape(cu)}\.ap_clk$", text, re.M):
            problems.append(f"{cfg.name}: {cu}.ap_clk must run at the MAC's 322265625 Hz")
    return problems


def check_make_without_vitis(vitis: pathlib.Path) -> list:
    env = dict(os.environ, PATH="/usr/bin:/bin")
    r = subprocess.run(["make", "-C", str(vitis)], capture_output=True, text=True, env=env)
    if shutil.which("v++", path=env["PATH"]):
        return []
    if r.returncode == 0 or "Vitis is not installed" not in r.stderr:
        return [f"make -C hw/vitis without Vitis: exit {r.returncode}, said: {r.stderr.strip()[:300]}"]
    return []


def run(root: pathlib.Path, vitis: pathlib.Path) -> list:
    problems = []
    for kernel in KERNELS:
        try:
            problems += check_kernel(root, vitis, kernel)
        except CheckError as e:
            problems.append(str(e))
    return problems


def self_test(root: pathlib.Path) -> list:
    """Each breakage must be caught."""
    breakages = [
        ("steer/kernel.xml", 'name="m_axis_tx" mode="write_only"', 'name="m_axis_out" mode="write_only"'),
        ("gate/kernel.xml", 'offset="0x510"', 'offset="0x500"'),
        ("gate/kernel.xml", 'name="s_axis_svc_rx" mode="read_only"', 'name="s_axis_svc_rx" mode="write_only"'),
        ("rtl/roamgate_gate.sv", "m_axis_svc_tx_tkeep,", "m_axis_svc_tx_tstrb,"),
        ("rtl/roamgate_steer.sv", ".s_axil_wstrb(s_axi_control_wstrb),", ""),
        ("link/u280_gate.cfg", ":roamgate_gate_1.s_axis_svc_rx", ":roamgate_gate_1.s_axis_svc_in"),
        ("link/u55c_steer.cfg", "sp=roamgate_steer_1.m_axi_rings", "sp=roamgate_steer_1.m_axi_gmem"),
        ("link/u280_steer.cfg", "stream_connect=roamgate_steer_1.m_axis_acc_tx:cmac_0.S_AXIS", ""),
        ("steer/kernel.xml", '<port name="m_axis_acc_tx" mode="write_only" dataWidth="512" portType="stream"/>', ""),
        ("package_xo.tcl", "address_offset 0x510", "address_offset 0x520"),
    ]
    failures = []
    for rel, old, new in breakages:
        with tempfile.TemporaryDirectory() as tmp:
            copy = pathlib.Path(tmp) / "vitis"
            shutil.copytree(root / "hw/vitis", copy, ignore=shutil.ignore_patterns("build"))
            f = copy / rel
            text = f.read_text()
            if old not in text:
                failures.append(f"self-test: '{old}' is not in {rel} any more; update the self-test")
                continue
            f.write_text(text.replace(old, new, 1))
            if not run(root, copy):
                failures.append(f"self-test: changing '{old}' to '{new}' in {rel} went unnoticed")
    return failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[3])
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    root = a.root.resolve()
    problems = run(root, root / "hw/vitis") + check_make_without_vitis(root / "hw/vitis")
    if a.self_test:
        problems += self_test(root)
    for p in problems:
        print(f"check_packaging: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_packaging: {', '.join('roamgate_' + k for k in KERNELS)}: wrapper ports, kernel.xml, "
          f"package_xo.tcl and link configurations agree" + (" (self-test: every breakage caught)" if a.self_test else ""))


if __name__ == "__main__":
    main()
