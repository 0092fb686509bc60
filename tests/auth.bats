#!/usr/bin/env bats
# SMTP AUTH (RFC 4954): PLAIN, LOGIN and CRAM-MD5 through the daemon, byte
# by byte; the plugins auth/auth_flat_file, auth/auth_checkpassword (with
# tests/fake-checkpassword, which checks the checkpassword interface
# strictly) and auth/authdeny; the strict base64 and SASL parsers called
# directly (tests/unit/sasl-check); Received and Authentication-Results after
# AUTH; real clients (swaks, Python's smtplib) under tcpserver.

# shellcheck disable=SC2030,SC2031  # bats runs each test in a subshell

load helper

SASL=$TB/sasl-check
FAKECP=$TB/fake-checkpassword

setup_file() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BATS_FILE_TMPDIR/tls.key" \
    -out "$BATS_FILE_TMPDIR/tls.crt" -days 2 -subj /CN=test.example 2> /dev/null
  # run as root, the sessions are nobody (helper.bash), who must read the key
  [ ${#QPIDS[@]} -eq 0 ] || chmod a+r "$BATS_FILE_TMPDIR/tls.key"
}

setup() {
  mkcfg
  echo 'alice@example.com:secret' > "$CFG/flat_auth_pw"
  echo 'bob@example.com:hunter2' >> "$CFG/flat_auth_pw"
  # no delay after a failure unless a test asks for one
  echo 0 > "$CFG/auth_failure_delay"
  FAKECP_LOG=$BATS_TEST_TMPDIR/cp.log
  FAKECP_USERS=$BATS_TEST_TMPDIR/cp.users
  echo 'carol@example.com:s3cret pass' > "$FAKECP_USERS"
  # for the fake checkpassword under tcpserver (start_server in helper.bash)
  SRV_ENV=(FAKECP_LOG="$FAKECP_LOG" FAKECP_USERS="$FAKECP_USERS")
  SRVPID=
}

teardown() {
  stop_server
}

flat_chain() {
  build_chain auth-flat <<'EOF'
auth/auth_flat_file
auth/authdeny
rcpt_ok
queue/qmail-queue
EOF
}

cpw_chain() {
  build_chain auth-cpw <<EOF
auth/auth_checkpassword checkpw $FAKECP true /bin/true timeout 1
auth/authdeny
rcpt_ok
queue/qmail-queue
EOF
}

cpw_ctl_chain() {
  build_chain auth-cpw-ctl <<'EOF'
auth/auth_checkpassword
auth/authdeny
rcpt_ok
queue/qmail-queue
EOF
}

# base64 of a PLAIN message: authzid, user, password
plain() { printf '%s\0%s\0%s' "$1" "$2" "$3" | base64 -w0; }
b64() { printf '%s' "$1" | base64 -w0; }

# the replies without EHLO's continuation lines, CR dropped
replies() { tr -d '\r' < "$OUT" | grep -v '^250-'; }
# reply N (1 is the greeting)
nth() { replies | sed -n "${1}p"; }

# runs a session with the checkpassword fake's environment
smtp_cp() {
  local bin=$1
  shift
  smtp "$bin" FAKECP_LOG="$FAKECP_LOG" FAKECP_USERS="$FAKECP_USERS" "$@"
}

# ------------------------------------------------------------ the parsers

@test "strict base64: whole token, right length and padding, zero pad bits, no white space" {
  run "$SASL" b64 'YWJj'
  assert_output 'ok 616263'
  run "$SASL" b64 'YWI='
  assert_output 'ok 6162'
  run "$SASL" b64 'YQ=='
  assert_output 'ok 61'
  for bad in '!!!!' 'AAA' 'YWJjZA' 'YWJj=' 'YW=j' 'YQ=a' '=YWJ' 'YWJ=' 'YR==' 'YW Jj' 'YWJj YWJj' 'YWJjx' '===='; do
    run "$SASL" b64 "$bad"
    assert_output 'bad'
  done
}

@test "PLAIN messages: exactly two NULs, a user and a password, no CR or LF, authzid only if it is the user" {
  run "$SASL" plain "$(plain '' alice@example.com secret)"
  assert_output 'user=alice@example.com pass=secret'
  run "$SASL" plain "$(plain alice@example.com alice@example.com secret)"
  assert_output 'user=alice@example.com pass=secret'
  run "$SASL" plain "$(plain admin alice@example.com secret)"
  assert_output 'authzid user=alice@example.com'
  run "$SASL" plain "$(printf 'a\0b' | base64 -w0)"
  assert_output 'malformed'
  run "$SASL" plain "$(printf 'a\0b\0c\0d' | base64 -w0)"
  assert_output 'malformed'
  run "$SASL" plain "$(printf '\0user\0pa\rss' | base64 -w0)"
  assert_output 'malformed'
  run "$SASL" plain "$(printf '\0\0pass' | base64 -w0)"
  assert_output 'malformed'
  run "$SASL" plain "$(printf '\0user\0' | base64 -w0)"
  assert_output 'malformed'
}

@test "CRAM-MD5: the RFC 2195 example digest, and responses that are not 'user SP 32 hex digits' are malformed" {
  run "$SASL" digest tanstaaftanstaaf '<1896.697170952@postoffice.reston.mci.net>'
  assert_output 'b913a602c7eda7a495b4e6e7334d3890'
  run "$SASL" cram "$(b64 'tim B913A602C7EDA7A495B4E6E7334D3890')"
  assert_output 'user=tim digest=b913a602c7eda7a495b4e6e7334d3890'
  for bad in 'tim b913a602c7eda7a495b4e6e7334d389' 'tim  b913a602c7eda7a495b4e6e7334d38900' \
             ' b913a602c7eda7a495b4e6e7334d3890' 'tim b913a602c7eda7a495b4e6e7334d389g' 'timb913a602c7eda7a495b4e6e7334d3890'; do
    run "$SASL" cram "$(b64 "$bad")"
    assert_output 'malformed'
  done
}

# ------------------------------------------------------------ advertising

@test "EHLO advertises AUTH PLAIN LOGIN CRAM-MD5 with auth_flat_file; HELO does not" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  tr -d '\r' < "$OUT" | grep -qx '250 AUTH PLAIN LOGIN CRAM-MD5'
  printf 'HELO c.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  refute grep -q AUTH "$OUT"
}

