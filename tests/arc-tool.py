#!/usr/bin/env python3
"""ARC helpers for tests/arc.bats, on Debian's python3-dkim (dkimpy) and
python3-authres.

  arc-tool.py keys DIR          RSA 2048 keys for the forwarders hop1.test
                                and hop2.test (selector "arc") in DIR, and
                                DIR/dnsmasq.conf with their TXT records
  arc-tool.py make DIR CASE < message > message
                                the message (LF or CRLF ends) as it leaves
                                the forwarders, CRLF ends; CASE:
                                  one      hop1 seals (i=1, cv=none)
                                  two      hop1 seals, then hop2 (cv=pass)
                                  list     hop1 seals, a list footer is
                                           appended, hop2 seals
                                  tamper   hop1 seals, then the body changes
                                  cvfail   hop2 found the chain failed and
                                           seals cv=fail
                                  cvnone   two hops, then hop2's seal says
                                           cv=none
                                  none     no forwarder
  arc-tool.py session < message > smtp-input
                                a whole SMTP session carrying the message
  arc-tool.py verify DIR < message
                                dkimpy's arc_verify with the keys of DIR (no
                                DNS): "pass", "fail" or "none", and the
                                reason
"""
import base64
import os
import sys

# dkim imports dnspython (and httpx with it) to look keys up itself, 0.4 s
# of CPU a start: every key here comes from a dnsfunc or is not needed
sys.modules['dns'] = None
import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HOPS = ('hop1.test', 'hop2.test')


def txt_strings(value):
    parts = [value[i:i + 250] for i in range(0, len(value), 250)]
    return ','.join('"%s"' % p for p in parts)


def keys(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'dnsmasq.conf'), 'w') as f:
        for hop in HOPS:
            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            with open(os.path.join(d, hop + '.pem'), 'wb') as p:
                p.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()))
            pub = k.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
            rec = 'v=DKIM1; k=rsa; p=' + base64.b64encode(pub).decode()
            with open(os.path.join(d, hop + '.txt'), 'w') as t:
                t.write(rec)
            f.write('txt-record=arc._domainkey.%s,%s\n' % (hop, txt_strings(rec)))
            f.write('local=/%s/\n' % hop)


def crlf(b):
    return b.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')


def seal(d, msg, hop, arc_result=None):
    ar = b'Authentication-Results: ' + hop.encode() + b'; spf=pass smtp.mailfrom=example.org'
    if arc_result:
        ar += b'; arc=' + arc_result.encode()
    msg = ar + b'\r\n' + msg
    key = open(os.path.join(d, hop + '.pem'), 'rb').read()
    sets = dkim.arc_sign(msg, b'arc', hop.encode(), key, hop.encode(),
                         include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
    if not sets:
        sys.exit('arc_sign made no ARC set')
    return b''.join(sets) + msg


def make(d, case):
    msg = crlf(sys.stdin.buffer.read())
    if case == 'none':
        pass
    elif case == 'one':
        msg = seal(d, msg, HOPS[0])
    elif case == 'tamper':
        msg = seal(d, msg, HOPS[0]).replace(b'meet at noon', b'meet at nine')
    elif case in ('two', 'cvnone'):
        msg = seal(d, seal(d, msg, HOPS[0]), HOPS[1], 'pass')
        if case == 'cvnone':
            msg = msg.replace(b'i=2; cv=pass', b'i=2; cv=none', 1)
    elif case == 'list':
        msg = seal(d, msg, HOPS[0]) + b'-- \r\nthe list footer\r\n'
        msg = seal(d, msg, HOPS[1], 'pass')
    elif case == 'cvfail':
        msg = seal(d, seal(d, msg, HOPS[0]), HOPS[1], 'fail')
    else:
        sys.exit('unknown case ' + case)
    sys.stdout.buffer.write(msg)


def session():
    out = crlf(sys.stdin.buffer.read())
    w = sys.stdout.buffer
    w.write(b'EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n')
    for line in out.split(b'\r\n')[:-1]:
        w.write((b'.' if line.startswith(b'.') else b'') + line + b'\r\n')
    w.write(b'.\r\nQUIT\r\n')


def verify(d):
    msg = crlf(sys.stdin.buffer.read())

    def dnsfunc(name, timeout=5):
        hop = name.decode().rstrip('.').split('._domainkey.')[1]
        p = os.path.join(d, hop + '.txt')
        return open(p, 'rb').read() if os.path.exists(p) else None

    cv, _, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    print((cv or b'fail').decode(), reason)


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'keys':
        keys(sys.argv[2])
    elif cmd == 'make':
        make(sys.argv[2], sys.argv[3])
    elif cmd == 'session':
        session()
    elif cmd == 'verify':
        verify(sys.argv[2])
