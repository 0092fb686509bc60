#!/usr/bin/env bats
# The dkim plugin (plugins/dkim.c, dkim.c): messages signed by python3-dkim
# (dkimpy) verified through real sessions against keys that a dnsmasq on
# loopback publishes (tests/dkim-tool.py makes the keys and its
# configuration); a server that never answers and one that truncates every
# answer for the temperrors; and our own signatures checked by dkimpy and
# by Mail::DKIM.

load helper
load dnsservers

DNS_IP=127.$QPT_NET.76.1
SILENT_IP=127.$QPT_NET.76.3
TRUNC_IP=127.$QPT_NET.76.4
# Debian's python3 (python3-dkim), not one that PATH may find first (pyenv)
PY=/usr/bin/python3

setup_file() {
  export KEYS=$BATS_FILE_TMPDIR/keys
  $PY "$ROOT/tests/dkim-tool.py" keys "$KEYS"
  chmod -R a+rX "$KEYS"
  start_dnsmasq $DNS_IP "$KEYS/dnsmasq.conf"
  start_silent $SILENT_IP
  start_truncating $TRUNC_IP
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
}

chain() {
  build_chain "dkim-$1" <<EOF
relay
rcpt_ok
dkim $2
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

# signed SEL ALG CANON [l] [TAMPER]: the session's input in $IN
signed() {
  printf '%s' "$MSG" | $PY "$ROOT/tests/dkim-tool.py" sign "$KEYS" "$1" "$2" "$3" "${4:-}" "${5:-}" > "$IN"
}

# the queued message
qmsg() {
  cat "$FAKEQ_DIR"/*.msg
}

run_dkim() {   # run_dkim ARGS [VAR=value...]: the chain with those arguments, DNS on dnsmasq
  local bin
  bin=$(chain "$(echo "$1" | tr ' ' _)" "$1")
  shift
  smtp "$bin" DNSCACHEIP=$DNS_IP "$@"
}

@test "rsa-sha256 relaxed/relaxed: pass in Authentication-Results and the log, mail queued" {
  signed rsa rsa-sha256 relaxed/relaxed
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q '^Authentication-Results: test.example; dkim=pass header.d=example.org header.s=rsa header.a=rsa-sha256$'
  grep -q 'dkim: pass, d=example.org s=rsa a=rsa-sha256' "$ERR"
}

@test "rsa-sha256 simple/simple and relaxed/simple pass" {
  signed rsa rsa-sha256 simple/simple
  run_dkim "reject 1"
  qmsg | grep -q 'dkim=pass header.d=example.org header.s=rsa header.a=rsa-sha256'
  rm -f "$FAKEQ_DIR"/*
  signed rsa1024 rsa-sha256 relaxed/simple
  run_dkim "reject 1"
  qmsg | grep -q 'dkim=pass header.d=example.org header.s=rsa1024 header.a=rsa-sha256'
}

@test "ed25519-sha256 (RFC 8463) passes, relaxed and simple" {
  signed ed ed25519-sha256 relaxed/relaxed
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=pass header.d=example.org header.s=ed header.a=ed25519-sha256'
  rm -f "$FAKEQ_DIR"/*
  signed ed ed25519-sha256 simple/simple
  run_dkim "reject 1"
  qmsg | grep -q 'dkim=pass header.d=example.org header.s=ed header.a=ed25519-sha256'
}

@test "l=: passes; content appended after the signed length is reported in the log and the A-R comment" {
  signed rsa rsa-sha256 relaxed/relaxed l
  grep -q '; l=[0-9]' "$IN"
  run_dkim "reject 1"
  qmsg | grep -q 'dkim=pass header.d=example.org'
  ! grep -q 'unsigned' "$ERR"
  rm -f "$FAKEQ_DIR"/*
  signed rsa rsa-sha256 simple/simple l append
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q '^Authentication-Results: test.example; dkim=pass (l= leaves 27 body octets unsigned) header.d=example.org'
  grep -q 'dkim: pass, l= leaves 27 body octets unsigned, d=example.org' "$ERR"
}

@test "a changed body fails (body hash) and reject 1 refuses the message with Perl's text" {
  signed rsa rsa-sha256 relaxed/relaxed "" body
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 552 221" ]
  grep -q '^552 5.7.1 DKIM signature invalid: fail (body hash did not verify)' <(tr -d '\r' < "$OUT")
  nothing_queued
  grep -q 'dkim: fail, body hash did not verify, d=example.org s=rsa' "$ERR"
}

@test "a changed signed header fails (signature did not verify); reject 0 only logs and queues" {
  signed ed ed25519-sha256 relaxed/relaxed "" header
  run_dkim "reject 1"
  grep -q '^552 5.7.1 DKIM signature invalid: fail (signature did not verify)' <(tr -d '\r' < "$OUT")
  nothing_queued
  signed rsa rsa-sha256 relaxed/relaxed "" header
  run_dkim "reject 0"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=fail (signature did not verify) header.d=example.org header.s=rsa'
}

@test "reject naughty: the message is marked for the naughty plugin, not refused here" {
  signed rsa rsa-sha256 relaxed/relaxed "" body
  run_dkim "reject naughty"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=fail (body hash did not verify)'
}

@test "no key in DNS is permerror, a revoked key too; neither is refused" {
  signed missing rsa-sha256 relaxed/relaxed
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=permerror (no key for signature) header.d=example.org header.s=missing'
  rm -f "$FAKEQ_DIR"/*
  signed revoked rsa-sha256 relaxed/relaxed
  run_dkim "reject 1"
  qmsg | grep -q 'dkim=permerror (key revoked) header.d=example.org header.s=revoked'
}

@test "a DNS server that truncates every answer: temperror; reject 1 defers (452), reject 0 queues" {
  signed rsa rsa-sha256 relaxed/relaxed
  smtp "$(chain r1 "reject 1")" DNSCACHEIP=$TRUNC_IP
  grep -q '^452 4.7.1 Please try again later - temperror (key lookup failed or timed out)' <(tr -d '\r' < "$OUT")
  nothing_queued
  smtp "$(chain r0 "reject 0")" DNSCACHEIP=$TRUNC_IP
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=temperror (key lookup failed or timed out) header.d=example.org'
}

@test "a DNS server that never answers: temperror at the plugin's deadline (timeout 2), never a 5xx" {
  signed rsa rsa-sha256 relaxed/relaxed
  local t0=$SECONDS
  smtp "$(chain slow "reject 1 timeout 2")" DNSCACHEIP=$SILENT_IP
  [ $((SECONDS - t0)) -le 6 ]
  ! grep -q '^5' <(tr -d '\r' < "$OUT")
  grep -q 'dkim: temperror, key lookup failed or timed out' "$ERR"
}

@test "a 512-bit RSA key is refused (policy, RFC 8301), rsa-sha1 is permerror" {
  signed short rsa-sha256 relaxed/relaxed
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=policy (RSA key shorter than 1024 bits (RFC 8301)) header.d=example.org header.s=short'
  rm -f "$FAKEQ_DIR"/*
  signed rsa rsa-sha1 relaxed/relaxed
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=permerror (rsa-sha1 is not valid (RFC 8301)) header.d=example.org header.s=rsa header.a=rsa-sha1'
}

@test "unsigned mail: dkim=none; the notes for dmarc list the passing domains and every result" {
  { envelope; printf '%s' "$MSG" | sed 's/^\./../; s/$/\r/'; printf '.\r\nQUIT\r\n'; } > "$IN"
  echo 7 > "$CFG/loglevel"
  run_dkim "reject 1"
  qmsg | grep -q '^Authentication-Results: test.example; dkim=none$'
  grep -q 'notes: dkim_pass_domains "" dkim_results ""' "$ERR"
  # two signatures: one passes, one fails; one A-R entry each, not refused
  signed rsa rsa-sha256 relaxed/relaxed > /dev/null
  mv "$IN" "$BATS_TEST_TMPDIR/one"
  printf '%s' "$MSG" | $PY "$ROOT/tests/dkim-tool.py" sign "$KEYS" ed ed25519-sha256 relaxed/relaxed "" > "$BATS_TEST_TMPDIR/two"
  # the ed25519 signature of a message whose body then changed, above the rsa one
  python3 - "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two" > "$IN" <<'PY'
import sys
one = open(sys.argv[1], 'rb').read()
two = open(sys.argv[2], 'rb').read()
head, _, _ = two.partition(b'DATA\r\n')
sig = two.split(b'DATA\r\n', 1)[1].split(b'From: ', 1)[0]
a, b = one.split(b'DATA\r\n', 1)
sys.stdout.buffer.write(a + b'DATA\r\n' + sig.replace(b'bh=', b'bh=AAAA', 1) + b)
PY
  rm -f "$FAKEQ_DIR"/*
  run_dkim "reject 1"
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  qmsg | grep -q 'dkim=pass header.d=example.org header.s=rsa header.a=rsa-sha256'
  qmsg | grep -q 'dkim=fail (body hash did not verify) header.d=example.org header.s=ed'
  grep -q 'notes: dkim_pass_domains "example.org" dkim_results "fail d=example.org s=ed a=ed25519-sha256?pass d=example.org s=rsa a=rsa-sha256"' "$ERR"
}

# ---------------------------------------------------------------- signing

signing_cfg() {
  mkdir -p "$CFG/dkim/example.org"
  cp "$KEYS/rsa.pem" "$CFG/dkim/example.org/private"
  echo rsa > "$CFG/dkim/example.org/selector"
  chmod -R a+rX "$CFG/dkim"
}

unsigned_in() {   # unsigned_in FROM-DOMAIN
  { envelope; printf '%s' "$MSG" | sed "s/alice@example.org/alice@$1/; s/^\./../; s/\$/\r/"; printf '.\r\nQUIT\r\n'; } > "$IN"
}

@test "a relay client's mail is signed: DKIM-Signature on top, verified by dkimpy and by Mail::DKIM" {
  signing_cfg
  unsigned_in example.org
  run_dkim "reject 1" RELAYCLIENT=
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  [ "$(qmsg | head -n 1 | cut -c1-16)" = "DKIM-Signature: " ]
  qmsg | grep -q 'a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=rsa;'
  grep -q 'dkim: signed, d=example.org s=rsa' "$ERR"
  run $PY "$ROOT/tests/dkim-tool.py" verify "$KEYS" < <(qmsg)
  assert_output "pass 1"
  # Mail::DKIM asks the test's dnsmasq for the key
  run perl -MMail::DKIM::Verifier -MNet::DNS -e '
    Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => [shift], port => 53, udp_timeout => 3, retry => 1));
    my $v = Mail::DKIM::Verifier->new;
    while (<STDIN>) { s/\r?\n\z//; $v->PRINT("$_\r\n"); }
    $v->CLOSE;
    print $v->result, " ", $v->signature->domain, "\n";' $DNS_IP < <(qmsg)
  assert_output "pass example.org"
}

@test "signing: a subdomain uses its parent's key; a symlinked directory signs as the domain it points to" {
  signing_cfg
  unsigned_in mail.example.org
  run_dkim "reject 1" RELAYCLIENT=
  qmsg | grep -q 'd=example.org; s=rsa;'
  rm -f "$FAKEQ_DIR"/*
  ln -s example.org "$CFG/dkim/example.net"
  unsigned_in example.net
  run_dkim "reject 1" RELAYCLIENT=
  qmsg | grep -q 'd=example.org; s=rsa;'
  run $PY "$ROOT/tests/dkim-tool.py" verify "$KEYS" < <(qmsg)
  assert_output "pass 1"
}

@test "signing: no key directory, no signature; a bad key file is 421 naming the file, without key bytes" {
  unsigned_in example.org
  run_dkim "reject 1" RELAYCLIENT=
  [ "$(codes)" = "220 250 250 250 354 250 221" ]
  ! qmsg | grep -q '^DKIM-Signature'
  grep -q 'dkim: skip, no key for example.org' "$ERR"
  rm -f "$FAKEQ_DIR"/*
  signing_cfg
  printf -- '-----BEGIN RSA PRIVATE KEY-----\nTUlJU0VDUkVUS0VZQllURVM=\n-----END RSA PRIVATE KEY-----\n' > "$CFG/dkim/example.org/private"
  run_dkim "reject 1" RELAYCLIENT=
  grep -q '^421 ' <(tr -d '\r' < "$OUT")
  nothing_queued
  grep -q 'dkim/example.org/private' "$ERR"
  ! grep -q 'TUlJU0VDUkVU' "$ERR"
}
