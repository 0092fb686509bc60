#!/usr/bin/env bats
# IPv6 clients on a real IPv6 socket: a private xinetd listening on ::1
# (Debian's ucspi-tcp has no IPv6; its ucspi-tcp-ipv6 replaces the package
# the other tests use), spoken to by swaks -6 and Python's smtplib. The
# session takes the addresses from the socket (getpeername), as under
# xinetd on a site.

load helper

setup() {
  mkcfg
  XPID=
}

teardown() {
  if [ -n "${XPID:-}" ]; then kill "$XPID" 2> /dev/null || true; wait "$XPID" 2> /dev/null || true; fi
}

# start_xinetd QP: xinetd on [::1]:$PORT running QP for each connection
start_xinetd() {
  local user=
  PORT=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])')
  [ "$(id -u)" -eq 0 ] && user="user = nobody"
  cat > "$BATS_TEST_TMPDIR/xinetd.conf" <<CONF
defaults
{
}
service qpsmtpd-test
{
  type        = UNLISTED
  port        = $PORT
  socket_type = stream
  protocol    = tcp
  wait        = no
  $user
  server      = $1
  env         = QPSMTPD_CONFIG=$CFG QMAILQUEUE=$FAKEQ FAKEQ_DIR=$FAKEQ_DIR
  bind        = ::1
  flags       = IPv6
}
CONF
  xinetd -dontfork -f "$BATS_TEST_TMPDIR/xinetd.conf" -pidfile "$BATS_TEST_TMPDIR/xinetd.pid" \
    > "$BATS_TEST_TMPDIR/xinetd.log" 2>&1 3>&- &
  XPID=$!
  for _ in $(seq 50); do
    python3 -c 'import socket, sys; socket.create_connection(("::1", int(sys.argv[1])), 1)' "$PORT" 2> /dev/null && return 0
    sleep 0.1
  done
  cat "$BATS_TEST_TMPDIR/xinetd.log"
  return 1
}

@test "swaks -6 to [::1]: the greeting, Received and the log name the client as ::1, and ::1 relays" {
  QP=$(printf 'relay\nrcpt_ok\nqueue/qmail-queue\n' | build_chain ipv6)
  start_xinetd "$QP"
  run timeout 20 swaks -6 --server ::1 --port "$PORT" --helo client.example \
    --from alice@sender.example --to someone@elsewhere.example
  assert_success
  assert_output --partial '<-  250-test.example Hi [::1] [::1]'
  [ "$(queued)" -eq 1 ]
  run grep '^Received: ' "$FAKEQ_DIR/1.msg"
  assert_output 'Received: from [::1] (HELO client.example) (::1)'
}

@test "over IPv6, ::1 relays as in Perl and hosts_allow refuses an IPv6 network at connect" {
  QP=$(printf 'hosts_allow\nrelay\nrcpt_ok\nqueue/qmail-queue\n' | build_chain ipv6-policy)
  start_xinetd "$QP"
  # ::1 relays always (Perl's relay plugin); rcpt_ok takes local mail
  run timeout 20 python3 -c '
import smtplib, sys
s = smtplib.SMTP("::1", int(sys.argv[1]), local_hostname="client.example", timeout=15)
s.ehlo()
print(s.mail("a@b.example")[0], s.rcpt("bob@example.com")[0], s.rcpt("x@elsewhere.example")[0])
s.quit()' "$PORT"
  assert_output '250 250 250'
  echo '::1/128 DENY go away' > "$CFG/hosts_allow"
  run timeout 20 python3 -c '
import smtplib, sys
try:
    s = smtplib.SMTP("::1", int(sys.argv[1]), local_hostname="client.example", timeout=15)
    print("connected")
except smtplib.SMTPConnectError as e:
    print(e.smtp_code)' "$PORT"
  assert_output --regexp '^5[0-9][0-9]$'
}
