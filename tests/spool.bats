#!/usr/bin/env bats
# The message spool and what happens when storing or handing off a message
# fails: a full disk while spooling, a back end that hangs, a client that
# vanishes at each stage of DATA. In every case: the right reply, nothing
# delivered, no spool file left, a log line that says what happened. And
# memory stays flat as a message grows.

load helper

setup() {
  mkcfg
  QP=$(default_chain)
  QM=$(printf 'rcpt_ok\nqueue/maildir ./Maildir\n' | build_chain spool-maildir)
  SPOOL=$BATS_TEST_TMPDIR/spool
  echo "$SPOOL" > "$CFG/spool_dir"
  echo 1000 > "$CFG/size_threshold"
}

# the envelope, then $1 (printf format, no final dot)
partial() {
  { envelope; printf "$1"; } > "$IN"
}

# a message of $1 lines of 76 bytes, with the final dot, then QUIT
bigmsg() {
  local line
  line=$(printf '%074d' 0)
  { envelope; printf 'Subject: big\r\n\r\n'; for i in $(seq "$1"); do printf '%s\r\n' "$line"; done
    printf '.\r\nMAIL FROM:<again@sender.example>\r\nQUIT\r\n'; } > "$IN"
}

queue_reply() {
  tr -d '\r' < "$OUT" | sed -n '/^354 /{n;p;q;}'
}

spool_empty() {
  [ -z "$(ls -A "$SPOOL" 2>/dev/null)" ]
}

maildir_empty() {
  [ -z "$(find "$BATS_TEST_TMPDIR/Maildir" -type f 2>/dev/null)" ]
}

# runs $QP (or $2) under a file size limit of $1 KB
with_fsize() {
  W=$BATS_TEST_TMPDIR/fsize
  printf '#!/bin/bash\nulimit -f %s\nexec "%s"\n' "$1" "$2" > "$W"
  chmod +x "$W"
}

@test "disk full while spooling: 451, nothing queued, no spool file, the reason logged" {
  bigmsg 4000
  with_fsize 64 "$QP"
  smtp "$W"
  assert_equal "$(queue_reply)" "451 4.3.0 Local error in processing; try again later"
  # the session goes on
  assert_equal "$(codes)" "220 250 250 250 354 451 250 221"
  grep -q 'cannot store the message: File too large' "$ERR"
  nothing_queued
  spool_empty
}

@test "the same message fits without the limit, spooled to disk and queued" {
  bigmsg 4000
  smtp "$QP"
  [[ $(queue_reply) == "250 2.0.0 Queued! "* ]]
  [ "$(queued)" -eq 1 ]
  [ "$(tail -n 4000 "$FAKEQ_DIR/1.msg" | wc -c)" -eq $((4000 * 75)) ]
  spool_empty
}

@test "disk full in the Maildir: 451, no file left in tmp/ or new/" {
  bigmsg 4000
  with_fsize 64 "$QM"
  echo 100000000 > "$CFG/size_threshold"     # spool in memory; the Maildir write fails
  smtp "$W"
  assert_equal "$(queue_reply)" "451 4.3.0 Unable to queue message (write)"
  grep -q 'queue/maildir: cannot write into ./Maildir/tmp: write: File too large' "$ERR"
  maildir_empty
}

@test "spool_dir is made with spool_perms exactly, whatever the umask" {
  echo 0751 > "$CFG/spool_perms"
  bigmsg 100
  W=$BATS_TEST_TMPDIR/umask
  printf '#!/bin/sh\numask 077\nexec "%s"\n' "$QP" > "$W"
  chmod +x "$W"
  smtp "$W"
  [ "$(stat -c %a "$SPOOL")" = 751 ]
  [ "$(queued)" -eq 1 ]
}

@test "a hanging qmail-queue is killed at timeoutqueue: 451, nothing queued" {
  echo 1 > "$CFG/timeoutqueue"
  bigmsg 10
  start=$(date +%s)
  smtp "$QP" FAKEQ_MODE=slow FAKEQ_SLEEP=30
  [ $(( $(date +%s) - start )) -lt 10 ]
  assert_equal "$(queue_reply)" "451 4.3.0 qq timeout"
  assert_equal "$(codes)" "220 250 250 250 354 451 250 221"
  grep -q 'did not finish within 1 seconds (timeoutqueue) and was killed' "$ERR"
  [ "$(queued)" -eq 0 ]
}

