#!/usr/bin/env bats
# The sender_permitted_from plugin (SPF at MAIL, Perl qpsmtpd's reject
# levels 0-6, Received-SPF, Authentication-Results, the notes the dmarc
# plugin reads) in sessions from 192.0.2.1, with its DNS from a dnsmasq on
# loopback (tests/dns/spf-plugin.conf); names under slow.sp.test go to a
# server that never answers. The engine itself is tested in spf.bats.

load helper
load dnsservers

DNSMASQ_IP=127.$QPT_NET.74.1
SILENT_IP=127.$QPT_NET.74.3

setup_file() {
  start_silent $SILENT_IP
  start_dnsmasq $DNSMASQ_IP "$ROOT/tests/dns/spf-plugin.conf" --server=/slow.sp.test/$SILENT_IP
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
  SRVPID=
}

teardown() {
  stop_server
}

spf_chain() {
  printf 'relay\nsender_permitted_from %s\nrcpt_ok\nqueue/qmail-queue\n' "$*" | build_chain "spf-$(echo "$*" | tr -c 'a-z0-9\n' _)"
}

# mail_from QP FROM [VAR=value...]: one transaction from FROM after
# HELO helo.sp.test; the reply codes in $output
mail_from() {
  local qp=$1 from=$2
  shift 2
  printf 'HELO helo.sp.test\r\nMAIL FROM:<%s>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n' \
    "$from" > "$IN"
  smtp "$qp" DNSCACHEIP=$DNSMASQ_IP "$@"
  run codes
}

@test "reject levels 0 to 6: each SPF result at MAIL is accepted, deferred or refused as Perl's plugin does" {
  # the MAIL reply for: pass fail softfail neutral none permerror temperror
  # (a temperror is never refused for good, at any level)
  local want=(
    "250 250 250 250 250 250 250"
    "250 250 250 250 250 250 250"
    "250 450 250 250 250 250 450"
    "250 550 450 250 250 250 450"
    "250 550 550 250 250 450 450"
    "250 550 550 550 250 450 450"
    "250 550 550 550 550 550 450"
  )
  local level r got qp
  for level in 0 1 2 3 4 5 6; do
    qp=$(spf_chain reject $level timeout 2)
    got=()
    for r in pass fail softfail neutral none permerror temperror; do
      mail_from "$qp" "alice@$r.sp.test"
      got+=("$(echo "$output" | cut -d' ' -f3)")
    done
    echo "reject $level: ${got[*]}"
    [ "${got[*]}" = "${want[$level]}" ]
  done
}

@test "a fail is refused with the domain's own explanation and RFC 7372's code; nothing is queued" {
  QP=$(spf_chain reject 3)
  mail_from "$QP" alice@exp.sp.test
  assert_output --regexp '^220 250 550 503 503 (500 )*221$'
  run grep '^550' "$OUT"
  assert_output $'550 5.7.23 SPF - forgery: 192.0.2.1 may not send mail for exp.sp.test\r'
  [ "$(queued)" -eq 0 ]
  grep -q 'sender_permitted_from: fail, fail, 192.0.2.1 may not send mail for exp.sp.test' "$ERR"
  # without exp=, the local explanation names the sender, the address and the mechanism
  mail_from "$QP" alice@fail.sp.test
  run grep '^550' "$OUT"
  assert_output $'550 5.7.23 SPF - forgery: domain of alice@fail.sp.test does not designate 192.0.2.1 as permitted sender (mechanism \'-all\' matched)\r'
}

@test "softfail at reject 3 and a DNS timeout at reject 2 are 4xx with 4.7.23 and 4.7.24, never 5xx" {
  QP=$(spf_chain reject 3 timeout 2)
  mail_from "$QP" alice@softfail.sp.test
  grep -q '^450 4.7.23 SPF - fail: domain of alice@softfail.sp.test does not designate 192.0.2.1' "$OUT"
  QP=$(spf_chain reject 6 timeout 2)
  local t0=$SECONDS
  mail_from "$QP" alice@temperror.sp.test
  grep -q '^450 4.7.24 SPF - temperror: ' "$OUT"
  [ $((SECONDS - t0)) -lt 10 ]
}

@test "a pass is queued with Received-SPF and spf=pass in Authentication-Results, above the client's header" {
  QP=$(spf_chain reject 3)
  mail_from "$QP" alice@pass.sp.test
  assert_output '220 250 250 250 354 250 221'
  local msg=$FAKEQ_DIR/1.msg
  run head -2 "$msg"
  assert_line --index 0 'Authentication-Results: test.example; spf=pass smtp.mailfrom=pass.sp.test'
  assert_line --index 1 --regexp '^Received: from '
  run grep '^Received-SPF:' "$msg"
  assert_output 'Received-SPF: pass (test.example: domain of alice@pass.sp.test designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=alice@pass.sp.test; helo=helo.sp.test; receiver=test.example; identity=mailfrom; mechanism="ip4:192.0.2.0/24"'
  grep -q 'sender_permitted_from: pass, domain of alice@pass.sp.test designates 192.0.2.1' "$ERR"
}

