#!/usr/bin/env bats
# greylisting: the first attempt of an unknown client is deferred, so is a
# retry within black_timeout, and a retry after it is accepted; with the
# embedded store (a directory) and with Redis shared by two servers. Redis
# is Debian's redis-server, started by the tests on a Unix socket.

load helper

setup_file() {
  export RDIR
  RDIR=$(mktemp -d /tmp/qp-redis.XXXXXX)
  # run as root, the sessions are nobody (helper.bash): open the socket to them
  local perm=700
  [ ${#QPIDS[@]} -eq 0 ] || { chmod 755 "$RDIR"; perm=777; }
  redis-server --port 0 --unixsocket "$RDIR/sock" --unixsocketperm "$perm" --save '' \
    --appendonly no --daemonize no --dir "$RDIR" > "$RDIR/log" 2>&1 3>&- &
  echo $! > "$RDIR/pid"
  for _ in $(seq 100); do
    [ -S "$RDIR/sock" ] && redis-cli -s "$RDIR/sock" ping 2> /dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "redis-server did not start: $(cat "$RDIR/log")" >&2
  return 1
}

teardown_file() {
  kill "$(cat "$RDIR/pid")" 2> /dev/null || true
  rm -rf "$RDIR"
}

setup() {
  mkcfg
  DB=$BATS_TEST_TMPDIR/grey
  mkdir -p "$DB"
  QP=$(build_chain greylisting <<'EOF2'
greylisting black_timeout 2
rcpt_ok
queue/qmail-queue
EOF2
)
  echo "db_dir $DB" > "$CFG/denysoft_greylist"
}

# one message; the reply to MAIL in $MAILREPLY, to the end of DATA in $DATAREPLY
send() {
  printf 'EHLO c.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP" "$@"
  MAILREPLY=$(tr -d '\r' < "$OUT" | grep -v '^250-' | sed -n 3p)
}

deferred() { [ "$MAILREPLY" = "450 4.7.1 This mail is temporarily denied" ]; }

# age_entry DIR KEY: the directory store's entry for KEY as if 3 s had passed
# since it was made (past black_timeout 2), instead of sleeping: its third
# line is "ts:new:black:white". Written in place: the file keeps its owner
# and mode. The first test below waits on the real clock.
age_entry() {
  local f v
  f=$(grep -rlx "$2" "$1")
  [ "$(echo "$f" | wc -l)" = 1 ] || return 1
  v=$(sed -n 3p "$f")
  { sed -n 1,2p "$f"; printf '%s' "$((${v%%:*} - 3)):${v#*:}"; } > "$f.aged"
  cat "$f.aged" > "$f"
  rm -f "$f.aged"
}

# the same for the Redis store (its ttl kept)
age_redis() {
  local v
  v=$(redis-cli -s "$RDIR/sock" get "greylisting:$1")
  [ -n "$v" ] || return 1
  [ "$(redis-cli -s "$RDIR/sock" set "greylisting:$1" "$((${v%%:*} - 3)):${v#*:}" keepttl)" = OK ]
}
accepted() { [ "$MAILREPLY" = "250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!" ]; }

@test "greylisting: first attempt 4xx, a retry before black_timeout 4xx, after it accepted and queued" {
  send
  deferred
  [ "$(queued)" = 0 ]
  grep -q 'greylisting: fail, key 192.0.2.1 unknown, deferred' "$ERR"
  send
  deferred
  grep -q 'black, deferred again' "$ERR"
  sleep 2.2
  send
  accepted
  [ "$(queued)" = 1 ]
  grep -q 'pass, key 192.0.2.1 grey, now white' "$ERR"
  # white now: accepted at once
  send
  accepted
  # another client is still unknown
  send TCPREMOTEIP=198.51.100.7
  deferred
}

@test "greylisting: sender and recipient make the key a triplet, decided at RCPT" {
  printf 'db_dir %s\nsender 1\nrecipient 1\n' "$DB" > "$CFG/denysoft_greylist"
  send
  RCPTREPLY=$(tr -d '\r' < "$OUT" | grep -v '^250-' | sed -n 4p)
  [ "$RCPTREPLY" = "450 4.7.1 This mail is temporarily denied" ]
  grep -q 'fail, key 192.0.2.1:a@sender.example:bob@example.com unknown' "$ERR"
}

@test "greylisting: deny_late defers at DATA, and the store keeps the entry" {
  printf 'db_dir %s\ndeny_late 1\n' "$DB" > "$CFG/denysoft_greylist"
  send
  accepted
  tr -d '\r' < "$OUT" | grep -q '^451 4.7.1 This mail is temporarily denied$'
  [ "$(queued)" = 0 ]
  grep -rqs '^192.0.2.1$' "$DB"
}

@test "greylisting: relay clients, whitelisted hosts and exempt clients pass; reject 0 only logs" {
  send RELAYCLIENT=
  deferred   # RELAYCLIENT alone does nothing without the relay plugin
  QP=$(build_chain greylisting-relay <<'EOF2'
relay
greylisting black_timeout 2
rcpt_ok
queue/qmail-queue
EOF2
)
  send RELAYCLIENT= TCPREMOTEIP=203.0.113.9
  accepted
  grep -q 'greylisting: skip, relay client' "$ERR"
  QP=$(build_chain greylisting-notes <<'EOF2'
tests/setnote conn whitelisthost 1
greylisting black_timeout 2
rcpt_ok
queue/qmail-queue
EOF2
)
  send TCPREMOTEIP=203.0.113.10
  accepted
  QP=$(build_chain greylisting-exempt <<'EOF2'
tests/setnote conn denysoft_greylist 0
greylisting black_timeout 2
rcpt_ok
queue/qmail-queue
EOF2
)
  send TCPREMOTEIP=203.0.113.11
  accepted
  grep -q 'skip, client exempt' "$ERR"
  QP=$(build_chain greylisting-testonly <<'EOF2'
greylisting reject 0
rcpt_ok
queue/qmail-queue
EOF2
)
  send TCPREMOTEIP=203.0.113.12
  accepted
  grep -q 'pass, testonly, key 203.0.113.12 unknown' "$ERR"
}

@test "greylisting: a bad line in denysoft_greylist is a 421 at connect naming the file and the line" {
  printf '# greylisting\n\nblack_timeout soon\n' > "$CFG/denysoft_greylist"
  send
  assert_equal "$(tr -d '\r' < "$OUT")" '421 4.3.0 unable to read controls, closing connection'
  grep -q "control file $CFG/denysoft_greylist line 3: " "$ERR"
  [ "$(queued)" = 0 ]
}

@test "greylisting: a bad denysoft_greylist is found at connect even when another connect plugin decides first" {
  QP=$(build_chain greylisting-after-ok <<'EOF2'
tests/return_code connect OK
greylisting
rcpt_ok
EOF2
)
  echo 'black_timeout soon' > "$CFG/denysoft_greylist"
  send
  assert_equal "$(tr -d '\r' < "$OUT")" '421 4.3.0 unable to read controls, closing connection'
  grep -q "control file $CFG/denysoft_greylist line 1: " "$ERR"
}

# a store that cannot be used at all would let every message pass: the
# session is refused before the greeting instead, and the log says why
unusable() {
  [ "$(tr -d '\r' < "$OUT")" = '421 4.3.0 greylisting store unavailable, closing connection' ]
  [ "$(queued)" = 0 ]
}

# Perl's default directory would be found before anything a test makes
no_default_dir() {
  [ ! -e /var/lib/qpsmtpd/greylisting ] || skip "/var/lib/qpsmtpd/greylisting exists on this machine"
}

@test "greylisting: a db_dir that is missing, not a directory or not writable: 421 at connect, logged" {
  echo "db_dir $BATS_TEST_TMPDIR/missing/dir" > "$CFG/denysoft_greylist"
  send
  unusable
  grep -q "greylisting: 421, store unusable: $BATS_TEST_TMPDIR/missing/dir: No such file or directory" "$ERR"
  echo "db_dir $BATS_TEST_TMPDIR/in" > "$CFG/denysoft_greylist"
  send
  unusable
  grep -q "421, store unusable: $BATS_TEST_TMPDIR/in: not a directory" "$ERR"
  echo "db_dir $DB" > "$CFG/denysoft_greylist"
  chmod 555 "$DB"
  send
  chmod 755 "$DB"
  unusable
  grep -q "421, store unusable: $DB: not writable: Permission denied" "$ERR"
}

@test "greylisting: no db_dir and none of Perl's directories: 421 at connect, not a pass" {
  no_default_dir
  rm "$CFG/denysoft_greylist"
  send
  unusable
  grep -q "greylisting: 421, store unusable: no db_dir, and none of /var/lib/qpsmtpd/greylisting, $BATS_TEST_TMPDIR/var/db, $BATS_TEST_TMPDIR/config exists" "$ERR"
}

@test "greylisting: on_unusable_store pass lets mail through ungreylisted, logged at connect and at MAIL" {
  no_default_dir
  echo "on_unusable_store pass" > "$CFG/denysoft_greylist"
  send
  accepted
  [ "$(queued)" = 1 ]
  grep -q 'greylisting: store unusable, mail passes ungreylisted (on_unusable_store pass): no db_dir' "$ERR"
  grep -q 'greylisting: pass, store error: no db_dir' "$ERR"
  echo "on_unusable_store maybe" > "$CFG/denysoft_greylist"
  send
  tr -d '\r' < "$OUT" | grep -q '^421 4.3.0 unable to read controls'
  grep -q 'on_unusable_store takes 421 or pass, not maybe' "$ERR"
}

@test "greylisting: without db_dir, Perl's search order: QPHOME/config, and QPHOME/var/db before it; the store is their greylist subdirectory" {
  no_default_dir
  rm "$CFG/denysoft_greylist"
  # QPHOME is the directory the daemon runs in (smtp runs it in the test's)
  local home=$BATS_TEST_TMPDIR
  mkdir -m 777 "$home/config"
  send
  deferred
  [ -d "$home/config/greylist" ]
  grep -rqsx 192.0.2.1 "$home/config/greylist"
  mkdir -p -m 777 "$home/var/db"
  send TCPREMOTEIP=198.51.100.7
  deferred
  grep -rqsx 198.51.100.7 "$home/var/db/greylist"
  ! grep -rqs 198.51.100.7 "$home/config/greylist" || false
  age_entry "$home/var/db/greylist" 198.51.100.7
  send TCPREMOTEIP=198.51.100.7
  accepted
  [ "$(queued)" = 1 ]
  grep -q 'pass, key 198.51.100.7 grey, now white' "$ERR"
}

@test "greylisting: mode off looks at no store" {
  printf 'db_dir %s/missing\nmode off\n' "$BATS_TEST_TMPDIR" > "$CFG/denysoft_greylist"
  send
  accepted
}

@test "greylisting: two servers sharing Redis see one view" {
  CFG2=$BATS_TEST_TMPDIR/cfg2
  cp -r "$CFG" "$CFG2"
  echo mx2.example > "$CFG2/me"
  echo "redis $RDIR/sock" > "$CFG/denysoft_greylist"
  echo "redis $RDIR/sock" > "$CFG2/denysoft_greylist"
  redis-cli -s "$RDIR/sock" del greylisting:192.0.2.77 > /dev/null
  send TCPREMOTEIP=192.0.2.77                  # mx1: unknown
  deferred
  CFG=$CFG2 send TCPREMOTEIP=192.0.2.77        # mx2: black, from mx1's entry
  deferred
  grep -q 'black, deferred again' "$ERR"
  age_redis 192.0.2.77
  CFG=$CFG2 send TCPREMOTEIP=192.0.2.77        # mx2: grey -> white
  accepted
  send TCPREMOTEIP=192.0.2.77                  # mx1: white
  accepted
  grep -q 'pass, key 192.0.2.77 white' "$ERR"
  run redis-cli -s "$RDIR/sock" get greylisting:192.0.2.77
  [[ "$output" =~ ^[0-9]+:1:1:2$ ]]
  run redis-cli -s "$RDIR/sock" ttl greylisting:192.0.2.77
  [ "$output" -gt 3000000 ]
  ! grep -rqs 192.0.2.77 "$DB" || false        # nothing went to the directory
}

@test "greylisting: Redis down lets mail pass within the timeout, logged" {
  echo "redis 127.0.0.1:1" > "$CFG/denysoft_greylist"
  send
  accepted
  grep -q 'greylisting: pass, store error: redis: cannot connect' "$ERR"
}

# 50 sessions at once: 10 clients, 5 sessions each, on the embedded store
# black_timeout 3600 here, not setup's 2: on a busy machine the 50 sessions
# take longer than 2 s, and a session that comes after a key's black_timeout
# rightly passes it ("grey, now white"), which is not what this test is about
@test "greylisting: 50 concurrent sessions lose and corrupt no entry" {
  local i ip pids=()
  QP=$(build_chain greylisting-long <<'EOF2'
greylisting black_timeout 3600
rcpt_ok
queue/qmail-queue
EOF2
)
  printf 'EHLO c.example\r\nMAIL FROM:<a@sender.example>\r\nQUIT\r\n' > "$IN"
  cd "$BATS_TEST_TMPDIR"
  for i in $(seq 0 49); do
    ip=10.0.0.$((i % 10))
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=$ip QPSMTPD_CONFIG="$CFG" \
      timeout 60 "$QP" < "$IN" > "out.$i" 2> "err.$i" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  # every session deferred; else show the ones that were not, and why
  [ "$(cat out.* | grep -c '^450 4.7.1 This mail is temporarily denied')" = 50 ] \
    || { grep -h 'greylisting: pass' err.* >&2; false; }
  for i in $(seq 0 9); do
    f=$(grep -rlx "10.0.0.$i" "$DB")
    [ "$(echo "$f" | wc -l)" = 1 ]
    # one creation, four deferrals while black: every update counted
    [[ "$(sed -n 3p "$f")" =~ ^[0-9]+:1:4:0$ ]]
    [ "$(wc -l < "$f")" = 2 ]
  done
  [ "$(find "$DB" -type f | wc -l)" = 10 ]
}

@test "greylisting: per_recipient greylists only the recipients whose alias asks for it" {
  QP=$(build_chain greylisting-aliases <<'EOF2'
aliases
greylisting black_timeout 2 per_recipient 1 recipient 1
rcpt_ok
queue/qmail-queue
EOF2
)
  printf 'grey@example.com: bob@example.com (denysoft_greylist)\nplain@example.com: bob@example.com\n' > "$CFG/aliases"
  printf 'EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<plain@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q 'skip, no recipient asked for greylisting' "$ERR"
  printf 'EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<plain@example.com>\r\nRCPT TO:<grey@example.com>\r\nDATA\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  tr -d '\r' < "$OUT" | grep -q '^451 4.7.1 This mail is temporarily denied$'
  grep -q 'fail, key 192.0.2.1:grey@example.com unknown' "$ERR"
  [ "$(queued)" = 1 ]
}

@test "greylisting: client_options denysoft_greylist=0 exempts the client" {
  QP=$(build_chain greylisting-copt <<'EOF2'
client_options
greylisting black_timeout 2
rcpt_ok
queue/qmail-queue
EOF2
)
  echo '192.0.2.0/24 (denysoft_greylist=0)' > "$CFG/client_options"
  send
  accepted
  send TCPREMOTEIP=198.51.100.1
  deferred
}

# dev/start --prepare writes config/ and makes Maildir and var/db, without
# building or starting a server; in a copy of the checkout's two files
@test "greylisting added to dev/start's chain works out of the box: its store is var/db/greylist, which dev/start prepares" {
  no_default_dir
  local co=$BATS_TEST_TMPDIR/checkout
  mkdir -p "$co/dev" "$co/control"
  cp "$ROOT/dev/start" "$co/dev/"
  cp "$ROOT/control/plugins" "$co/control/"
  run "$co/dev/start" --prepare
  assert_success
  [ -d "$co/var/db" ] && [ -d "$co/Maildir/new" ]
  grep -qx 'queue/maildir ./Maildir' "$co/config/plugins"
  # the chain dev/start wrote, with greylisting (no db_dir) before rcpt_ok
  QP=$(sed 's|^rcpt_ok$|greylisting black_timeout 2\nrcpt_ok|' "$co/config/plugins" | build_chain greylisting-devstart)
  run "$QP" -V
  assert_line 'greylisting black_timeout 2'
  # as dev/start runs it: in the checkout, with its ./config
  devsend() {
    printf 'EHLO c.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n' > "$IN"
    (cd "$co" && env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 timeout 60 "$QP" < "$IN" > "$OUT" 2> "$ERR")
    tr -d '\r' < "$OUT" | grep -v '^250-' | sed -n 3p
  }
  [ "$(devsend)" = "450 4.7.1 This mail is temporarily denied" ]
  grep -rqsx 192.0.2.1 "$co/var/db/greylist"
  [ -z "$(ls "$co/Maildir/new")" ]
  age_entry "$co/var/db/greylist" 192.0.2.1
  [ "$(devsend)" = "250 2.1.0 <a@sender.example>, sender OK - how exciting to get mail from you!" ]
  [ "$(ls "$co/Maildir/new" | wc -l)" = 1 ]
  # nothing was written to config/
  [ ! -e "$co/config/greylist" ]
}
