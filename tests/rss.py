#!/usr/bin/env python3
"""Peak RSS of one qpsmtpd session that receives a message of N bytes.

usage: rss.py BINARY BYTES   (environment and working directory as given)

Runs BINARY with a generated SMTP session on stdin (the message body is
BYTES bytes of 76-character lines, made on the fly, so that neither this
script nor a file holds it). After the reply to the final dot, and before
QUIT, it reads the session's VmHWM (peak resident set) from /proc and
prints "<VmHWM in KB> <reply to the dot>". VmHWM covers the daemon's own
process only: a back end that runs as a child is not counted."""
import subprocess, sys

binary, size = sys.argv[1], int(sys.argv[2])
p = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
w = p.stdin.write
w(b'EHLO rss.example\r\nMAIL FROM:<a@sender.example>\r\n'
  b'RCPT TO:<bob@example.com>\r\nDATA\r\nSubject: rss\r\n\r\n')
line = b'x' * 74 + b'\r\n'
chunk = line * 1000
left = size
while left >= len(chunk):
    w(chunk)
    left -= len(chunk)
while left >= len(line):
    w(line)
    left -= len(line)
w(b'.\r\n')
p.stdin.flush()
seen354 = False
while True:
    l = p.stdout.readline()
    if not l:
        sys.exit('no reply to the final dot')
    if l.startswith(b'354'):
        seen354 = True
    elif seen354 and l[3:4] == b' ':
        reply = l.decode('ascii', 'replace').strip()
        break
hwm = None
with open('/proc/%d/status' % p.pid) as f:
    for l in f:
        if l.startswith('VmHWM:'):
            hwm = int(l.split()[1])
w(b'QUIT\r\n')
p.stdin.close()
p.stdout.read()
p.wait()
print(hwm, reply)
