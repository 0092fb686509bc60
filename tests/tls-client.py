#!/usr/bin/env python3
"""Scripted SMTP/TLS clients for tests/tls.bats, for what openssl s_client
and swaks cannot do. Prints each reply the server sends, one per line
(multi-line replies joined with '|'), prefixed by what the client did.

  tls-client.py PORT inject TEXT   STARTTLS and TEXT in one write; then in TLS:
                                   MAIL (must be refused: no EHLO), EHLO, MAIL
  tls-client.py PORT twice         STARTTLS, EHLO in TLS, STARTTLS again
  tls-client.py PORT garbage       STARTTLS, then HTTP instead of a ClientHello
  tls-client.py PORT stall SECS    STARTTLS, then nothing; reports when the
                                   server closed (or that it did not)
  tls-client.py PORT smtps-garbage HTTP right away on an SMTPS port
  tls-client.py PORT smtplib       Python's smtplib: starttls(), send a message
"""
import smtplib
import socket
import ssl
import sys
import time

HOST = "127.0.0.1"


def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def reply(self):
        lines = [self.line()]
        while len(lines[-1]) >= 4 and lines[-1][3] == "-":
            lines.append(self.line())
        return "|".join(lines)

    def cmd(self, text):
        self.sock.sendall(text.encode("latin-1") + b"\r\n")
        return self.reply()


def out(what, text):
    print(f"{what}: {text}", flush=True)


def plain(port):
    s = socket.create_connection((HOST, port), timeout=20)
    c = Conn(s)
    out("greeting", c.reply())
    out("EHLO", c.cmd("EHLO client.example"))
    return c


def starttls(c, extra=b""):
    c.sock.sendall(b"STARTTLS\r\n" + extra)
    out("STARTTLS", c.reply())
    # anything still buffered here would be plaintext: there must be none
    assert not c.buf, "bytes after the 220"
    c.sock = context().wrap_socket(c.sock)
    out("cipher", "%s %s" % (c.sock.version(), c.sock.cipher()[0]))


def main():
    port = int(sys.argv[1])
    mode = sys.argv[2]
    if mode == "inject":
        c = plain(port)
        starttls(c, sys.argv[3].encode("latin-1").replace(b"\\r\\n", b"\r\n"))
        out("MAIL before EHLO", c.cmd("MAIL FROM:<after@client.example>"))
        out("EHLO", c.cmd("EHLO client.example"))
        out("MAIL", c.cmd("MAIL FROM:<after@client.example>"))
        out("QUIT", c.cmd("QUIT"))
    elif mode == "twice":
        c = plain(port)
        starttls(c)
        out("EHLO", c.cmd("EHLO client.example"))
        out("STARTTLS again", c.cmd("STARTTLS"))
        out("QUIT", c.cmd("QUIT"))
    elif mode == "garbage":
        c = plain(port)
        c.sock.sendall(b"STARTTLS\r\n")
        out("STARTTLS", c.reply())
        c.sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        try:
            while True:
                d = c.sock.recv(4096)
                if not d:
                    break
                data += d
        except OSError as e:
            out("error", type(e).__name__)
        out("after garbage", "closed, %d bytes, no SMTP reply" % len(data)
            if b"250" not in data and b"500" not in data else "SMTP reply: %r" % data)
    elif mode == "stall":
        c = plain(port)
        c.sock.sendall(b"STARTTLS\r\n")
        out("STARTTLS", c.reply())
        start = time.monotonic()
        c.sock.settimeout(float(sys.argv[3]))
        try:
            d = c.sock.recv(4096)
            out("stall", "closed after %.1f s, %d bytes" % (time.monotonic() - start, len(d)))
        except socket.timeout:
            out("stall", "still open after %s s" % sys.argv[3])
    elif mode == "smtps-garbage":
        s = socket.create_connection((HOST, port), timeout=20)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            try:
                d = s.recv(4096)
            except OSError:
                break
            if not d:
                break
            data += d
        out("smtps garbage", "got 220" if b"220" in data else "closed, %d bytes, no greeting" % len(data))
    elif mode == "smtplib":
        with smtplib.SMTP(HOST, port, timeout=20) as smtp:
            smtp.ehlo("client.example")
            out("offered", "starttls" in smtp.esmtp_features)
            code, text = smtp.starttls(context=context())
            out("starttls", code)
            smtp.ehlo("client.example")
            out("offered after", "starttls" in smtp.esmtp_features)
            refused = smtp.sendmail("alice@sender.example", ["bob@example.com"],
                                    "Subject: over TLS\r\n\r\nhello\r\n")
            out("refused", refused)
    else:
        sys.exit("unknown mode " + mode)


try:
    main()
except (EOFError, ConnectionError, ssl.SSLError, OSError) as e:
    out("error", "%s %s" % (type(e).__name__, e))
    sys.exit(1)
