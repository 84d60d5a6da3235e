#!/usr/bin/python3
"""Generates the register map of a kernel from hw/regs/<kernel>.toml.

Outputs a SystemVerilog package, a C++ header and a Markdown page, so that nothing is copied
by hand between RTL, host and documentation.

usage: regs_gen.py TOML... --sv-dir D --cpp-dir D --md FILE
"""
import argparse
import pathlib
import re
import sys
import tomllib
import zlib


def upper_camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.lower().split("_"))


def load(path: pathlib.Path) -> dict:
    """A kernel ([kernel]) or a shared component ([component]) with its includes merged.

    `[[include]] file = F, base = B` adds the blocks, fields and layouts of component F with
    its block offsets moved by B; the register map CRC covers the included sources too."""
    raw = path.read_bytes()
    spec = tomllib.loads(raw.decode())
    if ("kernel" in spec) == ("component" in spec):
        sys.exit(f"{path}: needs exactly one of [kernel] and [component]")
    crc = zlib.crc32(raw)
    for inc in spec.get("include", []):
        sub_path = path.parent / inc["file"]
        sub_raw = sub_path.read_bytes()
        sub = tomllib.loads(sub_raw.decode())
        if "component" not in sub:
            sys.exit(f"{path}: include {inc['file']} is not a [component]")
        crc = zlib.crc32(sub_raw, crc)
        for block in sub["block"]:
            spec.setdefault("block", []).append(dict(block, base=block["base"] + inc["base"]))
        spec.setdefault("field", []).extend(sub.get("field", []))
        spec.setdefault("layout", []).extend(sub.get("layout", []))
        spec.setdefault("enum", []).extend(sub.get("enum", []))
    spec["regmap_crc"] = crc & 0xFFFFFFFF
    regs = {f"{b['name']}.{r['name']}": r for b in spec["block"] for r in b["regs"]}
    for f in spec.get("field", []):
        if f["reg"] not in regs:
            sys.exit(f"{path}: field {f['name']} names no register {f['reg']}")
        if f["lsb"] + f["width"] > 32:
            sys.exit(f"{path}: field {f['reg']}.{f['name']} does not fit 32 bits")
        regs[f["reg"]].setdefault("fields", []).append(f)
    for reg in regs.values():
        used = 0
        for f in reg.get("fields", []):
            bits = ((1 << f["width"]) - 1) << f["lsb"]
            if used & bits:
                sys.exit(f"{path}: field {f['name']} overlaps another field of {reg['name']}")
            used |= bits
    for lay in spec.get("layout", []):
        for f in lay["field"]:
            if f["bit"] + f["width"] > 8 * lay["bytes"]:
                sys.exit(f"{path}: layout {lay['name']}.{f['name']} is past its {lay['bytes']} bytes")
    check(spec, path)
    return spec


def check(spec: dict, path: pathlib.Path) -> None:
    """Refuses overlapping registers and offsets outside the 64 KiB window."""
    seen = {}
    for block in spec["block"]:
        for reg in block["regs"]:
            count = reg.get("count", 1)
            stride = reg.get("stride", 4)
            if reg["access"] not in ("ro", "rw", "wo"):
                sys.exit(f"{path}: {block['name']}.{reg['name']}: bad access {reg['access']}")
            for i in range(count):
                addr = block["base"] + reg["offset"] + i * stride
                if addr % 4 or addr >= 0x10000:
                    sys.exit(f"{path}: {block['name']}.{reg['name']}: bad offset {addr:#x}")
                if addr in seen:
                    sys.exit(f"{path}: {block['name']}.{reg['name']} at {addr:#06x} overlaps "
                             f"{seen[addr]}: every register needs an address of its own")
                seen[addr] = f"{block['name']}.{reg['name']}"
    for enum in spec.get("enum", []):
        names = [v[0] for v in enum["values"]]
        if len(set(names)) != len(names):
            sys.exit(f"{path}: enum {enum['name']} repeats a name")


def unit(spec: dict) -> dict:
    """The [kernel] or [component] table: name, and id/version for kernels."""
    return spec.get("kernel") or spec["component"]


