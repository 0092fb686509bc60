#!/usr/bin/env python3
"""A stand-in for fehcom's `sslserver -n` (ucspi-ssl is not packaged in
Debian), run per connection under tcpserver:

  tcpserver ... fake-sslserver.py PROGRAM...

It speaks the UCSPI-TLS protocol as sslserver 0.95b does (man ucspi-tls):
PROGRAM gets the plain socket on fd 0/1 and, in the environment,
SSLCTLFD (a socketpair end), SSLREADFD (the pipe with the decrypted input)
and SSLWRITEFD (the pipe for output to encrypt). When PROGRAM writes one
byte to SSLCTLFD, 'y' or 'Y', the TLS handshake runs on the socket
(certificate CERTFILE, key KEYFILE, timeout SSLTIMEOUT, default 26 s);
after 'Y' the SSL_* variables go back on SSLCTLFD as "VAR=val\\0...\\0" plus
one more NUL. A failed handshake gets PROGRAM a SIGTERM. Then it relays.

It checks PROGRAM strictly and writes what it saw to $FAKE_SSLSERVER_LOG:
'command Y', 'handshake ok', 'handshake failed', 'no command', and
'VIOLATION ...' for any command byte other than y/Y, a second command, or
any byte on SSLCTLFD after TLS started."""
import os
import select
import signal
import socket
import ssl
import sys

LOG = os.environ.get("FAKE_SSLSERVER_LOG", "/dev/null")


def log(text):
    with open(LOG, "a") as f:
        f.write(text + "\n")


def main():
    prog = sys.argv[1:]
    sock = socket.socket(fileno=os.dup(0))
    ctl, ctl_child = socket.socketpair()
    in_r, in_w = os.pipe()      # decrypted data for PROGRAM
    out_r, out_w = os.pipe()    # PROGRAM's output to encrypt
    pid = os.fork()
    if pid == 0:
        ctl.close()
        os.close(in_w)
        os.close(out_r)
        sock.close()
        for fd in (ctl_child.fileno(), in_r, out_w):
            os.set_inheritable(fd, True)
        env = dict(os.environ)
        env.update(SSLCTLFD=str(ctl_child.fileno()), SSLREADFD=str(in_r), SSLWRITEFD=str(out_w))
        os.execvpe(prog[0], prog, env)
    ctl_child.close()
    os.close(in_r)
    os.close(out_w)
    # only PROGRAM may use the socket until it asks for TLS
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)

    cmd = ctl.recv(1)
    if not cmd:
        log("no command")
        os.waitpid(pid, 0)
        return 0
    log("command " + cmd.decode("latin-1"))
    if cmd not in (b"y", b"Y"):
        log("VIOLATION: command byte %r" % cmd)
        os.kill(pid, signal.SIGTERM)
        return 1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["CERTFILE"], os.environ["KEYFILE"])
    sock.settimeout(float(os.environ.get("SSLTIMEOUT", "26")))
    try:
        tls = ctx.wrap_socket(sock, server_side=True)
    except (ssl.SSLError, OSError) as e:
        log("handshake failed: %s" % e)
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        return 0
    tls.settimeout(None)
    log("handshake ok")
    if cmd == b"Y":
        env = "SSL_PROTOCOL=%s\0SSL_CIPHER=%s\0SSL_VERSION_INTERFACE=fake-sslserver\0\0" % (
            tls.version(), tls.cipher()[0])
        ctl.sendall(env.encode())
    watch = [tls, out_r, ctl]
    while watch:
        if tls in watch and tls.pending():
            ready = [tls]
        else:
            ready, _, _ = select.select(watch, [], [], 60)
            if not ready:
                break
        for r in ready:
            if r is ctl:
                data = ctl.recv(4096)
                if data:
                    log("VIOLATION: %d bytes on SSLCTLFD after TLS started" % len(data))
                watch.remove(ctl)
            elif r is tls:
                try:
                    data = tls.recv(16384)
                except (ssl.SSLError, OSError):
                    data = b""
                if data:
                    os.write(in_w, data)
                else:
                    os.close(in_w)
                    watch.remove(tls)
            else:
                data = os.read(out_r, 16384)
                if data:
                    tls.sendall(data)
                else:
                    watch = []
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if status else 0


sys.exit(main())
