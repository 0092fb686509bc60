#!/usr/bin/env bats
# Perl qpsmtpd's sample chain (tests/chains/sample: config.sample/plugins,
# every active line with its arguments, SPF, DKIM, DMARC, klez_filter and
# spamassassin included, plus a queue) under tcpserver, spoken to by swaks and smtplib. DNS: a dnsmasq on
# 127.53.62.1 (tests/dns/sample.conf) forwarding bl.test to an rbldnsd on
# 127.53.62.2 (tests/dns/sample-bl.zone lists the client 127.0.0.66);
# 127.53.62.3 fails every lookup at once (the outage: with Perl's default
# timeouts, a server that never answers would cost each session about 27
# seconds, 11 at connect, 5 at HELO, 11 at MAIL). Clients connect to
# 127.0.0.1 from 127.0.0.1 (clean) or 127.0.0.66 (listed).

load helper
load dnsservers

DNSMASQ_IP=127.$QPT_NET.62.1
RBLDNSD_IP=127.$QPT_NET.62.2
FAILING_IP=127.$QPT_NET.62.3

setup_file() {
  start_rbldnsd $RBLDNSD_IP sample.bl.test:ip4set:"$BATS_TEST_DIRNAME/dns/sample-bl.zone"
  start_dnsmasq $DNSMASQ_IP "$BATS_TEST_DIRNAME/dns/sample.conf" --server=/bl.test/$RBLDNSD_IP
  start_truncating $FAILING_IP
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
  QP=$(build_chain sample < "$BATS_TEST_DIRNAME/chains/sample")
  echo sample.bl.test > "$CFG/dnsbl_zones"
  echo spammer@sender.test > "$CFG/badmailfrom"
  echo alice@example.com:secret > "$CFG/flat_auth_pw"
  SRVPID=
}

teardown() {
  stop_server
}

# swaks to the server; the dialogue in $output
mail() {
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.good.test --from friend@sender.test \
    --to bob@example.com "$@"
}

@test "sample chain: a clean client's message is queued with X-HELO; QUIT after HELO brings a fortune" {
  start_server "$QP" DNSCACHEIP=$DNSMASQ_IP
  mail
  assert_success
  assert_output --partial '<-  250 2.0.0 Queued'
  [ "$(queued)" -eq 1 ]
  grep -q '^X-HELO: client.good.test$' "$FAKEQ_DIR/1.msg"
  wait_sessions 1
  grep -q 'earlytalker: pass' "$SRVLOG"
  grep -q 'dnsbl: pass' "$SRVLOG"
  grep -q 'resolvable_fromhost: pass' "$SRVLOG"
  # Perl's content plugins: SPF and DMARC pass on sender.test's records,
  # the unsigned message has no DKIM result, spamd is not running (Perl's
  # default: the message passes unscanned)
  grep -qx 'Authentication-Results: test.example; auth=none; spf=pass smtp.mailfrom=sender.test; dkim=none; dmarc=pass (p=reject dis=none) header.from=sender.test' "$FAKEQ_DIR/1.msg" \
    || { grep '^Authentication-Results' "$FAKEQ_DIR/1.msg"; false; }
  grep -q '^Received-SPF: pass ' "$FAKEQ_DIR/1.msg"
  grep -q 'spamassassin: .*cannot connect to spamd' "$SRVLOG"
  # quit_fortune: a client that said HELO gets a fortune with its 221
  run timeout 20 python3 -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.good.test", timeout=15)
s.helo()
code, text = s.quit()
print(code, text.decode())' "$PORT"
  assert_line --index 0 '221 2.0.0 test.example closing connection.'
  assert_line --index 1 --regexp '^2\.0\.0   / .'
}

@test "sample chain: a DNSBL-listed client is refused at DATA with the list's text" {
  start_server "$QP" DNSCACHEIP=$DNSMASQ_IP
  mail --local-interface 127.0.0.66
  assert_failure
  assert_output --partial '<-  250 2.1.5'
  assert_output --partial '<** 554 5.7.1 (dnsbl) Listed in the sample list, see http://bl.test/?127.0.0.66'
  [ "$(queued)" -eq 0 ]
}

@test "sample chain: an AUTH client relays; the same recipient without AUTH is refused" {
  start_server "$QP" DNSCACHEIP=$DNSMASQ_IP
  mail --to carol@elsewhere.test --auth PLAIN --auth-user alice@example.com --auth-password secret
  assert_success
  assert_output --partial '<-  235 '
  assert_output --partial '<-  250 2.0.0 Queued'
  mail --to carol@elsewhere.test
  assert_failure
  assert_output --partial '<** 550 '
  [ "$(queued)" -eq 1 ]
  grep -q 'carol@elsewhere.test' "$FAKEQ_DIR/1.env"
}

@test "sample chain: a badmailfrom sender is refused by naughty at DATA" {
  start_server "$QP" DNSCACHEIP=$DNSMASQ_IP
  mail --from spammer@sender.test
  assert_failure
  assert_output --partial '<-  250 2.1.0'
  assert_output --partial '<** 554 5.7.1 (badmailfrom) Your envelope sender is in my badmailfrom list'
  [ "$(queued)" -eq 0 ]
}

@test "sample chain: virus/klez_filter refuses a Klez-pattern message of 60000 octets or more" {
  "$QP" -V | grep -q 'virus/klez_filter'
  start_server "$QP" DNSCACHEIP=$DNSMASQ_IP
  run timeout 20 python3 - "$PORT" <<'PY'
import email.utils, smtplib, sys
body = (b"From: friend@sender.test\r\nDate: " + email.utils.formatdate().encode() +
        b"\r\nSubject: x\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n"
        b"TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n" +
        (b"A" * 76 + b"\r\n") * 800)
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.good.test", timeout=15)
s.ehlo()
s.mail("friend@sender.test")
s.rcpt("bob@example.com")
code, text = s.data(body)
print(code, text.decode())
PY
  assert_output '552 5.7.1 Klez Virus Detected'
  [ "$(queued)" -eq 0 ]
}

@test "sample chain: a DNS outage gives no 5xx, even to the listed client" {
  start_server "$QP" DNSCACHEIP=$FAILING_IP
  for src in 127.0.0.1 127.0.0.66; do
    run timeout 20 python3 - "$PORT" "$src" <<'PY'
import email.utils, smtplib, sys
s = smtplib.SMTP(local_hostname="client.good.test", timeout=15,
                 source_address=(sys.argv[2], 0))
codes = [s.connect("127.0.0.1", int(sys.argv[1]))[0]]
codes.append(s.ehlo()[0])
codes.append(s.mail("friend@sender.test")[0])
codes.append(s.rcpt("bob@example.com")[0])
codes.append(s.data(b"From: friend@sender.test\r\nDate: " +
                    email.utils.formatdate().encode() + b"\r\nSubject: x\r\n\r\nhi\r\n")[0])
print(" ".join(map(str, codes)))
PY
    echo "$src: $output"
    refute_output --regexp '(^| )5[0-9][0-9]'
    assert_output '220 250 250 250 250'
  done
  # both queued: a blocklist that cannot be asked lets the client through
  [ "$(queued)" -eq 2 ]
  wait_sessions 2
  grep -q 'dnsbl: pass, but some lists did not answer' "$SRVLOG"
  grep -q 'helo: fail, tolerated, rDNS temporary failure' "$SRVLOG"
  grep -q 'resolvable_fromhost: fail, tolerated, temporary DNS failure' "$SRVLOG"
}
