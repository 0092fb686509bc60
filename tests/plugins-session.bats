#!/usr/bin/env bats
# The envelope and session plugins through the daemon: helo, earlytalker,
# badmailfromto, rcpt_map, rcpt_regexp, noop_counter, help, quit_fortune,
# whitelist, naughty, count_denies, random_error, hosts_allow and
# logging/syslog. Every test fails without the plugin it is about.

load helper

setup() {
  mkcfg
  SRVPID=
}

teardown() {
  if [ -n "${SRVPID:-}" ]; then
    kids=$(ps -o pid= --ppid "$SRVPID" 2> /dev/null || true)
    # shellcheck disable=SC2086
    kill "$SRVPID" $kids 2> /dev/null || true
    wait "$SRVPID" 2> /dev/null || true
  fi
}

# the replies without EHLO's continuation lines, CR dropped
replies() {
  tr -d '\r' < "$OUT" | grep -v '^250-'
}

# say BIN 'lines\r\n...' [VAR=value...]: runs a session with that input
say() {
  local bin=$1
  printf "$2" > "$IN"
  shift 2
  smtp "$bin" "$@"
}

# line N of the replies
nth() { replies | sed -n "${1}p"; }

# ---------------------------------------------------------------- helo

helo_chain() {
  build_chain "session-helo$1" <<EOF
relay
helo $2
naughty reject mail
rcpt_ok
queue/qmail-queue
EOF
}

@test "helo: a badhelo name is refused with 550 and the connection closed" {
  QP=$(helo_chain)
  printf 'aol.com\nyahoo.com\n' > "$CFG/badhelo"
  say "$QP" 'HELO AOL.com\r\nNOOP\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 I do not believe you are aol.com.'
  assert_equal "$(replies | wc -l)" 2
  grep -q 'helo: fail, in badhelo' "$ERR"
  say "$QP" 'HELO mail.example.org\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 221'
}

@test "helo: badhelo patterns, negated patterns, every line tried" {
  QP=$(helo_chain)
  printf '^dsl-[0-9]+\\.\n!\\.\n\\d+\\.pool\\.example$\nexact.example\n' > "$CFG/badhelo"
  say "$QP" 'HELO exact.example\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 I do not believe you are exact.example.'
  say "$QP" 'HELO dsl-12.isp.example\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 Your HELO hostname is not allowed'
  say "$QP" 'HELO nodots\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 Your HELO hostname is not allowed'
  grep -q 'badhelo pattern match (!\\.)' "$ERR"
  say "$QP" 'HELO 77.pool.example\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 Your HELO hostname is not allowed'
  say "$QP" 'HELO mx.good.example\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 221'
}

@test "helo: a badhelo pattern that does not compile is a 421 at connect naming the file and line" {
  QP=$(helo_chain)
  printf 'ok.example\n# a comment\n(unclosed\n' > "$CFG/badhelo"
  say "$QP" 'HELO mx.good.example\r\nQUIT\r\n'
  assert_equal "$(codes)" '421'
  assert_equal "$(nth 1)" '421 4.3.0 unable to read controls, closing connection'
  grep -q "control file $CFG/badhelo line 3: bad pattern (unclosed" "$ERR"
}

@test "helo lenient: localhost, forged literals and plain IPs" {
  QP=$(helo_chain)
  say "$QP" 'HELO localhost\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 You are not localhost'
  say "$QP" 'HELO localhost\r\nQUIT\r\n' TCPREMOTEIP=127.0.0.1
  assert_equal "$(codes)" '220 250 221'
  say "$QP" 'HELO [192.0.2.9]\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 Forged IPs not accepted here'
  say "$QP" 'HELO [192.0.2.1]\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 221'
  say "$QP" 'HELO 192.0.2.1\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '550 5.7.1 Plain IP is invalid HELO hostname (RFC 2821)'
  say "$QP" 'EHLO [IPv6:2001:db8::1]\r\nQUIT\r\n' TCPREMOTEIP=2001:db8::1
  assert_equal "$(codes)" '220 250 221'
}

