#!/usr/bin/python3
"""Checks the frames of tests/common/pktgen with two independent tools, scapy and tshark.

usage: check_pktgen.py FRAMES.pcap FRAMES.json
       check_pktgen.py --dump PKTGEN_DUMP [--self-test]

FRAMES.pcap and FRAMES.json come from pktgen_dump: one frame of every shape pktgen makes, and
for each the shape's name and the fields pktgen was asked for. For every frame, scapy and
tshark each must find:
- the layers the shape names (Ethernet, 802.1Q, outer IPv4, UDP, GTP-U with its sequence,
  N-PDU and extension headers, inner IPv4, TCP/UDP/ICMP; or ARP, IPv6, an unknown type);
- the fields asked for (TEID, QFI, addresses, ports, TTL, ID, flags, ICMP type and id) and
  lengths that agree with each other and with the frame (IPv4 total, UDP, GTP, inner);
- checksums (outer and inner IPv4, UDP, TCP, ICMP) that verify where the shape says valid,
  zero where it says zero, and fail where it says wrong (scapy recomputes them; tshark is run
  with its checksum checks on);
- a malformed or truncated frame malformed the way its name says, and in no other way.
FrameGen's kinds are checked against what each name means (own-address, not-gtpu, ...) and
pktgen's documented defaults (inner source 198.19.x.y from the TEID, and so on).

--dump runs pktgen_dump into a temporary folder first. --self-test then also damages copies
of the capture (one byte of a TEID, of a checksum, of a malformed header; one intended field
of the JSON) and fails unless the check catches every damage, naming the frame.
Exit 0: all good; 1: a frame is not what its name says; 2: bad command line.
"""
import argparse
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

from scapy.all import ARP, Dot1Q, Ether, IP, IPv6, TCP, UDP, ICMP, RawPcapReader, RawPcapWriter, raw
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.layers.inet import in4_chksum
from scapy.utils import checksum

TSHARK = ["tshark", "-n", "-T", "json", "--no-duplicate-keys",
          "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
          "-o", "tcp.check_checksum:TRUE",
          # A first fragment is dissected as it stands, not held for reassembly.
          "-o", "ip.defragment:FALSE",
          # The inner payloads are pktgen's byte pattern, not DNS (port 53) or TLS (port 443).
          "--disable-protocol", "dns", "--disable-protocol", "tls"]
# tshark's checksum status values (epan/proto.h, proto_checksum_flags).
TS_BAD, TS_GOOD, TS_NOT_PRESENT = "0", "1", "3"
GTPU_PORT = 2152
VLAN_ID = 100
OWN_ADDRESS = "198.18.1.100"  # what FrameGen's own-address writes; GtpShape's default dstIp
DEFAULT_INNER_DST = "198.18.3.100"
L4_HEADER = {6: 20, 17: 8, 1: 8}


class Errors:
    def __init__(self):
        self.lines = []
        self.frame = ""

    def want(self, cond, msg):
        if not cond:
            self.lines.append(f"{self.frame}: {msg}")
        return cond

    def sum(self, what, given, calc):
        """A checksum the shape says is valid: the frame's equals scapy's recomputation."""
        return self.want(given == calc, f"{what} {given:#06x} does not verify, scapy computes "
                         f"{calc:#06x} (pktgen intended valid)")

    def eq(self, what, got, want):
        return self.want(got == want, f"{what} is {got!r}, pktgen intended {want!r}")


def ip_header_sum_ok(hdr):
    """scapy recomputes the IPv4 header checksum: equal to the frame's?"""
    h = IP(hdr)
    given = h.chksum
    h.chksum = None
    return IP(raw(h)).chksum == given


def l4_sum(proto, ip, seg, at):
    """scapy's checksum of the segment with its checksum field (at `at`) zeroed: with the
    pseudo-header of `ip` for TCP and UDP, without for ICMP."""
    zeroed = seg[:at] + b"\0\0" + seg[at + 2:]
    if proto == 1:
        return checksum(zeroed)
    c = in4_chksum(proto, ip, zeroed)
    return 0xFFFF if (proto == 17 and c == 0) else c


# ---- scapy -----------------------------------------------------------------------------------

def s_eth(e, b, vlan, ethertype):
    p = Ether(b)
    if vlan is not None:
        if e.want(Dot1Q in p, "no 802.1Q tag"):
            e.eq("VLAN id", p[Dot1Q].vlan, vlan)
            e.eq("ethertype inside the tag", p[Dot1Q].type, ethertype)
        return 18
    e.want(Dot1Q not in p, "an 802.1Q tag the shape does not have")
    e.eq("ethertype", p.type, ethertype)
    return 14


