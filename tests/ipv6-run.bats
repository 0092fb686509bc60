#!/usr/bin/env bats
# The service script run on IPv6, with the tcpserver of Debian's
# ucspi-tcp-ipv6. That package replaces ucspi-tcp, which the other tests
# use, so tests/run keeps its .deb in tests/bin/debs and this file unpacks
# it into its own directory; run is pointed at its tcpserver with
# config/tcpserver or TCPSERVER, as a site keeping both would. (ipv6.bats
# serves ::1 through xinetd.)
#
# The network tests run in a private network namespace whose loopback also
# holds addresses of 2001:db8::/32, so that clients other than ::1 (which
# always relays) connect to run's tcpserver on ::1.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

setup_file() {
  unpack_deb ucspi-tcp-ipv6 "$BATS_FILE_TMPDIR/ucspi"
  chmod a+rx "$BATS_FILE_TMPDIR"
}

setup() {
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "ASan needs more address space than run's memory limit"
  [ "$(id -u)" -eq 0 ] || skip "run drops privileges and the namespace needs root: run as root"
  mkcfg
  TCPSERVER6=$BATS_FILE_TMPDIR/ucspi/usr/bin/tcpserver
  TCPRULES6=$BATS_FILE_TMPDIR/ucspi/usr/bin/tcprules
  QP=$(printf 'relay\nrcpt_ok\nqueue/qmail-queue\n' | build_chain ipv6-run)
  SVC=$BATS_TEST_TMPDIR/svc
  mkdir -p "$SVC/config"
  cp "$ROOT/run" "$QP" "$SVC/"
  cp "$CFG/me" "$CFG/rcpthosts" "$CFG/loglevel" "$SVC/config/"
  echo ::1 > "$SVC/config/IP"
  SRVPID=
  NSPID=
  NS=()
  SRVLOG=$BATS_TEST_TMPDIR/server.log
}

teardown() {
  stop_server
  if [ -n "${NSPID:-}" ]; then kill "$NSPID" 2> /dev/null || true; wait "$NSPID" 2> /dev/null || true; fi
}

