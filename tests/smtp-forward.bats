#!/usr/bin/env bats
# queue/smtp-forward against real SMTP servers on loopback: Postfix's
# smtpd (a private instance, delivering into Maildirs) and Postfix's
# smtp-sink, told to fail at chosen stages.

load helper
load postfix

setup_file() {
  PF=$(mktemp -d /tmp/qp-fwd.XXXXXX)
  PFPORT=$(free_port)
  export PF PFPORT
  pf_setup "$PF" "$PFPORT"
  # XCLIENT from us; the client our XCLIENT names is in mynetworks
  printf 'smtpd_authorized_xclient_hosts = 127.0.0.1\nmynetworks = 127.0.0.0/8 192.0.2.55/32\n' >> "$PF/etc/main.cf"
  # a second smtpd that does not offer DSN
  PFNODSN=$(free_port)
  export PFNODSN
  echo "127.0.0.1:$PFNODSN inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=dsn" >> "$PF/etc/master.cf"
  pf_start "$PF"
}

teardown_file() {
  pf_stop "$PF"
  rm -rf "$PF"
}

setup() {
  mkcfg
  echo test.example > "$CFG/rcpthosts"
  rm -rf "$PF"/mail/*/new/*
  SINKPID=
  SINKDIRS=()
}

teardown() {
  if [ -n "${SINKPID:-}" ]; then kill "$SINKPID" 2>/dev/null || true; wait "$SINKPID" 2>/dev/null || true; fi
  rm -rf "${SINKDIRS[@]}"
}

# smtp-sink with options "$@" on a free port; dumps into $SINKDIR
sink() {
  SINKDIR=$(mktemp -d /tmp/qp-sink.XXXXXX)
  SINKDIRS+=("$SINKDIR")
  chown nobody "$SINKDIR"
  SINKPORT=$(free_port)
  smtp-sink -u nobody -d "$SINKDIR/%M." "$@" "127.0.0.1:$SINKPORT" 5 2> "$BATS_TEST_TMPDIR/sink.err" &
  SINKPID=$!
  for i in $(seq 50); do
    (exec 3<> "/dev/tcp/127.0.0.1/$SINKPORT") 2>/dev/null && break
    sleep 0.1
  done
  QS=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s\n' "$SINKPORT" | build_chain "fwd-$SINKPORT")
}

session() {
  {
    printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\n'
    for r in ${RCPTS:-bob carol}; do printf 'RCPT TO:<%s@test.example>\r\n' "$r"; done
    printf 'DATA\r\n'
    if [ -n "${MSGFILE:-}" ]; then cat "$MSGFILE"; else printf '%s' "$1"; fi
    printf '.\r\nMAIL FROM:<again@sender.example>\r\nQUIT\r\n'
  } > "$IN"
}

queue_reply() {
  tr -d '\r' < "$OUT" | sed -n '/^354 /{n;p;q;}'
}

dumps() { find "$SINKDIR" -type f | wc -l; }

MSG=$'Subject: fwd\r\n\r\nhello\r\n..dot line\r\n.\r\n'
MSG=${MSG%.$'\r\n'}

@test "smtp-forward: a message relayed to Postfix's smtpd reaches both Maildirs intact" {
  Q=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s\n' "$PFPORT" | build_chain fwd-pf)
  {
    printf 'Subject: relayed\r\n\r\ncaf\xc3\xa9 8-bit\r\n..\r\n..two dots\r\n'
    head -c 998 /dev/zero | tr '\0' q; printf '\r\n'
    line=$(printf '%075d' 0)
    for i in $(seq 3000); do printf '%s %d\r\n' "$line" "$i"; done
  } > "$BATS_TEST_TMPDIR/msg"
  echo 1000 > "$CFG/size_threshold"
  MSGFILE=$BATS_TEST_TMPDIR/msg session
  smtp "$Q"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  [[ $(queue_reply) =~ ^250\ 2\.0\.0\ Queued!\ \(upstream:\ Ok:\ queued\ as\ [0-9A-F]+\)$ ]]
  pf_wait_mail "$PF/mail/bob" 1
  pf_wait_mail "$PF/mail/carol" 1
  for r in bob carol; do
    f=$(ls "$PF/mail/$r/new/"*)
    head -n 1 "$f" | grep -qx 'Return-Path: <alice@sender.example>'
    grep -qx "Delivered-To: $r@test.example" "$f"
    awk 'done { print; next } /^\tby test\.example \(qpsmtpd\// { done = 1 }' "$f" \
      | cmp - <(sed 's/\r$//; s/^\.\././' "$BATS_TEST_TMPDIR/msg")
  done
}

@test "smtp-forward: a recipient Postfix refuses fails the whole message with 451, nobody gets it" {
  Q=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s\n' "$PFPORT" | build_chain fwd-pf)
  RCPTS='bob nosuchuser' session "$MSG"
  smtp "$Q"
  assert_equal "$(codes)" "220 250 250 250 250 354 451 250 221"
  [[ $(queue_reply) == "451 4.3.0 Upstream server said to RCPT TO:<nosuchuser@test.example>: "*"User unknown"* ]]
  grep -q "not queued: 127.0.0.1 answered 550 .* to RCPT TO:<nosuchuser@test.example>" "$ERR"
  sleep 1
  [ -z "$(find "$PF/mail" -path '*/new/*' -type f)" ]
}

@test "smtp-forward: every recipient refused with 5xx gives 554 with the server's code" {
  Q=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s\n' "$PFPORT" | build_chain fwd-pf)
  RCPTS='nosuchuser' session "$MSG"
  smtp "$Q"
  [[ $(queue_reply) == "554 5.1.1 Upstream server said to RCPT TO:<nosuchuser@test.example>: "*"User unknown"* ]]
}

@test "smtp-forward: envelope and dot-stuffing as smtp-sink receives them, with PIPELINING" {
  sink
  session "$MSG"
  smtp "$QS"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  assert_equal "$(queue_reply)" "250 2.0.0 Queued! (upstream: Ok)"
  f=$(find "$SINKDIR" -type f)
  grep -qx 'X-Mail-Args: <alice@sender.example> BODY=8BITMIME' "$f"
  assert_equal "$(grep '^X-Rcpt-Args' "$f" | paste -sd' ')" "X-Rcpt-Args: <bob@test.example> X-Rcpt-Args: <carol@test.example>"
  grep -qx '.dot line' "$f"
}

@test "smtp-forward: without PIPELINING and without ESMTP the message still goes through" {
  sink -p
  session "$MSG"
  smtp "$QS"
  assert_equal "$(queue_reply)" "250 2.0.0 Queued! (upstream: Ok)"
  kill "$SINKPID"; wait "$SINKPID" 2>/dev/null || true
  sink -e
  smtp "$QS"
  assert_equal "$(queue_reply)" "250 2.0.0 Queued! (upstream: Ok)"
  [ "$(dumps)" -eq 1 ]
}

# sink options, then the expected reply to the dot
sink_fails() {
  local want=$1
  shift
  sink "$@"
  session "$MSG"
  smtp "$QS"
  assert_equal "$(queue_reply)" "$want"
  assert_equal "$(codes)" "220 250 250 250 250 354 ${want%% *} 250 221"
  grep -q 'queue/smtp-forward: not queued: ' "$ERR"
}

@test "smtp-forward: MAIL refused with 5xx: 554, nothing relayed" {
  sink_fails "554 5.3.0 Upstream server said to MAIL FROM: Error: command failed" -f MAIL
  [ "$(dumps)" -eq 0 ]
}

@test "smtp-forward: MAIL refused with 4xx: 451" {
  sink_fails "451 4.3.0 Upstream server said to MAIL FROM: Error: command failed" -r MAIL
}

@test "smtp-forward: every RCPT refused: 554; refused with 4xx: 451" {
  sink_fails "554 5.3.0 Upstream server said to RCPT TO:<bob@test.example>: Error: command failed" -f RCPT
  kill "$SINKPID"; wait "$SINKPID" 2>/dev/null || true
  sink_fails "451 4.3.0 Upstream server said to RCPT TO:<bob@test.example>: Error: command failed" -r RCPT
}

@test "smtp-forward: DATA refused: 554" {
  sink_fails "554 5.3.0 Upstream server said to DATA: Error: command failed" -f DATA
}

@test "smtp-forward: the message refused after the dot: 554 or 451 as the server said" {
  sink_fails "554 5.3.0 Upstream server said to the message: Error: command failed" -f .
  kill "$SINKPID"; wait "$SINKPID" 2>/dev/null || true
  sink_fails "451 4.3.0 Upstream server said to the message: Error: command failed" -r .
}

@test "smtp-forward: the server hanging up after the dot: 451, never 250" {
  sink_fails "451 4.4.2 Lost the upstream server" -q .
  grep -q 'after the message: connection lost' "$ERR"
}

@test "smtp-forward: the server answering 421 to MAIL: 451" {
  sink_fails "451 4.0.0 Upstream server said to MAIL FROM: Server closing connection" -Q MAIL
}

@test "smtp-forward: a server that does not answer the dot is given up at timeoutqueue: 451" {
  echo 1 > "$CFG/timeoutqueue"
  start=$(date +%s)
  sink_fails "451 4.4.2 Upstream server timed out" -W .:20
  [ $(( $(date +%s) - start )) -lt 10 ]
  grep -q 'deadline passed (timeoutqueue)' "$ERR"
}

@test "smtp-forward: nobody listening: 451 4.4.1" {
  port=$(free_port)
  Q=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s\n' "$port" | build_chain fwd-closed)
  session "$MSG"
  smtp "$Q"
  assert_equal "$(queue_reply)" "451 4.4.1 Cannot reach the upstream server"
  grep -q "not queued: cannot connect to 127.0.0.1: Connection refused" "$ERR"
}

# DSN, SMTPUTF8 and XCLIENT on the way to the next hop

fwd_dsn_session() {
  {
    printf 'EHLO orig.client.example\r\nMAIL FROM:<%s>%s\r\n' "${FROM:-alice@sender.example}" "${MAILPARAM:-}"
    printf 'RCPT TO:<bob@test.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;B+2Bb@orig.example\r\nRCPT TO:<carol@test.example>\r\n'
    printf 'DATA\r\nSubject: fwd\r\n\r\nhello\r\n.\r\nQUIT\r\n'
  } > "$IN"
}

@test "smtp-forward: DSN offered, and RET, ENVID, NOTIFY, ORCPT passed on to a next hop that offers DSN" {
  sink
  MAILPARAM=' RET=HDRS ENVID=id+2B1' fwd_dsn_session
  smtp "$QS"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  grep -qx '250 DSN' <(tr -d '\r' < "$OUT")
  f=$(find "$SINKDIR" -type f)
  grep -qx 'X-Mail-Args: <alice@sender.example> BODY=8BITMIME RET=HDRS ENVID=id+2B1' "$f"
  assert_equal "$(grep '^X-Rcpt-Args' "$f" | paste -sd' ')" \
    "X-Rcpt-Args: <bob@test.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;B+2Bb@orig.example X-Rcpt-Args: <carol@test.example>"
}

@test "smtp-forward: a next hop without DSN gets the message without the parameters, then a relayed notice (RFC 3461 5.2.2) for the NOTIFY=SUCCESS recipient" {
  sink -N
  MAILPARAM=' RET=HDRS ENVID=id+2B1' fwd_dsn_session
  smtp "$QS"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  grep -q '127.0.0.1 does not offer DSN: RET, ENVID, NOTIFY and ORCPT not passed on' "$ERR"
  grep -q 'relayed notice for 1 recipient sent to <alice@sender.example>' "$ERR"
  # two transactions: the message, then the notice from <> to the sender
  [ "$(dumps)" = 2 ]
  f=$(grep -l -x 'X-Mail-Args: <alice@sender.example> BODY=8BITMIME' "$SINKDIR"/*)
  grep -q '^Subject: fwd' "$f"
  d=$(grep -l -x 'X-Mail-Args: <>' "$SINKDIR"/*)
  grep -qx 'X-Rcpt-Args: <alice@sender.example>' "$d"
  tr -d '\r' < "$d" > "$BATS_TEST_TMPDIR/notice"
  grep -qx 'Action: relayed' "$BATS_TEST_TMPDIR/notice"
  grep -qx 'Final-Recipient: rfc822; bob@test.example' "$BATS_TEST_TMPDIR/notice"
  grep -qx 'Original-Recipient: rfc822;B+b@orig.example' "$BATS_TEST_TMPDIR/notice"
  grep -qx 'Original-Envelope-Id: id+1' "$BATS_TEST_TMPDIR/notice"
  grep -qx 'Remote-MTA: dns; 127.0.0.1' "$BATS_TEST_TMPDIR/notice"
  # carol asked for nothing: she is not in it
  run ! grep -q carol "$BATS_TEST_TMPDIR/notice"
}

@test "smtp-forward: no relayed notice without NOTIFY=SUCCESS, for the null sender, or to a next hop that offers DSN" {
  sink -N
  {
    printf 'EHLO c.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@test.example> NOTIFY=FAILURE\r\n'
    printf 'DATA\r\nSubject: a\r\n\r\nx\r\n.\r\n'
    printf 'MAIL FROM:<>\r\nRCPT TO:<bob@test.example> NOTIFY=SUCCESS\r\nDATA\r\nSubject: b\r\n\r\nx\r\n.\r\nQUIT\r\n'
  } > "$IN"
  smtp "$QS"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 250 221"
  [ "$(dumps)" = 2 ]
  [ -z "$(grep -l -x 'Action: relayed' "$SINKDIR"/* || true)" ]
  run ! grep -q 'relayed notice' "$ERR"
  kill "$SINKPID"; wait "$SINKPID" 2> /dev/null || true; SINKPID=
  sink
  fwd_dsn_session
  smtp "$QS"
  [ "$(dumps)" = 1 ]
  run ! grep -q 'relayed notice' "$ERR"
}

@test "smtp-forward: Postfix without DSN (smtpd_discard_ehlo_keywords) delivers the message, and the relayed notice reaches the sender's Maildir as a multipart/report" {
  Q=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s\n' "$PFNODSN" | build_chain "fwd-nodsn-$PFNODSN")
  FROM=dave@test.example MAILPARAM=' ENVID=e1' fwd_dsn_session
  smtp "$Q"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  pf_wait_mail "$PF/mail/bob" 1
  pf_wait_mail "$PF/mail/dave" 1
  f=$(find "$PF/mail/dave/new" -type f | head -1)
  run python3 - "$f" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status'
parts = m.get_payload()
assert [p.get_content_type() for p in parts] == ['text/plain', 'message/delivery-status', 'text/rfc822-headers'], parts
status = parts[1].get_payload()
per = status[1]
print(per['Action'], per['Final-Recipient'], per['Status'], status[0]['Original-Envelope-Id'])
assert 'Subject: fwd' in parts[2].get_payload()
PY
  assert_success
  assert_output 'relayed rfc822; bob@test.example 2.0.0 e1'
}

@test "smtp-forward: a message with SMTPUTF8 goes on with it to Postfix (smtputf8_enable), and is refused (554 5.6.7) for a next hop without it" {
  Q=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s\n' "$PFPORT" | build_chain fwd-pf)
  FROM=$'j\303\270rn@m\303\270\303\270se.example' MAILPARAM=' SMTPUTF8' fwd_dsn_session
  smtp "$Q"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  pf_wait_mail "$PF/mail/bob" 1
  head -n 1 "$PF"/mail/bob/new/* | grep -qx $'Return-Path: <j\303\270rn@m\303\270\303\270se.example>'
  grep -q " with UTF8SMTP id " "$PF"/mail/bob/new/*
  sink
  smtp "$QS"
  assert_equal "$(codes)" "220 250 250 250 250 354 554 221"
  assert_equal "$(tr -d '\r' < "$OUT" | grep '^554')" "554 5.6.7 The next hop does not support SMTPUTF8; the message cannot be relayed"
  [ "$(dumps)" -eq 0 ]
}

@test "smtp-forward xclient: Postfix (smtpd_authorized_xclient_hosts) judges and logs the real client" {
  Q=$(printf 'rcpt_ok\nqueue/smtp-forward 127.0.0.1 %s xclient\n' "$PFPORT" | build_chain fwd-pf-xclient)
  fwd_dsn_session
  smtp "$Q" TCPREMOTEIP=192.0.2.55 TCPREMOTEHOST=orig.client.example
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  pf_wait_mail "$PF/mail/bob" 1
  grep -q 'client=orig.client.example\[192.0.2.55\]' "$PF/maillog"
  grep -q '^Received: from orig.client.example (orig.client.example \[192.0.2.55\])' "$PF"/mail/bob/new/*
  # a client outside Postfix's mynetworks is refused by Postfix's own policy
  smtp "$Q" TCPREMOTEIP=192.0.2.66
  assert_equal "$(codes)" "220 250 250 250 250 354 554 221"
  grep -q "^554 5.7.1 Upstream server said to RCPT TO:<bob@test.example>: .*Access denied" "$OUT"
}

@test "bad queue/smtp-forward arguments fail the build" {
  run build_chain fwd-bad <<< 'queue/smtp-forward 127.0.0.1 99999'
  assert_failure
  assert_output --partial 'not a number from 1 to 65535'
  run build_chain fwd-bad2 <<< 'queue/smtp-forward'
  assert_failure
  assert_output --partial 'usage: queue/smtp-forward HOST [PORT]'
}