@test "helo rfc and strict: names that are not fully qualified are refused before any DNS lookup" {
  # the DNS checks that come after these are in tests/helo-dns.bats; a
  # lookup here would go to DNSCACHEIP, where nothing listens
  QP=$(helo_chain -rfc 'policy rfc')
  say "$QP" 'HELO workstation\r\nQUIT\r\n' DNSCACHEIP=127.$QPT_NET.61.4
  assert_equal "$(nth 2)" '550 5.7.1 HELO name is not fully qualified. Read RFC 2821'
  say "$QP" 'HELO bad_name.example\r\nQUIT\r\n' DNSCACHEIP=127.$QPT_NET.61.4
  assert_equal "$(nth 2)" '550 5.7.1 HELO name contains invalid FQDN characters. Read RFC 1035'
  QP=$(helo_chain -strict 'policy strict')
  say "$QP" 'HELO workstation\r\nQUIT\r\n' DNSCACHEIP=127.$QPT_NET.61.4
  assert_equal "$(nth 2)" '550 5.7.1 HELO name is not fully qualified. Read RFC 2821'
  ! grep -q 'dns:' "$ERR" || false
}

@test "helo reject 0 only logs; reject_type temp answers 450 and keeps the connection" {
  QP=$(helo_chain -r0 'reject 0')
  say "$QP" 'HELO 192.0.2.1\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 221'
  grep -q 'helo: fail, tolerated, plain IP' "$ERR"
  QP=$(helo_chain -temp 'reject_type temp')
  say "$QP" 'HELO 192.0.2.1\r\nHELO mx.example.org\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 450 250 221'
}

@test "helo reject naughty: the naughty plugin refuses at MAIL" {
  QP=$(helo_chain -naughty 'policy strict reject naughty')
  say "$QP" 'HELO 192.0.2.1\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '250 test.example Hi [192.0.2.1] [192.0.2.1]; I am so happy to meet you.'
  assert_equal "$(nth 3)" '550 5.7.1 (helo) Plain IP is invalid HELO hostname (RFC 2821)'
  assert_equal "$(replies | wc -l)" 3
}

@test "helo: the queued message carries an X-HELO header; relay clients are not checked" {
  QP=$(helo_chain)
  say "$QP" 'HELO [192.0.2.9]\r\nQUIT\r\n' RELAYCLIENT=
  assert_equal "$(codes)" '220 250 221'
  say "$QP" 'HELO mx.example.org\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.com>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 354 250 221'
  grep -q '^X-HELO: mx.example.org$' "$FAKEQ_DIR"/1.msg
}

@test "helo: bad arguments fail the build" {
  run build_chain session-helo-bad <<< 'helo policy paranoid'
  assert_failure
  assert_output --partial 'policy takes lenient, rfc or strict'
}

# ---------------------------------------------------------------- earlytalker

et_chain() {
  build_chain "session-et$1" <<EOF
relay
earlytalker $2
rcpt_ok
EOF
}

@test "earlytalker: a client that talks before the greeting gets 550 and no greeting" {
  QP=$(et_chain -w 'wait 0.3')
  say "$QP" 'HELO x.example\r\nQUIT\r\n'
  assert_equal "$(replies)" '550 5.7.1 Connecting host started transmitting before SMTP greeting'
  grep -q 'earlytalker: fail, remote started talking before we said hello' "$ERR"
}

@test "earlytalker: a client that waits for the greeting is served" {
  QP=$(et_chain -w 'wait 0.3')
  cd "$BATS_TEST_TMPDIR"
  { sleep 0.8; printf 'HELO x.example\r\nQUIT\r\n'; } | env -i "${QPIDS[@]}" TCPREMOTEIP=192.0.2.1 QPSMTPD_CONFIG="$CFG" timeout 20 "$QP" > "$OUT" 2> "$ERR"
  cd - > /dev/null
  assert_equal "$(codes)" '220 250 221'
  grep -q 'earlytalker: pass, not spontaneous' "$ERR"
}

@test "earlytalker: relay clients are not checked; reject 0 only logs" {
  QP=$(et_chain -w 'wait 0.3')
  say "$QP" 'HELO x.example\r\nQUIT\r\n' RELAYCLIENT=
  assert_equal "$(codes)" '220 250 221'
  QP=$(et_chain -r0 'wait 0.3 reject 0')
  say "$QP" 'HELO x.example\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 221'
  grep -q 'earlytalker: fail, tolerated' "$ERR"
}

