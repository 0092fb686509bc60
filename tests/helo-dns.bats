#!/usr/bin/env bats
# helo's DNS checks (policy rfc: no_forward_dns, no_reverse_dns; policy
# strict: no_matching_dns) against a dnsmasq on 127.53.61.1 serving
# tests/dns/sample.conf; 127.53.61.3 reads queries and never answers.

load helper
load dnsservers

DNSMASQ_IP=127.$QPT_NET.61.1
SILENT_IP=127.$QPT_NET.61.3

setup_file() {
  start_dnsmasq $DNSMASQ_IP "$BATS_TEST_DIRNAME/dns/sample.conf"
  start_silent $SILENT_IP
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
}

helo_chain() {
  build_chain "helo-dns$1" <<EOF
helo $2
rcpt_ok
EOF
}

# hsay BIN HELO-NAME [VAR=value...]: HELO, MAIL, QUIT with DNS at the dnsmasq
hsay() {
  local bin=$1
  printf 'HELO %s\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n' "$2" > "$IN"
  shift 2
  smtp "$bin" DNSCACHEIP=$DNSMASQ_IP "$@"
}

replies() { tr -d '\r' < "$OUT"; }
nth() { replies | sed -n "${1}p"; }

@test "helo rfc: a name that resolves, from an address with rDNS, is greeted" {
  QP=$(helo_chain -rfc 'policy rfc timeout 2')
  hsay "$QP" mail.good.test
  assert_equal "$(codes)" '220 250 250 221'
  grep -q 'helo: pass' "$ERR"
  # an address literal skips the forward lookup; the PTR is still asked
  hsay "$QP" '[192.0.2.1]'
  assert_equal "$(codes)" '220 250 250 221'
}

@test "helo rfc: a name that does not exist is refused with 550 and the connection closed" {
  QP=$(helo_chain -rfc 'policy rfc timeout 2')
  hsay "$QP" nosuch.test
  assert_equal "$(nth 2)" '550 5.7.1 HELO hostname does not exist'
  assert_equal "$(codes)" '220 550'
  grep -q 'helo: fail, no such host' "$ERR"
}

@test "helo rfc: a name without an address record is refused" {
  QP=$(helo_chain -rfc 'policy rfc timeout 2')
  hsay "$QP" noaddr.test
  assert_equal "$(nth 2)" '550 5.7.1 HELO hostname did not resolve'
  grep -q 'helo: fail, no forward DNS' "$ERR"
}

@test "helo rfc: a client without rDNS is refused; reject 0 only logs it" {
  QP=$(helo_chain -rfc 'policy rfc timeout 2')
  hsay "$QP" mail.good.test TCPREMOTEIP=192.0.2.77
  assert_equal "$(nth 2)" '550 5.7.1 no rDNS for 192.0.2.77'
  assert_equal "$(codes)" '220 550'
  QP=$(helo_chain -rfc0 'policy rfc reject 0')
  hsay "$QP" mail.good.test TCPREMOTEIP=192.0.2.77
  assert_equal "$(codes)" '220 250 250 221'
  grep -q 'helo: fail, tolerated, no rDNS' "$ERR"
}

@test "helo strict: a name that matches neither the address nor its PTR fails FCrDNS" {
  QP=$(helo_chain -strict 'policy strict timeout 2')
  hsay "$QP" other.test TCPREMOTEIP=192.0.2.9
  assert_equal "$(nth 2)" '550 5.7.1 That HELO hostname fails FCrDNS'
  grep -q 'helo: fail, no matching DNS' "$ERR"
  # an address literal, even the client's own, after its PTR was found
  hsay "$QP" '[192.0.2.1]'
  assert_equal "$(nth 2)" '550 5.7.1 RFC 2821 allows an address literal, but we do not'
  # the same name under rfc passes: it resolves, and the client has a PTR
  QP=$(helo_chain -rfc 'policy rfc timeout 2')
  hsay "$QP" other.test TCPREMOTEIP=192.0.2.9
  assert_equal "$(codes)" '220 250 250 221'
}

@test "helo strict: an exact match, a /24 match and a PTR-domain match pass" {
  QP=$(helo_chain -strict 'policy strict timeout 2')
  hsay "$QP" mail.good.test
  assert_equal "$(codes)" '220 250 250 221'
  # near.test is 192.0.2.200, in the client's /24
  hsay "$QP" near.test TCPREMOTEIP=192.0.2.9
  assert_equal "$(codes)" '220 250 250 221'
  # 192.0.2.9's PTR is liar.test: x.liar.test shares its last two labels
  hsay "$QP" x.liar.test TCPREMOTEIP=192.0.2.9
  assert_equal "$(codes)" '220 250 250 221'
  grep -q 'helo: pass' "$ERR"
}

@test "helo strict: an IPv6 client whose PTR and AAAA agree with its HELO name passes, another name fails" {
  QP=$(helo_chain -strict 'policy strict timeout 2')
  hsay "$QP" v6.good.test TCPREMOTEIP=2001:db8::25
  assert_equal "$(codes)" '220 250 250 221'
  hsay "$QP" other.test TCPREMOTEIP=2001:db8::25
  assert_equal "$(nth 2)" '550 5.7.1 That HELO hostname fails FCrDNS'
  hsay "$QP" v6.good.test TCPREMOTEIP=2001:db8::26
  assert_equal "$(nth 2)" '550 5.7.1 no rDNS for 2001:db8::26'
}

@test "helo rfc: a DNS server that never answers gives 450 within the deadline, never 5xx" {
  # timeout 1: the whole deadline is waited out, and no answer is expected
  QP=$(helo_chain -rfc1 'policy rfc timeout 1')
  start=$(date +%s)
  hsay "$QP" mail.good.test DNSCACHEIP=$SILENT_IP
  [ $(( $(date +%s) - start )) -le 3 ]
  assert_equal "$(nth 2)" '450 4.4.3 error getting reverse DNS for 192.0.2.1'
  assert_equal "$(codes)" '220 450'
  grep -q 'no_forward_dns skipped, query failed' "$ERR"
  # reject 0: logged, and the client goes on
  QP=$(helo_chain -rfc0 'policy rfc reject 0 timeout 1')
  hsay "$QP" mail.good.test DNSCACHEIP=$SILENT_IP
  assert_equal "$(codes)" '220 250 250 221'
  grep -q 'helo: fail, tolerated, rDNS temporary failure' "$ERR"
}