def s_ipv4(e, where, b, want):
    """Checks the IPv4 packet at the start of `b` (trailing bytes: padding or more)."""
    if not e.want(len(b) >= 20, f"{where}: fewer than 20 bytes for an IPv4 header"):
        return None, b""
    ip = IP(b)
    ihl = ip.ihl
    e.eq(f"{where} version", ip.version, 4)
    for k, field in (("ihl", "ihl"), ("ttl", "ttl"), ("proto", "proto"), ("total_len", "len")):
        if k in want:
            e.eq(f"{where} {k}", getattr(ip, field), want[k])
    if "id" in want:
        e.eq(f"{where} identification", ip.id, want["id"])
    for k in ("src", "dst"):
        if k in want:
            e.eq(f"{where} {k}", getattr(ip, k), want[k])
    if "df" in want:
        e.eq(f"{where} DF", bool(ip.flags.DF), want["df"])
    if "mf" in want:
        e.eq(f"{where} MF", bool(ip.flags.MF), want["mf"])
        e.eq(f"{where} fragment offset", ip.frag, 0)
    e.want(b[20:4 * ihl] == b"\x01" * (4 * ihl - 20), f"{where} options are not all NOP")
    e.want(ip.len <= len(b), f"{where} total length {ip.len} runs past the frame ({len(b)})")
    if "checksum" in want:
        ok = ip_header_sum_ok(b[:4 * ihl])
        e.want(ok == (want["checksum"] == "valid"),
               f"{where} header checksum {ip.chksum:#06x} {'does not verify' if not ok else 'verifies'}"
               f", pktgen intended {want['checksum']}")
    return ip, b[:ip.len]


def s_l4(e, where, ip, pkt, want):
    ihl = 4 * ip.ihl
    seg = pkt[ihl:]
    proto = ip.proto
    hl = L4_HEADER.get(proto, 0)
    if "payload_len" in want:
        e.eq(f"{where} payload length", len(seg) - hl, want["payload_len"])
    state = want.get("l4_checksum")
    if proto == 17:
        u = UDP(seg)
        e.eq(f"{where} UDP length", u.len, len(seg))
        for k, f in (("sport", "sport"), ("dport", "dport")):
            if k in want:
                e.eq(f"{where} UDP {k}", getattr(u, f), want[k])
        if state == "zero":
            e.eq(f"{where} UDP checksum", u.chksum, 0)
        elif state == "valid":
            e.sum(f"{where} UDP checksum", u.chksum, l4_sum(17, ip, seg, 6))
    elif proto == 6:
        t = TCP(seg)
        e.eq(f"{where} TCP data offset", t.dataofs, 5)
        for k, f in (("sport", "sport"), ("dport", "dport"), ("tcp_flags", "flags")):
            if k in want:
                e.eq(f"{where} TCP {k}", int(getattr(t, f)), want[k])
        calc = l4_sum(6, ip, seg, 16)
        if state == "valid":
            e.sum(f"{where} TCP checksum", t.chksum, calc)
        elif state == "wrong":
            e.want(t.chksum != calc, f"{where} TCP checksum verifies; pktgen intended wrong")
    elif proto == 1:
        c = ICMP(seg)
        if "icmp_type" in want:
            e.eq(f"{where} ICMP type", c.type, want["icmp_type"])
        if "icmp_id" in want:
            e.eq(f"{where} ICMP id", c.id, want["icmp_id"])
        e.eq(f"{where} ICMP seq", c.seq, 1)
        calc = l4_sum(1, ip, seg, 2)
        if state == "valid":
            e.sum(f"{where} ICMP checksum", c.chksum, calc)
        elif state == "wrong":
            e.want(c.chksum != calc, f"{where} ICMP checksum verifies; pktgen intended wrong")


