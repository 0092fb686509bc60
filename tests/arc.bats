#!/usr/bin/env bats
# The arc plugin (plugins/arc.c, arc.c): ARC chains (RFC 8617) made by
# python3-dkim's arc_sign (tests/arc-tool.py) for the forwarders hop1.test
# and hop2.test, whose keys a dnsmasq on loopback publishes; a server that
# never answers for the temperror. Every verdict is checked against
# python3-dkim's arc_verify on the same message.

load helper
load dnsservers

DNS_IP=127.$QPT_NET.75.1
SILENT_IP=127.$QPT_NET.75.3
PY=/usr/bin/python3

setup_file() {
  export KEYS=$BATS_FILE_TMPDIR/keys
  $PY "$ROOT/tests/arc-tool.py" keys "$KEYS"
  chmod -R a+rX "$KEYS"
  start_dnsmasq $DNS_IP "$KEYS/dnsmasq.conf"
  start_silent $SILENT_IP
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
}

chain() {
  build_chain "arc-$1" <<EOF
rcpt_ok
arc $2
queue/qmail-queue
EOF
}

MSG='From: Alice <alice@example.org>
To: Bob <bob@example.com>
Subject: lunch
Date: Thu, 1 Jan 2026 12:00:00 +0000
Message-ID: <1@example.org>

Hi Bob,

  let us   meet at noon.   
.dotted line

'

# forwarded CASE: the message as the forwarders left it in $EML, the
# session in $IN
forwarded() {
  EML=$BATS_TEST_TMPDIR/msg.eml
  printf '%s' "$MSG" | $PY "$ROOT/tests/arc-tool.py" make "$KEYS" "$1" > "$EML"
  session
}

session() {
  $PY "$ROOT/tests/arc-tool.py" session < "$EML" > "$IN"
}

# python3-dkim's verdict on $EML: pass, fail or none
dkimpy() {
  $PY "$ROOT/tests/arc-tool.py" verify "$KEYS" < "$EML" | cut -d' ' -f1
}

qmsg() {
  cat "$FAKEQ_DIR"/*.msg
}

run_arc() {   # run_arc ARGS [VAR=value...]
  local bin
  bin=$(chain "$(echo "$1" | tr ' ' _)" "$1")
  shift
  rm -f "$FAKEQ_DIR"/*
  smtp "$bin" DNSCACHEIP=$DNS_IP "$@"
}

ares() {   # the queued message's Authentication-Results, after the id
  qmsg | sed -n 's/^Authentication-Results: test\.example; //p'
}

@test "no ARC field: arc=none, queued" {
  forwarded none
  echo 7 > "$CFG/loglevel"
  run_arc "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  assert_equal "$(ares)" 'arc=none'
  grep -q 'arc: none, no ARC set' "$ERR"
  grep -q 'arc: notes: arc_result "none" arc_oldest_pass ""' "$ERR"
  assert_equal "$(dkimpy)" none
}

@test "one hop (i=1, cv=none): arc=pass with smtp.remote-ip and header.oldest-pass=0" {
  forwarded one
  echo 7 > "$CFG/loglevel"
  run_arc "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  assert_equal "$(ares)" 'arc=pass smtp.remote-ip=192.0.2.1 header.oldest-pass=0'
  grep -q 'arc: pass, chain valid, sets 1, oldest-pass 0' "$ERR"
  grep -q 'arc: notes: arc_result "pass" arc_oldest_pass "0"' "$ERR"
  assert_equal "$(dkimpy)" pass
}

@test "two hops (i=2, cv=pass): arc=pass, oldest-pass=0" {
  forwarded two
  run_arc "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  assert_equal "$(ares)" 'arc=pass smtp.remote-ip=192.0.2.1 header.oldest-pass=0'
  grep -q 'arc: pass, chain valid, sets 2, oldest-pass 0' "$ERR"
  assert_equal "$(dkimpy)" pass
}

@test "a list footer between the hops: the first AMS no longer verifies, the chain passes with oldest-pass=2" {
  forwarded list
  run_arc "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  assert_equal "$(ares)" 'arc=pass smtp.remote-ip=192.0.2.1 header.oldest-pass=2'
  assert_equal "$(dkimpy)" pass
}

@test "the body changed after sealing: arc=fail; reject 1 refuses it, reject 0 queues it" {
  forwarded tamper
  run_arc "reject 1"
  [ "$(codes)" = "220 250 250 250 354 552 221" ]
  grep -q '^552 5.7.1 ARC validation failed' <(tr -d '\r' < "$OUT")
  nothing_queued
  grep -q 'arc: fail, body hash did not verify, sets 1' "$ERR"
  run_arc "reject 0"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  assert_equal "$(ares)" 'arc=fail (body hash did not verify) smtp.remote-ip=192.0.2.1'
  assert_equal "$(dkimpy)" fail
}

@test "broken cv=: a seal that says cv=fail, a second seal that says cv=none: arc=fail" {
  forwarded cvfail
  run_arc "reject 0"
  assert_equal "$(ares)" 'arc=fail (the newest seal says cv=fail) smtp.remote-ip=192.0.2.1'
  assert_equal "$(dkimpy)" fail
  forwarded cvnone
  run_arc "reject 0"
  assert_equal "$(ares)" "arc=fail (a later seal's cv= is not pass) smtp.remote-ip=192.0.2.1"
  assert_equal "$(dkimpy)" fail
}

@test "a changed older set, an ARC field without i=, an incomplete set: arc=fail" {
  forwarded two
  sed -i 's/^ARC-Authentication-Results: i=1; hop1.test/ARC-Authentication-Results: i=1; hop9.test/' "$EML"
  session
  run_arc "reject 0"
  assert_equal "$(ares)" 'arc=fail (an ARC-Seal did not verify) smtp.remote-ip=192.0.2.1'
  assert_equal "$(dkimpy)" fail
  forwarded one
  sed -i 's/^ARC-Seal: i=1;/ARC-Seal: x=1;/' "$EML"
  session
  run_arc "reject 0"
  assert_equal "$(ares)" 'arc=fail (ARC field without a valid i=) smtp.remote-ip=192.0.2.1'
  forwarded two
  sed -i '/^ARC-Authentication-Results: i=1;/d' "$EML"
  session
  run_arc "reject 0"
  assert_equal "$(ares)" 'arc=fail (incomplete ARC set) smtp.remote-ip=192.0.2.1'
  assert_equal "$(dkimpy)" fail
}

@test "a key server that never answers: arc=temperror after the timeout, never a refusal" {
  forwarded one
  run_arc "reject 1 timeout 2" DNSCACHEIP=$SILENT_IP
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  assert_equal "$(ares)" 'arc=temperror (key lookup failed or timed out) smtp.remote-ip=192.0.2.1'
}

@test "bad arguments fail the build" {
  run build_chain arc-bad1 <<< 'arc reject 2'
  assert_failure
  run build_chain arc-bad2 <<< 'arc timeout 0'
  assert_failure
  run build_chain arc-bad3 <<< 'arc frobnicate 1'
  assert_failure
  run build_chain arc-bad4 <<< 'arc reject'
  assert_failure
  run build_chain arc-good <<< 'arc reject 0 timeout 10'
  assert_success
}
