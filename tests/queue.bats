#!/usr/bin/env bats
# queue/qmail-queue: what the client sees for every way qmail-queue can end,
# and what qmail-queue receives. The fake (tests/fake-qmail-queue.c) checks
# the message and the envelope strictly before it exits with $FAKEQ_EXIT,
# so every failure case below also proves the daemon sent a valid hand-off.
#
# After the queue reply each session sends another MAIL FROM: it must get
# 250, so a queue failure leaves the session usable. And in every test a
# 250 after DATA must go with an "N ok" line in the fake's log, never with
# a failure.

load helper

setup_file() {
  mkdir -p "$TB"
  # tests/run builds the fake; build it here too when bats runs alone
  (
    flock 9
    if [ ! -x "$FAKEQ" ] || [ "$ROOT/tests/fake-qmail-queue.c" -nt "$FAKEQ" ]; then
      cc -O2 -Wall -Wextra -Werror -o "$FAKEQ.tmp" "$ROOT/tests/fake-qmail-queue.c" && mv "$FAKEQ.tmp" "$FAKEQ"
    fi
  ) 9> "$TB/.fakeq.lock"
}

setup() {
  mkcfg
  # QUEUE_TEST_BIN: run these tests against another build
  QP=${QUEUE_TEST_BIN:-$(default_chain)}
}

# a whole session: a message to two recipients, then a second MAIL and QUIT.
# $1: the message as the client sends it, without the final dot; or, with
# $MSGFILE set, the message is that file
session() {
  {
    printf 'EHLO client.example\r\n'
    printf 'MAIL FROM:<alice@sender.example>\r\n'
    printf 'RCPT TO:<bob@example.com>\r\n'
    printf 'RCPT TO:<carol@example.com>\r\n'
    printf 'DATA\r\n'
    if [ -n "${MSGFILE:-}" ]; then cat "$MSGFILE"; else printf '%s' "$1"; fi
    printf '.\r\n'
    printf 'MAIL FROM:<again@sender.example>\r\n'
    printf 'QUIT\r\n'
  } > "$IN"
}

MSG=$'Subject: queue test\r\nMessage-Id: <t1@client.example>\r\n\r\nhello\r\n..dotted\r\n'
MSG_LF=$'Subject: queue test\nMessage-Id: <t1@client.example>\n\nhello\n.dotted\n'

# the reply to the final dot
queue_reply() {
  tr -d '\r' < "$OUT" | sed -n '/^354 /{n;p;q;}'
}

# 250 only with an "ok" line from the fake, and then exactly one message
assert_consistent() {
  local r
  r=$(queue_reply)
  if [[ $r == 250* ]]; then
    grep -Eqx '[0-9]+ ok' "$FAKEQ_DIR/log"
    [ "$(queued)" -eq 1 ]
  else
    refute grep -Eqs '^[0-9]+ ok$' "$FAKEQ_DIR/log"
    [ "$(queued)" -eq 0 ]
  fi
}

# $1: the exact reply to the dot; the session goes on with 250 to MAIL
assert_failed_with() {
  assert_equal "$(queue_reply)" "$1"
  assert_equal "$(codes)" "220 250 250 250 250 354 ${1%% *} 250 221"
  assert_consistent
}

# runs the session with FAKEQ_EXIT=$1 and expects reply $2
qq_exit() {
  session "$MSG"
  smtp "$QP" FAKEQ_EXIT="$1"
  assert_failed_with "$2"
  # the fake got a valid message and envelope and chose to fail
  assert_equal "$(cat "$FAKEQ_DIR/log")" "fail $1 FAKEQ_EXIT"
  grep -q "not queued: .* exit $1: ${2#* }\$" "$ERR"
}

@test "exit 0: 250 Queued! with time, pid and Message-Id; the next MAIL is accepted" {
  session "$MSG"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  [[ $(queue_reply) =~ ^250\ 2\.0\.0\ Queued!\ [0-9]+\ qp\ [0-9]+\ \<t1@client\.example\>$ ]]
  assert_consistent
  assert_equal "$(cat "$FAKEQ_DIR/log")" "1 ok"
  grep -q "(queue) queue/qmail-queue: queued: $FAKEQ pid [0-9]* exit 0 <t1@client.example>" "$ERR"
}

