#!/usr/bin/env bats
# karma: a client whose connection was naughty is refused at connect for
# penalty_days; nice connections keep it out of the penalty box. On the
# embedded store, and on Redis (Debian's redis-server, started here).

load helper

setup() {
  mkcfg
  DB=$BATS_TEST_TMPDIR/karma
  mkdir -p "$DB"
}

# kchain NAME EXTRA_LINE [KARMA_ARGS]: karma, then EXTRA_LINE, rcpt_ok, queue
kchain() {
  build_chain "karma-$1" <<EOF
karma db_dir $DB ${3:-}
$2
rcpt_ok
queue/qmail-queue
EOF
}

session() {
  printf 'EHLO c.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$1" "${@:2}"
  FIRST=$(tr -d '\r' < "$OUT" | head -1)
}

@test "karma: after a naughty connection the client is refused at connect and disconnected" {
  BAD=$(kchain bad "tests/setnote conn karma -1")
  PLAIN=$(kchain plain "")
  session "$PLAIN"
  [[ "$FIRST" == 220* ]]
  grep -q 'karma: pass, no record' "$ERR"
  [ "$(find "$DB" -type f | wc -l)" = 0 ]     # a clean client leaves no entry
  session "$BAD"
  grep -q 'karma: negative, sent to the penalty box' "$ERR"
  session "$PLAIN"
  [ "$FIRST" = "550 5.7.1 You were naughty. You are penalized for 1.00 more days." ]
  [ "$(tr -d '\r' < "$OUT" | wc -l)" = 1 ]
  grep -q 'karma: fail, 1 naughty, 0 nice, 2 connects' "$ERR"
  # another client is not affected
  session "$PLAIN" TCPREMOTEIP=198.51.100.3
  [[ "$FIRST" == 220* ]]
}

@test "karma: nice connections outweigh a naughty one; reject 0 only logs" {
  GOOD=$(kchain good "tests/setnote conn karma 1")
  BAD=$(kchain bad2 "tests/setnote conn karma -1")
  session "$GOOD"
  grep -q 'karma: positive' "$ERR"
  session "$BAD"
  grep -q 'karma: negative$' "$ERR"
  PLAIN=$(kchain plain2 "")
  session "$PLAIN"
  [[ "$FIRST" == 220* ]]
  grep -q 'karma: pass, no penalty (1 naughty, 1 nice, 2 connects)' "$ERR"
  session "$BAD"
  session "$PLAIN"
  [[ "$FIRST" == 550* ]]
  LOGONLY=$(kchain logonly "" "reject 0")
  session "$LOGONLY"
  [[ "$FIRST" == 220* ]]
  grep -q 'karma: fail, tolerated' "$ERR"
}

@test "karma: strikes 3 (Perl's): a karma of -2 is neutral, -3 naughty; +2 is not yet nice" {
  MILD=$(kchain s-mild "tests/setnote conn karma -2" "strikes 3")
  BAD=$(kchain s-bad "tests/setnote conn karma -3" "strikes 3")
  GOOD=$(kchain s-good "tests/setnote conn karma 2" "strikes 3")
  PLAIN=$(kchain s-plain "" "strikes 3")
  session "$MILD"
  grep -q 'karma: neutral' "$ERR"
  session "$GOOD"
  grep -q 'karma: neutral' "$ERR"
  session "$PLAIN"
  [[ "$FIRST" == 220* ]]
  grep -q 'karma: pass, no penalty (0 naughty, 0 nice, 2 connects)' "$ERR"
  session "$BAD"
  grep -q 'karma: negative, sent to the penalty box' "$ERR"
  session "$PLAIN"
  [[ "$FIRST" == 550* ]]
  run build_chain karma-s-bad <<< 'karma strikes 0'
  assert_failure
}

@test "karma: the penalty ends after penalty_days" {
  BAD=$(kchain bad3 "tests/setnote conn karma -1" "penalty_days 0.00002")
  session "$BAD"
  session "$BAD"
  [[ "$FIRST" == 550* ]]
  sleep 2
  session "$BAD"
  [[ "$FIRST" == 220* ]]
}

@test "karma: relay clients and whitelisted hosts are not refused" {
  BAD=$(kchain bad4 "tests/setnote conn karma -1")
  session "$BAD"
  WL=$(build_chain karma-wl <<EOF
tests/setnote conn whitelisthost 1
karma db_dir $DB
rcpt_ok
EOF
)
  session "$WL"
  [[ "$FIRST" == 220* ]]
  grep -q 'karma: skip, whitelisted host' "$ERR"
}

@test "karma: Redis shares the penalty box between servers" {
  local rdir
  rdir=$(mktemp -d /tmp/qp-redis.XXXXXX)
  chmod 755 "$rdir"    # the sessions may be nobody (helper.bash)
  redis-server --port 0 --unixsocket "$rdir/sock" --unixsocketperm 777 --save '' --appendonly no > "$rdir/log" 2>&1 3>&- &
  rpid=$!
  for _ in $(seq 100); do [ -S "$rdir/sock" ] && break; sleep 0.05; done
  BAD=$(build_chain karma-rbad <<EOF
karma redis $rdir/sock
tests/setnote conn karma -1
rcpt_ok
EOF
)
  PLAIN=$(build_chain karma-rplain <<EOF
karma redis $rdir/sock
rcpt_ok
EOF
)
  session "$BAD"
  session "$PLAIN"
  ok=0; [[ "$FIRST" == 550* ]] && ok=1
  val=$(redis-cli -s "$rdir/sock" get karma:192.0.2.1)
  kill "$rpid"
  rm -rf "$rdir"
  [ "$ok" = 1 ]
  [[ "$val" =~ ^[0-9]+:1:0:2$ ]]
  ! grep -rqs 192.0.2.1 "$DB" || false
}
