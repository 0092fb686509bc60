#!/usr/bin/env bats
# The SMTP engine's command table (smtp.c): STARTTLS and AUTH are core
# commands that the tls and auth plugins switch on wherever they stand in
# the plugins file; the states each command is allowed in; the long-line
# exception for AUTH.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

setup_file() {
  local d=$BATS_FILE_TMPDIR/certs
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/rsa.key" -out "$d/rsa.crt" \
    -days 2 -subj /CN=test.example 2> /dev/null
  [ ${#QPIDS[@]} -eq 0 ] || chmod a+r "$d"/*.key
}

setup() {
  mkcfg
  CERTS=$BATS_FILE_TMPDIR/certs
  SRVLOG=$BATS_TEST_TMPDIR/server.log
  SRVPID=
}

teardown() {
  stop_server
}

# count_unrecognized_commands 1 BEFORE tls: one unrecognized command closes
cuc_first_chain() {
  build_chain engine-cuc-first <<'EOF2'
count_unrecognized_commands 1
relay
rcpt_ok
queue/qmail-queue
tls
EOF2
}

@test "tls listed after count_unrecognized_commands: STARTTLS over openssl s_client works and is not counted" {
  QP=$(cuc_first_chain)
  mkdir -p "$CFG/ssl"
  cp "$CERTS/rsa.crt" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$CERTS/rsa.key" "$CFG/ssl/qpsmtpd-server.key"
  start_server "$QP"
  { printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
    printf 'DATA\r\nSubject: tls\r\n\r\nhello\r\n.\r\nQUIT\r\n'; } |
    timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -quiet -ign_eof \
      > "$BATS_TEST_TMPDIR/client.out" 2>&1
  run tr -d '\r' < "$BATS_TEST_TMPDIR/client.out"
  assert_line --partial '250 2.0.0 Queued'
  [ "$(queued)" = 1 ]
  wait_sessions 1
  grep -q 'STARTTLS: TLSv1.2' "$SRVLOG"
  run grep -c "Unrecognized command" "$SRVLOG"
  assert_output 0
}

@test "tls listed last, no certificate: STARTTLS is 454, not an unrecognized command" {
  QP=$(cuc_first_chain)
  printf 'EHLO client.example\r\nSTARTTLS\r\nNOOP\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 454 250 221"
  run grep -c "Unrecognized command" "$ERR"
  assert_output 0
}

@test "without the tls plugin STARTTLS is an unrecognized command and is counted" {
  QP=$(build_chain engine-notls <<'EOF2'
count_unrecognized_commands 1
rcpt_ok
queue/qmail-queue
EOF2
)
  printf 'EHLO client.example\r\nSTARTTLS\r\nNOOP\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 521"
  grep -q "Unrecognized command 'starttls'" "$ERR"
}

@test "AUTH exists only with an auth plugin; its line may be longer than other commands" {
  QP=$(build_chain engine-auth <<'EOF2'
count_unrecognized_commands 3
auth/auth_flat_file
rcpt_ok
queue/qmail-queue
EOF2
)
  long=$(head -c 2000 /dev/zero | tr '\0' A)
  printf 'EHLO client.example\r\nAUTH PLAIN %s\r\nNOOP %s\r\nQUIT\r\n' "$long" "$long" > "$IN"
  smtp "$QP"
  # the long AUTH line reaches AUTH (bad base64 is 501); the long NOOP does not
  assert_equal "$(codes)" "220 250 501 500 221"
  run tr -d '\r' < "$OUT"
  assert_line '500 5.5.2 Line too long'
  QP=$(build_chain engine-noauth <<'EOF2'
rcpt_ok
queue/qmail-queue
EOF2
)
  printf 'EHLO client.example\r\nAUTH PLAIN\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 500 221"
  run tr -d '\r' < "$OUT"
  assert_line '500 5.5.1 Unrecognized command'
}

@test "each command is refused outside its states with its own reply" {
  QP=$(build_chain engine-states <<'EOF2'
auth/auth_flat_file
rcpt_ok
queue/qmail-queue
EOF2
)
  printf 'RCPT TO:<bob@example.com>\r\nDATA\r\nMAIL FROM:<a@b.example>\r\nAUTH PLAIN\r\nEHLO c.example\r\nMAIL FROM:<a@b.example>\r\nDATA x\r\nAUTH PLAIN\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 503 503 503 503 250 250 503 503 221"
  run tr -d '\r' < "$OUT"
  assert_line '503 5.5.1 Use MAIL before RCPT'
  assert_line '503 5.5.1 MAIL first'
  assert_line '503 5.5.1 please say hello first ...'
  assert_line '503 5.5.1 please say EHLO first ...'
  assert_line '503 5.5.1 RCPT first'
  assert_line '503 5.5.1 AUTH is not allowed during a mail transaction'
}
