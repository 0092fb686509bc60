#!/usr/bin/env bats
# The message and alias plugins through the daemon: headers, loop,
# bogus_bounce, content_log, client_options, aliases and addsig. Every
# test fails without the plugin it is about.

load helper

setup() {
  mkcfg
}

# transaction SENDER RCPT... < message (LF lines): the client's bytes in $IN
transaction() {
  local from=$1 r
  shift
  {
    printf 'EHLO client.example\r\nMAIL FROM:<%s>\r\n' "$from"
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'DATA\r\n'
    sed 's/$/\r/'
    printf '.\r\nQUIT\r\n'
  } > "$IN"
}

# the reply to the message (the one after 354), CR dropped
final() { tr -d '\r' < "$OUT" | sed -n '/^354 /{n;p;q}'; }
# the message was queued
accepted() { final | grep -q '^250 2\.0\.0 Queued'; }
# the replies without EHLO's continuation lines
replies() { tr -d '\r' < "$OUT" | grep -v '^250-'; }

chain() {
  local name=$1
  shift
  { printf '%s\n' "$@"; printf 'rcpt_ok\nqueue/qmail-queue\n'; } | build_chain "msg-$name"
}

good_msg() {
  printf 'From: alice@sender.example\nTo: bob@example.com\nSubject: hi\nDate: %s\n\nhello\n' "$(date -R)"
}

# ---------------------------------------------------------------- headers

@test "headers: a message with From, Date and one Subject is queued" {
  QP=$(chain headers 'headers require From,Date future 2 past 15')
  good_msg | transaction alice@sender.example bob@example.com
  smtp "$QP"
  accepted
  [ "$(queued)" -eq 1 ]
  grep -q 'headers: pass' "$ERR"
}

@test "headers: a message without a required header is refused with 552 5.6.0 and not queued" {
  QP=$(chain headers 'headers require From,Date future 2 past 15')
  printf 'From: alice@sender.example\nSubject: hi\n\nhello\n' | transaction alice@sender.example bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.6.0 We require a valid Date header"
  [ "$(queued)" -eq 0 ]
  printf 'From: \nDate: %s\n\nhello\n' "$(date -R)" | transaction alice@sender.example bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.6.0 We require a valid From header"
}

@test "headers: a singular header given twice is refused, each error on its own line" {
  QP=$(chain headers 'headers require From,Date future 2 past 15')
  printf 'Date: %s\nSubject: a\nsubject: b\nTo: x@y\nTO: z@y\n\nhello\n' "$(date -R)" | transaction alice@sender.example bob@example.com
  smtp "$QP"
  tr -d '\r' < "$OUT" | grep -qx '552-5.6.0 We require a valid From header'
  tr -d '\r' < "$OUT" | grep -qx '552-5.6.0 Only one To header allowed. See RFC 5322, Section 3.6'
  tr -d '\r' < "$OUT" | grep -qx '552 5.6.0 Only one Subject header allowed. See RFC 5322, Section 3.6'
  [ "$(queued)" -eq 0 ]
}

@test "headers: a Date outside the future/past window is refused, inside it is queued" {
  QP=$(chain headers 'headers require From,Date future 2 past 15')
  printf 'From: a@b.example\nDate: %s\n\nx\n' "$(date -R -d '-20 days')" | transaction a@b.example bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.6.0 The Date header is too far in the past"
  printf 'From: a@b.example\nDate: %s\n\nx\n' "$(date -R -d '+3 days')" | transaction a@b.example bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.6.0 The Date header is too far in the future"
  # obsolete forms (RFC 5322 4.3): two-digit year, zone name, comments
  printf 'From: a@b.example\nDate: 1 Jan 70 00:00 GMT\n\nx\n' | transaction a@b.example bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.6.0 The Date header is too far in the past"
  printf 'From: a@b.example\nDate: %s (CET)\n\nx\n' "$(date -R -d '-14 days')" | transaction a@b.example bob@example.com
  smtp "$QP"
  accepted
  # a Date that cannot be read is not judged
  printf 'From: a@b.example\nDate: yesterday\n\nx\n' | transaction a@b.example bob@example.com
  smtp "$QP"
  accepted
  grep -q 'headers: skip, date not parseable (yesterday)' "$ERR"
}

