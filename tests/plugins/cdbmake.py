#!/usr/bin/env python3
"""cdbmake.py OUT.cdb < lines: a constant database (D. J. Bernstein's cdb
format) whose keys are the input lines, each with an empty value, as
qmail-newmrh builds morercpthosts.cdb. Lines "key:value" keep the value
(tcprules style) when -v is given."""
import struct
import sys


def cdb_hash(key):
    h = 5381
    for c in key:
        h = (((h << 5) + h) & 0xffffffff) ^ c
    return h


def main():
    args = sys.argv[1:]
    split = False
    if args and args[0] == '-v':
        split = True
        args = args[1:]
    out = args[0]
    records = []
    for line in sys.stdin.buffer.read().split(b'\n'):
        if not line:
            continue
        key, value = (line.split(b':', 1) + [b''])[:2] if split else (line, b'')
        records.append((key, value))
    body = bytearray()
    tables = [[] for _ in range(256)]
    pos = 2048
    for key, value in records:
        h = cdb_hash(key)
        tables[h & 255].append((h, pos))
        rec = struct.pack('<II', len(key), len(value)) + key + value
        body += rec
        pos += len(rec)
    header = bytearray()
    tail = bytearray()
    for t in tables:
        n = 2 * len(t)
        slots = [(0, 0)] * n
        for h, p in t:
            i = (h >> 8) % n
            while slots[i][1]:
                i = (i + 1) % n
            slots[i] = (h, p)
        header += struct.pack('<II', pos + len(tail), n)
        for h, p in slots:
            tail += struct.pack('<II', h, p)
    with open(out, 'wb') as f:
        f.write(bytes(header) + bytes(body) + bytes(tail))


main()
