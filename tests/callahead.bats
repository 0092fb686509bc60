#!/usr/bin/env bats
# Recipient checks that stop backscatter, against a real private Postfix
# (tests/postfix.bash) with a virtual alias domain virt.example whose
# table (hash:, made with postmap) knows known@virt.example:
# rcpt_callahead asks Postfix's smtpd at RCPT time, rcpt_postfix_maps
# looks the recipient up in the same table with postmap.

load helper
load postfix
load scanners

PFADDR=127.$QPT_NET.89.1    # Postfix's smtpd
DOWN=127.$QPT_NET.89.2      # nothing listens on port 25; on 26 a server that never answers

setup_file() {
  PF=$(mktemp -d /tmp/qp-callahead.XXXXXX)
  PFPORT=25
  export PF PFPORT
  pf_setup "$PF" "$PFPORT"
  sed -i "s/^127\.0\.0\.1:$PFPORT /$PFADDR:$PFPORT /" "$PF/etc/master.cf"
  printf 'known@virt.example bob@test.example\nalias@virt.example carol@test.example\n' > "$PF/etc/virtual"
  postmap -c "$PF/etc" "hash:$PF/etc/virtual"
  chmod a+r "$PF/etc/virtual" "$PF/etc/virtual.db"
  postconf -c "$PF/etc" -e "virtual_alias_domains = virt.example" "virtual_alias_maps = hash:$PF/etc/virtual"
  pf_start "$PF"
}

teardown_file() {
  pf_stop "$PF"
  rm -rf "$PF"
}

setup() {
  mkcfg
  printf 'test.example\nvirt.example\n' > "$CFG/rcpthosts"
  SLOWPID=
}

teardown() {
  if [ -n "$SLOWPID" ]; then kill "$SLOWPID" 2> /dev/null || true; fi
}

# rcpts R... : a session giving each recipient, then QUIT
rcpts() {
  {
    printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\n'
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'QUIT\r\n'
  } > "$IN"
}

# the replies to the RCPTs, one per line
rcpt_replies() { tr -d '\r' < "$OUT" | grep -v '^250-' | sed '1,3d;$d'; }

ca_chain() {
  build_chain "ca-$1" <<EOF
rcpt_callahead $2
rcpt_ok
queue/smtp-forward $PFADDR $PFPORT
EOF
}

@test "callahead: Postfix's unknown virtual user gets 550 5.1.1 at RCPT, known ones 250, on one connection" {
  QP=$(ca_chain plain "$PFADDR $PFPORT timeout 5")
  n0=$(grep -c 'smtpd.*: connect from' "$PF/maillog" || true)
  rcpts nobody@virt.example known@virt.example bob@test.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 550 250 250 221"
  assert_equal "$(rcpt_replies | head -1)" '550 5.1.1 <nobody@virt.example>: Recipient address rejected: User unknown in virtual alias table'
  grep -q 'rcpt_callahead: deny, nobody@virt.example: ' "$ERR"
  grep -q 'rcpt_callahead: pass, known@virt.example: ' "$ERR"
  for _ in $(seq 50); do [ "$(grep -c 'smtpd.*: disconnect from' "$PF/maillog")" -gt "$n0" ] && break; sleep 0.1; done
  assert_equal "$(( $(grep -c 'smtpd.*: connect from' "$PF/maillog") - n0 ))" 1
}

@test "callahead: answers are cached in the store; the next hop down gives 450 for what is not cached" {
  QP=$(ca_chain cache "$PFADDR $PFPORT timeout 5 db_dir $BATS_TEST_TMPDIR/kv")
  mkdir -p "$BATS_TEST_TMPDIR/kv"
  chmod 777 "$BATS_TEST_TMPDIR/kv"
  rcpts nobody@virt.example Known@virt.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 550 250 221"
  assert_equal "$(find "$BATS_TEST_TMPDIR/kv" -type f | wc -l)" 2
  port=25
  QP=$(ca_chain cache-down "$DOWN $port timeout 5 db_dir $BATS_TEST_TMPDIR/kv")
  rcpts NOBODY@virt.example known@virt.example alias@virt.example other@virt.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 550 250 450 450 221"
  grep -q 'deny, NOBODY@virt.example (cached)' "$ERR"
  grep -q 'pass, known@virt.example (cached)' "$ERR"
  assert_equal "$(rcpt_replies | sed -n 3p)" "450 4.4.1 Recipient address verification unavailable, try again later"
  grep -q "defer, alias@virt.example: next hop $DOWN:$port cannot connect" "$ERR"
  grep -q "defer, other@virt.example: next hop $DOWN:$port down earlier in this session" "$ERR"
}

