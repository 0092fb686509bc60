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
  printf 'EHLO client.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line --index 0 '220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.'
  assert_line --index 1 '250-test.example Hi [192.0.2.1] [192.0.2.1]'
  assert_line --index 2 '250-PIPELINING'
  assert_line --index 3 '250-8BITMIME'
  assert_line --index 4 '250-SIZE'
  assert_line --index 5 '250 ENHANCEDSTATUSCODES'
  assert_line --index 6 '221 2.0.0 test.example closing connection. Have a wonderful day.'
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
  printf 'EHLO client.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q '^250-SIZE 1000' "$OUT"
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
  { printf 'EHLO c.example\r\n'
    for v in 1000 1001 18446744073709551615 18446744073709551616 99999999999999999999 123456789012345678901 00000000000000000000001; do
      printf 'MAIL FROM:<a@b.example> SIZE=%s\r\n' "$v"; done
    printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 552 552 501 501 501 501 221"
  run tr -d '\r' < "$OUT"
  assert_line --index 9 '501 5.5.4 Syntax error in SIZE parameter'
  assert_line --index 10 '501 5.5.4 Syntax error in SIZE parameter'
}

@test "smtpgreeting replaces the greeting and ESMTP is added" {
  echo 'mx.example welcomes you' > "$CFG/smtpgreeting"
  printf 'QUIT\r\n' > "$IN"
  smtp "$QP"
  run head -1 "$OUT"
  assert_output $'220 mx.example welcomes you ESMTP\r'
}

@test "HELO reply, and a second HELO or EHLO is answered again" {
  printf 'HELO client.example\r\nHELO again.example\r\nEHLO x.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line --index 1 '250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.'
  assert_line --index 2 '250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.'
  assert_line --index 3 '250-test.example Hi [192.0.2.1] [192.0.2.1]'
  assert_equal "$(codes)" "220 250 250 250 221"
}

@test "a second EHLO after MAIL and RCPT resets the transaction (RFC 5321 4.1.4)" {
  printf 'EHLO a.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nEHLO b.example\r\nDATA\r\nRCPT TO:<bob@example.com>\r\nMAIL FROM:<carol@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  # DATA and RCPT after the second EHLO: no transaction; then a new one
  assert_equal "$(codes)" "220 250 250 250 250 503 503 250 250 354 250 221"
  [ "$(queued)" -eq 1 ]
  grep -q 'carol@sender.example' "$FAKEQ_DIR/1.env"
}

@test "a second HELO in the middle of a transaction resets it too" {
  printf 'HELO a.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nHELO b.example\r\nDATA\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 503 221"
  nothing_queued
}

@test "HELO and EHLO without a domain are 501" {
  printf 'HELO\r\nEHLO\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line --index 1 '501 5.5.4 helo requires domain/address - see RFC-2821 4.1.1.1'
  assert_line --index 2 '501 5.5.4 ehlo requires domain/address - see RFC-2821 4.1.1.1'
}

@test "MAIL before HELO is 503" {
  printf 'MAIL FROM:<a@b.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q '^503 5.5.1 please say hello first ...' "$OUT"
}

@test "RCPT before MAIL, DATA before MAIL and before RCPT are 503" {
  printf 'EHLO c.example\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nMAIL FROM:<a@b.example>\r\nDATA\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line '503 5.5.1 Use MAIL before RCPT'
  assert_line '503 5.5.1 MAIL first'
  assert_line '503 5.5.1 RCPT first'
}

@test "MAIL and RCPT syntax errors are 501 and unknown parameters 555" {
  printf 'EHLO c.example\r\nMAIL <a@b.example>\r\nMAIL FROM:<a@b.example> <d@e.example>\r\nMAIL FROM:<a@b c>\r\nMAIL FROM:<a@b.example> FOO=bar\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:\r\nRCPT <bob@example.com>\r\nRCPT TO:<>\r\nRCPT TO:<bob@example.com> NOTIFY=NEVER\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 501 501 501 555 250 501 501 501 555 221"
}

# an SRS1 sender of 97 octets, its local part 79 (over RFC 5321's 64)
SRS='SRS1=HHHHHHHHHHHHHHHHH=example.org==HHHHHHHHHHHHHHHHHHHHHHHHHH=TT=example.com=alice@forwarder.example'

