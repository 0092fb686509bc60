#!/usr/bin/env bats
# The security checklist in one place: one test per attack (or fault) a
# per-connection SMTP daemon must survive, each named by it, in the order
# of the checklist (SMTP smuggling, pipelining, STARTTLS injection, TLS
# faults, long lines, NUL, 8-bit, RCPT floods, SIZE overflow, envelope
# syntax, shell injection, header injection, AUTH decoding, slowloris,
# disconnects, queue failures, disk full, loops, memory, junk commands,
# configuration faults, early talkers) and, last, running as root. Many
# have fuller versions elsewhere (data.bats, tls.bats, queue.bats, ...);
# these are the compact ones.
#
# Not here, and why:
# - pipelining after EHLO, DATA, NOOP or QUIT (RFC 2920 "last in group"
#   commands) is answered, not refused with 5xx and a close: qpsmtpd, like
#   qmail-smtpd, has no such rule, and its own transcript tests pipeline
#   whole sessions. What applies is tested: MAIL, RCPT and DATA pipelined
#   work, a body sent before 354 is refused (earlytalker check-at DATA), and
#   nothing pipelined survives STARTTLS or the end of a smuggled DATA.
# - a "-m32" build: Debian's libowfat.a and libbearssl.a are 64-bit only.
# - a disk filling up under the real qmail-queue (needs a tmpfs mount): the
#   fake queue's exit 53 and the spool's EFBIG under ulimit -f stand in.
# - heap corruption (a double free, a use-after-free that overwrites the
#   free list) is stopped by the musl build's allocator: tests/qmalloc.bats.
# - fuzzing and sanitizers are make fuzz and make sanitize, not bats tests
#   (fuzz-regress.bats runs the fuzz harnesses over their saved inputs,
#   afl.bats the whole-binary fuzzer's seeds); the hardening flags are make
#   hardened. CI runs all of them.

load helper

setup_file() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BATS_FILE_TMPDIR/tls.key" \
    -out "$BATS_FILE_TMPDIR/tls.crt" -days 2 -subj /CN=test.example 2> /dev/null
  chmod a+r "$BATS_FILE_TMPDIR/tls.key"
}

setup() {
  mkcfg
  QP=$(default_chain)
}

tls_cfg() {
  mkdir -p "$CFG/ssl"
  cp "$BATS_FILE_TMPDIR/tls.crt" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$BATS_FILE_TMPDIR/tls.key" "$CFG/ssl/qpsmtpd-server.key"
}

LINE70=$(printf '%070d' 0)

# the replies from the first 354 on
after_354() { tr -d '\r' < "$OUT" | sed -n '/^354/,$p'; }

# ------------------------------------------------------------ 1. smuggling