@test "callahead: on_error pass lets rcpt_ok decide when the next hop is down" {
  port=25
  QP=$(ca_chain pass "$DOWN $port on_error pass")
  rcpts someone@virt.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 221"
}

@test "callahead: a next hop that never answers costs the timeout, then 450" {
  port=26
  silent_server "$DOWN" "$port"
  QP=$(ca_chain slow "$DOWN $port timeout 1")
  rcpts a@virt.example b@virt.example
  start=$(date +%s%N)
  smtp "$QP"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  assert_equal "$(codes)" "220 250 250 450 450 221"
  grep -q "next hop $DOWN:[0-9]* no greeting" "$ERR"
  [ "$ms" -lt 4000 ]
}

@test "callahead: the next hop's 4xx gives 450 with its text, and is not cached" {
  smtp-sink -u nobody -r RCPT "$DOWN:27" 5 2> /dev/null 3>&- &
  SLOWPID=$!
  for _ in $(seq 50); do (exec 3<> "/dev/tcp/$DOWN/27") 2> /dev/null && break; sleep 0.1; done
  mkdir -m 777 "$BATS_TEST_TMPDIR/kv"
  QP=$(ca_chain temp "$DOWN 27 db_dir $BATS_TEST_TMPDIR/kv")
  rcpts a@virt.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 450 221"
  assert_equal "$(rcpt_replies)" "450 4.1.1 <a@virt.example>: Recipient address verification deferred: Error: command failed"
  grep -q 'rcpt_callahead: defer, a@virt.example: ' "$ERR"
  [ -z "$(find "$BATS_TEST_TMPDIR/kv" -type f)" ]
}

pm_chain() {
  build_chain "pm-$1" <<EOF
rcpt_postfix_maps config_dir $PF/etc $2
rcpt_ok
queue/qmail-queue
EOF
}

@test "rcpt_postfix_maps: postmap on Postfix's virtual table: 550 5.1.1 for the unknown, 250 for the known" {
  QP=$(pm_chain hash "map hash:$PF/etc/virtual domain virt.example")
  rcpts nobody@virt.example known@virt.example Alias@VIRT.example bob@test.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 550 250 250 250 221"
  assert_equal "$(rcpt_replies | head -1)" "550 5.1.1 <nobody@virt.example>: Recipient address rejected: User unknown"
  grep -q 'rcpt_postfix_maps: pass, known@virt.example found' "$ERR"
  ! grep -q 'rcpt_postfix_maps: .*bob@test.example' "$ERR" || false
}

@test "rcpt_postfix_maps: a catch-all @domain and localpart keys; a broken map gives 450" {
  printf '@catch.example x\nlocal y\n' > "$BATS_TEST_TMPDIR/t"
  chmod a+r "$BATS_TEST_TMPDIR/t"
  printf 'catch.example\nlp.example\n' >> "$CFG/rcpthosts"
  QP=$(pm_chain lp "map texthash:$BATS_TEST_TMPDIR/t localpart yes")
  rcpts anyone@catch.example local@lp.example nobody@lp.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 550 221"
  QP=$(pm_chain broken "map hash:$BATS_TEST_TMPDIR/missing")
  rcpts anyone@catch.example
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 450 221"
  grep -q 'rcpt_postfix_maps: postmap: fatal: ' "$ERR"
}

@test "bad rcpt_callahead and rcpt_postfix_maps arguments fail the build" {
  run build_chain ca-bad <<< 'rcpt_callahead mx.example'
  assert_failure
  assert_output --partial 'the next hop must be an IPv4 or IPv6 address'
  run build_chain pm-bad <<< 'rcpt_postfix_maps domain x.example'
  assert_failure
  assert_output --partial 'needs at least one map'
}
