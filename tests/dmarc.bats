#!/usr/bin/env bats
# DMARC (RFC 7489): the pure functions of dmarc.c and psl.c through
# tests/unit/dmarc-check.c (built here with ASan and UBSan), and the dmarc
# plugin in sessions against a dnsmasq on loopback (tests/dns/dmarc.conf)
# serving the _dmarc records; names under slow.test go to a server that
# never answers. The SPF and DKIM results come as the plugins before dmarc
# leave them, in transaction notes (tests/setnote stands in for them); at
# the end, end to end: sender_permitted_from, dkim and dmarc with messages
# signed by python3-dkim against keys published beside the records.

load helper
load dnsservers

DNSMASQ_IP=127.$QPT_NET.77.1
SILENT_IP=127.$QPT_NET.77.3
# Debian's python3 (python3-dkim), not one that PATH may find first (pyenv)
PY=/usr/bin/python3

setup_file() {
  start_silent $SILENT_IP
  # DKIM keys for the end-to-end tests: reject.test (aligned with its From)
  # and signer.test (not), published beside the DMARC records
  export DKIMKEYS=$BATS_FILE_TMPDIR/dkimkeys
  $PY - "$DKIMKEYS" <<'PYEOF'
import base64, os, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, 'dnsmasq.conf'), 'w') as f:
    for dom in ('reject.test', 'signer.test'):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with open(os.path.join(d, dom + '.pem'), 'wb') as p:
            p.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
        pub = base64.b64encode(k.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
        rec = 'v=DKIM1; k=rsa; p=' + pub
        f.write('txt-record=sel._domainkey.%s,%s\n' % (dom, ','.join('"%s"' % rec[i:i + 250] for i in range(0, len(rec), 250))))
PYEOF
  start_dnsmasq $DNSMASQ_IP "$ROOT/tests/dns/dmarc.conf" --server=/slow.test/$SILENT_IP --conf-file="$DKIMKEYS/dnsmasq.conf"
  mkdir -p "$TB"
  (cd "$ROOT" && flock "$TB/.lock" make -s psl-data.c)
  cc -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -Wall -Wextra -Wstrict-prototypes -Werror -I"$ROOT" -o "$TB/dmarc-check" \
    "$ROOT/tests/unit/dmarc-check.c" "$ROOT/dmarc.c" "$ROOT/psl.c" "$ROOT/psl_hash.c" "$ROOT/psl-data.c"
}

teardown_file() {
  stop_dns_servers
}

setup() {
  mkcfg
}

# check: the driver over the tab-separated lines on stdin
check() {
  run "$TB/dmarc-check"
  assert_success
}

@test "organizational domains from the Public Suffix List: plain, wildcard and exception rules, IDN, private section" {
  check <<'EOF'
org	example.com
org	Mail.Example.COM.
org	a.b.example.co.uk
org	co.uk
org	com
org	www.ck
org	foo.bar.ck
org	x.city.kawasaki.jp
org	a.b.c.kawasaki.jp
org	a.b.foo.test
org	user.github.io
org	www.sub.xn--p1ai
org	a.b.xn--85x722f.xn--55qx5d.cn
org	a..b
org	bad name.test
EOF
  assert_output "$(cat <<'EOF'
example.com
example.com
example.co.uk
co.uk
com
www.ck
foo.bar.ck
city.kawasaki.jp
b.c.kawasaki.jp
foo.test
user.github.io
sub.xn--p1ai
xn--85x722f.xn--55qx5d.cn
invalid
invalid
EOF
)"
}

@test "a name of 127 labels costs one lookup per label of its suffix, not 127" {
  local long
  long=$(printf 'a.%.0s' $(seq 125))com
  printf 'org\t%s\n' "$long" > "$BATS_TEST_TMPDIR/in"
  check < "$BATS_TEST_TMPDIR/in"
  assert_output "a.com"
}

