#!/usr/bin/env bats
# The SMTP dialogue: every command, every state error, the replies.

load helper

setup() {
  mkcfg
  QP=$(default_chain)
}

@test "greeting, EHLO capabilities, QUIT" {
  printf 'EHLO client.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line --index 0 '220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.'
  assert_line --index 1 '250-test.example Hi [192.0.2.1] [192.0.2.1]'
  assert_line --index 2 '250-PIPELINING'
  assert_line --index 3 '250-8BITMIME'
  assert_line --index 4 '250 ENHANCEDSTATUSCODES'
  assert_line --index 5 '221 2.0.0 test.example closing connection. Have a wonderful day.'
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

@test "MAIL FROM:<> and an empty MAIL FROM: are the null sender" {
  printf 'EHLO c.example\r\nMAIL FROM:<>\r\nMAIL FROM:\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_line --index 5 '250 2.1.0 <>, sender OK - how exciting to get mail from you!'
  assert_line --index 6 '250 2.1.0 <>, sender OK - how exciting to get mail from you!'
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
