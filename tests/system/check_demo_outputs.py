#!/usr/bin/python3
"""Checks what scripts/demo showed, from the files it left in DEMO_DIR (scapy and tshark).

usage: check_demo_outputs.py DEMO_DIR

steer/ (500 TEIDs, one pinned, four gateways, plus ARP, GTP-U echo, a TEID-0 G-PDU and a
packet that is not GTP-U):
- check_steer_outputs.py: every G-PDU left once, on its gateway (the pinned one on its own),
  rewritten with valid checksums; the gateway counters equal the capture;
- tshark: the steering port's capture holds exactly the 500 G-PDUs and every IPv4 and UDP
  checksum verifies; the host got exactly the ARP, the echo and the TEID-0 G-PDU;
- the kernel's counters (stats.json) say the same.
gate/: check_gate_outputs.py (frame counts and checksums of both outputs, addresses, TEIDs,
the punted frames, per-session and kernel counters, one export record per session).
Exits 1 naming every check that failed.
"""
import json
import subprocess
import sys

HERE = sys.path[0]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


OPTS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
# What the checks ask tshark about each frame; "arp" (the protocol) is set on ARP frames.
FIELDS = ["frame.number", "ip.checksum.status", "udp.checksum.status", "gtp.message", "gtp.teid", "arp"]
BAD = "ip.checksum.status == 0 || udp.checksum.status == 0"
# (path -> running tshark, path -> its result): each capture is read by tshark once (plus once
# more with the BAD filter when a bad checksum makes us print tshark's summary of those frames).
runs, decoded = {}, {}


def tshark(path, *args):
    """tshark's summary lines (with ARGS, e.g. a display filter) of a capture."""
    out = subprocess.run(["tshark", "-r", path, *OPTS, *args], capture_output=True, text=True)
    if out.returncode != 0:
        fail("tshark cannot read %s: %s" % (path, out.stderr.strip()))
        return []
    return [l for l in out.stdout.splitlines() if l.strip()]


def start(path):
    """Starts tshark decoding a capture into FIELDS; frames(path) takes the result."""
    if path not in runs:
        fields = [a for f in FIELDS for a in ("-e", f)]
        runs[path] = subprocess.Popen(["tshark", "-r", path, *OPTS, "-T", "fields", "-E", "separator=|", *fields],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def frames(path, calls):
    """Every frame of a capture as tshark decodes it: a dict of FIELDS, each field the list of its
    occurrences in the frame (the outer and inner IPv4 header of a G-PDU give two checksum
    statuses), [] if absent. If tshark cannot read the capture, [] after the failure message that
    each of the CALLS tshark runs this one stands for printed."""
    if path not in decoded:
        start(path)
        stdout, stderr = runs[path].communicate()
        rows = None
        if runs[path].returncode == 0:
            rows = []
            for line in stdout.splitlines():
                if line.strip():
                    values = line.split("|", len(FIELDS) - 1)
                    rows.append({f: v.split(",") if v else [] for f, v in zip(FIELDS, values)})
        decoded[path] = (rows, stderr.strip())
    rows, err = decoded[path]
    if rows is None:
        for _ in range(calls):
            fail("tshark cannot read %s: %s" % (path, err))
        return []
    return rows


def nums(frame, field):
    return [int(v, 0) for v in frame[field]]


def checker(name, *args):
    """Runs one of the system tests' checkers; its output is part of ours."""
    r = subprocess.run(["/usr/bin/python3", HERE + "/" + name, *args], capture_output=True, text=True)
    sys.stdout.write(r.stdout + r.stderr)
    if r.returncode != 0:
        fail("%s %s failed" % (name, " ".join(a.split("/")[-1] for a in args)))


def steer(d):
    teids = 500
    start(d + "/steering.pcap")
    start(d + "/host.pcap")
    checker("check_steer_outputs.py", d + "/access.pcap", d + "/pinned.json", d + "/gateways.json",
            d + "/steering.pcap")
    out = d + "/steering.pcap"
    host = d + "/host.pcap"
    # tshark decodes both captures while the checker above runs; the filters of the checks are
    # applied to its fields as tshark's display filters would: "f == v" holds if any occurrence
    # of f is v, "f != v" if f occurs and none is v.
    fr = frames(out, 4)
    gpdus = [f for f in fr if 255 in nums(f, "gtp.message") and nums(f, "gtp.teid")
             and 0 not in nums(f, "gtp.teid")]
    bad = [f for f in fr if 0 in nums(f, "ip.checksum.status") or 0 in nums(f, "udp.checksum.status")]
    if bad:
        bad = tshark(out, "-Y", BAD)  # tshark's own summary of those frames
    good = [f for f in fr if f["ip.checksum.status"][:1] == ["1"]]
    print("steering.pcap: %d frames, %d G-PDUs, tshark: %d good outer IPv4 checksums, %d frames with a bad "
          "checksum" % (len(fr), len(gpdus), len(good), len(bad)))
    if len(fr) != teids or len(gpdus) != teids:
        fail("steering.pcap has %d frames (%d G-PDUs), want the %d G-PDUs" % (len(fr), len(gpdus), teids))
    if bad:
        fail("tshark finds bad checksums in steering.pcap: %s" % bad[:3])
    if len(good) != len(fr):
        fail("steering.pcap: only %d of %d outer IPv4 checksums verified good" % (len(good), len(fr)))
    punted = frames(host, 4)
    kinds = (sum(1 for f in punted if f["arp"]), sum(1 for f in punted if 1 in nums(f, "gtp.message")),
             sum(1 for f in punted if 255 in nums(f, "gtp.message") and 0 in nums(f, "gtp.teid")))
    print("host.pcap: %d frames (ARP, GTP-U echo request, TEID-0 G-PDU: %s)" % (len(punted), kinds))
    if len(punted) != 3 or kinds != (1, 1, 1):
        fail("host.pcap has %d frames %s, want the ARP, the echo request and the TEID-0 G-PDU" % (len(punted), kinds))
    st = json.load(open(d + "/stats.json"))
    want = {"tx_frames": teids, "session_hits": 1, "maglev_hits": teids - 1, "punt_frames": 3, "drop_not_gtpu": 1}
    got = {k: st.get(k) for k in want}
    print("steer counters:", got)
    if got != want:
        fail("steer counters %s, want %s" % (got, want))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    print("-- steer")
    steer(d + "/steer")
    print("-- gate")
    checker("check_gate_outputs.py", d + "/gate")
    if failures:
        print("demo: %d checks failed" % len(failures))
        sys.exit(1)
    print("demo: every check passed")


if __name__ == "__main__":
    main()
