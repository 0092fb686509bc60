#!/usr/bin/env bats
# limits: sessions at once per IP and per network, the connection rate and
# AUTH failures per IP and per user, across connections, on the directory
# store and on a real redis-server started here; hosts_allow's -m.
# Sessions are held open on a fifo, so that a test can count them, close
# them (EOF) or kill them (-9).

load helper

setup() {
  mkcfg
  DB=$BATS_TEST_TMPDIR/limits
  mkdir -p "$DB"
  echo 0 > "$CFG/auth_failure_delay"
  echo 'alice@example.com:secret' > "$CFG/flat_auth_pw"
  echo 'bob@example.com:hunter2' >> "$CFG/flat_auth_pw"
  HELD=()
  HELDFD=()
  RPID=
}

teardown() {
  local p
  for p in ${HELD[@]+"${HELD[@]}"}; do { kill -9 "$p"; wait "$p"; } 2> /dev/null || true; done
  [ -z "$RPID" ] || { kill "$RPID" 2> /dev/null || true; wait "$RPID" 2> /dev/null || true; rm -rf "$RDIR"; }
}

start_redis() {
  RDIR=$(mktemp -d /tmp/qp-redis.XXXXXX)
  chmod 755 "$RDIR"    # the sessions may be nobody (helper.bash)
  redis-server --port 0 --unixsocket "$RDIR/sock" --unixsocketperm 777 --save '' --appendonly no \
    > "$RDIR/log" 2>&1 3>&- &
  RPID=$!
  for _ in $(seq 100); do
    [ -S "$RDIR/sock" ] && redis-cli -s "$RDIR/sock" ping 2> /dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "redis-server did not start: $(cat "$RDIR/log")" >&2
  return 1
}

lchain() {
  build_chain "limits-$1" <<EOF
$2
auth/auth_flat_file
rcpt_ok
queue/qmail-queue
EOF
}