@test "a hanging qmail-queue that reads nothing, with a message bigger than a pipe: 451 at timeoutqueue" {
  echo 1 > "$CFG/timeoutqueue"
  bigmsg 4000
  W=$BATS_TEST_TMPDIR/hang
  printf '#!/bin/sh\nexec sleep 30\n' > "$W"
  chmod +x "$W"
  start=$(date +%s)
  smtp "$QP" QMAILQUEUE="$W"
  [ $(( $(date +%s) - start )) -lt 10 ]
  assert_equal "$(queue_reply)" "451 4.3.0 qq timeout"
  spool_empty
}

@test "timeoutqueue 0 is a configuration error" {
  echo 0 > "$CFG/timeoutqueue"
  bigmsg 1
  smtp "$QP"
  grep -q 'timeoutqueue' "$ERR"
  [ "$(queued)" -eq 0 ]
}

# The client goes away at each stage of DATA. The message never reaches the
# back end (qmail-queue is not even run), the log says so, and nothing is
# left in the spool directory or the Maildir.
stages=(
  ''                               # right after DATA
  'Subj'                           # inside the first header line
  'Subject: x\r'                   # between CR and LF
  'Subject: x\r\n'                 # after a header line
  'Subject: x\r\n\r\n'             # after the header section
  'Subject: x\r\n\r\nbody'         # inside the body
  'Subject: x\r\n\r\nbody\r\n.'    # a dot, but no CRLF after it
  'Subject: x\r\n\r\nbody\r\n.\r'  # a dot and CR, but no LF
)

@test "a client vanishing at any stage of DATA: nothing queued, nothing spooled, logged" {
  for st in "${stages[@]}"; do
    rm -rf "$FAKEQ_DIR"/* "$ERR"
    partial "$st"
    smtp "$QP"
    nothing_queued || { echo "stage [$st]: something was queued"; false; }
    grep -q 'client went away during DATA; nothing queued' "$ERR" || { echo "stage [$st]: no log line"; false; }
    spool_empty
  done
}

@test "a client vanishing at any stage of DATA: nothing in the Maildir" {
  for st in "${stages[@]}"; do
    partial "$st"
    smtp "$QM"
    grep -q 'client went away during DATA; nothing queued' "$ERR"
    maildir_empty || { echo "stage [$st]: a file in the Maildir"; false; }
  done
}

@test "a client vanishing in the middle of a message spooled to disk: the spool file goes too" {
  # a live session: the client sends 300 KB and stops; the daemon holds a
  # spool file in spool_dir, already unlinked; then the client goes away
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  line=$(printf '%074d' 0)
  cd "$BATS_TEST_TMPDIR"
  env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" \
    "$QP" < "$BATS_TEST_TMPDIR/fifo" > "$OUT" 2> "$ERR" &
  pid=$!
  exec 5> "$BATS_TEST_TMPDIR/fifo"
  { envelope; printf 'Subject: big\r\n\r\n'; for i in $(seq 4000); do printf '%s\r\n' "$line"; done; } >&5
  held=
  for i in $(seq 50); do
    held=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -F "$SPOOL/" || true)
    [ -n "$held" ] && break
    sleep 0.1
  done
  [[ $held == *"(deleted)"* ]]
  spool_empty
  exec 5>&-
  wait "$pid" || true
  grep -q 'client went away during DATA; nothing queued' "$ERR"
  nothing_queued
  spool_empty
}

@test "a client vanishing right after the final dot still gets its message queued, once" {
  { envelope; printf 'Subject: x\r\n\r\nbody\r\n.\r\n'; } > "$IN"
  smtp "$QP"
  [ "$(queued)" -eq 1 ]
  assert_equal "$(cat "$FAKEQ_DIR/log")" "1 ok"
}

@test "memory stays flat: a 50 MB message raises peak RSS by less than 300 KB over a 2 KB one" {
  cd "$BATS_TEST_TMPDIR"
  rss() {
    env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" python3 "$ROOT/tests/rss.py" "$QM" "$1"
  }
  echo 10000 > "$CFG/size_threshold"
  small=$(rss 2048)
  big=$(rss 52428800)
  echo "# peak RSS (VmHWM, KB) and reply: 2 KB message: $small; 50 MB message: $big" >&3
  [[ $small == *" 250 2.0.0 Queued!"* ]]
  [[ $big == *" 250 2.0.0 Queued!"* ]]
  [ "$(find Maildir/new -type f -size +50000000c | wc -l)" -eq 1 ]
  [ $(( ${big%% *} - ${small%% *} )) -lt 300 ]
  rm -rf Maildir
}
