#!/usr/bin/env bats
# queue/postfix-queue with Perl qpsmtpd's arguments: straight to Postfix's
# cleanup service (a socket path, FLAG_* options, the control file
# cleanup_sockets, $POSTFIXQUEUE), against a real private Postfix (Debian's
# package, tests/postfix.bash: its master started here, loopback only,
# local delivery into Maildirs). The cleanup socket lives in public/, which
# only the postdrop group may enter: sessions run with that group, as a
# site adds its qpsmtpd user to postdrop. A second cleanup listens on
# 127.$QPT_NET.86.1 (inet, Perl's "address:port" form). header_checks
# rejects a Subject, so FLAG_FILTER shows whether the flags reach cleanup.

load helper
load postfix

setup_file() {
  PF=$(mktemp -d /tmp/qp-pfc.XXXXXX)
  export PF
  PFC_IP=127.$QPT_NET.86.1
  PFC_PORT=$(free_port)
  export PFC_IP PFC_PORT
  pf_setup "$PF"
  echo "$PFC_IP:$PFC_PORT inet n - n - 0 cleanup" >> "$PF/etc/master.cf"
  echo '/^Subject: filter me/ REJECT 5.7.1 no filtered subjects here' > "$PF/etc/header_checks"
  echo "header_checks = regexp:$PF/etc/header_checks" >> "$PF/etc/main.cf"
  pf_start "$PF"
}

teardown_file() {
  pf_stop "$PF"
  rm -rf "$PF"
}