@test "earlytalker defer-reject: greeting as usual, then MAIL refused with 450" {
  QP=$(et_chain -defer 'wait 0.3 defer-reject 1')
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 450 221'
  assert_equal "$(nth 3)" '450 4.7.1 Connecting host started transmitting before SMTP greeting'
}

@test "earlytalker check-at DATA: a message sent before 354 is refused" {
  QP=$(et_chain -data 'wait 0.3 check-at DATA')
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n'
  assert_equal "$(nth 1 | cut -c1-3)" 220
  assert_equal "$(nth 5)" '554 5.7.1 Connecting host started transmitting before SMTP greeting'
}

# ---------------------------------------------------------------- badmailfromto

@test "badmailfromto: a listed sender/recipient pair is refused as an unknown user" {
  QP=$(build_chain session-bmft <<'EOF'
badmailfromto
rcpt_ok
EOF
)
  printf 'stalker@bad.example\tvictim@example.com\n@spam.example   boss@example.com\n' > "$CFG/badmailfromto"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<Stalker@Bad.example>\r\nRCPT TO:<victim@example.com>\r\nRCPT TO:<other@example.com>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '550 5.1.1 mail to victim@example.com not accepted here'
  assert_equal "$(nth 5)" '250 2.1.5 <other@example.com>, recipient ok'
  say "$QP" 'HELO x.example\r\nMAIL FROM:<friend@bad.example>\r\nRCPT TO:<victim@example.com>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '250 2.1.5 <victim@example.com>, recipient ok'
  say "$QP" 'HELO x.example\r\nMAIL FROM:<anyone@spam.example>\r\nRCPT TO:<BOSS@example.com>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '550 5.1.1 mail to boss@example.com not accepted here'
}

# ---------------------------------------------------------------- rcpt_map

rm_chain() {
  build_chain "session-rcptmap$1" <<EOF
rcpt_map file $BATS_TEST_TMPDIR/map domain example.com $2
rcpt_ok
EOF
}

@test "rcpt_map: listed, unlisted and other-domain recipients" {
  QP=$(rm_chain -d 'default DENY=User_unknown_here')
  printf '# map\nme@example.com OK\nInfo@Example.com DENY gone away\ntemp@example.com DENYSOFT\n' > "$BATS_TEST_TMPDIR/map"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ME@example.com>\r\nRCPT TO:<info@example.com>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<temp@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '250 2.1.5 <ME@example.com>, recipient ok'
  assert_equal "$(nth 5)" '550 5.1.1 gone away'
  assert_equal "$(nth 6)" '550 5.1.1 User unknown here'
  assert_equal "$(nth 7)" '450 4.1.1 No such user.'
  assert_equal "$(nth 8)" '550 5.7.1 Relaying denied'
}

@test "rcpt_map: a missing map or a bad line is a 450 naming the file" {
  QP=$(rm_chain)
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<me@example.com>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '450 4.3.0 Local configuration error (recipient map); try again later'
  grep -q "rcpt_map: cannot open map $BATS_TEST_TMPDIR/map" "$ERR"
  printf 'me@example.com OK\nyou@example.com MAYBE\n' > "$BATS_TEST_TMPDIR/map"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<me@example.com>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '450 4.3.0 Local configuration error (recipient map); try again later'
  grep -q "rcpt_map: $BATS_TEST_TMPDIR/map:2: not a valid return code" "$ERR"
  run build_chain session-rcptmap-bad <<< 'rcpt_map domain example.com'
  assert_failure
  assert_output --partial 'no map file given'
}

# ---------------------------------------------------------------- rcpt_regexp

@test "rcpt_regexp: patterns and addresses decide with their code and comment" {
  QP=$(build_chain session-rre <<'EOF'
rcpt_regexp
rcpt_ok
EOF
)
  cat > "$CFG/rcpt_regexp" <<'EOF'
# rcpt_regexp
me@example.com           OK       Accepting mail
/^user\d+\@example\.com$/ OK      Accepting mail
info@example.com         DENY     User not found.
/^unused\@.*/            DENY     User not found.
/^.*$/                   DECLINED Fall through
EOF
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<user42@EXAMPLE.com>\r\nRCPT TO:<userx@example.com>\r\nRCPT TO:<Info@example.com>\r\nRCPT TO:<unused@elsewhere.example>\r\nRCPT TO:<me@example.com>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '250 2.1.5 <user42@EXAMPLE.com>, recipient ok'
  assert_equal "$(nth 5)" '250 2.1.5 <userx@example.com>, recipient ok'
  assert_equal "$(nth 6)" '550 5.7.1 User not found.'
  assert_equal "$(nth 7)" '550 5.7.1 User not found.'
  assert_equal "$(nth 8)" '250 2.1.5 <me@example.com>, recipient ok'
  echo '/^x(/ DENY broken' >> "$CFG/rcpt_regexp"
  sed -i '/DECLINED/d' "$CFG/rcpt_regexp"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<zz@example.com>\r\nQUIT\r\n'
  assert_equal "$(codes)" '421'
  grep -q "control file $CFG/rcpt_regexp line 6: pattern does not compile: /^x(/ DENY broken" "$ERR"
}

