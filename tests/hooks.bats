#!/usr/bin/env bats
# Every hook's return codes and the reply each produces, through the
# tests/return_code plugin; notes; the build's checks of the plugins file.

load helper

setup() {
  mkcfg
}

# input that ends right after the command that fires hook $1
input_for() {
  local m='Subject: x\r\n\r\nbody\r\n.\r\n'
  case $1 in
    connect) printf 'QUIT\r\n' ;;
    helo) printf 'HELO c.example\r\nQUIT\r\n' ;;
    ehlo) printf 'EHLO c.example\r\nQUIT\r\n' ;;
    mail|mail_parse|mail_pre) printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n' ;;
    rcpt|rcpt_parse|rcpt_pre) printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' ;;
    data) printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nQUIT\r\n' ;;
    vrfy) printf 'EHLO c.example\r\nVRFY bob\r\nQUIT\r\n' ;;
    noop) printf 'EHLO c.example\r\nNOOP\r\nQUIT\r\n' ;;
    help) printf 'EHLO c.example\r\nHELP\r\nQUIT\r\n' ;;
    quit) printf 'EHLO c.example\r\nQUIT\r\n' ;;
    unrecognized_command) printf 'EHLO c.example\r\nFROB\r\nQUIT\r\n' ;;
    *) printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n'"$m"'QUIT\r\n' ;;
  esac
}

# check HOOK CODE "expected reply codes" [reply line regexp]
check() {
  local hook=$1 rc=$2 want=$3 line=${4:-}
  local qp
  qp=$(printf 'tests/return_code %s %s\nrcpt_ok\nqueue/qmail-queue\n' "$hook" "$rc" | build_chain "rc-$hook-$rc")
  input_for "$hook" > "$IN"
  rm -rf "$FAKEQ_DIR"; mkdir -p "$FAKEQ_DIR"
  smtp "$qp"
  if [ "$(codes)" != "$want" ]; then
    echo "hook $hook $rc: got '$(codes)', want '$want'"; cat "$OUT"; return 1
  fi
  if [ -n "$line" ] && ! tr -d '\r' < "$OUT" | grep -Eq "$line"; then
    echo "hook $hook $rc: no line matching '$line'"; cat "$OUT"; return 1
  fi
}

@test "connect: DENY 550, DENYSOFT 450, both disconnect; DONE skips the greeting" {
  check connect DENY "550" '^550 5\.7\.1 Connection from you denied, bye bye\.$'
  check connect DENY_DISCONNECT "550"
  check connect DENYSOFT "450" '^450 4\.7\.1 Connection from you temporarily denied, bye bye\.$'
  check connect DENYSOFT_DISCONNECT "450"
  check connect OK "220 221"
  check connect DONE "250 221" '^250 2\.0\.0 done by plugin$'
}

@test "helo and ehlo: DENY 550, DENYSOFT 450, the _DISCONNECT codes close" {
  for h in helo ehlo; do
    check $h DENY "220 550 221"
    check $h DENYSOFT "220 450 221"
    check $h DENY_DISCONNECT "220 550"
    check $h DENYSOFT_DISCONNECT "220 450"
    check $h OK "220 250 221"
    check $h DONE "220 250 221" '^250 2\.0\.0 done by plugin$'
  done
}

@test "mail: DENY 550, DENYSOFT 450, DENY_DISCONNECT 550 and close, DENYSOFT_DISCONNECT 421 and close" {
  check mail DENY "220 250 550 221" '^550 5\.7\.1 <a@b\.example>, denied$'
  check mail DENYSOFT "220 250 450 221" '^450 4\.7\.1 <a@b\.example>, temporarily denied$'
  check mail DENY_DISCONNECT "220 250 550"
  check mail DENYSOFT_DISCONNECT "220 250 421"
  check mail OK "220 250 250 221"
}

@test "mail_parse and rcpt_parse: a deny is 501" {
  check mail_parse DENY "220 250 501 221" '^501 5\.5\.4 Syntax error in command$'
  check rcpt_parse DENY "220 250 250 501 221"
}

@test "rcpt: DENY 550, DENYSOFT 450, DENYSOFT_DISCONNECT 421, OK 250; no decision is 450" {
  check rcpt DENY "220 250 250 550 221" '^550 5\.7\.1 relaying denied$'
  check rcpt DENYSOFT "220 250 250 450 221"
  check rcpt DENY_DISCONNECT "220 250 250 550" '^550 5\.7\.1 delivery denied$'
  check rcpt DENYSOFT_DISCONNECT "220 250 250 421"
  check rcpt OK "220 250 250 250 221"
  qp=$(printf 'queue/qmail-queue\n' | build_chain rc-none)
  input_for rcpt > "$IN"
  smtp "$qp"
  assert_equal "$(codes)" "220 250 250 450 221"
  grep -q '^450 4.7.1 No plugin decided if relaying is allowed' "$OUT"
}

@test "a plugin's text replaces the default, and its own enhanced code is kept" {
  qp=$(printf 'tests/return_code rcpt DENY 5.1.1 no such user here\nqueue/qmail-queue\n' | build_chain rc-text)
  input_for rcpt > "$IN"
  smtp "$qp"
  grep -q '^550 5.1.1 no such user here' "$OUT"
}

@test "data: DENY 554, DENYSOFT 451, both _DISCONNECT close" {
  check data DENY "220 250 250 250 554 221" '^554 5\.7\.1 Message denied$'
  check data DENYSOFT "220 250 250 250 451 221" '^451 4\.7\.1 Message denied temporarily$'
  check data DENY_DISCONNECT "220 250 250 250 554"
  check data DENYSOFT_DISCONNECT "220 250 250 250 451"
}

