#!/usr/bin/env bats
# Perl qpsmtpd's configuration builds unchanged: a plugins file using each
# of Perl's arguments (tests/chains/perl-args) builds and -V lists it; the
# per-plugin loglevel, the timeout and logging control files, greylisting's
# "redis HOST" (Redis's own port, in a network namespace of its own), and the build
# errors for what has no counterpart (p0f, geoip). The arguments' other
# behaviour is tested with their plugins: dns.bats (rhsbl), karma.bats,
# plugins-session.bats (whitelist, logging/syslog), spamassassin.bats,
# clamdscan.bats, postfix-cleanup.bats (queue/postfix-queue).

load helper

setup() {
  mkcfg
}

@test "perl-args: a plugins file with each of Perl's arguments builds unchanged and -V lists it" {
  QP=$(build_chain perl-args < "$BATS_TEST_DIRNAME/chains/perl-args")
  run "$QP" -V
  assert_success
  assert_line --index 0 --regexp '^qpsmtpd '
  grep -v '^#' "$BATS_TEST_DIRNAME/chains/perl-args" | grep -v '^$' > "$BATS_TEST_TMPDIR/want"
  "$QP" -V | tail -n +2 | diff - "$BATS_TEST_TMPDIR/want"
}

@test "perl-args: loglevel N logs every line of the plugin at N, +N and -N move them; a bad value fails the build" {
  QP=$(build_chain perl-args-ll <<'EOF'
badmailfrom loglevel 2
badrcptto loglevel -2
rcpt_ok loglevel +3
EOF
)
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  echo 'bad@example.com' > "$CFG/badrcptto"
  echo 4 > "$CFG/loglevel"
  printf 'HELO x\r\nMAIL FROM:<spammer@example.net>\r\nMAIL FROM:<ok@example.net>\r\nRCPT TO:<bad@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" '220 250 550 250 550 550 221'
  # at warn (4): badmailfrom's info line at crit (2), badrcptto's info at
  # warn (6 - 2); the dispatcher's own lines about them are not moved
  grep -q '^[0-9]* crit (mail) badmailfrom: fail, spammer@example.net matches spammer@example.net$' "$ERR"
  grep -q '^[0-9]* warn (rcpt) badrcptto: ' "$ERR"
  ! grep -q 'DENY' "$ERR" || false
  ! grep -q 'rcpt_ok:' "$ERR" || false
  # rcpt_ok's info line (6) at debug (7): only at loglevel 7
  echo 6 > "$CFG/loglevel"
  smtp "$QP"
  grep -q ' info (rcpt) rcpt_ok: DENY ' "$ERR"
  [ -z "$(grep 'rcpt_ok: ' "$ERR" | grep -v 'rcpt_ok: DENY ')" ]
  echo 7 > "$CFG/loglevel"
  smtp "$QP"
  grep -q '^[0-9]* debug (rcpt) rcpt_ok: ' "$ERR"
  run build_chain perl-args-ll-bad <<< 'rcpt_ok loglevel 9'
  assert_failure
  run make -s -C "$ROOT" BIN="$BATS_TEST_TMPDIR/qp" PLUGINS=<(echo 'rcpt_ok loglevel +x')
  assert_output --partial 'loglevel takes a level 0 to 7, or +N or -N (N a digit)'
}

