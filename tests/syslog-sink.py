#!/usr/bin/env python3
# The syslog daemons of logging/syslog's logsock types, inside a private
# mount and network namespace (tests/plugins-session.bats): UDP and TCP on
# 127.0.0.1:514, a stream socket at /dev/log and a FIFO at /dev/console.
# The bytes read go to OUT-TYPE as they came (a stream's line ends are the
# client's); each UDP datagram gets a LF after it.
# Usage: syslog-sink.py OUT READY [notcp]
import os, select, socket, sys

out, ready = sys.argv[1], sys.argv[2]
notcp = len(sys.argv) > 3 and sys.argv[3] == "notcp"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 514))
socks = {u: "udp"}
if not notcp:
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", 514))
    t.listen(5)
    socks[t] = "tcp-listen"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
s.listen(5)
socks[s] = "stream-listen"
os.mkfifo("/dev/console", 0o666)
os.chmod("/dev/console", 0o666)
c = os.open("/dev/console", os.O_RDWR | os.O_NONBLOCK)  # a writer of its own: no EOF between clients
open(ready, "w").close()
files = {}
def put(kind, data):
    if kind not in files:
        files[kind] = open(out + "-" + kind, "ab", buffering=0)
    files[kind].write(data)
if True:
    while True:
        r, _, _ = select.select(list(socks) + [c], [], [], 10)
        if not r:
            break
        for x in r:
            if x == c:
                data = os.read(c, 4096)
                if data:
                    put("console", data)
                continue
            kind = socks[x]
            if kind.endswith("-listen"):
                conn, _ = x.accept()
                socks[conn] = kind[:-7]
                continue
            data = x.recv(4096)
            if not data:
                del socks[x]
                x.close()
                continue
            put(kind, data + b"\n" if kind == "udp" else data)
