#!/usr/bin/env bats
# CHUNKING and BDAT (RFC 3030): chunks framed by their size, a message by
# BDAT stored exactly as the same message by DATA, BDAT in a pipeline,
# refused BDATs whose chunk is read and dropped, databytes across chunks,
# the hooks, and no way to end a message but BDAT ... LAST.
#
# Postfix's SMTP client and swaks never send BDAT, so the client here is
# Python's smtplib sending BDAT commands on its socket; exim-client.bats
# has Exim, which sends BDAT to a server offering CHUNKING.

load helper

export LC_ALL=C

setup() {
  mkcfg
  QP=$(default_chain)
}

teardown() {
  stop_server
}

mail_rcpt() {
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
}

# chunk TEXT [LAST]: "BDAT <octets of TEXT>[ LAST]" CRLF, then TEXT (printf escapes)
chunk() {
  printf 'BDAT %d%s\r\n' "$(printf "$1" | wc -c)" "${2:+ $2}"
  printf "$1"
}

# the queued message without the Received field our server put on top
body_of() {
  awk 'skip && /^[ \t]/ { next } { skip = 0 } NR == 1 && /^Received:/ { skip = 1; next } { print }' "$FAKEQ_DIR/$1.msg"
}

@test "EHLO offers CHUNKING, and HELP lists BDAT" {
  transcript "$QP" <<'EOF'
EHLO client.example
HELP
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
214-2.0.0 This is qpsmtpd 0.1
214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT
214 2.0.0 See the qpsmtpd(8) manual page.
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "one BDAT LAST: the message is queued with its lines, dots as sent" {
  { mail_rcpt; chunk 'Subject: one\r\n\r\n.not stuffed\r\nbody\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  expect_replies <<'EOF'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <alice@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
~ 250 2\.0\.0 Queued! .*
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  [ "$(queued)" -eq 1 ]
  run body_of 1
  assert_output "$(printf 'Subject: one\n\n.not stuffed\nbody')"
}

@test "the same message by DATA and by BDAT in chunks (cut inside CRLF and a header) is stored byte for byte the same" {
  # DATA: dot-stuffed on the wire
  { mail_rcpt; printf 'DATA\r\nFrom: a@sender.example\r\nSubject: same\r\n  folded\r\n\r\n..dot line\r\n..\r\n\r\nlast\r\n.\r\n'
    # BDAT: the same text unstuffed, cut between CR and LF, inside a field name, and into a BDAT 0
    printf 'MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
    chunk 'From: a@sender.example\r'; chunk '\nSubj'; chunk 'ect: same\r\n  folded\r\n\r\n.dot line\r\n'
    chunk ''; chunk '.\r\n\r\nlast\r\n'; chunk '' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 250 250 250 250 250 250 221"
  [ "$(queued)" -eq 2 ]
  cmp <(body_of 1) <(body_of 2)
  run body_of 2
  assert_output "$(printf 'From: a@sender.example\nSubject: same\n  folded\n\n.dot line\n.\n\nlast')"
  # and the whole files differ only in the Received field
  diff <(grep -v '^Received:\|^[[:space:]]\+\(by\|id\|for\) ' "$FAKEQ_DIR/1.msg") <(grep -v '^Received:\|^[[:space:]]\+\(by\|id\|for\) ' "$FAKEQ_DIR/2.msg")
}

@test "a BDAT message whose last line has no CRLF is stored with a line end, as DATA would" {
  { mail_rcpt; chunk 'Subject: x\r\n\r\nno line end' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 221"
  [ "$(tail -c 12 "$FAKEQ_DIR/1.msg")" = "no line end" ]
  [ "$(tail -c 1 "$FAKEQ_DIR/1.msg" | od -An -c | tr -d ' ')" = '\n' ]
}

@test "pipelined: MAIL, RCPT, three BDATs and QUIT in one write" {
  { mail_rcpt; chunk 'Subject: p\r\n\r\n'; chunk 'line 1\r\n'; chunk 'line 2\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  expect_replies <<'EOF'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <alice@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
250 2.0.0 14 octets received
250 2.0.0 8 octets received
~ 250 2\.0\.0 Queued! .*
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  [ "$(queued)" -eq 1 ]
}

@test "smuggling: CRLF.CRLF and commands inside a chunk are data, only BDAT LAST ends the message" {
  for v in '\r\n.\r\n' '\n.\n' '\n.\r\n' '\r\n.\n' '\r.\r'; do
    rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"; chmod 1777 "$FAKEQ_DIR"
    { mail_rcpt; chunk "Subject: real\r\n\r\nA${v}MAIL FROM:<spoof@evil.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nz\r\n.\r\n"
      chunk 'end\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
    smtp "$QP"
    ! grep -q 'spoof@evil' "$FAKEQ_DIR"/*.env 2>/dev/null || false
    ! grep -q '^354' "$OUT" || false
    if [ "$v" = '\r\n.\r\n' ]; then
      # well-formed lines: one message, the would-be commands in its body
      assert_equal "$(codes)" "220 250 250 250 250 250 221"
      [ "$(queued)" -eq 1 ]
      grep -q '^MAIL FROM:<spoof@evil.example>$' "$FAKEQ_DIR/1.msg"
      grep -q '^end$' "$FAKEQ_DIR/1.msg"
    else
      # a bare CR or LF: the message is refused, the session stays in step
      assert_equal "$(codes)" "220 250 250 250 550 503 221"
      [ "$(queued)" -eq 0 ]
    fi
  done
}

@test "DATA after BDAT is 503 and the chunked message goes on to its LAST" {
  { mail_rcpt; chunk 'Subject: d\r\n\r\n'; printf 'DATA\r\nRCPT TO:<carol@example.com>\r\n'; chunk 'body\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 503 503 250 221"
  grep -q '^503 5.5.1 DATA is not allowed after BDAT' "$OUT"
  grep -q '^503 5.5.1 RCPT is not allowed after BDAT' "$OUT"
  [ "$(queued)" -eq 1 ]
  grep -q '^body$' "$FAKEQ_DIR/1.msg"
}

@test "BDAT 0 LAST ends a message, and alone sends an empty one" {
  { mail_rcpt; chunk 'Subject: z\r\n\r\nbody\r\n'; chunk '' LAST
    printf 'MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'; chunk '' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 250 250 250 250 221"
  [ "$(queued)" -eq 2 ]
  run body_of 2
  assert_output ''
}

@test "BDAT before MAIL or RCPT is 503 and its chunk is read and dropped, not run as commands" {
  { printf 'EHLO client.example\r\n'; chunk 'NOOP\r\nNOOP\r\n'
    printf 'MAIL FROM:<alice@sender.example>\r\n'; chunk 'RSET\r\n' LAST
    printf 'RCPT TO:<bob@example.com>\r\n'; chunk 'Subject: ok\r\n\r\nx\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 503 250 503 250 250 221"
  grep -q '^503 5.5.1 MAIL first' "$OUT"
  grep -q '^503 5.5.1 RCPT first' "$OUT"
  [ "$(queued)" -eq 1 ]
}

@test "RSET between chunks drops the message; the next BDAT is 503 and its chunk dropped" {
  { mail_rcpt; chunk 'Subject: r\r\n\r\nfirst\r\n'; printf 'RSET\r\n'; chunk 'QUIT\r\n' LAST
    mail_rcpt | tail -n +2; chunk 'Subject: after\r\n\r\nsecond\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 250 503 250 250 250 221"
  [ "$(queued)" -eq 1 ]
  ! grep -q first "$FAKEQ_DIR/1.msg" || false
  grep -q '^second$' "$FAKEQ_DIR/1.msg"
}

@test "a BDAT size that cannot be read is 501 and the session ends (the chunk's end is unknown)" {
  for a in '' ' ' 'x' '-1' '+1' '1 2' '1 LASTX' '1 LAST x' '0x10' '1.0' '18446744073709551616' '99999999999999999999999999'; do
    { mail_rcpt; printf 'BDAT %s\r\nNOOP\r\nQUIT\r\n' "$a"; } > "$IN"
    smtp "$QP"
    assert_equal "$(codes)" "220 250 250 250 501"
    grep -q "^501 5.5.4 Syntax error in BDAT" "$OUT"
    [ "$(queued)" -eq 0 ]
  done
}

@test "BDAT sizes: leading zeros, lower case last, several spaces" {
  { mail_rcpt; printf 'BDAT 0005\r\nSubjebdat 12   last\r\nct: a\r\n\r\nb\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 250 221"
  [ "$(queued)" -eq 1 ]
}

@test "databytes across chunks: the chunk that passes it is read whole and answered 552, later chunks 503" {
  echo 40 > "$CFG/databytes"
  { mail_rcpt; chunk 'Subject: big\r\n\r\n0123456789\r\n'; chunk '0123456789\r\n0123456789\r\nNOOP\r\n'
    chunk 'more\r\n' LAST; printf 'NOOP\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 552 503 250 221"
  grep -q '^552 5.3.4 Message too big' "$OUT"
  [ "$(queued)" -eq 0 ]
}

@test "databytes: exactly the limit by BDAT is queued, as by DATA" {
  echo 40 > "$CFG/databytes"
  # 40 octets stored (LF ends): 12 + 1 + 3 * 9
  { mail_rcpt; chunk 'Subject: 40\r\n\r\n'; chunk '12345678\r\n12345678\r\n12345678\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 250 221"
  [ "$(queued)" -eq 1 ]
}

@test "bare LF or CR in a chunk: 550, nothing queued, and the session goes on" {
  { mail_rcpt; chunk 'Subject: lf\n\nbody\r\n' LAST; mail_rcpt | tail -n +2; chunk 'Subject: cr\r\n\r\nbody\r' LAST
    mail_rcpt | tail -n +2; chunk 'Subject: ok\r\n\r\nbody\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 550 250 250 550 250 250 250 221"
  grep -q '^550 5.5.2 Bare LF received' "$OUT"
  grep -q '^550 5.5.2 Bare CR received' "$OUT"
  [ "$(queued)" -eq 1 ]
  grep -q 'Subject: ok' "$FAKEQ_DIR/1.msg"
}

@test "a chunk cut short by the end of input: 451, nothing queued" {
  { mail_rcpt; printf 'BDAT 100 LAST\r\nSubject: short\r\n\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 451"
  grep -q '^451 4.3.0 Incomplete DATA' "$OUT"
  [ "$(queued)" -eq 0 ]
}

@test "AUTH and STARTTLS are refused in a chunked message" {
  { mail_rcpt; chunk 'Subject: a\r\n\r\n'; printf 'STARTTLS\r\n'; chunk 'x\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 503 250 221"
  [ "$(queued)" -eq 1 ]
}

@test "hooks: the data hook at the first BDAT, its denial drops the chunk and the message" {
  QP=$(build_chain bdat-datadeny <<'EOF'
tests/return_code data DENY no chunks today
rcpt_ok
queue/qmail-queue
EOF
)
  { mail_rcpt; chunk 'Subject: no\r\n\r\nNOOP\r\n'; chunk 'x\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 554 503 221"
  grep -q '^554 5.7.1 no chunks today' "$OUT"
  [ "$(queued)" -eq 0 ]
}

@test "hooks: the header section is seen across chunks, data_post refuses at LAST" {
  QP=$(build_chain bdat-headers <<'EOF'
headers require From,Subject
rcpt_ok
queue/qmail-queue
EOF
)
  { mail_rcpt; chunk 'Fr'; chunk 'om: a@sender.example\r\nSu'; chunk 'bject: split\r'; chunk '\n\r\nbody\r\n' LAST
    mail_rcpt | tail -n +2; chunk 'Subject: no from\r\n'; chunk '\r\nbody\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 250 250 250 250 250 250 552 221"
  [ "$(queued)" -eq 1 ]
  grep -q '^Subject: split$' "$FAKEQ_DIR/1.msg"
}

@test "hooks: data_headers_end with DENY_DISCONNECT ends the session at the end of the header section" {
  QP=$(build_chain bdat-hdrend <<'EOF'
tests/return_code data_headers_end DENY_DISCONNECT headers refused
rcpt_ok
queue/qmail-queue
EOF
)
  { mail_rcpt; chunk 'Subject: h\r\n'; chunk '\r\nbody\r\n'; chunk 'x\r\n' LAST; printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 554"
  [ "$(queued)" -eq 0 ]
}

@test "Python smtplib over tcpserver: CHUNKING seen, BDATs pipelined in one send and one by one, stored as sendmail's DATA" {
  start_server "$QP"
  run timeout 30 python3 - "$PORT" <<'EOF'
import smtplib, sys
msg = b"From: a@sender.example\r\nSubject: py\r\n\r\n.dot\r\n" + b"x" * 70000 + b"\r\nend\r\n"
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
s.ehlo()
print("chunking:", s.has_extn("chunking"))
print("data:", s.sendmail("alice@sender.example", ["bob@example.com"], msg))
# pipelined: MAIL, RCPT and every chunk in one write, then the replies
cuts = [0, 7, 45, 46, 40000, len(msg)]
out = b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n"
for i in range(len(cuts) - 1):
    part = msg[cuts[i]:cuts[i + 1]]
    out += b"BDAT %d%s\r\n" % (len(part), b" LAST" if i == len(cuts) - 2 else b"") + part
s.sock.sendall(out)
print("pipelined:", [s.getreply()[0] for _ in range(2 + len(cuts) - 1)])
# one by one, waiting for each reply
s.mail("alice@sender.example"); s.rcpt("bob@example.com")
for i, part in enumerate([msg[:100], msg[100:]]):
    s.send(b"BDAT %d%s\r\n" % (len(part), b" LAST" if i else b""))
    s.send(part)
    print("chunk:", s.getreply())
print("quit:", s.quit()[0])
EOF
  assert_success
  assert_line 'chunking: True'
  assert_line 'data: {}'
  assert_line 'pipelined: [250, 250, 250, 250, 250, 250, 250]'
  assert_line "chunk: (250, b'2.0.0 100 octets received')"
  assert_line --regexp "^chunk: \(250, b'2\.0\.0 Queued! "
  assert_line 'quit: 221'
  [ "$(queued)" -eq 3 ]
  cmp <(body_of 1) <(body_of 2)
  cmp <(body_of 1) <(body_of 3)
}
