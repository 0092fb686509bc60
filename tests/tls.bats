#!/usr/bin/env bats
# TLS: the tls plugin's STARTTLS (RFC 3207), implicit TLS (SMTPS=1, port
# 465), sslserver (SSL_PROTOCOL) and UCSPI-TLS (sslserver -n). Real clients:
# openssl s_client, swaks, Python's smtplib and ssl; certificates made by
# openssl at test time, RSA and EC. ucspi-ssl is not in Debian: a fake
# sslserver (tests/fake-sslserver.py) speaks UCSPI-TLS and checks us.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

setup_file() {
  local d=$BATS_FILE_TMPDIR/certs
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/rsa.key" -out "$d/rsa.crt" \
    -days 2 -subj /CN=test.example 2> /dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ec.key" \
    -out "$d/ec.crt" -days 2 -subj /CN=test.example 2> /dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/other.key" 2> /dev/null
  # the traditional encodings ("RSA PRIVATE KEY", "EC PRIVATE KEY")
  openssl pkey -in "$d/rsa.key" -traditional -out "$d/rsa-pkcs1.key"
  openssl pkey -in "$d/ec.key" -traditional -out "$d/ec-sec1.key"
  # run as root, the sessions are nobody (helper.bash), who must read the keys
  [ ${#QPIDS[@]} -eq 0 ] || chmod a+r "$d"/*.key
}

setup() {
  mkcfg
  CERTS=$BATS_FILE_TMPDIR/certs
  QP=$(default_chain)
  CLIENT="python3 $ROOT/tests/tls-client.py"
  SRVLOG=$BATS_TEST_TMPDIR/server.log
  SRVPID=
}

teardown() {
  stop_server
  if [ -n "${SVC:-}" ]; then rm -rf "$SVC"; fi
}

# certs rsa|ec [KEYFILE]: the certificate and key as the control files
certs() {
  mkdir -p "$CFG/ssl"
  cp "$CERTS/$1.crt" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$CERTS/${2:-$1.key}" "$CFG/ssl/qpsmtpd-server.key"
}

received() {
  grep -A1 '^Received:' "$FAKEQ_DIR/1.msg"
}

# ------------------------------------------------------------ offering

@test "without a certificate STARTTLS is not offered and is answered 454" {
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run grep -c STARTTLS "$OUT"
  assert_output 0
  assert_equal "$(codes)" "220 250 454 221"
  grep -q '^454 4.7.0 TLS not available' "$OUT"
}

@test "with a certificate EHLO offers STARTTLS (not HELO), and the txn note tls_enabled is set" {
  certs rsa
  qp=$(printf 'tls\ntests/tls_notes\n' | build_chain tlsnotes)
  printf 'EHLO client.example\r\nNOOP\r\nQUIT\r\n' > "$IN"
  smtp "$qp"
  run tr -d '\r' < "$OUT"
  assert_line '250 STARTTLS'
  assert_line '250 2.0.0 conn tls_enabled=unset txn tls_enabled=1 cipher=unset client=unset subject=unset'
  printf 'HELO client.example\r\nQUIT\r\n' > "$IN"
  smtp "$qp"
  run grep -c STARTTLS "$OUT"
  assert_output 0
}

@test "under sslserver (SSL_PROTOCOL) the channel is encrypted: no STARTTLS, 503, Received says ESMTPS" {
  certs rsa
  { printf 'EHLO client.example\r\nSTARTTLS\r\nMAIL FROM:<alice@sender.example>\r\n'
    printf 'RCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP" SSL_PROTOCOL=TLSv1.3 SSL_CIPHER=TLS_AES_256_GCM_SHA384
  run grep -c STARTTLS "$OUT"
  assert_output 0
  assert_equal "$(codes)" "220 250 503 250 250 354 250 221"
  grep -q '^503 5.5.1 TLS already active' "$OUT"
  run received
  assert_output --partial 'with ESMTPS (TLSv1.3 TLS_AES_256_GCM_SHA384 encrypted);'
}

@test "STARTTLS with an argument is answered 501 and TLS does not start" {
  certs rsa
  printf 'EHLO client.example\r\nSTARTTLS now\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 501 221"
  grep -q '^501 5.5.4 Syntax error (no parameters allowed)' "$OUT"
}

@test "STARTTLS inside a mail transaction is answered 503" {
  certs rsa
  printf 'EHLO client.example\r\nMAIL FROM:<a@sender.example>\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 503 221"
  grep -q '^503 5.5.1 STARTTLS not allowed inside a mail transaction' "$OUT"
}

# ------------------------------------------------------------ config errors
# The files are read at STARTTLS (a session that never starts TLS does
# not parse them): a bad one gets 421 instead of the 220 to STARTTLS.

@test "a malformed key gives 421 and a log line naming the file" {
  certs rsa
  echo 'not a key' > "$CFG/ssl/qpsmtpd-server.key"
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  assert_equal "$RC" 111
  run cat "$ERR"
  assert_output --partial "$CFG/ssl/qpsmtpd-server.key: no PRIVATE KEY in the file"
}

@test "a malformed certificate gives 421 and a log line naming the file" {
  certs rsa
  printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' > "$CFG/ssl/qpsmtpd-server.crt"
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  run cat "$ERR"
  assert_output --partial "$CFG/ssl/qpsmtpd-server.crt: a CERTIFICATE that is not valid X.509"
}

@test "an unreadable key file gives 421 and a log line naming the file" {
  certs rsa
  rm "$CFG/ssl/qpsmtpd-server.key"
  mkdir "$CFG/ssl/qpsmtpd-server.key"
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  run cat "$ERR"
  assert_output --partial "$CFG/ssl/qpsmtpd-server.key: Is a directory"
}

@test "a certificate without its key, or with another key, gives 421 naming the key" {
  certs rsa
  rm "$CFG/ssl/qpsmtpd-server.key"
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  grep -q 'ssl/qpsmtpd-server.key: the certificate exists but its key does not' "$ERR"
  certs rsa other.key
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  grep -q 'ssl/qpsmtpd-server.key: the key does not belong to the certificate' "$ERR"
}

@test "the plugin's arguments name the files; one file may hold chain and key" {
  cat "$CERTS/ec.crt" "$CERTS/ec.key" > "$BATS_TEST_TMPDIR/both.pem"
  qp=$(printf 'tls %s\n' "$BATS_TEST_TMPDIR/both.pem" | build_chain tlsargs)
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$qp"
  grep -q '^250 STARTTLS' "$OUT"
  qp=$(printf 'tls %s %s\n' "$CERTS/rsa.crt" "$BATS_TEST_TMPDIR/missing.key" | build_chain tlsargs2)
  smtp "$qp"
  assert_equal "$(codes)" "220 250 421"
  grep -q "missing.key: the certificate exists but its key does not" "$ERR"
}

# ------------------------------------------------------------ STARTTLS

@test "openssl s_client -starttls smtp: a message over TLS gets the ESMTPS Received line with version and cipher" {
  certs rsa
  start_server "$QP"
  { printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
    printf 'DATA\r\nSubject: tls\r\n\r\nhello\r\n.\r\nQUIT\r\n'; } |
    timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -quiet -ign_eof \
      > "$BATS_TEST_TMPDIR/client.out" 2>&1
  run tr -d '\r' < "$BATS_TEST_TMPDIR/client.out"
  assert_line --partial '250 2.0.0 Queued'
  # the EHLO reply inside TLS offers no STARTTLS
  run sed -n '/^250-test.example/,$p' "$BATS_TEST_TMPDIR/client.out"
  assert_line --partial '250 ENHANCEDSTATUSCODES'
  refute_output --partial STARTTLS
  run received
  assert_output --regexp 'with ESMTPS \(TLSv1\.2 ECDHE-RSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305) encrypted\);'
  wait_sessions 1
  grep -q 'STARTTLS: TLSv1.2 ECDHE-RSA-' "$SRVLOG"
}

@test "swaks --tls with an EC certificate (SEC1 key): ECDHE-ECDSA, message queued" {
  certs ec ec-sec1.key
  start_server "$QP"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --tls --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --partial '250 2.0.0 Queued'
  run received
  assert_output --partial 'with ESMTPS (TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 encrypted);'
}

@test "key exchange on X25519 (libsodium), P-256, P-384 and P-521: each handshake completes and a message is queued" {
  # an RSA certificate: with an ECDSA one, a client offering only X25519
  # refuses the P-256 signature (RFC 4492 5.1)
  certs rsa
  start_server "$QP"
  local g n=0 want
  for g in X25519 P-256 P-384 P-521; do
    case $g in
      X25519) want='X25519, 253 bits' ;;
      P-256) want='ECDH, prime256v1, 256 bits' ;;
      P-384) want='ECDH, secp384r1, 384 bits' ;;
      P-521) want='ECDH, secp521r1, 521 bits' ;;
    esac
    { printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
      printf 'DATA\r\nSubject: %s\r\n\r\nhello\r\n.\r\nQUIT\r\n' "$g"; } |
      timeout 20 openssl s_client -starttls smtp -groups "$g" -connect "127.0.0.1:$PORT" -ign_eof \
        > "$BATS_TEST_TMPDIR/client-$g.out" 2>&1 || true
    grep -q "Server Temp Key: $want" "$BATS_TEST_TMPDIR/client-$g.out" \
      || { echo "$g:"; grep -E 'Temp Key|error' "$BATS_TEST_TMPDIR/client-$g.out"; false; }
    grep -q '250 2.0.0 Queued' "$BATS_TEST_TMPDIR/client-$g.out"
    n=$((n + 1))
    [ "$(queued)" -eq $n ]
  done
}