@test "SMTP smuggling: no <CR><LF>.<CR><LF> look-alike ends DATA, and the smuggled message is never queued" {
  for v in '\n.\n' '\r.\r' '\r.\n' '\n.\r' '\n.\r\n' '\r\n.\n' '\r.\r\n' '\r\n.\r' \
           '\r\n\0.\r\n' '\r\n.\0\r\n' '\r\n.\r\r\n' '\r\r\n.\r\r\n'; do
    rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"
    { envelope; printf 'Subject: a\r\n\r\nA'; printf "$v"
      printf 'MAIL FROM:<spoof@evil.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nz\r\n.\r\nQUIT\r\n'; } > "$IN"
    smtp "$QP"
    # one DATA only; a bare CR or LF closes the session with nothing queued;
    # NUL is data: then everything up to the real dot is one message's body
    [ "$(grep -c '^354' "$OUT")" -eq 1 ] || { echo "variant $v: 354 twice" >&2; return 1; }
    [ "$(after_354 | grep -c '^250')" -le 1 ] || { echo "variant $v: smuggled commands answered" >&2; return 1; }
    [ "$(queued)" -le 1 ] || { echo "variant $v: two messages queued" >&2; return 1; }
    ! grep -qs spoof@evil "$FAKEQ_DIR"/*.env || { echo "variant $v: the smuggled envelope was used" >&2; return 1; }
    case $v in *0*) [ "$(queued)" -eq 1 ] ;; *) nothing_queued ;; esac || { echo "variant $v: queued $(queued)" >&2; return 1; }
  done
  # the control case: a real end of data, then a pipelined second message
  rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"
  { envelope; printf 'Subject: a\r\n\r\nA\r\n.\r\nMAIL FROM:<b@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: 2\r\n\r\nz\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  [ "$(queued)" -eq 2 ]
}

@test "SMTP smuggling with BDAT: no end-of-data look-alike inside a chunk ends the message, only BDAT LAST does" {
  # chunk TEXT [LAST]: BDAT with TEXT's exact size
  chunk() { printf 'BDAT %d%s\r\n' "$(printf "$1" | wc -c)" "${2:+ $2}"; printf "$1"; }
  for v in '\r\n.\r\n' '\n.\n' '\r.\r' '\n.\r\n' '\r\n.\n' '\r\n\0.\r\n'; do
    rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"; chmod 1777 "$FAKEQ_DIR"
    { printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
      chunk "Subject: a\r\n\r\nA${v}MAIL FROM:<spoof@evil.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nz\r\n.\r\n"
      printf 'DATA\r\n'; chunk 'tail\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
    smtp "$QP"
    # never a 354: the DATA inside the chunk is data, the one after it 503
    # (after BDAT; or, the message refused, for want of MAIL)
    ! grep -q '^354' "$OUT" || { echo "variant $v: DATA ran" >&2; return 1; }
    grep -q '^503 5.5.1' "$OUT" || { echo "variant $v: DATA after BDAT not 503" >&2; return 1; }
    ! grep -qs spoof@evil "$FAKEQ_DIR"/*.env || { echo "variant $v: the smuggled envelope was used" >&2; return 1; }
    # well-formed lines (and NUL, which is data): one message with it all; a
    # stray CR or LF: refused, nothing queued
    case $v in '\r\n.\r\n'|*0*) [ "$(queued)" -eq 1 ] && grep -q SMUGGLED "$FAKEQ_DIR/1.msg" ;; *) nothing_queued ;; esac \
      || { echo "variant $v: queued $(queued)" >&2; return 1; }
  done
  # a refused BDAT (no MAIL, or after RSET) drops its chunk: nothing in it runs
  { printf 'EHLO client.example\r\n'; chunk 'MAIL FROM:<spoof@evil.example>\r\nRCPT TO:<bob@example.com>\r\nBDAT 4 LAST\r\nabcd'
    printf 'MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'; chunk 'Subject: r\r\n\r\n'; printf 'RSET\r\n'
    chunk 'MAIL FROM:<spoof@evil.example>\r\n' LAST; chunk '' LAST; printf 'QUIT\r\n'; } > "$IN"
  rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"; chmod 1777 "$FAKEQ_DIR"
  smtp "$QP"
  assert_equal "$(tr -d '\r' < "$OUT" | sed -n 's/^\([0-9][0-9][0-9]\) .*/\1/p' | paste -sd' ' -)" "220 250 503 250 250 250 250 503 503 221"
  nothing_queued
}

# ------------------------------------------------------------ 2. pipelining

@test "transaction stuffing: a message sent before the 354 is refused (earlytalker check-at DATA)" {
  QP=$(build_chain sec-stuffing <<'EOF'
earlytalker wait 0.3 check-at DATA
rcpt_ok
queue/qmail-queue
EOF
)
  # the whole session in one write: DATA is refused, no 354, and the message
  # that followed it is read as (unknown) commands, never as a message
  transcript "$QP" <<'EOF'
HELO x.example
MAIL FROM:<a@b.example>
RCPT TO:<bob@example.com>
DATA
Subject: x

hi
.
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
554 5.7.1 Connecting host started transmitting before SMTP greeting
500 5.5.1 Unrecognized command
500 5.5.1 Unrecognized command
500 5.5.1 Unrecognized command
500 5.5.1 Unrecognized command
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  nothing_queued
}

