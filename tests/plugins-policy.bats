#!/usr/bin/env bats
# The policy plugins through the daemon: relay, rcpt_ok, badmailfrom,
# badrcptto, dont_require_anglebrackets, count_unrecognized_commands and
# queue/maildir. Every test fails without the plugin it is about.

load helper

setup() {
  mkcfg
  CDBMAKE=$ROOT/tests/plugins/cdbmake.py
}

# the replies without EHLO's continuation lines, CR dropped
replies() {
  tr -d '\r' < "$OUT" | grep -v '^250-'
}

# try_rcpt BIN ADDR [VAR=value...]: EHLO, MAIL, one RCPT; the RCPT's reply
# in $REPLY
try_rcpt() {
  local bin=$1 addr=$2
  shift 2
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$addr" > "$IN"
  smtp "$bin" "$@"
  REPLY=$(replies | sed -n 4p)
}

# try_mail BIN SENDER [VAR=value...]: EHLO, one MAIL; its reply in $REPLY
try_mail() {
  local bin=$1 addr=$2
  shift 2
  printf 'EHLO c.example\r\nMAIL FROM:<%s>\r\nQUIT\r\n' "$addr" > "$IN"
  smtp "$bin" "$@"
  REPLY=$(replies | sed -n 3p)
}

relaying() { [ "$REPLY" = "250 2.1.5 <$1>, recipient ok" ]; }
denied() { [ "$REPLY" = "550 5.7.1 Relaying denied" ]; }

# ---------------------------------------------------------------- relay

relay_chain() {
  build_chain policy-relay <<'EOF'
relay
rcpt_ok
EOF
}

@test "relay: a relayclients prefix lets the client relay to a foreign domain" {
  QP=$(relay_chain)
  try_rcpt "$QP" x@elsewhere.example
  denied
  echo '192.0.2.' > "$CFG/relayclients"
  try_rcpt "$QP" x@elsewhere.example
  relaying x@elsewhere.example
  grep -q 'relay: pass, relayclients match 192.0.2. for 192.0.2.1$' "$ERR"
}

@test "relay: a CIDR block takes in its first and last address and nothing outside" {
  QP=$(relay_chain)
  printf '# comment\n198.51.100.0/24\n' > "$CFG/relayclients"
  for ip in 198.51.100.0 198.51.100.1 198.51.100.255; do
    try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=$ip
    relaying x@elsewhere.example
  done
  for ip in 198.51.99.255 198.51.101.0 10.0.0.1; do
    try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=$ip
    denied
  done
}

@test "relay: exact addresses match only themselves" {
  QP=$(relay_chain)
  printf '127.0.0.1\n192.0.2.1\n' > "$CFG/relayclients"
  try_rcpt "$QP" x@elsewhere.example
  relaying x@elsewhere.example
  for ip in 192.0.2.10 192.0.2.2 127.0.0.2; do
    try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=$ip
    denied
  done
}

@test "relay: IPv6 blocks and prefixes, IPv4-mapped clients, and ::1 always" {
  QP=$(relay_chain)
  printf '2001:db8::/32\nfdda:b13d:e431:ae06:\n198.51.100.0/24\n' > "$CFG/relayclients"
  for ip in 2001:db8::1 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 2001:DB8::7 fdda:b13d:e431:ae06:a1:: ::ffff:198.51.100.7 ::1; do
    try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=$ip
    relaying x@elsewhere.example
  done
  for ip in 2001:db9::1 2001:db7:ffff::1 fdda:b13d:e431:ae07::1 ::2; do
    try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=$ip
    denied
  done
  # ::/0 means every IPv6 client, not every IPv4 one as well
  echo '::/0' > "$CFG/relayclients"
  try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=2a00::1
  relaying x@elsewhere.example
  try_rcpt "$QP" x@elsewhere.example
  denied
}

