#!/usr/bin/env bats
# DSN (RFC 3461) parameters on the receiving side: when they are offered,
# how strictly they are checked, what a queue plugin that cannot carry them
# does. (Through a real Postfix: postfix-queue.bats; on to the next hop:
# smtp-forward.bats.) The back end here is tests/fake-postdrop, which needs
# no Postfix.

load helper

setup() {
  mkcfg
  echo test.example > "$CFG/rcpthosts"
  QF=$(printf 'rcpt_ok\nqueue/postfix-queue %s\n' "$ROOT/tests/fake-postdrop" | build_chain pfq-fake)
}

@test "DSN is not offered with queue/qmail-queue or queue/maildir: RET, ENVID, NOTIFY, ORCPT get 555" {
  Q=$(printf 'rcpt_ok\nqueue/maildir %s/md\n' "$BATS_TEST_TMPDIR" | build_chain dsn-maildir)
  for q in "$(default_chain)" "$Q"; do
    printf 'EHLO x\r\nMAIL FROM:<a@b.example> RET=FULL\r\nMAIL FROM:<a@b.example> ENVID=x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@test.example> NOTIFY=NEVER\r\nRCPT TO:<bob@test.example> ORCPT=rfc822;x@y\r\nQUIT\r\n' > "$IN"
    smtp "$q"
    ! grep -q '^250.DSN' "$OUT"
    run tr -d '\r' < "$OUT"
    assert_line '555 5.5.4 Unsupported parameter ret'
    assert_line '555 5.5.4 Unsupported parameter envid'
    assert_line '555 5.5.4 Unsupported parameter notify'
    assert_line '555 5.5.4 Unsupported parameter orcpt'
  done
}

@test "DSN parameters are checked strictly: 501 5.5.4 saying what is wrong" {
  long=$(head -c 101 /dev/zero | tr '\0' e)
  transcript "$QF" <<EOF
EHLO x
MAIL FROM:<a@b.example> RET=FULL RET=HDRS
MAIL FROM:<a@b.example> RET=ALL
MAIL FROM:<a@b.example> RET
MAIL FROM:<a@b.example> ENVID=$long
MAIL FROM:<a@b.example> ENVID=a+0Ab
MAIL FROM:<a@b.example> ENVID=a+4
MAIL FROM:<a@b.example> ENVID=id ENVID=id
MAIL FROM:<a@b.example> NOTIFY=NEVER
MAIL FROM:<a@b.example> ret=hdrs envid=A+2Bb
RCPT TO:<bob@test.example> NOTIFY=NEVER,SUCCESS
RCPT TO:<bob@test.example> NOTIFY=SUCCESS,DELAY,SUCCESS
RCPT TO:<bob@test.example> NOTIFY=SUCCESS,
RCPT TO:<bob@test.example> NOTIFY=sometimes
RCPT TO:<bob@test.example> NOTIFY=NEVER NOTIFY=NEVER
RCPT TO:<bob@test.example> ORCPT=x400;x
RCPT TO:<bob@test.example> ORCPT=bob@test.example
RCPT TO:<bob@test.example> ORCPT=rfc822;
RCPT TO:<bob@test.example> ORCPT=rfc822;a+00b
RCPT TO:<bob@test.example> ORCPT=utf-8;a\x{41}b
RCPT TO:<bob@test.example> ORCPT=utf-8;a\x{0E9}b
RCPT TO:<bob@test.example> ORCPT=rfc822;$(head -c 494 /dev/zero | tr '\0' o)
RCPT TO:<bob@test.example> RET=FULL
RCPT TO:<bob@test.example> notify=success,failure,delay orcpt=RFC822;bob+40test.example
QUIT
--
~ 220 .*
~ 250-.*
@keywords
250-SIZE
250-ENHANCEDSTATUSCODES
250 DSN
501 5.5.4 Bad RET parameter: given twice
501 5.5.4 Bad RET parameter: FULL or HDRS
501 5.5.4 Bad RET parameter: a value is required
501 5.5.4 Bad ENVID parameter: longer than 100 characters
501 5.5.4 Bad ENVID parameter: not xtext of printable ASCII
501 5.5.4 Bad ENVID parameter: not xtext of printable ASCII
501 5.5.4 Bad ENVID parameter: given twice
555 5.5.4 Unsupported parameter notify
250 2.1.0 <a@b.example>, sender OK - how exciting to get mail from you!
501 5.5.4 Bad NOTIFY parameter: NEVER must stand alone
501 5.5.4 Bad NOTIFY parameter: a keyword given twice
501 5.5.4 Bad NOTIFY parameter: NEVER, or a comma list of SUCCESS, FAILURE and DELAY
501 5.5.4 Bad NOTIFY parameter: NEVER, or a comma list of SUCCESS, FAILURE and DELAY
501 5.5.4 Bad NOTIFY parameter: given twice
501 5.5.4 Bad ORCPT parameter: the address type must be rfc822 or utf-8
501 5.5.4 Bad ORCPT parameter: addr-type;address
501 5.5.4 Bad ORCPT parameter: not xtext or utf-8-addr-xtext
501 5.5.4 Bad ORCPT parameter: not xtext or utf-8-addr-xtext
501 5.5.4 Bad ORCPT parameter: not xtext or utf-8-addr-xtext
501 5.5.4 Bad ORCPT parameter: not xtext or utf-8-addr-xtext
501 5.5.4 Bad ORCPT parameter: longer than 500 characters
555 5.5.4 Unsupported parameter ret
250 2.1.5 <bob@test.example>, recipient ok
~ 221 .*
EOF
}

@test "DSN with SMTPUTF8: ORCPT=utf-8; takes raw UTF-8 (utf-8-addr-unitext), refused without SMTPUTF8" {
  printf 'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@test.example> ORCPT=utf-8;b\303\251b@x.example\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\nRCPT TO:<bob@test.example> ORCPT=utf-8;b\303\251b@x.example\r\nRCPT TO:<carol@test.example> ORCPT=utf-8;b\303b@x.example\r\nQUIT\r\n' > "$IN"
  smtp "$QF"
  assert_equal "$(codes)" "220 250 250 501 250 250 501 221"
}

@test "DSN: an ORCPT of 500 characters is taken, and left out of the Postfix record it does not fit" {
  mkdir -p "$BATS_TEST_TMPDIR/pd"
  o=$(head -c 493 /dev/zero | tr '\0' o)
  printf 'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@test.example> ORCPT=rfc822;%s\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n' "$o" > "$IN"
  smtp "$QF" FAKEPD_DIR="$BATS_TEST_TMPDIR/pd"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  grep -q 'the ORCPT of bob@test.example is too long for a Postfix record: left out' "$ERR"
  ! grep -q dsn_orig_rcpt "$BATS_TEST_TMPDIR/pd/stream"
}
