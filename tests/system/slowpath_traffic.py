#!/usr/bin/python3
"""Traffic of roamd_slowpath.sh, built by scapy: 50 subscribers' uplink G-PDUs into the gate's
access TAP, in phases, and the check of what the service side carried.

usage: slowpath_traffic.py WORK send first|later|retarget|third|new
       slowpath_traffic.py WORK check

Subscriber k (1..50) is session k of WORK/sessions.json (terminal 198.19.0.k). Its flows:
3 TCP to web (198.18.10.10:443), 2 TCP to api (198.18.10.11:443, a series service), 3 UDP to
dns (198.18.10.12:53, affinity), 2 UDP to external hosts (198.18.20.k:3478). Subscriber 50
may use web only: its other 7 flows are denied. Every packet carries its flow's index and its
phase in the payload, so the check can match each output packet to what was sent."""
import collections
import json
import sys

from scapy.all import ICMP, IP, TCP, UDP, Ether, Raw, rdpcap, sendp
from scapy.contrib.gtp import GTP_U_Header

work, mode = sys.argv[1], sys.argv[2]
GATE_MAC, RAN_MAC = "02:00:00:00:02:14", "02:00:00:00:01:01"
ACCESS, RAN = "198.18.1.100", "198.18.1.1"
NAT = {"198.18.3.1", "198.18.3.2"}
WEB = {"198.18.11.1": 1, "198.18.11.2": 10}
API = {"198.18.12.1", "198.18.12.2"}
DNS = {"198.18.13.1"}  # 198.18.13.2 fails its health check, 198.18.13.3 drains: never picked
DENIED_IMSI = "001010000000050"

sessions = sorted(json.load(open(f"{work}/sessions.json")), key=lambda s: s["imsi"])
assert len(sessions) == 50, len(sessions)


def flows():
    """(index, subscriber, kind, proto, dst, sport, dport) of the 500 first flows."""
    out = []
    for k, s in enumerate(sessions, 1):
        spec = [("web", 6, "198.18.10.10", 10000 + j, 443) for j in range(3)]
        spec += [("api", 6, "198.18.10.11", 20000 + j, 443) for j in range(2)]
        spec += [("dns", 17, "198.18.10.12", 30000 + j, 53) for j in range(3)]
        spec += [("ext", 17, f"198.18.20.{k}", 40000 + j, 3478) for j in range(2)]
        for kind, proto, dst, sport, dport in spec:
            out.append((len(out), s, kind, proto, dst, sport, dport))
    return out


def gpdu(s, proto, dst, sport, dport, tag):
    inner = IP(src=s["ue_ip"], dst=dst, ttl=64)
    inner /= (TCP(sport=sport, dport=dport, flags="PA", seq=1000) if proto == 6
              else UDP(sport=sport, dport=dport))
    inner /= Raw(tag.encode().ljust(48, b"."))
    return (Ether(dst=GATE_MAC, src=RAN_MAC) / IP(src=RAN, dst=ACCESS) / UDP(sport=2152, dport=2152)
            / GTP_U_Header(teid=int(s["teid"], 16), gtp_type=255) / inner)


def denied(s, kind):
    return s["imsi"] == DENIED_IMSI and kind != "web"


def retargeted(s, kind, sport):
    """The first api flow of subscribers 1..20 turns to the api's port 8443."""
    k = int(s["ue_ip"].split(".")[3])
    return kind == "api" and k <= 20 and sport == 20000


