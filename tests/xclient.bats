#!/usr/bin/env bats
# XCLIENT (Postfix's XCLIENT_README): the xclient plugin and xclient_hosts
# on the receiving side; queue/smtp-forward's "xclient" from our qpsmtpd
# to our qpsmtpd. (Postfix as the next hop: smtp-forward.bats.)

load helper

setup() {
  mkcfg
  echo test.example > "$CFG/rcpthosts"
  printf '10.0.0.0/8   the proxies\n2001:db8::1\n' > "$CFG/xclient_hosts"
  Q=$(printf 'xclient\nrelay\nrcpt_ok\nqueue/qmail-queue\n' | build_chain xclient)
}

teardown() { stop_server; }

@test "XCLIENT from a client not in xclient_hosts: not offered, 550 5.7.0, the session goes on" {
  transcript "$Q" <<'EOF'
EHLO proxy.example
XCLIENT ADDR=192.0.2.9
MAIL FROM:<a@sender.example>
QUIT
--
~ 220 .*
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
550 5.7.0 Insufficient authorization for XCLIENT
250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!
~ 221 .*
EOF
  grep -q 'XCLIENT from 192.0.2.1, not in xclient_hosts: refused' "$ERR"
}

@test "XCLIENT without the xclient plugin is an unrecognized command" {
  Q2=$(printf 'rcpt_ok\nqueue/qmail-queue\n' | build_chain xclient-none)
  printf 'XCLIENT ADDR=192.0.2.9\r\nQUIT\r\n' > "$IN"
  smtp "$Q2" TCPREMOTEIP=10.1.2.3
  assert_equal "$(codes)" "220 500 221"
}

@test "XCLIENT from a listed proxy: a new greeting, and the named client is the session's for every plugin and the Received field; the proxy may send XCLIENT again" {
  echo 192.0.2.77 > "$CFG/relayclients"
  transcript "$Q" TCPREMOTEIP=10.1.2.3 TCPREMOTEHOST=proxy.example <<'EOF'
EHLO proxy.example
XCLIENT NAME=mail.client.example ADDR=192.0.2.77 PORT=4567 HELO=real+2Bhelo.example PROTO=ESMTP LOGIN=[UNAVAILABLE]
EHLO real.helo.example
XCLIENT NAME=mail.client.example
EHLO real.helo.example
MAIL FROM:<a@sender.example>
RCPT TO:<someone@elsewhere.example>
DATA
Subject: via a proxy

hello
.
QUIT
--
~ 220 .*
250-test.example Hi proxy.example [10.1.2.3]
@keywords
250-SIZE
250-ENHANCEDSTATUSCODES
250 XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT
~ 220 test\.example ESMTP qpsmtpd .*
250-test.example Hi mail.client.example [192.0.2.77]
@keywords
250-SIZE
250-ENHANCEDSTATUSCODES
250 XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT
~ 220 test\.example ESMTP qpsmtpd .*
250-test.example Hi mail.client.example [192.0.2.77]
@keywords
250-SIZE
250-ENHANCEDSTATUSCODES
250 XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT
250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <someone@elsewhere.example>, recipient ok
354 go ahead
~ 250 2\.0\.0 Queued.*
~ 221 .*
EOF
  grep -q '^Received: from mail.client.example (HELO real.helo.example) (192.0.2.77)$' "$FAKEQ_DIR/1.msg"
  grep -q 'XCLIENT from 10.1.2.3: client 192.0.2.77:4567 (mail.client.example), server 192.0.2.2:25' "$ERR"
}

@test "XCLIENT: refused in a transaction (503) and for bad attributes (501); IPv6, [UNAVAILABLE], DESTADDR, LOGIN" {
  transcript "$Q" TCPREMOTEIP=2001:db8::1 <<'EOF'
EHLO proxy.example
MAIL FROM:<a@sender.example>
XCLIENT ADDR=192.0.2.9
RSET
XCLIENT ADDR=300.1.2.3
XCLIENT COLOUR=blue
XCLIENT ADDR=192.0.2.9 ADDR=192.0.2.10
XCLIENT NAME=bad+20name
XCLIENT HELO=a+0Ab
XCLIENT PORT=65536
XCLIENT PROTO=LMTP
XCLIENT
XCLIENT ADDR
XCLIENT ADDR=IPV6:2001:db8::77 NAME=[UNAVAILABLE] DESTADDR=192.0.2.25 DESTPORT=587 LOGIN=alice
EHLO real.example
RCPT TO:<x@elsewhere.example>
MAIL FROM:<a@sender.example>
RCPT TO:<x@elsewhere.example>
QUIT
--
~ 220 .*
250-test.example Hi [2001:db8::1] [2001:db8::1]
@keywords
250-SIZE
250-ENHANCEDSTATUSCODES
250 XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT
250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!
503 5.5.1 XCLIENT not allowed in a mail transaction
250 2.0.0 OK
501 5.5.4 Bad XCLIENT ADDR: not an IP address
501 5.5.4 Bad XCLIENT attribute name
501 5.5.4 Bad XCLIENT syntax: an attribute given twice
501 5.5.4 Bad XCLIENT NAME: not a host name
501 5.5.4 Bad XCLIENT attribute value: not xtext
501 5.5.4 Bad XCLIENT PORT: not a port number
501 5.5.4 Bad XCLIENT PROTO: SMTP or ESMTP
501 5.5.4 Bad XCLIENT syntax: no attribute
501 5.5.4 Bad XCLIENT syntax: NAME=value expected
~ 220 .*
250-test.example Hi [2001:db8::77] [2001:db8::77]
@keywords
250-SIZE
250-ENHANCEDSTATUSCODES
250 XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT
503 5.5.1 Use MAIL before RCPT
250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <x@elsewhere.example>, recipient ok
~ 221 .*
EOF
  grep -q 'XCLIENT from 2001:db8::1: client 2001:db8::77:40000, server 192.0.2.25:587' "$ERR"
  grep -q 'XCLIENT LOGIN: authenticated as alice' "$ERR"
}

@test "smtp-forward xclient: our qpsmtpd relays to our qpsmtpd taking XCLIENT; the Received field there names the original client" {
  echo 127.0.0.1 > "$CFG/xclient_hosts"
  start_server "$Q"
  F=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s xclient\n' "$PORT" | build_chain "xclient-fwd-$PORT")
  printf 'EHLO orig.client.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$F" TCPREMOTEIP=192.0.2.55 TCPREMOTEHOST=orig.client.example
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  grep -q 'XCLIENT to 127.0.0.1: client 192.0.2.55' "$ERR"
  wait_sessions 1
  # the first Received is the back end's, about the original client
  sed -n '1p' "$FAKEQ_DIR/1.msg" | grep -q '^Received: from orig.client.example (HELO orig.client.example) (192.0.2.55)$'
  grep -q 'XCLIENT from 127.0.0.1: client 192.0.2.55:40000 (orig.client.example)' "$SRVLOG"
}

@test "smtp-forward xclient to a server that does not offer it: sent without, logged" {
  : > "$CFG/xclient_hosts"
  start_server "$Q"
  F=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s xclient\n' "$PORT" | build_chain "xclient-fwd-$PORT")
  printf 'EHLO orig.client.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$F" TCPREMOTEIP=192.0.2.55
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  grep -q '127.0.0.1 does not offer XCLIENT: not sent' "$ERR"
  wait_sessions 1
  sed -n '1p' "$FAKEQ_DIR/1.msg" | grep -q '^Received: from \[127.0.0.1\] (HELO test.example) (127.0.0.1)$'
}