# hold NAME IP: a session from IP kept open on a fifo; its first reply in
# $REPLY_NAME, its pid in PID_NAME (each session's fd 3 closed: bats waits
# for it)
hold() {
  local name=$1 ip=$2 d=$BATS_TEST_TMPDIR fd i
  mkfifo "$d/$name.in"
  # the fifos of the sessions held before are not this one's to keep open
  (for fd in ${HELDFD[@]+"${HELDFD[@]}"}; do eval "exec $fd>&-"; done
   cd "$d" && exec env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP="$ip" TCPREMOTEPORT=40000 \
    TCPLOCALIP=192.0.2.2 TCPLOCALPORT=25 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" \
    ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} "$BIN" < "$d/$name.in" > "$d/$name.out" 2> "$d/$name.err" 3>&-) &
  printf -v "PID_$name" %s $!
  HELD+=($!)
  exec {fd}> "$d/$name.in"
  printf -v "FD_$name" %s "$fd"
  HELDFD+=("$fd")
  for i in $(seq 200); do [ -s "$d/$name.out" ] && break; sleep 0.02; done
  printf -v "REPLY_$name" %s "$(tr -d '\r' < "$d/$name.out" | head -1)"
}

# release NAME: EOF to the session; waits until it has exited
release() {
  local fdv=FD_$1 pidv=PID_$1
  eval "exec ${!fdv}>&-"
  wait "${!pidv}" 2> /dev/null || true
}

first() {
  printf 'QUIT\r\n' > "$IN"
  smtp "$BIN" "$@"
  FIRST=$(tr -d '\r' < "$OUT" | head -1)
}

conc_checks() {
  hold a 192.0.2.1
  hold b 192.0.2.1
  [[ $REPLY_a == 220* ]]
  [[ $REPLY_b == 220* ]]
  first
  [ "$FIRST" = "421 4.7.0 Too many concurrent connections from 192.0.2.1, try again later" ]
  [ "$(tr -d '\r' < "$OUT" | wc -l)" = 1 ]
  grep -q 'limits: 421, too many concurrent sessions from 192.0.2.1: 2 sessions open (concurrency 2)' "$ERR"
  # another address still gets in
  first TCPREMOTEIP=192.0.2.9
  [[ $FIRST == 220* ]]
  # a session that ends frees its slot
  release a
  first
  [[ $FIRST == 220* ]]
  # a session killed with -9 frees its slot too
  hold c 192.0.2.1
  [[ $REPLY_c == 220* ]]
  first
  [[ $FIRST == 421* ]]
  kill -9 "$PID_c"
  wait "$PID_c" 2> /dev/null || true
  first
  [[ $FIRST == 220* ]]
}

@test "limits: the third concurrent session from one IP gets 421 4.7.0; other IPs, ended and killed sessions free slots (directory)" {
  BIN=$(lchain conc "limits concurrency 2 db_dir $DB")
  conc_checks
}

@test "limits: concurrency on Redis, shared by the sessions" {
  start_redis
  BIN=$(lchain rconc "limits concurrency 2 redis $RDIR/sock")
  conc_checks
  [ -n "$(redis-cli -s "$RDIR/sock" get limits:conc:192.0.2.1)" ]
  ! find "$DB" -type f | grep -q . || false
}

@test "limits: per_net counts a /24 and a /64 together" {
  BIN=$(lchain net "limits per_net 2 db_dir $DB")
  hold a 192.0.2.1
  hold b 192.0.2.2
  first TCPREMOTEIP=192.0.2.3
  [ "$FIRST" = "421 4.7.0 Too many concurrent connections from your network, 192.0.2.3, try again later" ]
  grep -q 'limits: 421, too many concurrent sessions from 192.0.2.3 in 192.0.2.0/24: 2 sessions open (per_net 2)' "$ERR"
  first TCPREMOTEIP=198.51.100.1
  [[ $FIRST == 220* ]]
  hold c 2001:db8:1:2::1
  hold d 2001:db8:1:2::2
  first TCPREMOTEIP=2001:db8:1:2::3
  [[ $FIRST == 421* ]]
  grep -q 'in 2001:db8:1:2::/64' "$ERR"
  first TCPREMOTEIP=2001:db8:1:3::1
  [[ $FIRST == 220* ]]
}

rate_checks() {
  first; [[ $FIRST == 220* ]]
  first; [[ $FIRST == 220* ]]
  first; [[ $FIRST == 220* ]]
  first
  [ "$FIRST" = "421 4.7.0 Too many connections in a short time from 192.0.2.1, try again later" ]
  grep -q 'limits: 421, too many connections from 192.0.2.1 (rate 3/60)' "$ERR"
  first TCPREMOTEIP=192.0.2.9
  [[ $FIRST == 220* ]]
}

@test "limits: rate 3/60 admits three connections, then 421 4.7.0 (directory)" {
  BIN=$(lchain rate "limits rate 3/60 db_dir $DB")
  rate_checks
}

@test "limits: rate on Redis" {
  start_redis
  BIN=$(lchain rrate "limits rate 3/60 redis $RDIR/sock")
  rate_checks
}

authfail() {
  # AUTH PLAIN user / password (wrong by default), in a session of its own
  local user=$1 ip=$2 b
  b=$(printf '\0%s\0%s' "$user" "${3:-wrong}" | base64 -w0)
  printf 'EHLO c.example\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$b" > "$IN"
  smtp "$BIN" TCPREMOTEIP="$ip"
  AUTHREPLY=$(tr -d '\r' < "$OUT" | grep -E '^(235|535|454|421)' | head -1)
}

auth_checks() {
  authfail alice@example.com 192.0.2.1
  [[ $AUTHREPLY == 535* ]]
  grep -q 'limits: AUTH failure counted: 1 from this IP, 1 for this user' "$ERR"
  authfail bob@example.com 192.0.2.1
  [[ $AUTHREPLY == 535* ]]
  # the IP is locked out, even with the right password
  authfail bob@example.com 192.0.2.1 hunter2
  [ "$AUTHREPLY" = "454 4.7.0 Too many failed AUTH attempts, try again later" ]
  grep -q 'limits: 454, AUTH locked out: 2 failed attempts from this IP' "$ERR"
  # alice failed once: one more from elsewhere locks her out everywhere
  authfail alice@example.com 192.0.2.7
  [[ $AUTHREPLY == 535* ]]
  authfail alice@example.com 192.0.2.8 secret
  [[ $AUTHREPLY == 454* ]]
  grep -q 'limits: 454, AUTH locked out: 2 failed attempts for this user' "$ERR"
  # another user from another IP logs in
  authfail bob@example.com 192.0.2.8 hunter2
  [[ $AUTHREPLY == 235* ]]
}

@test "limits: AUTH failures across connections lock out the IP and the user with 454 4.7.0 (directory)" {
  BIN=$(lchain auth "limits auth_fail 2/600 db_dir $DB")
  auth_checks
  # limits offers no mechanism of its own
  NOAUTH=$(build_chain limits-noauth <<EOF
limits auth_fail 2/600 db_dir $DB
rcpt_ok
EOF
)
  printf 'EHLO c.example\r\nQUIT\r\n' > "$IN"
  smtp "$NOAUTH"
  ! grep -q AUTH "$OUT" || false
}

@test "limits: AUTH failures on Redis" {
  start_redis
  BIN=$(lchain rauth "limits auth_fail 2/600 redis $RDIR/sock")
  auth_checks
}

@test "limits: a store that is down lets sessions in, and says so" {
  BIN=$(lchain down "limits concurrency 1 rate 1/60 auth_fail 1/600 redis 127.0.0.1:1 timeout 300")
  hold a 192.0.2.1
  [[ $REPLY_a == 220* ]]
  first
  [[ $FIRST == 220* ]]
  grep -q 'limits: skip, store error (the session proceeds): redis: cannot connect to 127.0.0.1:1' "$ERR"
  authfail alice@example.com 192.0.2.1
  authfail alice@example.com 192.0.2.1 secret
  [[ $AUTHREPLY == 235* ]]
  # a directory that cannot be used: the same
  BIN=$(lchain downdir "limits concurrency 1 db_dir /nonexistent/limits")
  first
  [[ $FIRST == 220* ]]
  grep -q 'limits: skip, store error' "$ERR"
}

@test "limits: a Redis that accepts and never answers costs the timeout, then the session proceeds" {
  python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(5); print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(30)' > "$BATS_TEST_TMPDIR/port" 3>&- &
  local sp=$! port=
  for _ in $(seq 100); do port=$(cat "$BATS_TEST_TMPDIR/port"); [ -n "$port" ] && break; sleep 0.05; done
  BIN=$(lchain slow "limits concurrency 1 redis 127.0.0.1:$port timeout 500")
  local t0=$SECONDS
  first
  kill "$sp"
  [[ $FIRST == 220* ]]
  [ $((SECONDS - t0)) -le 3 ]
  grep -q 'limits: skip, store error' "$ERR"
}

@test "limits: the control file limits, under the arguments; a bad line is 421 at connect" {
  BIN=$(lchain ctl "limits db_dir $DB")
  printf 'concurrency 1\n# comment\nrate 100/60\n' > "$CFG/limits"
  hold a 192.0.2.1
  first
  [[ $FIRST == 421* ]]
  echo 'concurrency lots' > "$CFG/limits"
  first TCPREMOTEIP=192.0.2.5
  [[ $FIRST == 421* ]]
  grep -q 'concurrency takes a number from 0 to 100, not lots' "$ERR"
}

@test "limits: bad arguments are refused at build time" {
  run build_chain limits-bad <<'EOF'
limits concurrency 101
EOF
  [ "$status" -ne 0 ]
  run build_chain limits-bad2 <<'EOF'
limits rate 5
EOF
  [ "$status" -ne 0 ]
}

@test "hosts_allow -m: Perl's max_conn_ip, on the same slots as limits" {
  BIN=$(lchain ha "hosts_allow -m 1 db_dir $DB")
  hold a 192.0.2.1
  [[ $REPLY_a == 220* ]]
  first
  [ "$FIRST" = "421 4.7.0 Sorry, too many connections from 192.0.2.1, try again later" ]
  grep -q 'hosts_allow: fail: too many connections from 192.0.2.1 (2 > 1)' "$ERR"
  first TCPREMOTEIP=192.0.2.2
  [[ $FIRST == 220* ]]
  kill -9 "$PID_a"
  wait "$PID_a" 2> /dev/null || true
  first
  [[ $FIRST == 220* ]]
  # limits concurrency counts the same sessions
  hold b 192.0.2.1
  BIN=$(lchain ha2 "limits concurrency 1 db_dir $DB")
  first
  [[ $FIRST == 421* ]]
}

# ---------------------------------------------------------------- LIMITS (RFC 9422)

@test "LIMITS: maxrcpt and maxmail are advertised and enforced" {
  BIN=$(lchain lim "")
  echo 2 > "$CFG/maxrcpt"
  echo 2 > "$CFG/maxmail"
  transcript "$BIN" <<'EOF'
EHLO c.example
MAIL FROM:<a@sender.example>
RCPT TO:<bob@example.com>
RCPT TO:<carol@example.com>
RCPT TO:<dave@example.com>
RSET
MAIL FROM:<a@sender.example>
RSET
MAIL FROM:<a@sender.example>
--
~ 220 test\.example ESMTP .*
~ 250-test\.example Hi .*
@keywords
250-SIZE
250-ENHANCEDSTATUSCODES
250-LIMITS RCPTMAX=2 MAILMAX=2
~ 250 AUTH .*
250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!
250 2.1.5 <bob@example.com>, recipient ok
250 2.1.5 <carol@example.com>, recipient ok
452 4.5.3 Too many recipients
250 2.0.0 OK
250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!
250 2.0.0 OK
421 4.7.0 Too many transactions in this session, closing connection
EOF
}

@test "LIMITS: not advertised without maxrcpt or maxmail; RCPTMAX alone; Python's smtplib reads the keyword" {
  BIN=$(lchain lim2 "")
  printf 'EHLO c.example\r\nQUIT\r\n' > "$IN"
  smtp "$BIN"
  ! grep -q LIMITS "$OUT" || false
  echo 50 > "$CFG/maxrcpt"
  start_server "$BIN"
  run python3 - "$PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("c.example")
print(s.has_extn("limits"), s.esmtp_features.get("limits"))
s.quit()
EOF
  stop_server
  [ "$output" = "True RCPTMAX=50" ]
}
