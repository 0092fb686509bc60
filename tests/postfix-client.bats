#!/usr/bin/env bats
# Postfix as the sending MTA: a private Postfix instance (tests/postfix.bash)
# relays to qpsmtpd under tcpserver, logging in with SASL PLAIN and sending
# MAIL FROM:<...> AUTH=<> (smtp_send_dummy_mail_auth), as a site's outbound
# relay or a smarthost client does. Before RFC 4954's MAIL parameter was
# accepted, Postfix got 555 for every message and bounced it.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper
load postfix

setup() {
  mkcfg
  echo 'relay@test.example:s3cret' > "$CFG/flat_auth_pw"
  echo 0 > "$CFG/auth_failure_delay"
  QP=$(build_chain pf-client <<'EOF'
auth/auth_flat_file
auth/authdeny
rcpt_ok
queue/qmail-queue
EOF
)
  SRVPID=
  start_server "$QP"
  PF=$BATS_TEST_TMPDIR/pf
  pf_setup "$PF"
  echo 'smtp      unix  -       -       n       -       -       smtp' >> "$PF/etc/master.cf"
  # everything goes to qpsmtpd; no DNS (a bracketed address as relayhost)
  postconf -c "$PF/etc" -e \
    "relayhost = [127.0.0.1]:$PORT" \
    "default_transport = smtp" "relay_transport = smtp" "mydestination =" \
    "smtp_sasl_auth_enable = yes" \
    "smtp_sasl_password_maps = inline:{ [127.0.0.1]:$PORT=relay@test.example:${PFPASS:-s3cret} }" \
    "smtp_sasl_security_options = noanonymous" \
    "smtp_send_dummy_mail_auth = yes" \
    "smtp_tls_security_level = none" \
    "smtp_address_preference = ipv4" \
    "smtp_helo_name = pf.test.example"
  pf_start "$PF"
}

teardown() {
  pf_stop "$PF"
  stop_server
}

# waits (bounded) until Postfix's log says how the message went
pf_wait_log() {
  local i
  for i in $(seq 200); do
    grep -q "$1" "$PF/maillog" 2> /dev/null && return 0
    sleep 0.1
  done
  echo "no '$1' in Postfix's log after 20 s:"
  cat "$PF/maillog"
  return 1
}

send_one() {
  printf 'Subject: via postfix\n\nrelayed by a real MTA\n' |
    sendmail -C "$PF/etc" -f sender@test.example rcpt@elsewhere.example
}

@test "Postfix relays through qpsmtpd with SASL PLAIN and MAIL ... AUTH=<>: queued, status=sent" {
  send_one
  pf_wait_log 'status=sent'
  wait_sessions 1
  assert_equal "$(queued)" 1
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/1.env")" 'Fsender@test.example|Trcpt@elsewhere.example||'
  grep -q 'relayed by a real MTA' "$FAKEQ_DIR/1.msg"
  # qpsmtpd saw the parameter and logged it as the sender of an
  # authenticated client (RFC 4954 5: the empty value is kept as <>)
  grep -q 'AUTH=<> kept as auth_sender' "$SRVLOG"
  grep -q 'relay@test.example' "$SRVLOG"
  run grep -c ' 555 ' "$SRVLOG"
  assert_output 0
}

@test "Postfix with a wrong password: 535 from qpsmtpd, Postfix defers, nothing queued" {
  pf_stop "$PF"
  postconf -c "$PF/etc" -e \
    "smtp_sasl_password_maps = inline:{ [127.0.0.1]:$PORT=relay@test.example:wrong }"
  pf_start "$PF"
  send_one
  pf_wait_log 'status=deferred'
  grep -q '535 5.7.8 Authentication failed' "$PF/maillog"
  nothing_queued
}

@test "Postfix sends to a UTF-8 address (SMTPUTF8): qpsmtpd offers it, the message is queued with the address as sent" {
  # before SMTPUTF8 was offered, Postfix bounced: "SMTPUTF8 is required,
  # but was not offered by host"
  printf 'Subject: gr\303\274\303\237e\n\nk\303\266rper\n' |
    sendmail -C "$PF/etc" -f sender@test.example $'j\303\270rn@b\303\274cher.example'
  pf_wait_log 'status=sent'
  wait_sessions 1
  assert_equal "$(queued)" 1
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/1.env")" $'Fsender@test.example|Tj\303\270rn@b\303\274cher.example||'
  grep -q $'^Subject: gr\303\274\303\237e$' "$FAKEQ_DIR/1.msg"
  grep -q ' with UTF8SMTPA; ' "$FAKEQ_DIR/1.msg"
  ! grep -q 'SMTPUTF8 is required' "$PF/maillog"
}
