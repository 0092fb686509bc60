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
  start_qp
}

# qpsmtpd under tcpserver on $NET.1 (start_server's, on another address),
# with the environment in SRV_ENV
start_qp() {
  listen_retry 'tcpserver: status: 0/' - env -i -C "$BATS_TEST_TMPDIR" "${QPIDS[@]}" PATH=/usr/bin:/bin \
    QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" ${SRV_ENV[@]+"${SRV_ENV[@]}"} \
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

# send_bs 'SENDER> PARAMS' RCPT MSGFILE: the message given to Exim by SMTP
# on its standard input (exim -bs), dot-stuffed, for MAIL parameters
send_bs() {
  { printf 'EHLO local.example\r\nMAIL FROM:<%s\r\nRCPT TO:<%s>\r\nDATA\r\n' "$1" "$2"
    sed 's/^\./../; s/$/\r/' "$3"; printf '.\r\nQUIT\r\n'; } > "$ED/in"
  run "$EXIM" -C "$ED/exim.conf" -odf -bs < "$ED/in"
  assert_success
  assert_line --regexp '^250 OK id='
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

@test "Exim with CHUNKING turned off on its side sends DATA, dot-stuffed: qpsmtpd queues the same octets as by BDAT" {
  { message same two; printf 'first line\n.\n..two dots\n.trailing\n\n\nlast line\n'; } > "$ED/msg"
  # qpsmtpd always offers CHUNKING: Exim is told not to use it
  exim_conf ''
  send "$ED/msg"
  wait_sessions 1
  delivered ''
  run ! grep -q ' K C=' "$ED/log/mainlog"
  exim_conf '*'
  send "$ED/msg"
  wait_sessions 2
  run commands
  assert_equal "${#lines[@]}" 6
  assert_line --index 2 'DATA'
  assert_line --index 5 "BDAT $(crlf_size "$ED/msg") LAST"
  assert_equal "$(queued)" 2
  body_of 1 > "$ED/by-data"
  body_of 2 > "$ED/by-bdat"
  cmp "$ED/msg" "$ED/by-data"
  cmp "$ED/msg" "$ED/by-bdat"
}

@test "a 1 MB message: Exim sends it in more than one BDAT chunk, only the last with LAST, the sizes adding up to the message; queued as sent" {
  exim_conf '*'
  { message big three; awk 'BEGIN { for (i = 0; i < 20000; i++) printf "line %06d %s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }'; } > "$ED/msg"
  send "$ED/msg"
  wait_sessions 1
  delivered K
  run sed -n 's/^BDAT //p' <(commands)
  [ "${#lines[@]}" -ge 2 ]
  local i sum=0
  for i in "${!lines[@]}"; do
    if [ "$i" -lt $((${#lines[@]} - 1)) ]; then
      [[ ${lines[i]} =~ ^[0-9]+$ ]]
    else
      [[ ${lines[i]} =~ ^[0-9]+\ LAST$ ]]
    fi
    sum=$((sum + ${lines[i]% LAST}))
  done
  assert_equal "$sum" "$(crlf_size "$ED/msg")"
  assert_equal "$(queued)" 1
  body_of 1 > "$ED/queued"
  cmp "$ED/msg" "$ED/queued"
}

@test "an 8-bit body: Exim delivers it with BDAT, and the octets are queued unchanged" {
  exim_conf '*'
  { message "8bit" four; printf 'Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nGr\374\337e, \351t\351, \377\200\n'; } > "$ED/msg"
  # given to Exim with BODY=8BITMIME (exim -bs); Exim 4.96 does not pass
  # the parameter on, and needs not: its 8-bit octets go in the chunk as
  # they are (RFC 3030 2: BDAT carries any octets)
  send_bs 'alice@test.example> BODY=8BITMIME' bob@example.com "$ED/msg"
  wait_sessions 1
  delivered K
  run commands
  assert_line --index 0 --regexp '^MAIL FROM:<alice@test\.example> SIZE=[0-9]+( BODY=8BITMIME)?$'
  assert_line --index 2 "BDAT $(crlf_size "$ED/msg") LAST"
  body_of 1 > "$ED/queued"
  cmp "$ED/msg" "$ED/queued"
}

@test "SMTPUTF8: Exim relays from and to UTF-8 addresses with MAIL ... SMTPUTF8 and BDAT; queued with the addresses as sent" {
  grep -q '^Support for:.* I18N' "$BATS_FILE_TMPDIR/version" ||
    skip "this Exim is built without I18N (SMTPUTF8): $(grep '^Support for:' "$BATS_FILE_TMPDIR/version")"
  exim_conf '*'
  # Exim marks a message SMTPUTF8 when it came with it (-bs, as above)
  printf 'From: s\303\270ren@test.example\nSubject: gr\303\274\303\237e\nMessage-Id: <five@test.example>\nDate: Sun, 06 Dec 2026 12:00:00 +0000\n\nk\303\266rper\n' > "$ED/msg"
  send_bs $'s\303\270ren@test.example> SMTPUTF8' $'j\303\270rn@example.com' "$ED/msg"
  assert_line --regexp $'^250-SMTPUTF8\r$'
  wait_sessions 1
  grep -Eq $'=> j\303\270rn@example.com'" R=to_qpsmtpd T=qpsmtpd H=$NET.1 \\[$NET.1\\] K C=\"250 2\\.0\\.0 Queued! " "$ED/log/mainlog"
  run commands
  assert_line --index 0 --regexp $'^MAIL FROM:<s\303\270ren@test\\.example> SIZE=[0-9]+ SMTPUTF8$'
  assert_line --index 1 $'RCPT TO:<j\303\270rn@example.com>'
  assert_line --index 2 "BDAT $(crlf_size "$ED/msg") LAST"
  assert_equal "$(tr '\0' '|' < "$FAKEQ_DIR/1.env")" $'Fs\303\270ren@test.example|Tj\303\270rn@example.com||'
  grep -q ' with UTF8SMTP; ' "$FAKEQ_DIR/1.msg"
  grep -q $'^Subject: gr\303\274\303\237e$' "$FAKEQ_DIR/1.msg"
  body_of 1 > "$ED/queued"
  cmp "$ED/msg" "$ED/queued"
}

@test "qmail-queue fails: qpsmtpd answers 451 to BDAT LAST, Exim defers and keeps the message, and delivers it whole on its retry" {
  stop_server
  SRV_ENV=(FAKEQ_EXIT=71)
  start_qp
  exim_conf '*'
  { message deferred six; printf 'body\n.\nend\n'; } > "$ED/msg"
  send "$ED/msg"
  wait_sessions 1
  grep -Eq "== bob@example.com R=to_qpsmtpd T=qpsmtpd defer .*: SMTP error from remote mail server after (pipelined )?end of data: 451 " "$ED/log/mainlog"
  run ! grep -q ' Completed$' "$ED/log/mainlog"
  grep -Eq '^[0-9]+ info BDAT [0-9]+ LAST$' "$SRVLOG"
  grep -Eq '^[0-9]+ info 451 ' "$SRVLOG"
  nothing_queued
  # the same port, qmail-queue working: Exim's forced queue run (-qff)
  stop_server
  SRV_ENV=()
  local port=$PORT
  SRVLOG=$BATS_TEST_TMPDIR/server2.log
  start_qp
  sed -i "s/^  port = $port\$/  port = $PORT/" "$ED/exim.conf"
  run "$EXIM" -C "$ED/exim.conf" -qff
  assert_success
  wait_sessions 1
  delivered K
  assert_equal "$(queued)" 1
  body_of 1 > "$ED/queued"
  cmp "$ED/msg" "$ED/queued"
}
