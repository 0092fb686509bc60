#!/usr/bin/env bats
# Integration: qpsmtpd under tcpserver on 127.0.0.1, spoken to by real
# clients (swaks, Python's smtplib, raw sockets); the xinetd case (the
# client's socket on fds 0, 1 and 2); the deployment scripts run and log/run.
# Every server is started on a free port of 127.0.0.1 and killed by its pid.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

setup() {
  mkcfg
  QP=$(default_chain)
  SRVLOG=$BATS_TEST_TMPDIR/server.log
  SRVPID=
}

teardown() {
  stop_server
  if [ -f "$BATS_TEST_TMPDIR/svcdir" ]; then rm -rf "$(cat "$BATS_TEST_TMPDIR/svcdir")"; fi
}

# the envelope of stored message N, NULs shown as |
env_of() {
  tr '\0' '|' < "$FAKEQ_DIR/$1.env"
}

@test "swaks through tcpserver: 250, queued with the right envelope, QUIT says goodbye" {
  start_server "$QP"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example \
    --from alice@sender.example --to bob@example.com --body 'hello from swaks'
  assert_success
  assert_output --regexp '<-  250 2\.0\.0 Queued!'
  assert_output --partial '<-  221 2.0.0 test.example closing connection. Have a wonderful day.'
  [ "$(queued)" -eq 1 ]
  [ "$(env_of 1)" = 'Falice@sender.example|Tbob@example.com||' ]
  grep -q '^hello from swaks$' "$FAKEQ_DIR/1.msg"
}

@test "under tcpserver -H the client is [127.0.0.1] in the log, the reply and the Received header" {
  start_server "$QP"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --partial '<-  250-test.example Hi [127.0.0.1] [127.0.0.1]'
  run head -2 "$FAKEQ_DIR/1.msg"
  assert_line --index 0 'Received: from [127.0.0.1] (HELO client.example) (127.0.0.1)'
  assert_line --index 1 --regexp $'^\tby test\\.example \\(qpsmtpd/[0-9.]+\\) with ESMTP; [A-Z][a-z][a-z], [0-9]{2} [A-Z][a-z][a-z] [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \\+0000$'
  grep -Eq '^[0-9]+ notice Connection from \[127\.0\.0\.1\] \[127\.0\.0\.1\]$' "$SRVLOG"
}

@test "Python smtplib: EHLO features, sendmail with 8BITMIME to two recipients, dot-unstuffed" {
  start_server "$QP"
  run timeout 20 python3 - "$PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
s.ehlo()
print("features:", " ".join(sorted(s.esmtp_features)))
msg = ("Subject: smtplib\r\n\r\ncaf\u00e9 8-bit body\r\n.leading dot\r\nlast line\r\n").encode()
refused = s.sendmail("alice@sender.example", ["bob@example.com", "carol@example.com"], msg,
                     mail_options=["BODY=8BITMIME"])
print("refused:", refused)
code, text = s.quit()
print("quit:", code)
EOF
  assert_success
  assert_line --regexp '^features: .*\b8bitmime\b'
  assert_line --regexp '^features: .*\benhancedstatuscodes\b'
  assert_line --regexp '^features: .*\bpipelining\b'
  assert_line 'refused: {}'
  assert_line 'quit: 221'
  [ "$(queued)" -eq 1 ]
  [ "$(env_of 1)" = 'Falice@sender.example|Tbob@example.com|Tcarol@example.com||' ]
  grep -q $'^caf\xc3\xa9 8-bit body$' "$FAKEQ_DIR/1.msg"
  grep -q '^\.leading dot$' "$FAKEQ_DIR/1.msg"
  run tail -1 "$FAKEQ_DIR/1.msg"
  assert_output 'last line'
}

@test "swaks --pipeline: MAIL, RCPT, RCPT and DATA in one write, message queued" {
  start_server "$QP"
  run timeout 20 swaks --pipeline --server "127.0.0.1:$PORT" --helo client.example \
    --from alice@sender.example --to bob@example.com,carol@example.com
  assert_success
  # swaks shows a pipelined group as its commands, then their replies
  run tr '\n' '~' <<< "$output"
  assert_output --regexp ' -> MAIL FROM:<alice@sender\.example>~ -> RCPT TO:<bob@example\.com>~ -> RCPT TO:<carol@example\.com>~ -> DATA~<-  250 2\.1\.0 [^~]*~<-  250 2\.1\.5 [^~]*~<-  250 2\.1\.5 [^~]*~<-  354 '
  assert_output --regexp '<-  250 2\.0\.0 Queued!'
  [ "$(queued)" -eq 1 ]
  [ "$(env_of 1)" = 'Falice@sender.example|Tbob@example.com|Tcarol@example.com||' ]
}