# ---------------------------------------------------------------- noop_counter

@test "noop_counter: the third consecutive NOOP disconnects; other commands reset the count" {
  QP=$(build_chain session-noop <<'EOF'
noop_counter 3
rcpt_ok
EOF
)
  say "$QP" 'NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n'
  assert_equal "$(codes)" '220 250 250 500'
  assert_equal "$(nth 4)" '500 5.5.1 Stop wasting my time, too many consecutive NOOPs'
  say "$QP" 'NOOP\r\nNOOP\r\nHELO x.example\r\nNOOP\r\nNOOP\r\nRSET\r\nNOOP\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 250 250 250 250 221'
}

# ---------------------------------------------------------------- help

@test "help: answers from the help directory, refuses odd command names" {
  QP=$(build_chain session-help <<'EOF'
help
rcpt_ok
EOF
)
  mkdir -p "$BATS_TEST_TMPDIR/help"
  printf 'MAIL FROM:<address>\nstarts a transaction\n' > "$BATS_TEST_TMPDIR/help/mail"
  say "$QP" 'HELP\r\nHELP MAIL\r\nHELP vrfy\r\nHELP ../etc\r\nQUIT\r\n'
  assert_equal "$(nth 2)" "214 2.0.0 Try 'HELP COMMAND' for getting help on COMMAND"
  assert_equal "$(nth 3)" '214-2.0.0 MAIL FROM:<address>'
  assert_equal "$(nth 4)" '214 2.0.0 starts a transaction'
  assert_equal "$(nth 5)" '214 2.0.0 No help available for SMTP command: vrfy'
  assert_equal "$(nth 6)" '502 5.5.2 Invalid command name'
}

@test "help not_implemented 1 answers 502" {
  QP=$(build_chain session-help-ni <<'EOF'
help not_implemented 1
rcpt_ok
EOF
)
  say "$QP" 'HELP\r\nQUIT\r\n'
  assert_equal "$(nth 2)" '502 5.5.1 Not implemented.'
}

# ---------------------------------------------------------------- quit_fortune

@test "quit_fortune: a fortune after HELO, the plain 221 after EHLO" {
  [ -x /usr/games/fortune ]
  QP=$(build_chain session-fortune <<'EOF'
quit_fortune
rcpt_ok
EOF
)
  say "$QP" 'HELO x.example\r\nQUIT\r\n'
  assert_equal "$(tr -d '\r' < "$OUT" | sed -n 3p)" '221-2.0.0 test.example closing connection.'
  tr -d '\r' < "$OUT" | sed -n '4,$p' | grep -q '^221[- ]2.0.0   / '
  say "$QP" 'EHLO x.example\r\nQUIT\r\n'
  assert_equal "$(replies | tail -1)" '221 2.0.0 test.example closing connection. Have a wonderful day.'
}

@test "quit_fortune: a fortune program that hangs is killed within its time limit" {
  printf '#!/bin/sh\nsleep 30\n' > "$BATS_TEST_TMPDIR/slowfortune"
  chmod +x "$BATS_TEST_TMPDIR/slowfortune"
  QP=$(build_chain session-fortune-slow <<EOF
quit_fortune $BATS_TEST_TMPDIR/slowfortune
rcpt_ok
EOF
)
  SECONDS=0
  say "$QP" 'HELO x.example\r\nQUIT\r\n'
  [ "$SECONDS" -le 5 ]
  assert_equal "$(nth 3)" '221 2.0.0 test.example closing connection. Have a wonderful day.'
  grep -q 'took too long, killed' "$ERR"
}

# ---------------------------------------------------------------- whitelist