@test "policy records: v=DMARC1 first, every tag parsed, unknown tags ignored, bad values by RFC 7489 6.6.3" {
  check <<'EOF'
rec	v=DMARC1; p=reject
rec	v=DMARC1;p=quarantine;sp=none;pct=50;adkim=s;aspf=s;fo=0:1:d:s;rf=afrf;ri=3600;rua=mailto:a@b.c,mailto:d@e.f!10m;ruf=mailto:x@y.z
rec	v = DMARC1 ; P = None ;
rec	v=DMARC1; p=reject; future=tag;; ;
rec	v=DMARC1; p=reject; pct=101; adkim=x
rec	v=DMARC1
rec	v=DMARC1; p=bogus; rua=mailto:x@y.test
rec	v=DMARC1; p=bogus; rua=not a uri
rec	v=DMARC1; p=reject; sp=bad
rec	v=DMARC1; p=none; p=reject
rec	v=DMARC1; p=reject; x-y=1
rec	v=DMARC1; p
rec	v=spf1 -all
rec	 v=DMARC1; p=none
rec	v=DMARC10; p=none
rec	v=dmarc1; p=none
rec	p=reject; v=DMARC1
rec	v=DMARC1; p=reject; rua=\x01
EOF
  assert_output "$(cat <<'EOF'
ok p=reject sp=- pct=100 adkim=r aspf=r fo=0 rf=afrf ri=86400 rua=0 ruf=0
ok p=quarantine sp=none pct=50 adkim=s aspf=s fo=15 rf=afrf ri=3600 rua=2 ruf=1
ok p=none sp=- pct=100 adkim=r aspf=r fo=0 rf=afrf ri=86400 rua=0 ruf=0
ok p=reject sp=- pct=100 adkim=r aspf=r fo=0 rf=afrf ri=86400 rua=0 ruf=0
ok p=reject sp=- pct=100 adkim=r aspf=r fo=0 rf=afrf ri=86400 rua=0 ruf=0 why=ignored pct=101
bad no valid p=
ok p=none sp=- pct=100 adkim=r aspf=r fo=0 rf=afrf ri=86400 rua=1 ruf=0 from-rua
bad no valid p=
bad invalid sp=
bad duplicate tag p
bad bad tag name: x-y
bad tag without a value: p
not
not
not
not
not
bad bad octet in tag rua
EOF
)"
}

@test "From fields: display names, quoted strings, comments, groups, routes; several domains; none" {
  check <<'EOF'
from	Alice <alice@Example.COM>
from	alice@example.com.
from	"a@evil.test, <x@evil.test>" <bob@good.test>
from	(comment@c.test) a@b.test (x@y.test)
from	a@one.test, b@two.test, c@ONE.test
from	Group: a@g.test, b@G.test.;
from	<@route.test:a@real.test>
from	"quoted@local"@dom.test
from	undisclosed-recipients:;
from	x@[192.0.2.1]
from	no address here
from	a@bad_dom!ain.test
from	Alice <alice@example.com
from	a@1.test,b@2.test,c@3.test,d@4.test,e@5.test
EOF
  assert_output "$(cat <<'EOF'
1 example.com
1 example.com
1 good.test
1 b.test
2 one.test two.test
1 g.test
1 real.test
1 dom.test
0
0
0
0
0
-1
EOF
)"
}