@test "relay: RELAYCLIENT in the environment, even empty, makes a relay client" {
  QP=$(relay_chain)
  try_rcpt "$QP" x@elsewhere.example RELAYCLIENT=
  relaying x@elsewhere.example
  grep -q 'relay: pass, enabled by env' "$ERR"
}

@test "relay: norelayclients wins over relayclients and RELAYCLIENT" {
  QP=$(relay_chain)
  echo '192.0.2.' > "$CFG/relayclients"
  printf '192.0.2.1\n198.51.100.\n' > "$CFG/norelayclients"
  try_rcpt "$QP" x@elsewhere.example
  denied
  grep -q 'relay: 192.0.2.1 in norelayclients (192.0.2.1)' "$ERR"
  try_rcpt "$QP" x@elsewhere.example RELAYCLIENT=
  denied
  try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=198.51.100.200 RELAYCLIENT=
  denied
  try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=192.0.2.9
  relaying x@elsewhere.example
}

@test "relay: morerelayclients.cdb from tcprules matches addresses and prefixes" {
  command -v tcprules > /dev/null || skip "tcprules (ucspi-tcp) is not installed"
  QP=$(relay_chain)
  printf '203.0.113.:allow\n198.51.100.7:allow\n' | tcprules "$CFG/morerelayclients.cdb" "$CFG/mrc.tmp"
  for ip in 203.0.113.44 198.51.100.7; do
    try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=$ip
    relaying x@elsewhere.example
  done
  grep -q 'relay: pass, morerelayclients match 198.51.100.7 for 198.51.100.7' "$ERR"
  try_rcpt "$QP" x@elsewhere.example TCPREMOTEIP=198.51.100.8
  denied
}

@test "relay: a relayclients entry that is no address is 421 at connect, logged with its file and line" {
  QP=$(relay_chain)
  printf '192.0.2.1\n\n192.168.1.*\n' > "$CFG/relayclients"
  printf 'EHLO c.example\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(replies)" "421 4.3.0 unable to read controls, closing connection"
  grep -q "control file $CFG/relayclients line 3: bad entry: 192.168.1.\\*" "$ERR"
}

@test "relay only 1: a client that may not relay is refused even for our domains" {
  QP=$(build_chain policy-relay-only <<'EOF'
relay only 1
rcpt_ok
EOF
)
  try_rcpt "$QP" bob@example.com
  denied
  echo '192.0.2.1' > "$CFG/relayclients"
  try_rcpt "$QP" x@elsewhere.example
  relaying x@elsewhere.example
}

@test "relay: bad arguments fail the build" {
  run build_chain policy-relay-bad <<< 'relay only maybe'
  assert_failure
  assert_output --partial 'plugin relay: only takes 0 or 1, not maybe'
  run build_chain policy-relay-bad <<< 'relay sometimes'
  assert_failure
}

# -------------------------------------------------------------- rcpt_ok

rcpt_chain() {
  build_chain policy-rcpt_ok <<< 'rcpt_ok'
}

@test "rcpt_ok: rcpthosts hosts, .subdomain entries and me are ours, in any case" {
  QP=$(rcpt_chain)
  printf 'example.com\n.Sub.Example.org\n' > "$CFG/rcpthosts"
  for a in bob@example.com BOB@Example.COM x@a.sub.example.org x@b.a.SUB.example.org x@test.example x@TEST.Example postmaster; do
    try_rcpt "$QP" "$a"
    relaying "$a"
  done
}

@test "rcpt_ok: other hosts and near misses are 550 5.7.1 Relaying denied" {
  QP=$(rcpt_chain)
  printf 'example.com\n.sub.example.org\n' > "$CFG/rcpthosts"
  for a in x@www.example.com x@sub.example.org x@example.com.evil.example x@example.org x@xexample.com x@test.example.net; do
    try_rcpt "$QP" "$a"
    denied
  done
}

