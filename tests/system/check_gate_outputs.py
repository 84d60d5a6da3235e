#!/usr/bin/python3
"""Checks the outputs of tests/system/gate_sim.sh against the scapy-built plan.

usage: check_gate_outputs.py WORKDIR

WORKDIR holds make_gate_capture.py's plan and what the run produced: service-out.pcap,
access-out.pcap, punts.json (`roamctl --json host punts`), stats.json (`roamctl --json
stats`), the sessions' counters as users.jsonl or users.json (`roamctl --json user get`
outputs, one after another) and the export records as export.jsonl or export.txt (the lines
`roamctl export` prints).
"""
import collections
import json
import os
import re
import subprocess
import sys

from scapy.all import ICMP, IP, TCP, UDP, Ether, rdpcap
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

NAT = ["198.18.3.1", "198.18.3.2"]
GATE_MAC, RAN_MAC, ROUTER_MAC = "02:00:00:00:01:64", "02:00:00:00:01:01", "02:00:00:00:03:fe"
failures = []


def fail(msg):
    failures.append(msg)
    if len(failures) <= 20:
        print("FAIL:", msg)


OPTS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
# What the checks ask tshark about each frame.
FIELDS = ["frame.number", "ip.checksum.status", "tcp.checksum.status", "udp.checksum.status",
          "icmp.checksum.status", "gtp.teid", "ip.src", "ip.dst"]
STATUS = ["ip.checksum.status", "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status"]
BAD = " || ".join("%s == 0" % f for f in STATUS)
# Each capture is read by tshark once (plus once more with the BAD filter when a bad checksum
# makes us print tshark's summary of those frames) and by scapy once: path -> running tshark,
# path -> tshark's frames, path -> scapy's packets.
runs, decoded, packets = {}, {}, {}


def tshark(path, *args):
    """tshark's summary lines (with ARGS, e.g. a display filter) of a capture."""
    out = subprocess.run(["tshark", "-r", path, *OPTS, *args], capture_output=True, text=True, check=True)
    return [l for l in out.stdout.splitlines() if l.strip()]


