#!/usr/bin/env bats
# DATA framing and the limits: smuggling, bare CR/LF, long lines, NUL and
# 8-bit bytes, databytes and SIZE, recipients, hops, deadlines.

load helper

setup() {
  mkcfg
  QP=$(default_chain)
}

teardown() {
  stop_server
}

smuggle() {
  # $1: the bytes that try to end DATA early
  { envelope; printf 'Subject: real\r\n\r\nA'; printf "$1"; printf 'MAIL FROM:<spoof@evil.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nz\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
}

assert_not_smuggled() {
  [ "$(grep -c '^354' "$OUT")" -eq 1 ]
  ! grep -rq SMUGGLED "$FAKEQ_DIR" 2>/dev/null || false
  ! grep -q 'spoof@evil' "$FAKEQ_DIR"/*.env 2>/dev/null || false
  # nothing after the 354 says 250
  run sh -c "sed -n '/^354/,\$p' '$OUT' | grep -c '^250'"
  [ "$output" -eq 0 ]
}

@test "control case: CRLF.CRLF ends DATA and pipelined commands after it work" {
  smuggle '\r\n.\r\n'
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 250 221"
  [ "$(queued)" -eq 2 ]
}

@test "smuggling variants never end DATA: bare LF variants" {
  for v in '\n.\n' '\n.\r\n' '\r\n.\n' '\n.\r'; do
    rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"
    smuggle "$v"
    assert_not_smuggled
    [ "$(queued)" -eq 0 ]
    grep -q '^550 5.5.2 Bare LF received' "$OUT"
  done
}

@test "smuggling variants never end DATA: bare CR variants" {
  for v in '\r.\r' '\r.\n' '\r.\r\n' '\r\n.\r' '\r\n.\r\r\n' '\r\r\n.\r\r\n'; do
    rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"
    smuggle "$v"
    assert_not_smuggled
    [ "$(queued)" -eq 0 ]
    grep -Eq '^550 5.5.2 Bare (CR|LF) received' "$OUT"
  done
}

@test "NUL before or after the dot does not end DATA" {
  for v in '\r\n\0.\r\n' '\r\n.\0\r\n'; do
    rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"
    smuggle "$v"
    # the rest is message text up to the real CRLF.CRLF: one message, one envelope
    [ "$(grep -c '^354' "$OUT")" -eq 1 ]
    [ "$(queued)" -eq 1 ]
    printf 'Falice@sender.example\0Tbob@example.com\0\0' | cmp - "$FAKEQ_DIR/1.env"
  done
}

@test "a bare LF inside a body line rejects the message and closes" {
  { envelope; printf 'Subject: x\r\n\r\nline one\nline two\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 550"
  [ "$(queued)" -eq 0 ]
}

@test "a message of only the terminator is queued empty of body" {
  { envelope; printf '.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
}

@test "NUL and 8-bit bytes in the body are queued byte-exact" {
  { envelope; printf 'Subject: bin\r\n\r\na\0b\xff\xc3\xa9\x80\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  [ "$(queued)" -eq 1 ]
  tail -c 8 "$FAKEQ_DIR/1.msg" | od -An -c | tr -s ' ' > "$BATS_TEST_TMPDIR/tail"
  printf 'a\0b\xff\xc3\xa9\x80\n' | od -An -c | tr -s ' ' | cmp - "$BATS_TEST_TMPDIR/tail"
}

@test "a disconnect mid-DATA queues nothing" {
  { envelope; printf 'Subject: x\r\n\r\npartial'; } > "$IN"
  smtp "$QP"
  # the session reached DATA (354) and saw the message end short
  expect_replies <<'EOF'
220 test.example ESMTP qpsmtpd 0.1 ready; send us your mail, but not your spam.
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
250 2.1.0 <alice@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
354 go ahead
451 4.3.0 Incomplete DATA
EOF
  nothing_queued
}

@test "a 5000-octet line is queued unchanged by default (no 998-octet limit)" {
  long=$(head -c 5000 /dev/zero | tr '\0' a)
  { envelope; printf 'Subject: x\r\n\r\nbefore\r\n%s\r\nafter\r\n.\r\n' "$long"
    printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: y\r\n\r\n%sa\r\n.\r\nQUIT\r\n' "$(head -c 998 /dev/zero | tr '\0' b)"; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 250 221"
  [ "$(queued)" -eq 2 ]
  # the stored message ends with the body exactly as sent, LF line ends
  printf 'Subject: x\n\nbefore\n%s\nafter\n' "$long" > "$BATS_TEST_TMPDIR/want"
  tail -c "$(stat -c %s "$BATS_TEST_TMPDIR/want")" "$FAKEQ_DIR/1.msg" | cmp - "$BATS_TEST_TMPDIR/want"
  grep -qx "$(head -c 998 /dev/zero | tr '\0' b)a" "$FAKEQ_DIR/2.msg"
}

@test "strict_line_length 1: a 1000-octet line is accepted, a 1001-octet or 5000-octet line is 552 5.6.0 and not queued" {
  long=$(head -c 998 /dev/zero | tr '\0' a)
  # without the file the 1001-octet line is accepted
  { envelope; printf 'Subject: y\r\n\r\n%sa\r\n.\r\nQUIT\r\n' "$long"; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  rm -f "$FAKEQ_DIR"/*
  echo 1 > "$CFG/strict_line_length"
  { envelope; printf 'Subject: x\r\n\r\n%s\r\n.\r\n' "$long"
    printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: y\r\n\r\n%sa\r\n.\r\n' "$long"
    printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: z\r\n\r\n%s\r\n.\r\nQUIT\r\n' "$(head -c 5000 /dev/zero | tr '\0' c)"; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 552 250 250 354 552 221"
  [ "$(grep -c '^552 5.6.0 ' "$OUT")" -eq 2 ]
  [ "$(queued)" -eq 1 ]
  grep -q 'Subject: x' "$FAKEQ_DIR/1.msg"
}

@test "strict_line_length 0 accepts long lines; a value that does not parse is 421 at connect naming the file and line" {
  long=$(head -c 2000 /dev/zero | tr '\0' a)
  echo 0 > "$CFG/strict_line_length"
  { envelope; printf 'Subject: x\r\n\r\n%s\r\n.\r\nQUIT\r\n' "$long"; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  for v in 2 yes -1 '1 0'; do
    echo "$v" > "$CFG/strict_line_length"
    rm -f "$FAKEQ_DIR"/*
    smtp "$QP"
    assert_equal "$(codes)" "421"
    grep -q '^421 4.3.0 ' "$OUT"
    grep -q "control file $CFG/strict_line_length line 1: " "$ERR"
    [ "$RC" -eq 111 ]
    nothing_queued
  done
}

@test "swaks and smtplib through tcpserver: a 5000-octet line is queued unchanged, and refused 552 with strict_line_length" {
  long=$(head -c 5000 /dev/zero | tr '\0' q)
  start_server "$QP"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --from alice@sender.example \
    --to bob@example.com --header 'Subject: long' --body "$long"
  assert_success
  assert_output --partial '<-  250 2.0.0 Queued'
  [ "$(queued)" -eq 1 ]
  grep -qx "$long" "$FAKEQ_DIR/1.msg"
  echo 1 > "$CFG/strict_line_length"
  run timeout 20 python3 - "$PORT" "$long" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
try:
    s.sendmail("alice@sender.example", ["bob@example.com"], "Subject: long\r\n\r\n" + sys.argv[2] + "\r\n")
    print("accepted")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
PY
  stop_server
  assert_success
  assert_output --partial '552 5.6.0 Message has a line longer than 998'
  [ "$(queued)" -eq 1 ]
}

@test "databytes: exactly the limit is queued, one byte more is 552 and not queued" {
  # stored size counts LF line ends: "Subject: x\n\n" (12) + body + "\n"
  echo 40 > "$CFG/databytes"
  body=$(head -c 27 /dev/zero | tr '\0' b)
  { envelope; printf 'Subject: x\r\n\r\n%s\r\n.\r\n' "$body"; printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\n%sb\r\n.\r\nQUIT\r\n' "$body"; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 552 221"
  grep -q '^552 5.3.4 Message too big!' "$OUT"
  [ "$(queued)" -eq 1 ]
}

@test "SIZE= is checked at MAIL without overflow" {
  echo 1000 > "$CFG/databytes"
  {
    printf 'EHLO c.example\r\n'
    for v in 0 1000 1001 4294967295 4294967296 18446744073709551615 18446744073709551616 999999999999999999999999 -1 +5 1e9 0x10 ''; do
      printf 'MAIL FROM:<a@b.example> SIZE=%s\r\n' "$v"
    done
    printf 'MAIL FROM:<a@b.example> SIZE\r\nQUIT\r\n'
  } > "$IN"
  smtp "$QP"
  # 2^64 and more digits do not fit: a syntax error, not a size
  assert_equal "$(codes)" "220 250 250 250 552 552 552 552 501 501 501 501 501 501 501 501 221"
}

@test "a databytes file that does not parse is 421 naming the file" {
  echo 12abc > "$CFG/databytes"
  printf 'QUIT\r\n' > "$IN"
  smtp "$QP"
  run tr -d '\r' < "$OUT"
  assert_output '421 4.3.0 unable to read controls, closing connection'
  grep -q 'databytes' "$ERR"
  [ "$RC" -eq 111 ]
}

@test "databytes too big for the machine is 421, not a wrapped value" {
  echo 18446744073709551616 > "$CFG/databytes"
  printf 'QUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q '^421 4.3.0' "$OUT"
}

@test "1000 recipients are accepted, the 1001st is 452, and the envelope has 1000" {
  {
    printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n'
    for i in $(seq 1 1005); do printf 'RCPT TO:<u%d@example.com>\r\n' "$i"; done
    printf 'DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n'
  } > "$IN"
  smtp "$QP"
  [ "$(grep -c '^250 2.1.5' "$OUT")" -eq 1000 ]
  [ "$(grep -c '^452 4.5.3 Too many recipients' "$OUT")" -eq 5 ]
  [ "$(queued)" -eq 1 ]
  [ "$(tr -cd '\0' < "$FAKEQ_DIR/1.env" | wc -c)" -eq 1002 ]
}

@test "100 Received headers is a loop (554 5.4.6), 99 is accepted" {
  rec99=$(for i in $(seq 1 99); do printf 'Received: from hop%d\r\n' "$i"; done | sed 's/\r$//' | sed '$!s/$/\r/')
  { envelope; printf '%s\r\nSubject: x\r\n\r\nb\r\n.\r\n' "$rec99"; printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n%s\r\nReceived: one more\r\n\r\nb\r\n.\r\nQUIT\r\n' "$rec99"; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 250 250 354 554 221"
  grep -q '^554 5.4.6 ' "$OUT"
}

@test "an over-long command is one 500 and its tail is never a command" {
  { printf 'EHLO c.example\r\nMAIL FROM:<'; head -c 100000 /dev/zero | tr '\0' a; printf '>\r\nRSET\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 500 250 221"
  grep -q '^500 5.5.2 Line too long' "$OUT"
}

@test "split injection: junk up to the limit then RCPT on the same line" {
  { printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nNOOP '; head -c 1015 /dev/zero | tr '\0' x; printf 'RCPT TO:<bob@example.com>\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 500 221"
}

@test "200 MB without a line end under a memory limit: 500, no crash" {
  ( ulimit -v 262144; head -c 200000000 /dev/zero | tr '\0' a > /dev/null ) || skip "no ulimit -v here"
  printf 'EHLO c.example\r\n' > "$IN"
  { cat "$IN"; head -c 200000000 /dev/zero | tr '\0' a; printf '\r\nQUIT\r\n'; } > "$IN.big"
  mv "$IN.big" "$IN"
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "ASan needs more address space"
  ulimit -v 65536
  smtp "$QP"
  assert_equal "$(codes)" "220 250 500 221"
}

@test "NUL, bare CR, bare LF and 8-bit bytes in commands are rejected" {
  printf 'HELO a\0b\r\nEHLO a\rX-Injected: yes\r\nEHLO c.example\nMAIL FROM:<a@b.example>\0 junk\r\nHELO \xc3\xa9t\xc3\xa9\r\nEHLO c.example\r\nMAIL FROM:<\xff@b.example>\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x\0@y.example>\r\nRCPT TO:<b\x80@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  # "EHLO c.example<LF>MAIL ...<NUL> junk<CRLF>" is one line, refused whole;
  # 8-bit bytes that are not UTF-8 in a path: 501 (tests/utf8.bats)
  assert_equal "$(codes)" "220 500 500 500 500 250 501 250 500 501 221"
}

@test "a bare LF inside a command line refuses the whole line: no part of it runs" {
  printf 'EHLO a.example\r\nMAIL FROM:<alice@sender.example>\nRCPT TO:<bob@example.com>\r\nRCPT TO:<bob@example.com>\r\nNOOP\nRSET\nQUIT\r\nNOOP\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  # MAIL never ran (the RCPT after it gets 503), nor the QUIT hidden after bare LFs
  assert_equal "$(codes)" "220 250 500 503 500 250 221"
  run tr -d '\r' < "$OUT"
  assert_line '500 5.5.2 Syntax error: command lines must end with CRLF (bare LF received)'
  assert_line '503 5.5.1 Use MAIL before RCPT'
}

@test "a bare CR inside a command line refuses the whole line" {
  printf 'EHLO a.example\r\nMAIL FROM:<alice@sender.example>\rRCPT TO:<bob@example.com>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 500 503 221"
  run tr -d '\r' < "$OUT"
  assert_line '500 5.5.2 Syntax error: bare CR in command'
}

@test "HELO with header-injection attempts cannot add a header" {
  printf 'EHLO a.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\ny\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP" TCPREMOTEHOST=$'h\nX-Injected: yes' TCPREMOTEINFO=$'i\r\nX-Injected: yes'
  [ "$(queued)" -eq 1 ]
  [ "$(grep -c '^Received:' "$FAKEQ_DIR/1.msg")" -eq 1 ]
  ! grep -q '^X-Injected' "$FAKEQ_DIR/1.msg" || false
  grep -q '^Received: from i??X-Injected:?yes@h?X-Injected:?yes (HELO a.example) (192.0.2.1)$' "$FAKEQ_DIR/1.msg"
}

@test "idle after the greeting: 421 at the timeoutsmtpd deadline" {
  echo 1 > "$CFG/timeoutsmtpd"
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  ( sleep 8 > "$BATS_TEST_TMPDIR/fifo" ) &
  holder=$!
  start=$(date +%s)
  env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" timeout 20 "$QP" < "$BATS_TEST_TMPDIR/fifo" > "$OUT" 2> "$ERR" || true
  end=$(date +%s)
  kill "$holder" 2>/dev/null || true
  [ $((end - start)) -le 4 ]
  grep -q '^421 4.4.2 ' "$OUT"
}

@test "a client trickling one byte a second is cut off at the deadline" {
  # a byte every 0.5 s, each well within timeoutsmtpd: only the deadline
  # for the whole command can end it
  echo 2 > "$CFG/timeoutsmtpd"
  start=$(date +%s)
  ( for c in E H L O ' ' a b c d e f g h i j k l m n o; do printf '%s' "$c"; sleep 0.5; done ) | \
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" timeout 30 "$QP" > "$OUT" 2> "$ERR" || true
  end=$(date +%s)
  grep -q '^421 4.4.2 ' "$OUT"
  [ $((end - start)) -le 25 ]
}

@test "DATA sent a piece a second for longer than timeoutsmtpd is queued (a deadline per read)" {
  echo 2 > "$CFG/timeoutsmtpd"
  # three pieces a second apart: 3 s in all, longer than timeoutsmtpd
  ( envelope; printf 'Subject: slow\r\n\r\n'; for i in 1 2 3; do sleep 1; printf 'piece %s\r\n' "$i"; done; printf '.\r\nQUIT\r\n' ) | \
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" timeout 30 "$QP" > "$OUT" 2> "$ERR" || true
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  [ "$(queued)" -eq 1 ]
  grep -qx 'piece 3' "$FAKEQ_DIR/1.msg"
}

@test "a pause in DATA longer than timeoutsmtpd: 451 4.4.2 that long after the last piece, nothing queued" {
  echo 2 > "$CFG/timeoutsmtpd"
  start=$(date +%s%N)
  # pieces at 1 and 2 s, then silence: cut off at about 4 s, not at 2
  # (the time is taken when qpsmtpd ends, not when the pipeline does)
  ( envelope; printf 'Subject: slow\r\n\r\n'; for i in 1 2; do sleep 1; printf 'x\r\n'; done; sleep 3; printf '.\r\n' ) | \
    { env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" timeout 30 "$QP" > "$OUT" 2> "$ERR" || true
      date +%s%N > "$BATS_TEST_TMPDIR/end"; }
  end=$(cat "$BATS_TEST_TMPDIR/end")
  assert_equal "$(codes)" "220 250 250 250 354 451"
  grep -q '^451 4.4.2 Timeout during DATA' "$OUT"
  grep -q 'timeout during DATA; nothing queued' "$ERR"
  ms=$(( (end - start) / 1000000 ))
  [ "$ms" -ge 3500 ] && [ "$ms" -le 5500 ]
  nothing_queued
}

@test "a trickler below data_min_rate is cut off after data_rate_grace: 451 4.4.2, the rate logged, nothing queued" {
  echo 10 > "$CFG/timeoutsmtpd"
  echo 100 > "$CFG/data_min_rate"
  echo 1 > "$CFG/data_rate_grace"
  start=$(date +%s%N)
  # a byte every 0.3 s (about 3 bytes/s), for 6 s at most, then the end
  ( envelope; for i in $(seq 20); do printf 'x'; sleep 0.3; done; printf '\r\n.\r\nQUIT\r\n' ) | \
    { env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" timeout 30 "$QP" > "$OUT" 2> "$ERR" || true
      date +%s%N > "$BATS_TEST_TMPDIR/end"; }
  end=$(cat "$BATS_TEST_TMPDIR/end")
  assert_equal "$(codes)" "220 250 250 250 354 451"
  grep -q '^451 4.4.2 Data rate too low' "$OUT"
  grep -Eq 'DATA too slow: [0-9]+ bytes in [0-9]+ ms \([0-9]+ bytes/s\), below data_min_rate 100 bytes/s after data_rate_grace 1 s; nothing queued' "$ERR"
  # cut off at the grace plus what its few bytes bought, not at timeoutsmtpd
  ms=$(( (end - start) / 1000000 ))
  [ "$ms" -ge 900 ] && [ "$ms" -le 4000 ]
  nothing_queued
}

@test "data_min_rate 0 turns the rate off: pieces for longer than timeoutsmtpd and the grace are queued" {
  echo 1 > "$CFG/timeoutsmtpd"
  echo 0 > "$CFG/data_min_rate"
  echo 0 > "$CFG/data_rate_grace"
  ( envelope; printf 'Subject: slow\r\n\r\n'; for i in 1 2 3 4 5; do sleep 0.5; printf '%s' "$i"; done; printf '\r\n.\r\nQUIT\r\n' ) | \
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" timeout 30 "$QP" > "$OUT" 2> "$ERR" || true
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  grep -qx '12345' "$FAKEQ_DIR/1.msg"
}

@test "data_min_rate and data_rate_grace that do not parse are 421 at connect naming the file and line" {
  for f in data_min_rate data_rate_grace; do
    for v in fast -1 1.5 99999999999999999999 '500 30'; do
      rm -f "$CFG/data_min_rate" "$CFG/data_rate_grace" "$FAKEQ_DIR"/*
      echo "$v" > "$CFG/$f"
      { envelope; printf 'Subject: x\r\n\r\nx\r\n.\r\nQUIT\r\n'; } > "$IN"
      smtp "$QP"
      assert_equal "$(codes)" "421"
      grep -q '^421 4.3.0 unable to read controls' "$OUT"
      grep -q "control file $CFG/$f line 1: " "$ERR"
      [ "$RC" -eq 111 ]
      nothing_queued
    done
  done
  echo 86401 > "$CFG/data_rate_grace"
  smtp "$QP"
  assert_equal "$(codes)" "421"
}

@test "a big message spools to disk and arrives complete" {
  echo 1000 > "$CFG/size_threshold"
  mkdir -p "$BATS_TEST_TMPDIR/spool"
  echo "$BATS_TEST_TMPDIR/spool" > "$CFG/spool_dir"
  { envelope; printf 'Subject: big\r\n\r\n'; seq 1 20000 | awk '{ printf "line %d of the body\r\n", $1 }'; printf '.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  [ "$(grep -c '^line ' "$FAKEQ_DIR/1.msg")" -eq 20000 ]
  tail -1 "$FAKEQ_DIR/1.msg" | grep -qx 'line 20000 of the body'
  # the spool file is unlinked at once: nothing is left
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/spool")" ]
}

@test "chunked delivery: any split of the input queues exactly the unstuffed message" {
  # random lines (stuffed dots, empty lines, 8-bit, up to 998 octets) written
  # in random pieces with pauses, so that every state of the DATA reader
  # meets a chunk boundary; the queued body must equal a reference decoding
  echo 3000 > "$CFG/size_threshold"
  mkdir -p "$BATS_TEST_TMPDIR/spool"
  echo "$BATS_TEST_TMPDIR/spool" > "$CFG/spool_dir"
  run timeout 60 python3 - "$QP" "$CFG" "$FAKEQ" "$FAKEQ_DIR" <<'PY'
import os, random, subprocess, sys, time
qp, cfg, fakeq, qdir = sys.argv[1:]
rnd = random.Random(5321)
for trial in range(3):
    lines = [b"Subject: chunks %d" % trial, b""]
    for _ in range(400):
        kind = rnd.random()
        if kind < 0.15: l = b"." * rnd.randint(1, 3) + b"x" * rnd.randint(0, 5)
        elif kind < 0.25: l = b""
        elif kind < 0.3: l = bytes(rnd.randint(128, 255) for _ in range(rnd.randint(1, 40)))
        else: l = bytes(rnd.choice(b"abc .-\t") for _ in range(rnd.randint(0, rnd.choice([20, 80, 997]))))
        lines.append(l)
    wire = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    want = b"".join(l + b"\n" for l in lines)
    sess = (b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
            + wire + b".\r\nQUIT\r\n")
    d = os.path.join(qdir, str(trial)); os.mkdir(d)
    env = {"PATH": "/usr/bin:/bin", "TCPREMOTEIP": "192.0.2.1", "TCPLOCALIP": "192.0.2.2",
           "QPSMTPD_CONFIG": cfg, "QMAILQUEUE": fakeq, "FAKEQ_DIR": d}
    if os.getuid() == 0: import pwd; pw = pwd.getpwnam("nobody"); env.update(UID=str(pw.pw_uid), GID=str(pw.pw_gid))
    p = subprocess.Popen([qp], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    i = 0
    while i < len(sess):
        n = rnd.choice([1, 2, 3, 7, 64, 500, 4096])
        p.stdin.write(sess[i:i + n]); p.stdin.flush(); i += n
        if rnd.random() < 0.05: time.sleep(0.002)
    p.stdin.close()
    out = p.stdout.read(); p.wait(timeout=30)
    codes = [l[:3] for l in out.split(b"\r\n") if len(l) > 3 and l[3:4] == b" "]
    if codes != [b"220", b"250", b"250", b"250", b"354", b"250", b"221"]:
        sys.exit("trial %d: replies %r" % (trial, codes))
    got = open(os.path.join(d, "1.msg"), "rb").read()
    body = got[got.index(b"Subject: chunks"):]
    if body != want:
        k = next(j for j in range(min(len(body), len(want))) if body[j] != want[j]) if body[:len(want)] != want[:len(body)] else min(len(body), len(want))
        sys.exit("trial %d: queued message differs at byte %d" % (trial, k))
print("ok")
PY
  assert_success
  assert_output ok
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/spool")" ]
}
