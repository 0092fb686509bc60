#!/usr/bin/env bats
# Control files: where they are looked up, their format, $include, and
# what happens when one exists but cannot be read or parsed.

load helper

setup() {
  mkcfg
  QP=$(default_chain)
  WD=$BATS_TEST_TMPDIR/wd
  mkdir -p "$WD/config" "$BATS_TEST_TMPDIR/qmail/control"
}

# runs the daemon from $WD, with QMAIL pointing at a qmail tree of the test's
run_in_wd() {
  (cd "$WD" && env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 QMAIL="$BATS_TEST_TMPDIR/qmail" \
     QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" "$@" timeout 30 "$QP" < "$IN" > "$OUT" 2> "$ERR") || true
}

@test "lookup order: QPSMTPD_CONFIG, then ./config, then \$QMAIL/control, per file" {
  echo qmail.example > "$BATS_TEST_TMPDIR/qmail/control/me"
  echo 'from qmail' > "$BATS_TEST_TMPDIR/qmail/control/smtpgreeting"
  printf 'QUIT\r\n' > "$IN"
  run_in_wd
  grep -q '^220 from qmail ESMTP' "$OUT"
  grep -q '^221 2.0.0 qmail.example closing' "$OUT"
  echo 'from config' > "$WD/config/smtpgreeting"
  run_in_wd
  grep -q '^220 from config ESMTP' "$OUT"
  grep -q '^221 2.0.0 qmail.example closing' "$OUT"
  mkdir -p "$BATS_TEST_TMPDIR/qc"
  echo 'from QPSMTPD_CONFIG' > "$BATS_TEST_TMPDIR/qc/smtpgreeting"
  run_in_wd QPSMTPD_CONFIG="$BATS_TEST_TMPDIR/qc"
  grep -q '^220 from QPSMTPD_CONFIG ESMTP' "$OUT"
}

@test "me defaults to the host name" {
  printf 'QUIT\r\n' > "$IN"
  run_in_wd
  grep -q "^221 2.0.0 $(hostname) closing" "$OUT"
}

@test "comments, blank lines and white space are ignored" {
  printf '# local domains\n\n   example.org   \n\t# indented comment\nexample.net\r\n' > "$CFG/rcpthosts"
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.org>\r\nRCPT TO:<x@example.net>\r\nRCPT TO:<x@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 550 221"
}

@test "\$include pulls in a file and every file of a directory" {
  mkdir -p "$CFG/hosts.d"
  echo example.org > "$CFG/more"
  echo example.net > "$CFG/hosts.d/a"
  echo example.info > "$CFG/hosts.d/b"
  echo ignored.example > "$CFG/hosts.d/.hidden"
  printf 'example.com\n$include more\n$include hosts.d\n' > "$CFG/rcpthosts"
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.org>\r\nRCPT TO:<x@example.net>\r\nRCPT TO:<x@example.info>\r\nRCPT TO:<x@ignored.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 250 250 550 221"
}

@test "an \$include loop is 421 at connect, naming the file and the line" {
  printf 'example.org\n$include rcpthosts\n' > "$CFG/rcpthosts"
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.org>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q "control file $CFG/rcpthosts line 2: \\\$include nested too deeply" "$ERR"
}

@test "a control file that cannot be read is 421 at connect with a log line naming it" {
  mkdir "$CFG/rcpthosts.new" && rm -f "$CFG/rcpthosts" && mv "$CFG/rcpthosts.new" "$CFG/rcpthosts"
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@example.org>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q "control file .*rcpthosts" "$ERR"
  [ "$RC" -eq 111 ]
}

@test "timeoutsmtpd and loglevel that do not parse are 421" {
  echo soon > "$CFG/timeoutsmtpd"
  printf 'QUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  rm "$CFG/timeoutsmtpd"
  echo 9 > "$CFG/loglevel"
  smtp "$QP"
  assert_equal "$(codes)" "421"
}

@test "spool_dir is created with spool_perms" {
  echo "$BATS_TEST_TMPDIR/spool" > "$CFG/spool_dir"
  echo 0750 > "$CFG/spool_perms"
  echo 0 > "$CFG/size_threshold"
  { envelope; printf 'Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "220 250 250 250 354 250 221"
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/spool")" = 750 ]
}

@test "a bad spool_perms is 421 at connect, naming the file and the line" {
  echo 0999 > "$CFG/spool_perms"
  { envelope; printf 'Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q "control file $CFG/spool_perms line 1: not an octal mode" "$ERR"
  nothing_queued
}

@test "a bad timeoutqueue is 421 at connect, naming the file and line 1, not after the final dot" {
  echo soon > "$CFG/timeoutqueue"
  { envelope; printf 'Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  assert_equal "$(tr -d '\r' < "$OUT")" "421 4.3.0 unable to read controls, closing connection"
  grep -q "control file $CFG/timeoutqueue line 1: not a number in range" "$ERR"
  nothing_queued
  [ "$RC" -eq 111 ]
  echo 0 > "$CFG/timeoutqueue"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q "control file $CFG/timeoutqueue line 1: must be at least 1" "$ERR"
}

@test "an error on line N of a control file names line N, of the included file when it is there" {
  printf '# the SMTP timeout\n\n   soon\n' > "$CFG/timeoutsmtpd"
  printf 'QUIT\r\n' > "$IN"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q "control file $CFG/timeoutsmtpd line 3: not a number in range" "$ERR"
  printf '# more\n$include data.d\n' > "$CFG/data_min_rate"
  rm "$CFG/timeoutsmtpd"
  mkdir "$CFG/data.d"
  printf '\n\nfast\n' > "$CFG/data.d/rate"
  smtp "$QP"
  assert_equal "$(codes)" "421"
  grep -q "control file $CFG/data.d/rate line 3: not a number in range" "$ERR"
}

@test "the DATA files (strict_line_length, data_min_rate, data_rate_grace) are read at connect" {
  for f in strict_line_length data_min_rate data_rate_grace; do
    echo x > "$CFG/$f"
    printf 'QUIT\r\n' > "$IN"
    smtp "$QP"
    assert_equal "$(codes)" "421"
    grep -q "control file $CFG/$f line 1: not a number in range" "$ERR"
    rm "$CFG/$f"
  done
}

@test "a config directory that cannot be listed (mode 0711) is still read, name by name" {
  [ ${#QPIDS[@]} -gt 0 ] || skip "needs root, to run the session as nobody"
  echo listed.example > "$WD/config/me"
  echo 'unlisted greeting' > "$WD/config/smtpgreeting"
  chmod 0711 "$WD/config"
  chmod 0644 "$WD/config/me" "$WD/config/smtpgreeting"
  printf 'QUIT\r\n' > "$IN"
  run_in_wd
  grep -q '^220 unlisted greeting ESMTP' "$OUT"
  grep -q '^221 2.0.0 listed.example closing' "$OUT"
}

@test "a file where a control subdirectory is expected (control/ssl) means no certificate, not an error" {
  grep -q '^tls' control/plugins || skip "the default chain has no tls plugin"
  echo 'not a directory' > "$BATS_TEST_TMPDIR/qmail/control/ssl"
  echo 'qmail greeting' > "$BATS_TEST_TMPDIR/qmail/control/smtpgreeting"
  echo wd.example > "$WD/config/me"
  printf 'QUIT\r\n' > "$IN"
  run_in_wd
  grep -q '^220 qmail greeting ESMTP' "$OUT"
  grep -q '^221 2.0.0 wd.example closing' "$OUT"
}