@test "headers: reject_type temp gives 452 4.6.0, reject 0 only logs, relay clients are immune" {
  QP=$(chain headers-temp 'headers reject_type temp')
  printf 'Subject: x\n\nx\n' | transaction a@b.example bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "452 4.6.0 We require a valid From header"
  QP=$(chain headers-log 'headers reject 0 reject_type temp require From,Date future 2 past 15')
  smtp "$QP"
  accepted
  grep -q 'headers: fail, tolerated, RFC 5322 validation errors' "$ERR"
  QP=$(chain headers-relay relay headers)
  smtp "$QP"
  assert_equal "$(final)" "552 5.6.0 We require a valid From header"
  smtp "$QP" RELAYCLIENT=
  accepted
}

@test "headers: an empty message is refused: You must send some data first" {
  QP=$(chain headers-relay relay headers)
  printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP" RELAYCLIENT=
  assert_equal "$(final)" "552 5.6.0 You must send some data first"
}

@test "headers: a bad argument fails the build" {
  run build_chain msg-headers-bad <<< 'headers future soon'
  assert_failure
  run build_chain msg-headers-bad <<< 'headers require From,,Date'
  assert_failure
}

# ---------------------------------------------------------------- loop

hops() {
  local n=$1 i
  for ((i = 0; i < n; i++)); do printf 'Received: from h%d by h%d\n' "$i" "$((i + 1))"; done
  printf 'Delivered-To: bob@example.com\nFrom: a@b.example\n\nx\n'
}

@test "loop: a message with as many hops as the limit is refused with 552 5.4.6, one fewer is queued" {
  QP=$(chain loop 'loop 5')
  hops 4 | transaction a@b.example bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.4.6 Too many hops"
  [ "$(queued)" -eq 0 ]
  grep -q 'loop: fail, 5 hops, the limit is 5' "$ERR"
  hops 3 | transaction a@b.example bob@example.com
  smtp "$QP"
  accepted
  run build_chain msg-loop-bad <<< 'loop many'
  assert_failure
}

# ---------------------------------------------------------------- bogus_bounce

@test "bogus_bounce deny: a bounce to two recipients is refused with 552, to one it is queued" {
  QP=$(chain bb-deny 'bogus_bounce deny')
  printf 'From: MAILER-DAEMON@x.example\n\nbounce\n' | transaction '' bob@example.com carol@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.7.1 fail, this bounce message does not have 1 recipient"
  [ "$(queued)" -eq 0 ]
  printf 'From: MAILER-DAEMON@x.example\n\nbounce\n' | transaction '' bob@example.com
  smtp "$QP"
  accepted
  # not a bounce: any number of recipients
  printf 'From: a@x.example\n\nhi\n' | transaction a@x.example bob@example.com carol@example.com
  smtp "$QP"
  accepted
}

@test "bogus_bounce: a bounce with a Return-Path is refused; denysoft gives 452; log only logs" {
  QP=$(chain bb-deny 'bogus_bounce deny')
  printf 'Return-Path: <x@y.example>\nFrom: m@x.example\n\nbounce\n' | transaction '' bob@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.7.1 a bounce return path must be empty (RFC 3834)"
  printf 'Return-Path: <>\nFrom: m@x.example\n\nbounce\n' | transaction '' bob@example.com
  smtp "$QP"
  accepted
  QP=$(chain bb-soft 'bogus_bounce denysoft')
  printf 'From: m@x.example\n\nbounce\n' | transaction '' bob@example.com carol@example.com
  smtp "$QP"
  assert_equal "$(final)" "452 4.7.1 fail, this bounce message does not have 1 recipient"
  QP=$(chain bb-log 'bogus_bounce log')
  smtp "$QP"
  accepted
  grep -q 'bogus_bounce: fail, tolerated, bogus bounce with more than one recipient' "$ERR"
}

# ---------------------------------------------------------------- content_log