wl_chain() {
  build_chain session-whitelist <<'EOF'
relay
whitelist
hosts_allow
helo
badmailfrom
rcpt_ok
EOF
}

@test "whitelist: listed hosts skip the other plugins; WHITELISTCLIENT too" {
  QP=$(wl_chain)
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  echo '192.0.2.0/24 DENY go away' > "$CFG/hosts_allow"
  say "$QP" 'HELO x.example\r\nQUIT\r\n'
  assert_equal "$(replies)" '550 5.7.1 go away'
  echo '192.0.2.' > "$CFG/whitelisthosts"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<spammer@example.net>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 221'
  grep -q 'badmailfrom: skip, whitelisted host' "$ERR"
  rm "$CFG/whitelisthosts"
  say "$QP" 'HELO x.example\r\nQUIT\r\n' WHITELISTCLIENT=1
  assert_equal "$(codes)" '220 250 221'
}

@test "whitelist: HELO names, senders and recipients" {
  QP=$(wl_chain)
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  echo 'aol.com' > "$CFG/badhelo"
  echo 'AOL.com' > "$CFG/whitelisthelo"
  echo 'example.net' > "$CFG/whitelistsenders"
  echo 'partner@elsewhere.example' > "$CFG/whitelistrcpt"
  say "$QP" 'HELO aol.com\r\nMAIL FROM:<spammer@example.net>\r\nRCPT TO:<partner@elsewhere.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 550 221'
  rm "$CFG/whitelisthelo" "$CFG/whitelistsenders"
  say "$QP" 'HELO mx.example.org\r\nMAIL FROM:<spammer@example.net>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 550 221'
  run build_chain session-whitelist-bad <<< 'whitelist per_recipient'
  assert_failure
}

@test "whitelist: Perl's per_recipient 1 (merge 0) checks host, HELO and sender at RCPT, where a match accepts the recipient" {
  QP=$(build_chain session-whitelist-pr <<'EOF'
whitelist per_recipient 1 merge 0
badmailfrom
rcpt_ok
EOF
)
  echo 'friend.example' > "$CFG/whitelistsenders"
  echo 'friend@friend.example' > "$CFG/badmailfrom"
  # not at MAIL: badmailfrom still refuses the listed sender there
  say "$QP" 'HELO x.example\r\nMAIL FROM:<friend@friend.example>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 550 221'
  rm "$CFG/badmailfrom"
  # at RCPT: a recipient rcpt_ok would refuse (not a local domain) is accepted
  say "$QP" 'HELO x.example\r\nMAIL FROM:<friend@friend.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 221'
  grep -q 'whitelist: envelope sender in whitelistsenders (friend.example)' "$ERR"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<other@else.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 550 221'
  echo '192.0.2.' > "$CFG/whitelisthosts"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<other@else.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 221'
  grep -q '(rcpt) whitelist: pass, is a whitelisted host' "$ERR"
}

# ---------------------------------------------------------------- naughty

naughty_chain() {
  build_chain "session-naughty$1" <<EOF
relay
badmailfrom reject naughty $3
naughty $2
rcpt_ok
EOF
}

@test "naughty: badmailfrom reject naughty is refused at RCPT with a disconnect" {
  QP=$(naughty_chain)
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<spammer@example.net>\r\nRCPT TO:<x@example.com>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 550'
  assert_equal "$(nth 4)" '550 5.7.1 (badmailfrom) Your envelope sender is in my badmailfrom list'
  grep -q 'badmailfrom: fail, NAUGHTY' "$ERR"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<friend@example.net>\r\nRCPT TO:<x@example.com>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 221'
  say "$QP" 'HELO x.example\r\nMAIL FROM:<spammer@example.net>\r\nRCPT TO:<x@example.com>\r\nQUIT\r\n' RELAYCLIENT=
  assert_equal "$(codes)" '220 250 250 250 221'
}

@test "naughty reject data; the deferring plugin's reject_type wins" {
  QP=$(naughty_chain -data 'reject data' 'reject_type temp')
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<spammer@example.net>\r\nRCPT TO:<x@example.com>\r\nDATA\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 451 221'
  assert_equal "$(nth 5)" '451 4.7.1 (badmailfrom) Your envelope sender is in my badmailfrom list'
  run build_chain session-naughty-bad <<< 'naughty reject sometime'
  assert_failure
}

