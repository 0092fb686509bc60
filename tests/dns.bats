#!/usr/bin/env bats
# The DNS plugins against real DNS servers on loopback: a dnsmasq on
# 127.53.6.1 (A, AAAA, MX, TXT and PTR records from tests/dns/dnsmasq.conf,
# forwarding bl.test to rbldnsd) and an rbldnsd on 127.53.6.2 (the DNSBL,
# RHSBL and whitelist zones in tests/dns/*.zone). 127.53.6.3 is a server
# that reads queries and never answers; nothing listens on 127.53.6.4;
# 127.53.6.5 answers every query with a malformed packet. The
# daemon only ever sees DNSCACHEIP pointing at one of these.

load helper
load dnsservers

DNSMASQ_IP=127.$QPT_NET.6.1
RBLDNSD_IP=127.$QPT_NET.6.2
SILENT_IP=127.$QPT_NET.6.3
DEAD_IP=127.$QPT_NET.6.4
BAD_IP=127.$QPT_NET.6.5

setup_file() {
  local dir=$BATS_TEST_DIRNAME/dns log=$BATS_FILE_TMPDIR/bad.log
  start_rbldnsd $RBLDNSD_IP \
    dnsbl.bl.test:ip4set:"$dir/dnsbl.zone" dnsbl.bl.test:ip6trie:"$dir/dnsbl6.zone" \
    dnsbl2.bl.test:ip4set:"$dir/dnsbl.zone" \
    rhsbl.bl.test:dnset:"$dir/rhsbl.zone" white.bl.test:ip4set:"$dir/white.zone"
  start_dnsmasq $DNSMASQ_IP "$dir/dnsmasq.conf" --server=/bl.test/$RBLDNSD_IP
  start_silent $SILENT_IP
  python3 "$dir/badserver.py" $BAD_IP > "$log" 2>&1 3>&- &
  echo $! >> "$BATS_FILE_TMPDIR/dns.pids"
  _dns_wait "$log" 'listening'
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
}

# dsmtp BIN [VAR=value...]: smtp with DNSCACHEIP at the dnsmasq unless given
dsmtp() {
  local bin=$1
  shift
  smtp "$bin" DNSCACHEIP=$DNSMASQ_IP "$@"
}

replies() { tr -d '\r' < "$OUT" | grep -v '^250-'; }

# the reply to the Nth command after the greeting (EHLO's lines count once)
nth() { replies | sed -n "$(($1 + 1))p"; }

rcpt_session() {   # EHLO, MAIL, RCPT rcpt, QUIT
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "${1:-bob@example.com}" > "$IN"
}

mail_session() {   # EHLO host, MAIL sender, RCPT, QUIT
  printf 'EHLO %s\r\nMAIL FROM:<%s>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' "${2:-c.example}" "$1" > "$IN"
}

# ---------------------------------------------------------------- dnsbl

dnsbl_chain() {
  build_chain dns-dnsbl <<EOF
dnsbl timeout 3 $*
rcpt_ok
dnsbl timeout 3 $*
rcpt_ok
EOF
}