@test "content_log: each message is appended to the strftime-named file; content_log_enabled false stops it" {
  QP=$(chain clog content_log)
  mkdir -p "$BATS_TEST_TMPDIR/mail"
  good_msg | transaction alice@sender.example bob@example.com
  smtp "$QP"
  smtp "$QP"
  f=$BATS_TEST_TMPDIR/mail/$(date +%Y%m%d)
  [ "$(grep -c '^Subject: hi$' "$f")" -eq 2 ]
  [ "$(grep -c '^Received: from ' "$f")" -eq 2 ]
  [ "$(stat -c %a "$f")" = 600 ]
  echo "$BATS_TEST_TMPDIR/log-%Y" > "$CFG/content_log_file"
  smtp "$QP"
  grep -q '^hello$' "$BATS_TEST_TMPDIR/log-$(date +%Y)"
  echo false > "$CFG/content_log_enabled"
  smtp "$QP"
  [ "$(grep -c '^hello$' "$BATS_TEST_TMPDIR/log-$(date +%Y)")" -eq 1 ]
  [ "$(queued)" -eq 4 ]
}

@test "content_log: an unwritable log or a message over max_size is not logged and the message is still queued" {
  QP=$(chain clog-max 'content_log max_size 300')
  echo "$BATS_TEST_TMPDIR/nodir/x" > "$CFG/content_log_file"
  good_msg | transaction alice@sender.example bob@example.com
  smtp "$QP"
  accepted
  grep -q 'content_log: Could not open log file .*nodir/x: .*continuing anyway' "$ERR"
  echo "$BATS_TEST_TMPDIR/big" > "$CFG/content_log_file"
  { good_msg; seq 1 100; } | transaction alice@sender.example bob@example.com
  smtp "$QP"
  accepted
  grep -q 'content_log: skip, message of [0-9]* bytes is larger than max_size' "$ERR"
  [ ! -e "$BATS_TEST_TMPDIR/big" ]
  # a symbolic link is not followed
  ln -s "$BATS_TEST_TMPDIR/target" "$BATS_TEST_TMPDIR/link"
  echo "$BATS_TEST_TMPDIR/link" > "$CFG/content_log_file"
  good_msg | transaction alice@sender.example bob@example.com
  smtp "$QP"
  accepted
  [ ! -e "$BATS_TEST_TMPDIR/target" ]
}

# ---------------------------------------------------------------- client_options

@test "client_options: the first matching line sets connection notes; whitelisthost makes the client immune" {
  QP=$(chain copt client_options headers)
  printf 'Subject: x\n\nx\n' | transaction a@b.example bob@example.com
  printf '# comment\n10.0.0.0/8 whitelisthost\n192.0.2.0/24: (whitelisthost, karma=5)\n192.0.2.1 whitelisthost=0\n' > "$CFG/client_options"
  smtp "$QP"
  accepted
  grep -q 'client_options: note whitelisthost=1' "$ERR"
  grep -q 'client_options: note karma=5' "$ERR"
  grep -q 'headers: skip, whitelisted host' "$ERR"
  smtp "$QP" TCPREMOTEIP=10.1.2.3
  accepted
  for ip in 11.0.0.1 192.0.3.1 127.0.0.1; do
    smtp "$QP" TCPREMOTEIP=$ip
    assert_equal "$(final)" "552 5.6.0 We require a valid From header"
  done
  printf '192.0.2. whitelisthost=0\n192.0.2.1 whitelisthost\n' > "$CFG/client_options"
  smtp "$QP"
  assert_equal "$(final)" "552 5.6.0 We require a valid From header"
}

@test "client_options: a line that cannot be parsed is a 421 at connect naming the file and line" {
  QP=$(chain copt client_options headers)
  printf '192.0.2.9 ok\nnot-an-ip whitelisthost\n' > "$CFG/client_options"
  good_msg | transaction a@b.example bob@example.com
  smtp "$QP"
  assert_equal "$(head -1 "$OUT" | tr -d '\r')" "421 4.3.0 unable to read controls, closing connection"
  grep -q "control file $CFG/client_options line 2: cannot parse the entry: not-an-ip whitelisthost" "$ERR"
  printf '192.0.2.1 (a=1, b\n' > "$CFG/client_options"
  smtp "$QP"
  assert_equal "$(head -1 "$OUT" | tr -d '\r')" "421 4.3.0 unable to read controls, closing connection"
}

# ---------------------------------------------------------------- aliases