# a private network namespace (held by a sleep, NSPID): loopback up, with
# ::1 and the addresses given; NS=(nsenter ...) runs a command in it
netns() {
  local a
  unshare -n sleep 600 &
  NSPID=$!
  NS=(nsenter -t "$NSPID" -n)
  for _ in $(seq 50); do [ "$(readlink "/proc/$NSPID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.02; done
  "${NS[@]}" ip link set lo up
  for a in "$@"; do "${NS[@]}" ip -6 addr add "$a/128" dev lo nodad; done
}

# start_run [VAR=value...]: $SVC/run as a supervisor would start it (in
# the namespace when there is one), on a free port written to config/PORT
start_run() {
  listen_retry 'tcpserver: status: 0/' "$SVC/config/PORT" ${NS[@]+"${NS[@]}"} env -i "${QPIDS[@]}" PATH=/usr/bin:/bin \
    QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" "$@" "$SVC/run"
}

# smtp_from SOURCE RCPT...: a session from SOURCE to [::1]:$PORT with
# Python's smtplib (in the namespace): the code of the connection, then of
# MAIL and of each RCPT, then DATA's ("-" for one not sent)
smtp_from() {
  ${NS[@]+"${NS[@]}"} timeout 20 python3 -c '
import smtplib, sys
src, port, rcpts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
try:
    s = smtplib.SMTP(local_hostname="client.example", timeout=15, source_address=(src, 0))
    code = s.connect("::1", port)[0]
except (smtplib.SMTPServerDisconnected, ConnectionError) as e:
    print("closed"); sys.exit(0)
s.ehlo()
out = [code, s.mail("alice@sender.example")[0]]
ok = 0
for r in rcpts:
    c = s.rcpt(r)[0]; out.append(c); ok += c == 250
out.append(s.data(b"Subject: v6\r\n\r\nover IPv6\r\n")[0] if ok else "-")
s.quit()
print(*out)' "$1" "$PORT" "${@:2}"
}

# the log lines of the session from ADDR
session_of() {
  local pid
  pid=$(sed -n "s/^\([0-9]*\) notice Connection from \[$1\] .*/\1/p" "$SRVLOG")
  [ -n "$pid" ] && grep "^$pid " "$SRVLOG"
}

@test "run with TCPSERVER=ucspi-tcp-ipv6's tcpserver serves config/IP ::1: swaks -6 delivers, TCPREMOTEIP is ::1 in the log and Received" {
  # the environment wins over config/tcpserver
  echo /nonexistent/tcpserver > "$SVC/config/tcpserver"
  start_run TCPSERVER="$TCPSERVER6"
  # softlimit and tcpserver replaced the shell: the pid is that tcpserver's
  assert_equal "$(readlink "/proc/$SRVPID/exe")" "$TCPSERVER6"
  run ! grep -q 'needs the tcpserver of ucspi-tcp-ipv6' "$SRVLOG"
  run ss -ltnH "sport = :$PORT"
  assert_output --partial "[::1]:$PORT"
  run timeout 20 swaks -6 --server ::1 --port "$PORT" --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --partial '<-  250-test.example Hi [::1] [::1]'
  wait_sessions 1
  grep -Eq "^tcpserver: ok [0-9]+ 0:::1:$PORT :::1::[0-9]+$" "$SRVLOG"
  grep -Eq '^[0-9]+ notice Connection from \[::1\] \[::1\]' "$SRVLOG"
  assert_equal "$(queued)" 1
  run grep -A1 '^Received: ' "$FAKEQ_DIR/1.msg"
  assert_line --index 0 'Received: from [::1] (HELO client.example) (::1)'
  # run dropped privileges: the session (and qmail-queue) ran as its user
  local user=nobody
  id qpsmtpd > /dev/null 2>&1 && user=qpsmtpd
  assert_equal "$(stat -c %U "$FAKEQ_DIR/1.msg")" "$user"
}

@test "run with an IPv6 config/IP and ucspi-tcp's tcpserver says it needs ucspi-tcp-ipv6's, and how to name it" {
  run timeout 20 env -i PATH=/usr/bin:/bin "$SVC/run"
  assert_failure
  assert_line 'run: config/IP is the IPv6 address ::1: this needs the tcpserver of ucspi-tcp-ipv6 (apt-get install ucspi-tcp-ipv6, or its path in config/tcpserver)'
  assert_line --partial 'tcpserver: fatal: '
}

@test "over IPv6 from other addresses: relayclients with an IPv6 network, morerelayclients.cdb and tcp.smtp.cdb made by ucspi-tcp-ipv6's tcprules" {
  netns 2001:db8:1::5 2001:db8:2::5 2001:db8:3::5 2001:db8:4::5 2001:db8:5::5
  # the relay plugin: a CIDR block in relayclients, a tcprules prefix in
  # morerelayclients.cdb
  echo 2001:db8:1::/48 > "$SVC/config/relayclients"
  echo '2001:db8:5::allow' | "$TCPRULES6" "$SVC/config/morerelayclients.cdb" "$SVC/config/more.tmp"
  # tcpserver's rules: RELAYCLIENT for one network, another refused
  printf '%s\n' '2001:db8:3::allow,RELAYCLIENT=""' '2001:db8:4::deny' ':allow' |
    "$TCPRULES6" "$SVC/config/tcp.smtp.cdb" "$SVC/config/tcp.smtp.tmp"
  # the site's way: the program's path in config/tcpserver
  echo "$TCPSERVER6" > "$SVC/config/tcpserver"
  start_run
  run smtp_from 2001:db8:1::5 bob@example.com carol@elsewhere.example
  assert_output '220 250 250 250 250'
  run smtp_from 2001:db8:2::5 bob@example.com carol@elsewhere.example
  assert_output --regexp '^220 250 250 5[0-9][0-9] 250$'
  run smtp_from 2001:db8:3::5 carol@elsewhere.example
  assert_output '220 250 250 250'
  run smtp_from 2001:db8:5::5 carol@elsewhere.example
  assert_output '220 250 250 250'
  run smtp_from 2001:db8:4::5 carol@elsewhere.example
  assert_output closed
  wait_sessions 5
  # what each session saw as TCPREMOTEIP, and why it relayed
  grep -Eq '^[0-9]+ info \(connect\) relay: pass, relayclients match 2001:db8:1::/48 for 2001:db8:1::5' "$SRVLOG"
  grep -Eq '^[0-9]+ info \(connect\) relay: skip, no match for 2001:db8:2::5' "$SRVLOG"
  session_of 2001:db8:3::5 | grep -q ' info (connect) relay: pass, enabled by env$'
  grep -Eq '^[0-9]+ info \(connect\) relay: pass, morerelayclients match .* for 2001:db8:5::5' "$SRVLOG"
  grep -Eq '^tcpserver: deny [0-9]+ 0:::1:[0-9]+ :2001:db8:4::5::[0-9]+$' "$SRVLOG"
  run ! grep -q 'Connection from \[2001:db8:4::5\]' "$SRVLOG"
  # four messages, each with its client's address in Received
  assert_equal "$(queued)" 4
  local n
  for n in 1 2 3 5; do
    grep -q "^Received: from \\[2001:db8:$n::5\\] (HELO client.example) (2001:db8:$n::5)\$" "$FAKEQ_DIR"/*.msg
  done
}
