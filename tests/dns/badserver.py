#!/usr/bin/env python3
"""A DNS server for tests that answers every query with a malformed
answer: the question echoed, one answer record whose data length runs past
the end of the packet. Usage: badserver.py ADDRESS (port 53)."""
import socket
import struct
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("listening", flush=True)
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    qid = q[:2]
    question = q[12:]
    hdr = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
    rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 200) + b"\x7f\x00"
    s.sendto(hdr + question + rr, peer)
