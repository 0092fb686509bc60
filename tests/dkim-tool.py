#!/usr/bin/env python3
"""DKIM helpers for tests/dkim.bats, on Debian's python3-dkim (dkimpy).

  dkim-tool.py keys DIR           RSA 2048 (rsa), RSA 1024 (rsa1024), RSA 512
                                  (short), Ed25519 (ed) keys in DIR, and
                                  DIR/dnsmasq.conf with their TXT records
                                  under example.org
  dkim-tool.py sign DIR SEL ALG CANON LEN [TAMPER] < message > smtp-input
                                  signs the message (LF ends) for
                                  example.org with key SEL, then writes a
                                  whole SMTP session (dot-stuffed, CRLF);
                                  LEN "l" adds l=; TAMPER "body", "header"
                                  or "append" changes the message after
                                  signing
  dkim-tool.py verify DIR < message
                                  dkimpy's verdict on a queued message,
                                  keys read from DIR (no DNS): "pass N" or
                                  "fail N"
"""
import base64
import os
import subprocess
import sys

# dkim imports dnspython (and httpx with it) to look keys up itself, 0.4 s
# of CPU a start: every key here comes from a dnsfunc or is not needed
sys.modules['dns'] = None
import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def txt_strings(value):
    # dnsmasq: a TXT record of several strings, each at most 255 octets
    parts = [value[i:i + 250] for i in range(0, len(value), 250)]
    return ','.join('"%s"' % p for p in parts)


def keys(d):
    os.makedirs(d, exist_ok=True)
    recs = {}
    for sel, bits in (('rsa', 2048), ('rsa1024', 1024)):
        k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        with open(os.path.join(d, sel + '.pem'), 'wb') as f:
            f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
        pub = k.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        recs[sel] = 'v=DKIM1; k=rsa; p=' + base64.b64encode(pub).decode()
    # 512 bits: cryptography refuses to make one, openssl does
    short = os.path.join(d, 'short.pem')
    subprocess.run(['openssl', 'genrsa', '-traditional', '-out', short, '512'], check=True,
                   stderr=subprocess.DEVNULL)
    pub = subprocess.run(['openssl', 'rsa', '-in', short, '-pubout', '-outform', 'DER'], check=True,
                         capture_output=True).stdout
    recs['short'] = 'v=DKIM1; k=rsa; p=' + base64.b64encode(pub).decode()
    e = ed25519.Ed25519PrivateKey.generate()
    seed = e.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                           serialization.NoEncryption())
    with open(os.path.join(d, 'ed.key'), 'wb') as f:
        f.write(base64.b64encode(seed))
    pub = e.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    recs['ed'] = 'v=DKIM1; k=ed25519; p=' + base64.b64encode(pub).decode()
    recs['revoked'] = 'v=DKIM1; k=rsa; p='
    with open(os.path.join(d, 'dnsmasq.conf'), 'w') as f:
        for sel, v in recs.items():
            f.write('txt-record=%s._domainkey.example.org,%s\n' % (sel, txt_strings(v)))
            with open(os.path.join(d, sel + '.txt'), 'w') as t:
                t.write(v)
        # the zone is ours: a name without a record is NXDOMAIN at once
        f.write('local=/example.org/\n')


def key_for(d, sel):
    if sel == 'ed':
        return open(os.path.join(d, 'ed.key'), 'rb').read(), b'ed25519-sha256'
    name = 'rsa' if sel in ('missing', 'revoked') else sel
    return open(os.path.join(d, name + '.pem'), 'rb').read(), None


def sign(d, sel, alg, canon, length, tamper):
    msg = sys.stdin.buffer.read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    key, _ = key_for(d, sel)
    c = canon.encode().split(b'/')
    sig = dkim.sign(msg, sel.encode(), b'example.org', key, canonicalize=(c[0], c[1]),
                    signature_algorithm=alg.encode(), include_headers=[b'from', b'to', b'subject', b'date'],
                    length=(length == 'l'))
    out = sig + msg
    if tamper == 'body':
        out = out.replace(b'meet at noon', b'meet at nine')
    elif tamper == 'header':
        out = out.replace(b'Subject: lunch', b'Subject: dinner')
    elif tamper == 'append':
        out = out + b'P.S. appended by a list\r\n'
    w = sys.stdout.buffer
    w.write(b'EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n')
    for line in out.split(b'\r\n')[:-1]:
        w.write((b'.' if line.startswith(b'.') else b'') + line + b'\r\n')
    w.write(b'.\r\nQUIT\r\n')


def verify(d):
    msg = sys.stdin.buffer.read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')

    def dnsfunc(name, timeout=5):
        sel = name.decode().split('.')[0]
        p = os.path.join(d, sel + '.txt')
        return open(p, 'rb').read() if os.path.exists(p) else None

    v = dkim.DKIM(msg)
    n = msg.count(b'\r\nDKIM-Signature:') + msg.startswith(b'DKIM-Signature:')
    print(('pass' if v.verify(dnsfunc=dnsfunc) else 'fail'), n)


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'keys':
        keys(sys.argv[2])
    elif cmd == 'sign':
        a = sys.argv[2:] + [''] * 6
        sign(a[0], a[1], a[2], a[3], a[4], a[5])
    elif cmd == 'verify':
        verify(sys.argv[2])