@test "Python smtplib starttls(): STARTTLS is not offered again, the message is accepted" {
  certs rsa rsa-pkcs1.key
  start_server "$QP"
  run timeout 20 $CLIENT "$PORT" smtplib
  assert_success
  assert_line 'offered: True'
  assert_line 'starttls: 220'
  assert_line 'offered after: False'
  assert_line 'refused: {}'
  [ "$(queued)" = 1 ]
}

@test "a command pipelined after STARTTLS in the same packet is discarded, not run inside TLS" {
  certs rsa
  start_server "$QP"
  run timeout 20 $CLIENT "$PORT" inject 'MAIL FROM:<injected@evil.example>\r\n'
  assert_success
  assert_line 'STARTTLS: 220 2.0.0 Ready to start TLS'
  # the first reply inside TLS answers our MAIL: no EHLO yet, so 503; the
  # injected MAIL got no 250 and left no sender behind
  assert_line 'MAIL before EHLO: 503 5.5.1 please say hello first ...'
  assert_line --partial 'EHLO: 250-test.example'
  assert_line 'MAIL: 250 2.1.0 <after@client.example>, sender OK - how exciting to get mail from you!'
  refute_output --partial injected
  wait_sessions 1
  grep -q 'discarded 35 bytes pipelined after STARTTLS' "$SRVLOG"
  run grep -c 'injected' "$SRVLOG"
  assert_output 0
}