alias_chain() { chain aliases aliases 'tests/rcpt_notes denysoft_greylist spamassassin_reject_threshold'; }

@test "aliases: an alias is accepted under its own name and delivered to its target" {
  QP=$(alias_chain)
  printf 'info,sales@example.com,example.org: bob@elsewhere.example\n' > "$CFG/aliases"
  good_msg | transaction a@b.example SALES@example.org
  smtp "$QP"
  replies | grep -qx '250 2.1.5 <SALES@example.org>, recipient ok'
  accepted
  printf 'Fa@b.example\0Tbob@elsewhere.example\0\0' | cmp - "$FAKEQ_DIR/1.env"
  grep -q 'aliases: rewrote SALES@example.org to bob@elsewhere.example' "$ERR"
}

@test "aliases: an unknown local part at an alias domain is refused with 550 5.1.1; other domains are left alone" {
  QP=$(alias_chain)
  printf 'info@example.com: bob@elsewhere.example\n' > "$CFG/aliases"
  printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<x@other.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  replies | grep -qx '550 5.1.1 No such user'
  # not an alias domain: rcpt_ok decides (relaying denied)
  replies | grep -qx '550 5.7.1 Relaying denied'
  QP=$(chain aliases-soft 'aliases reject_type temp')
  smtp "$QP"
  replies | grep -qx '450 4.1.1 No such user'
}

@test "aliases: recursion, a catch-all, a target without a domain and a key without a domain" {
  QP=$(alias_chain)
  cat > "$CFG/aliases" <<'EOF2'
# the rest of example.com goes to the postmaster
*@example.com: postmaster
postmaster@example.com: admin
admin@example.com: root@ops.example, admin@example.com
abuse: abuse-desk@ops.example
*@old.example: *@example.net
EOF2
  good_msg | transaction a@b.example random@example.com abuse@example.com who@old.example
  smtp "$QP"
  accepted
  printf 'Fa@b.example\0Troot@ops.example\0Tadmin@example.com\0Tabuse-desk@ops.example\0Twho@example.net\0\0' | cmp - "$FAKEQ_DIR/1.env"
}

@test "aliases: options become recipient notes, nearer aliases win, and the targets carry them" {
  QP=$(alias_chain)
  cat > "$CFG/aliases" <<'EOF2'
info@example.com: team (denysoft_greylist, spamassassin_reject_threshold=10)
team@example.com: bob@x.example (spamassassin_reject_threshold=5)
EOF2
  good_msg | transaction a@b.example info@example.com
  smtp "$QP"
  accepted
  grep -qx 'X-Rcpt-Notes: info@example.com denysoft_greylist=1 spamassassin_reject_threshold=10' "$FAKEQ_DIR/1.msg"
  grep -qx 'X-Rcpt-Notes-Queue: bob@x.example denysoft_greylist=1 spamassassin_reject_threshold=10' "$FAKEQ_DIR/1.msg"
}

@test "aliases: two recipients with the same target get one delivery" {
  QP=$(alias_chain)
  printf 'a,b@example.com: c@x.example\n' > "$CFG/aliases"
  good_msg | transaction s@b.example a@example.com b@example.com c@x.example
  smtp "$QP" RELAYCLIENT=
  printf 'Fs@b.example\0Tc@x.example\0\0' | cmp - "$FAKEQ_DIR/1.env"
}

@test "aliases: a loop or a chain deeper than 10 is a temporary 450 4.3.0 and a log line" {
  QP=$(alias_chain)
  printf 'a@example.com: b\nb@example.com: a\n' > "$CFG/aliases"
  printf 'EHLO c\r\nMAIL FROM:<s@b.example>\r\nRCPT TO:<a@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  replies | grep -qx '450 4.3.0 Alias configuration error, try again later'
  grep -q 'aliases: configuration error for a@example.com: alias loop' "$ERR"
  for i in $(seq 1 12); do echo "l$i@example.com: l$((i + 1))"; done > "$CFG/aliases"
  printf 'EHLO c\r\nMAIL FROM:<s@b.example>\r\nRCPT TO:<l1@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  replies | grep -qx '450 4.3.0 Alias configuration error, try again later'
  grep -q 'aliases nested more than 10 deep' "$ERR"
}