@test "QPSMTPD_SPAWN_VFORK=1 (for valgrind): qmail-queue started with vfork queues the same message" {
  session "$MSG"
  smtp "$QP"
  cp "$FAKEQ_DIR/1.msg" "$BATS_TEST_TMPDIR/clone.msg"
  cp "$FAKEQ_DIR/1.env" "$BATS_TEST_TMPDIR/clone.env"
  rm -f "$FAKEQ_DIR"/*
  smtp "$QP" QPSMTPD_SPAWN_VFORK=1
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  assert_equal "$(cat "$FAKEQ_DIR/log")" "1 ok"
  cmp "$FAKEQ_DIR/1.env" "$BATS_TEST_TMPDIR/clone.env"
  # the same message but for the Received line's date
  diff <(sed 1,2d "$FAKEQ_DIR/1.msg") <(sed 1,2d "$BATS_TEST_TMPDIR/clone.msg")
}

@test "exit 0: the qp number in the reply is the pid of qmail-queue" {
  session "$MSG"
  smtp "$QP"
  pid=$(queue_reply | sed -n 's/.* qp \([0-9]*\) .*/\1/p')
  grep -q "queued: $FAKEQ pid $pid exit 0" "$ERR"
}

@test "exit 0: the message is our Received: header, then the message with LF line ends" {
  session "$MSG"
  smtp "$QP"
  [ "$(queued)" -eq 1 ]
  head -n 1 "$FAKEQ_DIR/1.msg" | grep -q '^Received: from \[192\.0\.2\.1\] (HELO client\.example) (192\.0\.2\.1)$'
  # drop the Received field (its first line and its continuation lines)
  awk 'NR == 1 { next } !body && /^[ \t]/ { next } { body = 1; print }' "$FAKEQ_DIR/1.msg" > "$BATS_TEST_TMPDIR/rest"
  printf '%s' "$MSG_LF" | cmp - "$BATS_TEST_TMPDIR/rest"
  refute grep -q $'\r' "$FAKEQ_DIR/1.msg"
}

@test "exit 0: the envelope is F<sender>\\0 T<rcpt>\\0 per recipient and a final \\0, byte-exact" {
  session "$MSG"
  smtp "$QP"
  printf 'Falice@sender.example\0Tbob@example.com\0Tcarol@example.com\0\0' > "$BATS_TEST_TMPDIR/env"
  cmp "$BATS_TEST_TMPDIR/env" "$FAKEQ_DIR/1.env"
}

@test "the null sender is an empty F record" {
  printf 'EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: bounce\r\n\r\nx\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  printf 'F\0Tbob@example.com\0\0' | cmp - "$FAKEQ_DIR/1.env"
}

@test "without a Message-Id the 250 line ends with the pid" {
  session $'Subject: no id\r\n\r\nx\r\n'
  smtp "$QP"
  [[ $(queue_reply) =~ ^250\ 2\.0\.0\ Queued!\ [0-9]+\ qp\ [0-9]+$ ]]
}

@test "a hostile Message-Id is shown as one printable token in brackets" {
  session $'Message-Id: \x01<x\x7fy@z> 250 fake\r\n\r\nx\r\n'
  smtp "$QP"
  [[ $(queue_reply) =~ ^250\ 2\.0\.0\ Queued!\ [0-9]+\ qp\ [0-9]+\ \<xy@z\>$ ]]
  session $'Message-Id:\r\n <folded@client.example>\r\n\r\nx\r\n'
  rm -f "$FAKEQ_DIR"/*
  smtp "$QP"
  [[ $(queue_reply) =~ \ \<folded@client\.example\>$ ]]
}

@test "a 300 KB message, bigger than any pipe buffer, is queued byte-exact" {
  line=$(printf '%075d' 0)
  { for i in $(seq 4000); do printf '%s\r\n' "$line"; done; } > "$BATS_TEST_TMPDIR/body"
  { printf 'Subject: big\r\n\r\n'; cat "$BATS_TEST_TMPDIR/body"; } > "$BATS_TEST_TMPDIR/msg"
  MSGFILE=$BATS_TEST_TMPDIR/msg session
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  assert_consistent
  tail -n 4000 "$FAKEQ_DIR/1.msg" | cmp - <(tr -d '\r' < "$BATS_TEST_TMPDIR/body")
}

@test "qmail-queue gets fd 0, 1, 2 and 6 and nothing else, not even what the daemon inherited" {
  # bats hands its own descriptors (3 and up) down to the daemon, as
  # sslserver hands SSLCTLFD and its pipes: none of them may reach a child
  env FAKEQ_DIR="$BATS_TEST_TMPDIR" FAKEQ_MODE=noread "$FAKEQ" < /dev/null > /dev/null 2> /dev/null || true
  base=$(sed 's/^fds://' "$BATS_TEST_TMPDIR/fds")
  [[ " $base " == *" 3 "* ]]    # else this test proves nothing
  session "$MSG"
  smtp "$QP" 5< /dev/null
  got=$(sed 's/^fds: *//' "$FAKEQ_DIR/fds" | tr ' ' '\n' | sort -n | paste -sd' ')
  assert_equal "$got" "0 1 2 6"
  assert_equal "$(queued)" 1
}