@test "EHLO and RSET pipelined after STARTTLS are discarded too" {
  certs rsa
  start_server "$QP"
  run timeout 20 $CLIENT "$PORT" inject 'EHLO evil.example\r\nRSET\r\n'
  assert_success
  assert_line 'MAIL before EHLO: 503 5.5.1 please say hello first ...'
  refute_output --partial evil
}

@test "STARTTLS twice: the second is answered 503 inside TLS" {
  certs rsa
  start_server "$QP"
  run timeout 20 $CLIENT "$PORT" twice
  assert_success
  assert_line --regexp '^cipher: TLSv1.2 ECDHE-RSA-'
  assert_line 'STARTTLS again: 503 5.5.1 TLS already active'
  assert_line --partial 'QUIT: 221'
  refute_line --partial 'STARTTLS|'
}

@test "garbage instead of a ClientHello ends the session with a log line naming the cause" {
  certs rsa
  start_server "$QP"
  run timeout 20 $CLIENT "$PORT" garbage
  assert_line 'STARTTLS: 220 2.0.0 Ready to start TLS'
  assert_line --regexp '^after garbage: closed, [0-9]+ bytes, no SMTP reply'
  wait_sessions 1
  grep -q 'TLS handshake failed: BR_ERR_' "$SRVLOG"
}