def s_gtp(e, ip, pkt, want_udp, want_gtp, want_inner):
    """The UDP datagram of the outer packet: UDP, GTP-U and (for a G-PDU) the inner packet."""
    seg = pkt[4 * ip.ihl:]
    u = UDP(seg)
    for k in ("sport", "dport", "len"):
        if k in want_udp:
            e.eq(f"UDP {k}", getattr(u, k), want_udp[k])
    e.eq("UDP length against the IPv4 total", u.len, len(seg))
    if want_udp.get("checksum") == "zero":
        e.eq("UDP checksum", u.chksum, 0)
    elif want_udp.get("checksum") == "valid":
        e.sum("UDP checksum", u.chksum, l4_sum(17, ip, seg, 6))
    gb = seg[8:]
    if not e.want(len(gb) >= 8, "no room for a GTP-U header"):
        return None
    g = GTP_U_Header(gb)
    e.eq("GTP version", g.version, 1)
    e.eq("GTP protocol type", g.PT, 1)
    e.eq("GTP length against the UDP length", g.length, len(gb) - 8)
    for k, f in (("type", "gtp_type"), ("teid", "teid"), ("length", "length")):
        if k in want_gtp:
            e.eq(f"GTP {k}", getattr(g, f), want_gtp[k])
    ext = want_gtp.get("ext")
    if "seq" in want_gtp:
        e.eq("GTP S flag", bool(g.S), want_gtp["seq"])
        e.eq("GTP PN flag", bool(g.PN), want_gtp["npdu"])
        e.eq("GTP E flag", bool(g.E), bool(ext))
    off = 8
    if g.E or g.S or g.PN:
        off = 12
        if g.S:
            e.eq("GTP sequence number", g.seq, 0x1234)
        if g.PN:
            e.eq("GTP N-PDU number", g.npdu, 0)
        got = []
        nxt = gb[11] if g.E else 0
        while nxt:
            if not e.want(off < len(gb) and gb[off] > 0, f"extension header {nxt:#04x} runs past the packet"):
                return None
            n = 4 * gb[off]
            got.append({"type": nxt, "len": gb[off]})
            if nxt == 0x85:
                c = GTPPDUSessionContainer(gb[off:off + n])
                e.eq("PDU session container type", c.type, 1)  # UL PDU SESSION INFORMATION
                if "qfi" in want_gtp:
                    e.eq("PDU session container QFI", c.QFI, want_gtp["qfi"])
            nxt = gb[off + n - 1]
            off += n
        if ext is not None:
            e.eq("GTP extension headers", got, ext)
    if want_inner is None:
        return g
    inner, ipkt = s_ipv4(e, "inner IPv4", gb[off:], want_inner)
    if inner is not None:
        e.eq("inner IPv4 total against the GTP length", len(gb) - off, inner.len)
        s_l4(e, "inner", inner, ipkt, want_inner)
    return g


def s_frame_len(e, b, l2, total):
    e.eq("frame length", len(b), max(60, l2 + total))
    pad = b[l2 + total:]
    e.want(pad == bytes(len(pad)), "Ethernet padding is not zero")


# ---- tshark ----------------------------------------------------------------------------------

class Dissection:
    """tshark's layers of one frame, in order; each occurrence flattened to field -> [values]."""

    def __init__(self, frame_json):
        self.layers = []
        for name, v in frame_json["_source"]["layers"].items():
            for occ in (v if isinstance(v, list) else [v]):
                flat = {}
                self._walk(occ, name, flat)
                self.layers.append((name, flat))

    def _walk(self, o, key, flat):
        if isinstance(o, dict):
            for k, v in o.items():
                self._walk(v, k, flat)
        elif isinstance(o, list):
            for v in o:
                self._walk(v, key, flat)
        else:
            flat.setdefault(key, []).append(o)

    def names(self):
        return [n for n, _ in self.layers if n != "frame"]

    def layer(self, name, n=0):
        got = [f for k, f in self.layers if k == name]
        return got[n] if n < len(got) else {}

    def field(self, name, field, n=0):
        v = self.layer(name, n).get(field)
        return v[0] if v else None

    def all(self, field):
        return [x for _, f in self.layers for x in f.get(field, [])]

    def experts(self):
        return self.all("_ws.expert.message")

    def malformed(self):
        return any(n == "_ws.malformed" for n, _ in self.layers) or bool(self.all("_ws.malformed"))


def t_int(v):
    return None if v is None else int(v, 0)


def t_ipv4(e, d, where, n, want):
    ip = d.layer("ip", n)
    if not e.want(bool(ip), f"tshark finds no {where}"):
        return
    f = lambda k: ip.get(k, [None])[0]
    for k, field in (("src", "ip.src"), ("dst", "ip.dst")):
        if k in want:
            e.eq(f"tshark's {where} {k}", f(field), want[k])
    for k, field in (("ttl", "ip.ttl"), ("proto", "ip.proto"), ("total_len", "ip.len"),
                     ("id", "ip.id")):
        if k in want:
            e.eq(f"tshark's {where} {k}", t_int(f(field)), want[k])
    if "ihl" in want:
        e.eq(f"tshark's {where} header length", t_int(f("ip.hdr_len")), 4 * want["ihl"])
    if "df" in want:
        e.eq(f"tshark's {where} DF", f("ip.flags.df"), "1" if want["df"] else "0")
    if "mf" in want:
        e.eq(f"tshark's {where} MF", f("ip.flags.mf"), "1" if want["mf"] else "0")
    if "checksum" in want:
        e.eq(f"tshark's {where} checksum status", f("ip.checksum.status"),
             TS_GOOD if want["checksum"] == "valid" else TS_BAD)


