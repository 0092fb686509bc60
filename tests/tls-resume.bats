#!/usr/bin/env bats
# TLS session resumption across processes (tls_cache.c): every session is
# a process of its own, and tls_session_cache names the file they share.
# Real clients: openssl s_client (-sess_out, -sess_in) and Python's ssl,
# each connection served by its own process under tcpserver.

load helper

setup_file() {
  local d=$BATS_FILE_TMPDIR/certs
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ec.key" \
    -out "$d/ec.crt" -days 2 -subj /CN=test.example 2> /dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ec2.key" \
    -out "$d/ec2.crt" -days 2 -subj /CN=test.example 2> /dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/rsa.key" -out "$d/rsa.crt" \
    -days 2 -subj /CN=test.example 2> /dev/null
  [ ${#QPIDS[@]} -eq 0 ] || chmod a+r "$d"/*.key
}

setup() {
  mkcfg
  CERTS=$BATS_FILE_TMPDIR/certs
  QP=$(default_chain)
  SRVLOG=$BATS_TEST_TMPDIR/server.log
  SRVPID=
  # the sessions' user (nobody when the tests run as root) owns the cache
  CACHEDIR=$BATS_TEST_TMPDIR/cache
  mkdir -m 1777 "$CACHEDIR"
  echo "$CACHEDIR/sessions" > "$CFG/tls_session_cache"
}

teardown() {
  stop_server
}

certs() {
  mkdir -p "$CFG/ssl"
  cp "$CERTS/$1.crt" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$CERTS/${2:-$1.key}" "$CFG/ssl/qpsmtpd-server.key"
}

# one session with openssl s_client that queues a message; ARGS: -sess_out
# or -sess_in FILE; "New" or "Reused" in $output
session() {
  { printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
    printf 'DATA\r\nSubject: resume\r\n\r\nhello\r\n.\r\nQUIT\r\n'; } |
    timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -ign_eof "$@" \
      > "$BATS_TEST_TMPDIR/client.out" 2>&1 || true
  grep -q '250 2.0.0 Queued' "$BATS_TEST_TMPDIR/client.out"
  run grep -E -o '^(New|Reused), TLSv1\.2' "$BATS_TEST_TMPDIR/client.out"
}

@test "openssl s_client: the second connection, served by another process, resumes the first's session" {
  certs ec
  start_server "$QP"
  session -sess_out "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  session -sess_in "$BATS_TEST_TMPDIR/sess"
  assert_output 'Reused, TLSv1.2'
  session -sess_in "$BATS_TEST_TMPDIR/sess"
  assert_output 'Reused, TLSv1.2'
  [ "$(queued)" -eq 3 ]
  wait_sessions 3
  [ "$(grep -c 'STARTTLS: TLSv1.2 .* (resumed)' "$SRVLOG")" -eq 2 ]
  run stat -c '%a %s' "$CACHEDIR/sessions"
  assert_output '600 524352'
}

@test "Python ssl resumes a session across two connections; an RSA certificate too" {
  certs rsa
  start_server "$QP"
  run timeout 30 python3 -c '
import smtplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
port = int(sys.argv[1])
s = smtplib.SMTP("127.0.0.1", port, timeout=15)
s.starttls(context=ctx)
first = s.sock.session
print("first", s.sock.session_reused)
s.quit()
s = smtplib.SMTP("127.0.0.1", port, timeout=15)
s.ehlo()
s.docmd("STARTTLS")
s.sock = ctx.wrap_socket(s.sock, session=first)
s.file = None
s.ehlo()
print("second", s.sock.session_reused)
s.quit()' "$PORT"
  assert_success
  assert_line --index 0 'first False'
  assert_line --index 1 'second True'
}

@test "a tampered cache entry, an expired one, or one sealed under another key only costs a full handshake" {
  certs ec
  start_server "$QP"
  session -sess_out "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  # flip every byte of every used slot's sealed part
  python3 - "$CACHEDIR/sessions" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = 0
for off in range(0, 4096 * 128, 128):
    if b[off + 32] == 32:
        for i in range(off + 45, off + 121):
            b[i] ^= 0x55
        n += 1
assert n == 1, n
open(p, "r+b").write(bytes(b))
PY
  session -sess_in "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  # expired: entries live one second
  echo 1 > "$CFG/tls_session_lifetime"
  session -sess_out "$BATS_TEST_TMPDIR/sess"
  sleep 2
  session -sess_in "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  rm "$CFG/tls_session_lifetime"
  # another certificate and key: the old entries are sealed under the old key
  session -sess_out "$BATS_TEST_TMPDIR/sess"
  certs ec2
  session -sess_in "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  [ "$(queued)" -eq 6 ]
}

@test "a cache file others may read, or a symbolic link, is not used: logged, and sessions go on without resumption" {
  certs ec
  : > "$CACHEDIR/sessions"
  chmod 644 "$CACHEDIR/sessions"
  [ ${#QPIDS[@]} -eq 0 ] || chown nobody "$CACHEDIR/sessions"
  start_server "$QP"
  session -sess_out "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  session -sess_in "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  grep -q "TLS session cache $CACHEDIR/sessions: group or others may access it (it must be mode 0600): no resumption" "$SRVLOG"
  rm "$CACHEDIR/sessions"
  ln -s /etc/passwd "$CACHEDIR/sessions"
  session -sess_in "$BATS_TEST_TMPDIR/sess"
  assert_output 'New, TLSv1.2'
  grep -q "TLS session cache $CACHEDIR/sessions: .*: no resumption" "$SRVLOG"
}

@test "an EC key of another certificate is found before the first handshake (421 naming the key), not after a cached pass" {
  certs ec ec2.key
  printf 'EHLO client.example\r\nSTARTTLS\r\n' > "$IN"
  smtp "$QP"
  run codes
  assert_output '220 250 421'
  grep -q 'ssl/qpsmtpd-server.key: the key does not belong to the certificate' "$ERR"
  # the right key: checked once, and the record of it is in the cache
  certs ec
  start_server "$QP"
  session -sess_out "$BATS_TEST_TMPDIR/sess"
  run python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); print(any(b[4096 * 128:4096 * 128 + 32]))' "$CACHEDIR/sessions"
  assert_output True
}