@test "auth_checkpassword checks only clear-text passwords: CRAM-MD5 is not offered" {
  QP=$(cpw_chain)
  printf 'EHLO c.example\r\nAUTH CRAM-MD5\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  tr -d '\r' < "$OUT" | grep -qx '250 AUTH PLAIN LOGIN'
  [ "$(nth 3)" = '504 5.5.4 Unimplemented authentication mechanism: cram-md5' ]
}

@test "without an auth plugin there is no AUTH: not advertised, and the command is unknown (500)" {
  QP=$(default_chain)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' alice@example.com secret)" > "$IN"
  smtp "$QP"
  refute grep -q AUTH "$OUT"
  [ "$(nth 3)" = '500 5.5.1 Unrecognized command' ]
}

# ------------------------------------------------------------ PLAIN

@test "AUTH PLAIN with an initial response: 235 and the client may relay" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nRSET\r\nAUTH PLAIN %s\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' \
    "$(plain '' alice@example.com secret)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 250 550 250 235 250 250 221' ]
  [ "$(nth 4)" = '550 5.7.1 Relaying denied' ]
  [ "$(nth 6)" = '235 2.7.0 PLAIN authentication successful for alice@example.com - auth_flat_file' ]
  [ "$(nth 8)" = '250 2.1.5 <x@elsewhere.example>, recipient ok' ]
}

@test "AUTH PLAIN without an initial response: an empty 334 challenge, then 235" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nAUTH PLAIN\r\n%s\r\nQUIT\r\n' "$(plain '' bob@example.com hunter2)" > "$IN"
  smtp "$QP"
  [ "$(nth 3)" = '334 ' ]
  [ "$(nth 4)" = '235 2.7.0 PLAIN authentication successful for bob@example.com - auth_flat_file' ]
  [ "$(nth 5 | cut -c1-3)" = 221 ]
}

@test "the user name is compared without regard to case, the password exactly" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' ALICE@Example.COM secret)" > "$IN"
  smtp "$QP"
  [ "$(nth 3 | cut -c1-3)" = 235 ]
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' alice@example.com Secret)" > "$IN"
  smtp "$QP"
  [ "$(nth 3)" = '535 5.7.8 Authentication failed' ]
  grep -q 'warn AUTH PLAIN failed for alice@example.com from 192.0.2.1: auth_flat_file - wrong password$' "$ERR"
}

@test "an unknown user is refused by authdeny (535) and logged" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' mallory@example.com secret)" > "$IN"
  smtp "$QP"
  [ "$(nth 3)" = '535 5.7.8 Authentication failed' ]
  grep -q 'auth/authdeny: fail: cannot authenticate mallory@example.com (plain)' "$ERR"
  grep -q 'warn AUTH PLAIN failed for mallory@example.com from 192.0.2.1: mallory@example.com is not free to abuse my relay$' "$ERR"
}

# one reply for a wrong password and for an unknown user: a client must
# not learn which user names exist; the log keeps the reason, never the
# password
@test "auth_flat_file: a known user with a wrong password and an unknown user get byte-identical replies" {
  QP=$(flat_chain)
  echo 10 > "$CFG/auth_failure_limit"
  local u
  for u in alice mallory; do
    printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH LOGIN\r\n%s\r\n%s\r\nQUIT\r\n' \
      "$(plain '' $u@example.com Wr0ngPw)" "$(b64 $u@example.com)" "$(b64 Wr0ngPw)" > "$IN"
    smtp "$QP"
    [ "$(codes)" = '220 250 535 334 334 535 221' ]
    cp "$OUT" "$BATS_TEST_TMPDIR/out.$u"
    tr -d '\r' < "$OUT" | grep -v '^250-' | grep -c '^535 5.7.8 Authentication failed$' | grep -qx 2
    refute grep -q -e Wr0ngPw -e "$(b64 Wr0ngPw)" -e "$(plain '' $u@example.com Wr0ngPw)" "$ERR"
    cp "$ERR" "$BATS_TEST_TMPDIR/err.$u"
  done
  cmp "$BATS_TEST_TMPDIR/out.alice" "$BATS_TEST_TMPDIR/out.mallory"
  grep -q 'AUTH PLAIN failed for alice@example.com from 192.0.2.1: auth_flat_file - wrong password$' "$BATS_TEST_TMPDIR/err.alice"
  grep -q 'auth/auth_flat_file: fail: no such user: mallory@example.com' "$BATS_TEST_TMPDIR/err.mallory"
  # CRAM-MD5 too (its challenge differs each time: compare the 535 lines)
  run cram "$QP" alice@example.com Wr0ngPw
  a=$(printf '%s\n' "$output" | grep '^535')
  run cram "$QP" mallory@example.com Wr0ngPw
  m=$(printf '%s\n' "$output" | grep '^535')
  [ "$a" = '535 5.7.8 Authentication failed' ]
  [ "$a" = "$m" ]
}

@test "PLAIN with another authorization identity is refused (535); malformed PLAIN messages get 501" {
  QP=$(flat_chain)
  {
    printf 'EHLO c.example\r\n'
    printf 'AUTH PLAIN %s\r\n' "$(plain admin@example.com alice@example.com secret)"
    printf 'AUTH PLAIN %s\r\n' "$(printf 'a\0b' | base64 -w0)"
    printf 'QUIT\r\n'
  } > "$IN"
  echo 10 > "$CFG/auth_failure_limit"
  smtp "$QP"
  [ "$(nth 3)" = '535 5.7.8 Authentication failed' ]
  [ "$(nth 4)" = '501 5.5.2 Invalid authentication string' ]
  {
    printf 'EHLO c.example\r\n'
    printf 'AUTH PLAIN %s\r\n' "$(printf 'a\0b\0c\0d' | base64 -w0)"
    printf 'AUTH PLAIN %s\r\n' "$(printf '\0alice@example.com\0sec\rret' | base64 -w0)"
    printf 'AUTH PLAIN =\r\n'
    printf 'QUIT\r\n'
  } > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 501 501 501 221' ]
}

@test "bad base64 gets 501: not base64, bad length, trailing garbage, two tokens" {
  QP=$(flat_chain)
  echo 10 > "$CFG/auth_failure_limit"
  good=$(plain '' alice@example.com secret)
  # the last one lacks its padding
  printf 'EHLO c.example\r\nAUTH PLAIN !!!!\r\nAUTH PLAIN AAA\r\nAUTH PLAIN %sgarbage\r\nAUTH PLAIN %s x\r\nAUTH PLAIN\r\n%s\r\nQUIT\r\n' \
    "$good" "$good" "${good%==}" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 501 501 501 501 334 501 221' ]
  [ "$(nth 3)" = '501 5.5.2 Cannot decode the base64 response' ]
  refute grep -q '^235' "$OUT"
}

