#!/usr/bin/env bats
# TLS policy: an RSA and an ECDSA certificate together (each client gets
# the one it can use), chains with an intermediate, tls_protocols and
# tls_ciphers (Perl qpsmtpd's control files), the signature hash, and
# client certificates checked against a CA file. Real clients (openssl
# s_client); certificates made by openssl at test time.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

setup_file() {
  local d=$BATS_FILE_TMPDIR/certs ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  mkdir -p "$d"
  cd "$d" || return 1
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:test.example\n' > ee.ext
  # root -> intermediate -> the two server certificates
  openssl req -x509 "${ec[@]}" -nodes -keyout root.key -out root.crt -days 2 -subj '/CN=Test Root' \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null
  sign() {    # sign NAME CN ISSUER EXT KEYOPTS...
    local name=$1 cn=$2 issuer=$3 ext=$4
    shift 4
    openssl req -new "$@" -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" 2> /dev/null
    openssl x509 -req -in "$name.csr" -CA "$issuer.crt" -CAkey "$issuer.key" -CAcreateserial -days 2 \
      -extfile "$ext" -out "$name.crt" 2> /dev/null
  }
  sign inter 'Test Intermediate' root ca.ext "${ec[@]}"
  sign ec ec.test.example inter ee.ext "${ec[@]}"
  sign rsa rsa.test.example inter ee.ext -newkey rsa:2048
  cat ec.crt inter.crt > ec-chain.crt
  cat rsa.crt inter.crt > rsa-chain.crt
  # client certificates: one from the client CA, one self-signed
  openssl req -x509 "${ec[@]}" -nodes -keyout clientca.key -out clientca.crt -days 2 -subj '/CN=Client CA' \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null
  sign client relay.example clientca ee.ext "${ec[@]}"
  openssl req -x509 "${ec[@]}" -nodes -keyout rogue.key -out rogue.crt -days 2 -subj /CN=rogue.example 2> /dev/null
  [ ${#QPIDS[@]} -eq 0 ] || chmod a+r "$d"/*
}

setup() {
  mkcfg
  CERTS=$BATS_FILE_TMPDIR/certs
  QP=$(printf 'tls\ntests/tls_notes\nrcpt_ok\nqueue/qmail-queue\n' | build_chain tlspolicy)
  SRVLOG=$BATS_TEST_TMPDIR/server.log
  SRVPID=
  mkdir -p "$CFG/ssl"
}

teardown() {
  stop_server
}

# both: the EC pair as ssl/qpsmtpd-server.*, the RSA one as ssl/qpsmtpd-server2.*
both() {
  cp "$CERTS/ec-chain.crt" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$CERTS/ec.key" "$CFG/ssl/qpsmtpd-server.key"
  cp "$CERTS/rsa-chain.crt" "$CFG/ssl/qpsmtpd-server2.crt"
  cp "$CERTS/rsa.key" "$CFG/ssl/qpsmtpd-server2.key"
}

# client ARGS...: one STARTTLS session with s_client, NOOP inside TLS
client() {
  printf 'EHLO client.example\r\nNOOP\r\nQUIT\r\n' |
    timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -ign_eof "$@" 2>&1
}

# a message through s_client ARGS...
send() {
  { printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\n'
    printf 'DATA\r\nSubject: tls\r\n\r\nhello\r\n.\r\nQUIT\r\n'; } |
    timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$PORT" -quiet -ign_eof "$@" 2>&1
}

@test "RSA and ECDSA certificates together: each client gets the one its suites and signature algorithms allow" {
  both
  start_server "$QP"
  run client -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
  assert_output --regexp '0 s: ?CN ?= ?rsa\.test\.example'
  assert_output --partial 'Cipher is ECDHE-RSA-AES128-GCM-SHA256'
  run client -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
  assert_output --regexp '0 s: ?CN ?= ?ec\.test\.example'
  # every suite offered, the signature algorithms decide
  run client -tls1_2 -sigalgs RSA+SHA256
  assert_output --regexp '0 s: ?CN ?= ?rsa\.test\.example'
  assert_output --partial 'Peer signature type: RSA'
  run client -tls1_2 -sigalgs ECDSA+SHA256
  assert_output --regexp '0 s: ?CN ?= ?ec\.test\.example'
  assert_output --partial 'Peer signature type: ECDSA'
  # a client offering everything gets the server's first choice, ECDSA
  run client -tls1_2
  assert_output --partial 'Cipher is ECDHE-ECDSA-AES128-GCM-SHA256'
  assert_output --partial '250 2.0.0 conn tls_enabled=1'
  # a client without P-256 cannot check an ECDSA P-256 signature: RSA
  run client -tls1_2 -groups X25519
  assert_output --regexp '0 s: ?CN ?= ?rsa\.test\.example'
}

@test "a chain with an intermediate verifies against the root alone; the leaf alone does not" {
  both
  start_server "$QP"
  run client -tls1_2 -CAfile "$CERTS/root.crt" -verify_return_error -cipher ECDHE-ECDSA-AES256-GCM-SHA384
  assert_output --partial 'Verify return code: 0 (ok)'
  assert_output --partial '250 2.0.0 conn tls_enabled=1'
  run client -tls1_2 -CAfile "$CERTS/root.crt" -verify_return_error -cipher ECDHE-RSA-AES256-GCM-SHA384
  assert_output --partial 'Verify return code: 0 (ok)'
  assert_output --regexp '1 s: ?CN ?= ?Test Intermediate'
  stop_server
  cp "$CERTS/ec.crt" "$CFG/ssl/qpsmtpd-server.crt"
  start_server "$QP"
  run client -tls1_2 -CAfile "$CERTS/root.crt" -verify_return_error -cipher ECDHE-ECDSA-AES256-GCM-SHA384
  assert_output --partial 'unable to get local issuer certificate'
  assert_output --partial 'certificate verify failed'
  refute_output --partial '250 2.0.0 conn'
}

@test "two keys of one type, or an EC key of another certificate beside an RSA pair, give 421 at STARTTLS naming the file" {
  cp "$CERTS/ec.crt" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$CERTS/ec.key" "$CFG/ssl/qpsmtpd-server.key"
  cp "$CERTS/client.crt" "$CFG/ssl/qpsmtpd-server2.crt"
  cp "$CERTS/client.key" "$CFG/ssl/qpsmtpd-server2.key"
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  grep -q 'ssl/qpsmtpd-server2.key: a second EC key' "$ERR"
  cp "$CERTS/rsa.crt" "$CFG/ssl/qpsmtpd-server2.crt"
  cp "$CERTS/rsa.key" "$CFG/ssl/qpsmtpd-server2.key"
  cp "$CERTS/client.key" "$CFG/ssl/qpsmtpd-server.key"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  grep -q 'ssl/qpsmtpd-server.key: the key does not belong to the certificate' "$ERR"
}

@test "the signature hash: SHA-256 before SHA-1 whatever the client's order, SHA-384 when it offers only that" {
  both
  start_server "$QP"
  run client -tls1_2 -sigalgs 'RSA+SHA1:RSA+SHA256' -cipher 'ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0'
  assert_output --partial 'Peer signing digest: SHA256'
  run client -tls1_2 -sigalgs 'ECDSA+SHA1:ECDSA+SHA384'
  assert_output --partial 'Peer signing digest: SHA384'
  assert_output --partial 'Peer signature type: ECDSA'
}

@test "tls_protocols: TLS 1.0 and 1.1 only when a site opts in, then with the CBC suites; a bad value is 421" {
  both
  echo 'TLSv1_2' > "$CFG/tls_protocols"
  start_server "$QP"
  run client -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'
  refute_output --partial '250 2.0.0 conn'
  stop_server
  echo 'SSLv23:!SSLv2:!SSLv3' > "$CFG/tls_protocols"
  start_server "$QP"
  run client -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'
  assert_output --partial 'Protocol  : TLSv1.1'
  assert_output --regexp 'Cipher    : ECDHE-(ECDSA|RSA)-AES128-SHA'
  assert_output --partial '250 2.0.0 conn tls_enabled=1'
  run client -tls1 -cipher 'DEFAULT@SECLEVEL=0'
  assert_output --partial 'Protocol  : TLSv1'
  assert_output --partial '250 2.0.0 conn tls_enabled=1'
  # TLS 1.2 clients still get AEAD
  run send -tls1_2
  assert_output --partial '250 2.0.0 Queued'
  run grep -A1 '^Received:' "$FAKEQ_DIR/1.msg"
  assert_output --partial 'with ESMTPS (TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 encrypted);'
  run send -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'
  assert_output --partial '250 2.0.0 Queued'
  run grep -A1 '^Received:' "$FAKEQ_DIR/2.msg"
  assert_output --regexp 'with ESMTPS \(TLSv1.1 ECDHE-(ECDSA|RSA)-AES128-SHA encrypted\);'
  stop_server
  echo 'SSLv23:!TLSv1_1' > "$CFG/tls_protocols"
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  grep -q 'tls_protocols: a version left out between two others' "$ERR"
}

@test "tls_ciphers: OpenSSL words choose among the suites; one that leaves none is 421" {
  both
  echo 'HIGH:!aECDSA:!AES128:!CHACHA20' > "$CFG/tls_ciphers"
  start_server "$QP"
  run client -tls1_2
  assert_output --partial 'Cipher is ECDHE-RSA-AES256-GCM-SHA384'
  stop_server
  echo 'ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-RSA-CHACHA20-POLY1305' > "$CFG/tls_ciphers"
  start_server "$QP"
  run client -tls1_2
  assert_output --partial 'Cipher is ECDHE-ECDSA-CHACHA20-POLY1305'
  run client -tls1_2 -cipher 'AESGCM'
  refute_output --partial '250 2.0.0 conn'
  stop_server
  echo 'kRSA:DHE' > "$CFG/tls_ciphers"
  printf 'EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 421"
  grep -q 'tls_ciphers: no cipher suite left' "$ERR"
}

@test "client certificates against ssl/qpsmtpd-ca.crt: verified (CN in the notes and Received), none, or not verified" {
  both
  cp "$CERTS/clientca.crt" "$CFG/ssl/qpsmtpd-ca.crt"
  start_server "$QP"
  run client -tls1_2 -cert "$CERTS/client.crt" -key "$CERTS/client.key"
  assert_output --partial 'Acceptable client certificate CA names'
  assert_output --partial '250 2.0.0 conn tls_enabled=1 txn tls_enabled=unset cipher=ECDHE-ECDSA-AES128-GCM-SHA256 client=verified subject=relay.example'
  run client -tls1_2
  assert_output --partial 'client=none subject=unset'
  run client -tls1_2 -cert "$CERTS/rogue.crt" -key "$CERTS/rogue.key"
  assert_output --partial 'client=failed subject=unset'
  run send -tls1_2 -cert "$CERTS/client.crt" -key "$CERTS/client.key"
  assert_output --partial '250 2.0.0 Queued'
  run grep -A1 '^Received:' "$FAKEQ_DIR/1.msg"
  assert_output --partial 'ECDHE-ECDSA-AES128-GCM-SHA256 encrypted; client CN=relay.example verified);'
  run send -tls1_2 -cert "$CERTS/rogue.crt" -key "$CERTS/rogue.key"
  assert_output --partial '250 2.0.0 Queued'
  run grep -A1 '^Received:' "$FAKEQ_DIR/2.msg"
  assert_output --partial 'encrypted; client certificate not verified (BearSSL error 62));'
  wait_sessions 5
  grep -q 'STARTTLS: TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256, client CN=relay.example verified' "$SRVLOG"
}

@test "without a CA file no client certificate is asked for" {
  both
  start_server "$QP"
  run client -tls1_2 -cert "$CERTS/client.crt" -key "$CERTS/client.key"
  refute_output --partial 'Acceptable client certificate CA names'
  assert_output --partial 'client=unset subject=unset'
}