def t_l4(e, d, where, udp_n, want):
    proto = want["proto"]
    state = want.get("l4_checksum")
    status = {"valid": TS_GOOD, "wrong": TS_BAD, "zero": TS_NOT_PRESENT}.get(state)
    if proto == 17:
        u = d.layer("udp", udp_n)
        if not e.want(bool(u), f"tshark finds no {where} UDP"):
            return
        for k, field in (("sport", "udp.srcport"), ("dport", "udp.dstport")):
            if k in want:
                e.eq(f"tshark's {where} UDP {k}", t_int(u.get(field, [None])[0]), want[k])
        if status:
            e.eq(f"tshark's {where} UDP checksum status", u.get("udp.checksum.status", [None])[0], status)
    elif proto == 6:
        t = d.layer("tcp")
        if not e.want(bool(t), f"tshark finds no {where} TCP"):
            return
        if "sport" in want:
            e.eq(f"tshark's {where} TCP sport", t_int(t.get("tcp.srcport", [None])[0]), want["sport"])
            e.eq(f"tshark's {where} TCP dport", t_int(t.get("tcp.dstport", [None])[0]), want["dport"])
        if "tcp_flags" in want:
            e.eq(f"tshark's {where} TCP flags", t_int(t.get("tcp.flags", [None])[0]), want["tcp_flags"])
        if status:
            e.eq(f"tshark's {where} TCP checksum status", t.get("tcp.checksum.status", [None])[0], status)
    elif proto == 1:
        c = d.layer("icmp")
        if not e.want(bool(c), f"tshark finds no {where} ICMP"):
            return
        if "icmp_type" in want:
            e.eq(f"tshark's {where} ICMP type", t_int(c.get("icmp.type", [None])[0]), want["icmp_type"])
        if "icmp_id" in want:
            e.eq(f"tshark's {where} ICMP id", t_int(c.get("icmp.ident", [None])[0]), want["icmp_id"])
        if status:
            e.eq(f"tshark's {where} ICMP checksum status", c.get("icmp.checksum.status", [None])[0], status)


def t_gtp(e, d, want_udp, want_gtp, want_inner):
    u = d.layer("udp", 0)
    if not e.want(bool(u), "tshark finds no UDP"):
        return
    for k, field in (("sport", "udp.srcport"), ("dport", "udp.dstport"), ("len", "udp.length")):
        if k in want_udp:
            e.eq(f"tshark's UDP {k}", t_int(u.get(field, [None])[0]), want_udp[k])
    status = {"valid": TS_GOOD, "zero": TS_NOT_PRESENT}.get(want_udp.get("checksum"))
    if status and not want_udp.get("fragment"):  # tshark leaves a fragment's UDP sum unverified
        e.eq("tshark's UDP checksum status", u.get("udp.checksum.status", [None])[0], status)
    g = d.layer("gtp")
    if not e.want(bool(g), "tshark finds no GTP"):
        return
    f = lambda k: g.get(k, [None])[0]
    e.eq("tshark's GTP version", f("gtp.flags.version"), "1")
    if "type" in want_gtp:
        e.eq("tshark's GTP message type", t_int(f("gtp.message")), want_gtp["type"])
    if "teid" in want_gtp:
        e.eq("tshark's TEID", t_int(f("gtp.teid")), want_gtp["teid"])
    if "length" in want_gtp:
        e.eq("tshark's GTP length", t_int(f("gtp.length")), want_gtp["length"])
    if "seq" in want_gtp:
        e.eq("tshark's GTP S flag", f("gtp.flags.s"), "1" if want_gtp["seq"] else "0")
        e.eq("tshark's GTP PN flag", f("gtp.flags.pn"), "1" if want_gtp["npdu"] else "0")
        if want_gtp["seq"]:
            e.eq("tshark's GTP sequence number", t_int(f("gtp.seq_number")), 0x1234)
    ext = want_gtp.get("ext")
    if ext is not None:
        e.eq("tshark's extension header lengths", [t_int(x) for x in g.get("gtp.ext_hdr.length", [])],
             [x["len"] for x in ext])
        # gtp.ext_hdr.next: the type in the mandatory header, then each header's next type.
        nexts = [t_int(x) for x in g.get("gtp.ext_hdr.next", [])]
        e.eq("tshark's extension header types", nexts, [x["type"] for x in ext] + [0] if ext else [])
        pdu = [x for x in ext if x["type"] == 0x85]
        if pdu:
            e.eq("tshark's PDU session QFIs",
                 [t_int(x) for x in g.get("gtp.ext_hdr.pdu_ses_con.qos_flow_id", [])],
                 [want_gtp["qfi"]] * len(pdu))
            e.eq("tshark's PDU types", g.get("gtp.ext_hdr.pdu_ses_con.pdu_type"), ["1"] * len(pdu))
    if want_inner is not None:
        t_ipv4(e, d, "inner IPv4", 1, want_inner)
        t_l4(e, d, "inner", 1, want_inner)