@test "data_headers_end: only the _DISCONNECT codes act" {
  check data_headers_end DENY_DISCONNECT "220 250 250 250 354 554"
  check data_headers_end DENYSOFT_DISCONNECT "220 250 250 250 354 421"
  check data_headers_end DENY "220 250 250 250 354 250 221"
  [ "$(queued)" -eq 1 ]
}

@test "data_post: DENY 552, DENYSOFT 452, and nothing is queued" {
  check data_post DENY "220 250 250 250 354 552 221" '^552 5\.7\.1 Message denied$'
  [ "$(queued)" -eq 0 ]
  check data_post DENYSOFT "220 250 250 250 354 452 221"
  [ "$(queued)" -eq 0 ]
  check data_post DENY_DISCONNECT "220 250 250 250 354 552"
  check data_post DENYSOFT_DISCONNECT "220 250 250 250 354 452"
  check data_post DONE "220 250 250 250 354 250 221"
  [ "$(queued)" -eq 0 ]
}

@test "queue_pre: a deny stops the queue" {
  check queue_pre DENY "220 250 250 250 354 554 221"
  [ "$(queued)" -eq 0 ]
  check queue_pre DENYSOFT "220 250 250 250 354 451 221"
  [ "$(queued)" -eq 0 ]
}

@test "queue: OK 250, DENY 554, DENYSOFT 451; no queue plugin is 451" {
  check queue OK "220 250 250 250 354 250 221" '^250 2\.0\.0 Queued$'
  check queue DENY "220 250 250 250 354 554 221"
  check queue DENYSOFT "220 250 250 250 354 451 221"
  qp=$(printf 'rcpt_ok\n' | build_chain rc-noqueue)
  input_for queue > "$IN"
  smtp "$qp"
  assert_equal "$(codes)" "220 250 250 250 354 451 221"
  grep -q '^451 4.3.0 Queuing declined or disabled; try again later' "$OUT"
}

@test "vrfy, noop, help, quit and unrecognized_command results" {
  check vrfy DENY "220 250 554 221" '^554 5\.7\.1 Access Denied$'
  check vrfy OK "220 250 250 221" '^250 2\.1\.5 User OK$'
  check noop DENY "220 250 500 221" '^500 5\.5\.1 Stop wasting my time\.$'
  check noop DENY_DISCONNECT "220 250 500"
  check help DENY "220 250 500 221"
  check quit DONE "220 250 250"
  check unrecognized_command DENY "220 250 500 221"
  check unrecognized_command DENY_DISCONNECT "220 250 521"
  check unrecognized_command DONE "220 250 250 221"
}

@test "received_line: a plugin's OK text is the Received header" {
  qp=$(printf 'tests/return_code received_line OK from somewhere by us\nrcpt_ok\nqueue/qmail-queue\n' | build_chain rc-received)
  input_for queue > "$IN"
  smtp "$qp"
  head -1 "$FAKEQ_DIR/1.msg" | grep -qx 'Received: from somewhere by us'
}

@test "notes: connection notes last the session, transaction notes end with the transaction; deny hook sees denials" {
  qp=$(printf 'tests/notes\nbadrcptto\nrcpt_ok\nqueue/qmail-queue\n' | build_chain notes)
  echo 'bad@example.com' > "$CFG/badrcptto"
  { input_for queue | sed '$d'; printf 'MAIL FROM:<c@d.example>\r\nRCPT TO:<bad@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: y\r\n\r\nz\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$qp"
  grep -qx 'X-Notes: conn=yes txn=fresh denied=none' "$FAKEQ_DIR/1.msg"
  grep -qx 'X-Notes: conn=yes txn=fresh denied=badrcptto' "$FAKEQ_DIR/2.msg"
}

@test "the build refuses an unknown plugin, naming the file and line" {
  printf 'relay\nno_such_plugin\n' > "$BATS_TEST_TMPDIR/plugins"
  run make -s -C "$ROOT" BIN="$TB/qp-bad" PLUGINS="$BATS_TEST_TMPDIR/plugins"
  assert_failure
  assert_output --partial "plugins:2: unknown plugin \"no_such_plugin\""
  [ ! -e "$TB/qp-bad" ]
}

@test "the build refuses a bad plugin argument" {
  printf 'count_unrecognized_commands many\n' > "$BATS_TEST_TMPDIR/plugins"
  run make -s -C "$ROOT" BIN="$TB/qp-bad2" PLUGINS="$BATS_TEST_TMPDIR/plugins"
  assert_failure
  assert_output --partial "count_unrecognized_commands"
  [ ! -e "$TB/qp-bad2" ]
}

@test "a plugin's hook function of the wrong kind for its hook does not compile" {
  local cc d=$BATS_TEST_TMPDIR
  cc=${CC_CMD:-$(head -n 1 "$ROOT/conf-cc")}
  cat > "$d/good.c" <<'C'
#include "plugin.h"
static int m(struct session *s, void *self, struct addr_args *a) { return DECLINED; }
const struct plugin plugin_good = { .name = "good", .mail = m };
C
  sed 's/struct addr_args/struct helo_args/' "$d/good.c" > "$d/bad.c"
  run $cc -Werror -I"$ROOT" -c "$d/good.c" -o "$d/good.o"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  run $cc -Werror -I"$ROOT" -c "$d/bad.c" -o "$d/bad.o"
  [ "$status" -ne 0 ]
  [[ $output == *incompatible* ]] || { echo "$output"; return 1; }
  [ ! -e "$d/bad.o" ]
}