@test "perl-args: the control file timeout is Perl's fallback for timeoutsmtpd" {
  QP=$(build_chain perl-args-to <<< 'rcpt_ok')
  echo 1 > "$CFG/timeout"
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  ( printf 'HELO c.example\r\n'; exec sleep 20 ) > "$BATS_TEST_TMPDIR/fifo" 3>&- &
  holder=$!
  (cd "$BATS_TEST_TMPDIR" && env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" \
    timeout 20 "$QP") < "$BATS_TEST_TMPDIR/fifo" > "$OUT" 2> "$ERR"
  kill "$holder"
  assert_equal "$(codes)" '220 250 421'
  # timeoutsmtpd wins: with 30 there, the session outlives a 2-second wait
  echo 30 > "$CFG/timeoutsmtpd"
  ( printf 'HELO c.example\r\n'; sleep 2; printf 'QUIT\r\n' ) > "$BATS_TEST_TMPDIR/fifo" 3>&- &
  (cd "$BATS_TEST_TMPDIR" && env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" \
    timeout 20 "$QP") < "$BATS_TEST_TMPDIR/fifo" > "$OUT" 2> "$ERR"
  assert_equal "$(codes)" '220 250 221'
}

@test "perl-args: the logging file beside the plugins file adds its plugins first, as Perl loads them" {
  d=$BATS_TEST_TMPDIR/conf
  mkdir -p "$d"
  printf 'badmailfrom\nrcpt_ok\n' > "$d/plugins"
  echo "logging/syslog loglevel LOGINFO ident qplog logsock $BATS_TEST_TMPDIR/log.sock" > "$d/logging"
  make -s -C "$ROOT" BIN="$d/qpsmtpd" PLUGINS="$d/plugins" > /dev/null
  run "$d/qpsmtpd" -V
  assert_line --index 1 "logging/syslog loglevel LOGINFO ident qplog logsock $BATS_TEST_TMPDIR/log.sock"
  assert_line --index 2 'badmailfrom'
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
open(sys.argv[2], "w").close()
while True:
    d = s.recv(4096)
    open(sys.argv[3], "ab").write(d + b"\n")
    if b"badmailfrom: fail" in d: break
' "$BATS_TEST_TMPDIR/log.sock" "$BATS_TEST_TMPDIR/ready" "$BATS_TEST_TMPDIR/log.out" &
  py=$!
  for _ in $(seq 50); do [ -e "$BATS_TEST_TMPDIR/ready" ] && break; sleep 0.1; done
  chmod 777 "$BATS_TEST_TMPDIR/log.sock"
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  printf 'HELO x\r\nMAIL FROM:<spammer@example.net>\r\nQUIT\r\n' > "$IN"
  smtp "$d/qpsmtpd"
  wait "$py"
  grep -q 'qplog\[[0-9]*\]: (mail) badmailfrom: fail' "$BATS_TEST_TMPDIR/log.out"
  [ ! -s "$ERR" ]
}

@test "perl-args: greylisting redis HOST uses Redis's port 6379 (127.0.0.1, in a private network namespace)" {
  [ "$(id -u)" -eq 0 ] || skip "needs root for a private network namespace"
  QP=$(build_chain perl-args-grey <<'EOF'
greylisting redis 127.0.0.1
rcpt_ok
EOF
)
  printf 'HELO x\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nQUIT\r\n' > "$IN"
  cat > "$BATS_TEST_TMPDIR/ns" <<EOF
PATH=/usr/bin:/bin
python3 -c 'import fcntl, socket, struct; fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8914, struct.pack("16sH14x", b"lo", 0x49))' || exit 111
redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no > "$BATS_TEST_TMPDIR/redis.log" 2>&1 &
rp=\$!
for _ in \$(seq 100); do redis-cli ping > /dev/null 2>&1 && break; sleep 0.05; done
(cd "$BATS_TEST_TMPDIR" && env -i ${QPIDS[*]} PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" "$QP") < "$IN" > "$OUT" 2> "$ERR"
redis-cli --scan --pattern 'greylisting:*' > "$BATS_TEST_TMPDIR/keys"
kill \$rp
EOF
  unshare -n sh "$BATS_TEST_TMPDIR/ns"
  assert_equal "$(codes)" '220 250 450 503 503 221'
  grep -q 'greylisting: fail, key ' "$ERR"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/keys")" -ge 1 ]
}

@test "perl-args: p0f and geoip fail the build saying what to use instead" {
  run make -s -C "$ROOT" BIN="$BATS_TEST_TMPDIR/qp" PLUGINS=<(echo 'ident/p0f /tmp/.p0f_socket version 3')
  assert_failure
  assert_output --partial 'ident/p0f: passive OS fingerprinting (p0f) is not built in: drop the line; for reputation use karma, dnsbl or fcrdns'
  run make -s -C "$ROOT" BIN="$BATS_TEST_TMPDIR/qp" PLUGINS=<(echo 'ident/geoip')
  assert_output --partial 'ident/geoip: GeoIP is not built in'
  assert_output --partial 'dnsbl with a country zone'
  run build_chain perl-args-grey-p0f <<< 'greylisting reject 0 p0f genre,windows'
  assert_failure
  run make -s -C "$ROOT" BIN="$BATS_TEST_TMPDIR/qp" PLUGINS=<(echo 'greylisting reject 0 p0f genre,windows')
  assert_output --partial 'p0f (exempting clients by operating system or country) is not supported'
  assert_output --partial 'whitelisthosts'
}