def start(path):
    """Starts tshark decoding a capture into FIELDS; frames(path) takes the result."""
    if path not in runs:
        fields = [a for f in FIELDS for a in ("-e", f)]
        runs[path] = subprocess.Popen(["tshark", "-r", path, *OPTS, "-T", "fields", "-E", "separator=|", *fields],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def frames(path):
    """Every frame of a capture as tshark decodes it: a dict of FIELDS, each field the string tshark
    prints, the values of its occurrences in the frame joined by "," (the outer and inner IPv4
    header of a G-PDU give two), "" if absent."""
    if path not in decoded:
        start(path)
        r = runs[path]
        stdout, stderr = r.communicate()
        if r.returncode != 0:
            raise subprocess.CalledProcessError(r.returncode, r.args, stdout, stderr)
        decoded[path] = [dict(zip(FIELDS, l.split("|"))) for l in stdout.splitlines() if l.strip()]
    return decoded[path]


def read_pcap(path):
    if path not in packets:
        packets[path] = rdpcap(path)
    return packets[path]


def json_values(path):
    """Every JSON value in a file: one per line, or pretty-printed one after another."""
    text, pos, out = open(path).read(), 0, []
    dec = json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return out
        v, pos = dec.raw_decode(text, pos)
        out.append(v)


EXPORT_LINE = re.compile(r"^(\S+) (\d+):(\d+) ul (\d+)/(\d+) dl (\d+)/(\d+)\b")


def export_records(work):
    if os.path.exists(work + "/export.jsonl"):
        return json_values(work + "/export.jsonl")
    recs = []
    for line in open(work + "/export.txt"):
        m = EXPORT_LINE.match(line)
        if not m:
            fail("export.txt: %r is not a `roamctl export` record line" % line.rstrip())
            continue
        reason, idx, port, ulp, ulb, dlp, dlb = m.groups()
        recs.append({"reason": reason, "addr_index": int(idx), "port": int(port), "ul_packets": int(ulp),
                     "ul_bytes": int(ulb), "dl_packets": int(dlp), "dl_bytes": int(dlb)})
    return recs


def checksums(path, want):
    fr = frames(path)
    n = len(fr)
    # As the display filter BAD: "f == 0" holds if any occurrence of f is 0.
    bad = [f for f in fr if any("0" in f[k].split(",") for k in STATUS)]
    if bad:
        bad = tshark(path, "-Y", BAD)  # tshark's own summary of those frames
    good = [f for f in fr if f["ip.checksum.status"].split(",")[0] == "1"]
    print("%s: %d frames, tshark: %d good IPv4 header checksums, %d frames with a bad checksum" %
          (path.split("/")[-1], n, len(good), len(bad)))
    if n != want:
        fail("%s has %d frames, want %d" % (path, n, want))
    if bad:
        fail("tshark finds bad checksums in %s: %s" % (path, bad[:3]))
    if len(good) != n:
        fail("%s: only %d of %d IPv4 checksums verified good" % (path, len(good), n))


def main():
    work = sys.argv[1]
    start(work + "/service-out.pcap")
    start(work + "/access-out.pcap")
    sessions = json.load(open(work + "/sessions.json"))
    by_port = {(s["addr_index"], s["port"]): s for s in sessions}
    ul_total = sum(s["ul_packets"] for s in sessions)
    dl_total = sum(s["dl_packets"] for s in sessions)

    # Uplink: decapsulated, source = gate address : user port, destination = the server.
    checksums(work + "/service-out.pcap", ul_total)
    seen = collections.Counter()
    seen_bytes = collections.Counter()
    for p in read_pcap(work + "/service-out.pcap"):
        if p[Ether].dst != ROUTER_MAC or p[Ether].src != GATE_MAC:
            fail("uplink frame with MACs %s -> %s" % (p[Ether].src, p[Ether].dst))
        ip = p[IP]
        idx = NAT.index(ip.src) if ip.src in NAT else -1
        port = ip[ICMP].id if ICMP in ip else ip.sport
        s = by_port.get((idx, port))
        if s is None:
            fail("uplink packet from %s:%d matches no user session" % (ip.src, port))
            continue
        want_dst = s["dst"] if s["external"] else s["server"]
        want_dport = s["dport"] if s["external"] else s["server_port"]
        if ip.dst != want_dst or (ICMP not in ip and ip.dport != want_dport) or ip.ttl != 63:
            fail("uplink packet of port %d: to %s:%s ttl %d, want %s:%d ttl 63" %
                 (port, ip.dst, getattr(ip, "dport", "-"), ip.ttl, want_dst, want_dport))
        seen[(idx, port)] += 1
        seen_bytes[(idx, port)] += ip.len
    for s in sessions:
        k = (s["addr_index"], s["port"])
        if seen[k] != s["ul_packets"] or seen_bytes[k] != s["ul_bytes"]:
            fail("port %d: %d uplink packets / %d bytes out, sent %d / %d" %
                 (s["port"], seen[k], seen_bytes[k], s["ul_packets"], s["ul_bytes"]))

    # Downlink: GTP-U toward the session's peer with its TEID (and QFI), inner addresses restored.
    checksums(work + "/access-out.pcap", dl_total)
    fields = [";".join(f[k] for k in ("gtp.teid", "ip.src", "ip.dst")) for f in frames(work + "/access-out.pcap")]
    teids_by_tshark = collections.Counter(int(f.split(";")[0], 0) for f in fields)
    by_teid = {s["dl_teid"]: s for s in sessions}
    dl_seen = collections.Counter()
    dl_bytes = collections.Counter()
    for line, p in zip(fields, read_pcap(work + "/access-out.pcap")):
        teid_s, srcs, dsts = line.split(";")
        teid = int(teid_s, 0)
        s = by_teid.get(teid)
        if s is None:
            fail("downlink TEID %#x (tshark) matches no user session" % teid)
            continue
        outer_src, inner_src = srcs.split(",")
        outer_dst, inner_dst = dsts.split(",")
        want_src = s["dst"]  # representative address, or the external host itself
        if outer_src != "198.18.1.100" or outer_dst != s["peer"] or inner_dst != s["src"] or inner_src != want_src:
            fail("downlink TEID %#x: %s -> %s / %s -> %s, want 198.18.1.100 -> %s / %s -> %s" %
                 (teid, outer_src, outer_dst, inner_src, inner_dst, s["peer"], want_src, s["src"]))
        if p[Ether].dst != RAN_MAC or p[UDP].sport != 2152 or p[UDP].dport != 2152:
            fail("downlink TEID %#x: MAC %s, UDP %d -> %d" % (teid, p[Ether].dst, p[UDP].sport, p[UDP].dport))
        gtp = p[GTP_U_Header]
        qfi = p[GTPPDUSessionContainer].QFI if GTPPDUSessionContainer in p else None
        if qfi != s["qfi"]:
            fail("downlink TEID %#x: QFI %s, want %s" % (teid, qfi, s["qfi"]))
        inner = gtp.payload if qfi is None else p[GTPPDUSessionContainer].payload
        inner = IP(bytes(inner))
        if ICMP in inner:
            if inner[ICMP].id != s["sport"]:
                fail("downlink ICMP id %d, want %d" % (inner[ICMP].id, s["sport"]))
        elif inner.dport != s["sport"] or inner.sport != s["dport"]:
            fail("downlink ports %d -> %d, want %d -> %d" % (inner.sport, inner.dport, s["dport"], s["sport"]))
        dl_seen[teid] += 1
        dl_bytes[teid] += inner.len
    for s in sessions:
        if dl_seen[s["dl_teid"]] != s["dl_packets"] or dl_bytes[s["dl_teid"]] != s["dl_bytes"]:
            fail("TEID %#x: %d downlink packets / %d bytes out, sent %d / %d" %
                 (s["dl_teid"], dl_seen[s["dl_teid"]], dl_bytes[s["dl_teid"]], s["dl_packets"], s["dl_bytes"]))
    print("downlink: %d GTP-U frames, %d distinct TEIDs decoded by tshark" % (len(fields), len(teids_by_tshark)))

    # Punts: the late sessions' first packets, as flow misses.
    punts = json.load(open(work + "/punts.json"))
    late = [s for s in sessions if s["late"]]
    if len(punts) != sum(s["ul_packets"] for s in late) or any(p["reason"] != "flow_miss" for p in punts):
        fail("punted %d frames (%s), want the late sessions' %d flow misses" %
             (len(punts), collections.Counter(p["reason"] for p in punts), sum(s["ul_packets"] for s in late)))
    late_teids = collections.Counter(s["teid"] for s in late for _ in range(s["ul_packets"]))
    # roamctl prints TEIDs as tshark does, "0x0000abcd".
    punt_teids = [int(p["teid"], 16) for p in punts]
    if collections.Counter(punt_teids) != late_teids:
        fail("punt metadata TEIDs %s, want the late sessions' %s" % (sorted(punt_teids), sorted(late_teids.elements())))

    # The kernel's per-session counters: exactly the packets and bytes sent.
    users_path = work + "/users.jsonl" if os.path.exists(work + "/users.jsonl") else work + "/users.json"
    users = json_values(users_path)
    if len(users) != len(sessions):
        fail("%s holds %d user sessions' counters, want %d" % (users_path, len(users), len(sessions)))
    for u in users:
        s = by_port[(u["addr_index"], u["port"])]
        got = (u["ul_packets"], u["ul_bytes"], u["dl_packets"], u["dl_bytes"], u["fin"])
        want = (s["ul_packets"], s["ul_bytes"], s["dl_packets"], s["dl_bytes"], s["fin"])
        if got != want or not u["valid"]:
            fail("port %d counters %s, want %s" % (u["port"], got, want))
    stats = json.load(open(work + "/stats.json"))
    print("kernel: ul_hits %d, dl_hits %d, punts %d" % (stats["ul_hits"], stats["dl_hits"], stats["punt_frames"]))
    if stats["ul_hits"] != ul_total or stats["dl_hits"] != dl_total:
        fail("kernel hit counters %d/%d, want %d/%d" % (stats["ul_hits"], stats["dl_hits"], ul_total, dl_total))

    # Export: one final record per session, idle or closed, with the same counters.
    recs = export_records(work)
    by_rec = collections.defaultdict(list)
    for r in recs:
        by_rec[(r["addr_index"], r["port"])].append(r)
    for s in sessions:
        rs = by_rec.get((s["addr_index"], s["port"]), [])
        if len(rs) != 1:
            fail("port %d: %d export records, want 1" % (s["port"], len(rs)))
            continue
        r = rs[0]
        want_reason = "closed" if s["fin"] else "idle"
        got = (r["reason"], r["ul_packets"], r["ul_bytes"], r["dl_packets"], r["dl_bytes"])
        want = (want_reason, s["ul_packets"], s["ul_bytes"], s["dl_packets"], s["dl_bytes"])
        if got != want:
            fail("port %d export record %s, want %s" % (s["port"], got, want))
    print("export: %d records for %d user sessions" % (len(recs), len(sessions)))
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("gate system test: all checks passed")


if __name__ == "__main__":
    main()