def send(phase):
    pkts = []
    for i, s, kind, proto, dst, sport, dport in flows():
        if phase == "first":
            pkts.append(gpdu(s, proto, dst, sport, dport, f"f{i} p1"))
        elif phase == "later":
            pkts += [gpdu(s, proto, dst, sport, dport, f"f{i} p{n}") for n in (2, 3)]
        elif phase == "retarget" and retargeted(s, kind, sport):
            pkts.append(gpdu(s, proto, dst, sport, 8443, f"f{i} p4"))
        elif phase == "third" and not denied(s, kind):
            port = 8443 if retargeted(s, kind, sport) else dport
            pkts.append(gpdu(s, proto, dst, sport, port, f"f{i} p5"))
    if phase == "bad":
        # Frames that must install nothing: a TEID no session has, an inner packet cut short
        # (its IPv4 total length says more than the frame has: the kernel drops it), an ICMP
        # echo reply (only a request opens a user session) and a source that is not the
        # session's terminal.
        s = sessions[0]
        ghost = dict(s, teid="0x7ffffff0")
        pkts.append(gpdu(ghost, 6, "198.18.10.10", 1234, 443, "bad p9"))
        cut = gpdu(s, 17, "198.18.10.12", 33333, 53, "bad p9")
        cut[IP].payload[GTP_U_Header].payload.len = 400  # the inner header claims 400 bytes
        pkts.append(cut)
        reply = (Ether(dst=GATE_MAC, src=RAN_MAC) / IP(src=RAN, dst=ACCESS) / UDP(sport=2152, dport=2152)
                 / GTP_U_Header(teid=int(s["teid"], 16), gtp_type=255)
                 / IP(src=s["ue_ip"], dst="198.18.20.9") / ICMP(type=0, id=7) / Raw(b"bad p9".ljust(48, b".")))
        pkts.append(reply)
        pkts.append(gpdu(dict(s, ue_ip="198.19.9.9"), 6, "198.18.10.10", 1234, 443, "bad p9"))
    if phase == "new":
        for k, s in enumerate(sessions, 1):
            pkts.append(gpdu(s, 6, "198.18.10.10", 50000, 443, f"n{k} p6"))
    sendp(pkts, iface="rgacc", verbose=False)
    print(f"sent {len(pkts)} {phase} packets")