def t_clean(e, d, allowed=()):
    """No malformation and no error-level expert info, except the ones listed."""
    e.want(not d.malformed(), "tshark calls it a malformed packet")
    bad = [m for m in d.experts() if ("checksum" in m.lower() or "bogus" in m.lower()
                                      or "exceeds" in m.lower() or "bad length" in m.lower())
           and not any(a in m for a in allowed)]
    e.want(not bad, f"tshark reports {bad}")


# ---- shapes ----------------------------------------------------------------------------------

def ip4(v):
    return str(ipaddress.IPv4Address(v))


def check_built_gtp(e, b, d, m):
    l2 = s_eth(e, b, m["vlan"], 0x0800)
    ip, pkt = s_ipv4(e, "outer IPv4", b[l2:], dict(m["outer"], proto=17))
    if ip is None:
        return
    s_frame_len(e, b, l2, m["outer"]["total_len"])
    inner = m["inner"] if m["gtp"]["type"] == 0xFF else None
    s_gtp(e, ip, pkt, m["udp"], m["gtp"], inner)
    t_ipv4(e, d, "outer IPv4", 0, dict(m["outer"], proto=17))
    t_gtp(e, d, m["udp"], m["gtp"], inner)
    if m["vlan"] is not None:
        e.eq("tshark's VLAN id", t_int(d.field("vlan", "vlan.id")), m["vlan"])
    wrong = inner is not None and inner.get("l4_checksum") == "wrong"
    t_clean(e, d, allowed=("Bad checksum",) if wrong else ())
    if inner is None:
        e.want(d.names().count("ip") == 1, "tshark finds an inner packet in a signalling message")


def check_built_eth(e, b, d, m):
    l2 = s_eth(e, b, m["vlan"], 0x0800)
    want = m["inner"]
    ip, pkt = s_ipv4(e, "IPv4", b[l2:], want)
    if ip is None:
        return
    s_frame_len(e, b, l2, want["total_len"])
    s_l4(e, "downlink", ip, pkt, want)
    t_ipv4(e, d, "IPv4", 0, want)
    t_l4(e, d, "downlink", 0, want)
    e.want("gtp" not in d.names(), "tshark finds GTP in a plain IPv4 frame")
    t_clean(e, d)


def framegen_want(b, kind):
    """What a FrameGen frame of `kind` must be, from pktgen's defaults and the frame's TEID."""
    vlan = VLAN_ID if b[12:14] == b"\x81\x00" else None
    l2 = 18 if vlan else 14
    ihl = b[l2] & 0xF
    udp = b[l2 + 4 * ihl:]
    teid = int.from_bytes(udp[12:16], "big")
    outer = {"dst": OWN_ADDRESS, "id": 0x1234, "df": kind != "fragment", "mf": kind == "fragment",
             "checksum": "valid"}
    if kind == "not-gtpu":
        outer.pop("dst")  # checked to be another address
    wudp = {"sport": GTPU_PORT, "dport": GTPU_PORT}
    if kind in ("not-gtpu", "own-address"):
        wudp["dport"] = GTPU_PORT ^ 0x10
    wudp["checksum"] = "zero" if udp[6:8] == b"\0\0" else "valid"
    wudp["fragment"] = kind == "fragment"
    wgtp = {}
    if kind == "teid0":
        wgtp = {"teid": 0, "type": 0xFF}
    elif kind in ("gpdu", "rx-error", "fragment", "not-gtpu", "own-address"):
        wgtp = {"type": 0xFF}
    inner = None
    if kind != "signalling":
        inner = {"src": ip4(0xC6130000 | (teid & 0xFFFF)), "dst": DEFAULT_INNER_DST,
                 "id": teid & 0xFFFF, "ttl": 63, "checksum": "valid", "l4_checksum": "valid",
                 "sport": 40000}
    return vlan, teid, outer, wudp, wgtp, inner


