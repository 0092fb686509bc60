#!/usr/bin/env bats
# uribl (the names in a message against URI blocklists) and
# virus/klez_filter, as Perl qpsmtpd's plugins. DNS: an rbldnsd on
# 127.$QPT_NET.15.1 serving uribl.test (tests/dns/uribl.zone: domains,
# tests/dns/uribl-ip.zone: addresses) and uribl2.test (A records, no TXT);
# 127.$QPT_NET.15.2 reads queries and never answers. The daemon's
# DNSCACHEIP points at one of them, so no query leaves the machine.

load helper
load dnsservers

RBL_IP=127.$QPT_NET.15.1
SILENT_IP=127.$QPT_NET.15.2

setup_file() {
  local d=$BATS_TEST_DIRNAME/dns
  start_rbldnsd $RBL_IP uribl.test:dnset:"$d/uribl.zone" uribl.test:ip4set:"$d/uribl-ip.zone" \
    uribl2.test:dnset:"$d/uribl2.zone"
  start_silent $SILENT_IP
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
  echo uribl.test > "$CFG/uribl_zones"
}

# uribl_chain ARGS...: uribl with those arguments, then rcpt_ok and the queue
uribl_chain() {
  { echo "uribl $*"; printf 'rcpt_ok\nqueue/qmail-queue\n'; } | build_chain "uribl-$(echo "$*" | tr -c 'a-z0-9\n' '-')"
}

klez_chain() {
  printf 'virus/klez_filter\nrcpt_ok\nqueue/qmail-queue\n' | build_chain klez
}

# the message on stdin (LF lines) as a whole session into $IN
session() {
  { envelope; sed 's/$/\r/'; printf '.\r\nQUIT\r\n'; } > "$IN"
}

# the reply to the message's final dot
final() { tr -d '\r' < "$OUT" | grep -v '^250-' | sed -n 6p; }

# a message whose body carries the text in $1
body() {
  printf 'From: alice@sender.example\nSubject: offer\n\n%s\nbye\n' "$1" | session
}

run_rbl() { smtp "$1" DNSCACHEIP=$RBL_IP "${@:2}"; }

# ---------------------------------------------------------------- uribl

@test "uribl deny: a listed domain in a body link is refused with Perl's reply, the zone's TXT" {
  QP=$(uribl_chain action deny timeout 5)
  body 'Visit http://www.listed-domain.com/offer now.'
  run_rbl "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 552 221"
  assert_equal "$(final)" \
    "552 5.7.1 listed-domain.com in uribl.test: Listed in the test URI list, see http://bl.test/?listed-domain.com"
  nothing_queued
  grep -q 'uribl: listed-domain.com in uribl.test: Listed' "$ERR"
}

@test "uribl: a message with unlisted links only is queued untouched" {
  QP=$(uribl_chain action deny timeout 5)
  body 'See http://www.fine-domain.com/ and mail me at bob@clean.org.'
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  [ "$(queued)" -eq 1 ]
  ! grep -q 'X-URIBL' "$FAKEQ_DIR/1.msg"
  grep -q 'uribl: pass$' "$ERR"
}

@test "uribl: a message without any host name is not looked up" {
  QP=$(uribl_chain action deny timeout 5)
  body 'nothing to see here, e.g. index.html or a_b.'
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  grep -q 'uribl: No URIs found in mail' "$ERR"
}

@test "uribl: a whitelisted registered domain is never looked up, its listed hosts pass" {
  QP=$(uribl_chain action deny timeout 5)
  echo listed-domain.com > "$CFG/uribl_whitelist_domains"
  body 'Visit http://www.listed-domain.com/ or shop.listed-domain.com today'
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  grep -q 'uribl: skipping whitelisted URI domain www.listed-domain.com' "$ERR"
  grep -q 'uribl: No URIs found in mail' "$ERR"
}

@test "uribl add-header (the default): the message is queued with Perl's X-URIBL-Match header" {
  QP=$(uribl_chain timeout 5)
  body 'cheap stuff at http://listed-domain.com/x'
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  grep -qx 'X-URIBL-Match: listed-domain.com in uribl.test: Listed in the test URI list, see http://bl.test/?listed-domain.com' \
    "$FAKEQ_DIR/1.msg"
}