@test "pipelining: MAIL, RCPT and DATA in one write are answered 250, 250, 354 in order" {
  transcript "$QP" <<'EOF'
EHLO client.example
MAIL FROM:<alice@sender.example>
RCPT TO:<bob@example.com>
DATA
Subject: p

x
.
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <alice@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
354 go ahead
~ 250 2\.0\.0 Queued! [0-9]+ qp [0-9]+
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  [ "$(queued)" -eq 1 ]
}

# ------------------------------------------------------------ 3. STARTTLS injection

@test "STARTTLS command injection (CVE-2011-0411): plaintext pipelined after STARTTLS is never run inside TLS" {
  tls_cfg
  run timeout 30 python3 - "$QP" "$CFG" "$FAKEQ" "$FAKEQ_DIR" "$BATS_TEST_TMPDIR/log" <<'EOF'
import os, socket, ssl, subprocess, sys
qp, cfg, fakeq, qdir, log = sys.argv[1:]
c, srv = socket.socketpair()
c.settimeout(10)
env = {"PATH": "/usr/bin:/bin", "QPSMTPD_CONFIG": cfg, "QMAILQUEUE": fakeq, "FAKEQ_DIR": qdir,
       "TCPREMOTEIP": "192.0.2.1"}
if os.getuid() == 0: import pwd; pw = pwd.getpwnam("nobody"); env.update(UID=str(pw.pw_uid), GID=str(pw.pw_gid))
p = subprocess.Popen([qp], stdin=srv, stdout=srv, stderr=open(log, "wb"), env=env, cwd=os.path.dirname(cfg))
srv.close()
f = c.makefile("rb")
def reply(r=None):
    r = r or f
    lines = []
    while True:
        l = r.readline().decode()
        lines.append(l.rstrip("\r\n"))
        if len(l) < 4 or l[3] != "-": return lines
reply()
c.sendall(b"EHLO c.example\r\n"); reply()
c.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
print("STARTTLS:", reply()[-1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(c, server_hostname="test.example")
tf = t.makefile("rb")
t.sendall(b"RCPT TO:<bob@example.com>\r\n")
print("first in TLS:", reply(tf)[-1])
t.sendall(b"QUIT\r\n"); reply(tf)
p.wait()
EOF
  assert_success
  assert_line --regexp '^STARTTLS: 220 '
  # had the injected MAIL run, this RCPT would be a 250; no EHLO yet: 503
  assert_line --regexp '^first in TLS: 503 '
  grep -q 'discarded 35 bytes pipelined after STARTTLS' "$BATS_TEST_TMPDIR/log"
}

# ------------------------------------------------------------ 4. TLS faults

@test "implicit TLS port probed with plaintext (HTTP): no greeting, no plaintext at all, the session ends" {
  tls_cfg
  printf 'GET / HTTP/1.0\r\n\r\n' > "$IN"
  smtp "$QP" SMTPS=1
  [ ! -s "$OUT" ]
  grep -q 'TLS handshake failed' "$ERR"
}

@test "STARTTLS misuse: with an argument 501, twice in a row or in a transaction 503" {
  tls_cfg
  printf 'EHLO c.example\r\nSTARTTLS now\r\nMAIL FROM:<a@b.example>\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 501 250 503 221"
}

# ------------------------------------------------------------ 5-7. command bytes

@test "long command line (CVE-2005-1514 class): one 500, and the tail of the line is never a command" {
  { printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nNOOP '; head -c 100000 /dev/zero | tr '\0' x
    printf 'RCPT TO:<bob@example.com>\r\nRSET\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 500 250 221"
  grep -q '^500 5.5.2 ' "$OUT"
}

@test "NUL in a command: rejected, never truncated at the NUL" {
  printf 'HELO a\0b\r\nEHLO c.example\r\nMAIL FROM:<a@b.example>\0 junk\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x\0@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 500 250 500 250 500 221"
}

@test "8-bit bytes in HELO, MAIL and RCPT without SMTPUTF8: rejected" {
  printf 'HELO \xc3\xa9t\xc3\xa9\r\nEHLO c.example\r\nMAIL FROM:<\xff@b.example>\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b\x80@example.com>\r\nRCPT TO:<b\xc3\xa9@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  # HELO: 500; a path: 501 when it is not UTF-8, 553 5.6.7 without SMTPUTF8
  assert_equal "$(codes)" "220 500 250 501 250 501 553 221"
}

# ------------------------------------------------------------ 8-10. envelope

@test "RCPT flood (Exim CVE-2020-28017 class): 1000 recipients, then 452, and the envelope holds 1000" {
  { printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n'
    for i in $(seq 1 1003); do printf 'RCPT TO:<u%d@example.com>\r\n' "$i"; done
    printf 'DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  [ "$(grep -c '^250 2.1.5' "$OUT")" -eq 1000 ]
  [ "$(grep -c '^452 4.5.3 ' "$OUT")" -eq 3 ]
  [ "$(tr -cd '\0' < "$FAKEQ_DIR/1.env" | wc -c)" -eq 1002 ]
}

@test "SIZE integer overflow: 2^32 is 552, 2^64 and longer are 501 like junk, nothing wraps to small" {
  echo 1000 > "$CFG/databytes"
  { printf 'EHLO c.example\r\n'
    for v in 1000 4294967296 18446744073709551616 999999999999999999999999 -1 0x10 ''; do
      printf 'MAIL FROM:<a@b.example> SIZE=%s\r\n' "$v"; done
    printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 552 501 501 501 501 501 221"
}

@test "databytes overflow: exactly the limit is queued, one byte more is 552 and not queued" {
  echo 100 > "$CFG/databytes"
  body=$(head -c 78 /dev/zero | tr '\0' a)    # stored: "Subject: x\n\n" 12 + 78 + 1 + "12345678\n" 9 = 100
  { envelope; printf 'Subject: x\r\n\r\n%s\r\n12345678\r\n.\r\n' "$body"
    printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\n%s\r\n123456789\r\n.\r\nQUIT\r\n' "$body"; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 552 221"
  [ "$(queued)" -eq 1 ]
}

@test "envelope address attacks: CR, an unbalanced quote, junk after the path, bad parameters are refused; a source route is dropped" {
  printf 'EHLO c.example\r\nMAIL FROM:<a\rb@b.example>\r\nMAIL FROM:<"a@b.example>\r\nMAIL FROM:<a@b.example> junk\r\nMAIL FROM:<a@b.example> =foo\r\nMAIL FROM:<a@b.example> FOO=bar\r\nMAIL FROM:<@r1.example,@r2.example:u@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: r\r\n\r\nx\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run codes
  [[ $output =~ ^220\ 250\ 5[0-9][0-9]\ 5[0-9][0-9]\ 5[0-9][0-9]\ 5[0-9][0-9]\ 555\ 250\ 250\ 354\ 250\ 221$ ]]
  [ "$(head -c 12 "$FAKEQ_DIR/1.env" | tr '\0' '|')" = 'Fu@b.example' ]
}

# ------------------------------------------------------------ 11-12. injection

@test "shell injection through the envelope (OpenSMTPD CVE-2020-7247): refused or passed byte-exact to qmail-queue, never to a shell" {
  printf 'EHLO c.example\r\nMAIL FROM:<;sleep 5;>\r\nMAIL FROM:<;id;@b.example>\r\nMAIL FROM:<x|sh&$IFS{sleep,5}@b.example>\r\nMAIL FROM:<s|sh&$IFS@b.example>\r\nRCPT TO:<a|b$c`d@example.com>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\nQUIT\r\n' > "$IN"
  start=$(date +%s)
  smtp "$QP"
  [ $(( $(date +%s) - start )) -lt 4 ]
  assert_equal "$(codes)" "220 250 501 501 501 250 250 354 250 221"
  printf 'Fs|sh&$IFS@b.example\0Ta|b$c`d@example.com\0\0' | cmp - "$FAKEQ_DIR/1.env"
  # and the source never hands anything to a shell
  run grep -nE '\b(system|popen)\(|"/bin/sh"|execl?p?\("sh"' "$ROOT"/*.c "$ROOT"/plugins/*.c "$ROOT"/plugins/*/*.c
  assert_failure
}

@test "header injection through HELO, PTR name and ident: one Received line, no injected header" {
  printf 'EHLO a\rX-Injected: yes\r\nEHLO a.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\ny\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP" TCPREMOTEHOST=$'h\nX-Injected: yes' TCPREMOTEINFO=$'i\r\nX-Injected: yes'
  assert_equal "$(codes)" "220 500 250 250 250 354 250 221"
  [ "$(grep -c '^Received:' "$FAKEQ_DIR/1.msg")" -eq 1 ]
  ! grep -q '^X-Injected' "$FAKEQ_DIR/1.msg" || false
  ! grep -q $'\r' "$FAKEQ_DIR/1.msg" || false
}

# ------------------------------------------------------------ 13. AUTH

@test "AUTH with malformed base64, bad PLAIN layouts, a cancel and an over-long line: 501 or 500 each, never a login" {
  echo 'alice@example.com:secret' > "$CFG/flat_auth_pw"
  QP=$(build_chain sec-auth <<'EOF'
auth/auth_flat_file
auth/authdeny
rcpt_ok
queue/qmail-queue
EOF
)
  plain() { printf "$1" | base64 -w0; }
  # three decoding failures close the session (421 4.7.0)
  printf 'EHLO c.example\r\nAUTH PLAIN !!!!\r\nAUTH PLAIN AAA\r\nAUTH PLAIN %sgarbage\r\nQUIT\r\n' "$(plain '\0alice@example.com\0secret')" > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 501 501 421"
  # a cancel, an over-long line and bad layouts; the good login after them works
  { printf 'EHLO c.example\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN '; head -c 20000 /dev/zero | tr '\0' A
    printf '\r\nAUTH PLAIN %s\r\n' "$(plain 'a\0b')"; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 334 501 500 501 221"
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain 'a\0b\0c\0d')" "$(plain '\0alice@example.com\0secret')" > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 501 235 221"
  ! grep -q secret "$ERR" || false
}

# ------------------------------------------------------------ 14-15. time and EOF

@test "slowloris: a client trickling a command a byte a second is cut off at the deadline with 421" {
  echo 2 > "$CFG/timeoutsmtpd"
  start=$(date +%s)
  ( for c in E H L O ' ' a b c d e f g h; do printf '%s' "$c"; sleep 1; done ) | \
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" timeout 30 "$QP" > "$OUT" 2> "$ERR" || true
  grep -q '^421 4.4.2 ' "$OUT"
  [ $(( $(date +%s) - start )) -le 12 ]
}

@test "slowloris on the write side: a client that sends commands but never reads the replies is cut off at the deadline" {
  echo 1 > "$CFG/timeoutsmtpd"
  # over a socketpair, as under tcpserver: our replies fill the socket
  # buffers, and the daemon must give up at the deadline, not block forever
  run env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" \
    python3 - "$QP" "$ERR" <<'PY'
import socket, subprocess, sys, time
a, b = socket.socketpair()
for s in (a, b):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
p = subprocess.Popen([sys.argv[1]], stdin=b, stdout=b, stderr=open(sys.argv[2], "w"))
b.close()
a.setblocking(False)
sent, start = 0, time.time()
while p.poll() is None and time.time() - start < 25:
    try:
        sent += a.send(b"NOOP\r\n" * 512)
    except BlockingIOError:
        time.sleep(0.05)
took = time.time() - start
if p.poll() is None:
    p.kill()
    print("still running after %.0f s" % took)
    sys.exit(1)
print("exited after %.1f s, %d bytes sent" % (took, sent))
PY
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == "exited after "* ]]
  echo "$output" | awk '{ exit !($3 < 25) }'
  # it answered until the buffers were full, then gave up on the deadline
  grep -q '250 2.0.0 OK' "$ERR"
  grep -q 'timeout' "$ERR"
}

@test "a client disconnecting mid-DATA gets nothing queued" {
  { envelope; printf 'Subject: x\r\n\r\npartial'; } > "$IN"
  smtp "$QP"
  # the session reached DATA (354) and saw the message end short
  expect_replies <<'EOF'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <alice@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
354 go ahead
451 4.3.0 Incomplete DATA
EOF
  nothing_queued
}

# ------------------------------------------------------------ 16-17. the queue

@test "qmail-queue failing (exit 53, no read, crash, missing): 451 every time, never 250, and the session goes on" {
  for m in "FAKEQ_EXIT=53" "FAKEQ_MODE=noread" "FAKEQ_MODE=crash" "QMAILQUEUE=/nonexistent"; do
    { envelope; printf 'Subject: x\r\n\r\n'; yes "$LINE70" | head -n 3000 | sed 's/$/\r/'
      printf '.\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n'; } > "$IN"
    smtp "$QP" "$m"
    assert_equal "$(codes)" "220 250 250 250 354 451 250 221"
    [ "$(queued)" -eq 0 ]
  done
}

@test "disk full while spooling (EFBIG under ulimit -f): 451, nothing queued, no spool file left" {
  mkdir -p "$BATS_TEST_TMPDIR/spool"
  echo "$BATS_TEST_TMPDIR/spool" > "$CFG/spool_dir"
  { envelope; printf 'Subject: x\r\n\r\n'; yes "$LINE70" | head -n 45000 | sed 's/$/\r/'
    printf '.\r\nQUIT\r\n'; } > "$IN"
  ( ulimit -f 1024; smtp "$QP" )
  assert_equal "$(codes)" "220 250 250 250 354 451 221"
  grep -q 'File too large' "$ERR"
  nothing_queued
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/spool")" ]
}

# ------------------------------------------------------------ 18-20. floods

@test "mail loop: 100 Received headers get 554 5.4.6, 99 are accepted" {
  rec() { for i in $(seq 1 "$1"); do printf 'Received: from hop%d\r\n' "$i"; done; }
  { envelope; rec 99; printf 'Subject: x\r\n\r\nb\r\n.\r\n'
    printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n'; rec 100; printf 'Subject: x\r\n\r\nb\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 554 221"
  grep -q '^554 5.4.6 ' "$OUT"
}

@test "memory exhaustion (Qualys CVE-2005-1513 class): 50 MB of header without a blank line and 100000 NOOPs in 64 MB of address space" {
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "ASan needs more address space"
  { envelope; yes "X-H: $LINE70$LINE70$LINE70$LINE70" | head -n 175000 | sed 's/$/\r/'
    printf '.\r\n'; yes NOOP | head -n 100000 | sed 's/$/\r/'; printf 'QUIT\r\n'; } > "$IN"
  ( ulimit -v 65536; smtp "$QP"; echo "$RC" > "$BATS_TEST_TMPDIR/rc" )
  [ "$(cat "$BATS_TEST_TMPDIR/rc")" -eq 0 ]
  grep -q '^552 5.3.4 ' "$OUT"
  [ "$(grep -c '^250 2.0.0 OK' "$OUT")" -eq 100000 ]
  nothing_queued
  tail -n 1 "$OUT" | grep -q '^221 '
}

@test "junk commands: the fourth unrecognized command closes the session with 521" {
  { printf 'EHLO c.example\r\n'; for i in $(seq 1 50); do printf 'FOO\r\n'; done; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 500 500 500 521"
}

# ------------------------------------------------------------ 21-22. start-up

@test "configuration faults: an unreadable rcpthosts or a databytes of 12abc is 421 4.3.0 naming the file, before any transaction" {
  chmod 000 "$CFG/rcpthosts"
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q '^421 4.3.0 ' "$OUT"
  ! grep -q '^250 2.1.5' "$OUT" || false
  grep -q 'rcpthosts' "$ERR"
  chmod 644 "$CFG/rcpthosts"
  echo 12abc > "$CFG/databytes"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q 'databytes' "$ERR"
}

@test "a TLS key that does not parse: STARTTLS is refused with 421 and the log names the key file" {
  tls_cfg
  echo garbage > "$CFG/ssl/qpsmtpd-server.key"
  printf 'EHLO c.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q '^421 ' "$OUT"
  grep -q 'qpsmtpd-server.key' "$ERR"
}

@test "early talker: a client that talks before the greeting gets 550 and no greeting" {
  QP=$(build_chain sec-earlytalker <<'EOF'
earlytalker wait 0.5
rcpt_ok
EOF
)
  printf 'EHLO x.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  ! grep -q '^220' "$OUT" || false
  grep -q '^550 ' "$OUT"
}

# ------------------------------------------------------------ root

@test "started as root without UID and GID: 421, exit 100, a log line, and not a byte read" {
  [ "$(id -u)" -eq 0 ] || skip "needs root"
  printf 'EHLO c.example\r\nQUIT\r\n' > "$IN"
  run env -i PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" sh -c '"$0" 2> "$1"; echo "rc=$?"; cat' "$QP" "$ERR" < "$IN"
  assert_line --index 0 --regexp '^421 4\.3\.0 '
  assert_line 'rc=100'
  # what qpsmtpd left unread is still there for cat
  assert_line --regexp '^EHLO c\.example'
  grep -q 'crit started as root: UID and GID are not set' "$ERR"
}

@test "started as root with UID=0, GID=0 or a malformed id: refused the same way" {
  [ "$(id -u)" -eq 0 ] || skip "needs root"
  printf 'QUIT\r\n' > "$IN"
  for ids in "UID=0 GID=65534" "UID=65534 GID=0" "UID=65534x GID=65534" "UID= GID=65534" "UID=-1 GID=65534"; do
    env -i PATH=/usr/bin:/bin QPSMTPD_CONFIG="$CFG" $ids "$QP" < "$IN" > "$OUT" 2> "$ERR" && rc=0 || rc=$?
    [ "$rc" -eq 100 ] || { echo "$ids: exit $rc" >&2; return 1; }
    assert_equal "$(codes)" "421"
  done
}

@test "started as root with UID and GID: the session and qmail-queue run as that user" {
  [ "$(id -u)" -eq 0 ] || skip "needs root"
  { envelope; printf 'Subject: x\r\n\r\nx\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  assert_equal "$(stat -c %u:%g "$FAKEQ_DIR/1.msg")" "$(id -u nobody):$(id -g nobody)"
}

@test "started unprivileged, UID and GID are ignored" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to start as another user"
  command -v setpriv > /dev/null || skip "no setpriv"
  { envelope; printf 'Subject: x\r\n\r\nx\r\n.\r\nQUIT\r\n'; } > "$IN"
  env -i PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" \
    UID=1 GID=1 setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$QP" < "$IN" > "$OUT" 2> "$ERR"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  assert_equal "$(stat -c %u "$FAKEQ_DIR/1.msg")" "$(id -u nobody)"
}