@test "* cancels with 501 at every step of PLAIN, LOGIN and CRAM-MD5" {
  QP=$(flat_chain)
  echo 10 > "$CFG/auth_failure_limit"
  printf 'EHLO c.example\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n*\r\nAUTH LOGIN\r\n%s\r\n*\r\nAUTH CRAM-MD5\r\n*\r\nQUIT\r\n' "$(b64 alice@example.com)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 334 501 334 501 334 334 501 334 501 221' ]
  [ "$(nth 4)" = '501 5.7.0 Authentication canceled' ]
}

# ------------------------------------------------------------ LOGIN

@test "AUTH LOGIN asks for Username: and Password: in base64, then 235" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nAUTH LOGIN\r\n%s\r\n%s\r\nQUIT\r\n' "$(b64 alice@example.com)" "$(b64 secret)" > "$IN"
  smtp "$QP"
  [ "$(nth 3)" = '334 VXNlcm5hbWU6' ]
  [ "$(nth 4)" = '334 UGFzc3dvcmQ6' ]
  [ "$(nth 5)" = '235 2.7.0 LOGIN authentication successful for alice@example.com - auth_flat_file' ]
}

@test "AUTH LOGIN with the user name as initial response asks only for the password" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nAUTH LOGIN %s\r\n%s\r\nQUIT\r\n' "$(b64 alice@example.com)" "$(b64 wrong)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 334 535 221' ]
  [ "$(nth 3)" = '334 UGFzc3dvcmQ6' ]
  [ "$(nth 4)" = '535 5.7.8 Authentication failed' ]
}

@test "AUTH LOGIN with bad base64 at the user name and at the password step gets 501" {
  QP=$(flat_chain)
  echo 10 > "$CFG/auth_failure_limit"
  printf 'EHLO c.example\r\nAUTH LOGIN\r\nnot base64\r\nAUTH LOGIN\r\n%s\r\n%%%%%%%%\r\nAUTH LOGIN\r\n%s\r\n\r\nQUIT\r\n' \
    "$(b64 alice@example.com)" "$(b64 alice@example.com)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 334 501 334 334 501 334 334 501 221' ]
  [ "$(nth 4)" = '501 5.5.2 Cannot decode the base64 response' ]
  [ "$(nth 10)" = '501 5.5.2 Invalid authentication string' ]
}

# ------------------------------------------------------------ CRAM-MD5

# cram BIN USER SECRET: a CRAM-MD5 exchange that answers the challenge it
# gets; prints the replies, then "ticket=<the decoded challenge>"
cram() {
  cd "$BATS_TEST_TMPDIR" || return 1
  env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" \
    timeout 20 python3 - "$@" <<'EOF'
import base64, hmac, subprocess, sys
qp, user, secret = sys.argv[1:4]
p = subprocess.Popen([qp], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def line():
    l = p.stdout.readline().decode().rstrip("\r\n")
    print(l)
    return l
def send(x):
    p.stdin.write(x.encode() + b"\r\n"); p.stdin.flush()
line()
send("EHLO c.example")
while not line().startswith("250 "):
    pass
send("AUTH CRAM-MD5")
ch = line()
ticket = base64.b64decode(ch[4:]).decode()
d = hmac.new(secret.encode(), ticket.encode(), "md5").hexdigest()
send(base64.b64encode((user + " " + d).encode()).decode())
line()
send("QUIT")
line()
print("ticket=" + ticket)
EOF
}

@test "AUTH CRAM-MD5: a <random.time@me> challenge, and the computed HMAC-MD5 response gets 235" {
  QP=$(flat_chain)
  run cram "$QP" alice@example.com secret
  assert_success
  assert_line --regexp '^334 [A-Za-z0-9+/=]+$'
  assert_line '235 2.7.0 CRAM-MD5 authentication successful for alice@example.com - auth_flat_file'
  assert_line --regexp '^ticket=<[0-9a-f]{16}\.[0-9a-f]+@test\.example>$'
  first=$(printf '%s\n' "$output" | sed -n 's/^ticket=//p')
  run cram "$QP" alice@example.com wrong
  assert_line '535 5.7.8 Authentication failed'
  # a new challenge every time
  refute_line "ticket=$first"
}

@test "AUTH CRAM-MD5 with a malformed response gets 501, with an initial response 501" {
  QP=$(flat_chain)
  echo 10 > "$CFG/auth_failure_limit"
  printf 'EHLO c.example\r\nAUTH CRAM-MD5\r\n%s\r\nAUTH CRAM-MD5 %s\r\nQUIT\r\n' "$(b64 'alice@example.com nothex')" "$(b64 x)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 334 501 501 221' ]
  [ "$(nth 4)" = '501 5.5.2 Invalid authentication string' ]
}

# ------------------------------------------------------------ sequence

@test "AUTH before EHLO, after HELO, twice, in a transaction: 503; unknown mechanism 504; none 501" {
  QP=$(flat_chain)
  good=$(plain '' alice@example.com secret)
  printf 'AUTH PLAIN %s\r\nHELO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$good" "$good" > "$IN"
  smtp "$QP"
  [ "$(nth 2)" = '503 5.5.1 please say EHLO first ...' ]
  [ "$(nth 4)" = '503 5.5.1 AUTH not defined for HELO' ]
  printf 'EHLO c.example\r\nAUTH\r\nAUTH DIGEST-MD5\r\nMAIL FROM:<a@b.example>\r\nAUTH PLAIN %s\r\nRSET\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$good" "$good" "$good" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 501 504 250 503 250 235 503 221' ]
  [ "$(nth 3)" = '501 5.5.4 Syntax error: AUTH needs a mechanism' ]
  [ "$(nth 4)" = '504 5.5.4 Unimplemented authentication mechanism: digest-md5' ]
  [ "$(nth 6)" = '503 5.5.1 AUTH is not allowed during a mail transaction' ]
  [ "$(nth 9)" = '503 5.5.1 but you already said AUTH ...' ]
}