@test "dnsbl: a listed client is refused at RCPT with the list's TXT text" {
  QP=$(dnsbl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP"
  assert_equal "$(nth 3)" "550 5.7.1 Listed in the test list, see http://bl.test/?192.0.2.1"
  grep -q 'dnsbl: fail' "$ERR"
}

@test "dnsbl: an unlisted client passes" {
  QP=$(dnsbl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP" TCPREMOTEIP=192.0.2.2
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  grep -q 'dnsbl: pass' "$ERR"
}

@test "dnsbl: a zone with its own text lists by A record, with %IP% filled in and dnsbl_rejectmsg first" {
  QP=$(dnsbl_chain)
  printf 'dnsbl2.bl.test:Go away %%IP%%, see http://bl.test/\n' > "$CFG/dnsbl_zones"
  echo 'Ask your ISP to fix this.' > "$CFG/dnsbl_rejectmsg"
  rcpt_session
  dsmtp "$QP"
  tr -d '\r' < "$OUT" | grep -q '^550-5.7.1 Ask your ISP to fix this.$'
  tr -d '\r' < "$OUT" | grep -q '^550 5.7.1 Go away 192.0.2.1, see http://bl.test/$'
}

@test "dnsbl: postmaster and abuse are never refused, dnsbl_allow and RBLSMTPD= skip the lookup" {
  QP=$(dnsbl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session postmaster@example.com
  dsmtp "$QP"
  assert_equal "$(nth 3)" "250 2.1.5 <postmaster@example.com>, recipient ok"
  rcpt_session
  echo 192.0.2. > "$CFG/dnsbl_allow"
  dsmtp "$QP"
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  rm "$CFG/dnsbl_allow"
  dsmtp "$QP" RBLSMTPD=
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
}

@test "dnsbl: RBLSMTPD with a text refuses every recipient with it" {
  QP=$(dnsbl_chain)
  rcpt_session
  dsmtp "$QP" TCPREMOTEIP=192.0.2.2 'RBLSMTPD=-You are blocked, %IP%'
  assert_equal "$(nth 3)" "550 5.7.1 You are blocked, 192.0.2.2"
}

@test "dnsbl: reject_type disconnect answers 550 and closes the session" {
  QP=$(dnsbl_chain reject_type disconnect)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP"
  assert_equal "$(nth 3)" "550 5.7.1 Listed in the test list, see http://bl.test/?192.0.2.1"
  assert_equal "$(replies | wc -l)" 4
}

@test "dnsbl: reject 0 only logs, reject naughty leaves the note for the naughty plugin" {
  QP=$(dnsbl_chain reject 0)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP"
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  grep -q 'dnsbl: fail, tolerated' "$ERR"
  QP=$(dnsbl_chain reject naughty)
  dsmtp "$QP"
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  grep -q 'dnsbl: fail, NAUGHTY' "$ERR"
}

@test "dnsbl: an IPv6 client is looked up by reversed nibbles, an IPv4-mapped one as IPv4" {
  QP=$(dnsbl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP" TCPREMOTEIP=2001:db8::66
  assert_equal "$(nth 3)" "550 5.7.1 Listed in the test list (IPv6)"
  dsmtp "$QP" TCPREMOTEIP=2001:db8::67
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  dsmtp "$QP" TCPREMOTEIP=::ffff:192.0.2.66
  assert_equal "$(nth 3)" "550 5.7.1 Listed in the test list, see http://bl.test/?192.0.2.66"
}

@test "dnsbl: five zones on a server that never answers cost one deadline, then the client passes" {
  QP=$(dnsbl_chain timeout 1)
  printf 'z1.bl.test\nz2.bl.test\nz3.bl.test\nz4.bl.test\nz5.bl.test\n' > "$CFG/dnsbl_zones"
  rcpt_session
  start=$(date +%s%N)
  dsmtp "$QP" DNSCACHEIP=$SILENT_IP
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "took $ms ms" >&3
  # one deadline of 1 s, not five
  [ "$ms" -ge 900 ] && [ "$ms" -lt 3000 ]
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  assert_equal "$(grep -c 'no answer in time' "$ERR")" 5
}

@test "dnsbl: failclosed 1 answers 451 when the lists cannot be asked (nothing listening)" {
  QP=$(dnsbl_chain timeout 1 failclosed 1)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP" DNSCACHEIP=$DEAD_IP
  assert_equal "$(nth 3)" "450 4.4.3 Temporary DNS blocklist lookup failure, try again later"
  assert_equal "$(nth 4)" "221 2.0.0 test.example closing connection. Have a wonderful day." || nth 4
}

@test "dns: a malformed answer is a temporary failure, not a listing and not a crash" {
  QP=$(dnsbl_chain timeout 2 failclosed 1)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP" DNSCACHEIP=$BAD_IP
  assert_equal "$(nth 3)" "450 4.4.3 Temporary DNS blocklist lookup failure, try again later"
  grep -q 'dns: malformed answer for 1.2.0.192.dnsbl.bl.test' "$ERR"
}

@test "dns: a DNSCACHEIP that names no address is refused, never replaced by resolv.conf" {
  QP=$(dnsbl_chain timeout 2 failclosed 1)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP" DNSCACHEIP=nonsense
  assert_equal "$(nth 3)" "450 4.4.3 Temporary DNS blocklist lookup failure, try again later"
  grep -q 'DNSCACHEIP is set but names no address' "$ERR"
}

@test "dns: the daemon asks only the server in DNSCACHEIP" {
  QP=$(dnsbl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  echo 7 > "$CFG/loglevel"
  rcpt_session
  dsmtp "$QP"
  grep -q "dns: servers: $DNSMASQ_IP \$" "$ERR"
}

# dns_strace FILE SYSCALLS BIN: dsmtp under strace -f, the trace in FILE
dns_strace() {
  local trace=$1 calls=$2 bin=$3
  cd "$BATS_TEST_TMPDIR" || return 1
  strace -f -qq -e trace="$calls" -o "$trace" env -i "${QPIDS[@]}" PATH=/usr/bin:/bin \
    TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=40000 TCPLOCALIP=192.0.2.2 TCPLOCALPORT=25 \
    QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" DNSCACHEIP=$DNSMASQ_IP \
    timeout 60 "$bin" < "$IN" > "$OUT" 2> "$ERR"
  cd - > /dev/null
}

@test "dns: an answer too long for UDP is asked again over TCP, and read whole" {
  QP=$(printf 'dnsbl timeout 3\nrcpt_ok\n' | build_chain dns-long)
  echo long.test > "$CFG/dnsbl_zones"
  rcpt_session
  dns_strace "$BATS_TEST_TMPDIR/st" socket "$QP"
  # past the 512 octets of the UDP answer: into the third string of the
  # 700-octet TXT record (the reply line itself is cut shorter)
  run nth 3
  assert_output --regexp '^550 5\.7\.1 Listed in the long list, part one: a{200}part two: b{230}part three: c+$'
  # asked over UDP (dnsmasq answers truncated), then over TCP
  assert_equal "$(grep -c 'socket(AF_INET, SOCK_DGRAM' "$BATS_TEST_TMPDIR/st")" 1
  assert_equal "$(grep -c 'socket(AF_INET, SOCK_STREAM' "$BATS_TEST_TMPDIR/st")" 1
}

@test "dns: the queries of a session share one UDP socket to the server" {
  QP=$(build_chain dns-one-socket <<EOF
dnsbl timeout 3
rhsbl timeout 3
resolvable_fromhost
rcpt_ok
EOF
)
  printf 'dnsbl.bl.test\ndnsbl2.bl.test\n' > "$CFG/dnsbl_zones"
  echo rhsbl.bl.test > "$CFG/rhsbl_zones"
  mail_session alice@mx.test
  dns_strace "$BATS_TEST_TMPDIR/st" socket,sendto "$QP"
  # every lookup was made and answered: the sender's MX resolved, the
  # client is listed in the first zone
  assert_equal "$(nth 2)" "250 2.1.0 <alice@mx.test>, sender OK - how exciting to get mail from you!"
  assert_equal "$(nth 3)" "550 5.7.1 Listed in the test list, see http://bl.test/?192.0.2.1"
  # two DNSBL zones, two RHSBL names (sender, HELO), MX, A and AAAA of
  # the domain, A and AAAA of its MX host: nine queries, one socket
  fd=$(sed -n 's/.*socket(AF_INET, SOCK_DGRAM.* = \([0-9]*\)$/\1/p' "$BATS_TEST_TMPDIR/st")
  assert_equal "$(grep -c 'socket(' "$BATS_TEST_TMPDIR/st")" 1
  assert_equal "$(grep -c "sendto($fd, " "$BATS_TEST_TMPDIR/st")" 9
}

@test "dns: at MAIL the lookups of rhsbl, resolvable_fromhost and SPF are in flight together: a server that never answers costs one deadline, not three" {
  QP=$(build_chain dns-lookahead <<EOF
rhsbl timeout 2
sender_permitted_from timeout 2
resolvable_fromhost timeout 2
rcpt_ok
EOF
)
  echo rhsbl.bl.test > "$CFG/rhsbl_zones"
  mail_session alice@mx.test
  local t0=$EPOCHREALTIME
  dsmtp "$QP" DNSCACHEIP=$SILENT_IP
  local ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
  # each plugin waited out its 2 s, all three at the same time
  grep -q 'rhsbl: pass, but some lists did not answer' "$ERR"
  grep -q 'dns: no answer in time for mx.test$' "$ERR"
  grep -q 'sender_permitted_from.*temperror' "$ERR"
  assert_equal "$(nth 2 | cut -c1-3)" 450
  [ "$ms" -ge 2000 ] && [ "$ms" -lt 4500 ] || fail "the session took $ms ms: one 2 s deadline expected, three would be 6 s"
}

# ---------------------------------------------------------------- rhsbl

rhsbl_chain() {
  build_chain dns-rhsbl <<EOF
rhsbl timeout 3 $*
rcpt_ok
EOF
}

@test "rhsbl: a listed sender domain is refused at MAIL" {
  QP=$(rhsbl_chain)
  echo 'rhsbl.bl.test is listed at rhsbl.bl.test' > "$CFG/rhsbl_zones"
  mail_session x@spammer.test
  dsmtp "$QP"
  assert_equal "$(nth 2)" "550 5.7.1 Mail from spammer.test rejected because it is listed at rhsbl.bl.test"
}

@test "rhsbl: a listed HELO name is refused, a clean sender and HELO pass" {
  QP=$(rhsbl_chain)
  echo 'rhsbl.bl.test' > "$CFG/rhsbl_zones"
  mail_session x@clean.test bad-helo.test
  dsmtp "$QP"
  assert_equal "$(nth 2)" "550 5.7.1 Mail from HELO bad-helo.test rejected because it is listed in rhsbl.bl.test"
  mail_session x@clean.test
  dsmtp "$QP"
  assert_equal "$(nth 2)" "250 2.1.0 <x@clean.test>, sender OK - how exciting to get mail from you!"
}

@test "rhsbl: a server that never answers lets the sender through, or 450 with failclosed 1" {
  QP=$(rhsbl_chain timeout 1)
  echo 'rhsbl.bl.test' > "$CFG/rhsbl_zones"
  mail_session x@spammer.test
  dsmtp "$QP" DNSCACHEIP=$SILENT_IP
  assert_equal "$(nth 2)" "250 2.1.0 <x@spammer.test>, sender OK - how exciting to get mail from you!"
  QP=$(rhsbl_chain timeout 1 failclosed 1)
  dsmtp "$QP" DNSCACHEIP=$SILENT_IP
  assert_equal "$(nth 2)" "450 4.4.3 Temporary DNS blocklist lookup failure, try again later"
}

@test "rhsbl: Perl's one-word form, rhsbl denysoft, defers a listed sender; rhsbl disconnect drops the client; another word fails the build" {
  echo 'rhsbl.bl.test' > "$CFG/rhsbl_zones"
  QP=$(printf 'rhsbl denysoft\nrcpt_ok\n' | build_chain dns-rhsbl-soft)
  mail_session x@spammer.test
  dsmtp "$QP"
  assert_equal "$(nth 2)" "450 4.7.1 Mail from spammer.test rejected because it is listed in rhsbl.bl.test"
  QP=$(printf 'rhsbl disconnect\nrcpt_ok\n' | build_chain dns-rhsbl-disc)
  dsmtp "$QP"
  assert_equal "$(nth 2)" "550 5.7.1 Mail from spammer.test rejected because it is listed in rhsbl.bl.test"
  assert_equal "$(nth 3)" ""
  run build_chain dns-rhsbl-bad <<< 'rhsbl sometimes'
  assert_failure
}

# ---------------------------------------------------------------- resolvable_fromhost

rfh_chain() {
  build_chain dns-rfh <<EOF
resolvable_fromhost timeout 3 $*
rcpt_ok
EOF
}

sender_ok() { assert_equal "$(nth 2)" "250 2.1.0 <$1>, sender OK - how exciting to get mail from you!"; }

@test "resolvable_fromhost: a domain with an MX or only an A record is accepted" {
  QP=$(rfh_chain)
  mail_session x@mx.test
  dsmtp "$QP"
  sender_ok x@mx.test
  grep -q 'resolvable_fromhost: pass, mx.test has MX' "$ERR"
  mail_session x@a-only.test
  dsmtp "$QP"
  sender_ok x@a-only.test
  grep -q 'resolvable_fromhost: pass, found A for a-only.test' "$ERR"
}

@test "resolvable_fromhost: a domain without MX or A is refused with 450, 550 with reject_type perm" {
  QP=$(rfh_chain)
  for d in nomail.test nxdomain.test; do
    mail_session x@$d
    dsmtp "$QP"
    assert_equal "$(nth 2)" "450 4.1.8 FQDN required in the envelope sender"
  done
  QP=$(rfh_chain reject_type perm)
  dsmtp "$QP"
  assert_equal "$(nth 2)" "550 5.1.8 FQDN required in the envelope sender"
}

@test "resolvable_fromhost: MX and A records in invalid_resolvable_fromhost networks do not count" {
  QP=$(rfh_chain reject_type perm)
  printf '10.0.0.0/8\n192.168.0.0/16 private\n' > "$CFG/invalid_resolvable_fromhost"
  for d in badmx.test private.test; do
    mail_session x@$d
    dsmtp "$QP"
    assert_equal "$(nth 2)" "550 5.1.8 FQDN required in the envelope sender"
  done
  mail_session x@mx.test
  dsmtp "$QP"
  sender_ok x@mx.test
}

@test "resolvable_fromhost: a bad line in invalid_resolvable_fromhost is a 421 at connect naming the file and line" {
  QP=$(rfh_chain)
  printf '10.0.0.0/8\n10.0.0.0/99\n' > "$CFG/invalid_resolvable_fromhost"
  mail_session x@mx.test
  dsmtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q "control file $CFG/invalid_resolvable_fromhost line 2: bad entry: 10.0.0.0/99" "$ERR"
}

@test "resolvable_fromhost: a temporary DNS failure is 450 4.4.3 within the deadline, even with reject_type perm" {
  QP=$(rfh_chain timeout 1 reject_type perm)
  mail_session x@mx.test
  start=$(date +%s)
  dsmtp "$QP" DNSCACHEIP=$SILENT_IP
  [ $(( $(date +%s) - start )) -le 3 ]
  assert_equal "$(nth 2)" "450 4.4.3 Temporary address resolution failure"
  dsmtp "$QP" DNSCACHEIP=$DEAD_IP
  assert_equal "$(nth 2)" "450 4.4.3 Temporary address resolution failure"
}

@test "resolvable_fromhost: the null sender and an address literal are accepted without DNS" {
  QP=$(rfh_chain)
  mail_session ''
  dsmtp "$QP" DNSCACHEIP=$DEAD_IP
  assert_equal "$(nth 2)" "250 2.1.0 <>, sender OK - how exciting to get mail from you!"
  mail_session 'x@[192.0.2.7]'
  dsmtp "$QP" DNSCACHEIP=$DEAD_IP
  sender_ok 'x@[192.0.2.7]'
}

# ---------------------------------------------------------------- fcrdns

fcrdns_chain() {
  build_chain dns-fcrdns <<EOF
fcrdns ${FCRDNS_TIMEOUT:-timeout 2} $*
rcpt_ok
EOF
}

@test "fcrdns: a client whose PTR name resolves back is greeted by that name" {
  QP=$(fcrdns_chain reject 1)
  printf 'HELO c.example\r\nQUIT\r\n' > "$IN"
  dsmtp "$QP"
  assert_equal "$(nth 1)" "250 test.example Hi mail.good.test [192.0.2.1]; I am so happy to meet you." || { cat "$OUT"; false; }
  grep -q 'fcrdns: pass, mail.good.test resolves to 192.0.2.1' "$ERR"
  dsmtp "$QP" TCPREMOTEIP=2001:db8::25
  grep -q 'fcrdns: pass, v6.good.test resolves to 2001:db8::25' "$ERR"
}

@test "fcrdns: reject 1 refuses a PTR that does not resolve back, and a missing PTR, with 450" {
  QP=$(fcrdns_chain reject 1)
  printf 'HELO c.example\r\nQUIT\r\n' > "$IN"
  for ip in 192.0.2.9 192.0.2.77; do
    dsmtp "$QP" TCPREMOTEIP=$ip
    assert_equal "$(replies | head -1)" "450 4.7.25 Reverse DNS of your address $ip is missing or does not resolve back to it"
  done
  QP=$(fcrdns_chain)
  dsmtp "$QP" TCPREMOTEIP=192.0.2.9
  assert_equal "$(replies | head -1 | cut -c1-3)" 220
  grep -q 'fcrdns: fail, tolerated' "$ERR"
}

@test "fcrdns: a server that never answers gives 450 4.4.3 within the deadline with reject 1" {
  QP=$(FCRDNS_TIMEOUT='timeout 1' fcrdns_chain reject 1)
  printf 'HELO c.example\r\nQUIT\r\n' > "$IN"
  start=$(date +%s)
  dsmtp "$QP" DNSCACHEIP=$SILENT_IP
  [ $(( $(date +%s) - start )) -le 3 ]
  assert_equal "$(replies | head -1)" "450 4.4.3 Temporary DNS failure looking up your address, try again later"
}

# ---------------------------------------------------------------- dns_whitelist_soft

wl_chain() {
  build_chain dns-wl <<EOF
dns_whitelist_soft timeout ${1:-2}
dnsbl timeout ${1:-2}
rcpt_ok
EOF
}

@test "dns_whitelist_soft: a host in a whitelist zone escapes dnsbl, others do not" {
  QP=$(wl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  echo white.bl.test > "$CFG/whitelist_zones"
  rcpt_session
  dsmtp "$QP"
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  grep -q 'Host 192.0.2.1 is whitelisted: Known good host' "$ERR"
  dsmtp "$QP" TCPREMOTEIP=192.0.2.66
  assert_equal "$(nth 3)" "550 5.7.1 Listed in the test list, see http://bl.test/?192.0.2.66"
}

@test "dns_whitelist_soft: a server that never answers means not whitelisted, within the deadline" {
  QP=$(wl_chain 1)
  echo white.bl.test > "$CFG/whitelist_zones"
  rcpt_session
  start=$(date +%s)
  dsmtp "$QP" DNSCACHEIP=$SILENT_IP
  [ $(( $(date +%s) - start )) -le 3 ]
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  ! grep -q 'is whitelisted' "$ERR" || false
}

# ---------------------------------------------------------------- under tcpserver

@test "under tcpserver, swaks from a listed address is refused at RCPT and from another one delivers" {
  QP=$(build_chain dns-tcpserver <<'EOF'
dnsbl timeout 3
rcpt_ok
queue/qmail-queue
EOF
)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  local log=$BATS_TEST_TMPDIR/tcpserver.log port pid i
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$BATS_TEST_TMPDIR" && exec env -i "${QPIDS[@]}" PATH=/usr/bin:/bin QPSMTPD_CONFIG="$CFG" DNSCACHEIP=$DNSMASQ_IP \
    QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" tcpserver -v -R -H -l0 127.0.0.1 "$port" "$QP") \
    > /dev/null 2> "$log" 3>&- &
  pid=$!
  for i in $(seq 100); do grep -q 'status: 0/' "$log" && break; sleep 0.05; done
  run swaks --server 127.0.0.1 --port "$port" --local-interface 127.53.6.66 \
    --from a@b.example --to bob@example.com --timeout 20
  kill "$pid"
  [ "$status" -ne 0 ]
  echo "$output" | grep -q '<\*\* 550 5.7.1 Listed in the test list, see http://bl.test/?127.53.6.66'
  [ "$(queued)" -eq 0 ]
  (cd "$BATS_TEST_TMPDIR" && exec env -i "${QPIDS[@]}" PATH=/usr/bin:/bin QPSMTPD_CONFIG="$CFG" DNSCACHEIP=$DNSMASQ_IP \
    QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" tcpserver -v -R -H -l0 127.0.0.1 "$port" "$QP") \
    > /dev/null 2> "$log" 3>&- &
  pid=$!
  for i in $(seq 100); do grep -q 'status: 0/' "$log" && break; sleep 0.05; done
  run swaks --server 127.0.0.1 --port "$port" --local-interface 127.53.6.67 \
    --from a@b.example --to bob@example.com --timeout 20
  kill "$pid"
  [ "$status" -eq 0 ] || { echo "$output"; cat "$log"; false; }
  [ "$(queued)" -eq 1 ]
}