@test "uribl: a zone without TXT records gives the A record in the text; per-zone actions" {
  QP=$(uribl_chain action deny timeout 5)
  printf 'uribl.test 0 log\nuribl2.test 0 denysoft\n' > "$CFG/uribl_zones"
  body 'http://listed-domain.com/ and http://www.other-listed.com/'
  run_rbl "$QP"
  assert_equal "$(final)" "452 4.7.1 other-listed.com in uribl2.test: 127.0.0.2"
  # the log action only logs
  grep -q 'uribl: listed-domain.com in uribl.test: Listed' "$ERR"
  nothing_queued
}

@test "uribl: a host is looked up with its parents down to the registered domain, two-level ccTLDs kept whole" {
  QP=$(uribl_chain action deny timeout 5)
  body 'go to deep.sub.parent-listed.net please'
  run_rbl "$QP"
  assert_equal "$(final)" "552 5.7.1 parent-listed.net in uribl.test: Listed in the test URI list, see http://bl.test/?parent-listed.net"
  body 'and www.listed.co.uk too'
  run_rbl "$QP"
  assert_equal "$(final)" "552 5.7.1 listed.co.uk in uribl.test: Listed in the test URI list, see http://bl.test/?listed.co.uk"
}

@test "uribl: a link split by quoted-printable soft breaks and =XX, %XX and &#NN; escapes is found" {
  QP=$(uribl_chain action deny timeout 5)
  printf 'From: a@sender.example\nContent-Transfer-Encoding: quoted-printable\n\n<a href=3D"http://www.listed-do=\nmain.com/x">click</a>\n' | session
  run_rbl "$QP"
  assert_equal "$(final)" "552 5.7.1 listed-domain.com in uribl.test: Listed in the test URI list, see http://bl.test/?listed-domain.com"
  body 'http://listed-domain%2Ecom/ and nothing else'
  run_rbl "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 552 221"
  body 'h&#116;tp://listed&#45;domain.com/'
  run_rbl "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 552 221"
}

@test "uribl: addresses in URIs, as one number or octets in decimal, octal or hex, are looked up reversed" {
  QP=$(uribl_chain action deny timeout 5)
  body 'http://3232235777/index.html'
  run_rbl "$QP"
  assert_equal "$(final)" "552 5.7.1 1.1.168.192 in uribl.test: Listed address 192.168.1.1"
  body 'http://user@0xa.011.8.7/x'
  run_rbl "$QP"
  assert_equal "$(final)" "552 5.7.1 7.8.9.10 in uribl.test: Listed address 10.9.8.7"
  body 'http://10.9.8.6/ is not listed'
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
}

@test "uribl: the zone's mask selects the answers that list; 127.0.0.0 never lists by default" {
  QP=$(uribl_chain action deny timeout 5)
  echo 'uribl.test 8' > "$CFG/uribl_zones"
  body 'http://masked4.org/'
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  body 'http://masked8.org/'
  run_rbl "$QP"
  assert_equal "$(final)" "552 5.7.1 masked8.org in uribl.test: Listed with 8"
  echo 'uribl.test' > "$CFG/uribl_zones"
  body 'http://zero.org/'
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
}

@test "uribl: the header section is scanned only with scan-headers" {
  printf 'From: a@sender.example\nSubject: see www.listed-domain.com\n\nclean body\n' | session
  QP=$(uribl_chain action deny timeout 5)
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  QP=$(uribl_chain action deny timeout 5 scan-headers 1)
  run_rbl "$QP"
  assert_equal "$(final)" "552 5.7.1 listed-domain.com in uribl.test: Listed in the test URI list, see http://bl.test/?listed-domain.com"
}

@test "uribl: DNS that never answers lets the message through after the timeout" {
  QP=$(uribl_chain action deny timeout 2)
  body 'Visit http://www.listed-domain.com/offer now.'
  start=$SECONDS
  smtp "$QP" DNSCACHEIP=$SILENT_IP
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  [ $((SECONDS - start)) -ge 1 ]
  [ $((SECONDS - start)) -le 6 ]
  grep -q 'uribl: pass, but some lookups failed' "$ERR"
  [ "$(queued)" -eq 1 ]
}