@test "exit 11: 554 5.1.3 envelope address too long" {
  qq_exit 11 "554 5.1.3 envelope address too long for qq"
}

@test "exit 115 (qmail's compatibility code): 554 5.1.3" {
  qq_exit 115 "554 5.1.3 envelope address too long for qq"
}

@test "exit 31: 554 5.3.0 permanently rejected" {
  qq_exit 31 "554 5.3.0 mail server permanently rejected message"
}

@test "exit 12: 554 5.3.0 qq permanent problem" {
  qq_exit 12 "554 5.3.0 qq permanent problem"
}

@test "exit 40, the last permanent code: 554 5.3.0 qq permanent problem" {
  qq_exit 40 "554 5.3.0 qq permanent problem"
}

@test "exit 10 and 41, just outside 11-40: 451 temporary" {
  qq_exit 10 "451 4.3.0 qq temporary problem"
  rm -f "$FAKEQ_DIR"/*
  qq_exit 41 "451 4.3.0 qq temporary problem"
}

@test "exit 51: 451 4.3.0 qq out of memory" {
  qq_exit 51 "451 4.3.0 qq out of memory"
}

@test "exit 52: 451 4.3.0 qq timeout" {
  qq_exit 52 "451 4.3.0 qq timeout"
}

@test "exit 53: 451 4.3.0 qq write error or disk full" {
  qq_exit 53 "451 4.3.0 qq write error or disk full"
}

@test "exit 54: 451 4.3.0 qq read error" {
  qq_exit 54 "451 4.3.0 qq read error"
}

@test "exit 55: 451 4.3.0 qq unable to read configuration" {
  qq_exit 55 "451 4.3.0 qq unable to read configuration"
}

@test "exit 56: 451 4.3.0 qq trouble making network connection" {
  qq_exit 56 "451 4.3.0 qq trouble making network connection"
}

@test "exit 61: 451 4.3.0 qq trouble in home directory" {
  qq_exit 61 "451 4.3.0 qq trouble in home directory"
}

@test "exit 62 and 65: 451 4.3.0 qq trouble creating files in queue" {
  qq_exit 62 "451 4.3.0 qq trouble creating files in queue"
  rm -f "$FAKEQ_DIR"/*
  qq_exit 65 "451 4.3.0 qq trouble creating files in queue"
}

@test "exit 71: 451 4.3.0 temporarily rejected" {
  qq_exit 71 "451 4.3.0 mail server temporarily rejected message"
}

@test "exit 72 and 73: 451 4.4.1 connection problems" {
  qq_exit 72 "451 4.4.1 connection to mail server timed out"
  rm -f "$FAKEQ_DIR"/*
  qq_exit 73 "451 4.4.1 connection to mail server rejected"
}

@test "exit 74: 451 4.4.2 communication failed" {
  qq_exit 74 "451 4.4.2 communication with mail server failed"
}

@test "exit 75, defined nowhere in qmail: 451 4.3.0 qq temporary problem" {
  qq_exit 75 "451 4.3.0 qq temporary problem"
}

@test "exit 81: 451 4.3.0 qq internal bug" {
  qq_exit 81 "451 4.3.0 qq internal bug"
}

@test "exit 91: 451 4.3.0 qq internal bug" {
  qq_exit 91 "451 4.3.0 qq internal bug"
}

@test "exit 100: 451 4.3.0 qq temporary problem" {
  qq_exit 100 "451 4.3.0 qq temporary problem"
}

@test "exit 120: 451 4.3.0 unable to exec qq" {
  qq_exit 120 "451 4.3.0 unable to exec qq"
}

@test "qmail-queue killed by a signal: 451 4.3.0 qq crashed" {
  session "$MSG"
  smtp "$QP" FAKEQ_MODE=crash
  assert_failed_with "451 4.3.0 qq crashed"
  assert_equal "$(cat "$FAKEQ_DIR/log")" "fail SEGV crash"
  grep -q 'killed by signal 11' "$ERR"
}

@test "exit 82 with D text on fd 6: 554 with that text, its (#5.x.x) code in front" {
  session "$MSG"
  smtp "$QP" FAKEQ_MODE=msg82 FAKEQ_MSG='Dspam is not welcome here (#5.7.1)'
  assert_failed_with "554 5.7.1 spam is not welcome here"
  assert_equal "$(cat "$FAKEQ_DIR/log")" "fail 82 msg82"
}

@test "exit 82 with Z text on fd 6: 451 with that text" {
  session "$MSG"
  smtp "$QP" FAKEQ_MODE=msg82 FAKEQ_MSG='Zgreylisted, try again later'
  assert_failed_with "451 4.3.0 greylisted, try again later"
  rm -f "$FAKEQ_DIR"/*
  smtp "$QP" FAKEQ_MODE=msg82 FAKEQ_MSG='Z4.7.1 greylisted'
  assert_failed_with "451 4.7.1 greylisted"
}

@test "exit 82: a code of the wrong class in the text is not used" {
  session "$MSG"
  smtp "$QP" FAKEQ_MODE=msg82 FAKEQ_MSG='Dno (#4.7.1)'
  assert_failed_with "554 5.3.0 no (#4.7.1)"
}

@test "exit 82: CR LF in the fd 6 text cannot inject a reply line" {
  session "$MSG"
  smtp "$QP" FAKEQ_MODE=msg82 FAKEQ_MSG=$'Zbad\r\n250 2.0.0 ok\r\n'
  assert_failed_with "451 4.3.0 bad"
  refute grep -q '^250 2.0.0 ok' "$OUT"
}

@test "exit 82 with 2 bytes or less, or no D/Z, on fd 6: 451 qq temporary problem" {
  session "$MSG"
  for m in '' 'D' 'Dx' 'Xsomething else'; do
    rm -f "$FAKEQ_DIR"/*
    smtp "$QP" FAKEQ_MODE=msg82 FAKEQ_MSG="$m"
    assert_failed_with "451 4.3.0 qq temporary problem"
  done
}

@test "qmail-queue exiting 0 without reading a 200 KB message: 451, not 250" {
  # A message smaller than the pipe buffer fits in the pipe before the fake
  # exits, so exit 0 would look like success (as with qmail-smtpd). A message
  # bigger than any pipe buffer makes the daemon's write fail with EPIPE,
  # which turns exit 0 into qmail's "qq read error".
  line=$(printf '%075d' 0)
  { printf 'Subject: big\r\n\r\n'; for i in $(seq 2700); do printf '%s\r\n' "$line"; done; } > "$BATS_TEST_TMPDIR/msg"
  MSGFILE=$BATS_TEST_TMPDIR/msg session
  smtp "$QP" FAKEQ_MODE=noread
  assert_failed_with "451 4.3.0 qq read error"
  assert_equal "$(cat "$FAKEQ_DIR/log")" "fail 0 noread"
  grep -q 'writing the message to .* failed' "$ERR"
}

@test "a slow qmail-queue is waited for, then 250" {
  session "$MSG"
  start=$(date +%s)
  smtp "$QP" FAKEQ_MODE=slow FAKEQ_SLEEP=2
  [ $(( $(date +%s) - start )) -ge 2 ]
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  assert_consistent
}

@test "QMAILQUEUE=/nonexistent: 451 4.3.0 unable to exec qq" {
  session "$MSG"
  smtp "$QP" QMAILQUEUE=/nonexistent
  assert_failed_with "451 4.3.0 unable to exec qq"
  [ ! -e "$FAKEQ_DIR/log" ]
}

@test "QMAILQUEUE empty or unset: \$QMAIL/bin/qmail-queue is run" {
  mkdir -p "$BATS_TEST_TMPDIR/qmail/bin"
  ln -s "$FAKEQ" "$BATS_TEST_TMPDIR/qmail/bin/qmail-queue"
  session "$MSG"
  smtp "$QP" QMAILQUEUE= QMAIL="$BATS_TEST_TMPDIR/qmail"
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  assert_consistent
  grep -q "queued: $BATS_TEST_TMPDIR/qmail/bin/qmail-queue pid" "$ERR"
}

@test "the plugin argument names the program; QMAILQUEUE still wins" {
  QA=$(printf 'rcpt_ok\nqueue/qmail-queue %s\n' "$FAKEQ" | build_chain qq-arg)
  session "$MSG"
  smtp "$QA" QMAILQUEUE= QMAIL=/nonexistent
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  assert_consistent
  rm -f "$FAKEQ_DIR"/*
  smtp "$QA" QMAILQUEUE=/nonexistent
  assert_failed_with "451 4.3.0 unable to exec qq"
}

@test "a relative path or two arguments to queue/qmail-queue fail the build" {
  run build_chain qq-bad1 <<< 'queue/qmail-queue bin/qmail-queue'
  assert_failure
  assert_output --partial 'path must be absolute: bin/qmail-queue'
  run build_chain qq-bad2 <<< 'queue/qmail-queue /a /b'
  assert_failure
  assert_output --partial 'takes at most one argument'
}

@test "out of file descriptors: 451 qqt failure or unable to exec qq, never a lost session" {
  # Runs the daemon with only fds 0-2 open and RLIMIT_NOFILE from 3 up:
  # too few for the pipes is "qqt failure", too few for the child's dup2s
  # is "unable to exec qq"; with enough, the message is queued.
  W=$BATS_TEST_TMPDIR/nofile
  printf '#!/bin/bash\nfor f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done\nulimit -n "$NOFILE"\nexec "$QP"\n' > "$W"
  chmod +x "$W"
  session "$MSG"
  qqt=0
  for n in $(seq 3 16); do
    rm -f "$FAKEQ_DIR"/*
    smtp "$W" NOFILE="$n" QP="$QP"
    # too few for the daemon itself to get to DATA: not what this tests
    grep -q '^354 ' "$OUT" || continue
    r=$(queue_reply)
    case $r in
      "451 4.3.0 qqt failure") qqt=$((qqt + 1)); assert_failed_with "$r" ;;
      "451 4.3.0 unable to exec qq") assert_failed_with "$r" ;;
      250*) assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"; assert_consistent ;;
      *) echo "nofile $n: unexpected reply [$r]"; false ;;
    esac
  done
  [ "$qqt" -gt 0 ]
  [[ $r == 250* ]]
}

@test "a client that disconnects mid-DATA: qmail-queue, started at DATA, queues nothing" {
  printf 'EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: x\r\n\r\npartial' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 451"
  grep -q '^451 4.3.0 Incomplete DATA' "$OUT"
  # qmail-queue was started, and failed on the input it was left with
  grep -q '^fail ' "$FAKEQ_DIR/log"
  nothing_queued
}

# ------------------------------------------------ a wrapper's background job
#
# A QMAILQUEUE wrapper whose background job (sleep) keeps the wrapper's
# descriptors (the envelope pipe, stderr, the fd 6 error pipe) open after
# qmail-queue has exited. Success is qmail-queue's exit status: the reply
# comes at its exit, not when the job lets go of a pipe (a 451 qq timeout
# there makes the client send the queued message again). The test kills the
# job itself, by the pid the wrapper records.

# bg_wrapper NAME: a wrapper script in the test's directory; the job's pid
# goes to $BATS_TEST_TMPDIR/bg.pid
bg_wrapper() {
  local w=$BATS_TEST_TMPDIR/$1
  printf '#!/bin/sh\nsleep 1000 &\necho $! > "%s/bg.pid"\nexec "%s"\n' "$BATS_TEST_TMPDIR" "$FAKEQ" > "$w"
  chmod 755 "$w"
  echo "$w"
}

bg_kill() {
  [ -f "$BATS_TEST_TMPDIR/bg.pid" ] || return 0
  kill "$(cat "$BATS_TEST_TMPDIR/bg.pid")" 2> /dev/null || true
}

teardown() {
  bg_kill
}

@test "a wrapper leaving a background job holding its descriptors: 250 at qmail-queue's exit, queued once" {
  echo 5 > "$CFG/timeoutqueue"
  w=$(bg_wrapper qq-bg)
  session "$MSG"
  start=$(date +%s%N)
  smtp "$QP" QMAILQUEUE="$w"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  # the job was still there at the reply: it held the pipes all along
  kill -0 "$(cat "$BATS_TEST_TMPDIR/bg.pid")"
  bg_kill
  echo "took $ms ms"
  [ "$ms" -lt 3000 ]
  assert_equal "$(codes)" "220 250 250 250 250 354 250 250 221"
  assert_consistent
  assert_equal "$(cat "$FAKEQ_DIR/log")" "1 ok"
  [ "$(queued)" -eq 1 ]
  refute grep -q 'timeoutqueue' "$ERR"
}

@test "a wrapper leaving a background job: the exit-82 text on fd 6 is still read, at once" {
  echo 5 > "$CFG/timeoutqueue"
  w=$(bg_wrapper qq-bg82)
  session "$MSG"
  start=$(date +%s%N)
  smtp "$QP" QMAILQUEUE="$w" FAKEQ_MODE=msg82 FAKEQ_MSG='Dspam is not welcome here (#5.7.1)'
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  kill -0 "$(cat "$BATS_TEST_TMPDIR/bg.pid")"
  bg_kill
  echo "took $ms ms"
  [ "$ms" -lt 3000 ]
  assert_failed_with "554 5.7.1 spam is not welcome here"
  assert_equal "$(cat "$FAKEQ_DIR/log")" "fail 82 msg82"
}