@test "the third failure gets 421 and the connection is closed; auth_failure_limit changes the count" {
  QP=$(flat_chain)
  bad=$(plain '' alice@example.com wrong)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nNOOP\r\nQUIT\r\n' "$bad" "$bad" "$bad" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 535 535 421' ]
  [ "$(nth 5)" = '421 4.7.0 Too many failed AUTH attempts, closing connection' ]
  grep -q 'too many failed AUTH attempts from 192.0.2.1, closing connection' "$ERR"
  echo 1 > "$CFG/auth_failure_limit"
  printf 'EHLO c.example\r\nAUTH PLAIN !!!!\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 421' ]
}

@test "a bad auth_failure_limit or smtpauth-checkpassword is a 421 at connect naming the file and line, not at AUTH" {
  QP=$(flat_chain)
  printf '# at most\n0\n' > "$CFG/auth_failure_limit"
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' alice@example.com wrong)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '421' ]
  grep -q "control file $CFG/auth_failure_limit line 2: must be at least 1" "$ERR"
  rm "$CFG/auth_failure_limit"
  QP=$(cpw_ctl_chain)
  echo 'relative/checkpassword /bin/true' > "$CFG/smtpauth-checkpassword"
  smtp "$QP"
  [ "$(codes)" = '421' ]
  grep -q "control file $CFG/smtpauth-checkpassword line 1: the programs must be absolute paths" "$ERR"
}

@test "each wrong password waits auth_failure_delay before 535; a right one does not wait" {
  QP=$(flat_chain)
  # 1200 ms: a loaded machine (the sanitizer build beside other suites)
  # may take a few hundred ms over a whole session
  echo 1200 > "$CFG/auth_failure_delay"
  bad=$(plain '' alice@example.com wrong)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$bad" "$bad" > "$IN"
  t0=$(date +%s%N)
  smtp "$QP"
  t1=$(date +%s%N)
  [ "$(codes)" = '220 250 535 535 221' ]
  [ $(( (t1 - t0) / 1000000 )) -ge 2400 ]
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' alice@example.com secret)" > "$IN"
  t0=$(date +%s%N)
  smtp "$QP"
  t1=$(date +%s%N)
  [ "$(codes)" = '220 250 235 221' ]
  [ $(( (t1 - t0) / 1000000 )) -lt 1200 ]
}

@test "without auth_failure_delay a wrong password waits 3 seconds" {
  QP=$(flat_chain)
  rm "$CFG/auth_failure_delay"
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' alice@example.com wrong)" > "$IN"
  t0=$(date +%s%N)
  smtp "$QP"
  t1=$(date +%s%N)
  [ "$(codes)" = '220 250 535 221' ]
  [ $(( (t1 - t0) / 1000000 )) -ge 2900 ]
}

# ------------------------------------------------------------ lines