@test "uribl: at most 128 lookups a message, the first names in the message" {
  QP=$(uribl_chain action deny timeout 5)
  many=$(for i in $(seq 130); do printf 'http://host%d.com/ ' "$i"; done)
  body "$many http://listed-domain.com/"
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  grep -q 'uribl: more names in the message than the lookup bound' "$ERR"
  body "http://listed-domain.com/ $many"
  run_rbl "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 552 221"
  # two zones: 64 names each
  printf 'uribl.test\nuribl2.test\n' > "$CFG/uribl_zones"
  many=$(for i in $(seq 70); do printf 'http://host%d.com/ ' "$i"; done)
  body "$many http://listed-domain.com/"
  run_rbl "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
}

@test "uribl: a bad uribl_zones line is refused at connect, naming the file and the line" {
  QP=$(uribl_chain action deny)
  printf 'uribl.test\nuribl2.test 2,x deny\n' > "$CFG/uribl_zones"
  body 'x'
  run_rbl "$QP"
  assert_equal "$(codes)" "421"
  grep -q "uribl_zones line 2" "$ERR"
  printf 'uribl.test 2 reject\n' > "$CFG/uribl_zones"
  run_rbl "$QP"
  assert_equal "$(codes)" "421"
}

@test "uribl: bad arguments fail the build" {
  run build_chain uribl-bad <<< 'uribl action refuse'
  assert_failure
  run build_chain uribl-bad2 <<< 'uribl timeout 0'
  assert_failure
}

# ---------------------------------------------------------------- klez

# a message of exactly $1 octets as stored (LF line ends, Perl's
# data_size) whose body opens with the MIME lines in $2
klez_msg() {
  local size=$1 head r
  head=$(printf 'From: a@sender.example\nSubject: hi\nMIME-Version: 1.0\n\n%bx' "$2")
  head=${head%x}
  r=$((size - ${#head}))
  {
    printf '%s' "$head"
    while [ "$r" -gt 77 ]; do printf '%076d\n' 0; r=$((r - 77)); done
    printf '%0*d\n' $((r - 1)) 0
  } > "$BATS_TEST_TMPDIR/msg"
  [ "$(wc -c < "$BATS_TEST_TMPDIR/msg")" -eq "$size" ]
  session < "$BATS_TEST_TMPDIR/msg"
}

KLEZ='--b\nContent-Type: application/octet-stream; name=x.exe\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n'

@test "virus/klez_filter: a Klez-pattern message of 60000 octets or more is refused with Perl's reply" {
  QP=$(klez_chain)
  klez_msg 61000 "$KLEZ"
  smtp "$QP"
  assert_equal "$(final)" "552 5.7.1 Klez Virus Detected"
  nothing_queued
}

@test "virus/klez_filter: the same pattern in a message of 59999 octets passes, 60000 is refused (Perl's threshold)" {
  QP=$(klez_chain)
  klez_msg 59999 "$KLEZ"
  smtp "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  [ "$(queued)" -eq 1 ]
  klez_msg 60000 "$KLEZ"
  smtp "$QP"
  assert_equal "$(final)" "552 5.7.1 Klez Virus Detected"
  [ "$(queued)" -eq 1 ]
}

@test "virus/klez_filter: the executable without an audio or application part, or past the 41st body line, passes" {
  QP=$(klez_chain)
  klez_msg 61000 '--b\nContent-Type: text/plain\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAA\n'
  smtp "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  # body lines 0 (the empty line) to 40 are read: the executable on line 41 is not seen
  klez_msg 61000 "$(printf 'line%.0s\\n' $(seq 39))content-type: AUDIO/x-wav\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAA\n"
  smtp "$QP"
  assert_regex "$(final)" '^250 2\.0\.0 Queued'
  # on line 40 it is (audio, any case)
  klez_msg 61000 "$(printf 'line%.0s\\n' $(seq 38))content-type: AUDIO/x-wav\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAA\n"
  smtp "$QP"
  assert_equal "$(final)" "552 5.7.1 Klez Virus Detected"
  [ "$(queued)" -eq 2 ]
}
