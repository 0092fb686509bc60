#!/usr/bin/env bats
# The SMTP dialogue: every command, every state error, the replies.

load helper

setup() {
  mkcfg
  QP=$(default_chain)
  SRVPID=
}

teardown() {
  stop_server
}

@test "greeting, EHLO capabilities, QUIT" {
  transcript "$QP" <<'EOF'
EHLO client.example
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
250-PIPELINING
250-8BITMIME
250-SMTPUTF8
250-CHUNKING
250-SIZE
250 ENHANCEDSTATUSCODES
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  [ "$RC" -eq 0 ]
}

@test "every reply line ends in CRLF" {
  printf 'EHLO client.example\r\nHELP\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run grep -c $'\r$' "$OUT"
  [ "$output" -eq "$(wc -l < "$OUT")" ]
}

@test "databytes is advertised as SIZE" {
  echo 1000 > "$CFG/databytes"
  transcript "$QP" <<'EOF'
EHLO client.example
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE 1000
250 ENHANCEDSTATUSCODES
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "without databytes EHLO advertises SIZE without a number (RFC 1870 4: no fixed maximum)" {
  printf 'EHLO client.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line '250-SIZE'
  refute_line --regexp '^250.SIZE '
}

@test "SIZE= with more digits than fit or that overflows is a 501 syntax error; a number over databytes is 552" {
  echo 1000 > "$CFG/databytes"
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL FROM:<a@b.example> SIZE=1000
MAIL FROM:<a@b.example> SIZE=1001
MAIL FROM:<a@b.example> SIZE=18446744073709551615
MAIL FROM:<a@b.example> SIZE=18446744073709551616
MAIL FROM:<a@b.example> SIZE=99999999999999999999
MAIL FROM:<a@b.example> SIZE=123456789012345678901
MAIL FROM:<a@b.example> SIZE=00000000000000000000001
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE 1000
250 ENHANCEDSTATUSCODES
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
552 5.3.4 Message size exceeds fixed maximum message size
552 5.3.4 Message size exceeds fixed maximum message size
501 5.5.4 Syntax error in SIZE parameter
501 5.5.4 Syntax error in SIZE parameter
501 5.5.4 Syntax error in SIZE parameter
501 5.5.4 Syntax error in SIZE parameter
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "smtpgreeting replaces the greeting and ESMTP is added" {
  echo 'mx.example welcomes you' > "$CFG/smtpgreeting"
  transcript "$QP" <<'EOF'
QUIT
--
220 mx.example welcomes you ESMTP
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "HELO reply, and a second HELO or EHLO is answered again" {
  transcript "$QP" <<'EOF'
HELO client.example
HELO again.example
EHLO x.example
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.
250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "a second EHLO after MAIL and RCPT resets the transaction (RFC 5321 4.1.4)" {
  # DATA and RCPT after the second EHLO: no transaction; then a new one
  transcript "$QP" <<'EOF'
EHLO a.example
MAIL FROM:<alice@sender.example>
RCPT TO:<bob@example.com>
EHLO b.example
DATA
RCPT TO:<bob@example.com>
MAIL FROM:<carol@sender.example>
RCPT TO:<bob@example.com>
DATA
Subject: s

body
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
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
503 5.5.1 MAIL first
503 5.5.1 Use MAIL before RCPT
250 2.1.0 <carol@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
354 go ahead
~ 250 2\.0\.0 Queued! [0-9]+ qp [0-9]+
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  [ "$(queued)" -eq 1 ]
  grep -q 'carol@sender.example' "$FAKEQ_DIR/1.env"
}

@test "a second HELO in the middle of a transaction resets it too" {
  transcript "$QP" <<'EOF'
HELO a.example
MAIL FROM:<alice@sender.example>
RCPT TO:<bob@example.com>
HELO b.example
DATA
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.
250 2.1.0 <alice@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.
503 5.5.1 MAIL first
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  nothing_queued
}

@test "HELO and EHLO without a domain are 501" {
  transcript "$QP" <<'EOF'
HELO
EHLO
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
501 5.5.4 helo requires domain/address - see RFC-2821 4.1.1.1
501 5.5.4 ehlo requires domain/address - see RFC-2821 4.1.1.1
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "MAIL before HELO is 503" {
  transcript "$QP" <<'EOF'
MAIL FROM:<a@b.example>
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
503 5.5.1 please say hello first ...
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "RCPT before MAIL, DATA before MAIL and before RCPT are 503" {
  transcript "$QP" <<'EOF'
EHLO c.example
RCPT TO:<bob@example.com>
DATA
MAIL FROM:<a@b.example>
DATA
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
503 5.5.1 Use MAIL before RCPT
503 5.5.1 MAIL first
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
503 5.5.1 RCPT first
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "MAIL and RCPT syntax errors are 501 and unknown parameters 555" {
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL <a@b.example>
MAIL FROM:<a@b.example> <d@e.example>
MAIL FROM:<a@b c>
MAIL FROM:<a@b.example> FOO=bar
MAIL FROM:<a@b.example>
RCPT TO:
RCPT <bob@example.com>
RCPT TO:<>
RCPT TO:<bob@example.com> NOTIFY=NEVER
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
501 5.5.4 Syntax error in command
501 5.5.4 Syntax error in parameters
501 5.1.7 could not parse your mail from command
555 5.5.4 Unsupported parameter foo
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
501 5.5.4 Syntax error in address
501 5.5.4 Syntax error in command
501 5.1.3 could not parse recipient
555 5.5.4 Unsupported parameter notify
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

# an SRS1 sender of 97 octets, its local part 79 (over RFC 5321's 64)
SRS='SRS1=HHHHHHHHHHHHHHHHH=example.org==HHHHHHHHHHHHHHHHHHHHHHHHHH=TT=example.com=alice@forwarder.example'

@test "real addresses are accepted: long SRS local parts, quoted local parts, empty dot-atom labels, underscores; qmail-queue gets them unquoted" {
  transcript "$QP" <<EOF
EHLO c.example
MAIL FROM:<$SRS>
RCPT TO:<"a b"@example.com>
RCPT TO:<"a\\"b"@example.com>
RCPT TO:<a..b@example.com>
RCPT TO:<.a@example.com>
RCPT TO:<a.@example.com>
RCPT TO:<"abc"@example.com>
RCPT TO:<"a\\\\b"@example.com>
DATA
Subject: q

x
.
MAIL FROM:<"x y"@host_1.example>
RCPT TO:<b_c@example.com>
DATA
Subject: r

y
.
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <$SRS>, sender OK - how exciting to get mail from you!
250 2.1.5 <"a b"@example.com>, recipient ok
250 2.1.5 <"a\\"b"@example.com>, recipient ok
250 2.1.5 <a..b@example.com>, recipient ok
250 2.1.5 <.a@example.com>, recipient ok
250 2.1.5 <a.@example.com>, recipient ok
250 2.1.5 <abc@example.com>, recipient ok
250 2.1.5 <"a\\\\b"@example.com>, recipient ok
354 go ahead
~ 250 2\\.0\\.0 Queued! [0-9]+ qp [0-9]+
250 2.1.0 <"x y"@host_1.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <b_c@example.com>, recipient ok
354 go ahead
~ 250 2\\.0\\.0 Queued! [0-9]+ qp [0-9]+
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  # qmail-queue's envelope holds the internal form, as qmail-smtpd writes it
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/1.env")" "F$SRS|Ta b@example.com|Ta\"b@example.com|Ta..b@example.com|T.a@example.com|Ta.@example.com|Tabc@example.com|Ta\\b@example.com||"
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/2.env")" 'Fx y@host_1.example|Tb_c@example.com||'
  # the Received header names no address, and stays two lines
  assert_equal "$(grep -c '^Received: from ' "$FAKEQ_DIR/1.msg")" 1
  assert_equal "$(sed -n 2p "$FAKEQ_DIR/1.msg" | cut -c1-4)" "$(printf '\tby ')"
}

@test "swaks sends a quoted and a long SRS sender to a quoted recipient through tcpserver; qmail-queue gets them unquoted" {
  start_server "$QP"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --from '"x y"@sender.example' \
    --to '"a\"b"@example.com' --body 'hi'
  assert_success
  assert_output --partial '<-  250 2.1.0 <"x y"@sender.example>, sender OK'
  assert_output --partial '<-  250 2.1.5 <"a\"b"@example.com>, recipient ok'
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --from "$SRS" --to 'a..b@example.com' --body 'hi'
  assert_success
  wait_sessions 2
  stop_server
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/1.env")" 'Fx y@sender.example|Ta"b@example.com||'
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/2.env")" "F$SRS|Ta..b@example.com||"
}

@test "addresses stay refused with CR, NUL, control bytes, 8-bit, unquoted specials, a bad quoted pair, or over 512 octets" {
  long=$(head -c 500 /dev/zero | tr '\0' a)
  { printf 'EHLO c.example\r\n'
    printf 'MAIL FROM:<"a\rb"@b.example>\r\n'
    printf 'MAIL FROM:<"a\0b"@b.example>\r\n'
    printf 'MAIL FROM:<"a\001b"@b.example>\r\n'
    printf 'MAIL FROM:<"a\\\001b"@b.example>\r\n'
    printf 'MAIL FROM:<a\001b@b.example>\r\n'
    printf 'MAIL FROM:<\303\251@b.example>\r\n'
    printf 'MAIL FROM:<"\303\251"@b.example>\r\n'
    printf 'MAIL FROM:<%s>\r\n' 'a(b@b.example' 'a,b@b.example' 'a"b@b.example' 'a\b@b.example' '"a"b@b.example' '""@b.example' '"a b@b.example' '..@b.example' 'a@b..example' 'a@-b.example' 'a@b.example.' 'a@b"c.example'
    printf 'MAIL FROM:<%s@%s.example>\r\n' "$long" 'abcd'
    printf 'MAIL FROM:<%s@%s.example>\r\n' "$long" 'abc'
    printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  # the line reader refuses a line with CR, NUL or 8-bit bytes whole (500);
  # the reply's text is cut at the reply line bound
  expect_replies <<'EOF'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
500 5.5.2 Syntax error: bare CR in command
500 5.5.2 Syntax error: NUL byte in command
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
553 5.6.7 Non-ASCII addresses not permitted for that sender without SMTPUTF8
553 5.6.7 Non-ASCII addresses not permitted for that sender without SMTPUTF8
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
501 5.5.4 Syntax error in command
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
501 5.5.4 Syntax error in command
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
501 5.1.7 could not parse your mail from command
501 5.5.4 Syntax error in command
501 5.1.7 could not parse your mail from command
~ 250 2\.1\.0 <a{400}.*
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "MAIL FROM:<> and an empty MAIL FROM: are the null sender" {
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL FROM:<>
MAIL FROM:
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <>, sender OK - how exciting to get mail from you!
250 2.1.0 <>, sender OK - how exciting to get mail from you!
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "source routes are dropped; bare addresses get brackets from dont_require_anglebrackets" {
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL FROM:a@b.example
RCPT TO:<@r1.example,@r2.example:bob@example.com>
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "a foreign recipient is refused by rcpt_ok" {
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL FROM:<a@b.example>
RCPT TO:<x@elsewhere.example>
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
550 5.7.1 Relaying denied
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "RSET, NOOP, VRFY, HELP and an unknown command" {
  # the empty line is an unknown command too
  transcript "$QP" <<'EOF'
EHLO c.example
RSET
NOOP
VRFY bob
HELP
FOO bar

QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.0.0 OK
250 2.0.0 OK
252 2.5.2 Just try sending a mail and we'll see how it turns out ...
214-2.0.0 This is qpsmtpd 0.1
214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT
214 2.0.0 See the qpsmtpd(8) manual page.
500 5.5.1 Unrecognized command
500 5.5.1 Unrecognized command
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "count_unrecognized_commands 4 closes with 521 at the fourth" {
  transcript "$QP" <<'EOF'
EHLO c.example
FOO
BAR
BAZ
QUX
NOOP
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
500 5.5.1 Unrecognized command
500 5.5.1 Unrecognized command
500 5.5.1 Unrecognized command
521 5.5.1 Closing connection, 4 unrecognized commands. Perhaps you should read RFC 2821?
EOF
}

@test "a whole message is queued with 250 and the envelope is exact" {
  # the queue's text does not leak into the next reply
  transcript "$QP" <<'EOF'
EHLO client.example
MAIL FROM:<alice@sender.example>
RCPT TO:<bob@example.com>
DATA
Subject: hi

body
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
  printf 'Falice@sender.example\0Tbob@example.com\0\0' | cmp - "$FAKEQ_DIR/1.env"
}

@test "the queued message has our Received header first and LF line ends" {
  { envelope; printf 'Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  run head -2 "$FAKEQ_DIR/1.msg"
  assert_line --index 0 'Received: from [192.0.2.1] (HELO client.example) (192.0.2.1)'
  assert_line --index 1 --regexp '^	by test\.example \(qpsmtpd/0\.1\) with ESMTP; [A-Z][a-z][a-z], [0-9]{2} [A-Z][a-z][a-z] [0-9]{4} [0-9:]{8} \+0000$'
  run tail -n +3 "$FAKEQ_DIR/1.msg"
  assert_output $'Subject: hi\n\nbody'
  ! grep -q $'\r' "$FAKEQ_DIR/1.msg" || false
}

@test "HELO gives SMTP in the Received header" {
  printf 'HELO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\ny\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q 'with SMTP; ' "$FAKEQ_DIR/1.msg"
}

@test "dot-stuffed lines are unstuffed" {
  { envelope; printf 'Subject: dots\r\n\r\n..leading\r\n...two\r\n.x\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  run tail -n 3 "$FAKEQ_DIR/1.msg"
  assert_output $'.leading\n..two\nx'
}

@test "pipelined MAIL, RCPT and DATA are answered in order" {
  transcript "$QP" <<'EOF'
EHLO client.example
MAIL FROM:<alice@sender.example>
RCPT TO:<bob@example.com>
DATA
Subject: p

x
.
MAIL FROM:<c@d.example>
RCPT TO:<bob@example.com>
DATA
Subject: q

y
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
250 2.1.0 <c@d.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
354 go ahead
~ 250 2\.0\.0 Queued! [0-9]+ qp [0-9]+
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
  [ "$(queued)" -eq 2 ]
}

@test "a second MAIL starts a new transaction" {
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL FROM:<a@b.example>
RCPT TO:<bob@example.com>
MAIL FROM:<c@d.example>
DATA
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
250 2.1.0 <c@d.example>, sender OK - how exciting to get mail from you!
503 5.5.1 RCPT first
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "RSET clears the transaction" {
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL FROM:<a@b.example>
RCPT TO:<bob@example.com>
RSET
DATA
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
250 2.0.0 OK
503 5.5.1 MAIL first
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "DATA with a parameter is 501" {
  transcript "$QP" <<'EOF'
EHLO c.example
MAIL FROM:<a@b.example>
RCPT TO:<bob@example.com>
DATA now
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
501 5.5.4 Syntax error (no parameters allowed)
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF
}

@test "EOF after the greeting ends the session quietly" {
  transcript "$QP" <<'EOF'
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
EOF
  [ "$RC" -eq 0 ]
}

@test "the log has the pid, the level and the connection" {
  printf 'QUIT\r\n' > "$IN"
  smtp "$QP"
  grep -Eq '^[0-9]+ notice Connection from \[192\.0\.2\.1\] \[192\.0\.2\.1\]$' "$ERR"
}

@test "loglevel 4 keeps info lines out of the log" {
  echo 4 > "$CFG/loglevel"
  printf 'QUIT\r\n' > "$IN"
  smtp "$QP"
  ! grep -q ' info ' "$ERR" || false
}

@test "-V prints the version and the compiled chain" {
  run "$QP" -V
  assert_success
  assert_line --index 0 'qpsmtpd 0.1'
  assert_line 'count_unrecognized_commands 4'
  assert_line 'queue/qmail-queue'
}