@test "a client that never finishes the handshake is cut off at tls_handshake_timeout" {
  certs rsa
  echo 1 > "$CFG/tls_handshake_timeout"
  start_server "$QP"
  run timeout 20 $CLIENT "$PORT" stall 8
  assert_line 'STARTTLS: 220 2.0.0 Ready to start TLS'
  assert_line --regexp '^stall: closed after [0-2]\.[0-9] s'
  wait_sessions 1
  grep -q 'TLS handshake failed: handshake timed out' "$SRVLOG"
}

@test "TLS 1.1 and a suite without forward secrecy (AES128-SHA) are refused" {
  certs rsa
  start_server "$QP"
  run timeout 20 openssl s_client -starttls smtp -tls1_1 -connect "127.0.0.1:$PORT" < /dev/null
  assert_failure
  run timeout 20 openssl s_client -starttls smtp -tls1_2 -cipher AES128-SHA -connect "127.0.0.1:$PORT" < /dev/null
  assert_failure
  run timeout 20 openssl s_client -starttls smtp -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384 \
    -connect "127.0.0.1:$PORT" < /dev/null
  assert_success
  assert_output --partial 'Cipher is ECDHE-RSA-AES256-GCM-SHA384'
  wait_sessions 3
  grep -q 'TLS handshake failed: BR_ERR_SEND_FATAL_ALERT (protocol_version)' "$SRVLOG"
  grep -q 'TLS handshake failed: BR_ERR_SEND_FATAL_ALERT (handshake_failure)' "$SRVLOG"
}

@test "renegotiation is refused" {
  certs rsa
  start_server "$QP"
  # s_client's "R" line asks for a renegotiation
  reneg() {
    { printf 'EHLO client.example\n'; sleep 0.5; [ -z "$1" ] || printf 'R\n'; sleep 0.5
      printf 'NOOP\n'; sleep 0.5; } |
      timeout 20 openssl s_client -starttls smtp -tls1_2 -connect "127.0.0.1:$PORT" -crlf 2>&1
  }
  run reneg ''
  assert_output --partial '250 2.0.0 OK'
  run reneg R
  assert_output --partial 'no renegotiation'
  refute_output --partial '250 2.0.0 OK'
}

# ------------------------------------------------------------ SMTPS

@test "SMTPS=1: swaks --tls-on-connect gets the greeting over TLS and the message is queued" {
  certs rsa
  start_server "$QP" SMTPS=1
  run timeout 20 swaks --server "127.0.0.1:$PORT" --tls-on-connect --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --partial '220 test.example ESMTP'
  assert_output --partial '250 2.0.0 Queued'
  refute_output --partial 'STARTTLS'
  run received
  assert_output --regexp 'with ESMTPS \(TLSv1\.2 ECDHE-RSA-[A-Z0-9-]+ encrypted\);'
}

@test "SMTPS=1: plain text or silence gets no greeting and the session ends" {
  certs rsa
  echo 1 > "$CFG/tls_handshake_timeout"
  start_server "$QP" SMTPS=1
  run timeout 20 $CLIENT "$PORT" smtps-garbage
  assert_output --regexp '^smtps garbage: closed, [0-9]+ bytes, no greeting'
  run timeout 10 python3 -c "import socket,time; s=socket.create_connection(('127.0.0.1',$PORT)); t=time.monotonic(); d=s.recv(100); print(len(d), round(time.monotonic()-t))"
  assert_output '0 1'
  wait_sessions 2
  grep -q 'TLS handshake failed: handshake timed out' "$SRVLOG"
}

@test "SMTPS=1 with a bad key sends no plaintext at all and logs the file" {
  certs rsa other.key
  start_server "$QP" SMTPS=1
  run timeout 10 python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$PORT)); print(repr(s.recv(100)))"
  assert_output "b''"
  wait_sessions 1
  grep -q 'ssl/qpsmtpd-server.key: the key does not belong to the certificate' "$SRVLOG"
}

# ------------------------------------------------------------ UCSPI-TLS