@test "25 concurrent sessions are all queued, each with its own envelope" {
  start_server "$QP"
  run timeout 40 python3 - "$PORT" <<'EOF'
import smtplib, sys, threading
port = int(sys.argv[1])
n = 25
barrier = threading.Barrier(n, timeout=20)
results = [None] * n
def one(i):
    try:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="client%d.example" % i, timeout=20)
        s.ehlo()
        barrier.wait()          # all 25 sessions are open at once
        msg = "Subject: message %d\r\n\r\nbody %d\r\n" % (i, i)
        results[i] = s.sendmail("sender%d@sender.example" % i, ["rcpt%d@example.com" % i], msg)
        s.quit()
    except Exception as e:
        results[i] = repr(e)
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
bad = [(i, r) for i, r in enumerate(results) if r != {}]
print("failed:", bad)
EOF
  assert_success
  assert_output 'failed: []'
  # tcpserver counted 25 children at once
  grep -q 'tcpserver: status: 25/40' "$SRVLOG"
  [ "$(queued)" -eq 25 ]
  local f i seen=""
  for f in "$FAKEQ_DIR"/*.env; do
    i=$(tr '\0' '\n' < "$f" | sed -n 's/^Fsender\([0-9]*\)@sender\.example$/\1/p')
    [ -n "$i" ]
    [ "$(tr '\0' '|' < "$f")" = "Fsender$i@sender.example|Trcpt$i@example.com||" ]
    grep -qx "Subject: message $i" "${f%.env}.msg"
    grep -qx "body $i" "${f%.env}.msg"
    seen="$seen $i"
  done
  [ "$(tr ' ' '\n' <<< "$seen" | sed '/^$/d' | sort -n | paste -sd' ')" = "$(seq 0 24 | paste -sd' ')" ]
}

@test "a client that disconnects in the middle of DATA gets nothing queued" {
  start_server "$QP"
  run timeout 20 python3 - "$PORT" <<'EOF'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = c.makefile("rb")
def reply():
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            return line.decode().rstrip()
print(reply())
for cmd in [b"EHLO client.example", b"MAIL FROM:<alice@sender.example>",
            b"RCPT TO:<bob@example.com>", b"DATA"]:
    c.sendall(cmd + b"\r\n")
    print(reply())
c.sendall(b"Subject: half\r\n\r\nfirst line\r\n" + b"x" * 50000 + b"\r\nsecond li")
c.close()
EOF
  assert_success
  assert_line --index 4 '354 go ahead'
  wait_sessions 1
  # qmail-queue, started at DATA, saw no envelope and queued nothing
  nothing_queued
}

# what a log line looks like: "pid level ..."
LOGLINE='^[0-9]+ (emerg|alert|crit|error|warn|notice|info|debug) '

# xinetd: the socket is fds 0, 1 and 2 and no TCP* variable is set
xinetd_session() {
  timeout 20 python3 - "$1" "$2" "$CFG" "$FAKEQ" "$FAKEQ_DIR" <<'EOF'
import os, socket, subprocess, sys
kind, qp, cfg, fakeq, fakeq_dir = sys.argv[1:]
if kind == "tcp":
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname(), timeout=10)
    srv, _ = ls.accept()
    ls.close()
else:
    c, srv = socket.socketpair()
    c.settimeout(10)
env = {"PATH": "/usr/bin:/bin", "QPSMTPD_CONFIG": cfg, "QMAILQUEUE": fakeq, "FAKEQ_DIR": fakeq_dir}
if os.getuid() == 0: import pwd; pw = pwd.getpwnam("nobody"); env.update(UID=str(pw.pw_uid), GID=str(pw.pw_gid))
# away from the checkout, whose ./config must not be consulted
p = subprocess.Popen([qp], stdin=srv, stdout=srv, stderr=srv, env=env, close_fds=True,
                     cwd=os.path.dirname(cfg))
srv.close()
got = b""
f = c.makefile("rb")
def reply():
    global got
    while True:
        line = f.readline()
        got += line
        if not line or line[3:4] != b"-":
            return
reply()
for cmd in [b"EHLO client.example", b"MAIL FROM:<alice@sender.example>",
            b"RCPT TO:<bob@example.com>", b"DATA", b"Subject: xinetd\r\n\r\nbody\r\n.", b"QUIT"]:
    c.sendall(cmd + b"\r\n")
    reply()
got += f.read()          # anything after QUIT, up to the close
sys.stdout.write(got.decode("ascii", "replace").replace("\r\n", "\n"))
sys.stdout.write("exit %d\n" % p.wait(timeout=10))
EOF
}

@test "xinetd: with the socket on fds 0, 1 and 2, no log reaches the client and the peer comes from getpeername" {
  echo 7 > "$CFG/loglevel"
  run xinetd_session tcp "$QP"
  assert_success
  # the client saw exactly the replies, though loglevel 7 logs every command
  [ "${#lines[@]}" -eq 14 ]   # EHLO has 7 lines with SMTPUTF8, CHUNKING and SIZE
  refute_line --regexp "$LOGLINE"
  assert_line --index 1 '250-test.example Hi [127.0.0.1] [127.0.0.1]'
  assert_line --regexp '^250 2\.0\.0 Queued!'
  assert_line '221 2.0.0 test.example closing connection. Have a wonderful day.'
  assert_line 'exit 0'
  [ "$(queued)" -eq 1 ]
  run head -1 "$FAKEQ_DIR/1.msg"
  assert_output 'Received: from [127.0.0.1] (HELO client.example) (127.0.0.1)'
}

@test "xinetd: a queue program writing to stderr never reaches the client (its fd 2 is /dev/null)" {
  # fd 2 is the client's socket here: a child that inherited it would put
  # its complaints on the SMTP connection, ahead of the 250
  w=$BATS_TEST_TMPDIR/qq-stderr
  printf '#!/bin/sh\necho "QQ-STDERR-LEAK from the queue wrapper" >&2\nexec "%s"\n' "$FAKEQ" > "$w"
  chmod 755 "$w"
  FAKEQ=$w run xinetd_session tcp "$QP"
  assert_success
  refute_output --partial 'QQ-STDERR-LEAK'
  [ "${#lines[@]}" -eq 14 ]   # EHLO has 7 lines with SMTPUTF8, CHUNKING and SIZE
  assert_line --index 11 --regexp '^250 2\.0\.0 Queued!'
  assert_line 'exit 0'
  [ "$(queued)" -eq 1 ]
}

@test "xinetd on a non-TCP socket: the peer is unknown, the session still works and stays quiet" {
  echo 7 > "$CFG/loglevel"
  run xinetd_session unix "$QP"
  assert_success
  assert_line --index 1 '250-test.example Hi [unknown] [unknown]'
  assert_line --regexp '^250 2\.0\.0 Queued!'
  [ "${#lines[@]}" -eq 14 ]   # EHLO has 7 lines with SMTPUTF8, CHUNKING and SIZE
  refute_line --regexp "$LOGLINE"
  [ "$(queued)" -eq 1 ]
}

@test "xinetd/qpsmtpd under a real xinetd: the entry works, the session runs as its user" {
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "ASan needs more address space than the entry's rlimit_as"
  command -v xinetd > /dev/null || skip "xinetd is not installed"
  [ "$(id -u)" -eq 0 ] || skip "xinetd changes user: needs root"
  local svc user=qpsmtpd group=qpsmtpd i ok=
  id qpsmtpd > /dev/null 2>&1 || { user=nobody; group=nogroup; }
  svc=$(mktemp -d /tmp/qpsmtpd-xinetd.XXXXXX)
  echo "$svc" > "$BATS_TEST_TMPDIR/svcdir"
  chmod 755 "$svc"
  mkdir -p "$svc/cfg" "$svc/q"
  chmod 777 "$svc/q"
  cp "$CFG/me" "$CFG/rcpthosts" "$svc/cfg/"
  echo 7 > "$svc/cfg/loglevel"
  cp "$QP" "$svc/qpsmtpd"
  cp "$FAKEQ" "$svc/fake-qmail-queue"
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    # the shipped entry, as an unlisted service on a free port of 127.0.0.1
    { printf 'defaults\n{\n}\n'
      sed -e "s|^service smtp|service qpsmtpd-test|" \
          -e "s|^{|{\n    type = UNLISTED\n    port = $PORT\n    bind = 127.0.0.1|" \
          -e "s|^\( *user *=\).*|\1 $user|" -e "s|^\( *group *=\).*|\1 $group|" \
          -e "s|/usr/local/bin/qpsmtpd|$svc/qpsmtpd|" \
          -e "s|QPSMTPD_CONFIG=/etc/qpsmtpd|QPSMTPD_CONFIG=$svc/cfg QMAILQUEUE=$svc/fake-qmail-queue FAKEQ_DIR=$svc/q|" \
          -e "s|^\( *log_type *=\).*|\1 FILE $svc/xinetd.log|" "$ROOT/xinetd/qpsmtpd"
    } > "$svc/xinetd.conf"
    xinetd -f "$svc/xinetd.conf" -dontfork -pidfile "$svc/pid" > "$SRVLOG" 2>&1 3>&- &
    SRVPID=$!
    for i in $(seq 100); do
      grep -q "^ *[0-9]*: 0100007F:$(printf %04X "$PORT") 00000000:0000 0A" /proc/net/tcp && { ok=1; break; }
      kill -0 "$SRVPID" 2> /dev/null || break
      sleep 0.05
    done
    [ -n "$ok" ] && break
    stop_server
  done
  [ -n "$ok" ] || { cat "$SRVLOG" >&2; false; }
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --partial '<-  250-test.example Hi [127.0.0.1] [127.0.0.1]'
  assert_output --regexp '<-  250 2\.0\.0 Queued!'
  # loglevel 7, yet only replies reached the client
  refute_output --regexp "<-  $LOGLINE"
  [ "$(stat -c %U "$svc/q/1.msg")" = "$user" ]
  [ "$(tr '\0' '|' < "$svc/q/1.env")" = 'Falice@sender.example|Tbob@example.com||' ]
}

@test "dev/start's set-up: queue/maildir ./Maildir under tcpserver, swaks, the message lands in Maildir/new" {
  local qpm dir=$BATS_TEST_TMPDIR/checkout
  qpm=$(sed 's|^queue/qmail-queue\([[:space:]].*\)\{0,1\}$|queue/maildir ./Maildir|' "$ROOT/control/plugins" \
        | build_chain integration-maildir)
  run "$qpm" -V
  assert_line 'queue/maildir ./Maildir'
  refute_line --regexp '^queue/qmail-queue'
  mkdir -p "$dir/Maildir/tmp" "$dir/Maildir/new" "$dir/Maildir/cur"
  SRVDIR=$dir start_server "$qpm"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example \
    --from alice@sender.example --to someone@example.com --body 'to the Maildir'
  assert_success
  assert_output --regexp '<-  250 2\.0\.0 Queued!'
  run ls "$dir/Maildir/new"
  [ "${#lines[@]}" -eq 1 ]
  local m=$dir/Maildir/new/${lines[0]}
  [ -z "$(ls "$dir/Maildir/tmp")" ]
  grep -qx 'Return-Path: <alice@sender.example>' "$m"
  grep -qx 'Delivered-To: someone@example.com' "$m"
  grep -qx 'Received: from \[127.0.0.1\] (HELO client.example) (127.0.0.1)' "$m"
  grep -qx 'to the Maildir' "$m"
  # nothing went to qmail-queue
  [ "$(queued)" -eq 0 ]
}

@test "run: tcpserver on config/IP and config/PORT with config/tcp.smtp.cdb, sessions as the unprivileged user, log on stdout" {
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "ASan needs more address space than run's memory limit"
  [ "$(id -u)" -eq 0 ] || skip "run drops privileges: needs root"
  local user=nobody
  id qpsmtpd > /dev/null 2>&1 && user=qpsmtpd
  # a service directory the unprivileged user can read
  local svc
  svc=$(mktemp -d /tmp/qpsmtpd-svc.XXXXXX)
  echo "$svc" > "$BATS_TEST_TMPDIR/svcdir"
  chmod 755 "$svc"
  cp "$ROOT/run" "$svc/"
  cp "$QP" "$svc/qpsmtpd"
  cp "$FAKEQ" "$svc/fake-qmail-queue"
  mkdir -p "$svc/config" "$svc/q"
  chmod 777 "$svc/q"
  cp "$CFG/me" "$CFG/rcpthosts" "$CFG/loglevel" "$svc/config/"
  echo 127.0.0.1 > "$svc/config/IP"
  # tcprules make 127.0.0.1 a relay client
  printf '127.:allow,RELAYCLIENT=""\n:allow\n' > "$svc/config/tcp.smtp"
  tcprules "$svc/config/tcp.smtp.cdb" "$svc/config/tcp.smtp.tmp" < "$svc/config/tcp.smtp"
  local i ok=
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    echo "$PORT" > "$svc/config/PORT"
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin QMAILQUEUE="$svc/fake-qmail-queue" FAKEQ_DIR="$svc/q" \
      "$svc/run" > "$SRVLOG" 2>&1 3>&- &
    SRVPID=$!
    for i in $(seq 200); do
      grep -q 'tcpserver: status: 0/' "$SRVLOG" && { ok=1; break; }
      kill -0 "$SRVPID" 2> /dev/null || break
      sleep 0.05
    done
    [ -n "$ok" ] && break
    stop_server
  done
  [ -n "$ok" ]
  # softlimit and tcpserver replaced the shell: the pid is tcpserver's
  run cat "/proc/$SRVPID/comm"
  assert_output tcpserver
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example \
    --from alice@sender.example --to bob@elsewhere.example
  assert_success
  assert_output --partial '<-  250 2.1.5 <bob@elsewhere.example>, recipient ok'
  assert_output --regexp '<-  250 2\.0\.0 Queued!'
  # the fake qmail-queue ran as the session's user
  [ "$(stat -c %U "$svc/q/1.msg")" = "$user" ]
  grep -q '^tcpserver: status: 1/40$' "$SRVLOG"
  grep -Eq '^[0-9]+ notice Connection from \[127\.0\.0\.1\]' "$SRVLOG"
}

# the listen queue of the LISTEN socket on 127.0.0.1:$1 (ss shows it as
# Send-Q)
listen_backlog() {
  ss -ltnH "sport = :$1" | awk '$4 == "127.0.0.1:'"$1"'" { print $3 }'
}

# starts $1/run on 127.0.0.1 and a free port, as a supervisor would
start_run() {
  local svc=$1 i ok=
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    echo "$PORT" > "$svc/config/PORT"
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" \
      "$svc/run" > "$SRVLOG" 2>&1 3>&- &
    SRVPID=$!
    for i in $(seq 200); do
      grep -q 'tcpserver: status: 0/' "$SRVLOG" && { ok=1; break; }
      kill -0 "$SRVPID" 2> /dev/null || break
      sleep 0.05
    done
    [ -n "$ok" ] && return 0
    stop_server
  done
  echo "run did not start: $(cat "$SRVLOG")" >&2
  return 1
}

@test "run: tcpserver's listen queue is config/backlog, 128 without it; a bad value is refused" {
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "ASan needs more address space than run's memory limit"
  [ "$(id -u)" -eq 0 ] || skip "run drops privileges: needs root"
  local svc
  svc=$(mktemp -d /tmp/qpsmtpd-svc.XXXXXX)
  echo "$svc" > "$BATS_TEST_TMPDIR/svcdir"
  chmod 755 "$svc"
  cp "$ROOT/run" "$svc/"
  cp "$QP" "$svc/qpsmtpd"
  mkdir -p "$svc/config"
  cp "$CFG/me" "$CFG/rcpthosts" "$svc/config/"
  echo 127.0.0.1 > "$svc/config/IP"
  start_run "$svc"
  [ "$(listen_backlog "$PORT")" = 128 ]
  run timeout 20 swaks --server "127.0.0.1:$PORT" --quit-after EHLO
  assert_success
  stop_server
  echo 300 > "$svc/config/backlog"
  start_run "$svc"
  [ "$(listen_backlog "$PORT")" = 300 ]
  stop_server
  [ -z "$(listen_backlog "$PORT")" ]
  # a bad value: run says so and exits 111 after its 5 s pause (asked of a
  # sleep that records its argument instead of waiting) rather than start
  # with another queue
  echo lots > "$svc/config/backlog"
  mkdir -p "$BATS_TEST_TMPDIR/shim"
  printf '#!/bin/sh\necho "$*" >> "%s/slept"\n' "$BATS_TEST_TMPDIR" > "$BATS_TEST_TMPDIR/shim/sleep"
  chmod 755 "$BATS_TEST_TMPDIR/shim/sleep"
  run timeout 20 env -i PATH="$BATS_TEST_TMPDIR/shim:/usr/bin:/bin" "$svc/run"
  [ "$status" -eq 111 ]
  assert_output "run: config/backlog must be a positive number, not 'lots'"
  [ "$(cat "$BATS_TEST_TMPDIR/slept")" = 5 ]
}

@test "log/run: multilog writes TAI64N-stamped lines to log/main/current" {
  local svc=$BATS_TEST_TMPDIR/svc
  mkdir -p "$svc/log"
  cp "$ROOT/log/run" "$svc/log/run"
  printf '123 notice Connection from [192.0.2.1] [192.0.2.1]\n123 info 220 hello\n' \
    | env -i "${QPIDS[@]}" PATH=/usr/bin:/bin QPLOGUSER=no-such-user-here timeout 10 "$svc/log/run"
  run cat "$svc/log/main/current"
  assert_line --index 0 --regexp '^@4000[0-9a-f]{20} 123 notice Connection from \[192\.0\.2\.1\] \[192\.0\.2\.1\]$'
  assert_line --index 1 --regexp '^@4000[0-9a-f]{20} 123 info 220 hello$'
}