@test "aliases: a line that cannot be parsed is a 421 naming the file and the line" {
  QP=$(alias_chain)
  printf 'ok@example.com: x@y.example\nbad@example.com: |/bin/sh\n' > "$CFG/aliases"
  printf 'EHLO c\r\nMAIL FROM:<s@b.example>\r\nRCPT TO:<ok@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  replies | grep -qx '421 4.3.0 unable to read controls, closing connection'
  assert_equal "$(codes)" "421"
  grep -q "control file $CFG/aliases line 2: bad target (programs and files are not supported): bad@example.com: |/bin/sh" "$ERR"
  printf 'x@example.com: y@z.example (opt\n' > "$CFG/aliases"
  smtp "$QP"
  replies | grep -qx '421 4.3.0 unable to read controls, closing connection'
}

# ---------------------------------------------------------------- addsig

@test "addsig: the signature of the sender's domain is appended to a plain-text message" {
  QP=$(chain addsig "addsig $BATS_TEST_TMPDIR/sigs")
  mkdir -p "$BATS_TEST_TMPDIR/sigs"
  printf -- '-- \r\nExample Corp\r\n' > "$BATS_TEST_TMPDIR/sigs/sender.example"
  good_msg | transaction alice@Sender.Example bob@example.com
  smtp "$QP"
  accepted
  assert_equal "$(tail -n 3 "$FAKEQ_DIR/1.msg")" "$(printf 'hello\n-- \nExample Corp')"
  # no signature for the domain: unchanged
  good_msg | transaction alice@other.example bob@example.com
  smtp "$QP"
  assert_equal "$(tail -n 1 "$FAKEQ_DIR/2.msg")" "hello"
}

@test "addsig: multipart, encoded and DKIM-signed messages are left as they are" {
  QP=$(chain addsig "addsig $BATS_TEST_TMPDIR/sigs")
  mkdir -p "$BATS_TEST_TMPDIR/sigs"
  printf 'SIG\n' > "$BATS_TEST_TMPDIR/sigs/sender.example"
  printf 'From: a@sender.example\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nhi\n--b--\n' \
    | transaction a@sender.example bob@example.com
  smtp "$QP"
  assert_equal "$(tail -n 1 "$FAKEQ_DIR/1.msg")" "--b--"
  grep -q 'addsig: skip, a multipart/mixed message is left as it is' "$ERR"
  printf 'From: a@sender.example\nContent-Transfer-Encoding: base64\n\naGk=\n' | transaction a@sender.example bob@example.com
  smtp "$QP"
  assert_equal "$(tail -n 1 "$FAKEQ_DIR/2.msg")" "aGk="
  printf 'DKIM-Signature: v=1; d=sender.example\nFrom: a@sender.example\n\nhi\n' | transaction a@sender.example bob@example.com
  smtp "$QP"
  assert_equal "$(tail -n 1 "$FAKEQ_DIR/3.msg")" "hi"
  printf 'From: a@sender.example\nContent-Type: text/plain; charset=us-ascii\n\nhi\n' | transaction a@sender.example bob@example.com
  smtp "$QP"
  assert_equal "$(tail -n 1 "$FAKEQ_DIR/4.msg")" "SIG"
}

@test "addsig: a domain that is not a plain host name or a symbolic link never reaches a file" {
  QP=$(chain addsig "addsig $BATS_TEST_TMPDIR/sigs")
  mkdir -p "$BATS_TEST_TMPDIR/sigs"
  printf 'SECRET\n' > "$BATS_TEST_TMPDIR/secret"
  ln -s "$BATS_TEST_TMPDIR/secret" "$BATS_TEST_TMPDIR/sigs/link.example"
  good_msg | transaction a@link.example bob@example.com
  smtp "$QP"
  accepted
  ! grep -q SECRET "$FAKEQ_DIR/1.msg" || false
  printf 'SECRET\n' > "$BATS_TEST_TMPDIR/sigs/[127.0.0.1]"
  good_msg | transaction 'a@[127.0.0.1]' bob@example.com
  smtp "$QP"
  accepted
  ! grep -q SECRET "$FAKEQ_DIR/2.msg" || false
  grep -q "addsig: skip, the sender's domain is not a plain host name" "$ERR"
}