# ---------------------------------------------------------------- count_denies

@test "count_denies 2: the second refusal closes the connection" {
  QP=$(build_chain session-cd <<'EOF'
count_denies 2
badrcptto
rcpt_ok
EOF
)
  echo 'bad@example.com' > "$CFG/badrcptto"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bad@example.com>\r\nRCPT TO:<ok@example.com>\r\nRCPT TO:<bad@example.com>\r\nNOOP\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 550 250 550'
  grep -q 'count_denies: fail, 2 refusals' "$ERR"
}

# ---------------------------------------------------------------- badrcptto

@test "badrcptto reject_type temp answers 450 4.1.1" {
  QP=$(build_chain session-brt-temp <<'EOF'
badrcptto reject_type temp
rcpt_ok
EOF
)
  echo 'bad@example.com' > "$CFG/badrcptto"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bad@example.com>\r\nQUIT\r\n'
  assert_equal "$(nth 4)" '450 4.1.1 mail to bad@example.com not accepted here'
}

# ---------------------------------------------------------------- random_error

@test "random_error 100 fails at connect; a negative rate never fails" {
  QP=$(build_chain session-re100 <<'EOF'
random_error 100
rcpt_ok
EOF
)
  say "$QP" 'HELO x.example\r\nQUIT\r\n'
  assert_equal "$(replies)" '450 4.7.1 random failure'
  QP=$(build_chain session-reoff <<'EOF'
random_error -1
rcpt_ok
EOF
)
  say "$QP" 'HELO x.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.com>\r\nQUIT\r\n'
  assert_equal "$(codes)" '220 250 250 250 221'
}

# ---------------------------------------------------------------- hosts_allow

@test "hosts_allow: the first matching block decides, IPv4 and IPv6" {
  QP=$(build_chain session-ha <<'EOF'
hosts_allow
rcpt_ok
EOF
)
  printf '192.0.2.1 OK\n192.0.2.0/24 DENY go away\n198.51.100.0/25 DENYSOFT busy, later\n2001:db8::/32 DENY_DISCONNECT no v6 from you\n' > "$CFG/hosts_allow"
  say "$QP" 'QUIT\r\n'
  assert_equal "$(codes)" '220 221'
  say "$QP" 'QUIT\r\n' TCPREMOTEIP=192.0.2.7
  assert_equal "$(replies)" '550 5.7.1 go away'
  say "$QP" 'QUIT\r\n' TCPREMOTEIP=198.51.100.127
  assert_equal "$(replies)" '450 4.7.1 busy, later'
  say "$QP" 'QUIT\r\n' TCPREMOTEIP=198.51.100.128
  assert_equal "$(codes)" '220 221'
  say "$QP" 'QUIT\r\n' TCPREMOTEIP=2001:db8:1::5
  assert_equal "$(replies)" '550 5.7.1 no v6 from you'
  printf '# a comment\n10.0.0.0/99 DENY\n' >> "$CFG/hosts_allow"
  say "$QP" 'QUIT\r\n' TCPREMOTEIP=192.0.2.1
  assert_equal "$(replies)" '421 4.3.0 unable to read controls, closing connection'
  grep -q "control file $CFG/hosts_allow line 6: does not parse: 10.0.0.0/99 DENY" "$ERR"
}

# ---------------------------------------------------------------- logging/syslog

@test "logging/syslog: log lines go to the syslog socket as RFC 3164 datagrams, not to fd 2" {
  SOCK=$BATS_TEST_TMPDIR/log.sock
  python3 - "$SOCK" "$BATS_TEST_TMPDIR/syslog.out" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + 20
with open(sys.argv[2], "ab", buffering=0) as f:
    while time.time() < end:
        try:
            f.write(s.recv(4096) + b"\n")
        except socket.timeout:
            pass
EOF
  PY=$!
  for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
  QP=$(build_chain session-syslog <<EOF
logging/syslog loglevel LOGINFO ident qptest logsock $SOCK
badmailfrom
rcpt_ok
EOF
)
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  say "$QP" 'HELO x.example\r\nMAIL FROM:<spammer@example.net>\r\nQUIT\r\n'
  for i in $(seq 50); do grep -q 'badmailfrom: fail' "$BATS_TEST_TMPDIR/syslog.out" 2>/dev/null && break; sleep 0.1; done
  kill "$PY"
  assert_equal "$(codes)" '220 250 550 221'
  grep -Eq '^<22>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} qptest\[[0-9]+\]: \(mail\) badmailfrom: fail, spammer@example.net matches spammer@example.net$' "$BATS_TEST_TMPDIR/syslog.out"
  ! grep -q '<23>' "$BATS_TEST_TMPDIR/syslog.out" || false
  [ ! -s "$ERR" ]
}