def sv_package(spec: dict) -> str:
    k = unit(spec)
    pkg = f"{k['name']}_regs_pkg"
    guard = f"{pkg.upper()}_SV"
    out = [
        f"// Generated from hw/regs/{k['name']}.toml by scripts/regs_gen.py. Do not edit.",
        "// Include guard: each user `includes this file, so any file order compiles.",
        f"`ifndef {guard}",
        f"`define {guard}",
        "`default_nettype none",
        f"package {pkg};",
        "  // Every kernel block and every host tool reads some of these; none reads them all.",
        "  /* verilator lint_off UNUSEDPARAM */",
    ]
    if "kernel" in spec:
        out += [
            f"  localparam logic [31:0] KERNEL_ID = 32'h{k['id']:08x};",
            f"  localparam logic [31:0] KERNEL_VERSION = 32'h{k['version']:08x};",
            f"  localparam logic [31:0] REGMAP_CRC = 32'h{spec['regmap_crc']:08x};",
        ]
    for p in spec.get("param", []):
        out.append(f"  localparam int {p['name']} = {p['value']};")
    for enum in spec.get("enum", []):
        pre = enum["name"].upper()
        for i, (name, _) in enumerate(enum["values"]):
            out.append(f"  localparam int {pre}_{name} = {i};")
        out.append(f"  localparam int {pre}_COUNT = {len(enum['values'])};")
    for block in spec["block"]:
        pre = block["name"].upper()
        out.append(f"  localparam logic [15:0] {pre}_BASE = 16'h{block['base']:04x};")
        out.append(f"  localparam logic [31:0] {pre}_ID_VALUE = 32'h{block['id']:08x};")
        out.append(f"  localparam logic [31:0] {pre}_VERSION_VALUE = 32'h{block['version']:08x};")
        for reg in block["regs"]:
            addr = block["base"] + reg["offset"]
            out.append(f"  localparam logic [15:0] {pre}_{reg['name']} = 16'h{addr:04x};")
            if "count" in reg:
                out.append(f"  localparam int {pre}_{reg['name']}_COUNT = {reg['count']};")
                out.append(f"  localparam int {pre}_{reg['name']}_STRIDE = {reg['stride']};")
            for f in reg.get("fields", []):
                out.append(f"  localparam int {pre}_{reg['name']}_{f['name']}_LSB = {f['lsb']};")
                out.append(f"  localparam int {pre}_{reg['name']}_{f['name']}_W = {f['width']};")
    for lay in spec.get("layout", []):
        pre = lay["name"].upper()
        out.append(f"  localparam int {pre}_BYTES = {lay['bytes']};")
        for f in lay["field"]:
            out.append(f"  localparam int {pre}_{f['name']}_LSB = {f['bit']};")
            out.append(f"  localparam int {pre}_{f['name']}_W = {f['width']};")
    out += ["  /* verilator lint_on UNUSEDPARAM */", f"endpackage : {pkg}", "`default_nettype wire",
            "`endif", ""]
    return "\n".join(out)


def cpp_header(spec: dict) -> str:
    k = unit(spec)
    ns = k["name"]
    out = [
        f"// Generated from hw/regs/{ns}.toml by scripts/regs_gen.py. Do not edit.",
        "#pragma once",
        "",
        "#include <array>",
        "#include <cstdint>",
        "#include <string_view>",
        "",
        f"namespace roamgate::regs::{ns} {{",
        "",
        "// A bit field: of a 32-bit register, or of a little-endian structure in device memory.",
        "struct Field {",
        "  uint32_t lsb;",
        "  uint32_t width;",
        "  constexpr uint64_t mask() const { return width >= 64 ? ~0ull : (1ull << width) - 1; }",
        "  constexpr uint32_t get(uint32_t reg) const { return uint32_t((reg >> lsb) & mask()); }",
        "  constexpr uint32_t put(uint64_t value) const { return uint32_t((value & mask()) << lsb); }",
        "  // Byte-aligned fields of a little-endian structure.",
        "  uint64_t getLe(const uint8_t* bytes) const {",
        "    uint64_t v = 0;",
        "    for (uint32_t i = width / 8; i-- > 0;) v = (v << 8) | bytes[lsb / 8 + i];",
        "    return v;",
        "  }",
        "  void putLe(uint8_t* bytes, uint64_t value) const {",
        "    for (uint32_t i = 0; i < width / 8; ++i) bytes[lsb / 8 + i] = uint8_t(value >> (8 * i));",
        "  }",
        "};",
        "",
    ]
    if "kernel" in spec:
        out += [
            f"inline constexpr uint32_t kKernelId = 0x{k['id']:08x};",
            f"inline constexpr uint32_t kKernelVersion = 0x{k['version']:08x};",
            f"inline constexpr uint32_t kRegmapCrc = 0x{spec['regmap_crc']:08x};",
        ]
    for p in spec.get("param", []):
        out.append(f"inline constexpr uint32_t k{upper_camel(p['name'])} = {p['value']};  // {p['desc']}")
    for enum in spec.get("enum", []):
        typ = upper_camel(enum["name"])
        out += ["", f"// {enum['desc']}", f"enum class {typ} : uint32_t {{"]
        for i, (name, desc) in enumerate(enum["values"]):
            out.append(f"  k{upper_camel(name)} = {i},  // {desc}")
        out.append("};")
        n = len(enum["values"])
        out.append(f"inline constexpr uint32_t k{typ}Count = {n};")
        names = ", ".join(f'"{v[0].lower()}"' for v in enum["values"])
        out.append(f"inline constexpr std::array<std::string_view, {n}> k{typ}Names = {{{names}}};")
    for block in spec["block"]:
        out += ["", f"// {block['desc']}", f"namespace {block['name']} {{"]
        out.append(f"inline constexpr uint32_t kBase = 0x{block['base']:04x};")
        out.append(f"inline constexpr uint32_t kIdValue = 0x{block['id']:08x};")
        out.append(f"inline constexpr uint32_t kVersionValue = 0x{block['version']:08x};")
        for reg in block["regs"]:
            addr = block["base"] + reg["offset"]
            name = upper_camel(reg["name"])
            out.append(f"inline constexpr uint32_t k{name} = 0x{addr:04x};  // {reg['access']}: {reg['desc']}")
            if "count" in reg:
                out.append(f"inline constexpr uint32_t k{name}Count = {reg['count']};")
                out.append(f"inline constexpr uint32_t k{name}Stride = {reg['stride']};")
            for f in reg.get("fields", []):
                out.append(f"inline constexpr Field k{name}{upper_camel(f['name'])}{{{f['lsb']}, {f['width']}}};  // {f['desc']}")
        out.append(f"}}  // namespace {block['name']}")
    for lay in spec.get("layout", []):
        out += ["", f"// {lay['desc']}", f"namespace {lay['name']} {{",
                f"inline constexpr uint32_t kBytes = {lay['bytes']};"]
        for f in lay["field"]:
            if f["bit"] % 8 or f["width"] % 8:
                sys.exit(f"layout {lay['name']}.{f['name']}: C++ access wants whole bytes")
            out.append(f"inline constexpr Field k{upper_camel(f['name'])}{{{f['bit']}, {f['width']}}};  // {f['desc']}")
        out.append(f"}}  // namespace {lay['name']}")
    out += ["", f"}}  // namespace roamgate::regs::{ns}", ""]
    return "\n".join(out)