@test "alignment strict and relaxed; the result, sp= for subdomains, pct= sampling" {
  check <<'EOF'
align	mail.example.com	example.com	r
align	mail.example.com	example.com	s
align	example.com	example.com	s
align	a.example.co.uk	b.example.co.uk	r
align	a.co.uk	b.co.uk	r
eval	v=DMARC1; p=reject	example.com	0	pass	mail.example.com	-	0
eval	v=DMARC1; p=reject; aspf=s	example.com	0	pass	mail.example.com	-	0
eval	v=DMARC1; p=reject	example.com	0	softfail	example.com	-	0
eval	v=DMARC1; p=reject; adkim=s	example.com	0	-	-	other.test mail.example.com	0
eval	v=DMARC1; p=reject	example.com	0	-	-	other.test mail.example.com	0
eval	v=DMARC1; p=reject; sp=quarantine	sub.example.com	1	fail	sub.example.com	-	0
eval	v=DMARC1; p=reject; sp=quarantine	sub.example.com	0	fail	sub.example.com	-	0
eval	v=DMARC1; p=reject; pct=50	example.com	0	-	-	-	49
eval	v=DMARC1; p=reject; pct=50	example.com	0	-	-	-	50
eval	v=DMARC1; p=quarantine; pct=0	example.com	0	-	-	-	0
eval	v=DMARC1; p=reject; pct=100	example.com	0	-	-	-	99
EOF
  assert_output "$(cat <<'EOF'
1
0
1
1
0
pass reject none spf=1 dkim=0
fail reject reject spf=0 dkim=0
fail reject reject spf=0 dkim=0
fail reject reject spf=0 dkim=0
pass reject none spf=0 dkim=1
fail quarantine quarantine spf=0 dkim=0
fail reject reject spf=0 dkim=0
fail reject reject spf=0 dkim=0
fail reject quarantine spf=0 dkim=0
fail quarantine none spf=0 dkim=0
fail reject reject spf=0 dkim=0
EOF
)"
}

# ---------------------------------------------------------------- sessions

# dchain NAME [LINE...]: the lines, then rcpt_ok and the queue
dchain() {
  local name=$1
  shift
  printf '%s\n' "$@" rcpt_ok queue/qmail-queue | build_chain "dmarc-$name"
}