def check_framegen_gtp(e, b, d, m):
    kind = m["kind"]
    vlan, teid, outer, wudp, wgtp, inner = framegen_want(b, kind)
    l2 = s_eth(e, b, vlan, 0x0800)
    ip, pkt = s_ipv4(e, "outer IPv4", b[l2:], dict(outer, proto=17))
    if ip is None:
        return
    e.want(ipaddress.IPv4Address("198.18.1.1") <= ipaddress.IPv4Address(ip.src)
           <= ipaddress.IPv4Address("198.18.1.200"), f"outer source {ip.src} not in 198.18.1.1-200")
    s_frame_len(e, b, l2, ip.len)
    g = s_gtp(e, ip, pkt, wudp, wgtp, None)
    if g is None:
        return
    if kind == "signalling":
        e.want(g.gtp_type in (1, 26), f"GTP message type {g.gtp_type}, not Echo Request or Error Indication")
        e.want(t_int(d.field("gtp", "gtp.message")) in (1, 26),
               f"tshark's GTP message type {d.field('gtp', 'gtp.message')}, not Echo Request or Error Indication")
    if kind in ("gpdu", "rx-error", "fragment"):
        e.want(teid in m["teid_pool"] or teid & 1, f"TEID {teid:#x} neither from the pool nor odd")
        e.want(teid != 0, "TEID 0 in a G-PDU")
    if kind == "not-gtpu":
        e.want(ip.dst != OWN_ADDRESS, f"not-gtpu frame is addressed to {OWN_ADDRESS}, the address "
               "own-address frames go to: it is an own-address frame")
    if inner is not None:
        # The inner packet, found by scapy's own walk of the GTP header.
        gb = pkt[4 * ip.ihl + 8:]
        off = 8
        if gb[0] & 7:
            off, nxt = 12, (gb[11] if gb[0] & 4 else 0)
            while nxt:
                nxt, off = gb[off + 4 * gb[off] - 1], off + 4 * gb[off]
        i, ipkt = s_ipv4(e, "inner IPv4", gb[off:], inner)
        if i is not None:
            want = dict(inner, proto=i.proto)
            if i.proto == 6:
                want["dport"] = 443
            elif i.proto == 17:
                want["dport"] = 53
            else:
                want.pop("sport")
                want.update(icmp_type=8, icmp_id=teid & 0xFFFF)
            s_l4(e, "inner", i, ipkt, want)
            t_l4(e, d, "inner", 1, want)
        t_ipv4(e, d, "inner IPv4", 1, inner)
    t_ipv4(e, d, "outer IPv4", 0, outer)
    t_gtp(e, d, wudp, wgtp, None)
    t_clean(e, d)


def check_malformed(e, b, d, m):
    v = m["malformed"]
    vlan = VLAN_ID if b[12:14] == b"\x81\x00" else None
    l2 = s_eth(e, b, vlan, 0x0800)
    ex = d.experts()
    ip = b[l2:]
    if v == "ipv4-version-6":
        e.eq("IP version nibble", ip[0] >> 4, 6)
        e.want(any("Bogus IPv4 version" in x for x in ex), f"tshark does not report a bogus IPv4 version: {ex}")
        return
    if v == "ipv4-ihl-3":
        e.eq("IHL", ip[0] & 0xF, 3)
        e.want(any("Bogus IP header length (12" in x for x in ex), f"tshark does not report IHL 3: {ex}")
        return
    i, pkt = s_ipv4(e, "outer IPv4", ip, {"checksum": "valid", "proto": 17})
    t_ipv4(e, d, "outer IPv4", 0, {"checksum": "valid", "proto": 17})
    if i is None:
        return
    seg = pkt[4 * i.ihl:]
    u = UDP(seg[:8])
    if v == "udp-length-4":
        e.eq("UDP length", u.len, 4)
        e.want(any("Bad length value 4 < 8" in x for x in ex), f"tshark does not report UDP length 4: {ex}")
        return
    # The GTP-U header is the malformed part; UDP and IPv4 are whole and their checksums verify.
    e.want(u.chksum == 0 or u.chksum == l4_sum(17, i, seg, 6),
           f"UDP checksum {u.chksum:#06x} does not verify (scapy): malformed in UDP too")
    e.want(d.field("udp", "udp.checksum.status") in (TS_GOOD, TS_NOT_PRESENT),
           "tshark: the UDP checksum does not verify: malformed in UDP too")
    e.eq("UDP length against the IPv4 total", u.len, len(seg))
    if v == "gtp-version-2":
        e.eq("GTP version", seg[8] >> 5, 2)
        e.want("gtp" not in d.names() and t_int(d.field("gtpv2", "gtpv2.version")) == 2,
               f"tshark does not see GTP version 2 (layers {d.names()})")
    elif v == "gtp-length-past-udp":
        glen = int.from_bytes(seg[10:12], "big")
        e.want(glen > len(seg) - 16, f"GTP length {glen} fits the UDP payload ({len(seg) - 16})")
        tl = t_int(d.field("gtp", "gtp.length"))
        e.want(tl is not None and tl > t_int(d.field("udp", "udp.length")) - 16,
               f"tshark's GTP length {tl} fits the UDP payload")
    else:
        e.want(False, f"unknown malformed variant {v}")