def markdown(specs: list) -> str:
    out = [
        "# Register map",
        "",
        "Generated from `hw/regs/*.toml` by `scripts/regs_gen.py`; do not edit. Offsets are bytes",
        "in the kernel's 64 KiB AXI4-Lite window; every register is 32 bits.",
    ]
    for spec in specs:
        if "kernel" not in spec:
            continue  # components are documented inside the kernels that include them
        k = spec["kernel"]
        out += ["", f"## Kernel `{k['name']}`", "",
                f"Kernel id `0x{k['id']:08x}`, version `0x{k['version']:08x}`, "
                f"register map CRC `0x{spec['regmap_crc']:08x}`."]
        if spec.get("param"):
            out += ["", "| parameter | value | meaning |", "|---|---|---|"]
            for p in spec["param"]:
                out.append(f"| `{p['name']}` | {p['value']} | {p['desc']} |")
        for enum in spec.get("enum", []):
            out += ["", f"### Enum `{enum['name']}`", "", enum["desc"], "",
                    "| value | name | meaning |", "|---|---|---|"]
            for i, (name, desc) in enumerate(enum["values"]):
                out.append(f"| {i} | `{name}` | {desc} |")
        for block in spec["block"]:
            out += ["", f"### Block `{block['name']}` at `0x{block['base']:04x}`", "",
                    f"{block['desc']} Block id `0x{block['id']:08x}`, version "
                    f"`0x{block['version']:08x}`.", "",
                    "| offset | name | access | meaning |", "|---|---|---|---|"]
            for reg in block["regs"]:
                addr = block["base"] + reg["offset"]
                name = reg["name"]
                if "count" in reg:
                    name += f"[{reg['count']}] (stride {reg['stride']})"
                desc = reg["desc"]
                if reg.get("fields"):
                    desc += " — fields: " + ", ".join(
                        f"`{f['name']}` [{f['lsb'] + f['width'] - 1}:{f['lsb']}] {f['desc']}"
                        for f in sorted(reg["fields"], key=lambda f: -f["lsb"]))
                out.append(f"| `0x{addr:04x}` | `{name}` | {reg['access']} | {desc} |")
        for lay in spec.get("layout", []):
            out += ["", f"### Layout `{lay['name']}` ({lay['bytes']} bytes)", "", lay["desc"], "",
                    "| bits | field | meaning |", "|---|---|---|"]
            for f in lay["field"]:
                out.append(f"| {f['bit'] + f['width'] - 1}:{f['bit']} | `{f['name']}` | {f['desc']} |")
    out.append("")
    return "\n".join(out)


def write_if_changed(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("toml", nargs="+", type=pathlib.Path)
    ap.add_argument("--sv-dir", type=pathlib.Path)
    ap.add_argument("--cpp-dir", type=pathlib.Path)
    ap.add_argument("--md", type=pathlib.Path)
    ap.add_argument("--regmap-crc", action="store_true",
                    help="print each kernel's register map CRC (what its REGMAP register holds)")
    args = ap.parse_args()
    specs = [load(p) for p in args.toml]
    if args.regmap_crc:
        for spec in specs:
            if "kernel" in spec:
                print(f"{spec['kernel']['name']} 0x{spec['regmap_crc']:08x}")
        return
    for spec in specs:
        name = unit(spec)["name"]
        if args.sv_dir:
            write_if_changed(args.sv_dir / f"{name}_regs_pkg.sv", sv_package(spec))
        if args.cpp_dir:
            write_if_changed(args.cpp_dir / f"{name}.h", cpp_header(spec))
    if args.md:
        write_if_changed(args.md, markdown(specs))


if __name__ == "__main__":
    main()
