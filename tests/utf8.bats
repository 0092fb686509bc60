#!/usr/bin/env bats
# SMTPUTF8 (RFC 6531, 6532): UTF-8 addresses only in a transaction whose
# MAIL said SMTPUTF8, well-formed UTF-8 only, U-labels in domains, header
# fields passed unchanged; carried to qmail-queue (bytes), and through
# Python's smtplib and a real Postfix as the sending MTA.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

setup() {
  mkcfg
  printf 'example.com\nb\303\274cher.example\n' > "$CFG/rcpthosts"
  QP=$(build_chain utf8 <<'EOF2'
rcpt_ok
queue/qmail-queue
EOF2
)
  SRVPID=
}

teardown() {
  stop_server
}

env_of() {
  tr '\0' '|' < "$FAKEQ_DIR/$1.env"
}

@test "EHLO offers SMTPUTF8 with 8BITMIME; a UTF-8 sender and recipient with SMTPUTF8 are queued byte for byte" {
  { printf 'EHLO client.example\r\n'
    printf 'MAIL FROM:<j\303\270rn@m\303\270\303\270se.example> SMTPUTF8 BODY=8BITMIME\r\n'
    printf 'RCPT TO:<\345\220\215\345\255\227@b\303\274cher.example>\r\n'
    printf 'RCPT TO:<"\303\251 t\303\251"@example.com>\r\n'
    printf 'DATA\r\nSubject: gr\303\274\303\237e\r\nFrom: J\303\270rn <j\303\270rn@m\303\270\303\270se.example>\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  expect_replies <<'EOF2'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <j??rn@m????se.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <??????@b??cher.example>, recipient ok
250 2.1.5 <"?? t??"@example.com>, recipient ok
354 go ahead
~ 250 2\.0\.0 Queued! .*
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF2
  [ "$(queued)" -eq 1 ]
  # qmail-queue takes the addresses as bytes; a quoted local part in
  # internal form, as qmail-smtpd stores it
  [ "$(env_of 1)" = $'Fj\303\270rn@m\303\270\303\270se.example|T\345\220\215\345\255\227@b\303\274cher.example|T\303\251 t\303\251@example.com||' ]
  grep -q $'^Subject: gr\303\274\303\237e$' "$FAKEQ_DIR/1.msg"
  grep -q $'^From: J\303\270rn <j\303\270rn@m\303\270\303\270se.example>$' "$FAKEQ_DIR/1.msg"
  grep -Eq $'^\tby test\\.example \\(qpsmtpd/[0-9.]+\\) with UTF8SMTP; ' "$FAKEQ_DIR/1.msg"
}

@test "without SMTPUTF8 a UTF-8 address gets 553 5.6.7 (RFC 6531 3.7.4.1), in MAIL and in RCPT" {
  transcript "$QP" <<'EOF2'
EHLO client.example
MAIL FROM:<jørn@example.com>
MAIL FROM:<jorn@møøse.example>
MAIL FROM:<alice@sender.example>
RCPT TO:<bücher@example.com>
RCPT TO:<bob@bücher.example>
QUIT
--
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
~ 250-test.example .*
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
553 5.6.7 Non-ASCII addresses not permitted for that sender without SMTPUTF8
553 5.6.7 Non-ASCII addresses not permitted for that sender without SMTPUTF8
250 2.1.0 <alice@sender.example>, sender OK - how exciting to get mail from you!
553 5.6.7 Non-ASCII addresses not permitted for that recipient without SMTPUTF8
553 5.6.7 Non-ASCII addresses not permitted for that recipient without SMTPUTF8
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF2
  nothing_queued
}

@test "malformed UTF-8 is refused with 501 even with SMTPUTF8: overlong, surrogate, C1, truncated, F5-FF, lone continuation" {
  { printf 'EHLO client.example\r\n'
    printf 'MAIL FROM:<a\300\257b@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\340\200\257b@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\355\240\200b@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\302\205b@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\303@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\364\220\200\200b@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\377b@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\200b@example.com> SMTPUTF8\r\n'
    printf 'MAIL FROM:<a\300\257b@example.com>\r\n'
    printf 'MAIL FROM:<alice@example.com> SMTPUTF8\r\n'
    printf 'RCPT TO:<b\355\277\277@example.com>\r\n'
    printf 'RCPT TO:<b@ex\302\237ample.com>\r\n'
    printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  expect_replies <<'EOF2'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
~ 250-test.example .*
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
250 2.1.0 <alice@example.com>, sender OK - how exciting to get mail from you!
501 5.5.4 Syntax error: the address is not well-formed UTF-8
501 5.5.4 Syntax error: the address is not well-formed UTF-8
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF2
  nothing_queued
}

@test "8-bit bytes outside MAIL and RCPT paths: 500; SMTPUTF8 takes no value and belongs to MAIL" {
  { printf 'EHLO cl\303\251.example\r\nHELO cl\303\251.example\r\nNOOP \303\251\r\nEHLO client.example\r\n'
    printf 'MAIL FROM:<alice@example.com> SMTPUTF8=yes\r\n'
    printf 'MAIL FROM:<alice@example.com> SMTPUTF8 SMTPUTF8\r\n'
    printf 'MAIL FROM:<alice@example.com> smtputf8\r\n'
    printf 'RCPT TO:<bob@example.com> SMTPUTF8\r\n'
    printf 'RCPT TO:<\303\251@example.com> X=\303\251\r\n'
    printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  expect_replies <<'EOF2'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
500 5.5.2 Syntax error: 8-bit characters are allowed only in MAIL and RCPT addresses (SMTPUTF8)
500 5.5.2 Syntax error: 8-bit characters are allowed only in MAIL and RCPT addresses (SMTPUTF8)
500 5.5.2 Syntax error: 8-bit characters are allowed only in MAIL and RCPT addresses (SMTPUTF8)
~ 250-test.example .*
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
501 5.5.4 Syntax error in parameters
501 5.5.4 Syntax error in parameters
250 2.1.0 <alice@example.com>, sender OK - how exciting to get mail from you!
555 5.5.4 Unsupported parameter smtputf8
501 5.5.4 Syntax error in parameters
221 2.0.0 test.example closing connection. Have a wonderful day.
EOF2
}

@test "U-labels: at most 59 characters (the A-label must fit 63 octets); the whole path at most 512 octets" {
  local l59 l60 long
  l59=$(printf '\303\274%.0s' $(seq 59))
  l60=$(printf '\303\274%.0s' $(seq 60))
  long=$(printf '\303\274%.0s' $(seq 250))
  over=$(printf '\303\274%.0s' $(seq 251))
  { printf 'EHLO client.example\r\n'
    printf 'MAIL FROM:<a@%s.example> SMTPUTF8\r\n' "$l60"
    printf 'MAIL FROM:<%s@example.com> SMTPUTF8\r\n' "$over"
    printf 'MAIL FROM:<a@%s.example> SMTPUTF8\r\n' "$l59"
    printf 'MAIL FROM:<%s@example.com> SMTPUTF8\r\n' "$long"
    printf 'QUIT\r\n'; } > "$IN"
  smtp "$QP"
  run codes
  assert_output '220 250 501 501 250 250 221'
}

@test "Python smtplib sends with SMTPUTF8 to a UTF-8 recipient: queued" {
  start_server "$QP"
  run timeout 20 python3 - "$PORT" <<'EOF2'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Jørn <jørn@møøse.example>"
m["To"] = "名字@bücher.example"
m["Subject"] = "größe"
m.set_content("körper\n")
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
s.ehlo()
assert s.has_extn("smtputf8"), s.esmtp_features
# smtplib adds SMTPUTF8 and BODY=8BITMIME itself for a UTF-8 envelope
s.send_message(m)
s.quit()
print("sent")
EOF2
  assert_success
  assert_output sent
  wait_sessions 1
  [ "$(queued)" -eq 1 ]
  [ "$(env_of 1)" = 'Fjørn@møøse.example|T名字@bücher.example||' ]
  grep -q '^Subject: größe$' "$FAKEQ_DIR/1.msg"
  grep -q '^To: 名字@bücher.example$' "$FAKEQ_DIR/1.msg"
}

@test "badmailfrom, badrcptto and aliases match UTF-8 addresses byte for byte, ASCII letters folded, nothing else" {
  printf 'j\303\270rn@m\303\270\303\270se.example\n@B\303\244d.example\n' > "$CFG/badmailfrom"
  printf '\303\251ve@example.com\n' > "$CFG/badrcptto"
  printf '\345\220\215@b\303\274cher.example: bob@example.com\n' > "$CFG/aliases"
  local qp
  qp=$(build_chain utf8-plugins <<'EOF2'
badmailfrom
badrcptto
aliases
rcpt_ok
queue/qmail-queue
EOF2
)
  { printf 'EHLO client.example\r\n'
    printf 'MAIL FROM:<J\303\270RN@M\303\270\303\270SE.example> SMTPUTF8\r\n'
    printf 'MAIL FROM:<j\303\270rn@m\303\270\303\270se.example> SMTPUTF8\r\n'
    printf 'MAIL FROM:<x@b\303\244d.EXAMPLE> SMTPUTF8\r\n'
    printf 'MAIL FROM:<x@b\303\204d.example> SMTPUTF8\r\n'
    printf 'RCPT TO:<\303\251ve@example.com>\r\n'
    printf 'RCPT TO:<\303\211ve@example.com>\r\n'
    printf 'RCPT TO:<\345\220\215@b\303\274cher.example>\r\n'
    printf 'RCPT TO:<\345\220\216@b\303\274cher.example>\r\n'
    printf 'QUIT\r\n'; } > "$IN"
  smtp "$qp"
  # "J\303\270RN@M\303\270\303\270SE" differs from the entry in ASCII
  # case only: refused; U+00C4 is not folded to U+00E4, nor U+00C9 to U+00E9
  run codes
  assert_output '220 250 550 550 550 250 550 250 250 550 221'
}