def check_truncated(e, b, d, m):
    at = m["truncated_in"]
    ex = d.experts()
    if at == "ethernet":
        e.want(len(b) < 14 or (b[12:14] == b"\x81\x00" and len(b) < 18),
               f"{len(b)} bytes hold a whole Ethernet header")
        e.want(d.malformed() and "ip" not in d.names(), f"tshark does not find the Ethernet header cut: {d.names()}")
        return
    l2 = 18 if b[12:14] == b"\x81\x00" else 14
    e.eq("ethertype", int.from_bytes(b[l2 - 2:l2], "big"), 0x0800)
    ip = b[l2:]
    if at == "ipv4-header":
        e.want(len(ip) < 20 or len(ip) < 4 * (ip[0] & 0xF), f"{len(ip)} bytes hold the IPv4 header")
        e.want(d.malformed() and "udp" not in d.names(), f"tshark does not find the IPv4 header cut: {d.names()}")
        return
    total = int.from_bytes(ip[2:4], "big")
    e.want(total > len(ip), f"IPv4 total length {total} fits the {len(ip)} bytes left")
    e.want(any("IPv4 total length exceeds packet length" in x for x in ex),
           f"tshark does not report the IPv4 packet cut: {ex}")
    e.want(ip_header_sum_ok(ip[:4 * (ip[0] & 0xF)]), "IPv4 header checksum does not verify")
    seg = ip[4 * (ip[0] & 0xF):]
    if at == "udp-header":
        e.want(len(seg) < 8, f"{len(seg)} bytes hold the UDP header")
        e.want("udp" not in d.names(), "tshark finds a UDP header")
    elif at == "gtp-header":
        e.want(8 <= len(seg) < 16, f"{len(seg)} bytes: not a cut in the GTP header")
        e.want(d.malformed() and "gtp" in d.names(), f"tshark does not find the GTP header cut: {d.names()}")
    elif at == "gtp-payload":
        e.want(len(seg) >= 16, f"{len(seg)} bytes: not a cut after the GTP header")
        e.want("gtp" in d.names(), "tshark finds no GTP header")
    else:
        e.want(False, f"unknown truncation {at}")


def check_other(e, b, d, m):
    kind = m["kind"]
    names = d.names()
    if kind == "arp":
        e.eq("ethertype", int.from_bytes(b[12:14], "big"), 0x0806)
        a = Ether(b)[ARP] if ARP in Ether(b) else None
        if e.want(a is not None, "scapy finds no ARP"):
            e.eq("ARP hardware type", a.hwtype, 1)
            e.eq("ARP protocol type", a.ptype, 0x0800)
            e.eq("ARP sizes", (a.hwlen, a.plen), (6, 4))
            e.want(a.op in (1, 2), f"ARP opcode {a.op} is neither request nor reply")
        e.want(t_int(d.field("arp", "arp.opcode")) in (1, 2),
               f"tshark's ARP opcode is {d.field('arp', 'arp.opcode')}")
        t_clean(e, d)
    elif kind == "ipv6":
        e.eq("ethertype", int.from_bytes(b[12:14], "big"), 0x86DD)
        p = Ether(b)
        if e.want(IPv6 in p, "scapy finds no IPv6"):
            e.eq("IPv6 version", p[IPv6].version, 6)
            e.eq("IPv6 payload length against the frame", p[IPv6].plen, len(b) - 54)
        e.want("ipv6" in names, f"tshark finds no IPv6 ({names})")
        e.want(not d.malformed(), f"tshark calls the IPv6 packet malformed: {d.experts()}")
    elif kind == "unsupported":
        et = int.from_bytes(b[12:14], "big")
        e.want(et not in (0x0800, 0x0806, 0x86DD, 0x8100), f"ethertype {et:#06x} is one the kernels handle")
        e.eq("tshark's ethertype", t_int(d.field("eth", "eth.type")), et)
        e.want(not {"ip", "arp", "ipv6", "vlan"} & set(names), f"tshark finds {names}")


def read_frames(pcap):
    return [bytes(data) for data, _ in RawPcapReader(pcap)]


def check(pcap, meta_path):
    meta = json.load(open(meta_path))
    frames = read_frames(pcap)
    out = subprocess.run(TSHARK + ["-r", pcap], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"tshark failed: {out.stderr}")
    diss = [Dissection(f) for f in json.loads(out.stdout)]
    e = Errors()
    if len(frames) != len(meta) or len(diss) != len(meta):
        e.lines.append(f"{len(frames)} frames (tshark: {len(diss)}) for {len(meta)} descriptions")
        return e.lines
    for i, (b, d, m) in enumerate(zip(frames, diss, meta)):
        e.frame = f"frame {i + 1} {m['name']}"
        e.eq("frame length against the JSON", len(b), m["frame_len"])
        try:
            check_one(e, b, d, m)
        except Exception as x:  # a frame the checks cannot even walk is not what it says
            e.want(False, f"cannot be checked: {type(x).__name__}: {x}")
    return e.lines