@test "reject 1 only annotates: a fail is queued with Received-SPF: fail and spf=fail" {
  QP=$(spf_chain reject 1)
  mail_from "$QP" alice@fail.sp.test
  assert_output '220 250 250 250 354 250 221'
  grep -qx 'Authentication-Results: test.example; spf=fail smtp.mailfrom=fail.sp.test' "$FAKEQ_DIR/1.msg"
  grep -q '^Received-SPF: fail (test.example: domain of alice@fail.sp.test does not designate 192.0.2.1 as permitted sender' "$FAKEQ_DIR/1.msg"
  grep -q 'skip, tolerated (fail: ' "$ERR"
}

@test "the null sender is checked as postmaster@ the HELO name (RFC 7208 2.4), not skipped as in Perl" {
  QP=$(spf_chain reject 3)
  printf 'HELO badhelo.sp.test\r\nMAIL FROM:<>\r\nQUIT\r\n' > "$IN"
  smtp "$QP" DNSCACHEIP=$DNSMASQ_IP
  run codes
  assert_output '220 250 550 221'
  grep -q '^550 5.7.23 SPF - forgery: domain of postmaster@badhelo.sp.test does not designate 192.0.2.1' "$OUT"
  mail_from "$QP" ""
  assert_output '220 250 250 250 354 250 221'
  grep -qx 'Authentication-Results: test.example; spf=pass smtp.helo=helo.sp.test' "$FAKEQ_DIR/1.msg"
  grep -q '^Received-SPF: pass (test.example: domain of postmaster@helo.sp.test designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=""; helo=helo.sp.test;' "$FAKEQ_DIR/1.msg"
}

@test "check_helo 1: a HELO name whose record fails is refused even when MAIL FROM would pass" {
  QP=$(spf_chain reject 3 check_helo 1)
  printf 'HELO badhelo.sp.test\r\nMAIL FROM:<alice@pass.sp.test>\r\nQUIT\r\n' > "$IN"
  smtp "$QP" DNSCACHEIP=$DNSMASQ_IP
  run codes
  assert_output '220 250 550 221'
  grep -q '^550 5.7.23 SPF - forgery: domain of badhelo.sp.test does not designate 192.0.2.1' "$OUT"
  # without it, the same session passes on MAIL FROM
  QP=$(spf_chain reject 3)
  smtp "$QP" DNSCACHEIP=$DNSMASQ_IP
  run codes
  assert_output '220 250 250 221'
}

@test "relay clients are not checked; spfbehavior sets the level when reject is not given" {
  QP=$(spf_chain)
  mail_from "$QP" alice@fail.sp.test
  assert_output '220 250 250 250 354 250 221'
  echo 3 > "$CFG/spfbehavior"
  rm -f "$FAKEQ_DIR"/*
  mail_from "$QP" alice@fail.sp.test
  assert_output --regexp '^220 250 550 503 503 (500 )*221$'
  mail_from "$QP" alice@fail.sp.test RELAYCLIENT=
  assert_output '220 250 250 250 354 250 221'
  grep -q 'sender_permitted_from: skip, relay client' "$ERR"
  refute grep -q '^Received-SPF' "$FAKEQ_DIR/1.msg"
  echo 9 > "$CFG/spfbehavior"
  mail_from "$QP" alice@fail.sp.test
  assert_output '421'
  grep -q 'spfbehavior' "$ERR"
}

@test "a second message in the session carries its own SPF result, not the first's" {
  QP=$(spf_chain reject 1)
  printf 'HELO helo.sp.test\r\n' > "$IN"
  local f
  for f in pass fail; do
    printf 'MAIL FROM:<alice@%s.sp.test>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: %s\r\n\r\nbody\r\n.\r\n' $f $f >> "$IN"
  done
  printf 'QUIT\r\n' >> "$IN"
  smtp "$QP" DNSCACHEIP=$DNSMASQ_IP
  [ "$(queued)" -eq 2 ]
  grep -qx 'Authentication-Results: test.example; spf=pass smtp.mailfrom=pass.sp.test' "$FAKEQ_DIR/1.msg"
  grep -qx 'Authentication-Results: test.example; spf=fail smtp.mailfrom=fail.sp.test' "$FAKEQ_DIR/2.msg"
  run grep -c '^Received-SPF:' "$FAKEQ_DIR/2.msg"
  assert_output 1
  grep -q '^Received-SPF: fail ' "$FAKEQ_DIR/2.msg"
}

@test "arguments out of Perl's ranges stop the build" {
  local a
  for a in "reject 7" "reject x" "no_dmarc_policy 5" "timeout 0" "colour blue" "reject"; do
    run build_chain "bad" <<< "sender_permitted_from $a"
    assert_failure
    assert_output --partial 'sender_permitted_from'
  done
}

@test "under tcpserver, swaks from a domain whose record fails is refused at MAIL, from one that passes is queued" {
  QP=$(spf_chain reject 3)
  start_server "$QP" DNSCACHEIP=$DNSMASQ_IP
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --from alice@pass.sp.test --to bob@example.com
  assert_output --partial '<** 550 5.7.23 SPF - forgery: domain of alice@pass.sp.test does not designate 127.0.0.1'
  [ "$(queued)" -eq 0 ]
  run timeout 20 swaks --server "127.0.0.1:$PORT" --helo client.example --from alice@lo.sp.test --to bob@example.com
  assert_output --partial '<-  250 '
  [ "$(queued)" -eq 1 ]
  grep -q '^Received-SPF: pass (test.example: domain of alice@lo.sp.test designates 127.0.0.1 as permitted sender) client-ip=127.0.0.1;' "$FAKEQ_DIR/1.msg"
}