@test "rcpt_ok: morercpthosts.cdb hosts, with the same subdomain rule" {
  QP=$(rcpt_chain)
  printf 'more.example\n.deep.example.net\n' | "$CDBMAKE" "$CFG/morercpthosts.cdb"
  for a in x@more.example x@MORE.example x@a.deep.example.net; do
    try_rcpt "$QP" "$a"
    relaying "$a"
  done
  grep -q 'rcpt_ok: pass, a.deep.example.net in morercpthosts as .deep.example.net' "$ERR"
  for a in x@a.more.example x@deep.example.net; do
    try_rcpt "$QP" "$a"
    denied
  done
}

@test "rcpt_ok: without rcpthosts only me is ours, with one warning" {
  QP=$(rcpt_chain)
  rm "$CFG/rcpthosts"
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<x@test.example>\r\nRCPT TO:<y@other.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run replies
  assert_line --index 3 '550 5.7.1 Relaying denied'
  assert_line --index 4 '250 2.1.5 <x@test.example>, recipient ok'
  assert_line --index 5 '550 5.7.1 Relaying denied'
  [ "$(grep -c 'rcpt_ok: no rcpthosts' "$ERR")" -eq 1 ]
}

@test "rcpt_ok: a relay client may send anywhere" {
  QP=$(relay_chain)
  try_rcpt "$QP" x@elsewhere.example RELAYCLIENT=
  relaying x@elsewhere.example
  grep -q 'rcpt_ok: pass, relay client' "$ERR"
}

# ---------------------------------------------------------- badmailfrom

bmf_chain() {
  build_chain "policy-badmailfrom$1" <<EOF
relay
badmailfrom $2
rcpt_ok
EOF
}