# syslog_sandbox BIN [notcp]: a wrapper running BIN in a private mount and
# network namespace (root only), with tests/syslog-sink.py as the syslog
# daemons of every logsock type there (UDP and TCP on 127.0.0.1:514, a
# stream socket at /dev/log, a FIFO at /dev/console on a tmpfs /dev); what
# they read lands in $BATS_TEST_TMPDIR/sink.out
syslog_sandbox() {
  local w=$BATS_TEST_TMPDIR/sandbox-$(basename "$(dirname "$1")")${2:+-$2}
  cat > "$w" <<EOF
#!/bin/sh
PATH=/usr/bin:/bin
exec unshare -m -n --propagation private sh -c '
  python3 -c '\''import fcntl, socket, struct; fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8914, struct.pack("16sH14x", b"lo", 0x49))'\'' || exit 111
  mount -t tmpfs -o mode=755 none /dev && mknod -m 666 /dev/null c 1 3 || exit 111
  rm -f "$BATS_TEST_TMPDIR/ready"
  python3 "$ROOT/tests/syslog-sink.py" "$BATS_TEST_TMPDIR/sink.out" "$BATS_TEST_TMPDIR/ready" $2 < /dev/null > /dev/null 2>&1 &
  sink=\$!
  i=0; while [ ! -e "$BATS_TEST_TMPDIR/ready" ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i + 1)); done
  "$1"; rc=\$?
  i=0; while ! cat "$BATS_TEST_TMPDIR"/sink.out-* 2> /dev/null | grep -qa "badmailfrom: fail" && [ \$i -lt 40 ]; do sleep 0.05; i=\$((i + 1)); done
  kill \$sink
  exit \$rc'
EOF
  chmod 755 "$w"
  echo "$w"
}

@test "logging/syslog: Perl's logsock types: stream (NUL-ended on /dev/log), console, tcp (LF-ended), and udp when tcp,udp finds no TCP server" {
  [ "$(id -u)" -eq 0 ] || skip "needs root for a private network namespace"
  echo 'spammer@example.net' > "$CFG/badmailfrom"
  chmod 777 "$BATS_TEST_TMPDIR"
  for t in stream console tcp,udp; do
    QP=$(build_chain "session-syslog-$t" <<EOF
logging/syslog loglevel LOGINFO ident qptest logsock $t
badmailfrom
rcpt_ok
EOF
)
    rm -f "$BATS_TEST_TMPDIR"/sink.out-*
    say "$(syslog_sandbox "$QP")" 'HELO x.example\r\nMAIL FROM:<spammer@example.net>\r\nQUIT\r\n'
    assert_equal "$(codes)" '220 250 550 221'
    line='<22>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} qptest\[[0-9]+\]: \(mail\) badmailfrom: fail, spammer@example.net matches spammer@example.net'
    case $t in
      stream)   # NUL after each line, no LF
        [ "$(wc -l < "$BATS_TEST_TMPDIR/sink.out-stream")" = 0 ]
        tr '\0' '\n' < "$BATS_TEST_TMPDIR/sink.out-stream" | grep -Eqx "$line" ;;
      console) grep -Eqx "$line" "$BATS_TEST_TMPDIR/sink.out-console" ;;
      tcp,udp) grep -Eqx "$line" "$BATS_TEST_TMPDIR/sink.out-tcp"
        [ ! -e "$BATS_TEST_TMPDIR/sink.out-udp" ]
        say "$(syslog_sandbox "$QP" notcp)" 'HELO x.example\r\nMAIL FROM:<spammer@example.net>\r\nQUIT\r\n'
        grep -Eqx "$line" "$BATS_TEST_TMPDIR/sink.out-udp" ;;
    esac
    [ ! -s "$ERR" ]
  done
  run build_chain session-syslog-bad <<< 'logging/syslog logsock carrier-pigeon'
  assert_failure
}
