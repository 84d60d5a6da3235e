#!/usr/bin/python3
"""An entry point for ranemu's test, written with scapy (an independent GTP-U implementation).

usage: ranemu_peer.py LOG ADDRESS [ADDRESS ...]

Binds UDP 2152 on each ADDRESS. Every message is decoded by scapy and written to LOG as one JSON
line (the address it reached, the sender, the type, TEID, sequence number, the PDU Session
Container's type and QFI, the inner packet's addresses and protocol, an Echo Response's IEs).
Echo Requests are answered (with a Recovery IE). Uplink G-PDUs that carry an ICMP echo
request from a terminal are answered: the echo reply, in a G-PDU to that terminal's downlink
TEID (DL_TEID below), with a DL PDU Session Container of the same QFI if the request had one,
sent back to the sender. The first G-PDU from each sender
at each address is also answered with one Echo Request (sequence 0x4242), a G-PDU to TEID
0xdead (no terminal's) and one whose length field is wrong. Prints "listening" once bound;
runs until SIGTERM.
"""
import json
import select
import signal
import socket
import sys

from scapy.contrib.gtp import (GTP_U_Header, GTPEchoResponse, GTPPDUSessionContainer,
                               IE_Recovery)
from scapy.layers.inet import IP, ICMP

log = open(sys.argv[1], "a", buffering=1)
socks = []
for addr in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 2152))
    socks.append((addr, s))

print("listening", flush=True)

# The downlink TEID of each terminal, by its address (the test's sessions).
DL_TEID = {"198.19.10.1": 0x1001, "198.19.10.2": 0x1002}
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
pinged = set()
while running:
    ready, _, _ = select.select([s for _, s in socks], [], [], 0.2)
    for addr, s in socks:
        if s not in ready:
            continue
        data, sender = s.recvfrom(65535)
        g = GTP_U_Header(data)
        rec = {"at": addr, "from": sender[0], "type": g.gtp_type, "teid": g.teid,
               "length": g.length, "bytes": len(data)}
        if g.S:
            rec["seq"] = g.seq
        if g.haslayer(GTPPDUSessionContainer):
            c = g[GTPPDUSessionContainer]
            rec["pdu_type"] = c.type
            rec["qfi"] = c.QFI
        if g.haslayer(GTPEchoResponse):
            rec["ies"] = [[ie.ietype, getattr(ie, "restart_counter", None)]
                          for ie in g[GTPEchoResponse].IE_list]
        inner = g.payload
        while inner is not None and not isinstance(inner, IP) and inner.payload:
            inner = inner.payload
        if isinstance(inner, IP):
            rec["inner"] = {"src": inner.src, "dst": inner.dst, "proto": inner.proto}
            if inner.haslayer(ICMP) and inner[ICMP].type == 8 and inner.src in DL_TEID:
                reply = IP(src=inner.dst, dst=inner.src) / ICMP(
                    type=0, id=inner[ICMP].id, seq=inner[ICMP].seq) / inner[ICMP].payload
                qfi = rec.get("qfi")
                out = GTP_U_Header(teid=DL_TEID[inner.src], gtp_type=255)
                if qfi is not None:
                    out = GTP_U_Header(teid=DL_TEID[inner.src], gtp_type=255, E=1, S=1,
                                       next_ex=0x85) / GTPPDUSessionContainer(type=0, QFI=qfi)
                s.sendto(bytes(out / reply), sender)
        if g.gtp_type == 1:  # ranemu's Echo Request: answered as scapy builds an answer
            s.sendto(bytes(GTP_U_Header(gtp_type=2, teid=0, S=1, seq=g.seq) /
                           GTPEchoResponse(IE_list=[IE_Recovery(restart_counter=0)])), sender)
        log.write(json.dumps(rec) + "\n")
        if (addr, sender[0]) not in pinged and g.gtp_type == 255:
            pinged.add((addr, sender[0]))
            s.sendto(bytes(GTP_U_Header(gtp_type=1, teid=0, S=1, seq=0x4242)), sender)
            # Bad input for ranemu to count: a TEID no terminal has, and a message whose length
            # field says more than was sent.
            s.sendto(bytes(GTP_U_Header(gtp_type=255, teid=0xdead) / IP(dst="198.19.10.1")), sender)
            s.sendto(bytes(GTP_U_Header(gtp_type=255, teid=0x1001, length=200)), sender)
