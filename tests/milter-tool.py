#!/usr/bin/python3
"""A milter for tests/milter.bats on Debian's python3-milter (Sendmail's
libmilter underneath), for the replies and changes no packaged milter
makes. It logs each event and the macros it got to LOG, one line each.

  milter-tool.py SOCKET LOG      SOCKET in libmilter's form: inet:PORT@IP

What it does is chosen by the message:
  RCPT TO:<reject@...>     reject        RCPT TO:<tempfail@...>  tempfail
  RCPT TO:<custom@...>     554 5.7.0 reply of its own, two lines
  RCPT TO:<discard@...>    discard       MAIL FROM:<slow@...>    sleeps 3 s
  RCPT TO:<shutdown@...>   421 reply
and at the end of the message, by words in the Subject:
  addrcpt   adds <added@example.com>      delrcpt  deletes <bob@example.com>
  replbody  replaces the body             chgheader changes X-Change, deletes X-Drop
  chgfrom   the sender becomes <new@sender.example>
  quarantine  quarantines                 addheader adds X-Milter-Tool, inserts X-Top at 0
  reject    rejects the message           progress  sends progress, then continues
"""
import sys
import time
import Milter


LOG = None


def log(*words):
    with open(LOG, 'a') as f:
        f.write(' '.join(str(w) for w in words) + '\n')


class Tool(Milter.Base):
    def __init__(self):
        self.subject = ''
        self.discard = False

    def connect(self, hostname, family, hostaddr):
        log('connect', hostname, hostaddr[0] if hostaddr else '-', 'j=%s' % self.getsymval('j'),
            'client_addr=%s' % self.getsymval('{client_addr}'), '_=%s' % self.getsymval('_'))
        return Milter.CONTINUE

    def hello(self, host):
        # the TLS macros (after STARTTLS) only when they came
        tls = ['%s=%s' % (k, self.getsymval('{%s}' % k)) for k in ('tls_version', 'cipher', 'cipher_bits', 'cert_subject')
               if self.getsymval('{%s}' % k)]
        log('helo', host, *tls)
        return Milter.CONTINUE

    def envfrom(self, f, *params):
        auth = ['%s=%s' % (k, self.getsymval('{%s}' % k)) for k in ('auth_type', 'auth_authen', 'auth_author')
                if self.getsymval('{%s}' % k)]
        log('mail', f, *params, 'i=%s' % self.getsymval('i'), 'mail_addr=%s' % self.getsymval('{mail_addr}'), *auth)
        self.subject = ''
        self.discard = False
        if f.startswith('<slow@'):
            time.sleep(3)
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        log('rcpt', to, 'rcpt_addr=%s' % self.getsymval('{rcpt_addr}'))
        local = to.strip('<>').split('@')[0]
        if local == 'reject':
            return Milter.REJECT
        if local == 'tempfail':
            return Milter.TEMPFAIL
        if local == 'custom':
            self.setreply('554', '5.7.0', 'no thanks', 'second line')
            return Milter.REJECT
        if local == 'shutdown':
            self.setreply('421', '4.7.0', 'going away')
            return Milter.TEMPFAIL
        if local == 'discard':
            return Milter.DISCARD
        return Milter.CONTINUE

    def data(self):
        log('data')
        return Milter.CONTINUE

    def header(self, name, value):
        log('header', name, repr(value))
        if name.lower() == 'subject':
            self.subject = value
        return Milter.CONTINUE

    def eoh(self):
        log('eoh')
        return Milter.CONTINUE

    def body(self, chunk):
        log('body', len(chunk), repr(chunk[:40]))
        return Milter.CONTINUE

    def eom(self):
        s = self.subject.split()
        log('eom', 'i=%s' % self.getsymval('i'))
        if 'progress' in s:
            self.progress()
            self.progress()
        if 'reject' in s:
            return Milter.REJECT
        if 'addheader' in s:
            self.addheader('X-Milter-Tool', 'added\n\tfolded')
            self.addheader('X-Top', 'first', 0)
        if 'chgheader' in s:
            self.chgheader('X-Change', 1, 'changed')
            self.chgheader('X-Drop', 1, '')
        if 'addrcpt' in s:
            self.addrcpt('<added@example.com>')
        if 'delrcpt' in s:
            self.delrcpt('<bob@example.com>')
        if 'chgfrom' in s:
            self.chgfrom('<new@sender.example>')
        if 'replbody' in s:
            self.replacebody(b'replaced line one\r\n')
            self.replacebody(b'line two\r\n')
        if 'quarantine' in s:
            self.quarantine('held for review')
        return Milter.ACCEPT

    def abort(self):
        log('abort')
        return Milter.CONTINUE

    def close(self):
        log('close')
        return Milter.CONTINUE


def main():
    global LOG
    sock, LOG = sys.argv[1], sys.argv[2]
    Milter.factory = Tool
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.DELRCPT
                     | Milter.CHGFROM | Milter.QUARANTINE)
    log('ready')
    Milter.runmilter('milter-tool', sock, 10)


if __name__ == '__main__':
    main()
