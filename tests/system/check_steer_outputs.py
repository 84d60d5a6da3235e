#!/usr/bin/python3
"""Checks the outputs of steer instances against their input, with scapy.

usage: check_steer_outputs.py IN.pcap PINNED.txt GATEWAYS.json OUT_A.pcap OUT_B.pcap ...
       check_steer_outputs.py IN.pcap PINNED.json GATEWAYS.json OUT.pcap   (one instance)

- every G-PDU of the input (TEID != 0) leaves every instance exactly once;
- a TEID leaves every instance toward the same gateway (outer destination and next-hop MAC);
- a pinned TEID leaves toward its pinned gateway;
- the outer IPv4 header checksum and a non-zero UDP checksum verify (recomputed by scapy),
  TTL is one less than sent, and everything after the outer IPv4 header is unchanged except
  the UDP checksum;
- the per-gateway packet counts equal what each instance's counters say (GATEWAYS.json holds
  `roamctl gateway list --json` for each instance, in the order of the outputs, or one such
  list for one instance). PINNED.json is `roamctl --json session list`.
"""
import json
import sys
from collections import Counter

from scapy.all import IP, UDP, Ether, rdpcap, raw
from scapy.contrib.gtp import GTP_U_Header


def outer(pkt):
    ip = pkt[IP]
    return ip, ip.payload


def gpdus(path):
    out = {}
    for p in rdpcap(path):
        if IP in p and UDP in p and p[UDP].dport == 2152 and GTP_U_Header in p:
            g = p[GTP_U_Header]
            if g.gtp_type == 255 and g.teid != 0:
                if g.teid in out:
                    sys.exit(f"{path}: TEID {g.teid:#x} appears twice")
                out[g.teid] = p
    return out


def verify_rewrite(sent, got, where):
    si, gi = sent[IP], got[IP]
    if gi.ttl != si.ttl - 1:
        sys.exit(f"{where}: TTL {gi.ttl}, sent {si.ttl}")
    # Header checksum: recompute from the bytes as received.
    hdr = bytearray(raw(gi)[: gi.ihl * 4])
    c = gi.chksum
    hdr[10:12] = b"\0\0"
    s = sum(int.from_bytes(hdr[i:i + 2], "big") for i in range(0, len(hdr), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    if (~s & 0xFFFF) != c:
        sys.exit(f"{where}: outer IPv4 checksum {c:#06x}, want {~s & 0xFFFF:#06x}")
    gu = got[UDP]
    if gu.chksum != 0:
        check = got.copy()
        check[UDP].chksum = None
        want = IP(raw(check[IP]))[UDP].chksum
        if want != gu.chksum:
            sys.exit(f"{where}: UDP checksum {gu.chksum:#06x}, want {want:#06x}")
    elif sent[UDP].chksum != 0:
        sys.exit(f"{where}: UDP checksum became zero")
    a, b = bytearray(raw(sent[UDP])), bytearray(raw(gu))
    a[6:8] = b[6:8] = b"\0\0"
    if a != b:
        sys.exit(f"{where}: bytes after the outer IPv4 header changed")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    inp, pinned_path, gw_path, outs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    sent = gpdus(inp)
    pinned = {}
    if pinned_path.endswith(".json"):
        for e in json.load(open(pinned_path)):
            pinned[int(str(e["teid"]), 0)] = int(e["gateway"])
    else:
        for line in open(pinned_path):
            t, g = line.split()
            pinned[int(t, 0)] = int(g)
    gw_lists = json.load(open(gw_path))
    if gw_lists and isinstance(gw_lists[0], dict):
        gw_lists = [gw_lists]
    if len(gw_lists) != len(outs):
        sys.exit(f"{gw_path}: {len(gw_lists)} gateway lists for {len(outs)} outputs")
    by_ip = [{g["ip"]: g for g in lst} for lst in gw_lists]
    results = [gpdus(o) for o in outs]
    for o, res in zip(outs, results):
        missing = set(sent) - set(res)
        if missing:
            sys.exit(f"{o}: {len(missing)} TEIDs missing, e.g. {min(missing):#x}")
        extra = set(res) - set(sent)
        if extra:
            sys.exit(f"{o}: TEIDs that were not sent: {sorted(extra)[:3]}")
    for teid, s in sent.items():
        dests = {(r[teid][IP].dst, r[teid][Ether].dst) for r in results}
        if len(dests) != 1:
            sys.exit(f"TEID {teid:#x} leaves the instances toward different gateways: {dests}")
        for k, (o, r) in enumerate(zip(outs, results)):
            verify_rewrite(s, r[teid], f"{o} TEID {teid:#x}")
            gw = by_ip[k].get(r[teid][IP].dst)
            if gw is None or gw["mac"] != r[teid][Ether].dst:
                sys.exit(f"{o} TEID {teid:#x}: {r[teid][IP].dst} {r[teid][Ether].dst} is no gateway")
            if teid in pinned and gw["id"] != pinned[teid]:
                sys.exit(f"{o} TEID {teid:#x}: pinned to {pinned[teid]}, went to {gw['id']}")
    for k, (o, r) in enumerate(zip(outs, results)):
        counts = Counter(p[IP].dst for p in r.values())
        for ip, g in by_ip[k].items():
            if g["packets"] != counts.get(ip, 0):
                sys.exit(f"{o}: gateway {ip} counter {g['packets']}, capture has {counts.get(ip, 0)}")
    spread = Counter(results[0][t][IP].dst for t in sent)
    print(f"ok: {len(sent)} TEIDs ({len(pinned)} pinned) leave {len(outs)} instances on the same gateway;"
          f" spread {dict(sorted(spread.items()))}")


if __name__ == "__main__":
    main()
