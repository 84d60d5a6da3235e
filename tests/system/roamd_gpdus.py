#!/usr/bin/python3
"""G-PDUs for every session roamd created (scapy), and the check of what a steer sent on.

make:  one G-PDU per session to the steer's address, inner TCP from the terminal.
check: every session's TEID left exactly once, outer destination its gate's gateway address,
       TEID and inner packet unchanged, TTL one less.
"""
import argparse
import json
import sys

from scapy.all import IP, TCP, UDP, Ether, Raw, rdpcap, wrpcap
from scapy.contrib.gtp import GTP_U_Header


def make(args):
    sessions = json.load(open(args.sessions))
    pkts = []
    for s in sessions:
        teid = int(s["teid"], 16)
        # Ether(src=RAN, dst=steer)/IP(RAN -> steer)/UDP(2152)/GTP-U G-PDU(teid)/IP(ue -> server)/TCP
        pkts.append(Ether(src="02:00:00:00:01:01", dst=args.steer_mac) /
                    IP(src="198.18.1.1", dst=args.steer_ip, ttl=64) /
                    UDP(sport=2152, dport=2152) /
                    GTP_U_Header(teid=teid, gtp_type=255) /
                    IP(src=s["ue_ip"], dst="198.18.3.10") / TCP(sport=40000, dport=80, flags="S") /
                    Raw(s["teid"].encode()))
    wrpcap(args.out, pkts)


def check(args):
    sessions = {int(s["teid"], 16): s for s in json.load(open(args.sessions))}
    gw_ip = {g["gate"]: g["ip"] for g in json.load(open(args.gateways))}
    seen = {}
    bad = 0
    for p in rdpcap(args.pcap):
        if not p.haslayer(GTP_U_Header):
            print("not a G-PDU:", p.summary())
            bad += 1
            continue
        teid = p[GTP_U_Header].teid
        s = sessions.get(teid)
        if s is None:
            print(f"unknown TEID 0x{teid:08x}")
            bad += 1
            continue
        want = gw_ip[s["gate"]]
        inner = p[GTP_U_Header].payload
        problems = []
        if p[IP].dst != want:
            problems.append(f"to {p[IP].dst}, its gate {s['gate']} is {want}")
        if p[IP].ttl != 63:
            problems.append(f"TTL {p[IP].ttl}")
        if inner[IP].src != s["ue_ip"] or bytes(inner[Raw].load) != s["teid"].encode():
            problems.append("inner packet changed")
        if problems:
            print(f"0x{teid:08x}: " + ", ".join(problems))
            bad += 1
        seen[teid] = seen.get(teid, 0) + 1
    missing = set(sessions) - set(seen)
    twice = [t for t, n in seen.items() if n > 1]
    print(f"{args.pcap}: {sum(seen.values())} G-PDUs, {len(missing)} sessions missing, "
          f"{len(twice)} twice, {bad} wrong")
    return 0 if not missing and not twice and bad == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--sessions", required=True)
    m.add_argument("--steer-ip", required=True)
    m.add_argument("--steer-mac", default="02:00:00:00:01:0a")
    m.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--sessions", required=True)
    c.add_argument("--gateways", required=True)
    c.add_argument("--pcap", required=True)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
