#!/usr/bin/env bats
# The link layout (layout.ld, hot.ld; see conf-ld): a plain session of the
# default binary must map none of the cold code and cold read-only data
# (BearSSL, libsodium, TLS, AUTH, ...). One byte read there costs every
# session 64 KB of RSS, since the kernel maps file pages in blocks around
# each page touched: a string the connect path shared with TLS code once
# did exactly that (52 KB of .rodata.cold in every session).

load helper

# One plain 2 KB session of ./qpsmtpd as nobody, for the tests below to
# read: its mappings at the end (bench/driver --smaps: size, RSS,
# permissions, name) in $d/smaps, the queued message in $d/q. Only the musl
# build has the link layout and sysclock.c: the glibc builds (make
# sanitize, make hardened) run no session.
setup_file() {
  [ -z "${QPSMTPD_SANITIZE:-}${QPSMTPD_HARDENED:-}" ] || return 0
  local d=$BATS_FILE_TMPDIR/s runas=()
  mkdir -p "$d/config"
  chmod 755 "$BATS_FILE_TMPDIR" "$d"
  echo bench.example > "$d/config/me"
  echo bench.example > "$d/config/rcpthosts"
  mkdir -m 1777 "$d/q"
  cp "$ROOT/qpsmtpd" "$d/qpsmtpd"
  # the daemon reads no client input as root
  [ "$(id -u)" -ne 0 ] || runas=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
  env PROTO=TCP TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=40000 \
    QPSMTPD_CONFIG="$d/config" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$d/q" DNSCACHEIP=127.$QPT_NET.1.1 \
    python3 "$ROOT/bench/driver" --size 2048 --smaps "$d/smaps" --timeout 30 exec -- ${runas[@]+"${runas[@]}"} "$d/qpsmtpd" \
    > "$d/driver.out"
}

# the session's directory in $d, or the test is skipped (a glibc build)
plain_session() {
  [ -z "${QPSMTPD_SANITIZE:-}${QPSMTPD_HARDENED:-}" ] || skip "only the musl build has the link layout and sysclock.c"
  d=$BATS_FILE_TMPDIR/s
  run cat "$d/driver.out"
  assert_line ok=1
  cat "$d/smaps" >&2
}

@test "a plain 2 KB session of ./qpsmtpd maps none of its cold text and cold read-only data" {
  plain_session
  ! grep -q 'no profile' "$ROOT/hot.ld" || skip "hot.ld is a stub (no valgrind): no hot layout to check"
  # the rows of the binary: header, hot text, cold text, .rodata, cold .rodata, data
  run awk '$4 == "qpsmtpd" && $3 == "r-xp" { n++; if (n == 2) print $2 }' "$d/smaps"
  assert_output 0
  run awk '$4 == "qpsmtpd" && $3 == "r--p" { n++; if (n == 3) print $2 }' "$d/smaps"
  assert_output 0
}

@test "a plain session of ./qpsmtpd writes six pages of .bss and heap: the buffers' heads share pages (layout.ld)" {
  plain_session
  # the small variables with the output buffer's head, the queue program's
  # clone stack top with the command line's head, three of the heap, the
  # input buffer's head
  run awk '$4 == "[anon]" { print $2 }' "$d/smaps"
  [ "$output" -le 24 ] || fail "the session wrote $output KB of .bss and heap, more than 6 pages: see layout.ld"
  # and the code it ran is one mapping of its own, all of it resident
  run awk '$4 == "qpsmtpd" && $3 == "r-xp" { n++; if (n == 1) print ($1 == $2) }' "$d/smaps"
  assert_output 1
}

@test "a plain session of ./qpsmtpd reads the clock with system calls: no vDSO page is mapped (sysclock.c)" {
  plain_session
  # the kernel maps the vDSO in every process; a first call through it
  # makes its pages resident
  run awk '$4 == "[vdso]" { print $2 }' "$d/smaps"
  assert_output 0
  # and the clock was read: the Received field has today's date
  run grep -c " $(LC_ALL=C date -u '+%d %b %Y') [0-2][0-9]:[0-5][0-9]:[0-6][0-9] +0000$" "$d/q/1.msg"
  assert_output 1
}

@test "the small variables of ./qpsmtpd (.data and .bss) fit two pages: a big static array belongs in .bss.big (layout.ld)" {
  [ -z "${QPSMTPD_SANITIZE:-}" ] || skip "the sanitizer build has no link layout"
  [ -z "${QPSMTPD_HARDENED:-}" ] || skip "the hardened build has no link layout"
  local data mid
  data=$(readelf -SW "$ROOT/qpsmtpd" | awk '$2 == ".data" { print $4 }')
  mid=$(readelf -SW "$ROOT/qpsmtpd" | awk '$2 == ".bss.mid" { print $4 }')
  [ -n "$data" ] && [ -n "$mid" ] || fail "no .data or .bss.mid section in ./qpsmtpd"
  # from the page .data starts in to where the small .bss ends: every
  # session touches all of it (TLS's 14 KB of state there once spread it
  # over four pages)
  local span=$(( 0x$mid - (0x$data & ~0xfff) ))
  [ "$span" -le 8192 ] || fail ".data and .bss span $span bytes from 0x$data: more than two pages"
}
