#!/usr/bin/env bats
# Exim as the sending MTA: Exim sends BDAT to a server that offers CHUNKING
# (RFC 3030), which Postfix and swaks never do. Debian's exim4-daemon-light
# cannot be installed beside postfix (it removes it), so tests/run keeps its
# .deb in tests/bin/debs and this file unpacks it into its own directory.
#
# Exim runs as root with -C, a configuration written here: spool, logs and
# the retry database in the test's directory, every address routed
# (manualroute, no DNS) to qpsmtpd under tcpserver on 127.$QPT_NET.96.1.
# Debian's build looks up its user, Debian-exim, before it reads any
# configuration: each exim runs in a private mount namespace whose
# /etc/passwd and /etc/group have that user as nobody, and whose
# /etc/resolv.conf points at an address where nothing answers.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

export LC_ALL=C
NET=127.$QPT_NET.96

setup_file() {
  [ "$(id -u)" -eq 0 ] || { echo "exim-client.bats runs exim as root in a mount namespace: run it as root" >&2; return 1; }
  local d=$BATS_FILE_TMPDIR
  unpack_deb exim4-daemon-light "$d/root"
  chmod a+rx "$d"
  { cat /etc/passwd; echo "Debian-exim:x:$(id -u nobody):$(id -g nobody):Exim:/nonexistent:/usr/sbin/nologin"; } > "$d/passwd"
  { cat /etc/group; echo "Debian-exim:x:$(id -g nobody):"; } > "$d/group"
  echo "nameserver $NET.53" > "$d/resolv.conf"
  cat > "$d/exim" <<'EOF'
#!/bin/sh
# exim in a mount namespace of its own: $0 is the unpacked tree's directory
exec unshare -m --propagation private sh -c '
  mount --bind "$0/passwd" /etc/passwd && mount --bind "$0/group" /etc/group &&
  mount --bind "$0/resolv.conf" /etc/resolv.conf && exec "$0/root/usr/sbin/exim4" "$@"' "${0%/*}" "$@"
EOF
  chmod 755 "$d/exim"
  # the version and the features of the build (the SMTPUTF8 test needs I18N)
  # (with spool and log here: Exim makes the spool directory at start)
  mkdir -p "$d/spool" "$d/log"
  printf 'spool_directory = %s\nlog_file_path = %s\n' "$d/spool" "$d/log/%slog" > "$d/bv.conf"
  "$d/exim" -C "$d/bv.conf" -bV > "$d/version" 2>&1 || { cat "$d/version" >&2; return 1; }
}

setup() {
  mkcfg
  EXIM=$BATS_FILE_TMPDIR/exim
  QP=$(printf 'rcpt_ok\nqueue/qmail-queue\n' | build_chain exim-client)
  ED=$BATS_TEST_TMPDIR/exim
  mkdir -p "$ED/spool" "$ED/log"
  chown nobody: "$ED/spool" "$ED/log"
  SRVPID=
  SRVLOG=$BATS_TEST_TMPDIR/server.log
  # qpsmtpd under tcpserver on $NET.1 (start_server's, on another address)
  listen_retry 'tcpserver: status: 0/' - env -i -C "$BATS_TEST_TMPDIR" "${QPIDS[@]}" PATH=/usr/bin:/bin \
    QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" \
    tcpserver -v -R -H -l0 "$NET.1" @PORT@ "$QP"
}

teardown() {
  stop_server
}

# exim_conf CHUNKING: Exim's configuration; CHUNKING "*" lets Exim use
# BDAT with every host that offers it (Exim's default), "" never (DATA)
exim_conf() {
  cat > "$ED/exim.conf" <<EOF
exim_path = $BATS_FILE_TMPDIR/root/usr/sbin/exim4
spool_directory = $ED/spool
log_file_path = $ED/log/%slog
primary_hostname = exim.test.example
qualify_domain = test.example
keep_environment =
# no Received field of Exim's: what qpsmtpd queues is the message as given
received_header_text =
acl_smtp_rcpt = acl_rcpt

begin acl
acl_rcpt:
  accept

begin routers
to_qpsmtpd:
  driver = manualroute
  route_list = * $NET.1
  transport = qpsmtpd
  self = send

begin transports
qpsmtpd:
  driver = smtp
  port = $PORT
  interface = $NET.2
  hosts_avoid_tls = *
  hosts_try_chunking = $1

begin retry
* * F,1h,10m
EOF
  # Exim reads no configuration that others may write (mkcfg's umask 0)
  chmod 644 "$ED/exim.conf"
}

# send MSGFILE [EXIM OPTIONS...]: Exim takes the message from
# alice@test.example to bob@example.com and delivers it at once (-odf)
send() {
  local msg=$1
  shift
  run "$EXIM" -C "$ED/exim.conf" -odf -oi -f alice@test.example "$@" bob@example.com < "$msg"
  assert_success
}

# Exim's log says the message went to qpsmtpd and is done with; K marks a
# delivery by CHUNKING
delivered() {
  grep -Eq "=> bob@example.com R=to_qpsmtpd T=qpsmtpd H=$NET.1 \\[$NET.1\\] ${1:+$1 }C=\"250 2\\.0\\.0 Queued! " "$ED/log/mainlog"
  grep -q ' Completed$' "$ED/log/mainlog"
}

# the queued message without the Received field qpsmtpd put on top
body_of() {
  awk 'skip && /^[ \t]/ { next } { skip = 0 } NR == 1 && /^Received:/ { skip = 1; next } { print }' "$FAKEQ_DIR/$1.msg"
}

# the commands qpsmtpd logged, in order, without pids
commands() {
  sed -n 's/^[0-9]* info \(MAIL\|RCPT\|DATA\|BDAT\)/\1/p' "$SRVLOG"
}

# the octets of FILE sent with CRLF line ends
crlf_size() {
  echo $(($(wc -c < "$1") + $(wc -l < "$1")))
}

message() {
  printf 'From: alice@test.example\nTo: bob@example.com\nSubject: %s\nMessage-Id: <%s@test.example>\nDate: Sun, 06 Dec 2026 12:00:00 +0000\n\n' "$1" "$2"
}

@test "Exim sends BDAT ... LAST: qpsmtpd queues the message as Exim read it, a lone dot line and all; Exim logs it delivered with CHUNKING" {
  exim_conf '*'
  { message chunked one; printf 'first line\n.\n..two dots\n.trailing\nlast line\n'; } > "$ED/msg"
  send "$ED/msg"
  wait_sessions 1
  delivered K
  # the whole message in one chunk: its octets with CRLF line ends
  run commands
  assert_equal "${#lines[@]}" 3
  assert_line --index 0 --regexp '^MAIL FROM:<alice@test\.example> SIZE=[0-9]+$'
  assert_line --index 1 'RCPT TO:<bob@example.com>'
  assert_line --index 2 "BDAT $(crlf_size "$ED/msg") LAST"
  assert_equal "$(queued)" 1
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/1.env")" 'Falice@test.example|Tbob@example.com||'
  body_of 1 > "$ED/queued"
  cmp "$ED/msg" "$ED/queued"
  grep -Eq "^Received: from \\[$NET\\.2\\] \\(HELO exim\\.test\\.example\\) \\($NET\\.2\\)$" "$FAKEQ_DIR/1.msg"
}