def check_one(e, b, d, m):
        src = m["source"]
        if src == "buildGtp":
            check_built_gtp(e, b, d, m)
        elif src == "buildEth":
            check_built_eth(e, b, d, m)
        elif m["kind"] == "malformed":
            check_malformed(e, b, d, m)
        elif m["kind"] == "truncated":
            check_truncated(e, b, d, m)
        elif m["kind"] in ("arp", "ipv6", "unsupported"):
            check_other(e, b, d, m)
        else:
            check_framegen_gtp(e, b, d, m)


# ---- self-test -------------------------------------------------------------------------------

def damaged(tmp, pcap, meta_path, what, frame_name, edit):
    """A copy of the capture (or of the JSON) with one frame damaged by `edit`."""
    meta = json.load(open(meta_path))
    idx = [m["name"] for m in meta].index(frame_name)
    frames = [bytearray(f) for f in read_frames(pcap)]
    p2, j2 = os.path.join(tmp, f"{what}.pcap"), os.path.join(tmp, f"{what}.json")
    edit(frames[idx], meta[idx])
    w = RawPcapWriter(p2, linktype=1)  # Ethernet
    for f in frames:
        w.write(bytes(f))
    w.close()
    json.dump(meta, open(j2, "w"))
    return p2, j2, f"frame {idx + 1} {frame_name}"


def ip_at(f):
    return 18 if f[12:14] == b"\x81\x00" else 14


def udp_at(f):
    return ip_at(f) + 4 * (f[ip_at(f)] & 0xF)


def untruncate(f, m):
    """Makes the IPv4 total length say what is left of the frame: no longer cut."""
    f[ip_at(f) + 2:ip_at(f) + 4] = (len(f) - ip_at(f)).to_bytes(2, "big")


def self_test(tmp, pcap, meta_path):
    def flip(off):
        def edit(f, m):
            f[off(f)] ^= 0x01
        return edit

    def set_json(key, sub, value):
        def edit(f, m):
            m[key][sub] = value
        return edit

    # (damage, frame, edit, words the complaint must hold)
    cases = [
        ("teid", "gpdu-udp-checksum-zero", flip(lambda f: udp_at(f) + 8 + 7), "TEID"),
        ("inner-udp-sum", "gpdu-inner-proto-17", flip(lambda f: len(f) - 1), "UDP checksum"),
        ("outer-ip-sum", "framegen-fragment", flip(lambda f: ip_at(f) + 10), "header checksum"),
        ("icmp-id", "gate-downlink-1-vlan", flip(lambda f: 18 + 24 + 5), "ICMP id"),
        ("not-malformed", "framegen-malformed-ipv4-version-6",
         lambda f, m: f.__setitem__(ip_at(f), 0x45), "version"),
        ("not-truncated", "framegen-truncated-in-gtp-payload", untruncate, "total length"),
        ("qfi-intent", "gate-uplink-6", set_json("gtp", "qfi", 18), "QFI"),
        ("vlan-intent", "gate-downlink-17", lambda f, m: m.__setitem__("vlan", VLAN_ID), "802.1Q"),
    ]
    failed = []
    for what, name, edit, words in cases:
        p2, j2, where = damaged(tmp, pcap, meta_path, what, name, edit)
        errs = check(p2, j2)
        caught = [x for x in errs if x.startswith(where + ":") and words in x]
        others = [x for x in errs if not x.startswith(where + ":")]
        if not caught:
            failed.append(f"self-test: damage '{what}' to {where} was not caught as '{words}': {errs[:3]}")
        elif others:
            failed.append(f"self-test: damage '{what}' to {where} blamed other frames: {others[:3]}")
        else:
            print(f"self-test: damage '{what}' caught: {caught[0]}")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="FRAMES.pcap FRAMES.json")
    ap.add_argument("--dump", help="pktgen_dump to run into a temporary folder")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if bool(a.dump) == bool(a.files) or (a.files and len(a.files) != 2) or (a.self_test and not a.dump):
        ap.print_usage(sys.stderr)
        sys.stderr.write("give FRAMES.pcap FRAMES.json, or --dump PKTGEN_DUMP [--self-test]\n")
        return 2
    tmp = tempfile.mkdtemp(prefix="pktgen_check.")
    try:
        if a.dump:
            pcap, meta = os.path.join(tmp, "frames.pcap"), os.path.join(tmp, "frames.json")
            r = subprocess.run([a.dump, pcap, meta])
            if r.returncode != 0:
                print(f"{a.dump} exited {r.returncode}")
                return 1
        else:
            pcap, meta = a.files
        errs = check(pcap, meta)
        n = len(json.load(open(meta)))
        for x in errs:
            print(x)
        if errs:
            print(f"{len(errs)} problems in {n} frames")
            return 1
        print(f"all {n} frames are what pktgen says (scapy and tshark)")
        if a.self_test:
            failed = self_test(tmp, pcap, meta)
            for x in failed:
                print(x)
            if failed:
                return 1
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