setup() {
  mkcfg
  echo test.example > "$CFG/rcpthosts"
  SOCK=$PF/spool/public/cleanup
  QP=$(printf 'rcpt_ok\nqueue/postfix-queue %s\n' "$SOCK" | build_chain pfc)
  [ ${#QPIDS[@]} -eq 0 ] || QPIDS=(UID="$(id -u nobody)" GID="$(getent group postdrop | cut -d: -f3)")
  rm -rf "$PF"/mail/*/new/*
}

# $1 the message without the final dot; MAIL FROM:<alice@sender.example>,
# RCPT bob and carol
session() {
  {
    printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\n'
    printf 'RCPT TO:<bob@test.example>\r\nRCPT TO:<carol@test.example>\r\nDATA\r\n'
    if [ -n "${MSGFILE:-}" ]; then cat "$MSGFILE"; else printf '%s' "$1"; fi
    printf '.\r\nQUIT\r\n'
  } > "$IN"
}

queue_reply() {
  tr -d '\r' < "$OUT" | sed -n '/^354 /{n;p;q;}'
}

nothing_delivered() {
  sleep 0.5
  [ -z "$(find "$PF/mail" -path '*/new/*' -type f)" ]
}

@test "postfix-cleanup: Perl's socket argument delivers to two Maildirs, body byte-exact, envelope intact" {
  { printf 'Subject: cleanup test\r\nMessage-Id: <c1@client.example>\r\n\r\n'
    printf 'caf\xc3\xa9 \xff bytes\r\n\r\n..leading dot\r\n'
    head -c 1500 /dev/zero | tr '\0' y; printf '\r\nlast line\r\n'; } > "$BATS_TEST_TMPDIR/msg"
  MSGFILE=$BATS_TEST_TMPDIR/msg session
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  [[ $(queue_reply) =~ ^250\ 2\.0\.0\ Queued\ as\ [0-9A-F]+$ ]]
  grep -q "queue/postfix-queue: queued as [0-9A-F]* by cleanup at $SOCK" "$ERR"
  pf_wait_mail "$PF/mail/bob" 1
  pf_wait_mail "$PF/mail/carol" 1
  sed 's/\r$//; s/^\.\././' "$BATS_TEST_TMPDIR/msg" > "$BATS_TEST_TMPDIR/want"
  for r in bob carol; do
    f=$(ls "$PF/mail/$r/new/"*)
    head -n 1 "$f" | grep -qx 'Return-Path: <alice@sender.example>'
    grep -qx "Delivered-To: $r@test.example" "$f"
    grep -q '^Received: from \[192\.0\.2\.1\] (HELO client\.example)' "$f"
    awk 'done { print; next } /^\tby test\.example \(qpsmtpd\// { done = 1 }' "$f" | cmp - "$BATS_TEST_TMPDIR/want"
  done
  grep -q 'from=<alice@sender.example>, size=[0-9]*, nrcpt=2' "$PF/maillog"
}

@test "postfix-cleanup: FLAG_FILTER reaches cleanup: header_checks rejects with its own text; without it the same message is delivered" {
  session $'Subject: filter me\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  pf_wait_mail "$PF/mail/bob" 1
  rm -rf "$PF"/mail/*/new/*
  QF=$(printf 'rcpt_ok\nqueue/postfix-queue %s FLAG_FILTER\n' "$SOCK" | build_chain pfc-filter)
  smtp "$QF"
  assert_equal "$(queue_reply)" "554 5.7.1 no filtered subjects here"
  grep -q "not queued: cleanup at $SOCK status 8: 5.7.1 no filtered subjects here" "$ERR"
  nothing_delivered
}

@test "postfix-cleanup: FLAG_HOLD puts the message on hold, where postqueue lists it, undelivered" {
  QH=$(printf 'rcpt_ok\nqueue/postfix-queue %s FLAG_HOLD FLAG_MASK_EXTERNAL\n' "$SOCK" | build_chain pfc-hold)
  session $'Subject: hold me\r\n\r\nx\r\n'
  smtp "$QH"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  qid=$(queue_reply | sed 's/.* //')
  run postqueue -c "$PF/etc" -p
  assert_output --regexp "$qid! .* alice@sender\.example"
  nothing_delivered
  postsuper -c "$PF/etc" -d "$qid" hold > /dev/null 2>&1
}

@test "postfix-cleanup: cleanup_sockets is tried in order (a dead socket, a host:port nothing listens on, then the inet cleanup on $PFC_IP); POSTFIXQUEUE overrides it" {
  printf '%s\n%s\n%s\n' "$PF/nonexistent" "localhost:$(free_port)" "$PFC_IP:$PFC_PORT" > "$CFG/cleanup_sockets"
  session $'Subject: sockets\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  grep -q "cannot connect to cleanup at $PF/nonexistent" "$ERR"
  grep -q "cannot connect to cleanup at localhost:[0-9]*: Connection refused" "$ERR"
  grep -q "queued as [0-9A-F]* by cleanup at $PFC_IP:$PFC_PORT" "$ERR"
  pf_wait_mail "$PF/mail/bob" 1
  smtp "$QP" POSTFIXQUEUE="$SOCK"
  grep -q "queued as [0-9A-F]* by cleanup at $SOCK" "$ERR"
  pf_wait_mail "$PF/mail/bob" 2
}

@test "postfix-cleanup: no cleanup socket answering: 451, nothing delivered" {
  echo "$PF/nonexistent" > "$CFG/cleanup_sockets"
  session $'Subject: x\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(queue_reply)" "451 4.3.0 unable to reach Postfix's cleanup service"
  grep -q 'not queued: no cleanup socket answered' "$ERR"
  nothing_delivered
}

@test "postfix-cleanup: an unknown flag, or postdrop mixed with cleanup arguments, fails the build naming what is accepted" {
  run build_chain pfc-bad <<< 'queue/postfix-queue /var/spool/postfix/public/cleanup FLAG_BOGUS'
  assert_failure
  run make -s -C "$ROOT" BIN="$BATS_TEST_TMPDIR/qp" PLUGINS=<(echo 'queue/postfix-queue FLAG_BOGUS')
  assert_failure
  assert_output --partial 'unknown cleanup flag FLAG_BOGUS; the flags are FLAG_NONE, FLAG_BOUNCE, FLAG_FILTER, FLAG_HOLD'
  assert_output --partial 'FLAG_MASK_EXTERNAL'
  run make -s -C "$ROOT" BIN="$BATS_TEST_TMPDIR/qp" PLUGINS=<(echo 'queue/postfix-queue /usr/sbin/postdrop FLAG_HOLD')
  assert_failure
  assert_output --partial 'postdrop (a path ending in postdrop, config DIR) and the cleanup service'
}

# the size record of a queue file (postcat -e): its sixth field is the
# SMTPUTF8 flags (Postfix's smtputf8.h: 1 requested, 2 header, 4 sender,
# 8 recipient)
utf8_field() {
  postcat -c "$PF/etc" -e -q "$1" 2> /dev/null | sed -n 's/^message_size: *//p' | awk '{ print $6 }'
}

@test "postfix-cleanup: a transaction that declared SMTPUTF8 reaches cleanup with its SMTPUTF8 flag; a plain one does not" {
  QH=$(printf 'rcpt_ok\nqueue/postfix-queue %s FLAG_HOLD FLAG_MASK_EXTERNAL\n' "$SOCK" | build_chain pfc-hold)
  {
    printf 'EHLO client.example\r\nMAIL FROM:<j\xc3\xb6rg@sender.example> SMTPUTF8\r\n'
    printf 'RCPT TO:<bob@test.example>\r\nDATA\r\nSubject: utf8\r\n\r\nx\r\n.\r\nQUIT\r\n'
  } > "$IN"
  smtp "$QH"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  qid=$(queue_reply | sed 's/.* //')
  run utf8_field "$qid"
  [ -n "$output" ] && [ $((output & 1)) -ne 0 ]
  postsuper -c "$PF/etc" -d "$qid" hold > /dev/null 2>&1
  session $'Subject: plain\r\n\r\nx\r\n'
  smtp "$QH"
  qid=$(queue_reply | sed 's/.* //')
  run utf8_field "$qid"
  [ -n "$output" ] && [ $((output & 1)) -eq 0 ]
  postsuper -c "$PF/etc" -d "$qid" hold > /dev/null 2>&1
}

@test "postfix-cleanup: a message a milter quarantines goes to Postfix's hold queue (CLEANUP_FLAG_HOLD), as with Postfix's smtpd" {
  # Debian's python3 has python3-milter
  local mport=8896 mlog=$BATS_TEST_TMPDIR/milter.log i
  /usr/bin/python3 "$BATS_TEST_DIRNAME/milter-tool.py" "inet:$mport@$PFC_IP" "$mlog" > /dev/null 2>&1 3>&- &
  local mpid=$!
  for i in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)" "$PFC_IP" $mport 2> /dev/null && break
    sleep 0.05
  done
  QM=$(printf 'milter inet:%s:%s\nrcpt_ok\nqueue/postfix-queue %s\n' "$PFC_IP" $mport "$SOCK" | build_chain pfc-milter)
  session $'Subject: quarantine\r\n\r\nx\r\n'
  smtp "$QM"
  kill $mpid 2> /dev/null || true
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  grep -q "quarantined the message: it goes to Postfix's hold queue" "$ERR"
  qid=$(queue_reply | sed 's/.* //')
  run postqueue -c "$PF/etc" -p
  assert_output --regexp "$qid! .* alice@sender\.example"
  nothing_delivered
  postsuper -c "$PF/etc" -d "$qid" hold > /dev/null 2>&1
}