bmf_config() {
  cat > "$CFG/badmailfrom" <<'EOF'
# qmail style
spammer@example.net
@spam.example  we do not take mail from spam.example
^bounce-[0-9]+@.*\.verp\.example$	VERP from there is not wanted
nodomain
^(broken pattern
EOF
}

@test "badmailfrom: a listed sender is 550 at MAIL with the default reason" {
  QP=$(bmf_chain)
  bmf_config
  try_mail "$QP" spammer@example.net
  assert_equal "$REPLY" '550 5.7.1 Your envelope sender is in my badmailfrom list'
  try_mail "$QP" SPAMMER@Example.NET
  assert_equal "$REPLY" '550 5.7.1 Your envelope sender is in my badmailfrom list'
  grep -q 'badmailfrom: fail, SPAMMER@Example.NET matches spammer@example.net' "$ERR"
}

@test "badmailfrom: @host entries and patterns, with their reasons" {
  QP=$(bmf_chain)
  bmf_config
  try_mail "$QP" anyone@spam.example
  assert_equal "$REPLY" '550 5.7.1 we do not take mail from spam.example'
  try_mail "$QP" bounce-42@lists.verp.example
  assert_equal "$REPLY" '550 5.7.1 VERP from there is not wanted'
  try_mail "$QP" Bounce-7@X.VERP.example
  assert_equal "$REPLY" '550 5.7.1 VERP from there is not wanted'
}

@test "badmailfrom: unlisted senders, subdomains and the null sender pass" {
  QP=$(bmf_chain)
  bmf_config
  for a in friend@example.net anyone@www.spam.example bounce-x@a.verp.example spammer@example.net.example; do
    try_mail "$QP" "$a"
    assert_equal "$REPLY" "250 2.1.0 <$a>, sender OK - how exciting to get mail from you!"
    grep -q 'badmailfrom: pass$' "$ERR"
  done
  try_mail "$QP" ''
  assert_equal "$REPLY" "250 2.1.0 <>, sender OK - how exciting to get mail from you!"
}

@test "badmailfrom: entries without @ and bad patterns are logged with their file and line, and skipped" {
  QP=$(bmf_chain)
  bmf_config
  try_mail "$QP" nodomain@x.example
  assert_equal "$REPLY" "250 2.1.0 <nodomain@x.example>, sender OK - how exciting to get mail from you!"
  grep -q "badmailfrom: entry without @ in $CFG/badmailfrom line 5: nodomain, ignored" "$ERR"
  grep -q "badmailfrom: bad pattern in $CFG/badmailfrom line 6: ^(broken" "$ERR"
  try_mail "$QP" spammer@example.net
  assert_equal "$REPLY" '550 5.7.1 Your envelope sender is in my badmailfrom list'
}

@test "badmailfrom reject 0 only logs; reject_type temp answers 450" {
  bmf_config
  QP=$(bmf_chain -r0 'reject 0')
  try_mail "$QP" spammer@example.net
  assert_equal "$REPLY" "250 2.1.0 <spammer@example.net>, sender OK - how exciting to get mail from you!"
  grep -q 'badmailfrom: fail, tolerated, spammer@example.net matches spammer@example.net' "$ERR"
  QP=$(bmf_chain -temp 'reject_type temp')
  try_mail "$QP" spammer@example.net
  assert_equal "$REPLY" '450 4.7.1 Your envelope sender is in my badmailfrom list'
}

@test "badmailfrom: relay clients are immune" {
  QP=$(bmf_chain)
  bmf_config
  try_mail "$QP" spammer@example.net
  assert_equal "$REPLY" '550 5.7.1 Your envelope sender is in my badmailfrom list'
  try_mail "$QP" spammer@example.net RELAYCLIENT=
  assert_equal "$REPLY" "250 2.1.0 <spammer@example.net>, sender OK - how exciting to get mail from you!"
}

@test "badmailfrom: bad arguments fail the build" {
  run build_chain policy-badmailfrom-bad <<< 'badmailfrom reject sometimes'
  assert_failure
  assert_output --partial 'plugin badmailfrom: reject takes 0, 1 or naughty'
  run build_chain policy-badmailfrom-bad <<< 'badmailfrom reject'
  assert_failure
  run build_chain policy-badmailfrom-bad <<< 'badmailfrom reject_type sometimes'
  assert_failure
}

# ------------------------------------------------------------ badrcptto

brt_chain() {
  build_chain policy-badrcptto <<'EOF'
relay
badrcptto
rcpt_ok
EOF
}

brt_config() {
  cat > "$CFG/badrcptto" <<'EOF'
gone@example.com
@old.example.com that domain is closed
^trap[0-9]+@example\.com$
EOF
  printf 'example.com\n.example.com\n' > "$CFG/rcpthosts"
}

@test "badrcptto: a listed recipient is 550 5.1.1 mail to ADDRESS not accepted here" {
  QP=$(brt_chain)
  brt_config
  try_rcpt "$QP" gone@example.com
  assert_equal "$REPLY" '550 5.1.1 mail to gone@example.com not accepted here'
  try_rcpt "$QP" Gone@EXAMPLE.com
  assert_equal "$REPLY" '550 5.1.1 mail to Gone@EXAMPLE.com not accepted here'
  try_rcpt "$QP" trap17@example.com
  assert_equal "$REPLY" '550 5.1.1 mail to trap17@example.com not accepted here'
}

@test "badrcptto: @host entries send the line's reason" {
  QP=$(brt_chain)
  brt_config
  try_rcpt "$QP" anyone@old.example.com
  assert_equal "$REPLY" '550 5.1.1 that domain is closed'
}

@test "badrcptto: other recipients, and relay clients, pass on to rcpt_ok" {
  QP=$(brt_chain)
  brt_config
  for a in bob@example.com gone@new.example.com xtrap1@example.com trap@example.com; do
    try_rcpt "$QP" "$a"
    relaying "$a"
    grep -q 'badrcptto: pass$' "$ERR"
  done
  try_rcpt "$QP" gone@example.com
  assert_equal "$REPLY" '550 5.1.1 mail to gone@example.com not accepted here'
  try_rcpt "$QP" gone@example.com RELAYCLIENT=
  relaying gone@example.com
}

# ---------------------------------------------- dont_require_anglebrackets

@test "dont_require_anglebrackets: MAIL FROM and RCPT TO without brackets are accepted" {
  QP=$(build_chain policy-anglebrackets <<'EOF'
dont_require_anglebrackets
rcpt_ok
EOF
)
  printf 'EHLO c.example\r\nMAIL FROM:a@b.example\r\nRCPT TO:bob@example.com\r\nRCPT TO:<carol@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  run replies
  assert_line --index 2 '250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!'
  assert_line --index 3 '250 2.1.5 <bob@example.com>, recipient ok'
  assert_line --index 4 '250 2.1.5 <carol@example.com>, recipient ok'
}

# ------------------------------------------- count_unrecognized_commands

@test "count_unrecognized_commands 2: the second unknown command is 521 and closes" {
  QP=$(build_chain policy-cuc2 <<< 'count_unrecognized_commands 2')
  printf 'FOO\r\nBAR baz\r\nNOOP\r\n' > "$IN"
  smtp "$QP"
  run replies
  assert_line --index 1 '500 5.5.1 Unrecognized command'
  assert_line --index 2 '521 5.5.1 Closing connection, 2 unrecognized commands. Perhaps you should read RFC 2821?'
  assert_equal "$(codes)" "220 500 521"
}

@test "count_unrecognized_commands without an argument closes at the fourth" {
  QP=$(build_chain policy-cuc <<< 'count_unrecognized_commands')
  printf 'A\r\nB\r\nNOOP\r\nC\r\nD\r\nNOOP\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 500 500 250 500 521"
  grep -q '^521 5.5.1 Closing connection, 4 unrecognized commands.' "$OUT"
}

@test "count_unrecognized_commands: 0, too big, junk and two numbers fail the build" {
  for arg in 0 1000001 4x -1 '3 4'; do
    run build_chain policy-cuc-bad <<< "count_unrecognized_commands $arg"
    assert_failure
  done
  assert_output --partial 'plugin count_unrecognized_commands: takes one argument'
}

# -------------------------------------------------------- queue/maildir

# a whole transaction from a@b.example, for the recipients given
deliver() {
  {
    printf 'EHLO c.example\r\nMAIL FROM:<%s>\r\n' "$1"
    shift
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'DATA\r\nSubject: maildir test\r\n\r\nline one\r\n..dot\r\n.\r\nQUIT\r\n'
  } > "$IN"
}

@test "queue/maildir: the message lands in new/ with Return-Path and Delivered-To; 250 names it" {
  QP=$(build_chain policy-maildir <<'EOF'
rcpt_ok
queue/maildir Maildir
EOF
)
  cd "$BATS_TEST_TMPDIR"
  deliver a@b.example bob@example.com carol@example.com
  smtp "$QP"
  [ "$(ls Maildir/new | wc -l)" -eq 1 ]
  [ "$(ls Maildir/tmp | wc -l)" -eq 0 ]
  [ -d Maildir/cur ]
  [ "$(stat -c %a Maildir Maildir/new Maildir/tmp Maildir/cur | sort -u)" = 700 ]
  f=$(ls Maildir/new)
  [ "$(stat -c %a "Maildir/new/$f")" = 600 ]
  id=$(replies | sed -n 's/^250 2.0.0 Queued! //p')
  [ -n "$id" ]
  [[ $f == "$id".* ]]
  run cat "Maildir/new/$f"
  assert_line --index 0 'Return-Path: <a@b.example>'
  assert_line --index 1 'Delivered-To: bob@example.com'
  assert_line --index 2 'Delivered-To: carol@example.com'
  assert_line --index 3 --regexp '^Received: from '
  assert_line 'Subject: maildir test'
  assert_line '.dot'
  ! grep -q $'\r' "Maildir/new/$f" || false
}

@test "queue/maildir: the null sender is Return-Path: <>" {
  QP=$(build_chain policy-maildir <<'EOF'
rcpt_ok
queue/maildir Maildir
EOF
)
  cd "$BATS_TEST_TMPDIR"
  deliver '' bob@example.com
  smtp "$QP"
  run sh -c 'head -1 Maildir/new/*'
  assert_output 'Return-Path: <>'
}

@test "queue/maildir with %d/%l: one copy per recipient with its own Delivered-To" {
  QP=$(build_chain policy-maildir-sub <<'EOF'
rcpt_ok
queue/maildir Maildir %d/%l 750
EOF
)
  cd "$BATS_TEST_TMPDIR"
  printf 'example.com\nexample.org\n' > "$CFG/rcpthosts"
  deliver a@b.example bob@example.com carol@example.org
  smtp "$QP"
  grep -q '^250 2.0.0 Queued! ' "$OUT"
  [ "$(find Maildir -type f | wc -l)" -eq 2 ]
  run sh -c 'cat Maildir/example.com/bob/new/*'
  assert_line --index 1 'Delivered-To: bob@example.com'
  refute_line 'Delivered-To: carol@example.org'
  run sh -c 'cat Maildir/example.org/carol/new/*'
  assert_line --index 1 'Delivered-To: carol@example.org'
  [ "$(stat -c %a Maildir/example.org/carol/new)" = 750 ]
  [ "$(stat -c %a Maildir/example.org/carol/new/*)" = 640 ]
}

@test "queue/maildir: a Maildir that cannot be made is 451 and nothing is queued" {
  QP=$(build_chain policy-maildir <<'EOF'
rcpt_ok
queue/maildir Maildir
EOF
)
  cd "$BATS_TEST_TMPDIR"
  touch Maildir
  deliver a@b.example bob@example.com
  smtp "$QP"
  grep -q '^451 4.3.0 Unable to queue message (mkdir)' "$OUT"
  grep -q 'queue/maildir: cannot make the Maildir Maildir' "$ERR"
}

@test "queue/maildir with %d/%l: when one copy fails, no copy is delivered" {
  QP=$(build_chain policy-maildir-sub <<'EOF'
rcpt_ok
queue/maildir Maildir %d/%l 750
EOF
)
  cd "$BATS_TEST_TMPDIR"
  printf 'example.com\nexample.org\n' > "$CFG/rcpthosts"
  mkdir -p Maildir/example.org/carol
  touch Maildir/example.org/carol/new
  deliver a@b.example bob@example.com carol@example.org
  smtp "$QP"
  grep -q '^451 4.3.0 Unable to queue message (mkdir)' "$OUT"
  assert_equal "$(find Maildir -type f)" "Maildir/example.org/carol/new"
}

@test "queue/maildir with %l: a '/' in a local part does not make a directory" {
  QP=$(build_chain policy-maildir-l <<'EOF'
rcpt_ok
queue/maildir Maildir/users %l
EOF
)
  cd "$BATS_TEST_TMPDIR"
  deliver a@b.example 'a/b@example.com' "o'neil+x=y@example.com"
  smtp "$QP"
  grep -q '^250 2.0.0 Queued! ' "$OUT"
  assert_equal "$(ls Maildir/users | sort)" "$(printf 'a_b\no_neil+x=y')"
  run sh -c 'cat Maildir/users/a_b/new/*'
  assert_line --index 1 'Delivered-To: a/b@example.com'
}

@test "queue/maildir: bad arguments fail the build" {
  for args in '' 'Maildir nosubst' 'Maildir %l 600' 'Maildir %l 7z0' 'Maildir %l 700 extra'; do
    run build_chain policy-maildir-bad <<< "queue/maildir $args"
    assert_failure
    assert_output --partial 'plugin queue/maildir: '
  done
}