# send BIN FROM-LINES [VAR=value...]: one message with that From line ("",
# none; a \n separates two lines); $HELO and $MAILFROM, when set, are the
# client's
send() {
  local bin=$1 from=$2
  shift 2
  {
    printf 'EHLO %s\r\nMAIL FROM:<%s>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n' \
      "${HELO:-client.example}" "${MAILFROM-alice@sender.example}"
    [ -z "$from" ] || printf '%b\r\n' "${from//\\n/\\r\\n}"
    printf 'Subject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n'
  } > "$IN"
  rm -f "$FAKEQ_DIR"/*
  smtp "$bin" DNSCACHEIP=$DNSMASQ_IP "$@"
}

final() { tr -d '\r' < "$OUT" | sed -n '/^354 /{n;p;q}'; }
accepted() { [[ $(final) == '250 2.0.0 Queued'* ]] || { final; return 1; }; }
msg() { cat "$FAKEQ_DIR"/*.msg; }
# the dmarc results of the queued message's Authentication-Results
dres() { msg | sed -n '1s/^Authentication-Results: //p' | grep -o 'dmarc=[^;]*' | paste -sd';' - | sed 's/;/; /g'; }
# the spf part
sres() { msg | sed -n '1s/^Authentication-Results: //p' | grep -o 'spf=[^;]*'; }

@test "p=reject without SPF or DKIM results fails DMARC: 552 failed DMARC policy (Perl's DENY at data_post), nothing queued" {
  QP=$(dchain reject dmarc)
  send "$QP" 'From: Alice <alice@reject.test>'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  nothing_queued
  grep -q 'dmarc: fail, reject.test: neither SPF nor DKIM aligned' "$ERR"
}

@test "reject 0 only logs: the message is queued with dmarc=fail (p=reject dis=reject) in Authentication-Results" {
  QP=$(dchain reject0 'dmarc reject 0')
  send "$QP" 'From: alice@reject.test'
  accepted
  assert_equal "$(dres)" 'dmarc=fail (p=reject dis=reject) header.from=reject.test'
  grep -q 'dmarc: fail, tolerated, DMARC policy reject' "$ERR"
}

@test "an aligned SPF pass passes: relaxed (a subdomain of the From domain) unless aspf=s" {
  QP=$(dchain spf 'tests/setnote txn spf_mailfrom pass' 'tests/setnote txn spf_mailfrom_domain mail.reject.test' dmarc)
  send "$QP" 'From: alice@reject.test'
  accepted
  assert_equal "$(dres)" 'dmarc=pass (p=reject dis=none) header.from=reject.test'
  grep -q 'dmarc: pass, reject.test: SPF aligned' "$ERR"
  QP=$(dchain spf-strict 'tests/setnote txn spf_mailfrom pass' 'tests/setnote txn spf_mailfrom_domain mail.strict.test' dmarc)
  send "$QP" 'From: alice@strict.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  nothing_queued
  send "$QP" 'From: alice@mail.strict.test'
  # mail.strict.test has no record of its own: strict.test's p=reject, and
  # the SPF domain is the From domain
  accepted
  assert_equal "$(dres)" 'dmarc=pass (p=reject dis=none) header.from=mail.strict.test'
}

@test "an SPF result other than pass, or for an unrelated domain, does not align" {
  QP=$(dchain spf-soft 'tests/setnote txn spf_mailfrom softfail' 'tests/setnote txn spf_mailfrom_domain reject.test' dmarc)
  send "$QP" 'From: alice@reject.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  QP=$(dchain spf-other 'tests/setnote txn spf_mailfrom pass' 'tests/setnote txn spf_mailfrom_domain reject.test.evil.test' dmarc)
  send "$QP" 'From: alice@reject.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
}

@test "a passing DKIM signature of the From domain passes, relaxed unless adkim=s" {
  QP=$(dchain dkim 'tests/setnote txn dkim_pass_domains news.reject.test' dmarc)
  send "$QP" 'From: alice@reject.test'
  accepted
  assert_equal "$(dres)" 'dmarc=pass (p=reject dis=none) header.from=reject.test'
  grep -q 'dmarc: pass, reject.test: DKIM aligned' "$ERR"
  QP=$(dchain dkim-strict 'tests/setnote txn dkim_pass_domains news.strict.test' dmarc)
  send "$QP" 'From: alice@strict.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
}

@test "p=quarantine does not refuse: dis=quarantine in the header and the dmarc_disposition note" {
  QP=$(dchain reject dmarc)
  send "$QP" 'From: alice@quar.test'
  accepted
  assert_equal "$(dres)" 'dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test'
  grep -q 'dmarc: quarantine: transaction note dmarc_disposition' "$ERR"
  send "$QP" 'From: alice@none.test'
  accepted
  assert_equal "$(dres)" 'dmarc=fail (p=none dis=none) header.from=none.test'
}

@test "pct=0 turns reject into quarantine; pct=100 always applies it" {
  QP=$(dchain reject dmarc)
  for _ in 1 2 3; do
    send "$QP" 'From: alice@pct0.test'
    accepted
    assert_equal "$(dres)" 'dmarc=fail (p=reject dis=quarantine) header.from=pct0.test'
    grep -q 'dmarc: fail, pct0.test: not sampled, pct=' "$ERR"
    send "$QP" 'From: alice@pct100.test'
    assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  done
}

@test "a subdomain without a record gets its organizational domain's sp=; its own record wins" {
  QP=$(dchain reject dmarc)
  send "$QP" 'From: alice@deep.sub.org.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  grep -q 'dmarc: fail, deep.sub.org.test' "$ERR"
  send "$QP" 'From: alice@org.test'
  assert_equal "$(dres)" 'dmarc=fail (p=none dis=none) header.from=org.test'
  send "$QP" 'From: alice@own.org.test'
  assert_equal "$(dres)" 'dmarc=fail (p=none dis=none) header.from=own.org.test'
}

@test "no record is dmarc=none; two DMARC records are none; another TXT beside one is ignored; a bad one is permerror" {
  QP=$(dchain reject dmarc)
  send "$QP" 'From: alice@nopolicy.test'
  accepted
  assert_equal "$(dres)" 'dmarc=none header.from=nopolicy.test'
  send "$QP" 'From: alice@two.test'
  accepted
  assert_equal "$(dres)" 'dmarc=none header.from=two.test'
  grep -q 'dmarc: none, two.test: several policy records' "$ERR"
  send "$QP" 'From: alice@other.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  send "$QP" 'From: alice@bad.test'
  accepted
  assert_equal "$(dres)" 'dmarc=permerror header.from=bad.test'
  send "$QP" 'From: alice@split.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
}

@test "a DNS server that never answers is temperror after the timeout, and the message is queued" {
  QP=$(dchain slow 'dmarc timeout 2')
  local t0=$SECONDS
  send "$QP" 'From: alice@slow.test'
  accepted
  assert_equal "$(dres)" 'dmarc=temperror header.from=slow.test'
  [ $((SECONDS - t0)) -le 5 ]
}

@test "From: none is refused as Perl does, two From fields and a From without a domain too; reject 0 lets them through" {
  QP=$(dchain reject dmarc)
  send "$QP" ''
  assert_equal "$(final)" '552 5.7.1 empty from address, null sender?'
  nothing_queued
  send "$QP" 'From: a@none.test\nFrom: b@none.test'
  assert_equal "$(final)" '552 5.7.1 multiple From headers'
  send "$QP" 'From: undisclosed-recipients:;'
  assert_equal "$(final)" '552 5.7.1 unparseable from header'
  send "$QP" 'From: a@1.test, b@2.test, c@3.test, d@4.test, e@5.test'
  assert_equal "$(final)" '552 5.7.1 unparseable from header'
  QP=$(dchain reject0 'dmarc reject 0')
  send "$QP" ''
  accepted
  grep -q 'dmarc: fail, tolerated, no From header' "$ERR"
}

@test "several From addresses: each domain is checked, the strictest disposition applies" {
  QP=$(dchain reject dmarc)
  send "$QP" 'From: a@none.test, b@reject.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  QP=$(dchain reject0 'dmarc reject 0')
  send "$QP" 'From: a@none.test, b@quar.test'
  accepted
  assert_equal "$(dres)" 'dmarc=fail (p=none dis=none) header.from=none.test; dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test'
}

@test "relay clients are not checked" {
  QP=$(dchain relay relay dmarc)
  send "$QP" 'From: alice@reject.test' RELAYCLIENT=
  accepted
  [ -z "$(dres)" ]
  grep -q 'dmarc: skip, relay client' "$ERR"
}

@test "bad arguments fail the build" {
  run build_chain dmarc-bad1 <<< 'dmarc reject 2'
  assert_failure
  run build_chain dmarc-bad2 <<< 'dmarc reporting yes'
  assert_failure
  run build_chain dmarc-bad3 <<< 'dmarc timeout 0'
  assert_failure
  run build_chain dmarc-bad4 <<< 'dmarc frobnicate 1'
  assert_failure
  run build_chain dmarc-good <<< 'dmarc reject 0 reject_type temp reporting 0 timeout 10'
  assert_success
}

# ------------------------------------------- with sender_permitted_from

@test "with sender_permitted_from: an SPF pass for a subdomain of the From domain aligns (relaxed) and passes" {
  QP=$(dchain spf-real 'sender_permitted_from reject 1' dmarc)
  MAILFROM=alice@mail.reject.test send "$QP" 'From: alice@reject.test'
  accepted
  assert_equal "$(sres)" 'spf=pass smtp.mailfrom=mail.reject.test'
  assert_equal "$(dres)" 'dmarc=pass (p=reject dis=none) header.from=reject.test'
  # the null sender: the HELO name is SPF's domain (RFC 7208 2.4)
  HELO=mail.reject.test MAILFROM= send "$QP" 'From: alice@reject.test'
  accepted
  assert_equal "$(dres)" 'dmarc=pass (p=reject dis=none) header.from=reject.test'
}

@test "with sender_permitted_from: an SPF fail, or a pass that aspf=s does not align, fails DMARC" {
  QP=$(dchain spf-real 'sender_permitted_from reject 1' dmarc)
  MAILFROM=alice@reject.test send "$QP" 'From: alice@reject.test' TCPREMOTEIP=192.0.2.9
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  grep -q 'dmarc: fail, reject.test: neither SPF nor DKIM aligned' "$ERR"
  MAILFROM=alice@mail.strict.test send "$QP" 'From: alice@strict.test'
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  MAILFROM=alice@mail.strict.test send "$QP" 'From: alice@mail.strict.test'
  accepted
  assert_equal "$(sres)" 'spf=pass smtp.mailfrom=mail.strict.test'
  assert_equal "$(dres)" 'dmarc=pass (p=reject dis=none) header.from=mail.strict.test'
}

@test "with sender_permitted_from no_dmarc_policy 1: SPF refuses a fail only when the From domain has no DMARC policy" {
  QP=$(dchain spf-nodmarc 'sender_permitted_from reject 1 no_dmarc_policy 1' 'dmarc reject 0')
  MAILFROM=alice@reject.test send "$QP" 'From: alice@nopolicy.test' TCPREMOTEIP=192.0.2.9
  [[ $(final) == 5* ]]
  nothing_queued
  grep -q 'dmarc: none, nopolicy.test: no policy for nopolicy.test' "$ERR"
  MAILFROM=alice@reject.test send "$QP" 'From: alice@none.test' TCPREMOTEIP=192.0.2.9
  accepted
  assert_equal "$(dres)" 'dmarc=fail (p=none dis=none) header.from=none.test'
}

# ------------------------------- with sender_permitted_from, dkim, dmarc

# dkim_send BIN DOMAIN [VAR=value...]: a message From alice@reject.test
# signed by python3-dkim with d=DOMAIN, MAIL FROM alice@reject.test
dkim_send() {
  local bin=$1 dom=$2
  shift 2
  printf 'From: Alice <alice@reject.test>\nTo: Bob <bob@example.com>\nSubject: hi\n\nhello\n' |
    $PY -c '
import sys
sys.modules["dns"] = None  # no dnspython: signing needs no DNS
import dkim
msg = sys.stdin.buffer.read().replace(b"\n", b"\r\n")
key = open(sys.argv[1] + "/" + sys.argv[2] + ".pem", "rb").read()
sig = dkim.sign(msg, b"sel", sys.argv[2].encode(), key, include_headers=[b"from", b"to", b"subject"])
w = sys.stdout.buffer
w.write(b"EHLO client.example\r\nMAIL FROM:<alice@reject.test>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n")
w.write(sig + msg + b".\r\nQUIT\r\n")
' "$DKIMKEYS" "$dom" > "$IN"
  rm -f "$FAKEQ_DIR"/*
  smtp "$bin" DNSCACHEIP=$DNSMASQ_IP "$@"
}

# the dkim part
kres() { msg | sed -n '1s/^Authentication-Results: //p' | grep -o 'dkim=[^;]*'; }

@test "SPF, DKIM, DMARC: an SPF fail and a DKIM pass aligned with the From domain pass p=reject through DKIM alone" {
  QP=$(dchain spf-dkim 'sender_permitted_from reject 0' 'dkim reject 0' 'dmarc reject 1')
  dkim_send "$QP" reject.test TCPREMOTEIP=192.0.2.9
  accepted
  assert_equal "$(sres)" 'spf=fail smtp.mailfrom=reject.test'
  assert_equal "$(kres)" 'dkim=pass header.d=reject.test header.s=sel header.a=rsa-sha256'
  assert_equal "$(dres)" 'dmarc=pass (p=reject dis=none) header.from=reject.test'
}

@test "SPF, DKIM, DMARC: a DKIM pass for another domain does not align: dmarc=fail, refused under dmarc reject 1" {
  QP=$(dchain spf-dkim 'sender_permitted_from reject 0' 'dkim reject 0' 'dmarc reject 1')
  dkim_send "$QP" signer.test TCPREMOTEIP=192.0.2.9
  assert_equal "$(final)" '552 5.7.1 failed DMARC policy'
  nothing_queued
  grep -q 'dkim: pass, d=signer.test s=sel a=rsa-sha256' "$ERR"
  grep -q 'dmarc: fail, reject.test: neither SPF nor DKIM aligned' "$ERR"
  # reject 0: the same message queued with the results
  QP=$(dchain spf-dkim0 'sender_permitted_from reject 0' 'dkim reject 0' 'dmarc reject 0')
  dkim_send "$QP" signer.test TCPREMOTEIP=192.0.2.9
  accepted
  assert_equal "$(kres)" 'dkim=pass header.d=signer.test header.s=sel header.a=rsa-sha256'
  assert_equal "$(dres)" 'dmarc=fail (p=reject dis=reject) header.from=reject.test'
}
