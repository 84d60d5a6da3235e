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


def tshark(path, *args):
    out = subprocess.run(["tshark", "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                          *args], capture_output=True, text=True)
    if out.returncode != 0:
        fail("tshark cannot read %s: %s" % (path, out.stderr.strip()))
        return []
    return [l for l in out.stdout.splitlines() if l.strip()]


def checker(name, *args):
    """Runs one of the system tests' checkers; its output is part of ours."""
    r = subprocess.run(["/usr/bin/python3", HERE + "/" + name, *args], capture_output=True, text=True)
    sys.stdout.write(r.stdout + r.stderr)
    if r.returncode != 0:
        fail("%s %s failed" % (name, " ".join(a.split("/")[-1] for a in args)))


def steer(d):
    teids = 500
    checker("check_steer_outputs.py", d + "/access.pcap", d + "/pinned.json", d + "/gateways.json",
            d + "/steering.pcap")
    out = d + "/steering.pcap"
    frames = tshark(out)
    gpdus = tshark(out, "-Y", "gtp.message == 255 && gtp.teid != 0")
    bad = tshark(out, "-Y", "ip.checksum.status == 0 || udp.checksum.status == 0")
    good = [l for l in tshark(out, "-T", "fields", "-e", "ip.checksum.status") if l.split(",")[0] == "1"]
    print("steering.pcap: %d frames, %d G-PDUs, tshark: %d good outer IPv4 checksums, %d frames with a bad "
          "checksum" % (len(frames), len(gpdus), len(good), len(bad)))
    if len(frames) != teids or len(gpdus) != teids:
        fail("steering.pcap has %d frames (%d G-PDUs), want the %d G-PDUs" % (len(frames), len(gpdus), teids))
    if bad:
        fail("tshark finds bad checksums in steering.pcap: %s" % bad[:3])
    if len(good) != len(frames):
        fail("steering.pcap: only %d of %d outer IPv4 checksums verified good" % (len(good), len(frames)))
    host = d + "/host.pcap"
    punted = tshark(host)
    kinds = (len(tshark(host, "-Y", "arp")), len(tshark(host, "-Y", "gtp.message == 1")),
             len(tshark(host, "-Y", "gtp.message == 255 && gtp.teid == 0")))
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