@test "UCSPI-TLS: STARTTLS is delegated to sslserver -n with Y, the pipes carry the session" {
  start_server "$QP" UCSPITLS= CERTFILE="$CERTS/rsa.crt" KEYFILE="$CERTS/rsa.key" \
    FAKE_SSLSERVER_LOG="$BATS_TEST_TMPDIR/fake.log" -- python3 "$ROOT/tests/fake-sslserver.py"
  run timeout 20 $CLIENT "$PORT" inject 'MAIL FROM:<injected@evil.example>\r\n'
  assert_success
  assert_line 'MAIL before EHLO: 503 5.5.1 please say hello first ...'
  assert_line 'MAIL: 250 2.1.0 <after@client.example>, sender OK - how exciting to get mail from you!'
  run timeout 20 swaks --server "127.0.0.1:$PORT" --tls --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --partial '250 2.0.0 Queued'
  run received
  assert_output --regexp 'with ESMTPS \(TLSv1\.[23] [A-Z0-9_-]+ encrypted\);'
  wait_sessions 2
  run cat "$BATS_TEST_TMPDIR/fake.log"
  assert_line 'command Y'
  assert_line 'handshake ok'
  refute_output --partial VIOLATION
  grep -q 'discarded 35 bytes pipelined after STARTTLS' "$SRVLOG"
}

@test "UCSPI-TLS: without UCSPITLS (or with UCSPITLS=-) STARTTLS is not offered" {
  start_server "$QP" UCSPITLS=- CERTFILE="$CERTS/rsa.crt" KEYFILE="$CERTS/rsa.key" \
    FAKE_SSLSERVER_LOG="$BATS_TEST_TMPDIR/fake.log" -- python3 "$ROOT/tests/fake-sslserver.py"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --quit-after EHLO
  assert_success
  refute_output --partial STARTTLS
  wait_sessions 1
  run cat "$BATS_TEST_TMPDIR/fake.log"
  assert_output 'no command'
}

# ------------------------------------------------------------ run-smtps

@test "run-smtps: tcpserver on config/SMTPSPORT with SMTPS=1 and run's listen queue, sessions as the unprivileged user" {
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "ASan needs more address space than run's memory limit"
  [ "$(id -u)" -eq 0 ] || skip "run drops privileges: needs root"
  local user=nobody svc i ok=
  id qpsmtpd > /dev/null 2>&1 && user=qpsmtpd
  svc=$(mktemp -d /tmp/qpsmtpd-svc.XXXXXX)
  SVC=$svc
  chmod 755 "$svc"
  cp "$ROOT/run" "$ROOT/run-smtps" "$svc/"
  cp "$QP" "$svc/qpsmtpd"
  cp "$FAKEQ" "$svc/fake-qmail-queue"
  mkdir -p "$svc/config/ssl" "$svc/q"
  chmod 777 "$svc/q"
  cp "$CFG/me" "$CFG/rcpthosts" "$CFG/loglevel" "$svc/config/"
  cp "$CERTS/ec.crt" "$svc/config/ssl/qpsmtpd-server.crt"
  cp "$CERTS/ec.key" "$svc/config/ssl/qpsmtpd-server.key"
  chgrp "$(id -g "$user")" "$svc/config/ssl/qpsmtpd-server.key"
  chmod 640 "$svc/config/ssl/qpsmtpd-server.key"
  echo 127.0.0.1 > "$svc/config/IP"
  echo 25 > "$svc/config/PORT"
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    echo "$PORT" > "$svc/config/SMTPSPORT"
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin QMAILQUEUE="$svc/fake-qmail-queue" FAKEQ_DIR="$svc/q" \
      "$svc/run-smtps" > "$SRVLOG" 2>&1 3>&- &
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
  # run's listen queue (config/backlog missing: 128), on SMTPSPORT
  [ "$(ss -ltnH "sport = :$PORT" | awk '$4 == "127.0.0.1:'"$PORT"'" { print $3 }')" = 128 ]
  run timeout 20 swaks --server "127.0.0.1:$PORT" --tls-on-connect --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --regexp '<~  250 2\.0\.0 Queued!'
  [ "$(stat -c %U "$svc/q/1.msg")" = "$user" ]
  grep -q 'with ESMTPS (TLSv1.2 ECDHE-ECDSA-' "$svc/q/1.msg"
}