def check():
    byflow = collections.defaultdict(list)
    newflows = {}
    for p in rdpcap(f"{work}/service.pcap"):
        ip = p[IP]
        l4 = p[TCP] if ip.proto == 6 else p[UDP]
        # The payload as sent, as bytes (whatever scapy would dissect it as).
        tag = bytes(l4.payload)[:48].rstrip(b".").decode(errors="replace")
        if len(tag.split()) != 2:
            sys.exit(f"a packet that is none of ours left the gate: {p.summary()}")
        name, phase = tag.split()
        row = (ip.src, l4.sport, ip.dst, l4.dport, int(phase[1:]))
        if name.startswith("n"):
            newflows[int(name[1:])] = row
        else:
            byflow[int(name[1:])].append(row)
    problems = []
    ports = {}
    web = collections.Counter()
    dns_by_sub = collections.defaultdict(set)
    for i, s, kind, proto, dst, sport, dport in flows():
        rows = byflow.get(i, [])
        phases = sorted(r[4] for r in rows)
        if denied(s, kind):
            if rows:
                problems.append(f"flow {i} of the web-only subscriber ({kind}) left the gate")
            continue
        want = [1, 2, 3, 5] + ([4] if retargeted(s, kind, sport) else [])
        if phases != sorted(want):
            problems.append(f"flow {i} ({kind}): phases {phases}, not {sorted(want)}")
            continue
        if len({(r[0], r[1]) for r in rows}) != 1:
            problems.append(f"flow {i}: its packets left from {set((r[0], r[1]) for r in rows)}, not one port")
            continue
        nat, port = rows[0][0], rows[0][1]
        if nat not in NAT or port < 1024:
            problems.append(f"flow {i}: source {nat}:{port} is not a gate address and user-session port")
        if (nat, port) in ports:
            problems.append(f"flow {i} shares port {nat}:{port} with flow {ports[(nat, port)]}")
        ports[(nat, port)] = i
        servers = {(r[2], r[3], r[4]) for r in rows}
        if kind == "web":
            dsts = {(r[2], r[3]) for r in rows}
            if len(dsts) != 1 or next(iter(dsts))[0] not in WEB or next(iter(dsts))[1] != 8443:
                problems.append(f"flow {i} (web) went to {dsts}")
            web[rows[0][2]] += 1
        elif kind == "api":
            if any(r[2] not in API or r[3] != 9000 for r in rows):
                problems.append(f"flow {i} (api) went to {servers}")
        elif kind == "dns":
            if any(r[2] not in DNS or r[3] != 10053 for r in rows):
                problems.append(f"flow {i} (dns) went to {servers} (.2 is down, .3 drains)")
            dns_by_sub[s["imsi"]] |= {r[2] for r in rows}
        elif kind == "ext":
            if any(r[2] != dst or r[3] != dport for r in rows):
                problems.append(f"flow {i} (external) was rewritten to {servers}")
    for imsi, servers in dns_by_sub.items():
        if len(servers) != 1:
            problems.append(f"subscriber {imsi}'s dns flows went to {servers}: affinity keeps one server")
    total = sum(web.values())
    for srv, w in WEB.items():
        share = total * w / sum(WEB.values())
        if abs(web[srv] - share) > 1:
            problems.append(f"web server {srv} got {web[srv]} of {total} user sessions, weight {w}: {share:.1f} due")
    if len(newflows) != 50:
        problems.append(f"{len(newflows)} of the 50 new flows after the restart left the gate")
    for k, (nat, port, _, _, _) in newflows.items():
        if (nat, port) in ports:
            problems.append(f"new flow {k} after the restart got port {nat}:{port} of flow {ports[(nat, port)]}")
    # The accounting records: one final record per user session, its counts the capture's.
    records = json.load(open(f"{work}/records.json"))
    bynat = collections.defaultdict(list)
    for r in records:
        bynat[r["nat"]].append(r)
    if len(records) != 550:
        problems.append(f"{len(records)} final accounting records, not 550 (500 + 50 new)")
    sent = collections.defaultdict(lambda: [0, 0])
    for p in rdpcap(f"{work}/service.pcap"):
        ip = p[IP]
        l4 = p[TCP] if ip.proto == 6 else p[UDP]
        c = sent[f"{ip.src}:{l4.sport}"]
        c[0] += 1
        c[1] += ip.len
    for i, s, kind, proto, dst, sport, dport in flows():
        if denied(s, kind):
            continue
        rows = byflow.get(i, [])
        if not rows:
            continue
        nat = f"{rows[0][0]}:{rows[0][1]}"
        rs = bynat.get(nat, [])
        if len(rs) != 1:
            problems.append(f"flow {i} ({kind}, {nat}): {len(rs)} accounting records")
            continue
        r = rs[0]
        want_services = {"web": ["web"], "api": ["api", "api"] if retargeted(s, kind, sport) else ["api"],
                         "dns": ["dns"], "ext": []}[kind]
        servers = sorted({f"{x[2]}:{x[3]}" for x in rows})
        checks = {
            "imsi": (r["imsi"], s["imsi"]),
            "terminal": (r["terminal"], f"{s['ue_ip']}:{sport}"),
            "destination": (r["destination"], f"{dst}:{dport}"),
            "services": (r["services"], want_services),
            "cause": (r["cause"], "idle"),
            "ul_pkts": (r["ul_pkts"], sent[nat][0]),
            "ul_bytes": (r["ul_bytes"], sent[nat][1]),
            "dl_pkts": (r["dl_pkts"], 0),
        }
        if kind != "ext":
            checks["servers"] = (sorted(set(r["servers"])), servers)
        for what, (got, want) in checks.items():
            if got != want:
                problems.append(f"flow {i} ({kind}) record {what}: {got}, not {want}")
    denied_records = [r for r in records if r["denied"]]
    if len(denied_records) != 7 or any(r["imsi"] != DENIED_IMSI for r in denied_records):
        problems.append(f"{len(denied_records)} denied records, not the web-only subscriber's 7")
    print(f"{len(records)} final accounting records; {len(denied_records)} denied")
    print(f"{sum(len(v) for v in byflow.values()) + len(newflows)} packets of {len(byflow) + len(newflows)} "
          f"flows; web split {dict(web)}; {len(ports)} user-session ports")
    if problems:
        print("\n".join(problems[:20]))
        sys.exit(1)


if mode == "send":
    send(sys.argv[3])
elif mode == "check":
    check()
else:
    sys.exit(f"unknown mode {mode}")