@test "real addresses are accepted: long SRS local parts, quoted local parts, empty dot-atom labels, underscores; qmail-queue gets them unquoted" {
  { printf 'EHLO c.example\r\n'
    printf 'MAIL FROM:<%s>\r\n' "$SRS"
    printf 'RCPT TO:<%s>\r\n' '"a b"@example.com' '"a\"b"@example.com' 'a..b@example.com' '.a@example.com' 'a.@example.com' '"abc"@example.com' '"a\\b"@example.com'
    printf 'DATA\r\nSubject: q\r\n\r\nx\r\n.\r\n'
    printf 'MAIL FROM:<"x y"@host_1.example>\r\nRCPT TO:<b_c@example.com>\r\nDATA\r\nSubject: r\r\n\r\ny\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 250 250 250 250 250 354 250 250 250 354 250 221"
  run tr -d '\r' < "$OUT"
  assert_line "250 2.1.0 <$SRS>, sender OK - how exciting to get mail from you!"
  assert_line '250 2.1.5 <"a b"@example.com>, recipient ok'
  assert_line '250 2.1.5 <"a\"b"@example.com>, recipient ok'
  assert_line '250 2.1.5 <a..b@example.com>, recipient ok'
  assert_line '250 2.1.5 <abc@example.com>, recipient ok'
  assert_line '250 2.1.0 <"x y"@host_1.example>, sender OK - how exciting to get mail from you!'
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
  # the line reader refuses a line with CR, NUL or 8-bit bytes whole (500)
  assert_equal "$(codes)" "220 250 500 500 501 501 501 500 500 501 501 501 501 501 501 501 501 501 501 501 501 501 250 221"
  run tr -d '\r' < "$OUT"
  # (the reply's text is cut at the reply line bound)
  assert_line --index 26 --partial "250 2.1.0 <${long:0:400}"
}

@test "MAIL FROM:<> and an empty MAIL FROM: are the null sender" {
  printf 'EHLO c.example\r\nMAIL FROM:<>\r\nMAIL FROM:\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line --index 6 '250 2.1.0 <>, sender OK - how exciting to get mail from you!'
  assert_line --index 7 '250 2.1.0 <>, sender OK - how exciting to get mail from you!'
}

@test "source routes are dropped; bare addresses get brackets from dont_require_anglebrackets" {
  printf 'EHLO c.example\r\nMAIL FROM:a@b.example\r\nRCPT TO:<@r1.example,@r2.example:bob@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line '250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!'
  assert_line '250 2.1.5 <bob@example.com>, recipient ok'
}

@test "a foreign recipient is refused by rcpt_ok" {
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line --regexp '^550 5\.7\.1 Relaying denied'
}

@test "RSET, NOOP, VRFY, HELP and an unknown command" {
  printf 'EHLO c.example\r\nRSET\r\nNOOP\r\nVRFY bob\r\nHELP\r\nFOO bar\r\n\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line '250 2.0.0 OK'
  assert_line "252 2.5.2 Just try sending a mail and we'll see how it turns out ..."
  assert_line '214-2.0.0 This is qpsmtpd 0.1'
  assert_line '500 5.5.1 Unrecognized command'
  assert_equal "$(codes)" "220 250 250 250 252 214 500 500 221"
}

@test "count_unrecognized_commands 4 closes with 521 at the fourth" {
  printf 'EHLO c.example\r\nFOO\r\nBAR\r\nBAZ\r\nQUX\r\nNOOP\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 500 500 500 521"
  grep -q '^521 5.5.1 Closing connection, 4 unrecognized commands' "$OUT"
}

@test "a whole message is queued with 250 and the envelope is exact" {
  { envelope; printf 'Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  grep -q '^250 2.0.0 Queued! ' "$OUT"
  # the queue's text must not leak into the next reply
  grep -q '^221 2.0.0 test.example closing connection. Have a wonderful day.' "$OUT"
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
  { envelope; printf 'Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<c@d.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: q\r\n\r\ny\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 250 221"
  [ "$(queued)" -eq 2 ]
}

@test "a second MAIL starts a new transaction" {
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nMAIL FROM:<c@d.example>\r\nDATA\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 503 221"
}

@test "RSET clears the transaction" {
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nRSET\r\nDATA\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 503 221"
}

@test "DATA with a parameter is 501" {
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA now\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q '^501 5.5.4 Syntax error (no parameters allowed)' "$OUT"
}

@test "EOF after the greeting ends the session quietly" {
  : > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220"
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
