#!/usr/bin/env bats
# queue/postfix-queue: messages handed to a real Postfix (Debian's package,
# a private instance under /tmp, loopback only, local delivery into
# Maildirs) through the real postdrop, and every way postdrop can fail
# (tests/fake-postdrop).

load helper
load postfix

setup_file() {
  PF=$(mktemp -d /tmp/qp-pf.XXXXXX)
  export PF
  pf_setup "$PF"
  pf_start "$PF"
}

teardown_file() {
  pf_stop "$PF"
  rm -rf "$PF"
}

setup() {
  mkcfg
  echo test.example > "$CFG/rcpthosts"
  QP=$(printf 'rcpt_ok\nqueue/postfix-queue /usr/sbin/postdrop config %s/etc\n' "$PF" | build_chain pfq)
  QF=$(printf 'rcpt_ok\nqueue/postfix-queue %s\n' "$ROOT/tests/fake-postdrop" | build_chain pfq-fake)
  rm -rf "$PF"/mail/*/new/*
  cp "$PF/etc/main.cf" "$BATS_TEST_TMPDIR/main.cf"
  [ ${#QPIDS[@]} -eq 0 ] || QP=$(pf_default_config "$QP")
}

# pf_default_config BIN: a wrapper for BIN, for tests run as root, where the
# session becomes nobody. postdrop run by an unprivileged user accepts -c DIR
# only when the default main.cf lists DIR in alternate_config_directories;
# the wrapper gives the session a default main.cf of its own, in a private
# mount namespace, so the machine's /etc/postfix is never touched.
pf_default_config() {
  local d=$BATS_TEST_TMPDIR/default-etc w=$BATS_TEST_TMPDIR/qp-pf-ns
  mkdir -p "$d"
  echo "alternate_config_directories = $PF/etc" > "$d/main.cf"
  printf '#!/bin/sh\nexec unshare -m --propagation private sh -c %s sh "%s" "%s"\n' \
    "'mount --bind \"\$1\" /etc/postfix && exec \"\$2\"'" "$d" "$1" > "$w"
  chmod 755 "$w"
  echo "$w"
}

teardown() {
  [ -z "${PF:-}" ] || cp "$BATS_TEST_TMPDIR/main.cf" "$PF/etc/main.cf"
  if [ -f "$BATS_TEST_TMPDIR/pd/bg.pid" ]; then kill "$(cat "$BATS_TEST_TMPDIR/pd/bg.pid")" 2> /dev/null || true; fi
}

# $1 the message without the final dot; MAIL FROM:<$FROM>, RCPT bob and carol
session() {
  {
    printf 'EHLO client.example\r\nMAIL FROM:<%s>%s\r\n' "${FROM-alice@sender.example}" "${MAILPARAM:-}"
    printf 'RCPT TO:<bob@test.example>\r\nRCPT TO:<carol@test.example>\r\nDATA\r\n'
    if [ -n "${MSGFILE:-}" ]; then cat "$MSGFILE"; else printf '%s' "$1"; fi
    printf '.\r\nMAIL FROM:<again@sender.example>\r\nQUIT\r\n'
  } > "$IN"
}

queue_reply() {
  tr -d '\r' < "$OUT" | sed -n '/^354 /{n;p;q;}'
}

# the delivered file without the header lines Postfix and we put on top
delivered_body() {
  awk 'done { print; next } /^\tby test\.example \(qpsmtpd\// { done = 1 }' "$1"
}

nothing_delivered() {
  sleep 0.5
  [ -z "$(find "$PF/mail" -path '*/new/*' -type f)" ]
}

# pd_records FILE < python: the record stream postdrop got, decoded into
# recs, a list of (type, data), for the python on stdin to check
pd_records() {
  python3 -c "$(printf '%s\n' 'import sys' 'data = open(sys.argv[1], "rb").read()' 'recs, i = [], 0' \
    'while i < len(data):' '    t = chr(data[i]); i += 1' '    n = shift = 0' '    while True:' \
    '        b = data[i]; i += 1' '        n |= (b & 0x7f) << shift; shift += 7' '        if not b & 0x80: break' \
    '    recs.append((t, data[i:i + n])); i += n'; cat)" "$1"
}

# lines around Postfix's record size (512) and up to SMTP's 998, 8-bit
# bytes, a stuffed dot, an empty line
message() {
  printf 'Subject: postfix test\r\nMessage-Id: <pf1@client.example>\r\n\r\n'
  printf 'caf\xc3\xa9 8-bit \xff\x80 bytes\r\n\r\n..leading dot\r\n..\r\n'
  for n in 511 512 513 998 1024; do
    [ "$n" -gt 998 ] && n=997
    head -c "$n" /dev/zero | tr '\0' 'y'
    printf '\r\n'
  done
  printf 'last line\r\n'
}

@test "postfix-queue: a message reaches two local Maildirs through postdrop, envelope and body intact" {
  message > "$BATS_TEST_TMPDIR/msg"
  MSGFILE=$BATS_TEST_TMPDIR/msg MAILPARAM=' BODY=8BITMIME' session
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  [[ $(queue_reply) =~ ^250\ 2\.0\.0\ Queued\ as\ [0-9A-F]+$ ]]
  grep -q "queue/postfix-queue: queued as [0-9A-F]* by /usr/sbin/postdrop pid" "$ERR"
  pf_wait_mail "$PF/mail/bob" 1
  pf_wait_mail "$PF/mail/carol" 1
  sed 's/\r$//; 1,2d; s/^\.\././' "$BATS_TEST_TMPDIR/msg" > "$BATS_TEST_TMPDIR/want"
  { printf 'Subject: postfix test\nMessage-Id: <pf1@client.example>\n'; cat "$BATS_TEST_TMPDIR/want"; } > "$BATS_TEST_TMPDIR/want2"
  for r in bob carol; do
    f=$(ls "$PF/mail/$r/new/"*)
    head -n 1 "$f" | grep -qx 'Return-Path: <alice@sender.example>'
    grep -qx "Delivered-To: $r@test.example" "$f"
    grep -q '^Received: from \[192\.0\.2\.1\] (HELO client\.example)' "$f"
    delivered_body "$f" | cmp - "$BATS_TEST_TMPDIR/want2"
  done
  grep -q 'from=<alice@sender.example>, size=[0-9]*, nrcpt=2' "$PF/maillog"
}

@test "postfix-queue: a UTF-8 sender (SMTPUTF8) reaches Postfix through postdrop unchanged, with a UTF-8 Subject" {
  FROM=$'j\303\270rn@m\303\270\303\270se.example' MAILPARAM=' SMTPUTF8' session $'Subject: gr\303\274\303\237e\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  pf_wait_mail "$PF/mail/bob" 1
  f=$(ls "$PF/mail/bob/new/"*)
  head -n 1 "$f" | grep -qx $'Return-Path: <j\303\270rn@m\303\270\303\270se.example>'
  grep -qx $'Subject: gr\303\274\303\237e' "$f"
  grep -q ' with UTF8SMTP; ' "$f"
}

@test "postfix-queue: the null sender arrives as Return-Path: <>" {
  FROM= session $'Subject: bounce\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  pf_wait_mail "$PF/mail/bob" 1
  pf_wait_mail "$PF/mail/carol" 1
  head -n 1 "$PF"/mail/bob/new/* | grep -qx 'Return-Path: <>'
}

@test "postfix-queue: a quoted sender and a long SRS one reach Postfix in internal form and come back quoted once" {
  FROM='"x \"y\" z"@sender.example' session $'Subject: q\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  srs='SRS1=HHHHHHHHHHHHHHHHH=example.org==HHHHHHHHHHHHHHHHHHHHHHHHHH=TT=example.com=alice@forwarder.example'
  FROM=$srs session $'Subject: srs\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  pf_wait_mail "$PF/mail/bob" 2
  run grep -h '^Return-Path: ' "$PF"/mail/bob/new/*
  assert_line 'Return-Path: <"x \"y\" z"@sender.example>'
  assert_line "Return-Path: <$srs>"
}

# DSN (RFC 3461): dave@test.example sends, so that Postfix's notices come
# back to a Maildir; the arguments are the RCPT lines after "<"
dsn_session() {
  {
    printf 'EHLO client.example\r\nMAIL FROM:<dave@test.example>%s\r\n' "${MAILPARAM:-}"
    for r in "$@"; do printf 'RCPT TO:<%s\r\n' "$r"; done
    printf 'DATA\r\nSubject: dsn\r\n\r\nx\r\n.\r\nQUIT\r\n'
  } > "$IN"
}

@test "postfix-queue: DSN offered; NOTIFY=SUCCESS with ENVID and ORCPT: Postfix's success notice carries them" {
  Q=$(printf 'rcpt_ok\ntests/rcpt_notes dsn_notify dsn_orcpt\nqueue/postfix-queue /usr/sbin/postdrop config %s/etc\n' "$PF" \
      | build_chain pfq-dsn)
  [ ${#QPIDS[@]} -eq 0 ] || Q=$(pf_default_config "$Q")
  MAILPARAM=' RET=HDRS ENVID=qp+2Bdsn-1' dsn_session \
    'bob@test.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+40orig.example' 'carol@test.example>'
  smtp "$Q"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  grep -qx '250 DSN' <(tr -d '\r' < "$OUT")
  pf_wait_mail "$PF/mail/bob" 1
  pf_wait_mail "$PF/mail/dave" 1
  # the notes plugins read, in the message
  grep -qx 'X-Rcpt-Notes: bob@test.example dsn_notify=SUCCESS,FAILURE dsn_orcpt=rfc822;Bob@orig.example' "$PF"/mail/bob/new/*
  f=$(ls "$PF/mail/dave/new/"*)
  # Postfix writes the ENVID decoded; bob is an alias, hence "expanded"
  grep -qx 'Original-Envelope-Id: qp+dsn-1' "$f"
  grep -qx 'Original-Recipient: rfc822;Bob@orig.example' "$f"
  grep -qx 'Action: expanded' "$f"
  grep -qx 'Final-Recipient: rfc822; bob@test.example' "$f"
  # RET=HDRS: the notice returns the headers, not the body
  grep -q '^Content-Type: text/rfc822-headers' "$f"
  # carol asked for nothing: no notice about her
  ! grep -q '^Final-Recipient: .*carol@test.example' "$f"
}

@test "postfix-queue: NOTIFY=NEVER: Postfix sends no bounce for that recipient; without it, one comes" {
  dsn_session 'nosuch1@test.example> NOTIFY=NEVER'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  dsn_session 'nosuch2@test.example>'
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  pf_wait_mail "$PF/mail/dave" 1
  for i in $(seq 100); do grep -q 'to=<nosuch1@test.example>.*status=bounced' "$PF/maillog" && break; sleep 0.1; done
  grep -q 'to=<nosuch1@test.example>.*status=bounced' "$PF/maillog"
  sleep 0.5
  [ "$(ls "$PF/mail/dave/new" | wc -l)" -eq 1 ]
  grep -q 'nosuch2@test.example' "$PF"/mail/dave/new/*
  ! grep -q 'nosuch1@test.example' "$PF"/mail/dave/new/*
}

@test "postfix-queue: the DSN records are Postfix's: A envelope_id, ret_flags, then notify_flags and dsn_orig_rcpt before each R" {
  mkdir -p "$BATS_TEST_TMPDIR/pd"
  MAILPARAM=' ENVID=e+3Dx RET=FULL' dsn_session 'bob@test.example> ORCPT=utf-8;b\x{E9}b@x.example NOTIFY=DELAY,FAILURE' \
    'carol@test.example>'
  smtp "$QF" FAKEPD_DIR="$BATS_TEST_TMPDIR/pd"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 221"
  pd_records "$BATS_TEST_TMPDIR/pd/stream" <<'PY'
env = recs[:recs.index(('M', b''))]
assert env == [('A', b'rewrite_context=remote'), ('A', b'envelope_id=e=x'), ('A', b'ret_flags=1'),
               ('S', b'dave@test.example'), ('A', b'notify_flags=12'),
               ('A', 'dsn_orig_rcpt=utf-8;b\u00e9b@x.example'.encode()), ('R', b'bob@test.example'),
               ('R', b'carol@test.example')], env
PY
}

@test "postfix-queue: a 300 KB message spooled to disk arrives byte-exact" {
  echo 1000 > "$CFG/size_threshold"
  line=$(printf '%075d' 0)
  { printf 'Subject: big\r\n\r\n'; for i in $(seq 4000); do printf '%s %d\r\n' "$line" "$i"; done; } > "$BATS_TEST_TMPDIR/msg"
  MSGFILE=$BATS_TEST_TMPDIR/msg session
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  pf_wait_mail "$PF/mail/bob" 1
  pf_wait_mail "$PF/mail/carol" 1
  tail -n 4000 "$PF"/mail/bob/new/* | cmp - <(tail -n 4000 "$BATS_TEST_TMPDIR/msg" | tr -d '\r')
}

@test "postfix-queue: the record stream is byte-exact, long lines cut into 512-byte L records" {
  mkdir -p "$BATS_TEST_TMPDIR/pd"
  session $'Subject: s\r\n\r\n'"$(head -c 600 /dev/zero | tr '\0' z)"$'\r\n'
  smtp "$QF" FAKEPD_DIR="$BATS_TEST_TMPDIR/pd"
  [[ $(queue_reply) == "250 2.0.0 Queued as FAKE123" ]]
  pd_records "$BATS_TEST_TMPDIR/pd/stream" <<'EOF'
# the 512-byte piece has the two-byte length 80 04
assert b'L\x80\x04' + b'z' * 512 + b'NX' + b'z' * 88 in data, 'L/N encoding'
types = ''.join(t for t, _ in recs)
assert types.startswith('ASRRMN'), types
assert types.endswith('LNXE'), types
assert recs[0][1] == b'rewrite_context=remote'
assert recs[1][1] == b'alice@sender.example'
assert recs[2][1] == b'bob@test.example' and recs[3][1] == b'carol@test.example'
assert recs[5][1].startswith(b'Received: from [192.0.2.1]')
assert [r[1] for r in recs if r[0] in 'N'][-3:] == [b'Subject: s', b'', b'z' * 88]
assert all(len(r[1]) <= 512 for r in recs)
EOF
}

@test "postfix-queue: a sender Postfix does not permit gets 554 5.7.1, nothing delivered" {
  echo 'local_login_sender_maps = static:nobody' >> "$PF/etc/main.cf"
  session $'Subject: x\r\n\r\nx\r\n'
  smtp "$QP"
  assert_equal "$(queue_reply)" "554 5.7.1 Postfix does not permit this sender"
  assert_equal "$(codes)" "220 250 250 250 250 354 554 250 221"
  grep -q "not queued: /usr/sbin/postdrop pid [0-9]* status 512: not authorized" "$ERR"
  nothing_delivered
}

@test "postfix-queue: a message over Postfix's message_size_limit gets 554 5.3.4" {
  echo 'message_size_limit = 2000' >> "$PF/etc/main.cf"
  { printf 'Subject: big\r\n\r\n'; for i in $(seq 100); do printf 'line %060d\r\n' "$i"; done; } > "$BATS_TEST_TMPDIR/msg"
  MSGFILE=$BATS_TEST_TMPDIR/msg session
  smtp "$QP"
  assert_equal "$(queue_reply)" "554 5.3.4 Message too big for Postfix (message_size_limit)"
  grep -q "postdrop said: .*File too large" "$ERR"
  nothing_delivered
}

# fake postdrop: mode, expected reply to the dot, expected log text
fake() {
  mkdir -p "$BATS_TEST_TMPDIR/pd"
  session $'Subject: x\r\n\r\nx\r\n'
  smtp "$QF" FAKEPD_MODE="$1" FAKEPD_DIR="$BATS_TEST_TMPDIR/pd" "${@:4}"
  assert_equal "$(queue_reply)" "$2"
  # the session goes on
  assert_equal "$(codes)" "220 250 250 250 250 354 ${2%% *} 250 221"
  grep -q "$3" "$ERR"
}

@test "postdrop status 1 (BAD): 451, logged with postdrop's reason" {
  fake status:1 "451 4.3.0 postdrop refused the message, try again later" "status 1: fake reason 1"
}

@test "postdrop status 2 (WRITE, disk full): 451 write error or disk full" {
  fake status:2 "451 4.3.0 postdrop write error or disk full" "status 2: fake reason 2"
}

@test "postdrop exiting 0 without a status (stream canceled): 451, never 250" {
  fake cancel "451 4.3.0 postdrop failed, try again later" "exit 0: no status from postdrop"
}

@test "postdrop exiting 1 (fatal): 451 and its stderr in our log" {
  fake fatal "451 4.3.0 postdrop failed, try again later" "exit 1: no status from postdrop"
  grep -q "postdrop said: postdrop: fatal: fake fatal error" "$ERR"
}

@test "postdrop failing before its handshake: 451, nothing sent" {
  fake nohello "451 4.3.0 postdrop failed, try again later" "exit 1: no handshake from postdrop"
  [ ! -e "$BATS_TEST_TMPDIR/pd/stream" ]
}

@test "postdrop crashing: 451 postdrop crashed" {
  fake crash "451 4.3.0 postdrop crashed" "killed by signal 11"
}

@test "postdrop hanging: killed at timeoutqueue, 451" {
  echo 1 > "$CFG/timeoutqueue"
  start=$(date +%s)
  fake hang "451 4.3.0 postdrop timeout" "did not finish within 1 seconds (timeoutqueue) and was killed"
  [ $(( $(date +%s) - start )) -lt 10 ]
}

@test "postdrop leaving a background job holding its stderr: 250 at its exit, not at timeoutqueue" {
  echo 5 > "$CFG/timeoutqueue"
  start=$(date +%s%N)
  fake background "250 2.0.0 Queued as FAKE123" "queued as FAKE123"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  # the job still holds the pipes; the test ends it
  kill "$(cat "$BATS_TEST_TMPDIR/pd/bg.pid")"
  echo "took $ms ms"
  [ "$ms" -lt 3000 ]
}

@test "postdrop missing: 451 unable to run postdrop" {
  Q=$(printf 'rcpt_ok\nqueue/postfix-queue /nonexistent/postdrop\n' | build_chain pfq-missing)
  session $'Subject: x\r\n\r\nx\r\n'
  smtp "$Q"
  assert_equal "$(queue_reply)" "451 4.3.0 unable to run postdrop"
  grep -q "not queued: cannot run /nonexistent/postdrop" "$ERR"
}

@test "bad queue/postfix-queue arguments fail the build" {
  run build_chain pfq-bad <<< 'queue/postfix-queue /usr/sbin/postdrop colour blue'
  assert_failure
  assert_output --partial 'usage: queue/postfix-queue'
}