@test "an AUTH line may exceed 1024 octets (RFC 4954's 12288); other commands may not" {
  QP=$(flat_chain)
  long=$(head -c 900 /dev/zero | tr '\0' p)
  echo "carol@example.com:$long" >> "$CFG/flat_auth_pw"
  ir=$(plain '' carol@example.com "$long")
  [ ${#ir} -gt 1100 ]
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nNOOP %s\r\nQUIT\r\n' "$ir" "$ir" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 235 500 221' ]
  [ "$(nth 4)" = '500 5.5.2 Line too long' ]
}

@test "a 20000-octet AUTH line or response is refused whole and never read as commands" {
  QP=$(flat_chain)
  huge=$(head -c 15000 /dev/zero | base64 -w0)
  [ ${#huge} -eq 20000 ]
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH PLAIN\r\n%s\r\nQUIT\r\n' "$huge" "$huge" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 500 334 500 221' ]
  [ "$(nth 3)" = '500 5.5.2 Line too long' ]
  [ "$(nth 5)" = '500 5.5.6 Authentication Exchange line is too long' ]
}

@test "a client that stops answering during AUTH is cut off at the command deadline (421)" {
  QP=$(flat_chain)
  echo 1 > "$CFG/timeoutsmtpd"
  # the client's end stays open (a sleep holds the fifo) until the session ends
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  ( printf 'EHLO c.example\r\nAUTH LOGIN\r\n'; exec sleep 20 ) > "$BATS_TEST_TMPDIR/fifo" 3>&- &
  holder=$!
  t0=$(date +%s)
  (cd "$BATS_TEST_TMPDIR" && env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" \
    timeout 20 "$QP") < "$BATS_TEST_TMPDIR/fifo" > "$OUT" 2> "$ERR"
  t1=$(date +%s)
  kill "$holder"
  [ "$(codes)" = '220 250 334 421' ]
  [ "$(nth 4)" = '421 4.4.2 Connection timed out, closing connection' ]
  grep -q 'timeout waiting for an AUTH response' "$ERR"
  [ $((t1 - t0)) -ge 1 ]
}

@test "the client going away during AUTH ends the session quietly" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nAUTH LOGIN\r\n%s\r\n' "$(b64 alice@example.com)" > "$IN"
  smtp "$QP"
  [ "$RC" -eq 0 ]
  [ "$(codes)" = '220 250 334 334' ]
  grep -q 'client closed the connection during AUTH' "$ERR"
}

# ------------------------------------------------------------ secrets

@test "passwords and AUTH data never reach the log, even at loglevel 7; the user name does" {
  QP=$(flat_chain)
  echo 7 > "$CFG/loglevel"
  p1=$(plain '' alice@example.com secret)
  printf 'EHLO c.example\r\nAUTH LOGIN\r\n%s\r\n%s\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(b64 bob@example.com)" "$(b64 hunter2)" "$p1" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 334 334 235 503 221' ]
  refute grep -q -e secret -e hunter2 -e "$p1" -e "$(b64 hunter2)" -e "$(b64 bob@example.com)" "$ERR"
  grep -q 'info AUTH PLAIN$' "$ERR"
  grep -q 'AUTH LOGIN succeeded for bob@example.com from 192.0.2.1' "$ERR"
}

@test "a user name with control characters is made harmless in the log (the reply does not repeat it)" {
  QP=$(flat_chain)
  printf 'EHLO c.example\r\nAUTH LOGIN\r\n%s\r\n%s\r\nQUIT\r\n' "$(printf 'x\033[31m@example.com' | base64 -w0)" "$(b64 pw)" > "$IN"
  smtp "$QP"
  [ "$(nth 5)" = '535 5.7.8 Authentication failed' ]
  grep -q 'AUTH LOGIN failed for x?\[31m@example.com from 192.0.2.1: x?\[31m@example.com is not free' "$ERR"
  refute grep -q $'\033' "$ERR"
}

# ------------------------------------------------------------ headers

# one message after an optional AUTH line; the stored message in $MSGFILE
send_one() {
  local auth=$1
  shift
  {
    printf 'EHLO c.example\r\n'
    [ -z "$auth" ] || printf '%s\r\n' "$auth"
    printf 'MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n'
  } > "$IN"
  smtp "$QP" "$@"
  MSGFILE=$FAKEQ_DIR/$(ls "$FAKEQ_DIR" | grep '\.msg$' | tail -1)
}

@test "after AUTH: Authentication-Results auth=pass on top, then Received with ESMTPA" {
  QP=$(flat_chain)
  send_one "AUTH PLAIN $(plain '' alice@example.com secret)"
  [ "$(queued)" -eq 1 ]
  run head -3 "$MSGFILE"
  assert_line --index 0 'Authentication-Results: test.example; auth=pass (plain) smtp.auth=alice@example.com'
  assert_line --index 1 'Received: from [192.0.2.1] (HELO c.example) (192.0.2.1)'
  assert_line --index 2 --regexp $'^\tby test\\.example \\(qpsmtpd/[0-9.]+\\) with ESMTPA; '
}

@test "on an encrypted channel (SSL_PROTOCOL) the Received header says ESMTPSA" {
  QP=$(flat_chain)
  send_one "AUTH PLAIN $(plain '' alice@example.com secret)" SSL_PROTOCOL=TLSv1.2
  grep -q $'^\tby test\\.example (qpsmtpd/[0-9.]*) with ESMTPSA; ' "$MSGFILE"
  send_one ""  SSL_PROTOCOL=TLSv1.2
  grep -q $'^\tby test\\.example (qpsmtpd/[0-9.]*) with ESMTPS; ' "$MSGFILE"
}

@test "Authentication-Results says auth=none without AUTH, auth=fail after a failed one; me-auth-results sets the id or turns it off" {
  QP=$(flat_chain)
  send_one ""
  head -1 "$MSGFILE" | grep -qx 'Authentication-Results: test.example; auth=none'
  grep -q $'with ESMTP; ' "$MSGFILE"
  rm -f "$FAKEQ_DIR"/*
  send_one "AUTH PLAIN $(plain '' alice@example.com wrong)"
  head -1 "$MSGFILE" | grep -qx 'Authentication-Results: test.example; auth=fail (plain) smtp.auth=alice@example.com'
  echo mx.example.org > "$CFG/me-auth-results"
  send_one ""
  head -1 "$MSGFILE" | grep -qx 'Authentication-Results: mx.example.org; auth=none'
  echo none > "$CFG/me-auth-results"
  send_one ""
  refute grep -q '^Authentication-Results:' "$MSGFILE"
  head -1 "$MSGFILE" | grep -q '^Received: '
}

@test "the client's Authentication-Results claiming our authserv-id are removed (folded, quoted, any case); others stay" {
  QP=$(flat_chain)
  {
    printf 'EHLO c.example\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n'
    printf 'Authentication-Results: test.example; spf=pass smtp.mailfrom=forged.example\r\n'
    printf 'Authentication-Results: other.example; dkim=pass header.d=other.example\r\n'
    printf 'Authentication-Results: (a comment)\r\n TEST.Example 1;\r\n\tdkim=pass header.d=forged.example\r\n'
    printf 'Authentication-Results: "test.example"; dmarc=pass\r\n'
    printf 'Authentication-Results: test.example.evil; dmarc=pass\r\n'
    printf 'Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n'
  } > "$IN"
  smtp "$QP"
  MSGFILE=$FAKEQ_DIR/$(ls "$FAKEQ_DIR" | grep '\.msg$' | tail -1)
  run grep -c '^Authentication-Results:' "$MSGFILE"
  assert_output 3
  head -1 "$MSGFILE" | grep -qx 'Authentication-Results: test.example; auth=none'
  grep -qx 'Authentication-Results: other.example; dkim=pass header.d=other.example' "$MSGFILE"
  grep -qx 'Authentication-Results: test.example.evil; dmarc=pass' "$MSGFILE"
  refute grep -q 'forged' "$MSGFILE"
  refute grep -q 'dmarc=pass$' <(grep -v evil "$MSGFILE")
  grep -q '^Subject: t$' "$MSGFILE"
  grep -q "removed the client's Authentication-Results claiming our authserv-id" "$ERR"
}

# ------------------------------------------------------------ tls_before_auth

@test "tls_before_auth: no AUTH in clear text (538); on an encrypted channel AUTH works" {
  QP=$(flat_chain)
  echo 1 > "$CFG/tls_before_auth"
  good=$(plain '' alice@example.com secret)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$good" > "$IN"
  smtp "$QP"
  refute grep -q '^250.AUTH' "$OUT"
  [ "$(nth 3)" = '538 5.7.11 SSL/TLS required before AUTH' ]
  smtp "$QP" SSL_PROTOCOL=TLSv1.2
  tr -d '\r' < "$OUT" | grep -qx '250 AUTH PLAIN LOGIN CRAM-MD5'
  [ "$(nth 3 | cut -c1-3)" = 235 ]
  echo 0 > "$CFG/tls_before_auth"
  smtp "$QP"
  [ "$(nth 3 | cut -c1-3)" = 235 ]
}

# ------------------------------------------------------------ hooks

@test "hooks: auth-<mech> runs first; when it declines, the generic auth hook decides (DENYSOFT: 454)" {
  QP=$(build_chain auth-hooks1 <<'EOF'
tests/auth_result auth-plain DECLINED
tests/auth_result auth DENYSOFT try later
EOF
)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' u@example.com pw)" > "$IN"
  smtp "$QP"
  [ "$(nth 3)" = '454 4.7.0 PLAIN temporary authentication failure for u@example.com - try later' ]
  grep -q 'tests/auth_result: auth-plain mech=plain user=u@example.com pass=given$' "$ERR"
  grep -q 'tests/auth_result: auth mech=plain user=u@example.com pass=given$' "$ERR"
}

@test "hooks: a DENY from auth-<mech> is final; OK from auth gives 235 with its text; CRAM-MD5 passes digest and ticket" {
  QP=$(build_chain auth-hooks2 <<'EOF'
tests/auth_result auth-login DENY no such luck
tests/auth_result auth OK welcome
EOF
)
  printf 'EHLO c.example\r\nAUTH LOGIN %s\r\n%s\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(b64 u@example.com)" "$(b64 pw)" "$(plain '' v@example.com pw)" > "$IN"
  smtp "$QP"
  [ "$(nth 4)" = '535 5.7.8 Authentication failed' ]
  [ "$(nth 5)" = '235 2.7.0 PLAIN authentication successful for v@example.com - welcome' ]
  refute grep -q 'tests/auth_result: auth mech=login' "$ERR"
  run cram "$QP" w@example.com anything
  assert_line '235 2.7.0 CRAM-MD5 authentication successful for w@example.com - welcome'
}

@test "hooks: DENY_DISCONNECT gets 535 and closes; auth_parse may refuse (501) or rewrite the arguments" {
  QP=$(build_chain auth-hooks3 <<'EOF'
tests/auth_result auth DENY_DISCONNECT go away
EOF
)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nNOOP\r\n' "$(plain '' u@example.com pw)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 535' ]
  QP=$(build_chain auth-hooks4 <<'EOF'
tests/auth_result auth_parse DENY not like that
EOF
)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' u@example.com pw)" > "$IN"
  smtp "$QP"
  [ "$(nth 3)" = '501 5.5.4 not like that' ]
  QP=$(build_chain auth-hooks5 <<EOF
tests/auth_result auth_parse OK PLAIN $(plain '' alice@example.com secret)
auth/auth_flat_file
EOF
)
  printf 'EHLO c.example\r\nAUTH whatever\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  [ "$(nth 3)" = '235 2.7.0 PLAIN authentication successful for alice@example.com - auth_flat_file' ]
}

# ------------------------------------------------------------ flat file

@test "MAIL AUTH= (RFC 4954 5): <> and xtext accepted; trusted only after AUTH, else treated as <>; malformed or repeated is 501" {
  QP=$(flat_chain)
  { printf 'EHLO c.example\r\n'
    printf 'MAIL FROM:<a@b.example> AUTH=<>\r\n'
    printf 'MAIL FROM:<a@b.example> AUTH=bob+2Btag@example.com\r\n'
    printf 'RSET\r\nAUTH PLAIN %s\r\n' "$(plain '' alice@example.com secret)"
    printf 'MAIL FROM:<alice@example.com> AUTH=alice+2Btag@example.com\r\n'
    printf 'MAIL FROM:<alice@example.com> auth=<>\r\n'
    printf 'MAIL FROM:<alice@example.com> AUTH=<> AUTH=<>\r\n'
    printf 'MAIL FROM:<alice@example.com> AUTH=a+2\r\n'
    printf 'MAIL FROM:<alice@example.com> AUTH=a+0Db@example.com\r\n'
    printf 'MAIL FROM:<alice@example.com> AUTH=not+20an+20address\r\n'
    printf 'MAIL FROM:<alice@example.com> AUTH\r\n'
    printf 'MAIL FROM:<alice@example.com> AUTH=+22a+20b+22@example.com SIZE=10\r\n'
    printf 'RCPT TO:<x@elsewhere.example>\r\nDATA\r\nSubject: a\r\n\r\nx\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" '220 250 250 250 250 235 250 250 501 501 501 501 501 250 250 354 250 221'
  assert_equal "$(nth 9)" '501 5.5.4 Syntax error in AUTH parameter'
  grep -q ' info AUTH=<> kept as auth_sender$' "$ERR"
  grep -q ' info AUTH=<bob+tag@example.com> from a client that did not authenticate: treated as <>$' "$ERR"
  grep -q ' info AUTH=<alice+tag@example.com> kept as auth_sender$' "$ERR"
  grep -q ' info AUTH=<"a b"@example.com> kept as auth_sender$' "$ERR"
  [ "$(queued)" -eq 1 ]
}

@test "MAIL AUTH= is an unknown parameter (555) when no auth plugin offers AUTH" {
  QP=$(default_chain)
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example> AUTH=<>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" '220 250 555 221'
  assert_equal "$(nth 3)" '555 5.5.4 Unsupported parameter auth'
}

@test "a flat_auth_pw line without ':' is a configuration error at AUTH: 421, naming the file and the line" {
  QP=$(flat_chain)
  printf '# third line\nno-colon-here\n' >> "$CFG/flat_auth_pw"
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' alice@example.com secret)" > "$IN"
  smtp "$QP"
  [ "$(codes)" = '220 250 421' ]
  grep -q "control file $CFG/flat_auth_pw line 4: an entry has no ':' between user and password" "$ERR"
  ! grep -q 'no-colon-here' "$ERR"
}

# ------------------------------------------------------------ checkpassword

@test "checkpassword: fd 3 carries user, password and an empty timestamp; argv is checkpw and true; 235" {
  QP=$(cpw_chain)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nMAIL FROM:<c@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' \
    "$(plain '' carol@example.com 's3cret pass')" > "$IN"
  smtp_cp "$QP"
  [ "$(nth 3)" = '235 2.7.0 PLAIN authentication successful for carol@example.com - auth_checkpassword' ]
  [ "$(nth 5)" = '250 2.1.5 <x@elsewhere.example>, recipient ok' ]
  grep -Eq "^pid=[0-9]+ argv=$FAKECP,/bin/true user=carol@example.com passlen=11 ts= fd0=chardev fd1=chardev fd2=file$" "$FAKECP_LOG"
  grep -q 'fake-checkpassword: checking carol@example.com' "$ERR"
}

@test "checkpassword with AUTH LOGIN; a wrong password (exit 1) falls through to authdeny: 535" {
  QP=$(cpw_chain)
  printf 'EHLO c.example\r\nAUTH LOGIN\r\n%s\r\n%s\r\nAUTH LOGIN %s\r\n%s\r\nQUIT\r\n' \
    "$(b64 carol@example.com)" "$(b64 wrong)" "$(b64 carol@example.com)" "$(b64 's3cret pass')" > "$IN"
  smtp_cp "$QP"
  [ "$(codes)" = '220 250 334 334 535 334 235 221' ]
  [ "$(nth 5)" = '535 5.7.8 Authentication failed' ]
  grep -q 'auth/auth_checkpassword: fail: .*fake-checkpassword rejected carol@example.com (exit 1)' "$ERR"
}

@test "auth_checkpassword: a known user with a wrong password and an unknown user get byte-identical replies" {
  QP=$(cpw_chain)
  echo 10 > "$CFG/auth_failure_limit"
  local u
  for u in carol dave; do
    printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH LOGIN\r\n%s\r\n%s\r\nQUIT\r\n' \
      "$(plain '' $u@example.com Wr0ngPw)" "$(b64 $u@example.com)" "$(b64 Wr0ngPw)" > "$IN"
    smtp_cp "$QP"
    [ "$(codes)" = '220 250 535 334 334 535 221' ]
    cp "$OUT" "$BATS_TEST_TMPDIR/out.$u"
    grep -q "fake-checkpassword rejected $u@example.com (exit 1)" "$ERR"
    refute grep -q -e Wr0ngPw -e "$(b64 Wr0ngPw)" -e "$(plain '' $u@example.com Wr0ngPw)" "$ERR"
  done
  cmp "$BATS_TEST_TMPDIR/out.carol" "$BATS_TEST_TMPDIR/out.dave"
  [ "$(tr -d '\r' < "$OUT" | grep '^535' | sort -u)" = '535 5.7.8 Authentication failed' ]
}

@test "checkpassword exit 111, another exit code or a crash is a temporary failure: 454" {
  QP=$(cpw_chain)
  echo 10 > "$CFG/auth_failure_limit"
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nAUTH PLAIN %s\r\nQUIT\r\n' \
    "$(plain '' temp@example.com x)" "$(plain '' odd@example.com x)" "$(plain '' crash@example.com x)" > "$IN"
  smtp_cp "$QP"
  [ "$(codes)" = '220 250 454 454 454 221' ]
  [ "$(nth 3)" = '454 4.7.0 PLAIN temporary authentication failure for temp@example.com - auth_checkpassword - temporary failure' ]
  grep -q 'failed temporarily (exit 111)' "$ERR"
  grep -q 'failed temporarily (exit 7)' "$ERR"
  grep -q 'crashed (signal 11)' "$ERR"
}

@test "a checkpassword that hangs is killed at its deadline: 454, and it is gone" {
  QP=$(cpw_chain)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' hang@example.com x)" > "$IN"
  t0=$(date +%s)
  smtp_cp "$QP"
  t1=$(date +%s)
  [ "$(codes)" = '220 250 454 221' ]
  [ $((t1 - t0)) -le 4 ]
  grep -q 'did not finish within 1 seconds; killed' "$ERR"
  pid=$(sed -n 's/^pid=\([0-9]*\) .*user=hang@.*/\1/p' "$FAKECP_LOG")
  [ -n "$pid" ]
  ! kill -0 "$pid" 2> /dev/null || false
}

@test "checkpassword from the smtpauth-checkpassword control file; a missing program is a temporary failure" {
  QP=$(cpw_ctl_chain)
  echo "$FAKECP /bin/true" > "$CFG/smtpauth-checkpassword"
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(plain '' carol@example.com 's3cret pass')" > "$IN"
  smtp_cp "$QP"
  [ "$(nth 3 | cut -c1-3)" = 235 ]
  echo "/nonexistent/checkpassword /bin/true" > "$CFG/smtpauth-checkpassword"
  smtp_cp "$QP"
  [ "$(nth 3 | cut -c1-3)" = 454 ]
  # the program may be gone before the password is written: ", short write" then
  grep -q '/nonexistent/checkpassword failed temporarily (exit 111[,)]' "$ERR"
  echo "$FAKECP" > "$CFG/smtpauth-checkpassword"
  smtp_cp "$QP"
  [ "$(codes)" = '421' ]
  grep -q "control file $CFG/smtpauth-checkpassword line 1: needs the checkpassword program" "$ERR"
}

@test "bad auth_checkpassword arguments fail the build" {
  run build_chain auth-cpw-bad <<'EOF'
auth/auth_checkpassword checkpw relative/path true /bin/true
EOF
  assert_failure
  run build_chain auth-cpw-bad <<'EOF'
auth/auth_checkpassword checkpw /bin/false
EOF
  assert_failure
}

@test "under xinetd (the client's socket on fds 0, 1 and 2) checkpassword writes nothing to the client" {
  QP=$(cpw_chain)
  run timeout 20 python3 - "$QP" "$CFG" "$FAKECP_LOG" "$FAKECP_USERS" "$(plain '' carol@example.com 's3cret pass')" <<'EOF'
import os, socket, subprocess, sys
qp, cfg, log, users, ir = sys.argv[1:]
c, srv = socket.socketpair()
c.settimeout(10)
env = {"PATH": "/usr/bin:/bin", "QPSMTPD_CONFIG": cfg, "FAKECP_LOG": log, "FAKECP_USERS": users}
if os.getuid() == 0: import pwd; pw = pwd.getpwnam("nobody"); env.update(UID=str(pw.pw_uid), GID=str(pw.pw_gid))
p = subprocess.Popen([qp], stdin=srv, stdout=srv, stderr=srv, env=env, close_fds=True, cwd=os.path.dirname(cfg))
srv.close()
f = c.makefile("rb")
for cmd in [None, b"EHLO c.example", b"AUTH PLAIN " + ir.encode(), b"QUIT"]:
    if cmd:
        c.sendall(cmd + b"\r\n")
    while True:
        line = f.readline()
        sys.stdout.write(line.decode("ascii", "replace").replace("\r\n", "\n"))
        if not line or line[3:4] != b"-":
            break
sys.stdout.write(f.read().decode("ascii", "replace"))
print("exit %d" % p.wait(timeout=10))
EOF
  assert_success
  assert_line '235 2.7.0 PLAIN authentication successful for carol@example.com - auth_checkpassword'
  refute_output --partial 'fake-checkpassword'
  assert_line 'exit 0'
  grep -q 'user=carol@example.com .* fd0=chardev fd1=chardev fd2=chardev$' "$FAKECP_LOG"
}

# ------------------------------------------------------------ real clients

@test "swaks --auth PLAIN, LOGIN and CRAM-MD5 through tcpserver relay a message; a wrong password fails" {
  QP=$(flat_chain)
  start_server "$QP"
  for mech in PLAIN LOGIN CRAM-MD5; do
    run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --auth "$mech" \
      --auth-user alice@example.com --auth-password secret \
      --from alice@example.com --to "x@elsewhere.example" --body "via $mech"
    assert_success
    assert_output --partial "<-  235 2.7.0 $mech authentication successful for alice@example.com"
    assert_output --regexp '<-  250 2\.0\.0 Queued!'
  done
  [ "$(queued)" -eq 3 ]
  grep -q 'with ESMTPA; ' "$FAKEQ_DIR/1.msg"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --auth LOGIN \
    --auth-user alice@example.com --auth-password nope --from alice@example.com --to x@elsewhere.example
  assert_failure
  assert_output --partial '<** 535 5.7.8 Authentication failed'
  [ "$(queued)" -eq 3 ]
}

@test "Python smtplib login() (CRAM-MD5 first) and PLAIN against checkpassword through tcpserver" {
  QP=$(flat_chain)
  start_server "$QP"
  run timeout 20 python3 - "$PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
s.ehlo()
print("auth:", s.esmtp_features.get("auth").strip())
print("login:", s.login("bob@example.com", "hunter2"))
print("refused:", s.sendmail("bob@example.com", ["y@elsewhere.example"], b"Subject: py\r\n\r\nhi\r\n"))
s.quit()
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
try:
    s.login("bob@example.com", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("error:", e.smtp_code)
EOF
  # login() tries CRAM-MD5, PLAIN, LOGIN in turn: the third failure is the limit
  assert_success
  assert_line 'auth: PLAIN LOGIN CRAM-MD5'
  assert_line "login: (235, b'2.7.0 CRAM-MD5 authentication successful for bob@example.com - auth_flat_file')"
  assert_line 'refused: {}'
  assert_line 'error: 421'
  stop_server
  QP=$(cpw_chain)
  start_server "$QP"
  run timeout 20 python3 - "$PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
s.ehlo()
print("login:", s.login("carol@example.com", "s3cret pass"))
s.quit()
EOF
  assert_success
  assert_line "login: (235, b'2.7.0 PLAIN authentication successful for carol@example.com - auth_checkpassword')"
  grep -q 'fd0=chardev fd1=chardev' "$FAKECP_LOG"
}

# ------------------------------------------------------------ with real TLS

tls_chain() {
  mkdir -p "$CFG/ssl"
  cp "$BATS_FILE_TMPDIR/tls.crt" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$BATS_FILE_TMPDIR/tls.key" "$CFG/ssl/qpsmtpd-server.key"
  build_chain auth-tls <<'EOF'
tls
auth/auth_flat_file
auth/authdeny
rcpt_ok
queue/qmail-queue
EOF
}

@test "Python smtplib sends MAIL with AUTH=<> before login and AUTH=xtext after: both queued, only the second trusted" {
  QP=$(flat_chain)
  start_server "$QP"
  run timeout 20 python3 - "$PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
s.ehlo()
print("anon:", s.sendmail("a@b.example", ["bob@example.com"], b"Subject: 1\r\n\r\nhi\r\n", mail_options=["AUTH=<>"]))
print("anon2:", s.sendmail("a@b.example", ["bob@example.com"], b"Subject: 2\r\n\r\nhi\r\n", mail_options=["AUTH=eve+40example.com"]))
print("login:", s.login("bob@example.com", "hunter2")[0])
print("auth:", s.sendmail("bob@example.com", ["y@elsewhere.example"], b"Subject: 3\r\n\r\nhi\r\n", mail_options=["AUTH=bob+2Bsub@example.com"]))
s.quit()
EOF
  assert_success
  assert_line 'anon: {}'
  assert_line 'anon2: {}'
  assert_line 'login: 235'
  assert_line 'auth: {}'
  wait_sessions 1
  stop_server
  [ "$(queued)" -eq 3 ]
  grep -q ' info AUTH=<> kept as auth_sender$' "$SRVLOG"
  grep -q ' info AUTH=<eve@example.com> from a client that did not authenticate: treated as <>$' "$SRVLOG"
  grep -q ' info AUTH=<bob+sub@example.com> kept as auth_sender$' "$SRVLOG"
}

@test "tls_before_auth: swaks --tls --auth sees AUTH only after STARTTLS, relays, and gets ESMTPSA" {
  QP=$(tls_chain)
  echo 1 > "$CFG/tls_before_auth"
  start_server "$QP"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --tls --auth PLAIN \
    --auth-user alice@example.com --auth-password secret --from alice@example.com --to x@elsewhere.example
  assert_success
  # in clear text: STARTTLS, no AUTH; inside TLS (swaks marks it <~): AUTH
  assert_output --partial '<-  250 STARTTLS'
  refute_output --regexp '<-  250.AUTH'
  assert_output --partial '<~  250 AUTH PLAIN LOGIN CRAM-MD5'
  assert_output --partial '<~  235 2.7.0 PLAIN authentication successful for alice@example.com'
  [ "$(queued)" -eq 1 ]
  grep -Eq $'^\tby test\\.example \\(qpsmtpd/[0-9.]+\\) with ESMTPSA \\(TLSv1\\.2 [A-Z0-9-]+ encrypted\\);' "$FAKEQ_DIR/1.msg"
  head -1 "$FAKEQ_DIR/1.msg" | grep -qx 'Authentication-Results: test.example; auth=pass (plain) smtp.auth=alice@example.com'
  # without TLS the client cannot authenticate at all
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --auth PLAIN \
    --auth-user alice@example.com --auth-password secret --from alice@example.com --to x@elsewhere.example
  assert_failure
  [ "$(queued)" -eq 1 ]
}

@test "STARTTLS after AUTH forgets it: the client must authenticate again to relay" {
  QP=$(tls_chain)
  start_server "$QP"
  run timeout 20 python3 - "$PORT" <<'EOF'
import smtplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
s.ehlo()
print("login:", s.login("alice@example.com", "secret")[0])
print("starttls:", s.starttls(context=ctx)[0])
s.ehlo()
print("auth offered:", "auth" in s.esmtp_features)
s.mail("alice@example.com")
print("rcpt before:", s.rcpt("x@elsewhere.example")[0])
s.rset()
print("login again:", s.login("alice@example.com", "secret")[0])
s.mail("alice@example.com")
print("rcpt after:", s.rcpt("x@elsewhere.example")[0])
s.quit()
EOF
  assert_success
  assert_line 'login: 235'
  assert_line 'starttls: 220'
  assert_line 'auth offered: True'
  assert_line 'rcpt before: 550'
  assert_line 'login again: 235'
  assert_line 'rcpt after: 250'
}
